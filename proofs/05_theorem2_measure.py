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
# # Theorem 2 (Measure invariance)
#
# *Section 4.2 of the paper; proof in Appendix A.5.*
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
# **Measures (eq. 9).** A $\sigma$-algebra $\mathcal{F}$ and a probability measure $m : \mathcal{F} \to [0, 1]$ on $I$;
# $r^{(t)} : i \mapsto \boldsymbol{x}_i^{(t)}$ is measurable, and $\mu^{(t)}$ is the push-forward of $m$:
# $$\forall \text{ open set } A \text{ on } S^{(t)},\ \mu^{(t)}(A) = m\left(r^{(t)^{-1}}(A)\right). \tag{9}$$
#
# **Hypotheses.**
#
# - **(P1) Equivariance Property:** We say $U^{(t)}$ has equivariance property if for any $t \in \mathbb{N}$, any $\mathcal{X} \in (\mathbb{R}^D)^I$ and $P \in \mathsf{FSym}(I)$, we have $PU^{(t)}(\mathcal{X}) = U^{(t)}(P\mathcal{X})$.
#
# - **(P2-K) K-Continuity Property:** For $K > 0$, if for any $t \in \mathbb{N}$ and any $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$,
#   $$\left\| U^{(t)} \left( \mathcal{X} \right) - U^{(t)} \left( \mathcal{Y} \right) \right\| \le K \left\| \mathcal{X} - \mathcal{Y} \right\|, \tag{5}$$
#   then we say $U^{(t)}$ has K-continuity property.
#
# > **Theorem 2.** Suppose $U^{(t)}$ satisfies P1 and P2-K, and suppose $\eta K < 1$, then $\widehat{U}^{(t)}$ is a probability
# > isomorphism between $(S^{(t)}, \mu^{(t)})$ and $(S^{(t+1)}, \mu^{(t+1)})$, i.e. $\widehat{U}^{(t)}$ and $\widehat{U}^{(t)}$
# > are both measure-preserving bijections.
#
# (The second $\widehat{U}^{(t)}$ is the inverse $\widehat{U}^{(t)^{-1}}$, as the proof in Appendix A.5 shows: a typo.)
# On a finite sample, $\mu^{(t)}$ gives each point of $S^{(t)}$ the total weight of the neurons sitting there.
# Library: `inv.measure_preservation`.

# %% [markdown]
# ## Setup
#
# Only the public API: `import invariance as inv`, `invariance.strategies`, `invariance.symbolic`, `invariance.topology`;
# and `cases(n)` (derandomized hypothesis settings) from `notebook_setup.py` beside the notebooks.

# %%
import numpy as np
import matplotlib.pyplot as plt
from hypothesis import given, strategies as st

import invariance as inv
from invariance import strategies as ist
from notebook_setup import cases, min_separation

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})



# %% [markdown]
# ## The proof, step by step (eqs. 42-46)
#
# Twelve neurons with random weights $m_i$; neurons $\{0, 4, 9\}$ coincide, as do $\{2, 7\}$, so $\mu^{(t)}$ stacks their mass.
# For every point $A$ of $S^{(t+1)}$ and 50 random unions of points (every subset of a finite set is open),
#
# $\mu^{(t+1)}(A) = m\{i \mid \boldsymbol{x}_i^{(t+1)} \in A\}$ (42-43) $= m\{i \mid f(\boldsymbol{x}_i^{(t)}) \in A\}$ (44)
# $= m\{i \mid \boldsymbol{x}_i^{(t)} \in f^{-1}(A)\}$ (45) $= \mu^{(t)}(f^{-1}(A))$ (46).

# %%
rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=0.5)))
rng = np.random.default_rng(5)
pts = rng.normal(size=(12, 2))
pts[[4, 9]] = pts[0]
pts[7] = pts[2]
X = inv.FiniteCollection(pts)
m = rng.uniform(0.1, 1.0, size=X.n)
m /= m.sum()                                               # a probability measure on I
K = rule.smoothness_constant(X.n)
eta = 0.7 / K
f = inv.induced_map(rule, X, eta, K=K)
mu_t = np.bincount(f.labels_before, weights=m, minlength=f.n_before)      # eq. (9) at t
mu_t1 = np.bincount(f.labels_after, weights=m, minlength=f.n_after)       # eq. (9) at t+1
sets = [np.arange(f.n_after) == b for b in range(f.n_after)]
sets += [rng.random(f.n_after) < 0.5 for _ in range(50)]
for A in sets:
    s42 = mu_t1[A].sum()
    s43 = m[A[f.labels_after]].sum()                        # m{i : x_i^(t+1) in A}
    s44 = m[A[f.image[f.labels_before]]].sum()              # m{i : f(x_i^(t)) in A}
    preimage = A[f.image]                                   # f^{-1}(A), a set of points of S^(t)
    s45 = m[preimage[f.labels_before]].sum()                # m{i : x_i^(t) in f^{-1}(A)}
    s46 = mu_t[preimage].sum()                              # mu^(t)(f^{-1}(A))
    assert np.allclose([s43, s44, s45, s46], s42, rtol=0, atol=1e-15)
print(f"{len(sets)} sets A: mu^(t+1)(A) = mu^(t)(U_hat^-1(A)) for all of them;  "
      f"masses of S^(t): {np.round(mu_t, 4)}")

# %% [markdown]
# **The inverse is measure preserving too.** Since $f$ is a bijection ($\eta K < 1$, Lemma 3), $f^{-1}(f(B)) = B$ and the same
# chain with $A = f(B)$ gives $\mu^{(t)}(B) = \mu^{(t+1)}(f(B))$.

# %%
assert f.bijective
for B in [np.arange(f.n_before) == a for a in range(f.n_before)] + [rng.random(f.n_before) < 0.5 for _ in range(50)]:
    image = np.zeros(f.n_after, dtype=bool)
    image[f.image[B]] = True
    assert abs(mu_t[B].sum() - mu_t1[image].sum()) <= 1e-15
r = inv.measure_preservation(rule, X, eta, K, weights=m)
assert r.holds and r.bijective
print(r)

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Finite collections with coincident neurons, random positive weights, generated rules, $\eta K \in [0.01, 0.95]$; lazily
# infinite collections with uniform weights on the examined neurons. The push-forward identity (46) holds whenever
# $\widehat U$ is a function; with positive weights the inverse identity holds exactly when nothing merged.

# %%
stats = []

@cases(50)
@given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), st.floats(0.01, 0.95), st.data())
def theorem2(X, rule, frac, data):
    K = rule.smoothness_constant(X.n)
    w = data.draw(st.lists(st.floats(0.01, 5.0), min_size=X.n, max_size=X.n))
    r = inv.measure_preservation(rule, X, frac / K, K, weights=w)
    assert r.premise and r.well_defined and r.pushforward_discrepancy <= r.tolerance
    assert r.holds == r.bijective
    if min_separation(X) > 1e-6:
        assert r.holds
    stats.append((r.holds, r.max_discrepancy, r.sets_tested))

theorem2()
lazy = []

@cases(15)
@given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 0.95))
def theorem2_lazy(X, rule, frac):
    K = rule.smoothness_constant(None)
    lazy.append(inv.assert_measure_preserving(rule, X, frac / K, K).max_discrepancy)

theorem2_lazy()
print(f"finite: {len(stats)} cases, {sum(s[0] for s in stats)} measure-preserving bijections, "
      f"{sum(s[2] for s in stats)} sets tested, largest discrepancy on those {max(s[1] for s in stats if s[0]):.2e}")
print(f"lazy:   {len(lazy)} cases, largest discrepancy {max(lazy):.2e}")

# %% [markdown]
# ## Dropping the hypotheses
#
# **$\eta K \ge 1$.** The centering rule at $\eta = 1/K$ merges all points: (46) still holds (the whole mass lands on the one
# point), but $\widehat U^{-1}$ is not measure preserving: a single point $B$ of $S^{(t)}$ is sent to a point carrying mass 1.

# %%
Kc = 2.0
rc = inv.measure_preservation(inv.centering_rule(Kc), X, 1 / Kc, Kc, weights=m)
assert not rc.holds and rc.pushforward_discrepancy <= rc.tolerance and rc.worst_identity == "inverse"
print(f"eta K = 1: push-forward discrepancy {rc.pushforward_discrepancy:.1e}, inverse discrepancy {rc.inverse_discrepancy:.4f}")

# %% [markdown]
# **No P1.** With `IndexBiasedRule` the neuron $4$ leaves the point it shares with $0$ and $9$: $\widehat U$ is not a function and
# the masses are not matched.

# %%
rb = inv.measure_preservation(inv.IndexBiasedRule(rule, index=4), X, eta, K, weights=m)
assert not rb.holds and not rb.well_defined
print(f"no P1: well defined {rb.well_defined}, largest discrepancy {rb.max_discrepancy:.4f} ({rb.worst_identity})")

# %% [markdown]
# **No P2-K.** The equivariant, non-Lipschitz rule $U_i = -\operatorname{sign}(x_i)\sqrt{|x_i|}$ merges the neurons at $\pm\eta^2$
# at any step size: with the claimed $K = 1$ and $\eta = 0.1$ ($\eta K < 1$) the inverse of $\widehat U$ is not measure preserving.

# %%
sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)))
Xs = inv.FiniteCollection([[-0.01], [0.01], [1.0]])
rs = inv.measure_preservation(sqrt_rule, Xs, 0.1, K=1.0, weights=[0.2, 0.3, 0.5])
assert rs.premise and not rs.holds and not rs.bijective
print(f"no P2-K: eta K = 0.1 < 1, bijective {rs.bijective}, inverse discrepancy {rs.inverse_discrepancy:.2f}")

# %% [markdown]
# ## Figure: the masses before and after
#
# Marker area proportional to $\mu$ of each point. Left: $\eta K = 0.7$, each point carries its mass to its image. Right: the
# centering rule at $\eta K = 1$, all mass lands on one point.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
for ax, (r_, e_, k_, title) in zip(axes, [(rule, eta, K, "eta K = 0.7"), (inv.centering_rule(Kc), 1 / Kc, Kc, "eta K = 1")]):
    res = inv.measure_preservation(r_, X, e_, k_, weights=m)
    g = res.induced
    ax.scatter(*g.points_before.T, s=2000 * res.masses_before, alpha=0.5, color="tab:blue", label="mu^(t)")
    ax.scatter(*g.points_after.T, s=2000 * res.masses_after, alpha=0.5, color="tab:red", label="mu^(t+1)")
    ax.set_title(f"{title}: measure preserving bijection: {res.holds}")
    ax.legend(fontsize=8, markerscale=0.3)
plt.show()
