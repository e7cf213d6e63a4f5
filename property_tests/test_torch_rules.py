"""Torch update rules on neuron collections (Sections 5.1, 5.2) against torch.optim itself."""

import copy

import numpy as np
import pytest
import torch

from invariance import FiniteCollection
from invariance.properties import equivariance_error
from invariance.torch import NeuronLoss, augmented_neurons, mlp_spec, torch_rule

STEPS = 50
LR = 0.05
MSE = torch.nn.functional.mse_loss

CASES = {
    "sgd": ({}, lambda ps: torch.optim.SGD(ps, lr=LR)),
    "momentum": ({"momentum": 0.9}, lambda ps: torch.optim.SGD(ps, lr=LR, momentum=0.9)),
    "nesterov": ({"momentum": 0.9}, lambda ps: torch.optim.SGD(ps, lr=LR, momentum=0.9, nesterov=True)),
    "adam": ({}, lambda ps: torch.optim.Adam(ps, lr=LR)),
}


def problem(seed=0, width=8, n=48, bias_out=False):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.Sigmoid(),
                                torch.nn.Linear(width, 1, bias=bias_out)).double()
    g = torch.Generator().manual_seed(seed + 1)
    X = 2 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = torch.sin(X.sum(dim=1, keepdim=True))
    return model, X, y


def torch_trajectory(model, X, y, make_opt, steps, batches):
    """Neuron rows after each step of a torch.optim optimizer fed the same batches."""
    ref = copy.deepcopy(model)
    opt = make_opt([p for p in ref.parameters() if p.requires_grad])
    spec = mlp_spec(ref)
    out = []
    for t in range(steps):
        idx = batches(t)
        xb, yb = (X, y) if idx is None else (X[idx], y[idx])
        opt.zero_grad()
        MSE(ref(xb), yb).backward()
        opt.step()
        out.append(spec.neurons(ref).points)
    return out, ref, opt


def deviation(rule, Z, reference, t0=0):
    worst, scale = 0.0, 0.0
    for k, ref in enumerate(reference):
        Z = rule.step(Z, rule.learning_rate, t0 + k)
        worst = max(worst, float(np.max(np.abs(rule.parameters(Z).points - ref))))
        scale = max(scale, float(np.max(np.abs(ref))))
    return worst, scale, Z


@pytest.mark.parametrize("batch_size", [None, 10], ids=["full-batch", "mini-batch"])
@pytest.mark.parametrize("name", list(CASES))
def test_stateless_torch_rule_reproduces_torch_optim(name, batch_size):
    hyper, make = CASES[name]
    model, X, y = problem()
    rule = torch_rule(copy.deepcopy(model), optimizer=name, lr=LR, loss_fn=MSE, inputs=X, targets=y,
                      batch_size=batch_size, seed=3, **hyper)
    reference, _, _ = torch_trajectory(model, X, y, make, STEPS, rule.neuron_loss.batch_indices)
    worst, scale, _ = deviation(rule, rule.initial(), reference)
    moved = float(np.max(np.abs(reference[-1] - mlp_spec(model).neurons(model).points)))
    assert moved > 0.05  # the run goes somewhere
    assert worst <= 1e-13 * (1 + scale), (name, batch_size, worst)


def test_weight_decay_and_frozen_parameters_match_torch():
    model, X, y = problem(seed=1, bias_out=True)
    model[2].bias.requires_grad_(False)  # frozen in torch and absorbed in L here (footnote 3)
    rule = torch_rule(copy.deepcopy(model), optimizer="momentum", lr=LR, loss_fn=MSE, inputs=X, targets=y,
                      weight_decay=0.01, momentum=0.5)
    reference, _, _ = torch_trajectory(
        model, X, y, lambda ps: torch.optim.SGD(ps, lr=LR, momentum=0.5, weight_decay=0.01), STEPS, lambda t: None)
    worst, scale, _ = deviation(rule, rule.initial(), reference)
    assert worst <= 1e-13 * (1 + scale)


def test_minibatches_are_a_function_of_seed_and_time():
    model, X, y = problem()
    L = NeuronLoss(model, loss_fn=MSE, inputs=X, targets=y, batch_size=10, seed=7)
    assert L.batches_per_epoch == 5
    epoch = np.concatenate([L.batch_indices(t) for t in range(5)])
    assert sorted(epoch.tolist()) == list(range(48))  # an epoch visits every sample once
    again = NeuronLoss(model, loss_fn=MSE, inputs=X, targets=y, batch_size=10, seed=7)
    assert all(np.array_equal(L.batch_indices(t), again.batch_indices(t)) for t in (0, 4, 5, 123))
    assert not np.array_equal(L.batch_indices(0), L.batch_indices(5))  # a new shuffle each epoch
    other = NeuronLoss(model, loss_fn=MSE, inputs=X, targets=y, batch_size=10, seed=8)
    assert not np.array_equal(L.batch_indices(0), other.batch_indices(0))
    theta = L.spec.neurons(model).points
    assert not np.allclose(L.gradient(theta, 0), L.gradient(theta, 1))  # L^(t) depends on t


def test_printed_eq16_is_not_torch_adam_but_is_after_reindexing():
    """Eq. (16) as printed lags one step (old moments, exponent t; 0/0 at t = 0); its
    parameter row at t+1 on the updated moments is exactly torch's Adam step at t."""
    model, X, y = problem(seed=2)
    reference, _, _ = torch_trajectory(model, X, y, CASES["adam"][1], STEPS, lambda t: None)
    paper = torch_rule(copy.deepcopy(model), optimizer="adam-paper", lr=LR, loss_fn=MSE, inputs=X, targets=y)
    Z0 = paper.initial()
    with pytest.raises(ValueError, match="t = 0"):
        paper.update(Z0, t=0)
    worst, scale, _ = deviation(paper, Z0, reference, t0=1)  # literal eq. (16), 1-based time
    assert worst > 1e-2 * scale, worst  # not round-off: a different trajectory

    exact = torch_rule(copy.deepcopy(model), optimizer="adam", lr=LR, loss_fn=MSE, inputs=X, targets=y)
    Z = exact.initial()
    p = Z.dim // 3
    gap = 0.0
    for t in range(STEPS):
        Z_next = exact.step(Z, LR, t)
        adam_step = exact.parameters(Z_next).points - exact.parameters(Z).points
        reindexed = LR * paper.update(Z_next, t=t + 1).points[:, :p]  # eq. (16) at t+1, updated moments
        gap = max(gap, float(np.max(np.abs(reindexed - adam_step))))
        Z = Z_next
    assert gap <= 1e-15 + 1e-12 * float(np.max(np.abs(adam_step))), gap
    assert float(np.max(np.abs(exact.parameters(Z).points - reference[-1]))) <= 1e-12


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_torch_rule_is_equivariant_and_a_broken_loss_is_not(name):
    """Propositions 1 and 3 on a real network: P1 of the stateless rule on the neurons,
    with state built up by earlier steps; a per-neuron weighted penalty breaks it."""
    model, X, y = problem(seed=4, width=6)
    rule = torch_rule(model, optimizer=name, lr=LR, loss_fn=MSE, inputs=X, targets=y, batch_size=12, seed=1)
    Z = rule.initial()
    for t in range(3):
        Z = rule.step(Z, LR, t)
    report = equivariance_error(rule, Z, t=3, n_samples=4, seed=0)
    assert report.passed, report

    weights = torch.arange(1.0, 7.0, dtype=torch.float64)  # neuron i is penalised by i + 1

    def penalised(out, target):
        return MSE(out, target) + 0.1 * (weights * (model[0].weight ** 2).sum(dim=1)).sum()

    broken = torch_rule(model, optimizer=name, lr=LR, loss_fn=penalised, inputs=X, targets=y)
    report = equivariance_error(broken, Z, t=3, n_samples=4, seed=0)
    assert not report.passed
    assert len(report.counterexample["cycles"][0]) == 2  # shrunk to a transposition


def test_augmented_neurons_read_torch_optimizer_state():
    model, X, y = problem(seed=5)
    _, ref, opt = torch_trajectory(model, X, y, CASES["adam"][1], 4, lambda t: None)
    rule = torch_rule(copy.deepcopy(model), optimizer="adam", lr=LR, loss_fn=MSE, inputs=X, targets=y)
    Z = rule.initial()
    for t in range(4):
        Z = rule.step(Z, LR, t)
    particles = augmented_neurons(ref, optimizer=opt)
    assert particles.points.shape == Z.points.shape
    assert np.allclose(particles.points, Z.points, rtol=1e-12, atol=1e-15)
    zero = augmented_neurons(model, optimizer="momentum")
    assert zero.dim == 2 * mlp_spec(model).neuron_dim(model) and not zero.points[:, zero.dim // 2:].any()
    with pytest.raises(TypeError, match="SGD or Adam"):
        augmented_neurons(model, optimizer=torch.optim.RMSprop(model.parameters()))


def test_bad_arguments_are_refused_with_their_names():
    model, X, y = problem(bias_out=True)
    with pytest.raises(ValueError, match=r"\['2.bias'\].*freeze_uncovered"):
        torch_rule(model, lr=LR, loss_fn=MSE, inputs=X, targets=y)
    rule = torch_rule(model, lr=LR, loss_fn=MSE, inputs=X, targets=y, freeze_uncovered=True)
    assert rule.neuron_loss.frozen == ("2.bias",)
    kw = dict(loss_fn=MSE, inputs=X, targets=y, freeze_uncovered=True)
    with pytest.raises(ValueError, match="lr"):
        torch_rule(model, lr=0.0, **kw)
    with pytest.raises(ValueError, match="optimizer"):
        torch_rule(model, optimizer="rmsprop", lr=LR, **kw)
    with pytest.raises(TypeError, match="unknown hyperparameters.*betas"):
        torch_rule(model, optimizer="momentum", lr=LR, betas=(0.9, 0.99), **kw)
    with pytest.raises(ValueError, match="batch_size"):
        torch_rule(model, lr=LR, batch_size=1000, **kw)
    with pytest.raises(ValueError, match="inputs contains NaN"):
        torch_rule(model, lr=LR, loss_fn=MSE, inputs=X * np.nan, targets=y, freeze_uncovered=True)
    with pytest.raises(ValueError, match="same number of samples"):
        torch_rule(model, lr=LR, loss_fn=MSE, inputs=X, targets=y[:5], freeze_uncovered=True)
    with pytest.raises(ValueError, match="at least one sample"):
        torch_rule(model, lr=LR, loss_fn=MSE, inputs=X[:0], targets=y[:0], freeze_uncovered=True)
    with pytest.raises(ValueError, match="theta must have shape"):
        rule.neuron_loss.gradient(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        rule.neuron_loss.gradient(np.full(rule.parameters(rule.initial()).points.shape, np.nan))
    with pytest.raises(ValueError, match="learning_rate"):
        rule.step(rule.initial(), 2 * LR)
    assert isinstance(rule.step(rule.initial(), LR), FiniteCollection)
