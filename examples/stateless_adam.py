"""Adam as a stateless rule on augmented neurons (Section 5.2) and the printed eq. (16).

Each particle is (theta_i, m_i, v_i). The stateless form is permutation-equivariant
(Proposition 3) because the loss is symmetric and Adam acts on each neuron alone. The
printed eq. (16) uses the old moments with exponent t: it is Adam one step late.

Run: python examples/stateless_adam.py
"""

import numpy as np

from invariance import FiniteCollection, GaussianPair, IndexBiasedRule, InteractionPotential, LogCosh
from invariance import StatelessOptimizer, adam
from invariance.properties import equivariance_error

loss = InteractionPotential(site=LogCosh(1.0), pair=GaussianPair(c=1.0, s=1.0))
lr = 0.01
opt = StatelessOptimizer(loss, adam(), learning_rate=lr)
X = opt.augment(FiniteCollection(np.random.default_rng(0).normal(size=(12, 3))))

for t in range(3):
    report = equivariance_error(opt, X, t=t, seed=t)
    print(f"t = {t}: P1 error {report.worst:.2e} over {report.trials} permutations -> {report.passed}")
    X = opt.step(X, lr, t)

broken = IndexBiasedRule(opt, index=0)
report = equivariance_error(broken, X, t=3, seed=0)
ce = report.counterexample
print(f"Adam with neuron 0 pushed: P1 {report.passed}; smallest counterexample: the transposition "
      f"{ce['cycles']}, at neuron {ce['index']}: ||(P U(X))_i - U(P X)_i|| = {ce['error']:.3g}")

paper = StatelessOptimizer(loss, adam(variant="paper"), learning_rate=lr)
X_next = opt.step(X, lr, 3)
adam_step = (opt.parameters(X_next).points - opt.parameters(X).points) / lr   # Adam's direction at t = 3
late = paper.update(X_next, t=4).points[:, :3]                                 # eq. (16) at t = 4
same_time = paper.update(X, t=3).points[:, :3]                                 # eq. (16) at t = 3
print(f"eq. (16) at t+1 vs Adam at t: max difference {np.max(np.abs(late - adam_step)):.1e} (one step late)")
print(f"eq. (16) at t   vs Adam at t: max difference {np.max(np.abs(same_time - adam_step)):.1e}")
