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
# # Lemma 2 (No Merging or Splitting), with Lemma 4 (No Splitting)
#
# *Section 4 of the paper; proofs in Appendix A.2.*
#
# **Setting (Section 3).** A collection $\mathcal{X}^{(t)} = \{\boldsymbol{x}_i^{(t)}\}_{i \in I} \in (\mathbb{R}^D)^I$
# (the neurons, $I$ possibly uncountable) is updated by a rule $U^{(t)} : (\mathbb{R}^D)^I \to (\mathbb{R}^D)^I$ with step size $\eta > 0$:
#
# $$\boldsymbol{x}_{i}^{(t+1)} = \boldsymbol{x}_{i}^{(t)} + \eta U_{i}^{(t)} \left( \mathcal{X} \right). \tag{4}$$
#
# $\mathsf{FSym}(I)$ is the group of permutations of $I$ with finite support, acting by $P\mathcal{X} = \{\boldsymbol{x}_{P(i)}\}_{i\in I}$;
# $\|\mathcal{X} - \mathcal{Y}\| = \sqrt{\sum_{i \in I} \|\boldsymbol{x}_i - \boldsymbol{y}_i\|^2}$ if $\mathcal{X}$ and $\mathcal{Y}$ differ in finitely many terms, $+\infty$ otherwise.
#
# **Hypotheses.**
#
# - **(P1) Equivariance Property:** We say $U^{(t)}$ has equivariance property if for any $t \in \mathbb{N}$, any $\mathcal{X} \in (\mathbb{R}^D)^I$ and $P \in \mathsf{FSym}(I)$, we have $PU^{(t)}(\mathcal{X}) = U^{(t)}(P\mathcal{X})$.
#
# - **(P2-K) K-Continuity Property:** For $K > 0$, if for any $t \in \mathbb{N}$ and any $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$,
#   $$\left\| U^{(t)} \left( \mathcal{X} \right) - U^{(t)} \left( \mathcal{Y} \right) \right\| \le K \left\| \mathcal{X} - \mathcal{Y} \right\|, \tag{5}$$
#   then we say $U^{(t)}$ has K-continuity property.
#
# > **Lemma 4** (No Splitting). The following statement holds when $U$ has the equivariance property and K-continuity
# > property. For any $t \in \mathbb{N}$ and $i, j \in I$ such that $i \neq j$, we have
# > $$\|U_i(\mathcal{X}^{(t)}) - U_j(\mathcal{X}^{(t)})\| \le K \|\boldsymbol{x}_i^{(t)} - \boldsymbol{x}_j^{(t)}\|. \tag{20}$$
#
# > **Lemma 2** (No Merging or Splitting). If $U^{(t)}$ satisfies P1 and P2-K, then for any $i, j \in I$ such that $i \neq j$,
# > $$(1 - \eta K) \| \boldsymbol{x}_{i}^{(t)} - \boldsymbol{x}_{j}^{(t)} \| \leq \| \boldsymbol{x}_{i}^{(t+1)} - \boldsymbol{x}_{j}^{(t+1)} \| \leq (1 + \eta K) \| \boldsymbol{x}_{i}^{(t)} - \boldsymbol{x}_{j}^{(t)} \|. \tag{7}$$
#
# The lower bound becomes vacuous at the topological critical point $\eta^* = 1/K$. Library: `inv.update_difference_ratios`
# (Lemma 4), `inv.bi_lipschitz_ratios` (Lemma 2).

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

from itertools import combinations

import sympy as sp
from invariance.symbolic import hessian_constant, quadratic_loss

# %% [markdown]
# ## Proof of Lemma 4, step by step
#
# Gradient descent on a symmetric potential (log-cosh confinement + Gaussian attraction) satisfies P1 (Proposition 1) and
# P2-K with the Gershgorin constant $K$ of `smoothness_constant(n)` (Proposition 2). Eight neurons in $\mathbb{R}^2$;
# the pair $(i, j) = (2, 5)$ and $P = (i\ j)$.
#
# **Eqs. (21)-(22).** $U_i(\mathcal{X}) - U_j(\mathcal{X}) = U_i(\mathcal{X}) - (PU(\mathcal{X}))_i = U_i(\mathcal{X}) - U_i(P\mathcal{X})$.

# %%
rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=-2.0, s=0.7)))
X = inv.FiniteCollection(np.random.default_rng(1).normal(size=(8, 2)))
K = rule.smoothness_constant(X.n)
i, j = 2, 5
P = inv.FinitaryPermutation.transposition(i, j)
UX, UPX = rule.update(X), rule.update(P.act(X))
U, Up = UX.points, UPX.points
assert np.allclose(P.act(UX).points, Up, rtol=0, atol=1e-13)        # P1
assert np.allclose(U[i] - U[j], U[i] - Up[i], rtol=0, atol=1e-13)   # (21)-(22)
print("K =", K, "  U_i - U_j =", U[i] - U[j], "  U_i(X) - U_i(PX) =", U[i] - Up[i])

# %% [markdown]
# **Eqs. (23)-(27).** $\mathcal{X}$ and $P\mathcal{X}$ differ only in entries $i, j$, so
# $\|\mathcal{X} - P\mathcal{X}\| = \sqrt2\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$ (27), and
#
# $\sqrt2\|U_i - U_j\| = \sqrt{\|U_i(\mathcal{X}) - U_i(P\mathcal{X})\|^2 + \|U_j(\mathcal{X}) - U_j(P\mathcal{X})\|^2}$ (23-24)
# $\le \|U(\mathcal{X}) - U(P\mathcal{X})\|$ (25) $\le K\|\mathcal{X} - P\mathcal{X}\|$ (26, P2-K) $= \sqrt2 K\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$ (27).

# %%
d = np.linalg.norm(X[i] - X[j])
du = np.linalg.norm(U[i] - U[j])
two_terms = math.hypot(np.linalg.norm(U[i] - Up[i]), np.linalg.norm(U[j] - Up[j]))
full = inv.difference_norm(UX, UPX)
XPX = inv.difference_norm(X, P.act(X))
rows = [("(23)-(24)  sqrt2 ||U_i - U_j||", math.sqrt(2) * du), ("           the two terms", two_terms),
        ("(25)       ||U(X) - U(PX)||", full), ("(26)       K ||X - PX||", K * XPX),
        ("(27)       sqrt2 K ||x_i - x_j||", math.sqrt(2) * K * d)]
for name, value in rows:
    print(f"{name:36s} {value:.6f}")
assert math.isclose(math.sqrt(2) * du, two_terms, rel_tol=1e-12)
assert two_terms <= full * (1 + 1e-12)
assert full <= K * XPX * (1 + 1e-12)
assert math.isclose(XPX, math.sqrt(2) * d, rel_tol=1e-12)
assert du <= K * d                                   # (20)
# P2-K itself, with this K, at X (random sparse perturbations, the pairs X, PX, power iteration)
p2 = inv.check_continuity(rule, X, K)
assert p2.passed
print("P2-K with K =", K, ":", p2.passed, "  largest measured ratio", round(p2.worst, 6))

# %% [markdown]
# Over all pairs, `inv.update_difference_ratios` computes $\|U_i - U_j\| / \|\boldsymbol{x}_i - \boldsymbol{x}_j\|$; its maximum
# is a free lower bound of every valid $K$.

# %%
r4 = inv.update_difference_ratios(rule, X, K=K)
assert r4.holds and r4.max_ratio <= K
print(r4)

# %% [markdown]
# **Symbolically, the bound is attained.** For the quadratic loss
# $L = \frac a2\sum_i x_i^2 + \frac b2\sum_{i<j}(x_i - x_j)^2$ of $n$ symbolic neurons, `hessian_constant` derives
# $K = a + nb$ from the Hessian, and sympy proves $U_i - U_j = -K(x_i - x_j)$ for every pair (Lemma 4 with equality) and
# $x_i^{(t+1)} - x_j^{(t+1)} = (1 - \eta K)(x_i - x_j)$ (Lemma 2's lower bound attained for $\eta K \le 1$).

# %%
n = 4
loss = quadratic_loss(n)
Kq = hessian_constant(loss).K
g = [gi[0] for gi in loss.gradient()]
x = [p[0] for p in loss.neurons]
eta_s = sp.Symbol("eta", positive=True)
for a_, b_ in combinations(range(n), 2):
    assert sp.simplify(-(g[a_] - g[b_]) + Kq * (x[a_] - x[b_])) == 0
    after = (x[a_] - eta_s * g[a_]) - (x[b_] - eta_s * g[b_])
    assert sp.simplify(after - (1 - eta_s * Kq) * (x[a_] - x[b_])) == 0
print("K =", Kq, "  U_1 - U_2 =", sp.factor(-(g[0] - g[1])))

# %% [markdown]
# ## Proof of Lemma 2
#
# **Eqs. (28)-(29).** $\|\boldsymbol{x}_i^{(t+1)} - \boldsymbol{x}_j^{(t+1)}\| = \|\boldsymbol{x}_i - \boldsymbol{x}_j + \eta(U_i - U_j)\|
# \in \|\boldsymbol{x}_i - \boldsymbol{x}_j\| + [-\eta, \eta]\,\|U_i - U_j\|$ (triangle inequality), and Lemma 4 bounds
# $\|U_i - U_j\|$ by $K\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$. Checked for all 28 pairs at $\eta K = 0.3$.

# %%
eta = 0.3 / K
Y = rule.step(X, eta)
iu = np.triu_indices(X.n, 1)
dx = np.linalg.norm(X.points[:, None] - X.points[None], axis=-1)[iu]
dy = np.linalg.norm(Y.points[:, None] - Y.points[None], axis=-1)[iu]
dU = np.linalg.norm(U[:, None] - U[None], axis=-1)[iu]
tol = 1e-12 * (1 + dx.max())
assert np.all(dy <= dx + eta * dU + tol) and np.all(dy >= dx - eta * dU - tol)     # (29)
assert np.all(dU <= K * dx + tol)                                                  # Lemma 4
assert np.all(dy >= (1 - eta * K) * dx - tol) and np.all(dy <= (1 + eta * K) * dx + tol)   # (7)
print(f"ratios d'/d in [{(dy / dx).min():.4f}, {(dy / dx).max():.4f}]  within  "
      f"[1 - eta K, 1 + eta K] = [{1 - eta * K:.4f}, {1 + eta * K:.4f}]")
r2 = inv.bi_lipschitz_ratios(rule, X, eta, K)
assert r2.holds
print(r2)

# %% [markdown]
# **Tightness.** For the centering rule $U_i = -K(\boldsymbol{x}_i - \overline{\boldsymbol{x}})$ (gradient descent on
# $\frac{K}{2n}\sum_{i<j}\|\boldsymbol{x}_i - \boldsymbol{x}_j\|^2$, exactly P2-K with this $K$) every ratio equals $1 - \eta K$.

# %%
cen = inv.centering_rule(K=2.0)
rc = inv.bi_lipschitz_ratios(cen, X, eta=0.2, K=2.0)
assert rc.holds and abs(rc.min_ratio - 0.6) < 1e-12 and abs(rc.max_ratio - 0.6) < 1e-12
print("centering rule, eta K = 0.4: ratios in", (rc.min_ratio, rc.max_ratio), " lower bound", rc.lower_bound)

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Finite collections (with a coincident pair), generated equivariant rules with their stated $K$, $\eta K \in [0.01, 3]$;
# then lazily infinite collections with $\eta K < 1$. The cell prints the worst slacks
# $\min(\text{ratio}) - (1 - \eta K)$ and $(1 + \eta K) - \max(\text{ratio})$, and the largest $\max\|U_i - U_j\|/(K\|x_i - x_j\|)$.
# Lemma 4 is checked on differences, $\|U_i - U_j\| - K\|x_i - x_j\| \le$ the round-off tolerance of the collection's scale:
# for a near-coincident pair the ratio itself carries a round-off of $\epsilon \max\|U\| / \|x_i - x_j\|$ and may read $1 + 10^{-9}$.

# %%
stats = []

@cases(60)
@given(ist.finite_collections(min_size=2, coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 3.0))
def lemmas_2_4_finite(X, rule, frac):
    K = rule.smoothness_constant(X.n)
    r4 = inv.assert_update_difference_bound(rule, X, K)
    r2 = inv.assert_bi_lipschitz(rule, X, frac / K, K)
    stats.append((r2.lower_slack, r2.upper_slack, r4.max_ratio / K, r4.max_excess - r4.tolerance,
                  r2.lower_bound_vacuous))

lemmas_2_4_finite()
lazy = []

@cases(20)
@given(ist.lazy_collections(), ist.symmetric_rules(), st.floats(0.01, 0.95))
def lemma2_lazy(X, rule, frac):
    K = rule.smoothness_constant(None)
    lazy.append(inv.assert_bi_lipschitz(rule, X, frac / K, K).lower_slack)

lemma2_lazy()
s = np.array([row[:4] for row in stats], dtype=float)
print(f"finite: {len(stats)} cases ({sum(row[4] for row in stats)} with eta K >= 1, lower bound vacuous)")
print(f"  worst lower slack {np.nanmin(s[:, 0]):.3g}, worst upper slack {np.nanmin(s[:, 1]):.3g}, "
      f"largest Lemma-4 ratio / K {s[:, 2].max():.4f}, largest excess over the tolerance {s[:, 3].max():.3g}")
print(f"lazy:   {len(lazy)} cases, worst lower slack {np.nanmin(lazy):.3g}")
assert np.nanmin(s[:, 0]) > -1e-9 and np.nanmin(s[:, 1]) > -1e-9 and s[:, 3].max() <= 0

# %% [markdown]
# ## Dropping the hypotheses
#
# **No P1.** `IndexBiasedRule` pushes neuron $0$ only. The push is a constant, so the rule still satisfies P2-K with the same
# $K$ (it cancels in $U(\mathcal{X}) - U(\mathcal{Y})$); but two nearby neurons $0$ and $1$ now receive updates that differ by
# the push: Lemma 4 and Lemma 2 fail (splitting).

# %%
Xn = X.with_entries([1], [X[0] + 1e-3])
biased = inv.IndexBiasedRule(rule, index=0)
assert inv.check_continuity(biased, Xn, K).passed and not inv.equivariance_error(biased, Xn).passed
r4b = inv.update_difference_ratios(biased, Xn, K=K)
r2b = inv.bi_lipschitz_ratios(biased, Xn, 0.3 / K, K)
assert not r4b.holds and r4b.worst_pair == (0, 1) and not r2b.holds and r2b.max_pair == (0, 1)
print(f"no P1: Lemma 4 ratio {r4b.max_ratio:.4g} > K = {K:.4g};  Lemma 2 ratio {r2b.max_ratio:.4g} > 1 + eta K = {r2b.upper_bound}")

# %% [markdown]
# **No P2-K.** $U_i = -\operatorname{sign}(\boldsymbol{x}_i)\sqrt{|\boldsymbol{x}_i|}$ (a pointwise rule: P1 holds) is not Lipschitz
# at $0$. Two neurons at $\pm\delta$ have distance ratio $|1 - \eta/\sqrt\delta|$ after the step: for every claimed $K$ a small
# enough $\delta$ breaks Lemma 2 (here $K = 10$).

# %%
sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)), name="-sign(x) sqrt|x|")
for delta in (1e-2, 1e-4, 1e-6):
    Xs = inv.FiniteCollection([[-delta], [delta], [1.0]])
    assert inv.equivariance_error(sqrt_rule, Xs).passed
    r = inv.bi_lipschitz_ratios(sqrt_rule, Xs, eta=0.1, K=10.0)
    print(f"delta = {delta:.0e}: largest ratio {r.max_ratio:9.3f}, bounds [{r.lower_bound}, {r.upper_bound}], holds: {r.holds}")
assert not r.holds

# %% [markdown]
# **A K claimed too small.** The centering rule with true constant 3 checked against $K = 1$: every ratio is $1 - 3\eta < 1 - \eta$.

# %%
r = inv.bi_lipschitz_ratios(inv.centering_rule(3.0), X, eta=0.1, K=1.0)
assert not r.holds and abs(r.min_ratio - 0.7) < 1e-9
print("min ratio", round(r.min_ratio, 9), "< claimed lower bound", r.lower_bound)

# %% [markdown]
# ## Figure: the bi-Lipschitz band
#
# Distance ratios $\|\boldsymbol{x}_i^{(t+1)} - \boldsymbol{x}_j^{(t+1)}\| / \|\boldsymbol{x}_i^{(t)} - \boldsymbol{x}_j^{(t)}\|$ of every pair,
# against $\eta K$, for the gradient rule above (grey dots) and the centering rule (red, $|1 - \eta K|$), with the bounds
# $1 \pm \eta K$ of eq. (7). The lower bound hits zero at $\eta^* = 1/K$.

# %%
ek = np.linspace(0.02, 2.0, 34)
fig, ax = plt.subplots(figsize=(7, 4.5))
for e in ek:
    r = inv.bi_lipschitz_ratios(rule, X, e / K, K)
    ratios = r.ratios[np.isfinite(r.ratios)]
    assert r.holds and np.all(ratios >= max(0.0, 1 - e) - 1e-9) and np.all(ratios <= 1 + e + 1e-9)
    ax.plot(np.full(ratios.size, e), ratios, ".", color="0.5", ms=3)
    rc = inv.bi_lipschitz_ratios(cen, X, e / 2.0, 2.0)
    ax.plot(e, rc.min_ratio, "o", color="tab:red", ms=4)
ax.plot(ek, 1 + ek, "k-", label="1 + eta K")
ax.plot(ek, 1 - ek, "k--", label="1 - eta K")
ax.axvline(1.0, color="tab:green", lw=1, label="eta* = 1/K")
ax.plot([], [], ".", color="0.5", label="gradient rule, every pair")
ax.plot([], [], "o", color="tab:red", label="centering rule, |1 - eta K|")
ax.set_xlabel("eta K"); ax.set_ylabel("distance ratio"); ax.legend(fontsize=8)
ax.set_title("Lemma 2: ratios stay in [1 - eta K, 1 + eta K]")
plt.show()
