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
# # Topological breakdown above $\eta^* = 1/K$
#
# *Sections 4 and 4.1 of the paper (after Lemma 2 and Theorem 1).*
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
# The statements of the paper about the phase above the topological critical point:
#
# > Lemma 2 also identifies a critical learning rate $\eta^* = 1/K$, beyond which the lower bound becomes vacuous, which we
# > referred to as topological critical point hereinafter. [...] this marks a phase transition from bijective, homeomorphic
# > dynamics to merely surjective continuous dynamics.
#
# > At large learning rates, by contrast, homeomorphic evolution breaks down. Merging and more general topological changes
# > become possible [...]. At the same time, the large-learning-rate phase cannot change topology without bound because the
# > upper bound in Lemma 2 always holds, and so neuron splitting remains impossible. This is also topologically characterized
# > by the fact that the induced mapping $\tilde{U}$ is still a quotient map, meaning that it inherits a coarser topology from the previous
# > neuron distribution.
#
# So for $\eta K \ge 1$: (a) merging *is possible* (not forced): there are rules satisfying P1 and P2-K whose induced map is not
# injective; (b) what survives is Lemma 1, Lemma 2's upper bound (no splitting) and Theorem 1 (i)-(ii) (continuous surjection, a
# quotient map); consequences: the number of distinct neurons and the number of connected components never increase.

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
from notebook_setup import cases

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})

from invariance.topology import betti_numbers

# %% [markdown]
# ## (a) Merging becomes possible at and above $\eta^*$
#
# Three rules satisfying P1 and P2-K with an exactly known $K = 2$, on 200 neurons on a circle (angles $2\pi k/200$, symmetric
# about both axes; radius $x_0$, the positive root of $x = 1.5\tanh x$, see below), Betti numbers
# $(b_0, b_1, b_2)$ at scale $\operatorname{diam}/4$ and number of distinct points of $S^{(t+1)}$:
#
# - the **centering** rule $U_i = -K(\boldsymbol x_i - \overline{\boldsymbol x})$: at $\eta = 1/K$ every neuron lands on the mean;
# - the **projection** rule $U_i = -K(0, y_i)$ (gradient descent on $\frac K2\sum_i y_i^2$): at $\eta = 1/K$ the circle is flattened
#   onto a segment, neurons at $(x, \pm y)$ merge, the loop is destroyed;
# - the **log-cosh** rule $U_i = -K\tanh(\boldsymbol x_i)$ (gradient descent on $K\sum\log\cosh$, Hessian in $(0, K]$): at $\eta = 1/K$
#   it is still injective (its derivative vanishes only at $0$), while at $\eta = 1.5/K$ the map $x \mapsto x - 1.5\tanh x$ folds:
#   the four neurons $(\pm x_0, 0)$, $(0, \pm x_0)$ all land on the origin.

# %%
K = 2.0
x0 = 1.3
for _ in range(30):                                    # Newton: x0 = 1.5 tanh(x0), x0 > 0
    x0 -= (x0 - 1.5 * np.tanh(x0)) / (1 - 1.5 / np.cosh(x0) ** 2)
assert abs(x0 - 1.5 * np.tanh(x0)) < 1e-15
theta = 2 * np.pi * np.arange(200) / 200
circle = inv.FiniteCollection(x0 * np.stack([np.cos(theta), np.sin(theta)], axis=1))
projection = inv.PointwiseRule(lambda x: -K * np.concatenate([np.zeros_like(x[:, :1]), x[:, 1:]], axis=1),
                               name="projection")
logcosh = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(K)))
rules = {"centering": inv.centering_rule(K), "projection": projection, "log-cosh": logcosh}
for name, r_ in rules.items():
    assert inv.equivariance_error(r_, circle).passed
    assert inv.check_continuity(r_, circle, K).passed
assert logcosh.smoothness_constant(circle.n) == K
print("all three rules: P1 holds and P2-K holds with K =", K)
print(f"{'rule':12s} {'eta K':>6s} {'points after':>13s} {'bijective':>10s} {'Betti after':>12s}")
results = {}
for name, r_ in rules.items():
    for frac in (0.5, 1.0, 1.5):
        b = inv.bijectivity(r_, circle, frac / K, K)
        betti = betti_numbers(r_.step(circle, frac / K).points)
        results[name, frac] = (b, betti)
        print(f"{name:12s} {frac:6} {b.n_after:13d} {str(b.bijective):>10s} {str(betti):>12s}")

# %% [markdown]
# The cell asserts what the table shows: below $\eta^*$ every rule is a bijection and the circle keeps $(1, 1, 0)$ (Theorem 1);
# at $\eta^* = 1/K$ the centering and projection rules merge neurons and destroy the loop; above $\eta^*$ the log-cosh rule merges
# neurons. (Above $\eta^*$ merging is possible, not forced: at $\eta = 1.5/K$ the centering and projection rules are bijections
# again, $x \mapsto -0.5x$ in the contracted directions.) Every step is still a well-defined surjection (Lemma 3's first part).

# %%
for name in rules:
    b, betti = results[name, 0.5]
    assert b.bijective and betti == (1, 1, 0)
    for frac in (1.0, 1.5):
        b, _ = results[name, frac]
        assert b.holds and b.well_defined and b.surjective and b.n_after <= b.n_before
assert results["centering", 1.0][0].n_after == 1 and results["centering", 1.0][1] == (1, 0, 0)
n_columns = np.unique(np.round(circle.points[:, 0], 12)).size     # neurons (x, y) and (x, -y) merge
assert results["projection", 1.0][0].n_after == n_columns and results["projection", 1.0][1] == (1, 0, 0)
assert results["log-cosh", 1.0][0].bijective and not results["log-cosh", 1.5][0].bijective
merged = results["log-cosh", 1.5][0].merged_groups
assert (0, 50, 100, 150) in merged                                # (x0, 0), (0, x0), (-x0, 0), (0, -x0)
assert results["centering", 1.5][0].bijective and results["projection", 1.5][0].bijective
print("merges at eta* (centering, projection) and above it (log-cosh): confirmed")

# %% [markdown]
# The fold of the log-cosh rule in one dimension: $x \mapsto x - 1.5\tanh x$ sends $0$ and $\pm x_0$ to the same point: three
# distinct neurons merge.

# %%
line = inv.FiniteCollection([[-x0], [0.0], [x0], [2.5]])
one = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0)))       # K = 1
b = inv.bijectivity(one, line, 1.5, 1.0)
assert not b.bijective and b.merged_groups == ((0, 1, 2),)
print(f"x0 = {x0:.6f}: positions after the step {one.step(line, 1.5).points.ravel()}, merged {b.merged_groups}")

# %% [markdown]
# ## (b) What survives above $\eta^*$: no splitting, a continuous surjection
#
# For every $\eta$, Lemma 2's upper bound holds (neurons never split), Lemma 1 holds, $\widehat U$ is a $(1+\eta K)$-Lipschitz
# surjection (Theorem 1 (i)) and a quotient map of compact sets (ii). Checked along a 20-step trajectory of the log-cosh rule at
# $\eta K = 1.5$ started from the circle above plus 20 duplicated neurons: at every step the upper bound holds and the number of
# distinct neurons never increases (it drops at the first step, where the fold merges the four neurons on the axes).
#
# "Coarser" is meant in the sense of quotient topologies, not of Betti numbers: gluing points of a circle creates loops (the
# folded circle in the table above has a larger $b_1$ than the circle; the cell below asserts it). The number of distinct neurons
# is the invariant that can only decrease.

# %%
assert results["log-cosh", 1.5][1][1] > 1                      # gluing points of the circle created loops
dup = np.concatenate([circle.points, circle.points[::10]])      # 20 duplicated neurons
Z = inv.FiniteCollection(dup)
eta = 1.5 / K
distinct = []
for t in range(20):
    assert inv.assert_well_defined(logcosh, Z, eta).holds
    r2 = inv.assert_bi_lipschitz(logcosh, Z, eta, K)      # upper bound only: lower bound vacuous
    assert r2.lower_bound_vacuous
    h = inv.homeomorphism(logcosh, Z, eta, K)
    assert h.continuous and h.well_defined
    f = inv.induced_map(logcosh, Z, eta, K=K)
    distinct.append(f.n_before)
    Z = logcosh.step(Z, eta)
assert all(b <= a for a, b in zip(distinct, distinct[1:])) and distinct[1] < distinct[0] == circle.n
print(f"{Z.n} neurons; distinct neurons along the trajectory:", distinct)

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Generated equivariant rules with their $K$ and $\eta K \in [1, 3]$, finite and lazily infinite collections with coincident
# neurons: Lemma 1, Lemma 2's upper bound, Theorem 1 (i) and the surjection of Lemma 3 hold; the number of distinct points never
# increases.

# %%
stats = []

@cases(50)
@given(ist.collections(coincident_pairs=1), ist.symmetric_rules(), st.floats(1.0, 3.0))
def above_critical(X, rule, frac):
    finite = isinstance(X, inv.FiniteCollection)
    K = rule.smoothness_constant(X.n if finite else None)
    eta = frac / K
    inv.assert_well_defined(rule, X, eta, K=K, window=32)
    r2 = inv.assert_bi_lipschitz(rule, X, eta, K, window=32)
    h = inv.homeomorphism(rule, X, eta, K, window=32)
    b = inv.assert_bijective(rule, X, eta, K, window=32)
    assert r2.lower_bound <= 1e-12 and h.continuous and b.surjective and b.n_after <= b.n_before
    stats.append((finite, r2.upper_slack, b.n_before - b.n_after))

above_critical()
print(f"{len(stats)} cases ({sum(s[0] for s in stats)} finite): worst upper slack {np.nanmin([s[1] for s in stats]):.3g}, "
      f"{sum(s[2] > 0 for s in stats)} cases with merges")

# %% [markdown]
# ## Dropping the hypotheses: splitting
#
# **No P1.** The index-biased rule splits coincident neurons at any $\eta$, above $\eta^*$ too: Lemma 2's upper bound fails.
#
# **No P2-K.** The equivariant, non-Lipschitz rule $-\operatorname{sign}(x)\sqrt{|x|}$ splits nearly coincident neurons: the distance
# ratio of the neurons at $\pm10^{-8}$ is far above $1 + \eta K$ for the claimed $K$.

# %%
Xd = inv.FiniteCollection(np.concatenate([circle.points[:5], circle.points[:1]]))
rb = inv.bi_lipschitz_ratios(inv.IndexBiasedRule(logcosh, index=0), Xd, eta, K)
wb = inv.well_definedness(inv.IndexBiasedRule(logcosh, index=0), Xd, eta)
assert not rb.holds and not wb.holds and rb.max_upper_violation > rb.tolerance
sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)))
rs = inv.bi_lipschitz_ratios(sqrt_rule, inv.FiniteCollection([[-1e-8], [1e-8], [1.0]]), 1.5, K=1.0)
assert not rs.holds and rs.max_ratio > rs.upper_bound
print(f"no P1: coincident neurons separate by {wb.max_separation:.3f}; "
      f"no P2-K: ratio {rs.max_ratio:.1f} > 1 + eta K = {rs.upper_bound}")

# %% [markdown]
# ## Figure: neuron clouds before and after one step, below and above $\eta^*$
#
# Rows: the three rules; columns: $\eta K = 0.5$ (homeomorphism, Theorem 1), $\eta K = 1$ (the critical point), $\eta K = 1.5$.
# Grey: $S^{(t)}$ (the circle); colour: $S^{(t+1)}$; titles: Betti numbers and the number of distinct neurons.

# %%
fig, axes = plt.subplots(3, 3, figsize=(10, 10), sharex=True, sharey=True)
for row, (name, r_) in enumerate(rules.items()):
    for col, frac in enumerate((0.5, 1.0, 1.5)):
        ax = axes[row, col]
        after = r_.step(circle, frac / K).points
        b, betti = results[name, frac]
        ax.plot(*circle.points.T, ".", color="0.8", ms=4)
        ax.scatter(*after.T, c=theta, cmap="hsv", s=8)
        ax.set_title(f"{name}, eta K = {frac}\nBetti {betti}, {b.n_after} points", fontsize=9)
        ax.set_aspect("equal")
fig.suptitle("Below eta* the topology is kept; at and above eta* neurons can merge")
plt.show()
