"""Stateless forms of momentum and Adam (Section 5.2, eq. 16) against torch.optim."""

import numpy as np
import pytest
import torch
from _torch_reference import LOSS, torch_optim_trajectory
from hypothesis import given, settings
from hypothesis import strategies as st

from invariance import (
    CircleBase,
    FiniteCollection,
    GaussianPair,
    InteractionPotential,
    LazyCollection,
    LogCosh,
    StatelessOptimizer,
    adam,
    momentum,
    sgd,
)
from invariance import strategies as ist

CASES = [
    (sgd(), lambda ps, lr: torch.optim.SGD(ps, lr=lr)),
    (momentum(0.9), lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9)),
    (momentum(0.5, nesterov=True), lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.5, nesterov=True)),
    (adam(), lambda ps, lr: torch.optim.Adam(ps, lr=lr)),
    (adam(0.8, 0.99, 1e-6), lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=(0.8, 0.99), eps=1e-6)),
]


@settings(max_examples=20)
@given(ist.finite_collections(min_size=2, max_size=6), st.sampled_from(range(len(CASES))), st.floats(1e-3, 0.2))
def test_stateless_form_reproduces_torch_optim_step_by_step(X, case, lr):
    transform, make = CASES[case]
    rule = StatelessOptimizer(LOSS, transform, learning_rate=lr)
    Z = rule.augment(X)
    reference = torch_optim_trajectory(X.points, make, lr, steps=15)
    worst = 0.0
    for t, ref in enumerate(reference):
        Z = rule.step(Z, lr, t)
        worst = max(worst, float(np.max(np.abs(rule.parameters(Z).points - ref))))
    assert worst <= 1e-10 * (1 + np.abs(X.points).max())


def test_printed_eq16_is_adam_one_step_late():
    """Eq. (16) uses the old moments with exponent t: its step t+1 is Adam's step t."""
    X = FiniteCollection(np.random.default_rng(1).normal(size=(5, 2)))
    lr = 0.05
    exact = StatelessOptimizer(LOSS, adam(), lr)
    paper = StatelessOptimizer(LOSS, adam(variant="paper"), lr)
    Z = exact.augment(X)
    with pytest.raises(ValueError, match="t = 0"):
        paper.update(Z, t=0)
    for t in range(5):
        Z_next = exact.step(Z, lr, t)
        theta_step_exact = exact.parameters(Z_next).points - exact.parameters(Z).points
        # eq. (16) at time t+1 sees the moments Adam produced at step t
        u_paper = paper.update(Z_next, t=t + 1).points[:, :2]
        assert np.allclose(lr * u_paper, theta_step_exact, rtol=1e-10, atol=1e-14)
        # ...and differs from Adam's own update at t+1
        u_exact = exact.update(Z_next, t=t + 1).points[:, :2]
        assert not np.allclose(u_paper, u_exact)
        Z = Z_next


def test_stateless_rule_refuses_another_step_size_and_bad_particles():
    rule = StatelessOptimizer(LOSS, momentum(), learning_rate=0.1)
    Z = rule.augment(FiniteCollection([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="learning_rate"):
        rule.step(Z, 0.2)
    with pytest.raises(ValueError, match="augmented particles"):
        rule.update(FiniteCollection([[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="learning_rate"):
        StatelessOptimizer(LOSS, adam(), learning_rate=0.0)
    with pytest.raises(ValueError, match="b1"):
        adam(b1=1.0)
    with pytest.raises(ValueError, match="eps"):
        adam(eps=0.0)


def test_stateless_optimizer_on_lazy_collections():
    lr = 0.1
    rule = StatelessOptimizer(InteractionPotential(LogCosh(1.0), GaussianPair(1.0, 1.0)), adam(), lr, quadrature=256)
    X = rule.augment(LazyCollection(CircleBase(), {3: [2.0, 0.0]}))
    assert X.dim == 6 and X.support == (3,)
    Y = rule.step(rule.step(X, lr, 0), lr, 1)
    assert isinstance(Y, LazyCollection) and Y.support == (3,)
    theta = rule.parameters(Y)
    assert theta.dim == 2
    # an un-overridden neuron moves as the base does: compare to a finite computation
    atoms = CircleBase().atoms(256)
    g0 = rule.loss.mean_field_gradient(X.entries([5])[:, :2], atoms)
    assert np.allclose(rule.step(X, lr, 0)[5][2:4], 0.1 * g0[0])  # m_1 = (1 - b1) g


TRANSFORMS = st.sampled_from([momentum(0.9), momentum(0.5, nesterov=True), adam(), adam(variant="paper")])


@settings(max_examples=100)
@given(ist.finite_collections(min_size=2, max_size=7), ist.interaction_potentials(), TRANSFORMS,
       st.integers(1, 5), st.floats(1e-3, 0.1))
def test_proposition_3_stateless_optimizers_are_equivariant(X, loss, transform, steps, lr):
    """Propositions 1 and 3: on a symmetric loss the stateless form satisfies P1 at every
    time step, with the state that earlier steps built up; pushing one neuron breaks it."""
    from invariance import IndexBiasedRule, equivariance_error

    rule = StatelessOptimizer(loss, transform, learning_rate=lr)
    Z = rule.augment(X)
    for t in range(steps):
        Z = rule.step(Z, lr, t + 1)  # t + 1: the paper's eq. (16) is undefined at t = 0
    report = equivariance_error(rule, Z, t=steps + 1, n_samples=8)
    assert report.passed, report
    broken = equivariance_error(IndexBiasedRule(rule, index=0), Z, t=steps + 1, n_samples=8)
    assert not broken.passed and len(broken.counterexample["cycles"][0]) == 2


def test_stateless_optimizer_is_equivariant_on_lazy_collections():
    from invariance import AnchoredRule, equivariance_error

    rule = StatelessOptimizer(InteractionPotential(LogCosh(1.0), GaussianPair(1.0, 1.0)), adam(), 0.05, quadrature=64)
    Z = rule.augment(LazyCollection(CircleBase(), {2: [0.3, -0.4]}))
    Z = rule.step(rule.step(Z, 0.05, 0), 0.05, 1)
    assert equivariance_error(rule, Z, t=2, n_samples=8).passed
    assert not equivariance_error(AnchoredRule(rule, 0.5, anchor=0), Z, t=2, n_samples=8).passed
