# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Theorem 1 (Main): continuity, quotient, homeomorphism, diffeomorphism
#
# *Section 4.1 of the paper; proof in Appendix A.4.*
#
# **Setting (Section 3).** A collection $\mathcal{X}^{(t)} = \{\boldsymbol{x}_i^{(t)}\}_{i \in I} \in (\mathbb{R}^D)^I$
# (the neurons, $I$ possibly uncountable) is updated by a rule $U^{(t)} : (\mathbb{R}^D)^I \to (\mathbb{R}^D)^I$ with step size $\eta > 0$:
#
# $$\boldsymbol{x}_{i}^{(t+1)} = \boldsymbol{x}_{i}^{(t)} + \eta U_{i}^{(t)} \left( \mathcal{X} \right). \tag{4}$$
#
# $\mathsf{FSym}(I)$ is the group of permutations of $I$ with finite support, acting by $P\mathcal{X} = \{\boldsymbol{x}_{P(i)}\}_{i\in I}$;
# $\|\mathcal{X} - \mathcal{Y}\| = \sqrt{\sum_{i \in I} \|\boldsymbol{x}_i - \boldsymbol{y}_i\|^2}$ if $\mathcal{X}$ and $\mathcal{Y}$ differ in finitely many terms, $+\infty$ otherwise.
#
# $S^{(t)} = \{\boldsymbol{x}_i^{(t)} \mid i \in I\} \subseteq \mathbb{R}^D$ is the *set* formed by the neurons (relative topology of $\mathbb{R}^D$), and
#
# $$\forall i \in I,\ \widehat{U}^{(t)}\left(\boldsymbol{x}_i^{(t)}\right) = \boldsymbol{x}_i^{(t+1)} \tag{8}$$
#
# defines $\widehat{U}^{(t)} : S^{(t)} \to S^{(t+1)}$. On a computer $S^{(t)}$ is the finite set of *atoms* (groups of examined
# neurons that coincide up to a dtype-aware tolerance): `inv.induced_map` builds $\widehat{U}^{(t)}$ on them.
#
# **Hypotheses.**
#
# - **(P1) Equivariance Property:** We say $U^{(t)}$ has equivariance property if for any $t \in \mathbb{N}$, any $\mathcal{X} \in (\mathbb{R}^D)^I$ and $P \in \mathsf{FSym}(I)$, we have $PU^{(t)}(\mathcal{X}) = U^{(t)}(P\mathcal{X})$.
#
# - **(P2-K) K-Continuity Property:** For $K > 0$, if for any $t \in \mathbb{N}$ and any $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$,
#   $$\left\| U^{(t)} \left( \mathcal{X} \right) - U^{(t)} \left( \mathcal{Y} \right) \right\| \le K \left\| \mathcal{X} - \mathcal{Y} \right\|, \tag{5}$$
#   then we say $U^{(t)}$ has K-continuity property.
#
# - **(P3) Smoothness Property:** For any $i \in I$ and $t \in \mathbb{N}$, define
#   $$\forall \boldsymbol{y}, \boldsymbol{z} \in \mathbb{R}^{D}, g_{i}^{(t)}(\boldsymbol{y}, \boldsymbol{z}) = U_{i}^{(t)} \left( \mathcal{X}^{(t)} + (\boldsymbol{e}_{i} - \boldsymbol{e}_{j}) \cdot \boldsymbol{z} \right), \text{ such that } \boldsymbol{y} = \boldsymbol{x}_{j}^{(t)}, \tag{6}$$
#   where $j$ is arbitrarily chosen when multiple $j$-s satisfies the condition, and $\boldsymbol{e}_j$ is set to $\mathbf{0}$ if no $j$
#   satisfies the condition. If $g_i^{(t)}$ is $C^1$ on $(\mathbb{R}^D)^2$ for any $i \in I$, we say $U^{(t)}$ has the ($C^1$-)smoothness property.
#
# > **Theorem 1** (Main). If $U^{(t)}$ satisfies P1 and P2-K, then
# >
# > i. $\widehat{U}^{(t)}$ is a continuous surjection from $S^{(t)}$ to $S^{(t+1)}$;
# >
# > ii. if $S^{(t)}$ is compact, then $S^{(t+1)}$ is also compact, and $\widehat{U}^{(t)}$ is a quotient map;
# >
# > iii. if $\eta K < 1$, then $\widehat{U}^{(t)}$ is a homeomorphism;
# >
# > iv. if $\eta K < 1$, and $U^{(t)}$ also satisfies P3, and $S^{(t)}$ is an open subset of $\mathbb{R}^D$, then $S^{(t+1)}$ is
# > also open, and $\widehat{U}^{(t)}$ is a $C^1$-diffeomorphism.
#
# Library: `inv.homeomorphism` (eqs. 30, 31 and, with `derivative=True`, eqs. 39-41), `inv.statements.step_jacobian`,
# `inv.smoothness_violation` (P3), `invariance.topology.betti_numbers` (topological invariants of the neuron cloud).

# %% [markdown]
# ## Setup
#
# Only the public API: `import invariance as inv`, `invariance.strategies`, `invariance.symbolic`, `invariance.topology`;
# and `cases(n)` (derandomized hypothesis settings) from `notebook_setup.py` beside the notebooks.

# %%
import math

import numpy as np
import matplotlib.pyplot as plt
from hypothesis import given, strategies as st

import invariance as inv
from invariance import strategies as ist
from notebook_setup import cases

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})

from invariance.statements import step_jacobian
from invariance.topology import betti_numbers

# %% [markdown]
# ## (i) $\widehat U$ is a continuous surjection
#
# Surjective by Lemma 3. By Lemma 2's upper bound, $\|f(\boldsymbol{x}_i) - f(\boldsymbol{x}_j)\| \le (1 + \eta K)\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$
# (eq. 30): $f = \widehat U$ is $(1 + \eta K)$-Lipschitz, hence continuous. Checked on 40 neurons, with a coincident group, at
# $\eta K = 0.5$ and at $\eta K = 1.5$ (beyond $\eta^*$; (i) needs no bound on $\eta$).

# %%
rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(2.0), pair=inv.GaussianPair(c=-1.0, s=0.8)))
pts = np.random.default_rng(3).normal(size=(40, 2))
pts[[10, 20]] = pts[0]
X = inv.FiniteCollection(pts)
K = rule.smoothness_constant(X.n)
for frac in (0.5, 1.5):
    f = inv.induced_map(rule, X, frac / K, K=K)
    iu = np.triu_indices(f.n_before, 1)
    d0 = np.linalg.norm(f.points_before[:, None] - f.points_before[None], axis=-1)[iu]
    img = f.points_after[f.image]
    d1 = np.linalg.norm(img[:, None] - img[None], axis=-1)[iu]
    lip = (d1 / d0).max()
    assert f.well_defined and f.surjective and lip <= 1 + frac + 1e-9           # (30)
    h = inv.homeomorphism(rule, X, frac / K, K)
    assert h.continuous and math.isclose(h.lipschitz, lip, rel_tol=1e-9)
    print(f"eta K = {frac}: Lip(U_hat) = {lip:.4f} <= 1 + eta K = {1 + frac}")

# %% [markdown]
# ## (ii) Compactness and the quotient map
#
# $S^{(t+1)} = f(S^{(t)})$ is the continuous image of a compact set, hence compact; a continuous surjection from a compact
# space onto a Hausdorff (metric) space is closed, hence a quotient map. On a computer a sample is always finite, so what
# can be checked are the ingredients: continuity (i), surjectivity, and boundedness of the image,
# $\operatorname{diam} S^{(t+1)} \le (1 + \eta K)\operatorname{diam} S^{(t)}$. Here $S^{(t)}$ is (a dense sample of) the compact
# unit circle: infinitely many neurons, of which 1000 are examined.

# %%
ring = inv.LazyCollection(inv.CircleBase(radius=1.0))
Kl = rule.smoothness_constant(None)
idx = np.arange(1000)
before = ring.entries(idx)
diam0 = np.linalg.norm(before[:, None] - before[None], axis=-1).max()
for frac in (0.5, 1.0, 1.5):
    after = rule.step(ring, frac / Kl).entries(idx)
    diam1 = np.linalg.norm(after[:, None] - after[None], axis=-1).max()
    assert np.all(np.isfinite(after)) and diam1 <= (1 + frac) * diam0 + 1e-12
    print(f"eta K = {frac}: diam S^(t) = {diam0:.4f}, diam S^(t+1) = {diam1:.4f} <= {(1 + frac) * diam0:.4f}")
hl = inv.homeomorphism(rule, ring, 1.5 / Kl, Kl, window=128)
assert hl.continuous and hl.well_defined

# %% [markdown]
# ## (iii) Homeomorphism when $\eta K < 1$
#
# $f$ is a bijection (Lemma 3) and its inverse $g$ satisfies $\|g(\boldsymbol{x}_i^{(t+1)}) - g(\boldsymbol{x}_j^{(t+1)})\| \le
# \frac{1}{1 - \eta K}\|\boldsymbol{x}_i^{(t+1)} - \boldsymbol{x}_j^{(t+1)}\|$ (eq. 31, Lemma 2's lower bound), so $g$ is continuous.

# %%
eta = 0.5 / K
h = inv.homeomorphism(rule, X, eta, K)
assert h.holds and h.homeomorphism and h.inverse_continuous
assert h.inverse_lipschitz <= h.inverse_lipschitz_bound * (1 + 1e-9)
print(f"Lip(U_hat) = {h.lipschitz:.4f} <= {h.lipschitz_bound:.4f};  "
      f"Lip(U_hat^-1) = {h.inverse_lipschitz:.4f} <= 1/(1 - eta K) = {h.inverse_lipschitz_bound:.4f}")

# %% [markdown]
# A homeomorphism preserves every topological invariant. Infinitely many neurons on the circle of radius 2, gradient descent on
# log-cosh confinement plus Gaussian repulsion: over six steps at $\eta K = 0.5$ the circle is deformed towards a rounded
# square, and the Betti numbers $(b_0, b_1, b_2)$ of 300 of its neurons (Vietoris-Rips at scale $\operatorname{diam}/4$, as in
# the paper's experiments) stay $(1, 1, 0)$.

# %%
ring2 = inv.LazyCollection(inv.CircleBase(radius=2.0))
shape_rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=0.5)))
K2 = shape_rule.smoothness_constant(None)
traj = shape_rule.trajectory(ring2, 0.5 / K2, 6)
circle_betti = [betti_numbers(Z.entries(np.arange(300))) for Z in traj]
print("Betti numbers along the trajectory:", sorted(set(circle_betti)))
assert all(b == (1, 1, 0) for b in circle_betti)

# %% [markdown]
# ## (iv) $C^1$-diffeomorphism under P3
#
# Eqs. (32)-(38) write $f(\boldsymbol{x}_i + \boldsymbol{\Delta}) = g_i(\boldsymbol{\Delta}, \boldsymbol{x}_i + \boldsymbol{\Delta})$, which is $C^1$ by P3
# (checked below with `inv.smoothness_violation`, which finds no kink). By Lemma 2 every directional difference quotient
# lies in $[\alpha, \beta] = [1 - \eta K, 1 + \eta K]$ (eq. 40), so the derivative $G$ has all singular values in
# $[\alpha, \beta]$ (eq. 41) and is invertible; the inverse function theorem makes $f^{-1}$ $C^1$.
#
# `step_jacobian` computes the block $G_i = I + \eta\, \partial U_i / \partial \boldsymbol{x}_i$ by central differences. For the
# centering rule it is exact: $G_i = (1 - \eta K(1 - 1/n)) I$ on $n$ neurons, and $(1 - \eta K) I$ on the infinite
# collection (the mean field does not move when one neuron does).

# %%
p3 = inv.smoothness_violation(rule, X)
assert p3.passed
hd = inv.homeomorphism(rule, X, eta, K, derivative=True)
assert hd.holds and hd.derivative_holds
assert 1 - eta * K - hd.derivative_tolerance <= hd.singular_value_min <= hd.singular_value_max <= 1 + eta * K + hd.derivative_tolerance
print(f"P3: {p3.passed};  singular values of G_i in [{hd.singular_value_min:.4f}, {hd.singular_value_max:.4f}] "
      f"within [{1 - eta * K}, {1 + eta * K}]")
Kc, n = 2.0, 5
Xc = inv.FiniteCollection(np.random.default_rng(4).normal(size=(n, 2)))
G = step_jacobian(inv.centering_rule(Kc), Xc, 2, 0.3)
assert np.allclose(G, (1 - 0.3 * Kc * (1 - 1 / n)) * np.eye(2), atol=1e-8)
Gl = step_jacobian(inv.centering_rule(Kc), inv.LazyCollection(inv.CircleBase(), {1: [0.3, 0.1]}), 1, 0.3)
assert np.allclose(Gl, (1 - 0.3 * Kc) * np.eye(2), atol=1e-8)
print("centering rule: G_i =", np.round(np.diag(G), 8), "(finite),", np.round(np.diag(Gl), 8), "(infinite)")

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Finite collections of at most six neurons (with a coincident pair), generated rules with their $K$, $\eta K < 1$: (i), (iii)
# and the derivative bound of (iv) with `derivative=True`. The cell prints the extreme Lipschitz constants and singular values
# relative to their bounds.

# %%
stats = []

@cases(40)
@given(ist.finite_collections(min_size=2, max_size=6, coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 0.95))
def theorem1(X, rule, frac):
    K = rule.smoothness_constant(X.n)
    r = inv.assert_homeomorphism(rule, X, frac / K, K, derivative=True)
    assert r.premise and r.continuous and r.inverse_continuous and r.derivative_holds
    stats.append((r.lipschitz / r.lipschitz_bound, r.inverse_lipschitz / r.inverse_lipschitz_bound,
                  (r.singular_value_min - (1 - frac)), (1 + frac) - r.singular_value_max))

theorem1()
s = np.array(stats)
finite = np.isfinite(s[:, 1])
print(f"{len(stats)} cases: max Lip/bound {s[:, 0].max():.4f}, max Lip(inv)/bound {s[finite, 1].max():.4f}, "
      f"min singular-value slacks {s[:, 2].min():.2e} (lower), {s[:, 3].min():.2e} (upper)")

# %% [markdown]
# ## Dropping the hypotheses
#
# **No P1.** With `IndexBiasedRule` the coincident neurons $0, 10, 20$ separate: $\widehat U$ is not a function, and nothing of
# Theorem 1 can hold.

# %%
hb = inv.homeomorphism(inv.IndexBiasedRule(rule, index=10), X, eta, K)
assert not hb.holds and not hb.well_defined
print("well defined:", hb.well_defined, " holds:", hb.holds)

# %% [markdown]
# **$\eta K \ge 1$.** The centering rule at $\eta = 1/K$ collapses the circle to a point: (i) and (ii) survive (a constant map is
# continuous and a quotient map onto a point), (iii) fails: the inverse is not even defined, and the Betti numbers change
# from $(1, 1, 0)$ to $(1, 0, 0)$.

# %%
cen = inv.centering_rule(Kc)
hc = inv.homeomorphism(cen, ring, 1 / Kc, Kc, window=128)
assert hc.continuous and not hc.homeomorphism and math.isinf(hc.inverse_lipschitz)
collapsed = cen.step(ring, 1 / Kc).entries(np.arange(300))
print("homeomorphism:", hc.homeomorphism, " Lip(U_hat) =", hc.lipschitz,
      " Betti before", betti_numbers(ring.entries(np.arange(300))), "after", betti_numbers(collapsed))
assert betti_numbers(collapsed) == (1, 0, 0)

# %% [markdown]
# **No P3.** $U_i = -c|\boldsymbol{x}_i|$ (elementwise) is equivariant and P2-K with $K = c$, so (i)-(iii) hold at $\eta c < 1$,
# but it is not smooth: the map $x \mapsto x - \eta c|x|$ has one-sided derivatives $1 - \eta c$ and $1 + \eta c$ at $0$. It is a
# homeomorphism but not a $C^1$-diffeomorphism: the conclusion of (iv) fails. Gradient descent on a Huber pair potential
# (Lipschitz gradient, kinked Hessian) fails P3 the same way.

# %%
c = 1.0
kink = inv.PointwiseRule(lambda x: -c * np.abs(x), name="-c|x|")
Xk = inv.FiniteCollection([[0.5], [2.0], [-1.0]])
assert inv.equivariance_error(kink, Xk).passed and inv.check_continuity(kink, Xk, c).passed
assert inv.homeomorphism(kink, Xk, 0.5, c).holds
p3k = inv.smoothness_violation(kink, Xk)
assert not p3k.passed
hstep = 1e-3
G_right = step_jacobian(kink, inv.FiniteCollection([[hstep], [2.0]]), 0, 0.5)[0, 0]
G_left = step_jacobian(kink, inv.FiniteCollection([[-hstep], [2.0]]), 0, 0.5)[0, 0]
assert math.isclose(G_right, 1 - 0.5 * c) and math.isclose(G_left, 1 + 0.5 * c)
print(f"P3: {p3k.passed} (slope jump {p3k.worst:.3f});  derivative of U_hat right of 0: {G_right}, left of 0: {G_left}")
huber = inv.GradientDescent(inv.InteractionPotential(pair=inv.HuberPair(1.0, 0.3)))
assert not inv.smoothness_violation(huber, X).passed
print("Huber pair potential, P3:", inv.smoothness_violation(huber, X).passed)

# %% [markdown]
# ## Figure
#
# Left: the measured $\operatorname{Lip}(\widehat U)$ and $\operatorname{Lip}(\widehat U^{-1})$ of the gradient rule against the bounds
# $1 + \eta K$ and $1/(1 - \eta K)$ of eqs. (30)-(31). Right: the circle of radius 2 before and after six steps at $\eta K = 0.5$
# (deformed, same topology) and the unit circle after one step of the centering rule at $\eta K = 1$ (collapsed to a point).

# %%
ek = np.linspace(0.05, 0.95, 19)
lips, inv_lips = [], []
for e in ek:
    r = inv.homeomorphism(rule, X, e / K, K)
    assert r.holds
    lips.append(r.lipschitz); inv_lips.append(r.inverse_lipschitz)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
ax = axes[0]
ax.plot(ek, lips, "o", color="tab:blue", label="Lip(U_hat), measured")
ax.plot(ek, 1 + ek, "-", color="tab:blue", label="1 + eta K")
ax.plot(ek, inv_lips, "s", color="tab:red", label="Lip(U_hat^-1), measured")
ax.plot(ek, 1 / (1 - ek), "-", color="tab:red", label="1 / (1 - eta K)")
ax.set_yscale("log"); ax.set_xlabel("eta K"); ax.legend(fontsize=8); ax.set_title("eqs. (30), (31)")
ax = axes[1]
b0, b1 = traj[0].entries(np.arange(300)), traj[-1].entries(np.arange(300))
ax.plot(*b0.T, ".", ms=3, label=f"S^(0), Betti {betti_numbers(b0)}")
ax.plot(*b1.T, ".", ms=3, label=f"S^(6) at eta K = 0.5, Betti {betti_numbers(b1)}")
ax.plot(*collapsed[:1].T, "k*", ms=12, label=f"one step at eta K = 1, Betti {betti_numbers(collapsed)}")
ax.set_aspect("equal"); ax.legend(fontsize=8, loc="lower left"); ax.set_title("neurons on a circle")
plt.show()
