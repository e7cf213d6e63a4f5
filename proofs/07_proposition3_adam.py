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
# # Proposition 3 (Adam in stateless form is equivariant), and the finding about eq. (16)
#
# *Section 5.2 of the paper; proof in Appendix A.8.*
#
# The particles are $\mathcal{X}^{(t)} = \{(\boldsymbol{\theta}_i^{(t)}, \boldsymbol{m}_i^{(t)}, \boldsymbol{v}_i^{(t)})\}_{i \in I}$ (parameters and
# Adam's moment estimators), and the paper defines
#
# $$U^{(t)}: \left\{ \begin{pmatrix} \boldsymbol{\theta}_i \\ \boldsymbol{m}_i \\ \boldsymbol{v}_i \end{pmatrix} \right\}_{i \in I} \mapsto \left\{ \begin{pmatrix} -\frac{\boldsymbol{m}_i/(1-\beta_1^t)}{\epsilon + \sqrt{\boldsymbol{v}_i/(1-\beta_2^t)}} \\ \frac{1-\beta_1}{\eta} \left[ \nabla_i L(\Theta) - \boldsymbol{m}_i \right] \\ \frac{1-\beta_2}{\eta} \left[ \nabla_i L(\Theta)^2 - \boldsymbol{v}_i \right] \end{pmatrix} \right\}_{i \in I}, \tag{16}$$
#
# with $\Theta = \{\boldsymbol\theta_i\}_{i \in I}$ and elementwise operations; the paper states that "the neuron update in (16) is
# equivalent to the standard Adam rule".
#
# > **Proposition 3.** If $L$ has $\mathsf{FSym}(I)$-symmetry ((11)), then $U^{(t)}$ defined in (16) satisfies P1.
#
# **Finding.** Eq. (16) as printed is *not* `torch.optim.Adam`: its first row uses the *old* moments with exponent $t$ (it is
# $0/0$ at $t = 0$ and moves the parameter by the previous step's moments, Adam one step late). It is Adam after re-indexing
# ($t$ counted from 1, and $\boldsymbol m_i, \boldsymbol v_i$ in the first row read as the moments after this step's update).
# Proposition 3 holds for eq. (16) and for exact Adam alike. Library: `invariance.symbolic` (`adam`, `stateless_form`,
# `check_equivalence`, `printed_eq16`, `eq16_finding`, `symbolic_equivariance`, `lambdify_form`), `inv.StatelessOptimizer`.

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

import sympy as sp
import torch
from invariance.symbolic import (ETA, GRAD, THETA, T, adam, check_equivalence, eq16_finding, interaction_loss,
                                 lambdify_form, ordered_pair_loss, power_sum_loss, printed_eq16, stateless_form,
                                 symbolic_equivariance, weighted_loss)

# %% [markdown]
# ## Step 1: Adam as update equations
#
# Adam (Kingma & Ba; `torch.optim.Adam`, $t = 0$ at the first step) on one coordinate of one neuron:
# $m' = \beta_1 m + (1-\beta_1)g$, $v' = \beta_2 v + (1-\beta_2)g^2$,
# $\theta' = \theta - \eta\,\frac{m'/(1-\beta_1^{t+1})}{\sqrt{v'/(1-\beta_2^{t+1})} + \epsilon}$.

# %%
opt = adam()
print("state:", opt.state)
print("new state:", opt.new_state)
print("new theta:", opt.new_theta)
m, v = opt.state
b1, b2, eps = (s for s in opt.hyper)
assert sp.simplify(opt.new_state[0] - (b1 * m + (1 - b1) * GRAD)) == 0
assert sp.simplify(opt.new_state[1] - (b2 * v + (1 - b2) * GRAD**2)) == 0

# %% [markdown]
# ## Step 2: the stateless form, derived and proved
#
# $U_\theta = (\theta' - \theta)/\eta$, $U_m = (m' - m)/\eta$, $U_v = (v' - v)/\eta$, so that
# $x^{(t+1)} = x^{(t)} + \eta U^{(t)}(\mathcal{X})$ is one Adam step. `check_equivalence` proves it by induction: the induction step
# simplifies to zero at a *symbolic* $t$, and the first three steps are unrolled with a generic gradient oracle $G(\theta)$.

# %%
U = stateless_form(opt)
for name, row in zip(("U_theta", "U_m", "U_v"), U.components):
    print(f"{name} =", row)
eq = check_equivalence(opt, U, steps=3)
assert eq.holds and all(r == 0 for r in eq.induction_residuals) and eq.first_failure is None
print("derived form is Adam:", eq.holds, "  induction residuals:", eq.induction_residuals)

# %% [markdown]
# ## Step 3: eq. (16) as printed, decided against Adam
#
# `eq16_finding` shows: the $m, v$ rows of eq. (16) are Adam's; the $\theta$ row does not depend on the current gradient $g$
# (old moments), is undefined at $t = 0$, and differs from Adam's; evaluated at $t + 1$ on the updated moments it *is* Adam's
# $\theta$ row. The printed $P\boldsymbol v_{P(i)}$ of eqs. (53)-(55) is a typo: read literally, (53) differs from
# $U(P\mathcal X)_i$; with $\boldsymbol v_{P(i)}$ the chain is an identity.

# %%
paper = printed_eq16()
print("eq. (16), first row:", paper.components[0])
finding = eq16_finding()
assert not finding.equals_adam and finding.state_rows_agree
assert not finding.uses_current_gradient and finding.undefined_at_first_step
assert finding.reindexed_equals_adam
assert finding.equivalence.first_failure == 0
assert finding.p_v_literal_residual != 0 and finding.p_v_corrected_residual == 0
print("equals Adam:", finding.equals_adam, "| m, v rows agree:", finding.state_rows_agree,
      "| sees the current gradient:", finding.uses_current_gradient,
      "| undefined at t = 0:", finding.undefined_at_first_step,
      "| Adam after re-indexing:", finding.reindexed_equals_adam)
print("P v_{P(i)} read literally, residual:", finding.p_v_literal_residual)

# %% [markdown]
# A concrete point where they differ: $t = 3$, $m = v = 0$, $g = 1$, $\epsilon = 10^{-8}$: eq. (16) does not move ($m = 0$), Adam
# moves by $-\frac{0.1/(1 - 0.9^4)}{\epsilon + \sqrt{0.001/(1 - 0.999^4)}}$ (its first row sees $g$ through the updated moments).

# %%
point = {b1: sp.Rational(9, 10), b2: sp.Rational(999, 1000), eps: sp.Rational(1, 10**8), m: 0, v: 0, T: 3, GRAD: 1}
u16 = paper.components[0].xreplace(point)
uadam = sp.simplify(U.components[0].xreplace(point))
expected = -(sp.Rational(1, 10) / (1 - sp.Rational(9, 10) ** 4)) / (
    sp.Rational(1, 10**8) + sp.sqrt(sp.Rational(1, 1000) / (1 - sp.Rational(999, 1000) ** 4)))
assert u16 == 0 and sp.simplify(uadam - expected) == 0 and uadam != 0
print("eq. (16):", u16, "  Adam:", uadam, "=", sp.N(uadam, 8))

# %% [markdown]
# **Numerically, against `torch.optim.Adam`.** The lambdified derived form and `StatelessOptimizer(loss, adam(), lr)` follow
# torch's Adam to rounding; eq. (16) (run from $t = 1$, since it is undefined at $t = 0$) drifts away.

# %%
potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=1.0))
theta0 = np.random.default_rng(8).normal(size=(6, 2))
lr, steps = 0.05, 30

p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
torch_opt = torch.optim.Adam([p], lr=lr)
reference = []
for _ in range(steps):
    torch_opt.zero_grad()
    p.grad = torch.from_numpy(potential.gradient(p.detach().numpy().copy()))
    torch_opt.step()
    reference.append(p.detach().numpy().copy())
reference = np.array(reference)

derived = np.array(lambdify_form(U).run(potential.gradient, theta0, lr, steps))
rule = inv.StatelessOptimizer(potential, inv.adam(), learning_rate=lr)
Z = rule.augment(theta0)
library = []
for t in range(steps):
    Z = rule.step(Z, lr, t)
    library.append(rule.parameters(Z).points)
library = np.array(library)

f16 = lambdify_form(paper)
theta, state, printed = theta0, [np.zeros_like(theta0), np.zeros_like(theta0)], []
for t in range(1, steps + 1):                   # eq. (16) from t = 1
    theta, *state = f16.step(theta, state, potential.gradient(theta), t, lr)
    printed.append(theta)
printed = np.array(printed)

err_derived = np.abs(derived - reference).max(axis=(1, 2))
err_library = np.abs(library - reference).max(axis=(1, 2))
err_printed = np.abs(printed - reference).max(axis=(1, 2))
assert err_derived.max() < 1e-12 and err_library.max() < 1e-12 and err_printed.max() > 1e-3
print(f"max |derived - torch| = {err_derived.max():.1e}, max |StatelessOptimizer - torch| = {err_library.max():.1e}, "
      f"max |eq. (16) - torch| = {err_printed.max():.3f}")

# one step late: eq. (16)'s theta row at t+1, on Adam's particles after step t, is Adam's step t
paper_rule = inv.StatelessOptimizer(potential, inv.adam(variant="paper"), learning_rate=lr)
Z = rule.augment(theta0)
try:
    paper_rule.update(Z, t=0)
    raise RuntimeError("eq. (16) should be undefined at t = 0")
except ValueError as err:
    print("eq. (16) at t = 0:", err)
lag = []
for t in range(steps):
    Z_next = rule.step(Z, lr, t)
    adam_step = rule.parameters(Z_next).points - rule.parameters(Z).points
    late = lr * paper_rule.update(Z_next, t=t + 1).points[:, :2]
    lag.append(np.abs(late - adam_step).max())
    assert not np.allclose(late, lr * rule.update(Z_next, t=t + 1).points[:, :2])
    Z = Z_next
assert max(lag) < 1e-12
print(f"eq. (16) at t+1 on Adam's state after step t = Adam's step t, to {max(lag):.1e}: Adam one step late")

# %% [markdown]
# ## Step 4: the proof of Proposition 3 (eqs. 53-56), symbolically
#
# $U$ depends on $\mathcal X$ only through $\nabla_i L(\Theta)$, which is equivariant by (47); each row acts on one particle.
# `symbolic_equivariance` checks $U_i(P\mathcal X) = U_{P(i)}(\mathcal X)$ for every transposition and every row, on symmetric losses
# of symbolic neurons (general two-body loss with undefined $f, g$; power sums; 2-dimensional neurons), for exact Adam and for
# eq. (16).

# %%
for form in (U, paper):
    for L in (interaction_loss(3), power_sum_loss(3), interaction_loss(2, d=2)):
        r = symbolic_equivariance(form, L)
        assert r.holds
        print(f"{form.name:22s} on {L.name:40s}: {r.transpositions} transpositions, {r.checked} residuals = 0")

# %% [markdown]
# Numerically: the stateless Adam rule on augmented particles, after a few steps (nonzero moments), on a finite and an
# infinite collection; Lemma 1 then holds for Adam too.

# %%
r = inv.equivariance_error(rule, Z, t=steps)
assert r.passed
ring = rule.augment(inv.LazyCollection(inv.CircleBase(), {2: [0.5, -0.5]}))
Zl = ring
for t in range(3):
    Zl = rule.step(Zl, lr, t)
rl = inv.equivariance_error(rule, Zl, t=3, window=16, n_samples=8)
assert rl.passed
Zc = rule.augment(inv.FiniteCollection([[1.0, 2.0], [1.0, 2.0], [-1.0, 0.5]]))
assert inv.assert_well_defined(rule, Zc, lr).holds
print(f"P1 of stateless Adam: finite worst {r.worst:.1e}, lazy worst {rl.worst:.1e}; Lemma 1 holds on particles")

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Generated symmetric potentials, collections and optimizers (Adam, heavy-ball momentum, SGD, and eq. (16) at $t \ge 1$), a
# few steps from the zero state, then P1 at the current particles.

# %%
worst = []
transforms = st.sampled_from([("adam", inv.adam()), ("momentum", inv.momentum(0.9)), ("sgd", inv.sgd()),
                              ("eq. (16)", inv.adam(variant="paper"))])

@cases(25)
@given(ist.finite_collections(min_size=2, max_size=6), ist.interaction_potentials(), transforms,
       st.integers(1, 4), st.floats(0.001, 0.1))
def proposition3(X, potential, transform, n_steps, lr):
    name, tr = transform
    rule = inv.StatelessOptimizer(potential, tr, learning_rate=lr)
    Z = rule.augment(X)
    t0 = 1 if name == "eq. (16)" else 0
    for t in range(t0, t0 + n_steps):
        Z = rule.step(Z, lr, t)
    worst.append((name, inv.assert_equivariant(rule, Z, t=t0 + n_steps).worst))

proposition3()
for name in ("adam", "momentum", "sgd", "eq. (16)"):
    w = [e for nm, e in worst if nm == name]
    print(f"{name:9s}: {len(w):2d} cases, worst equivariance error {max(w) if w else float('nan'):.1e}")

# %% [markdown]
# ## Dropping the hypothesis: a loss without symmetry
#
# On $\sum_{i<j} g(x_i, x_j)$ (generic $g$) and $\sum_i i\,x_i^2$ the symbolic check fails for Adam and for eq. (16), and
# numerically the stateless Adam on a label-weighted loss fails P1.

# %%
for form in (U, paper):
    for L in (ordered_pair_loss(3), weighted_loss(3)):
        r = symbolic_equivariance(form, L)
        assert not r.holds and r.counterexample["residual"] != 0
        print(f"{form.name:22s} on {L.name:45s}: fails at transposition {r.counterexample['transposition']}")


class WeightedLoss:
    def gradient(self, points):
        return (np.arange(points.shape[0])[:, None] + 1.0) * points


bad = inv.StatelessOptimizer(WeightedLoss(), inv.adam(), learning_rate=lr)
rb = inv.equivariance_error(bad, bad.augment(theta0))
assert not rb.passed
print("numeric, label-weighted loss: P1", rb.passed, " counterexample", rb.counterexample["permutation"])

# %% [markdown]
# ## P1 is proved, P2-K is not: the continuity constant of stateless Adam
#
# Proposition 3 gives P1 only. The rule divides by $\sqrt{\hat v} + \epsilon$: $\partial U/\partial m = 1/(\sqrt{\hat v}+\epsilon)$
# grows to $1/\epsilon$, and the $v$-derivative $\hat m / (2\sqrt{\hat v}(\sqrt{\hat v}+\epsilon)^2)$ is unbounded as $v \to 0$.
# `continuity_constant` perturbs inside the particle's domain ($v \ge 0$, declared by the rule) and measures it.

# %%
from invariance.potentials import GaussianPair

adam_rule = inv.StatelessOptimizer(inv.InteractionPotential(pair=GaussianPair(1.0, 0.5)), inv.adam(), 0.01)
print("domain:", adam_rule.domain(6).describe())
rng_k = np.random.default_rng(0)
theta_k, m_k = rng_k.normal(size=(8, 2)), 0.1 * rng_k.normal(size=(8, 2))
K_of_v = {}
for v in (1.0, 1e-4, 1e-8, 1e-12):
    Zv = inv.FiniteCollection(np.concatenate([theta_k, m_k, np.full((8, 2), v)], axis=1))
    K_of_v[v] = inv.continuity_constant(adam_rule, Zv).worst
    print(f"v = {v:7.0e}: K_hat = {K_of_v[v]:.3g}")
assert K_of_v[1e-12] >= 100 * K_of_v[1.0]
at_rest = np.tile([[0.3, -0.2]], (8, 1))  # a stationary point: g = 0
for eps in (1e-8, 1e-4):
    rule_eps = inv.StatelessOptimizer(adam_rule.loss, inv.adam(eps=eps), 0.01)
    Z0 = inv.FiniteCollection(np.concatenate([at_rest, m_k, np.zeros((8, 2))], axis=1))
    K0 = inv.continuity_constant(rule_eps, Z0).worst
    assert K0 * eps > 1.0  # K >= 1/eps at v = 0
    print(f"g = 0, v = 0, eps = {eps:.0e}: K_hat = {K0:.3g}")

# %% [markdown]
# ## Figure: eq. (16) is Adam one step late
#
# Distance of each trajectory from `torch.optim.Adam` (same loss, same $\eta$): the derived stateless form and the library's
# `StatelessOptimizer` agree to rounding; the printed eq. (16), run on its own from $t = 1$, drifts away (its parameter row
# moves by the previous step's moments, with the bias correction of the current step).

# %%
fig, ax = plt.subplots(figsize=(7, 4))
steps_axis = np.arange(1, steps + 1)
floor = 1e-18
ax.semilogy(steps_axis, np.maximum(err_derived, floor), "o-", label="derived stateless form (lambdified)")
ax.semilogy(steps_axis, np.maximum(err_library, floor), "s--", label="inv.StatelessOptimizer(adam())")
ax.semilogy(steps_axis, err_printed, "^-", label="eq. (16) as printed (from t = 1)")
ax.set_xlabel("step"); ax.set_ylabel("max |theta - theta_torch|"); ax.legend(fontsize=8)
ax.set_title("against torch.optim.Adam (zeros shown at 1e-18)")
plt.show()
