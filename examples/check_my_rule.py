"""Check your own update rule against the paper's hypotheses and statements.

Write the rule as a function of the (n, D) array of neurons, then ask: is it
permutation-equivariant (P1)? how large is its K (P2-K)? is it smooth (P3)? and, for a
step size eta, do Lemma 2 and Theorem 1 hold? A rule that singles out one neuron is
caught, with the smallest counterexample (a transposition).

Run: python examples/check_my_rule.py
"""

import numpy as np

from invariance import FiniteCollection, FunctionRule
from invariance.properties import continuity_constant, equivariance_error, smoothness_violation
from invariance.statements import bi_lipschitz_ratios, homeomorphism


def attention_like(x: np.ndarray) -> np.ndarray:
    """Each neuron moves towards a softmax-weighted average of all neurons: equivariant."""
    scores = -0.5 * np.sum((x[:, None] - x[None]) ** 2, axis=-1)
    w = np.exp(scores - scores.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return w @ x - x


def leader_follower(x: np.ndarray) -> np.ndarray:
    """Every neuron follows neuron 0: not equivariant."""
    return x[0] - x


rng = np.random.default_rng(0)
X = FiniteCollection(rng.normal(size=(10, 2)))

for rule in (FunctionRule(attention_like, name="attention-like"), FunctionRule(leader_follower, name="leader")):
    print(f"== {rule.name}")
    p1 = equivariance_error(rule, X, seed=0)
    print(p1 if not p1.passed else f"P1 holds (worst error {p1.worst:.2e} over {p1.trials} permutations)")
    k = continuity_constant(rule, X, seed=0)
    print(f"P2-K: K >= {k.worst:.4f} (largest ratio over {k.trials} pairs)")
    p3 = smoothness_violation(rule, X, seed=0)
    print(f"P3: {'smooth' if p3.passed else 'not C^1'} along {p3.trials} lines")
    if p1.passed:
        K = 1.05 * k.worst  # a margin over the measured lower bound of K
        for eta in (0.5 / K, 0.9 / K):
            lip = bi_lipschitz_ratios(rule, X, eta, K)
            hom = homeomorphism(rule, X, eta, K)
            print(
                f"eta*K = {eta * K:.2f}: ratios in [{lip.min_ratio:.3f}, {lip.max_ratio:.3f}] "
                f"within [{lip.lower_bound:.3f}, {lip.upper_bound:.3f}]: {lip.holds}; homeomorphism: {hom.holds}"
            )
    print()
