"""Lambdified stateless forms agree with invariance.optimizers and torch.optim on random data."""

import numpy as np
import pytest
import torch
from _torch_reference import LOSS, torch_optim_trajectory
from hypothesis import given, settings
from hypothesis import strategies as st

import invariance
from invariance import FiniteCollection, StatelessOptimizer
from invariance import strategies as ist
from invariance.symbolic import adam, gradient_descent, heavy_ball, lambdify_form, nesterov, printed_eq16, rmsprop
from invariance.symbolic import stateless_form as derive

# symbolic optimizer, its torch.optim twin, invariance.optimizers twin (None: not provided there)
CASES = {
    "gd": (gradient_descent(), lambda ps, lr: torch.optim.SGD(ps, lr=lr), invariance.sgd()),
    "heavy_ball": (heavy_ball(), lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9), invariance.momentum(0.9)),
    "nesterov": (
        nesterov(),
        lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True),
        invariance.momentum(0.9, nesterov=True),
    ),
    "rmsprop": (rmsprop(), lambda ps, lr: torch.optim.RMSprop(ps, lr=lr), None),
    "adam": (adam(), lambda ps, lr: torch.optim.Adam(ps, lr=lr), invariance.adam()),
}
COMPILED = {k: lambdify_form(derive(v[0])) for k, v in CASES.items()}
COMPILED_TORCH = {k: lambdify_form(derive(v[0]), backend="torch") for k, v in CASES.items()}


@settings(max_examples=15)
@given(ist.finite_collections(min_size=2, max_size=5), st.sampled_from(sorted(CASES)), st.floats(1e-3, 0.2))
def test_lambdified_form_reproducestorch_optim_trajectory(X, name, lr):
    reference = torch_optim_trajectory(X.points, CASES[name][1], lr, steps=8)
    ours = COMPILED[name].run(LOSS.gradient, X.points, lr, steps=8)
    scale = 1 + np.abs(X.points).max()
    for a, b in zip(ours, reference):
        assert np.max(np.abs(a - b)) <= 1e-10 * scale


@settings(max_examples=15)
@given(ist.finite_collections(min_size=2, max_size=5), st.sampled_from(sorted(CASES)), st.floats(1e-3, 0.2))
def test_torch_backend_reproducestorch_optim_trajectory(X, name, lr):
    reference = torch_optim_trajectory(X.points, CASES[name][1], lr, steps=5)

    def grad(theta):
        return torch.from_numpy(LOSS.gradient(theta.numpy()))

    ours = COMPILED_TORCH[name].run(grad, torch.tensor(X.points, dtype=torch.float64), lr, steps=5)
    for a, b in zip(ours, reference):
        assert np.max(np.abs(a.numpy() - b)) <= 1e-10 * (1 + np.abs(X.points).max())


@settings(max_examples=15)
@given(
    ist.finite_collections(min_size=2, max_size=5),
    st.sampled_from([k for k, v in CASES.items() if v[2] is not None]),
    st.floats(1e-3, 0.2),
    st.integers(0, 20),
    st.integers(0, 2**31),
)
def test_lambdified_form_equals_numeric_stateless_optimizer(X, name, lr, t, seed):
    symbolic, _, transform = CASES[name]
    rule = StatelessOptimizer(LOSS, transform, learning_rate=lr)
    p = X.dim
    rng = np.random.default_rng(seed)
    state = [rng.normal(size=X.points.shape) for _ in symbolic.state]
    if name == "adam":
        state[1] = np.abs(state[1])  # v >= 0
    Z = FiniteCollection(np.concatenate([X.points, *state], axis=1))
    expected = rule.update(Z, t=t).points
    rows = COMPILED[name](X.points, state, LOSS.gradient(X.points), t=t, eta=lr)
    got = np.concatenate(rows, axis=1)
    assert got.shape == expected.shape == (X.n if hasattr(X, "n") else len(X.points), p * (1 + len(state)))
    assert np.allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_printed_eq16_matches_the_paper_variant_and_not_torch_adam():
    """Numeric evidence: lambdified eq. (16) = adam(variant='paper'), and it is not torch.optim.Adam."""
    X = np.random.default_rng(3).normal(size=(5, 2))
    lr = 0.05
    paper = lambdify_form(printed_eq16())
    rule = StatelessOptimizer(LOSS, invariance.adam(variant="paper"), learning_rate=lr)
    state = [np.random.default_rng(4).normal(size=X.shape), np.abs(np.random.default_rng(5).normal(size=X.shape))]
    Z = FiniteCollection(np.concatenate([X, *state], axis=1))
    got = np.concatenate(paper(X, state, LOSS.gradient(X), t=3, eta=lr), axis=1)
    assert np.allclose(got, rule.update(Z, t=3).points, rtol=1e-10)
    # run eq. (16) with 1-based t (at t = 0 it divides by zero) against torch.optim.Adam
    theta, m, v = X, np.zeros_like(X), np.zeros_like(X)
    reference = torch_optim_trajectory(X, CASES["adam"][1], lr, steps=4)
    for k in range(4):
        theta, m, v = paper.step(theta, (m, v), LOSS.gradient(theta), t=k + 1, eta=lr)
        assert not np.allclose(theta, reference[k], rtol=1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):  # as printed, t = 0 divides 0 by 1 - beta1^0 = 0
        first = paper(X, (np.zeros_like(X), np.zeros_like(X)), LOSS.gradient(X), t=0, eta=lr)[0]
    assert np.isnan(first).all()


def test_bad_backend_and_hyperparameters():
    with pytest.raises(ValueError, match="backend"):
        lambdify_form(derive(adam()), backend="jax")
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        COMPILED["adam"](np.zeros(1), (np.zeros(1), np.zeros(1)), np.ones(1), t=0, eta=0.1, beta3=0.5)
    with pytest.raises(ValueError, match="eta"):
        COMPILED["adam"](np.zeros(1), (np.zeros(1), np.zeros(1)), np.ones(1), t=0, eta=-1.0)
    with pytest.raises(ValueError, match="t must be"):
        COMPILED["adam"](np.zeros(1), (np.zeros(1), np.zeros(1)), np.ones(1), t=-1, eta=0.1)


def test_hyperparameters_can_be_overridden():
    X = np.random.default_rng(7).normal(size=(4, 2))
    ref = torch_optim_trajectory(X, lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=(0.8, 0.99), eps=1e-6), 0.05, 6)
    ours = COMPILED["adam"].run(LOSS.gradient, X, 0.05, steps=6, beta1=0.8, beta2=0.99, epsilon=1e-6)
    assert np.allclose(ours[-1], ref[-1], rtol=1e-10, atol=1e-12)
