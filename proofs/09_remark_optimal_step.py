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
# # Remark (Section 5.1): $\eta^* = 1/K$ is the optimal step of the smoothness bound (eqs. 13-15)
#
# *Section 5.1 of the paper.*
#
# > **Remark.** As noted in Section 3, the smoothness condition in (12) is precisely the standard smoothness assumption widely
# > used in optimization theory (Bottou et al., 2018). Under this assumption, the topological critical point $\eta^* = \frac{1}{K}$
# > in our theory coincides with the optimal step size suggested by a second-order Taylor expansion of the loss around
# > $\boldsymbol{x}$. Specifically, (12) implies
# > $$L(\boldsymbol{x} - \eta \nabla L(\boldsymbol{x})) \tag{13}$$
# > $$\leq L(\boldsymbol{x}) - \eta \|\nabla L(\boldsymbol{x})\|^2 + \frac{K\eta^2}{2} \|\nabla L(\boldsymbol{x})\|^2 \tag{14}$$
# > $$= L(\boldsymbol{x}) + \left(\frac{K}{2}\eta^2 - \eta\right) \|\nabla L(\boldsymbol{x})\|^2. \tag{15}$$
# > It follows that the optimal decrease in loss occurs at $\eta^* = \frac{1}{K}$, which matches the topological critical point
# > identified in our framework and differs only by a constant factor from the classical upper bound on stable step sizes.
#
# **Hypothesis:** (12), $\|\nabla L(\mathcal X) - \nabla L(\mathcal Y)\| \le K\|\mathcal X - \mathcal Y\|$.
#
# Library: `invariance.symbolic.step_sizes` (eqs. 13-15 in sympy), `hessian_constant`, `sigmoid_pair_constant`;
# `InteractionPotential.value`, `.gradient`, `.smoothness_constant` numerically.

# %% [markdown]
# ## Setup
#
# Only the public API: `import invariance as inv`, `invariance.strategies`, `invariance.symbolic`, `invariance.topology`;
# and `cases(n)` (derandomized hypothesis settings) from `notebook_setup.py` beside the notebooks.

# %%
import math

import numpy as np
import matplotlib.pyplot as plt
from hypothesis import assume, given

import invariance as inv
from invariance import strategies as ist
from notebook_setup import cases

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})

import sympy as sp
from invariance.symbolic import hessian_constant, quadratic_loss, sigmoid_pair_constant, step_sizes

# %% [markdown]
# ## Step 1: (12) implies (14)
#
# $L(\boldsymbol x - \eta\boldsymbol g) - L(\boldsymbol x) + \eta\|\boldsymbol g\|^2 = -\eta\int_0^1 \langle \nabla L(\boldsymbol x - s\eta\boldsymbol g) - \nabla L(\boldsymbol x), \boldsymbol g\rangle\, ds
# \le \eta\int_0^1 K s\eta\|\boldsymbol g\|^2 ds = \frac{K\eta^2}{2}\|\boldsymbol g\|^2$ by Cauchy-Schwarz and (12). Symbolically, for the
# one-dimensional quadratic $L = Kx^2/2$ the bound is an equality (it cannot be improved):

# %%
K_, x_, eta_ = sp.symbols("K x eta", positive=True)
L = K_ * x_**2 / 2
g = sp.diff(L, x_)
lhs = L.subs(x_, x_ - eta_ * g)                              # (13)
rhs = L - eta_ * g**2 + K_ * eta_**2 / 2 * g**2               # (14)
assert sp.simplify(lhs - rhs) == 0
assert sp.simplify(rhs - (L + (K_ / 2 * eta_**2 - eta_) * g**2)) == 0     # (14) = (15)
print("L(x - eta L'(x)) =", sp.factor(lhs), "  = (14) = (15) for L = K x^2/2")

# %% [markdown]
# Numerically, on an interaction potential with its $K$ (Proposition 2): the loss after a gradient step never exceeds the bound
# (14), for 200 step sizes in $(0, 3/K)$.

# %%
potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=-1.0, s=0.8))
X = np.random.default_rng(10).normal(size=(10, 2))
K = potential.smoothness_constant(len(X))
Lx, gx = potential.value(X), potential.gradient(X)
gn2 = float(np.sum(gx * gx))
etas = np.linspace(0.0, 3.0 / K, 201)[1:]
actual = np.array([potential.value(X - e * gx) for e in etas])
bound = Lx + (K / 2 * etas**2 - etas) * gn2
assert np.all(actual <= bound + 1e-12 * (1 + abs(Lx)))
print(f"K = {K:.4f}; largest (actual - bound) over the grid: {np.max(actual - bound):.3e} (<= 0)")

# %% [markdown]
# ## Step 2: the optimal step of the bound, and the stable range
#
# `step_sizes` minimises $\phi(\eta) = \frac K2\eta^2 - \eta$ (eq. 15 per $\|\nabla L\|^2$): the minimiser is $\eta^* = 1/K$ with decrease
# $\|\nabla L\|^2/(2K)$; the bound guarantees a decrease exactly for $0 < \eta < 2/K$, and gradient descent on $Kx^2/2$ is stable
# ($|1 - \eta K| < 1$) exactly there: "differs only by a constant factor from the classical upper bound".

# %%
res = step_sizes()
assert res.holds
Ks = sp.Symbol("K", positive=True)
assert sp.simplify(res.eta_star - 1 / Ks) == 0 and sp.simplify(res.optimal_decrease + 1 / (2 * Ks)) == 0
assert res.decrease_interval == sp.Interval.open(0, 2 / Ks) == res.stability_interval
print(res)

# %% [markdown]
# With the $K$ derived from a Hessian: the quadratic loss of $n = 3$ neurons ($K = a + 3b$) and the two-neuron sigmoid model.

# %%
for K_expr in (hessian_constant(quadratic_loss(3)).K, sigmoid_pair_constant().K):
    r = step_sizes(K_expr)
    assert r.holds and sp.simplify(r.eta_star * r.K - 1) == 0 and sp.simplify(r.stability_bound - 2 * r.eta_star) == 0
    print(f"K = {r.K}:  eta* = {r.eta_star},  2/K = {r.stability_bound}")

# %% [markdown]
# ## The optimal step *is* the topological critical point
#
# For the centering loss $L = \frac{K}{2n}\sum_{i<j}\|\boldsymbol x_i - \boldsymbol x_j\|^2$ (Hessian eigenvalues $0$ and $K$) the exact loss
# after one step is $(1 - \eta K)^2 L$: minimal, zero, at $\eta = 1/K$, the step at which all neurons merge (Lemma 3 fails).
# The loss-optimal step destroys the topology.

# %%
Kc = 2.0
cen = inv.centering_rule(Kc)
Xc = inv.FiniteCollection(X)
loss_c = cen.loss
L0 = loss_c.value(Xc.points)
grid = np.linspace(0.0, 2.0 / Kc, 81)[1:]
after = np.array([loss_c.value(cen.step(Xc, e).points) for e in grid])
assert np.allclose(after, (1 - grid * Kc) ** 2 * L0, rtol=1e-9, atol=1e-12)
best = grid[np.argmin(after)]
assert math.isclose(best, 1 / Kc) and after.min() < 1e-20
b = inv.bijectivity(cen, Xc, best, Kc)
assert not b.bijective and b.n_after == 1
print(f"best step on the grid: {best} = 1/K; loss after it {after.min():.1e}; points after the step: {b.n_after}")

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Generated potentials and collections: the bound (14) holds at 25 step sizes in $(0, 3/K]$, and the bound's minimiser over the
# grid is the grid point nearest $1/K$.

# %%
gaps = []

@cases(40)
@given(ist.finite_collections(min_size=1, max_size=8), ist.interaction_potentials())
def remark(X, potential):
    x = X.points
    K = potential.smoothness_constant(X.n)
    assume(K > 0)                           # a single neuron with only a pair term: L is constant
    L0, g = potential.value(x), potential.gradient(x)
    gn2 = float(np.sum(g * g))
    es = np.linspace(0, 3 / K, 26)[1:]
    drop = (K / 2 * es**2 - es) * gn2       # the bound's change from L0 (its minimiser, without L0's round-off)
    bound = L0 + drop
    actual = np.array([potential.value(x - e * g) for e in es])
    assert np.all(actual <= bound + 1e-9 * (1 + abs(L0) + gn2 / K))
    if gn2 > np.finfo(float).tiny:          # a gradient of norm ~1e-9 leaves L0 + drop flat in float64
        assert math.isclose(es[np.argmin(drop)], es[np.argmin(np.abs(es - 1 / K))])
    gaps.append(float(np.max(actual - bound)))

remark()
print(f"{len(gaps)} cases, largest (actual - bound) = {max(gaps):.2e}")

# %% [markdown]
# ## Dropping the hypothesis
#
# **$K$ smaller than the true smoothness constant.** The centering loss has $K = 2$; claiming $K = 1$ makes (14) false at
# $\eta = 1.5$, where the true loss *increases* ($(1 - 3)^2 = 4$ times larger) while the "bound" promises a decrease.

# %%
gc = loss_c.gradient(Xc.points)
gc2 = float(np.sum(gc * gc))
e = 1.5
after_c = loss_c.value(Xc.points - e * gc)
fake_bound = L0 + (1.0 / 2 * e**2 - e) * gc2
assert after_c > fake_bound and math.isclose(after_c, (1 - e * Kc) ** 2 * L0, rel_tol=1e-9)
print(f"eta = {e}: L after = {after_c:.4f} > claimed bound {fake_bound:.4f}  (L before = {L0:.4f})")


# %% [markdown]
# **No Lipschitz gradient.** For $L = \frac23|x|^{3/2}$ no $K$ exists; for any $K$ there is an $x$ close to $0$ where (14) fails.

# %%
def L32(x):
    return 2 / 3 * abs(x) ** 1.5

for K_try in (1.0, 10.0, 100.0):
    x0 = 0.25 / K_try**2                      # where the curvature |x|^(-1/2)/2 exceeds K
    g0 = math.copysign(math.sqrt(abs(x0)), x0)
    e = 1 / K_try
    after32, bound32 = L32(x0 - e * g0), L32(x0) + (K_try / 2 * e**2 - e) * g0**2
    assert after32 > bound32
    print(f"K = {K_try:5}: at x = {x0:.2e}, L(x - g/K) = {after32:.3e} > bound {bound32:.3e}")

# %% [markdown]
# ## Figure (cf. the paper's Figure 2)
#
# The bound (15) per $\|\nabla L\|^2$ and the actual loss change of the interaction potential above, against $\eta K$: the bound is
# minimal at $\eta^* = 1/K$ (the topological critical point) and guarantees a decrease up to $2/K$.

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.plot(etas * K, (bound - Lx) / gn2 * K, "k-", label="bound (15): (K eta^2/2 - eta) ||g||^2")
ax.plot(etas * K, (actual_grid := np.array([potential.value(X - e_ * gx) for e_ in etas]) - Lx) / gn2 * K, "-",
        color="tab:blue", label="actual L(x - eta g) - L(x)")
assert np.all(actual_grid <= bound + 1e-12 * (1 + abs(Lx)))
ax.axvline(1.0, color="tab:green", label="eta* = 1/K (topological critical point)")
ax.axvline(2.0, color="tab:red", ls="--", label="2/K (stable step sizes end)")
ax.axhline(0.0, color="0.6", lw=0.8)
ax.set_xlabel("eta K"); ax.set_ylabel("loss change x K / ||g||^2"); ax.legend(fontsize=8)
plt.show()
