"""Is the printed eq. (16) torch.optim.Adam? A symbolic answer with sympy, and numeric evidence.

Derives the stateless form of Adam from its update equations (Section 5.2), proves it
equals Adam (induction step at symbolic t, first steps unrolled), decides eq. (16) as
printed, proves Proposition 3 for both on a symmetric loss of three symbolic neurons, and
compares the lambdified forms with torch.optim.Adam.

Run: python examples/symbolic_adam.py
"""

import numpy as np
import torch

from invariance import GaussianPair, InteractionPotential, LogCosh
from invariance.symbolic import (
    adam,
    check_equivalence,
    eq16_finding,
    interaction_loss,
    lambdify_form,
    ordered_pair_loss,
    printed_eq16,
    stateless_form,
    symbolic_equivariance,
)

U = stateless_form(adam())
print("exact stateless Adam, U^(t) on (theta, m, v), t = 0 at the first step:")
for name, row in zip(U.particle, U.components):
    print(f"  U_{name} = {row}")
print("derived form is Adam:", check_equivalence(adam(), U, steps=3).holds)

f = eq16_finding()
print("\neq. (16) as printed equals torch.optim.Adam:", f.equals_adam)
print("  its m, v rows are Adam's:", f.state_rows_agree)
print("  its theta row sees the current gradient:", f.uses_current_gradient, "(old moments, exponent t)")
print("  undefined at t = 0 (1 - beta1^0 = 0):", f.undefined_at_first_step)
print("  equals Adam with t -> t+1 and the updated moments:", f.reindexed_equals_adam)
print("  P v_{P(i)} in (53)-(55): literal reading residual != 0:", f.p_v_literal_residual != 0,
      "| corrected residual:", f.p_v_corrected_residual)

L3 = interaction_loss(3)
for form in (U, printed_eq16()):
    ok = symbolic_equivariance(form, L3).holds
    bad = symbolic_equivariance(form, ordered_pair_loss(3)).holds
    print(f"P1 for {form.name}: symmetric loss {ok}, non-symmetric loss {bad}")

loss = InteractionPotential(LogCosh(1.0), GaussianPair(1.0, 1.0))
X = np.random.default_rng(0).normal(size=(6, 2))
lr, steps = 0.05, 10
p = torch.tensor(X, requires_grad=True)
opt = torch.optim.Adam([p], lr=lr)
reference = []
for _ in range(steps):
    opt.zero_grad()
    p.grad = torch.from_numpy(loss.gradient(p.detach().numpy().copy()))
    opt.step()
    reference.append(p.detach().numpy().copy())
exact = lambdify_form(U).run(loss.gradient, X, lr, steps)
paper = lambdify_form(printed_eq16())
theta, m, v = X, np.zeros_like(X), np.zeros_like(X)
late = []
for k in range(steps):  # eq. (16) with t counted from 1 (at t = 0 it is 0/0)
    theta, m, v = paper.step(theta, (m, v), loss.gradient(theta), t=k + 1, eta=lr)
    late.append(theta)
print(f"\nafter {steps} steps, max |theta - torch.optim.Adam|: derived form "
      f"{np.max(np.abs(exact[-1] - reference[-1])):.1e}, eq. (16) {np.max(np.abs(late[-1] - reference[-1])):.1e}")
