"""What the theory does not say, shown by computation (``proofs/README.md``, "Limits").

1. Theorem 1 is a statement about one step. Over T steps the distortion compounds like
   ``(1 +- eta K)^T``, so the fixed-scale Betti numbers of a finite sample can change while
   every single step is a homeomorphism with ``eta K < 1``.
2. Adam (stateless form) is P1 (Proposition 3) but not P2-K with a usable K: its Lemma 4
   lower bound grows like ``1/eps`` near ``g = 0``.
3. ``lambda_max`` of the Hessian is dominated by the collective mode (all neurons of a layer
   moving alike), which cancels in the differences ``x_i - x_j`` that Lemma 2 bounds.
"""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

import invariance as inv
from invariance.potentials import InteractionPotential, Quadratic
from invariance.topology import betti_numbers
from invariance.torch import relative_sharpness


def squeeze_rule(K):
    """``U_i = -K <x_i - mean(X), e_2> e_2``: P1, and P2-K with constant K (the mean is 1-Lipschitz)."""
    e2 = np.array([0.0, 1.0])
    return inv.FunctionRule(lambda P: -K * (P - P.mean(axis=0)) * e2)


def test_per_step_homeomorphisms_compound_and_fixed_scale_betti_numbers_change_below_eta_star():
    n, K = 60, 2.0
    eta = 0.5 / K  # eta K = 0.5 < 1: every step is a homeomorphism (Theorem 1)
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    X0 = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    rule = squeeze_rule(K)
    X, betti = X0, [betti_numbers(X0, max_dim=1)]
    for _ in range(4):
        assert inv.homeomorphism(rule, X, eta, K).holds  # each step: Lip <= 1 + eta K, Lip^-1 <= 1/(1 - eta K)
        X = rule.step(inv.FiniteCollection(X), eta).points
        betti.append(betti_numbers(X, max_dim=1))
    assert betti[0] == (1, 1)  # a circle at diam/4
    assert betti[-1] == (1, 0)  # the hole is gone at diam/4: the finite sample's fixed-scale reading changed
    ratios = pdist(X) / pdist(X0)
    assert ratios.min() == pytest.approx((1 - eta * K) ** 4, rel=1e-9)  # the per-step bound, compounded
    assert ratios.min() < 1 - eta * K  # one step's bound does not hold over four


def test_the_same_steps_with_a_rigid_rule_keep_the_betti_numbers():
    """Control: a rule with U = 0 on differences (a translation) changes nothing."""
    angle = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    X = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    rule = inv.FunctionRule(lambda P: np.ones_like(P))
    Y = X
    for _ in range(4):
        Y = rule.step(inv.FiniteCollection(Y), 0.25).points
    assert betti_numbers(Y, max_dim=1) == betti_numbers(X, max_dim=1) == (1, 1)


@pytest.mark.parametrize("eps", [1e-2, 1e-4, 1e-6])
def test_adam_is_p1_but_its_lemma4_constant_grows_like_one_over_eps(eps):
    loss = InteractionPotential(Quadratic())
    adam = inv.StatelessOptimizer(loss, inv.adam(eps=eps), learning_rate=0.1)
    X = adam.augment(inv.FiniteCollection([[eps], [-eps], [1.0]]))  # two neurons where g is about eps
    assert inv.equivariance_error(adam, X).passed  # Proposition 3: P1
    K_lb = inv.continuity_lower_bound(adam, X)
    assert 0.4 < K_lb * eps < 0.6  # Lemma 4: any P2-K constant of Adam here is >= 1/(2 eps)
    sgd = inv.StatelessOptimizer(loss, inv.sgd(), learning_rate=0.1)  # control: GD's constant does not move
    assert inv.continuity_lower_bound(sgd, sgd.augment(inv.FiniteCollection([[eps], [-eps], [1.0]]))) == \
        pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(3))
def test_lambda_max_is_the_collective_mode_not_the_relative_one(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.Sigmoid(), torch.nn.Linear(64, 1)).double()
    x, y = torch.randn(256, 3, dtype=torch.float64), torch.randn(256, 1, dtype=torch.float64)
    r = relative_sharpness(lambda: torch.nn.functional.mse_loss(model(x), y), model, collective=True)
    assert r.converged
    assert r.K_collective > 0.8 * r.lambda_max  # lambda_max is (almost) the collective mode's
    assert r.K_rel < 0.1 * r.lambda_max  # the constant Lemma 2 needs is more than ten times smaller
