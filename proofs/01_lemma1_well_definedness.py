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
# # Lemma 1 (Well-definedness)
#
# *Section 4 of the paper; proof in Appendix A.1.*
#
# **Setting (Section 3).** A collection $\mathcal{X}^{(t)} = \{\boldsymbol{x}_i^{(t)}\}_{i \in I} \in (\mathbb{R}^D)^I$
# (the neurons, $I$ possibly uncountable) is updated by a rule $U^{(t)} : (\mathbb{R}^D)^I \to (\mathbb{R}^D)^I$ with step size $\eta > 0$:
#
# $$\boldsymbol{x}_{i}^{(t+1)} = \boldsymbol{x}_{i}^{(t)} + \eta U_{i}^{(t)} \left( \mathcal{X} \right). \tag{4}$$
#
# $\mathsf{FSym}(I)$ is the group of permutations of $I$ with finite support, acting by $P\mathcal{X} = \{\boldsymbol{x}_{P(i)}\}_{i\in I}$;
# $\|\mathcal{X} - \mathcal{Y}\| = \sqrt{\sum_{i \in I} \|\boldsymbol{x}_i - \boldsymbol{y}_i\|^2}$ if $\mathcal{X}$ and $\mathcal{Y}$ differ in finitely many terms, $+\infty$ otherwise.
#
# **Hypothesis.**
#
# - **(P1) Equivariance Property:** We say $U^{(t)}$ has equivariance property if for any $t \in \mathbb{N}$, any $\mathcal{X} \in (\mathbb{R}^D)^I$ and $P \in \mathsf{FSym}(I)$, we have $PU^{(t)}(\mathcal{X}) = U^{(t)}(P\mathcal{X})$.
#
# > **Lemma 1** (Well-definedness). The following statement holds when $U^{(t)}$ satisfies P1. For any $i, j \in I$ such
# > that $i \neq j$, if at time $t$ we have $\mathbf{x}_i^{(t)} = \mathbf{x}_j^{(t)}$, then, $\mathbf{x}_i^{(t+1)} = \mathbf{x}_j^{(t+1)}$.
#
# Coincident neurons stay coincident: this is what makes $\widehat{U}^{(t)}(\boldsymbol{x}_i^{(t)}) = \boldsymbol{x}_i^{(t+1)}$
# (eq. 8) a function on the *set* of neurons. The notebook checks every step of the proof, runs the library's check
# (`inv.well_definedness`) on generated cases, and shows that without P1 the conclusion fails.

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



# %% [markdown]
# ## The proof, step by step
#
# A rule satisfying P1: gradient descent $U = -\nabla L$ on the permutation-symmetric loss
# $L(\mathcal{X}) = \sum_i \sum_k \log\cosh x_{ik} + \frac1n \sum_{i<j} e^{-\|\boldsymbol{x}_i - \boldsymbol{x}_j\|^2/2}$
# (Proposition 1 makes it equivariant). Six neurons in $\mathbb{R}^2$, with $\boldsymbol{x}_1 = \boldsymbol{x}_4$.
#
# **Step 1 (eq. 18).** $P$ switches $i$ and $j$: $P(i) = j$, $P(j) = i$, $P(k) = k$ otherwise. Its support is
# $\{i, j\}$, so $P \in \mathsf{FSym}(I)$; since $\boldsymbol{x}_i^{(t)} = \boldsymbol{x}_j^{(t)}$, $\mathcal{X} = P\mathcal{X}$.

# %%
potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=1.0))
rule = inv.GradientDescent(potential)

rng = np.random.default_rng(0)
pts = rng.normal(size=(6, 2))
i, j = 1, 4
pts[j] = pts[i]                                    # x_i = x_j at time t
X = inv.FiniteCollection(pts)

P = inv.FinitaryPermutation.transposition(i, j)    # eq. (18)
assert P.support == (i, j) and P(i) == j and P(j) == i and P(0) == 0
assert (P @ P).is_identity()                       # a transposition is an involution
PX = P.act(X)
assert np.array_equal(PX.points, X.points)         # X = PX
print("supp(P) =", P.support, "  ||X - PX|| =", inv.difference_norm(X, PX))

# %% [markdown]
# **Step 2 (eq. 19).** With $\mathcal{X} = P\mathcal{X}$ and P1,
# $U_i(\mathcal{X}) = U_i(P\mathcal{X}) = (PU(\mathcal{X}))_i = U_{P(i)}(\mathcal{X}) = U_j(\mathcal{X})$.
# Each equality of the chain is checked separately: the first because $\mathcal{X} = P\mathcal{X}$ exactly, the second is P1,
# the third is the definition of the action.

# %%
U = rule.update(X).points
U_PX = rule.update(PX).points
PU = P.act(rule.update(X)).points
chain = [U[i], U_PX[i], PU[i], U[j]]
assert np.array_equal(chain[0], chain[1])          # X = PX
assert np.allclose(chain[1], chain[2], rtol=0, atol=1e-14)   # P1 at X
assert np.array_equal(chain[2], chain[3])          # (P U(X))_i = U_{P(i)}(X) = U_j(X)
p1 = inv.equivariance_error(rule, X)               # P1 at X, for every transposition and sampled permutations
assert p1.passed
print("U_i(X) =", U[i], "  U_j(X) =", U[j])
print("P1 at X:", p1.passed, "  worst ||(P U(X))_i - U_i(P X)|| =", p1.worst, " over", p1.trials, "permutations")

# %% [markdown]
# **Step 3.** $\boldsymbol{x}_i^{(t+1)} = \boldsymbol{x}_i^{(t)} + \eta U_i(\mathcal{X}) = \boldsymbol{x}_j^{(t)} + \eta U_j(\mathcal{X}) = \boldsymbol{x}_j^{(t+1)}$,
# for every step size (Lemma 1 needs no bound on $\eta$).

# %%
for eta in (0.1, 1.0, 10.0):
    Y = rule.step(X, eta)
    assert np.array_equal(Y[i], X[i] + eta * U[i]) and np.array_equal(Y[j], X[j] + eta * U[j])
    assert np.array_equal(Y[i], Y[j])
    print(f"eta = {eta:5}:  x_i^(t+1) = {Y[i]},  ||x_i^(t+1) - x_j^(t+1)|| = {np.linalg.norm(Y[i] - Y[j])}")

# %% [markdown]
# **The same proof on an infinite index set.** $I = \mathbb{N}$: infinitely many neurons fill the unit circle densely
# (`CircleBase`), and neuron $0$ is overridden to coincide with neuron $10^{12}$. The transposition $(0\ 10^{12})$ is finitary;
# the mean-field gradient rule acts on the lazy collection, and the two neurons are again equal after the step.

# %%
ring = inv.LazyCollection(inv.CircleBase(radius=1.0))
far = 10**12
Xl = ring.with_entries([0], [ring[far]])           # x_0 = x_{10^12}
Pl = inv.FinitaryPermutation.transposition(0, far)
assert inv.difference_norm(Pl.act(Xl), Xl) == 0.0  # X = PX on N
Yl = rule.step(Xl, 0.3)
assert np.array_equal(Yl[0], Yl[far])
print("x_0^(t+1) =", Yl[0], "  x_{10^12}^(t+1) =", Yl[far], "  support of X^(t+1):", Yl.support)

# %% [markdown]
# ## The library's check on this collection
#
# `inv.well_definedness` finds every coincident pair among the examined neurons and measures their distance after one step
# (tolerance: dtype-aware, relative to the scale of the collection).

# %%
r = inv.well_definedness(rule, X, eta=0.5)
print(r)
assert r.holds and not r.vacuous and r.coincident_pairs == 1 and r.worst_pair == (i, j)

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Finite collections with at least two coincident pairs, equivariant rules (gradient descent on generated symmetric
# potentials, `ist.symmetric_rules()`), and any step size $\eta = f/K$ with $f \in [0.01, 3]$, below and above $\eta^* = 1/K$;
# then lazily infinite collections with a coincident pair. The cell prints the number of cases and the worst separation.

# %%
finite_stats = []

@cases(60)
@given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), st.floats(0.01, 3.0))
def lemma1_finite(X, rule, frac):
    eta = frac / rule.smoothness_constant(X.n)
    r = inv.assert_well_defined(rule, X, eta)          # raises StatementViolation if Lemma 1 fails
    assert not r.vacuous
    finite_stats.append((r.coincident_pairs, r.max_separation, r.tolerance))

lemma1_finite()
lazy_stats = []

@cases(20)
@given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 3.0))
def lemma1_lazy(X, rule, frac):
    r = inv.assert_well_defined(rule, X, frac / rule.smoothness_constant(None))
    assert not r.vacuous and not r.exhaustive
    lazy_stats.append((r.coincident_pairs, r.max_separation))

lemma1_lazy()
pairs = sum(s[0] for s in finite_stats)
print(f"finite: {len(finite_stats)} cases, {pairs} coincident pairs, "
      f"largest separation after the step {max(s[1] for s in finite_stats):.3g} "
      f"(largest tolerance {max(s[2] for s in finite_stats):.3g})")
print(f"lazy:   {len(lazy_stats)} cases, {sum(s[0] for s in lazy_stats)} coincident pairs, "
      f"largest separation {max(s[1] for s in lazy_stats):.3g}")
assert len(finite_stats) == 60 and len(lazy_stats) == 20

# %% [markdown]
# ## Dropping the hypothesis: a rule without P1
#
# `IndexBiasedRule(rule, index=i)` adds a push $(1, \dots, 1)$ to the update of neuron $i$ only. It is not equivariant
# (the checker returns a transposition moving $i$), and the coincident neurons $i$ and $j$ separate by exactly
# $\eta \|(1,\dots,1)\| = \eta\sqrt{D}$: Lemma 1's conclusion fails.

# %%
biased = inv.IndexBiasedRule(rule, index=i)
p1 = inv.equivariance_error(biased, X)
assert not p1.passed and p1.counterexample["moved_indices"] == 2 and i in p1.counterexample["cycles"][0]
print("P1:", p1.passed, "  counterexample:", p1.counterexample["permutation"], " error", round(p1.worst, 6))

eta = 0.5
r = inv.well_definedness(biased, X, eta)
assert not r.holds and r.worst_pair == (i, j)
assert math.isclose(r.max_separation, eta * math.sqrt(X.dim), rel_tol=1e-9)
print("Lemma 1 for the biased rule:", r.holds, "  separation", r.max_separation, "= eta sqrt(D)")
try:
    inv.assert_well_defined(biased, X, eta)
    raise RuntimeError("expected a StatementViolation")
except inv.StatementViolation as err:
    print("assert_well_defined raised StatementViolation:", err.result.statement)

# %% [markdown]
# P1 is sufficient, not necessary. `AnchoredRule` pulls every neuron towards neuron $0$,
# $U_i = V_i + c(\boldsymbol{x}_0 - \boldsymbol{x}_i)$: it is not equivariant, yet two coincident neurons receive the same pull,
# so Lemma 1's conclusion survives. Only a rule that treats the *labels* of coincident neurons differently breaks it.

# %%
anchored = inv.AnchoredRule(rule, strength=1.0, anchor=0)
assert not inv.equivariance_error(anchored, X).passed
assert inv.well_definedness(anchored, X, 0.5).holds
print("anchored rule: P1", inv.equivariance_error(anchored, X).passed,
      "| Lemma 1's conclusion", inv.well_definedness(anchored, X, 0.5).holds)

# %% [markdown]
# ## Figure: ten steps with and without P1
#
# Left: the equivariant rule; the coincident pair (black) stays one point along the whole trajectory. Right: the
# index-biased rule; the pair splits at the first step.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
for ax, r_, title in zip(axes, (rule, biased), ("equivariant (P1)", "index-biased (no P1)")):
    traj = np.stack([Z.points for Z in r_.trajectory(X, 0.15, 10)])
    for k in range(X.n):
        style = dict(color="k", lw=2) if k in (i, j) else dict(color="tab:blue", alpha=0.5)
        ax.plot(traj[:, k, 0], traj[:, k, 1], "-o", ms=3, **style)
    sep = np.linalg.norm(traj[:, i] - traj[:, j], axis=1)
    ax.set_title(f"{title}: max ||x_i - x_j|| = {sep.max():.2g}")
    if r_ is rule:
        assert sep.max() == 0.0
    else:
        assert sep[1] > 0
fig.suptitle("Lemma 1: coincident neurons stay coincident under an equivariant rule")
plt.show()
