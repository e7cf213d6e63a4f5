"""Neuron specs: which slices of a torch model's parameters form neuron ``i`` of a layer.

The paper's particles are the neurons of a layer (Section 3): for a hidden layer of
width ``m`` between two linear maps, neuron ``i`` is its incoming weights ``W1[i, :]``, its
bias ``b1[i]`` and its outgoing weights ``W2[:, i]``. Permuting the hidden units,
``(P X)_i = x_{P(i)}``, leaves the network's function unchanged, and this is the symmetry
that every result of the paper rests on. A :class:`NeuronSpec` says, for each layer of
neurons, which tensors of the model carry the neuron index and along which axis; from it:

* :meth:`NeuronSpec.neurons` extracts the neuron collection of a model (one row per
  neuron: the concatenated, flattened slices), a :class:`~invariance.FiniteCollection`;
* :meth:`NeuronSpec.load_neurons` writes a collection back into the model;
* :meth:`NeuronSpec.permute` applies a permutation of the hidden units to the model
  *and* to an optimizer's state, by the rules of :mod:`invariance.torch.state`
  (moments, factored statistics, two-sided preconditioners, flattened and nested state,
  wrapped optimizers, registered permuters); what cannot be permuted is refused with
  :class:`StateNotPermutableError` naming the parameter and the state key.

Specs are built by :func:`mlp_spec` (every hidden layer of an ``nn.Sequential`` of
``Linear`` layers and elementwise activations, with or without biases, with optional
``BatchNorm1d``), :func:`conv_spec` (output channels of ``Conv2d -> activation -> Conv2d``,
with optional ``BatchNorm2d`` and pooling), :func:`neuron_spec` (whichever applies), or by
hand, in the spirit of a weight-space spec::

    NeuronSpec([NeuronLayer("hidden", width=16, axes=(
        ParameterAxis("encoder.weight", 0), ParameterAxis("encoder.bias", 0),
        ParameterAxis("decoder.weight", 1)))])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from ..collections import FiniteCollection
from ..permutations import FinitaryPermutation
from .state import StateNotPermutableError, StatePermutation, apply_plan, state_plan

__all__ = [
    "ParameterAxis",
    "NeuronLayer",
    "NeuronSpec",
    "StateNotPermutableError",
    "mlp_spec",
    "conv_spec",
    "neuron_spec",
    "ELEMENTWISE_MODULES",
]

#: Modules that act on each hidden unit alone (entrywise or per channel), so that a
#: permutation of the units commutes with them.
ELEMENTWISE_MODULES: tuple[type[nn.Module], ...] = (
    nn.Identity, nn.Sigmoid, nn.Tanh, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish, nn.LogSigmoid,
    nn.Tanhshrink, nn.PReLU,
)
_CHANNELWISE_2D: tuple[type[nn.Module], ...] = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass(frozen=True)
class ParameterAxis:
    """A tensor of the model (a parameter or buffer name of ``state_dict``) and its neuron axis."""

    name: str
    axis: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty parameter name, got {self.name!r}")
        if isinstance(self.axis, bool) or not isinstance(self.axis, (int, np.integer)) or self.axis < 0:
            raise ValueError(f"axis must be a non-negative integer, got {self.axis!r}")


@dataclass(frozen=True)
class NeuronLayer:
    """One layer of ``width`` neurons: neuron ``i`` is slice ``i`` along each of ``axes``."""

    name: str
    width: int
    axes: tuple[ParameterAxis, ...]

    def __post_init__(self) -> None:
        if isinstance(self.width, bool) or not isinstance(self.width, (int, np.integer)) or self.width < 1:
            raise ValueError(f"width must be an integer >= 1, got {self.width!r}")
        axes = tuple(self.axes)
        if not axes or not all(isinstance(a, ParameterAxis) for a in axes):
            raise ValueError(f"layer {self.name!r}: axes must be a non-empty sequence of ParameterAxis")
        if len({a.name for a in axes}) != len(axes):
            raise ValueError(f"layer {self.name!r}: a tensor is listed twice in axes")
        object.__setattr__(self, "axes", axes)


def _perm_index(P: FinitaryPermutation | ArrayLike, width: int) -> NDArray[np.int64]:
    """The array ``idx`` with ``idx[i] = P(i)`` on ``{0, ..., width-1}``, validated."""
    if isinstance(P, FinitaryPermutation):
        if P.support and max(P.support) >= width:
            raise ValueError(f"P moves index {max(P.support)}, outside the layer's {width} neurons")
        return np.asarray(P(np.arange(width)), dtype=np.int64)
    arr = np.asarray(P)
    if arr.ndim != 1 or arr.size != width or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"P must be a FinitaryPermutation or an integer array of length {width}, got {arr!r}")
    if not np.array_equal(np.sort(arr), np.arange(width)):
        raise ValueError(f"P is not a bijection of {{0, ..., {width - 1}}}: {arr.tolist()}")
    return arr.astype(np.int64)


class NeuronSpec:
    """Which slices of a model's tensors make up the neurons of each layer.

    Args:
        layers: the layers of neurons, each a :class:`NeuronLayer`.

    Example:
        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
        >>> spec = mlp_spec(model)
        >>> spec.layers[0].width, [a.name for a in spec.layers[0].axes]
        (3, ['0.weight', '0.bias', '2.weight'])
        >>> spec.neurons(model).dim                       # 2 incoming + 1 bias + 1 outgoing
        4
    """

    def __init__(self, layers: Iterable[NeuronLayer]) -> None:
        self.layers: tuple[NeuronLayer, ...] = tuple(layers)
        if not self.layers:
            raise ValueError("layers must not be empty: a NeuronSpec needs at least one layer of neurons")
        if not all(isinstance(layer, NeuronLayer) for layer in self.layers):
            raise TypeError("layers must be NeuronLayer objects")
        if len({layer.name for layer in self.layers}) != len(self.layers):
            raise ValueError("layer names must be distinct")

    def __repr__(self) -> str:
        inner = ", ".join(f"{layer.name}[{layer.width}]" for layer in self.layers)
        return f"NeuronSpec({inner})"

    # -- lookup -------------------------------------------------------------------
    def layer(self, key: int | str = 0) -> NeuronLayer:
        """The layer with index or name ``key``."""
        if isinstance(key, str):
            for layer in self.layers:
                if layer.name == key:
                    return layer
            raise KeyError(f"layer {key!r} is not in the spec; layers: {[la.name for la in self.layers]}")
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise TypeError(f"layer must be an index or a name, got {key!r}")
        if not -len(self.layers) <= key < len(self.layers):
            raise IndexError(f"layer index {key} out of range for {len(self.layers)} layer(s)")
        return self.layers[int(key)]

    @staticmethod
    def _tensors(model: nn.Module) -> dict[str, torch.Tensor]:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        tensors: dict[str, torch.Tensor] = {n: t for n, t in model.named_parameters()}
        tensors.update({n: t for n, t in model.named_buffers()})
        return tensors

    def validate(self, model: nn.Module) -> None:
        """Raise ``ValueError`` unless every tensor of the spec exists with ``width`` entries on its axis."""
        tensors = self._tensors(model)
        for layer in self.layers:
            for ax in layer.axes:
                if ax.name not in tensors:
                    raise ValueError(f"layer {layer.name!r}: the model has no parameter or buffer {ax.name!r}")
                t = tensors[ax.name]
                if ax.axis >= t.ndim or t.shape[ax.axis] != layer.width:
                    raise ValueError(
                        f"layer {layer.name!r}: {ax.name} has shape {tuple(t.shape)}, expected {layer.width} "
                        f"entries along axis {ax.axis}"
                    )

    def uncovered(self, model: nn.Module, layer: int | str | None = None) -> list[str]:
        """Trainable parameters of ``model`` that are in no neuron of ``layer`` (of any layer if ``None``)."""
        layers = self.layers if layer is None else (self.layer(layer),)
        covered = {ax.name for la in layers for ax in la.axes}
        return [n for n, p in model.named_parameters() if p.requires_grad and n not in covered]

    def parameter_axes(self, layer: int | str = 0, trainable_only: bool = True,
                       model: nn.Module | None = None) -> tuple[ParameterAxis, ...]:
        """The axes of ``layer``, restricted to parameters of ``model`` if ``trainable_only``."""
        axes = self.layer(layer).axes
        if model is None or not trainable_only:
            return axes
        params = dict(model.named_parameters())
        return tuple(ax for ax in axes if ax.name in params)

    # -- neurons as a collection ----------------------------------------------------
    def neuron_dim(self, model: nn.Module, layer: int | str = 0) -> int:
        """``D``: the number of coordinates of one neuron of ``layer`` (its parameters only)."""
        tensors = self._tensors(model)
        la = self.layer(layer)
        return sum(tensors[ax.name].numel() // la.width for ax in self.parameter_axes(layer, model=model))

    def neuron_blocks(self, model: nn.Module, layer: int | str = 0) -> list[tuple[str, int, int]]:
        """``(name, start, stop)``: the columns of a neuron row that come from each parameter."""
        tensors = self._tensors(model)
        la = self.layer(layer)
        out, start = [], 0
        for ax in self.parameter_axes(layer, model=model):
            k = tensors[ax.name].numel() // la.width
            out.append((ax.name, start, start + k))
            start += k
        return out

    def neuron_tensor(self, model: nn.Module, layer: int | str = 0) -> torch.Tensor:
        """The neurons of ``layer`` as a ``(width, D)`` tensor (a copy, same dtype and device)."""
        self.validate(model)
        tensors = self._tensors(model)
        la = self.layer(layer)
        parts = [tensors[ax.name].detach().movedim(ax.axis, 0).reshape(la.width, -1)
                 for ax in self.parameter_axes(layer, model=model)]
        return torch.cat(parts, dim=1).clone()

    def neurons(self, model: nn.Module, layer: int | str = 0) -> FiniteCollection:
        """The neuron collection of ``layer``: row ``i`` concatenates neuron ``i``'s parameter slices.

        Column blocks follow the order of the layer's axes (see :meth:`neuron_blocks`);
        values are copied to float64 numpy.
        """
        return FiniteCollection(self.neuron_tensor(model, layer).cpu().to(torch.float64).numpy())

    def load_neurons(self, model: nn.Module, X: FiniteCollection | ArrayLike | torch.Tensor,
                     layer: int | str = 0) -> None:
        """Write the rows of ``X`` (``width x D``) into the model's parameters, in place (inverse of ``neurons``)."""
        self.validate(model)
        la = self.layer(layer)
        tensors = self._tensors(model)
        if isinstance(X, FiniteCollection):
            rows = torch.tensor(X.points)  # a copy: the collection's array is read-only
        elif isinstance(X, torch.Tensor):
            rows = X.detach()
        else:
            rows = torch.tensor(np.asarray(X, dtype=np.float64))  # a copy: the input may be read-only
        D = self.neuron_dim(model, layer)
        if rows.ndim != 2 or tuple(rows.shape) != (la.width, D):
            raise ValueError(f"X must have shape ({la.width}, {D}) for layer {la.name!r}, got {tuple(rows.shape)}")
        if not torch.isfinite(rows).all():
            raise ValueError("X contains NaN or inf")
        with torch.no_grad():
            for name, start, stop in self.neuron_blocks(model, layer):
                t = tensors[name]
                ax = next(a for a in la.axes if a.name == name)
                moved_shape = (la.width,) + tuple(np.delete(np.array(t.shape), ax.axis).tolist())
                block = rows[:, start:stop].reshape(moved_shape).movedim(0, ax.axis)
                t.copy_(block.to(dtype=t.dtype, device=t.device))

    # -- permutations ---------------------------------------------------------------
    def permute(self, model: nn.Module, P: FinitaryPermutation | ArrayLike, layer: int | str = 0,
                optimizer: torch.optim.Optimizer | None = None) -> None:
        """Apply ``P`` to the neurons of ``layer``, in place: ``(P X)_i = x_{P(i)}``.

        Every tensor of the layer (parameters, their ``.grad``, buffers) is permuted along
        its neuron axis; with ``optimizer``, its state is permuted too
        (:meth:`permute_optimizer_state`). The network's function is unchanged.

        Raises:
            ValueError: ``P`` is not a bijection of the layer's indices.
            StateNotPermutableError: an optimizer state entry cannot be permuted.
        """
        self.validate(model)
        la = self.layer(layer)
        idx = _perm_index(P, la.width)
        if optimizer is not None:  # check the whole state before touching anything
            plan, extras = self._state_plan(optimizer, model, la, idx)
        tensors = self._tensors(model)
        with torch.no_grad():
            for ax in la.axes:
                t = tensors[ax.name]
                index = torch.as_tensor(idx, device=t.device)
                t.copy_(t.index_select(ax.axis, index))
                if t.grad is not None:
                    t.grad.copy_(t.grad.index_select(ax.axis, index))
        if optimizer is not None:
            apply_plan(plan, extras)

    def permute_optimizer_state(self, optimizer: torch.optim.Optimizer, model: nn.Module,
                                P: FinitaryPermutation | ArrayLike, layer: int | str = 0) -> None:
        """Permute the state ``optimizer`` keeps for the parameters of ``layer`` (model untouched).

        The rules (:mod:`invariance.torch.state`): tensors shaped like their parameter are
        permuted along its neuron axis, every axis of the layer's width is permuted (row
        factors, two-sided ``P S P^T`` preconditioners), axes of the parameter's or the
        group's flattened size are permuted through the flattening, reductions and the
        non-neuron side are kept, containers and objects entry by entry, the state of
        wrapped optimizers too, and registered permuters
        (:func:`~invariance.torch.state.register_state_permuter`) run last. Anything else
        raises :class:`StateNotPermutableError` naming the parameter and the key.
        """
        self.validate(model)
        la = self.layer(layer)
        apply_plan(*self._state_plan(optimizer, model, la, _perm_index(P, la.width)))

    def state_permutation(self, model: nn.Module, P: FinitaryPermutation | ArrayLike,
                          layer: int | str = 0) -> StatePermutation:
        """The :class:`~invariance.torch.state.StatePermutation` of ``P`` on ``layer``'s neurons of ``model``."""
        self.validate(model)
        la = self.layer(layer)
        return self._perm_context(model, la, _perm_index(P, la.width))

    def _perm_context(self, model: nn.Module, la: NeuronLayer, idx: NDArray[np.int64]) -> StatePermutation:
        tensors = self._tensors(model)
        axes = {id(tensors[ax.name]): ax.axis for ax in la.axes if ax.name in tensors}
        return StatePermutation(idx, axes, {id(p): n for n, p in model.named_parameters()})

    def _state_plan(self, optimizer: Any, model: nn.Module, la: NeuronLayer,
                    idx: NDArray[np.int64]) -> tuple[list[tuple[Any, Any, Any]], list[Any]]:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        return state_plan(optimizer, self._perm_context(model, la, idx))


# -- builders -----------------------------------------------------------------------
def _between_ok(mods: Sequence[nn.Module], width: int, conv: bool) -> tuple[bool, list[nn.Module]]:
    """Whether the modules between two weight layers act unit-wise; the per-unit norms among them."""
    norms: list[nn.Module] = []
    norm_types: tuple[type[nn.Module], ...] = (nn.BatchNorm2d,) if conv else (nn.BatchNorm1d,)
    allowed = ELEMENTWISE_MODULES + (_CHANNELWISE_2D if conv else ())
    for m in mods:
        if isinstance(m, norm_types) and m.num_features == width:
            norms.append(m)
        elif isinstance(m, nn.PReLU) and m.num_parameters not in (1, width):
            return False, []
        elif not isinstance(m, allowed):
            return False, []
    return True, norms


def _sequential_spec(model: nn.Module, kind: type[nn.Module], conv: bool) -> NeuronSpec:
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            f"automatic specs need an nn.Sequential, got {type(model).__name__}; declare a NeuronSpec by hand"
        )
    names = {id(m): n for n, m in model.named_children()}
    children = list(model.children())
    weights = [k for k, m in enumerate(children) if isinstance(m, (nn.Linear, nn.Conv2d))]
    layers: list[NeuronLayer] = []
    for a, b in zip(weights, weights[1:]):
        first, second = children[a], children[b]
        if not (isinstance(first, kind) and isinstance(second, kind)):
            continue
        if conv and (getattr(first, "groups", 1) != 1 or getattr(second, "groups", 1) != 1):
            continue
        width = int(getattr(first, "out_channels" if conv else "out_features"))
        ok, norms = _between_ok(children[a + 1:b], width, conv)
        if not ok:
            continue
        pre = names[id(first)]
        axes = [ParameterAxis(f"{pre}.weight", 0)]
        if first.bias is not None:
            axes.append(ParameterAxis(f"{pre}.bias", 0))
        for m in children[a + 1:b]:
            mname = names[id(m)]
            if m in norms:
                if getattr(m, "weight", None) is not None:
                    axes += [ParameterAxis(f"{mname}.weight", 0), ParameterAxis(f"{mname}.bias", 0)]
                if getattr(m, "running_mean", None) is not None:
                    axes += [ParameterAxis(f"{mname}.running_mean", 0), ParameterAxis(f"{mname}.running_var", 0)]
            elif isinstance(m, nn.PReLU) and m.num_parameters == width and width > 1:
                axes.append(ParameterAxis(f"{mname}.weight", 0))
        axes.append(ParameterAxis(f"{names[id(second)]}.weight", 1))
        layers.append(NeuronLayer(f"{pre}->{names[id(second)]}", width, tuple(axes)))
    if not layers:
        what = "Linear -> activation -> Linear" if not conv else "Conv2d -> activation -> Conv2d"
        raise ValueError(f"no hidden layer of the form {what} found in the model; declare a NeuronSpec by hand")
    spec = NeuronSpec(layers)
    spec.validate(model)
    return spec


def mlp_spec(model: nn.Module) -> NeuronSpec:
    """Every hidden layer of an ``nn.Sequential`` MLP: ``Linear -> unit-wise modules -> Linear``.

    Neuron ``i`` of the hidden layer between ``Linear`` layers ``k`` and ``k'`` is
    ``(W_k[i, :], b_k[i], [BatchNorm gamma_i, beta_i, running stats], W_k'[:, i])``.
    Unit-wise modules are the activations of :data:`ELEMENTWISE_MODULES` and
    ``BatchNorm1d`` of the layer's width; a pair separated by anything else (dropout,
    layer norm, reshapes) forms no layer.

    Example:
        >>> import torch
        >>> mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5, bias=False),
        ...                           torch.nn.Tanh(), torch.nn.Linear(5, 1))
        >>> [(la.name, la.width) for la in mlp_spec(mlp).layers]
        [('0->2', 8), ('2->4', 5)]
    """
    return _sequential_spec(model, nn.Linear, conv=False)


def conv_spec(model: nn.Module) -> NeuronSpec:
    """Output channels of ``Conv2d -> channel-wise modules -> Conv2d`` in an ``nn.Sequential``.

    Neuron ``i`` is the filter ``W1[i]`` (``in_channels x kh x kw``), the bias ``b1[i]`` and
    the slice ``W2[:, i]`` of the next convolution; activations, ``BatchNorm2d`` and
    pooling act per channel. Grouped convolutions form no layer.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
        >>> spec = conv_spec(net)
        >>> spec.layers[0].width, spec.neurons(net).dim        # 9 + 1 + 2 * 9
        (4, 28)
    """
    return _sequential_spec(model, nn.Conv2d, conv=True)


def neuron_spec(model: nn.Module) -> NeuronSpec:
    """The spec of every hidden layer of an ``nn.Sequential`` of Linear or Conv2d layers.

    Layers of both kinds are collected (MLP layers first); ``ValueError`` if none is found.
    """
    layers: list[NeuronLayer] = []
    errors = []
    for builder in (mlp_spec, conv_spec):
        try:
            layers += builder(model).layers
        except ValueError as err:
            errors.append(str(err))
    if not layers:
        raise ValueError("; ".join(errors))
    return NeuronSpec(layers)
