"""Neuron specs of torch models: permuting hidden units leaves the function unchanged (the
symmetry behind P1, Section 3), neurons round-trip, and optimizer state moves with them."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from invariance import FinitaryPermutation, FiniteCollection
from invariance.torch import (
    NeuronLayer,
    NeuronSpec,
    ParameterAxis,
    StateNotPermutableError,
    conv_spec,
    mlp_spec,
    neuron_spec,
)


def _randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


def _seeded(model: nn.Module, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return model.double()


def _perms(width: int, seed: int, n: int = 3) -> list[FinitaryPermutation]:
    rng = np.random.default_rng(seed)
    out = [FinitaryPermutation.transposition(0, width - 1)]
    out += [FinitaryPermutation.random(width, seed=rng) for _ in range(n)]
    return out


def _assert_same_function(model: nn.Module, x: torch.Tensor, spec: NeuronSpec, layer: int, seed: int) -> None:
    y = model(x).detach()
    for P in _perms(spec.layer(layer).width, seed):
        permuted = copy.deepcopy(model)
        spec.permute(permuted, P, layer)
        torch.testing.assert_close(permuted(x), y, rtol=1e-12, atol=1e-12)
        # the neuron rows moved as (P X)_i = x_{P(i)}
        np.testing.assert_array_equal(spec.neurons(permuted, layer).points, P.act(spec.neurons(model, layer)).points)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_mlp_function_invariant_under_hidden_permutations(bias, seed):
    model = _seeded(nn.Sequential(nn.Linear(3, 7, bias=bias), nn.Tanh(), nn.Linear(7, 2, bias=bias)), seed)
    spec = mlp_spec(model)
    assert spec.layers[0].width == 7
    assert [a.name for a in spec.layers[0].axes] == (["0.weight", "0.bias", "2.weight"] if bias
                                                     else ["0.weight", "2.weight"])
    assert spec.neurons(model).dim == 3 + bias + 2
    _assert_same_function(model, _randn(11, 3), spec, 0, seed)


def test_deeper_mlp_every_hidden_layer():
    model = _seeded(nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5, bias=False), nn.GELU(),
                                  nn.Linear(5, 3), nn.Sigmoid(), nn.Linear(3, 1)), 2)
    spec = mlp_spec(model)
    assert [la.width for la in spec.layers] == [6, 5, 3]
    x = _randn(9, 4)
    for k in range(3):
        _assert_same_function(model, x, spec, k, seed=k)


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm1d_moves_with_its_units(train):
    model = _seeded(nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)), 3)
    x = _randn(16, 3)
    model.train()
    model(x)  # running statistics become non-trivial
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
    model.train(train)
    spec = mlp_spec(model)
    names = [a.name for a in spec.layers[0].axes]
    assert {"1.weight", "1.bias", "1.running_mean", "1.running_var"} <= set(names)
    model.eval()
    _assert_same_function(model, x, spec, 0, seed=4)


def test_conv_relu_pool_conv():
    model = _seeded(nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(5, 3, 3),
                                  nn.Flatten(), nn.Linear(3 * 2 * 2, 1)), 5)
    spec = conv_spec(model)
    assert spec.layers[0].width == 5
    assert spec.neurons(model).dim == 2 * 9 + 1 + 3 * 9
    _assert_same_function(model, _randn(4, 2, 8, 8), spec, 0, seed=6)
    assert [la.width for la in neuron_spec(model).layers] == [5]


class Residualish(nn.Module):
    """Not an nn.Sequential: needs a hand-written spec."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(3, 6)
        self.decoder = nn.Linear(6, 3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.decoder(torch.sigmoid(self.encoder(x)))


def test_custom_spec():
    model = _seeded(Residualish(), 7)
    with pytest.raises(TypeError):
        mlp_spec(model)
    spec = NeuronSpec([NeuronLayer("hidden", 6, (ParameterAxis("encoder.weight", 0), ParameterAxis("encoder.bias", 0),
                                                  ParameterAxis("decoder.weight", 1)))])
    _assert_same_function(model, _randn(5, 3), spec, 0, seed=8)
    bad = NeuronSpec([NeuronLayer("hidden", 5, (ParameterAxis("encoder.weight", 0),))])
    with pytest.raises(ValueError, match="encoder.weight"):
        bad.validate(model)


def test_neurons_load_neurons_round_trip():
    model = _seeded(nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 3)), 9)
    spec = mlp_spec(model)
    X = spec.neurons(model)
    assert isinstance(X, FiniteCollection) and X.n == 4 and X.dim == 2 + 1 + 3
    other = _seeded(nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 3)), 10)
    spec.load_neurons(other, X)
    for (n, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        if n != "2.bias":  # the output bias belongs to no neuron
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(spec.neurons(other).points, X.points)
    Y = X.points + 1.0
    spec.load_neurons(other, Y)
    np.testing.assert_array_equal(spec.neurons(other).points, Y)
    with pytest.raises(ValueError):
        spec.load_neurons(other, Y[:3])
    with pytest.raises(ValueError):
        spec.load_neurons(other, np.full_like(Y, np.nan))


# -- optimizer state ------------------------------------------------------------------------
OPTIMIZERS = [
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (torch.optim.Adam, {"lr": 0.01}),
    (torch.optim.AdamW, {"lr": 0.01, "amsgrad": True}),
    (torch.optim.Adamax, {"lr": 0.01}),
    (torch.optim.NAdam, {"lr": 0.01}),
    (torch.optim.RAdam, {"lr": 0.01}),
    (torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True}),
    (torch.optim.Adagrad, {"lr": 0.1}),
    (torch.optim.Adadelta, {}),
    (torch.optim.ASGD, {"lr": 0.01}),
    (torch.optim.Rprop, {"lr": 0.01}),
    (torch.optim.LBFGS, {"lr": 0.5, "max_iter": 3, "history_size": 4}),
    (torch.optim.Adafactor, {"lr": 0.01}),
    (torch.optim.Muon, {"lr": 0.02}),
]


def _expected(value, p: torch.Tensor, axis, idx: torch.Tensor, flat):
    if isinstance(value, (list, tuple)):
        return [_expected(v, p, axis, idx, flat) for v in value]
    if not isinstance(value, torch.Tensor) or value.numel() <= 1:
        return value
    if flat is not None and value.ndim == 1 and value.numel() == flat.numel() and value.numel() != p.numel():
        return value[flat]
    if axis is not None and value.ndim == p.ndim and value.shape[axis] == p.shape[axis]:
        return value.index_select(axis, idx)
    return value


@pytest.mark.parametrize("cls,kwargs", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_every_optimizer_state_is_permuted_with_the_neurons(cls, kwargs):
    bias = cls is not torch.optim.Muon  # Muon accepts only 2-D parameters
    model = _seeded(nn.Sequential(nn.Linear(3, 6, bias=bias), nn.Sigmoid(), nn.Linear(6, 2, bias=bias)), 11)
    x, y = _randn(20, 3), _randn(20, 2)
    opt = cls(model.parameters(), **kwargs)

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    spec = mlp_spec(model)
    P = FinitaryPermutation.from_cycles((0, 3, 5), (1, 2))
    idx = torch.as_tensor(P(np.arange(6)))
    axes = {a.name: a.axis for a in spec.layers[0].axes}
    names = [n for n, _ in model.named_parameters()]
    # the flat index of the concatenated parameters under P (LBFGS keeps flat state)
    flat = torch.cat([torch.arange(p.numel()).reshape(p.shape).index_select(axes[n], idx).reshape(-1)
                      if n in axes else torch.arange(p.numel()) for n, p in model.named_parameters()])
    flat = flat + torch.repeat_interleave(
        torch.tensor([0] + list(np.cumsum([p.numel() for p in model.parameters()])[:-1])),
        torch.tensor([p.numel() for p in model.parameters()]))
    before = {n: copy.deepcopy(opt.state[p]) for n, p in model.named_parameters() if opt.state[p]}
    assert before, "the optimizer kept no state"
    spec.permute(model, P, 0, optimizer=opt)
    for n, p in zip(names, model.parameters()):
        if n not in before:
            continue
        for key, old in before[n].items():
            want = _expected(old, p, axes.get(n), idx, flat)
            got = opt.state[p][key]
            if isinstance(want, torch.Tensor):
                torch.testing.assert_close(got, want, rtol=0, atol=0, msg=f"{cls.__name__} {n} {key}")
            elif isinstance(want, list):
                for g, w in zip(got, want):
                    if isinstance(w, torch.Tensor):
                        torch.testing.assert_close(g, w, rtol=0, atol=0)
            else:
                assert got == want


class OddStateOptimizer(torch.optim.SGD):
    """Keeps a state entry the permutation cannot be carried through."""

    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["odd_history"] = torch.zeros(p.numel() + 1, dtype=p.dtype)
        return loss


def test_unpermutable_state_is_refused_naming_it():
    model = _seeded(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)), 12)
    opt = OddStateOptimizer(model.parameters(), lr=0.1)
    model(_randn(3, 2)).sum().backward()
    opt.step()
    spec = mlp_spec(model)
    snapshot = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(StateNotPermutableError, match="odd_history") as err:
        spec.permute(model, FinitaryPermutation.transposition(0, 1), 0, optimizer=opt)
    assert "0.weight" in str(err.value)
    for a, b in zip(snapshot, model.parameters()):  # nothing was touched
        torch.testing.assert_close(a, b.detach(), rtol=0, atol=0)
    opt.state[next(iter(model.parameters()))]["odd_history"] = {"not": "a tensor"}
    with pytest.raises(StateNotPermutableError, match="odd_history"):
        spec.permute_optimizer_state(opt, model, FinitaryPermutation.transposition(0, 1), 0)


@pytest.mark.parametrize("P", [np.array([0, 0, 1, 2]), np.array([0, 1, 2, 4]), np.array([0, 1, 2]),
                               FinitaryPermutation.transposition(1, 9), np.array([0.0, 1.0, 2.0, 3.0])])
def test_bad_permutations_raise_value_error(P):
    model = _seeded(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)), 13)
    with pytest.raises(ValueError):
        mlp_spec(model).permute(model, P, 0)


def test_integer_array_permutation_matches_finitary():
    model = _seeded(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)), 14)
    spec = mlp_spec(model)
    a, b = copy.deepcopy(model), copy.deepcopy(model)
    spec.permute(a, np.array([2, 0, 3, 1]), 0)
    spec.permute(b, FinitaryPermutation.from_array([2, 0, 3, 1]), 0)
    np.testing.assert_array_equal(spec.neurons(a).points, spec.neurons(b).points)
