"""Torch update rules on neuron collections: SGD, momentum, Nesterov and Adam in stateless form.

The paper's rules act on the collection of neurons ``X = {x_i}`` of one layer (Section 3,
eq. 4). For a torch model and a :class:`~invariance.torch.NeuronSpec`, the loss of the
neurons is

    L^(t)(Theta) = loss_fn(model_Theta(inputs[B_t]), targets[B_t]) + (wd/2) ||Theta||^2,

where ``model_Theta`` is the model with the layer's neurons set to ``Theta`` (written in
with :meth:`NeuronSpec.load_neurons`), ``B_t`` the mini-batch of step ``t`` (all the data
when ``batch_size is None``) and ``wd`` the weight decay of ``torch.optim.SGD``/``Adam``
(``grad + wd * theta``, an L2 term). :class:`NeuronLoss` computes ``grad_i L^(t)(Theta)``,
the row of neuron ``i``, with autograd. ``L^(t)`` is FSym-symmetric whenever the spec is
right (permuting hidden units does not change the network's function), so GD on it is
equivariant (Proposition 1) and so are momentum and Adam in stateless form (Proposition 3).

**Time dependence (footnote 3).** ``L`` depends on ``t`` through the mini-batch: ``B_t`` is
a deterministic function of ``(seed, t)``, epoch-wise shuffles as a ``DataLoader`` with
``shuffle=True`` (drop_last=False) and a seeded generator: epoch ``e = t // ceil(n/b)``
draws ``numpy.random.default_rng([seed, e]).permutation(n)`` and step ``t`` takes its
``(t mod ceil(n/b))``-th slice of ``b`` indices. Parameters that are trainable but in no
neuron of the layer (other layers, an output bias) would make ``L`` depend on ``t`` through
their own training; they are refused unless ``freeze_uncovered=True``, which keeps them
at their current values, constants absorbed in ``L``, exactly the "subtle (but harmless)
simplification" of footnote 3 (freeze them in the torch optimizer too, e.g. with
``requires_grad_(False)``, to compare trajectories).

**The stateless forms** (Section 5.2) are :class:`~invariance.optimizers.StatelessOptimizer`
with the transforms of :mod:`invariance.optimizers`, on particles ``x_i = (theta_i, state_i)``:

* ``"sgd"``: ``U_i = -g_i`` (eq. 10), ``torch.optim.SGD(lr)``;
* ``"momentum"``: ``b' = mu b + g``, ``U = (-b', (b' - b)/lr)``, ``torch.optim.SGD(lr, momentum=mu)``;
* ``"nesterov"``: the same with ``U_theta = -(g + mu b')``, ``SGD(..., nesterov=True)``;
* ``"adam"``: ``m' = b1 m + (1-b1) g``, ``v' = b2 v + (1-b2) g^2``,
  ``U_theta = -(m'/(1-b1^(t+1))) / (sqrt(v'/(1-b2^(t+1))) + eps)``,
  ``U_m = (m' - m)/lr = (1-b1)(g - m)/lr``, ``U_v = (1-b2)(g^2 - v)/lr``: ``torch.optim.Adam``;
* ``"adam-paper"``: eq. (16) exactly as printed.

**Eq. (16) is not torch's Adam.** Its state rows are Adam's (``m + lr U_m = m'``), but its
parameter row is ``-(m/(1-b1^t)) / (eps + sqrt(v/(1-b2^t)))``: the *old* moments
``m^(t), v^(t)`` with exponent ``t``, where Adam uses the new moments with exponent ``t+1``.
Hence (i) at ``t = 0`` it is ``0/0`` (``1 - b1^0 = 0``; the rule raises), and (ii) from
``t = 1`` with zero moments its first step does not move ``theta`` and every later step
uses the gradient of the *previous* position: a delayed-gradient Adam whose trajectory
leaves torch's (the deviation after 50 steps is of the order of the trajectory itself,
not round-off). Re-indexed, i.e. its parameter row at time ``t+1`` evaluated at the
*updated* moments ``(m', v')``, it is exactly Adam's step at ``t``; that re-indexed form
is ``"adam"``. The symbolic proof is :func:`invariance.symbolic.eq16_finding`; the tests
check both facts against ``torch.optim.Adam`` on real models.

Checked in the tests (50 steps) and in ``benchmarks/monitor_benchmark.py`` (60 steps), full
batch and mini-batch, float64: the parameters of these rules and of ``torch.optim.SGD`` /
``SGD(momentum)`` / ``SGD(nesterov)`` / ``Adam`` on the same model and data agree to
round-off (largest deviation 1.2e-15, 8e-16 relative). Gradients are computed in the
model's dtype: use a float64 model (``model.double()``) for round-off agreement.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from ..arguments import check_int, check_positive, check_seed, check_t
from ..collections import Collection, FiniteCollection
from ..optimizers import StatelessOptimizer, Transform, adam, momentum, sgd
from .specs import NeuronSpec, neuron_spec

__all__ = ["NeuronLoss", "TorchRule", "torch_rule", "augmented_neurons", "OPTIMIZERS", "STATE_KEYS"]

FloatArray = NDArray[np.float64]

#: The optimizer names :func:`torch_rule` accepts.
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "nesterov", "adam", "adam-paper")

#: State keys of ``torch.optim`` optimizers, in the column order of the stateless particles.
STATE_KEYS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adam-paper": ("exp_avg", "exp_avg_sq"),
}


def _resolve_spec(model: nn.Module, spec: NeuronSpec | None) -> NeuronSpec:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if spec is None:
        return neuron_spec(model)
    if not isinstance(spec, NeuronSpec):
        raise TypeError(f"spec must be a NeuronSpec or None, got {type(spec).__name__}")
    spec.validate(model)
    return spec


def layer_rows(spec: NeuronSpec, model: nn.Module, layer: int | str,
               tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``(width, D)`` rows of tensors shaped like the layer's parameters (gradients, optimizer state).

    ``tensors[name]`` replaces parameter ``name``; the column layout is that of
    :meth:`NeuronSpec.neurons` (blocks in the order of :meth:`NeuronSpec.neuron_blocks`).
    """
    la = spec.layer(layer)
    parts = []
    for ax in spec.parameter_axes(layer, model=model):
        parts.append(tensors[ax.name].detach().movedim(ax.axis, 0).reshape(la.width, -1))
    return torch.cat(parts, dim=1)


class NeuronLoss:
    """The loss ``L^(t)`` of one layer's neurons of a torch model, with its autograd gradient.

    ``gradient(theta, t)`` loads ``theta`` (``width x D``, the layout of
    :meth:`NeuronSpec.neurons`) into the model and returns ``dL^(t)/dtheta_i`` as a
    ``width x D`` float64 array. The model is the working buffer: after a call its layer
    holds ``theta`` (other parameters are untouched). The model must be deterministic
    (no dropout in train mode).

    Args:
        model: the torch model (its layer's parameters are overwritten by each call).
        spec: the neuron spec (default :func:`neuron_spec` of the model).
        loss_fn: ``loss_fn(model(inputs[B]), targets[B]) -> scalar tensor`` (e.g.
            ``torch.nn.functional.mse_loss``).
        inputs, targets: the data, tensors (or arrays) with the same first dimension ``n >= 1``.
        layer: index or name of the layer of neurons.
        batch_size: ``None`` for full batch, else ``1 <= batch_size <= n``.
        seed: seed of the mini-batch shuffles (``None`` draws one; see :attr:`seed`).
        weight_decay: ``wd >= 0``: adds ``wd * theta`` to the gradient (torch's L2 weight decay).
        freeze_uncovered: allow trainable parameters outside the layer's neurons and keep
            them constant (absorbed in ``L``, footnote 3); otherwise they are refused.

    Raises:
        ValueError: uncovered trainable parameters (named) without ``freeze_uncovered``;
            empty, mismatched or non-finite data; a bad ``batch_size`` or ``weight_decay``.
        TypeError: ``model``, ``spec`` or ``loss_fn`` of the wrong kind.

    Example:
        >>> import torch
        >>> from invariance.torch import NeuronLoss
        >>> torch.manual_seed(0) and None
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1, bias=False))
        >>> model = model.double()
        >>> X, y = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
        >>> L = NeuronLoss(model, loss_fn=torch.nn.functional.mse_loss, inputs=X, targets=y, batch_size=3)
        >>> L.gradient(L.spec.neurons(model).points, t=0).shape       # 4 neurons, 2 + 1 + 1 coordinates
        (4, 4)
        >>> [len(L.batch_indices(t)) for t in range(4)]               # ceil(8/3) = 3 batches per epoch
        [3, 3, 2, 3]
    """

    #: ``StatelessOptimizer`` calls ``gradient(theta, t)``: ``L`` depends on ``t`` (mini-batches).
    time_dependent: bool = True

    def __init__(self, model: nn.Module, spec: NeuronSpec | None = None, *,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 inputs: torch.Tensor | ArrayLike, targets: torch.Tensor | ArrayLike,
                 layer: int | str = 0, batch_size: int | None = None, seed: int | None = 0,
                 weight_decay: float = 0.0, freeze_uncovered: bool = False) -> None:
        self.spec = _resolve_spec(model, spec)
        self.model = model
        self.layer = layer
        la = self.spec.layer(layer)
        self.width = la.width
        if not callable(loss_fn):
            raise TypeError("loss_fn must be callable: loss_fn(output, target) -> scalar tensor")
        self.loss_fn = loss_fn
        self.inputs = _as_data(inputs, "inputs")
        self.targets = _as_data(targets, "targets")
        if self.inputs.shape[0] != self.targets.shape[0]:
            raise ValueError(f"inputs and targets must have the same number of samples, got "
                             f"{self.inputs.shape[0]} and {self.targets.shape[0]}")
        self.n_samples = int(self.inputs.shape[0])
        if batch_size is not None:
            batch_size = check_int(batch_size, "batch_size", 1)
            if batch_size > self.n_samples:
                raise ValueError(f"batch_size must be <= the number of samples {self.n_samples}, got {batch_size}")
        self.batch_size = batch_size
        self.seed = check_seed(seed)
        wd = float(weight_decay) if not isinstance(weight_decay, bool) else math.nan
        if not math.isfinite(wd) or wd < 0:
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
        self.weight_decay = wd
        uncovered = self.spec.uncovered(model, layer)
        if uncovered and not freeze_uncovered:
            raise ValueError(
                f"trainable parameters {uncovered} are in no neuron of layer {la.name!r}: the rule on the neuron "
                "collection cannot train them. Pass freeze_uncovered=True to keep them constant (absorbed in the "
                "loss, footnote 3 of the paper), or set requires_grad_(False) on them"
            )
        self.frozen: tuple[str, ...] = tuple(uncovered)
        params = dict(model.named_parameters())
        self._names = [ax.name for ax in self.spec.parameter_axes(layer, model=model)]
        for name in self._names:
            if not params[name].requires_grad:
                raise ValueError(f"parameter {name!r} of layer {la.name!r} has requires_grad=False; "
                                 "its neurons cannot be trained")
        self._params = [params[name] for name in self._names]
        self.dim = self.spec.neuron_dim(model, layer)
        self.batches_per_epoch = 1 if batch_size is None else -(-self.n_samples // batch_size)

    def __repr__(self) -> str:
        batch = "full batch" if self.batch_size is None else f"batch_size={self.batch_size}, seed={self.seed}"
        return f"NeuronLoss({self.width} neurons x {self.dim}, {self.n_samples} samples, {batch})"

    def batch_indices(self, t: int) -> NDArray[np.int64] | None:
        """The sample indices ``B_t`` of step ``t`` (``None``: all of them).

        Epoch ``e = t // batches_per_epoch`` shuffles with ``default_rng([seed, e])``; a
        function of ``(seed, t)`` alone.
        """
        t = check_t(t)
        if self.batch_size is None:
            return None
        epoch, k = divmod(t, self.batches_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n_samples)
        return order[k * self.batch_size:(k + 1) * self.batch_size].astype(np.int64)

    def batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs[B_t], targets[B_t])``."""
        idx = self.batch_indices(t)
        if idx is None:
            return self.inputs, self.targets
        index = torch.as_tensor(idx, device=self.inputs.device)
        return self.inputs.index_select(0, index), self.targets.index_select(0, index.to(self.targets.device))

    def _check_theta(self, theta: ArrayLike) -> FloatArray:
        arr = np.asarray(theta.points if isinstance(theta, FiniteCollection) else theta, dtype=np.float64)
        if arr.shape != (self.width, self.dim):
            raise ValueError(f"theta must have shape ({self.width}, {self.dim}), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("theta contains NaN or inf")
        return arr

    def _loss(self, theta: FloatArray, t: int) -> torch.Tensor:
        self.spec.load_neurons(self.model, torch.tensor(theta), self.layer)  # a copy: theta may be read-only
        xb, yb = self.batch(t)
        with torch.enable_grad():
            value = self.loss_fn(self.model(xb), yb)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise TypeError("loss_fn must return a scalar tensor")
        return value.reshape(())

    def value(self, theta: ArrayLike, t: int = 0) -> float:
        """``L^(t)(theta)`` (with the weight-decay term ``wd/2 ||theta||^2``)."""
        arr = self._check_theta(theta)
        with torch.no_grad():
            v = float(self._loss(arr, check_t(t)))
        return v + 0.5 * self.weight_decay * float(np.sum(arr * arr))

    def gradient(self, theta: ArrayLike, t: int = 0) -> FloatArray:
        """``grad_i L^(t)(Theta)`` for every neuron ``i``: a ``(width, D)`` float64 array."""
        arr = self._check_theta(theta)
        value = self._loss(arr, check_t(t))
        grads = torch.autograd.grad(value, self._params, allow_unused=True)
        named = {n: torch.zeros_like(p) if g is None else g for n, p, g in zip(self._names, self._params, grads)}
        rows = layer_rows(self.spec, self.model, self.layer, named).to(torch.float64).cpu().numpy()
        if self.weight_decay:
            rows = rows + self.weight_decay * arr
        return np.asarray(rows, dtype=np.float64)


def _as_data(x: torch.Tensor | ArrayLike, name: str) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    t = t.detach()
    if t.ndim == 0 or t.shape[0] == 0:
        raise ValueError(f"{name} must have at least one sample (a first dimension >= 1), got shape {tuple(t.shape)}")
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return t


class TorchRule(StatelessOptimizer):
    """A stateless optimizer (Section 5.2) whose loss is a :class:`NeuronLoss` of a torch model.

    Built by :func:`torch_rule`. Particles are ``(theta_i, state_i)``; ``step(X, lr, t)`` is
    one optimizer step at time ``t`` (mini-batch ``B_t``).

    Attributes:
        neuron_loss: the :class:`NeuronLoss`.
        optimizer: the optimizer's name (one of :data:`OPTIMIZERS`).
        state_keys: the ``torch.optim`` state entries the particle's state columns hold.
    """

    def __init__(self, loss: NeuronLoss, transform: Transform, learning_rate: float, optimizer: str) -> None:
        super().__init__(loss, transform, learning_rate)
        self.neuron_loss = loss
        self.optimizer = optimizer
        self.state_keys = STATE_KEYS[optimizer]
        self.name = f"torch {optimizer} (lr={self.learning_rate:g}) on {loss.spec.layer(loss.layer).name}"

    @property
    def model(self) -> nn.Module:
        """The model whose neurons the rule moves."""
        return self.neuron_loss.model

    @property
    def spec(self) -> NeuronSpec:
        """The neuron spec."""
        return self.neuron_loss.spec

    def initial(self) -> FiniteCollection:
        """The particles of the model as it is now, with zero optimizer state."""
        X = self.augment(self.spec.neurons(self.model, self.neuron_loss.layer))
        assert isinstance(X, FiniteCollection)
        return X

    def load(self, X: Collection | ArrayLike) -> None:
        """Write the parameter part of particles ``X`` into the model."""
        if not isinstance(X, FiniteCollection):
            X = FiniteCollection(np.asarray(X, dtype=np.float64))
        theta = self.parameters(X)
        assert isinstance(theta, FiniteCollection)
        self.spec.load_neurons(self.model, torch.tensor(theta.points), self.neuron_loss.layer)


def _transform(optimizer: str, hyper: dict[str, Any]) -> Transform:
    hyper = dict(hyper)

    def take(key: str, default: Any) -> Any:
        return hyper.pop(key, default)

    if optimizer == "sgd":
        mu = take("momentum", 0.0)
        if mu:
            raise ValueError("optimizer='sgd' has no momentum; use optimizer='momentum' (or 'nesterov')")
        tr = sgd()
    elif optimizer in ("momentum", "nesterov"):
        mu = take("momentum", take("mu", 0.9))
        if take("dampening", 0.0):
            raise ValueError("dampening != 0 is not supported (torch's default is 0)")
        take("nesterov", optimizer == "nesterov")
        tr = momentum(mu, nesterov=optimizer == "nesterov")
    elif optimizer in ("adam", "adam-paper"):
        b1, b2 = take("betas", (0.9, 0.999))
        eps = take("eps", 1e-8)
        if take("amsgrad", False):
            raise ValueError("amsgrad=True is not supported by the stateless Adam transform")
        tr = adam(b1, b2, eps, variant="paper" if optimizer == "adam-paper" else "torch")
    else:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if hyper:
        raise TypeError(f"unknown hyperparameters for optimizer={optimizer!r}: {sorted(hyper)}")
    return tr


def torch_rule(model: nn.Module, spec: NeuronSpec | None = None, *, optimizer: str = "sgd", lr: float,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               inputs: torch.Tensor | ArrayLike, targets: torch.Tensor | ArrayLike,
               batch_size: int | None = None, seed: int | None = 0, layer: int | str = 0,
               weight_decay: float = 0.0, freeze_uncovered: bool = False, **hyper: Any) -> TorchRule:
    """The stateless form of a torch optimizer on the neurons of one layer (Sections 5.1, 5.2).

    ``U^(t)`` acts on particles ``x_i = (theta_i, state_i)`` with the gradient
    ``grad_i L^(t)`` of :class:`NeuronLoss`; one step ``X + lr U^(t)(X)`` is one step of
    ``torch.optim.SGD`` / ``SGD(momentum)`` / ``SGD(nesterov=True)`` / ``Adam`` (see the
    module docstring for the equations, and for ``"adam-paper"``, eq. 16 as printed).

    Args:
        model: the torch model (the working buffer of the loss).
        spec: its neuron spec (default :func:`neuron_spec`).
        optimizer: one of :data:`OPTIMIZERS`.
        lr: the learning rate ``eta > 0`` (the rule is built for it, as eq. 16 is).
        loss_fn, inputs, targets, batch_size, seed, layer, weight_decay, freeze_uncovered:
            as in :class:`NeuronLoss`.
        **hyper: torch's names: ``momentum`` (default 0.9) for momentum/nesterov;
            ``betas=(0.9, 0.999)``, ``eps=1e-8`` for Adam. ``dampening`` and ``amsgrad`` are refused.

    Returns:
        A :class:`TorchRule` (a :class:`~invariance.optimizers.StatelessOptimizer`).

    Example:
        >>> import torch
        >>> from invariance.torch import torch_rule
        >>> torch.manual_seed(0) and None
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1, bias=False))
        >>> model = model.double()
        >>> X, y = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
        >>> rule = torch_rule(model, optimizer="adam", lr=0.01, loss_fn=torch.nn.functional.mse_loss,
        ...                   inputs=X, targets=y)
        >>> Z = rule.initial()                                  # particles (theta, m, v)
        >>> Z.dim, rule.step(Z, 0.01, t=0).n
        (12, 4)
    """
    lr = check_positive(lr, "lr", "a finite learning rate > 0")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    transform = _transform(optimizer, hyper)
    loss = NeuronLoss(model, spec, loss_fn=loss_fn, inputs=inputs, targets=targets, layer=layer,
                      batch_size=batch_size, seed=seed, weight_decay=weight_decay, freeze_uncovered=freeze_uncovered)
    return TorchRule(loss, transform, lr, optimizer)


def _state_keys_of(optimizer: torch.optim.Optimizer) -> tuple[str, ...]:
    if isinstance(optimizer, torch.optim.Adam) and type(optimizer) is torch.optim.Adam:
        for group in optimizer.param_groups:
            if group.get("amsgrad"):
                raise ValueError("Adam with amsgrad=True has no stateless transform here")
        return STATE_KEYS["adam"]
    if type(optimizer) is torch.optim.SGD:
        moms = {float(g.get("momentum", 0.0)) for g in optimizer.param_groups}
        return STATE_KEYS["momentum"] if any(moms) else ()
    raise TypeError("augmented_neurons reads the state of torch.optim.SGD or Adam only, "
                    f"got {type(optimizer).__name__}")


def augmented_neurons(model: nn.Module, spec: NeuronSpec | None = None, *,
                      optimizer: str | torch.optim.Optimizer = "sgd", layer: int | str = 0,
                      state_keys: Sequence[str] | None = None) -> FiniteCollection:
    """The particles ``x_i = (theta_i, state_i)`` of Section 5.2 for the neurons of a model.

    Columns: ``theta_i`` (the layout of :meth:`NeuronSpec.neurons`), then one block of the
    same layout per state entry, in the order of :data:`STATE_KEYS` (``momentum_buffer``;
    ``exp_avg, exp_avg_sq``), exactly the particles of :func:`torch_rule`. With a name the
    state is zero (before the first step); with a ``torch.optim.SGD``/``Adam`` instance it
    is read from the optimizer (zeros where it has none yet), so a run can be continued
    in stateless form at ``t = state["step"]``.

    Args:
        model: the model.
        spec: its neuron spec (default :func:`neuron_spec`).
        optimizer: a name of :data:`OPTIMIZERS`, or a ``torch.optim.SGD``/``Adam``.
        layer: the layer of neurons.
        state_keys: override the state entries read (any optimizer keeping per-parameter
            tensors shaped like the parameters).

    Returns:
        A :class:`~invariance.FiniteCollection` of shape ``(width, (1 + k) * D)``.

    Example:
        >>> import torch
        >>> from invariance.torch import augmented_neurons
        >>> model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
        >>> augmented_neurons(model, optimizer="adam").points.shape     # D = 3 + 1 + 2, theta, m, v
        (5, 18)
    """
    spec = _resolve_spec(model, spec)
    params = dict(model.named_parameters())
    names = [ax.name for ax in spec.parameter_axes(layer, model=model)]
    theta = layer_rows(spec, model, layer, {n: params[n] for n in names})
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS} or a torch optimizer, got {optimizer!r}")
        keys = tuple(state_keys) if state_keys is not None else STATE_KEYS[optimizer]
        blocks = [torch.zeros_like(theta) for _ in keys]
    elif isinstance(optimizer, torch.optim.Optimizer):
        keys = tuple(state_keys) if state_keys is not None else _state_keys_of(optimizer)
        blocks = []
        for key in keys:
            tensors = {}
            for n in names:
                value = optimizer.state.get(params[n], {}).get(key)
                if value is None:
                    value = torch.zeros_like(params[n])
                if not isinstance(value, torch.Tensor) or value.shape != params[n].shape:
                    raise ValueError(f"optimizer state {key!r} of parameter {n!r} is not a tensor shaped like it")
                tensors[n] = value
            blocks.append(layer_rows(spec, model, layer, tensors))
    else:
        raise TypeError(f"optimizer must be a name or a torch.optim.Optimizer, got {type(optimizer).__name__}")
    rows = torch.cat([theta, *blocks], dim=1).to(torch.float64).cpu().numpy()
    return FiniteCollection(rows)
