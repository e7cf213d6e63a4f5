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
# # Propositions 1 and 2 (gradient descent satisfies P1 and P2-K)
#
# *Section 5.1 of the paper; proofs in Appendices A.6 and A.7.*
#
# A loss $L : (\mathbb{R}^D)^I \to \mathbb{R}$ and the gradient descent update
# $$U^{(t)}(\mathcal{X}) = -\nabla L(\mathcal{X}). \tag{10}$$
#
# > **Proposition 1.** If $L$ has $\mathsf{FSym}(I)$-symmetry, i.e.
# > $$\forall \mathcal{X} \in (\mathbb{R}^D)^I, \forall P \in \mathsf{FSym}(I), L(\mathcal{X}) = L(P\mathcal{X}), \tag{11}$$
# > then $U^{(t)}$ defined in (10) satisfies P1.
#
# > **Proposition 2.** If there exists a constant $K > 0$, such that for any $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$ and any
# > $i \in I$, we have
# > $$\|\nabla L(\mathcal{X}) - \nabla L(\mathcal{Y})\| \le K \|\mathcal{X} - \mathcal{Y}\|, \tag{12}$$
# > then $U^{(t)}$ defined in (10) satisfies P2-K.
#
# Library: symbolically `invariance.symbolic.symbolic_equivariance` (every transposition of $n$ symbolic neurons) and
# `hessian_constant` / `sigmoid_pair_constant` ($K$ from the Hessian); numerically `inv.GradientDescent` with
# `inv.equivariance_error` and `inv.check_continuity`, and `InteractionPotential.smoothness_constant`.

# %% [markdown]
# ## Setup
#
# Only the public API: `import invariance as inv`, `invariance.strategies`, `invariance.symbolic`, `invariance.topology`;
# and `cases(n)` (derandomized hypothesis settings) from `notebook_setup.py` beside the notebooks.

# %%
import math

import numpy as np
import matplotlib.pyplot as plt
from hypothesis import given

import invariance as inv
from invariance import strategies as ist
from notebook_setup import cases

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})

import sympy as sp
from invariance.symbolic import (gradient_descent, hessian_constant, interaction_loss, ordered_pair_loss,
                                 power_sum_loss, quadratic_loss, sigmoid_pair_constant, sigmoid_pair_loss,
                                 stateless_form, symbolic_equivariance, weighted_loss)

# %% [markdown]
# ## Proof of Proposition 1, symbolically (eqs. 47-51)
#
# It suffices to show $P\nabla L(\mathcal{X}) = \nabla L(P\mathcal{X})$ (47). $P$ has finite support $J$ (48); $L_J$ is $L$ as a
# function of the entries in $J$ (49), and the symmetry reads $L_J(\mathcal{Y}) = L_J(P_J\mathcal{Y})$ (50). Differentiating gives
# $\nabla L_J(\mathcal{Y}) = P_J^{\mathsf T}\nabla L_J(P_J\mathcal{Y})$ (51).
#
# Take the most general symmetric two-body loss of three scalar neurons,
# $L = \sum_i f(x_i) + \sum_{i<j}[g(x_i, x_j) + g(x_j, x_i)]$ with *undefined* functions $f, g$, and $P = (1\ 2)$.

# %%
loss = interaction_loss(3)
x1, x2, x3 = (p[0] for p in loss.neurons)
swap = {x1: x2, x2: x1}                                   # evaluating at P X
assert sp.simplify(loss.expr.xreplace(swap) - loss.expr) == 0           # (50): L(PX) = L(X)
grad = [g[0] for g in loss.gradient()]
perm = {0: 1, 1: 0, 2: 2}
for i in range(3):                                        # (47)/(51): grad_i L(PX) = grad_{P(i)} L(X)
    assert sp.simplify(grad[i].xreplace(swap) - grad[perm[i]]) == 0
print("L =", loss.expr)
print("dL/dx1 =", grad[0])

# %% [markdown]
# `symbolic_equivariance` runs this for every transposition (transpositions generate the symmetric group) and every row of the
# stateless form of gradient descent, on the general two-body loss, a loss in power sums, and two-dimensional neurons.

# %%
U_gd = stateless_form(gradient_descent())
for L in (interaction_loss(3), power_sum_loss(4), interaction_loss(2, d=2)):
    r = symbolic_equivariance(U_gd, L)
    assert r.holds and r.transpositions == L.n * (L.n - 1) // 2
    print(f"{L.name:40s} n = {L.n}: {r.checked} residuals simplified to 0")

# %% [markdown]
# Numerically: gradient descent on an interaction potential, on eight neurons and on infinitely many neurons filling a torus,
# with a permutation moving index $10^9$.

# %%
potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=1.0))
rule = inv.GradientDescent(potential)
X = inv.FiniteCollection(np.random.default_rng(6).normal(size=(8, 3)))
r = inv.equivariance_error(rule, X)
assert r.passed
print(f"finite: P1 holds, worst error {r.worst:.1e} over {r.trials} permutations ({r.details['mode']})")
torus = inv.LazyCollection(inv.TorusBase(), {3: [0.5, 0.2, 0.1]})
rl = inv.equivariance_error(rule, torus, permutations=[inv.FinitaryPermutation.from_cycles((3, 7, 10**9))])
assert rl.passed
print(f"lazy:   P1 holds for the cycle (3 7 10^9), worst error {rl.worst:.1e}")

# %% [markdown]
# ### Generated cases (hypothesis)
#
# Generated symmetric potentials on finite and lazily infinite collections.

# %%
worst = []

@cases(30)
@given(ist.collections(), ist.symmetric_rules())
def proposition1(X, rule):
    worst.append(inv.assert_equivariant(rule, X).worst)

proposition1()
print(f"{len(worst)} cases, worst equivariance error {max(worst):.2e}")

# %% [markdown]
# ### Dropping the hypothesis: a loss without symmetry (11)
#
# $L = \sum_{i<j} g(x_i, x_j)$ with a generic $g$, and $L = \sum_i i\, x_i^2$: the symbolic check returns a transposition and a
# residual that is not zero. Numerically, gradient descent on $\sum_i (i + 1)\|\boldsymbol{x}_i\|^2/2$ fails P1, and coincident
# neurons separate (Lemma 1's conclusion fails).

# %%
for L in (ordered_pair_loss(3), weighted_loss(3)):
    r = symbolic_equivariance(U_gd, L)
    assert not r.holds and r.counterexample["residual"] != 0
    print(f"{L.name}: transposition {r.counterexample['transposition']}, residual {r.counterexample['residual']}")


class WeightedLoss:
    """sum_i (i + 1) ||x_i||^2 / 2: neuron i weighted by its label (not FSym-symmetric)."""

    def gradient(self, points):
        return (np.arange(points.shape[0])[:, None] + 1.0) * points


weighted = inv.GradientDescent(WeightedLoss())
rw = inv.equivariance_error(weighted, X)
Xc = X.with_entries([1], [X[0]])
lw = inv.well_definedness(weighted, Xc, 0.1)
assert not rw.passed and not lw.holds
print(f"numeric: P1 fails (counterexample {rw.counterexample['permutation']}), "
      f"coincident neurons 0, 1 separate by {lw.max_separation:.3f}")

# %% [markdown]
# ## Proof of Proposition 2 (eq. 52)
#
# $\|U(\mathcal{X}) - U(\mathcal{Y})\| = \|\nabla L(\mathcal{Y}) - \nabla L(\mathcal{X})\| \le K\|\mathcal{Y} - \mathcal{X}\|$: the identity, then (12).
#
# **$K$ from the Hessian, symbolically.** For $L = \frac a2\sum_i x_i^2 + \frac b2\sum_{i<j}(x_i - x_j)^2$ the Hessian is constant
# with eigenvalues $a$ and $a + nb$, so the best $K$ in (12) is $a + nb$ (`hessian_constant`); the library's numeric constant
# for the same potential agrees.

# %%
a, b = sp.symbols("a b", positive=True)
for n in (2, 3, 4):
    res = hessian_constant(quadratic_loss(n))
    assert res.exact and sp.simplify(res.K - (a + n * b)) == 0
    numeric = inv.InteractionPotential(inv.Quadratic(1.5), inv.HarmonicPair(0.5), scaling="sum").smoothness_constant(n)
    assert math.isclose(float(res.K.subs({a: 1.5, b: 0.5})), numeric)
    print(f"n = {n}: K = {res.K}, eta* = {res.eta_star};  numeric K(a=1.5, b=0.5) = {numeric}")

# %% [markdown]
# For the two-neuron sigmoid model $L = (\sigma(w_1x) + \sigma(w_2x) - y)^2/2$ (the paper's network with two scalar neurons),
# `sigmoid_pair_constant` derives $K = x^2(1/8 + \frac{\sqrt3}{18}\max(|y|, |2 - y|))$ by Gershgorin with exact suprema. The cell
# checks it against the spectral norm of the Hessian at 2000 random points.

# %%
res = sigmoid_pair_constant()
sl = sigmoid_pair_loss()
(w1,), (w2,) = sl.neurons
xs, ys = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
H = sp.lambdify((w1, w2, xs, ys), sp.hessian(sl.expr, (w1, w2)), "numpy")
Kf = sp.lambdify((xs, ys), res.K, "numpy")
rng = np.random.default_rng(0)
ratios = []
for _ in range(2000):
    w, xx, yy = rng.normal(scale=3, size=2), rng.normal(scale=2), rng.normal(scale=2)
    ratios.append(np.linalg.norm(np.array(H(*w, xx, yy), dtype=float), 2) / Kf(xx, yy))
assert max(ratios) <= 1 + 1e-12
print("K =", res.K, f";  largest ||Hess L|| / K over 2000 points: {max(ratios):.3f}")

# %% [markdown]
# **Numerically.** Eq. (52) on random pairs, and the P2-K check with the potential's $K$ (Gershgorin bound, exact for quadratics):
# for the quadratic potential the measured constant reaches $K$ (power iteration finds the top eigenvector).

# %%
K = rule.smoothness_constant(X.n)
rng = np.random.default_rng(7)
for _ in range(20):
    Y = inv.FiniteCollection(X.points + rng.normal(scale=0.3, size=X.points.shape))
    lhs = inv.difference_norm(rule.update(X), rule.update(Y))
    grad_diff = np.linalg.norm(potential.gradient(Y.points) - potential.gradient(X.points))
    assert math.isclose(lhs, grad_diff, rel_tol=1e-12) and lhs <= K * inv.difference_norm(X, Y)
assert inv.check_continuity(rule, X, K).passed
quad = inv.GradientDescent(inv.InteractionPotential(inv.Quadratic(1.5), inv.HarmonicPair(0.5)))
Kq = quad.smoothness_constant(X.n)
est = inv.continuity_constant(quad, X).worst
assert est <= Kq * (1 + 1e-9) and est >= 0.999 * Kq
print(f"log-cosh + Gaussian: K = {K}, measured {inv.continuity_constant(rule, X).worst:.4f};  "
      f"quadratic: K = {Kq}, measured {est:.6f}")

# %% [markdown]
# ### Generated cases (hypothesis)
#
# Generated potentials with their stated $K$: the P2-K check (random sparse perturbations, transposition pairs, power
# iteration) never finds a ratio above $K$.

# %%
ratios = []

@cases(40)
@given(ist.finite_collections(min_size=2), ist.symmetric_rules())
def proposition2(X, rule):
    K = rule.smoothness_constant(X.n)
    r = inv.assert_continuity(rule, X, K, n_pairs=16, power_steps=4)
    ratios.append(r.worst / K)

proposition2()
print(f"{len(ratios)} cases, largest measured constant / K = {max(ratios):.4f}")

# %% [markdown]
# ### Dropping the hypothesis: a gradient that is not Lipschitz (12)
#
# $L = \frac23\sum_i |x_i|^{3/2}$ is symmetric, so P1 holds, but its gradient $\operatorname{sign}(x)\sqrt{|x|}$ is not Lipschitz at 0:
# for two neurons at $\pm\delta$ the measured continuity constant grows like $\delta^{-1/2}$ (the transposition pair of
# Lemma 4's proof gives exactly $1/\sqrt\delta$), and no $K$ works.

# %%
sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)), name="GD on 2/3 |x|^(3/2)")
distances = np.logspace(-1, -5, 9)
estimates = []
for dist in distances:
    Xs = inv.FiniteCollection([[-dist], [dist], [1.0]])
    assert inv.equivariance_error(sqrt_rule, Xs).passed
    # refine_budget=0: the constant seen by pairs at X's own scale (the bisection would walk
    # toward 0, where sqrt is not Lipschitz, and report a large ratio at every distance)
    estimates.append(inv.continuity_constant(sqrt_rule, Xs, refine_budget=0).worst)
assert all(b > a for a, b in zip(estimates, estimates[1:]))
assert all(est >= 1 / math.sqrt(dd) * (1 - 1e-9) for dd, est in zip(distances, estimates))
assert not inv.check_continuity(sqrt_rule, inv.FiniteCollection([[-1e-5], [1e-5], [1.0]]), 100.0).passed
for dist, est in zip(distances, estimates):
    print(f"neurons at +-{dist:.0e}: measured K >= {est:8.1f}   (1/sqrt(delta) = {1 / math.sqrt(dist):8.1f})")

# %% [markdown]
# ## Figure: the continuity constant with and without (12)
#
# The measured constant of P2-K at collections with two neurons at $\pm\delta$: bounded by $K$ for the smooth
# potential (log-cosh, $K = 1$), growing like $\delta^{-1/2}$ when (12) fails.

# %%
smooth = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0)))
smooth_est = [inv.continuity_constant(smooth, inv.FiniteCollection([[-dd], [dd], [1.0]])).worst for dd in distances]
assert max(smooth_est) <= 1.0 + 1e-9
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(distances, estimates, "o-", label="GD on (2/3)|x|^(3/2): gradient not Lipschitz")
ax.loglog(distances, smooth_est, "s-", label="GD on log cosh: K = 1")
ax.loglog(distances, 1 / np.sqrt(distances), "k:", label="delta^(-1/2)")
ax.set_xlabel("neurons at +-delta"); ax.set_ylabel("measured continuity constant")
ax.invert_xaxis(); ax.legend(fontsize=8); ax.set_title("Proposition 2 needs a Lipschitz gradient (12)")
plt.show()
