"""Update rules (eq. 4), gradient descent on symmetric losses (Section 5.1), negative controls."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invariance import (
    CircleBase,
    FiniteCollection,
    FunctionRule,
    GradientDescent,
    HarmonicPair,
    IndexBiasedRule,
    InteractionPotential,
    LazyCollection,
    PointwiseRule,
    Quadratic,
    centering_rule,
    difference_norm,
)
from invariance import strategies as ist


@pytest.mark.parametrize("eta", [0.0, -1.0, float("nan"), float("inf")])
def test_step_refuses_bad_eta(eta):
    with pytest.raises(ValueError, match="eta"):
        centering_rule(1.0).step(FiniteCollection([[0.0]]), eta)


def test_step_refuses_bad_t_and_bad_rule_output():
    X = FiniteCollection([[0.0], [1.0]])
    with pytest.raises(ValueError, match="t must be"):
        centering_rule(1.0).step(X, 0.1, t=-1)
    with pytest.raises(ValueError, match="shape"):
        FunctionRule(lambda x: x[:1]).update(X)
    with pytest.raises(ValueError, match="NaN or inf"):
        FunctionRule(lambda x: np.full_like(x, np.nan)).update(X)
    with pytest.raises(TypeError, match="finite collections only"):
        FunctionRule(lambda x: x).update(LazyCollection(CircleBase()))
    with pytest.raises(ValueError, match="K must be"):
        centering_rule(0.0)


@given(ist.finite_collections(), ist.symmetric_rules(), st.floats(1e-3, 1.0))
def test_step_is_x_plus_eta_u(X, rule, eta):
    U = rule.update(X).points
    assert np.allclose(rule.step(X, eta).points, X.points + eta * U)


@settings(max_examples=50)
@given(ist.finite_collections(max_size=5), ist.interaction_potentials())
def test_gradient_matches_finite_differences(X, loss):
    x = X.points
    grad = loss.gradient(x)
    h = 1e-6
    fd = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        fd[idx] = (loss.value(x + e) - loss.value(x - e)) / (2 * h)
    assert np.allclose(grad, fd, atol=1e-5 * (1 + np.abs(grad).max()))


def _hessian(loss, x, h=1e-5):
    flat = x.reshape(-1)
    H = np.zeros((flat.size, flat.size))
    for k in range(flat.size):
        e = np.zeros_like(flat)
        e[k] = h
        gp = loss.gradient((flat + e).reshape(x.shape)).reshape(-1)
        gm = loss.gradient((flat - e).reshape(x.shape)).reshape(-1)
        H[:, k] = (gp - gm) / (2 * h)
    return 0.5 * (H + H.T)


@settings(max_examples=50)
@given(ist.finite_collections(min_size=2, max_size=5), ist.interaction_potentials())
def test_smoothness_constant_bounds_the_hessian(X, loss):
    lam = np.max(np.abs(np.linalg.eigvalsh(_hessian(loss, X.points))))
    K = loss.smoothness_constant(X.n)
    assert lam <= K * (1 + 1e-6) + 1e-6


@given(st.integers(2, 8), st.integers(1, 3), st.floats(0.1, 3), st.floats(0.1, 3))
def test_smoothness_constant_is_exact_for_quadratic_potentials(n, d, a, b):
    loss = InteractionPotential(Quadratic(a), HarmonicPair(b))
    x = np.random.default_rng(n).normal(size=(n, d))
    lam = np.max(np.abs(np.linalg.eigvalsh(_hessian(loss, x))))
    assert math.isclose(lam, loss.smoothness_constant(n), rel_tol=1e-6)


@given(ist.finite_collections(min_size=2), st.floats(0.1, 10.0), st.floats(0.01, 0.99))
def test_centering_rule_contracts_every_pair_by_exactly_one_minus_eta_k(X, K, frac):
    eta = frac / K
    Y = centering_rule(K).step(X, eta).points
    before = X.points[:, None] - X.points[None]
    after = Y[:, None] - Y[None]
    assert np.allclose(after, (1 - eta * K) * before, atol=1e-9 * (1 + np.abs(before).max()))


def test_centering_rule_merges_every_neuron_at_the_critical_point():
    X = FiniteCollection(np.random.default_rng(0).normal(size=(20, 3)))
    Y = centering_rule(4.0).step(X, eta=0.25).points
    assert np.allclose(Y, X.points.mean(axis=0), atol=1e-12)


@given(ist.lazy_collections(), ist.symmetric_rules(), st.floats(1e-3, 0.5))
def test_lazy_gradient_descent_maps_lazy_to_lazy_and_matches_the_mean_field(X, rule, eta):
    Y = rule.step(X, eta)
    assert isinstance(Y, LazyCollection) and Y.support == X.support
    idx = np.arange(10)
    idx = np.union1d(idx, np.array(X.support, dtype=np.int64))
    atoms = X.base.atoms(rule.quadrature)
    expected = X.entries(idx) - eta * rule.loss.mean_field_gradient(X.entries(idx), atoms)
    assert np.allclose(Y.entries(idx), expected)
    # two lazy collections on one base stay on one base: their distance stays finite
    Z = LazyCollection(X.base, {0: [0.0] * X.dim})
    assert difference_norm(rule.step(Z, eta), Y) < math.inf


def test_pointwise_and_index_biased_rules_on_lazy_collections():
    X = LazyCollection(CircleBase(), {0: [0.5, 0.5]})
    flow = PointwiseRule(lambda x: -x)
    assert np.allclose(flow.update(X).entries([0, 5]), -X.entries([0, 5]))
    biased = IndexBiasedRule(flow, index=0, push=[1.0, 0.0])
    U = biased.update(X)
    assert np.allclose(U[0], -X[0] + [1.0, 0.0]) and np.allclose(U[5], -X[5])
    with pytest.raises(ValueError, match="push"):
        IndexBiasedRule(flow, push=[1.0, 2.0, 3.0]).update(X)


def test_gradient_descent_validates_its_loss():
    with pytest.raises(TypeError, match="gradient"):
        GradientDescent(object())
    with pytest.raises(ValueError, match="site term"):
        InteractionPotential()


def test_long_lazy_trajectories_are_linear_in_time_and_exact():
    """A 1500-step trajectory of infinitely many neurons: no recursion limit, no
    re-evaluation of earlier steps, and each neuron moves in the mean field of the base."""
    rule = GradientDescent(InteractionPotential(Quadratic(0.5), HarmonicPair(1.0)), quadrature=16)
    X = LazyCollection(CircleBase(), {0: [1.5, 0.0]})
    eta, steps = 0.05, 1500
    traj = rule.trajectory(X, eta, steps)
    far = 10**9
    atoms = CircleBase()(np.arange(16))
    rows = np.vstack([atoms, X.entries([0, far])])
    for _ in range(steps):
        rows = rows - eta * rule.loss.mean_field_gradient(rows, rows[:16])
    assert np.allclose(traj[-1].entries([0, far]), rows[16:], rtol=1e-12, atol=1e-12)
    # rebuilding the same trajectory gives the very same bases (interned): O(1) equality
    assert rule.trajectory(X, eta, steps)[-1].base is traj[-1].base
