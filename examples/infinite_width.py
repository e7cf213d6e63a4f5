"""Infinitely many neurons: a lazily evaluated dense circle under a mean-field rule.

The collection has one neuron per natural number, filling the unit circle densely, plus
a few neurons moved by hand (overrides). Gradient descent on a mean-field interaction
potential acts on it exactly: the mean field is a property of the base, which finitely
many overrides do not change. A permutation of finite support (even one that swaps
neuron 0 with neuron 10^12) commutes with the rule, while a rule that pulls every
neuron towards neuron 0 does not, and changes infinitely many updates when neuron 0
moves: P2-K fails for it, and the altered property P2' (Appendix D) still measures it.

Run: python examples/infinite_width.py
"""

import numpy as np

from invariance import (
    AnchoredRule,
    CircleBase,
    FinitaryPermutation,
    GaussianPair,
    GradientDescent,
    InteractionPotential,
    LazyCollection,
    Quadratic,
    difference_norm,
)
from invariance.properties import altered_continuity_constant, continuity_constant, equivariance_error
from invariance.statements import bi_lipschitz_ratios

X = LazyCollection(CircleBase(1.0), {0: [1.4, 0.0], 7: [0.0, 0.6]})
rule = GradientDescent(InteractionPotential(site=Quadratic(0.5), pair=GaussianPair(c=1.0, s=0.7)), quadrature=1024)
K = rule.smoothness_constant(None)  # K for lazily infinite collections
print(f"mean-field GD, K = {K:.3f}")

P = FinitaryPermutation.transposition(0, 10**12)
lhs = P.act(rule.update(X))
rhs = rule.update(P.act(X))
print(f"||P U(X) - U(P X)|| = {difference_norm(lhs, rhs):.3e} (exact: both sides share a base)")
print(equivariance_error(rule, X, seed=0).passed and "P1 holds on sampled finitary permutations")

eta = 0.5 / K
trajectory = rule.trajectory(X, eta, steps=5)
for t, Xt in enumerate(trajectory):
    print(f"t = {t}: neuron 0 at {np.round(Xt[0], 4)}, neuron 10^12 at {np.round(Xt[10**12], 4)}")
print(bi_lipschitz_ratios(rule, X, eta, K))

anchored = AnchoredRule(rule, strength=1.0, anchor=0)
print()
print(f"anchored rule: P1 holds? {equivariance_error(anchored, X, seed=0).passed}")
print(f"anchored rule: P2-K estimate {continuity_constant(anchored, X, seed=0).worst}")
print(f"anchored rule: P2' estimate {altered_continuity_constant(anchored, X, seed=0).worst:.3f}")
