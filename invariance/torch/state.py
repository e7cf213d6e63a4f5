"""Optimizer state permuted with the neurons: the particle of Section 5.2 is a neuron *with* its state.

For a stateful optimizer P1 reads ``step(P theta, P s) = P step(theta, s)`` (eq. 16,
Proposition 3 for Adam): the state ``s`` must be permuted with the neurons. This module
says how, for the state a real optimizer keeps, wherever it keeps it:

* **where**: ``optimizer.state`` (entries keyed by parameter, and non-parameter keys),
  and, recursively, the state of every optimizer the optimizer wraps (any attribute that is
  itself a ``torch.optim.Optimizer``: Lookahead's ``optimizer``, SAM's ``base_optimizer``,
  lists of them). Extra state elsewhere on the optimizer object (cached index tensors,
  masks) is permuted by a function registered with :func:`register_state_permuter`;
  :func:`unpermuted_attributes` lists the tensors hanging off an optimizer that nothing
  permutes, so that a certificate can name them.
* **how**, for one state value of a parameter ``p`` whose neuron axis ``a`` has the layer's
  width ``h`` (``(P X)_i = x_{P(i)}`` becomes ``index_select(a, idx)`` with ``idx[i] = P(i)``):

  ==================================  =====================================================
  value                               rule
  ==================================  =====================================================
  ``None``, numbers, strings          kept
  tensor with at most one entry       kept (step counters, scalars)
  tensor shaped like ``p``            permuted along ``a``
  same rank, size 1 on ``a``          kept (a reduction over the neurons)
  a dimension of size ``h``           permuted along it: ``(h,)`` row factors of
                                      Adafactor, ``(h, h)`` on *both* sides (``P S P^T``,
                                      Shampoo/SOAP), ``(h, r)`` projectors (GaLore)
  a dimension of size ``p.numel()``   permuted through ``p``'s flattening
  a dimension of size ``N`` (group)   permuted through the flattening of the whole group
                                      (LBFGS's flat directions)
  no dimension of size ``h``          kept: the non-neuron side (``(d, d)`` for ``(h, d)``,
                                      Adafactor's ``(d,)`` column factor, GaLore's ``(r, d)``);
                                      refused when *no* size is one of ``p``'s
  dict, list, tuple, deque            entry by entry (keys, types and ``maxlen`` kept)
  an object of a registered class     its registered permuter
  any other object                    its attributes (``vars``), on a shallow copy
  ==================================  =====================================================

  A size ``h`` that ``p`` also has on another axis (a square weight) makes a value of
  another shape ambiguous; such a value, a tensor subclass whose indexing fails, and a
  tensor kept under a non-parameter key raise :class:`StateNotPermutableError`, naming the
  parameter and the key path (``'exp_avg_q'/'absmax'``).

Example:
    >>> import torch
    >>> from torch import nn
    >>> from invariance.torch import mlp_spec
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    >>> opt = torch.optim.Adam(model.parameters())
    >>> model(torch.randn(5, 3)).sum().backward(); opt.step()
    >>> mlp_spec(model).permute(model, [1, 0, 2, 3], optimizer=opt)  # model and Adam's moments
"""

from __future__ import annotations

import collections
import copy
import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from numpy.typing import NDArray

__all__ = [
    "StateNotPermutableError",
    "StatePermutation",
    "register_state_permuter",
    "unregister_state_permuter",
    "state_permuter",
    "unpermuted_attributes",
    "wrapped_optimizers",
]


class StateNotPermutableError(ValueError):
    """An optimizer state entry has a shape or type the neuron permutation cannot be carried through.

    ``.key`` is the key path of the entry, ``.parameter`` the parameter's name (or ``None``).
    """

    def __init__(self, message: str, key: str = "", parameter: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.parameter = parameter


#: The optimizer attributes every ``torch.optim.Optimizer`` has, which hold no extra state.
_STANDARD_ATTRIBUTES = frozenset({
    "state", "param_groups", "defaults", "_zero_grad_profile_name", "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
    "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks",
    "_warned_capturable_if_run_uncaptured",
    "_opt_called", "_patch_step_function",
})

_PERMUTERS: dict[type, Callable[..., Any]] = {}


def register_state_permuter(cls: type, fn: Callable[..., Any] | None = None) -> Any:
    """Declare how state of class ``cls`` is permuted with the neurons (usable as a decorator).

    Two kinds, by ``cls``:

    * ``cls`` a ``torch.optim.Optimizer`` subclass: ``fn(optimizer, perm) -> None`` permutes,
      in place, the extra state the optimizer keeps *outside* ``optimizer.state`` (attributes
      such as cached index tensors); it runs after the standard state has been permuted.
    * any other class (a projector, a preconditioner object kept in the state):
      ``fn(value, perm) -> new value`` returns the permuted object; ``perm.parameter`` is
      the parameter the value belongs to.

    ``perm`` is a :class:`StatePermutation`. The registration holds for subclasses too
    (looked up along the MRO); registering a class again replaces its permuter.

    Args:
        cls: the optimizer class or the state object's class.
        fn: the permuter; omitted, the call returns a decorator.

    Returns:
        ``fn`` (or the decorator).

    Example:
        >>> import torch
        >>> class MaskedSGD(torch.optim.SGD):  # caches the positions of its mask on itself
        ...     pass
        >>> @register_state_permuter(MaskedSGD)
        ... def _permute_masks(opt, perm):
        ...     opt.masks = {p: perm.positions(p)[idx] for p, idx in getattr(opt, "masks", {}).items()}
        >>> state_permuter(MaskedSGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)) is _permute_masks
        True
        >>> unregister_state_permuter(MaskedSGD)
    """
    if not isinstance(cls, type):
        raise TypeError(f"cls must be a class, got {type(cls).__name__}")

    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(f):
            raise TypeError(f"fn must be callable, got {type(f).__name__}")
        _PERMUTERS[cls] = f
        return f

    return register if fn is None else register(fn)


def unregister_state_permuter(cls: type) -> None:
    """Remove the permuter registered for ``cls`` (nothing happens if there is none)."""
    _PERMUTERS.pop(cls, None)


def state_permuter(obj: object) -> Callable[..., Any] | None:
    """The permuter registered for ``type(obj)`` or its nearest base class, or ``None``."""
    for klass in type(obj).__mro__:
        if klass in _PERMUTERS:
            return _PERMUTERS[klass]
    return None


@dataclass
class StatePermutation:
    """The permutation of one layer's neurons, as a state permuter sees it.

    Attributes:
        index: ``index[i] = P(i)``: new neuron ``i`` is old neuron ``index[i]``.
        axes: ``{id(p): neuron axis}`` of the layer's parameters (others do not move).
        names: ``{id(p): name}`` of the model's parameters.
        parameter: the parameter the value being permuted belongs to (``None`` outside).
    """

    index: NDArray[np.int64]
    axes: dict[int, int]
    names: dict[int, str]
    parameter: torch.Tensor | None = None

    @property
    def width(self) -> int:
        """The layer's number of neurons."""
        return int(self.index.size)

    def axis(self, p: torch.Tensor) -> int | None:
        """The neuron axis of parameter ``p``, or ``None`` when ``p`` is not in the layer."""
        return self.axes.get(id(p))

    def flat_index(self, p: torch.Tensor) -> torch.Tensor:
        """``F`` with ``(P p).reshape(-1) = p.reshape(-1)[F]``: the permutation through ``p``'s flattening."""
        ar = torch.arange(p.numel()).reshape(p.shape)
        a = self.axis(p)
        if a is not None:
            ar = ar.index_select(a, torch.as_tensor(self.index))
        return ar.reshape(-1)

    def positions(self, p: torch.Tensor) -> torch.Tensor:
        """The new flat position of each old flat position of ``p``: remaps tensors of *indices* into ``p``.

        ``positions(p)[q]`` is where entry ``q`` of ``p.reshape(-1)`` lives after the permutation,
        so a cached index tensor ``idx`` becomes ``perm.positions(p)[idx]``.
        """
        return torch.argsort(self.flat_index(p))

    def permute(self, value: Any, p: torch.Tensor | None = None, key: str = "value") -> Any:
        """``value`` permuted by the standard rules as state of parameter ``p`` (default: :attr:`parameter`)."""
        return _permute_value(value, self, self.parameter if p is None else p, key, {}, None)


def _name(perm: StatePermutation, p: torch.Tensor | None) -> str:
    return "<no parameter>" if p is None else perm.names.get(id(p), "<parameter not in model>")


def _not_permutable(perm: StatePermutation, p: torch.Tensor | None, key: str, why: str) -> StateNotPermutableError:
    name = None if p is None else _name(perm, p)
    where = f"optimizer state {key!r}" + (f" of parameter {name!r}" if name else "")
    return StateNotPermutableError(f"{where} {why}", key=key, parameter=name)


def _tensor_rule(t: torch.Tensor, perm: StatePermutation, p: torch.Tensor | None, key: str,
                 group_flat: torch.Tensor | None) -> torch.Tensor:
    if t.numel() <= 1 or t.ndim == 0:
        return t
    if p is None:
        raise _not_permutable(perm, p, key, f"is a tensor of shape {tuple(t.shape)} not attached to a parameter")
    axis = perm.axis(p)
    moves: list[tuple[int, torch.Tensor]] = []  # (dim, index along it)
    if axis is not None and t.shape == p.shape:
        moves.append((axis, torch.as_tensor(perm.index)))
    elif axis is not None and t.ndim == p.ndim and all(v in (1, s) for v, s in zip(t.shape, p.shape)):
        if t.shape[axis] == p.shape[axis]:
            moves.append((axis, torch.as_tensor(perm.index)))
    else:
        h = perm.width
        other = {s for k, s in enumerate(p.shape) if k != axis}
        for d, s in enumerate(t.shape):
            if group_flat is not None and s == group_flat.numel() and (s != p.numel() or axis is None):
                moves.append((d, group_flat))
            elif axis is None:
                continue  # a parameter outside the layer: its state does not move
            elif s == h and h not in other:
                moves.append((d, torch.as_tensor(perm.index)))
            elif s == p.numel() and s != h:
                moves.append((d, perm.flat_index(p)))
            elif s == h:
                raise _not_permutable(
                    perm, p, key, f"has shape {tuple(t.shape)}: its size {h} matches both the neuron axis {axis} and "
                    f"another axis of the parameter's shape {tuple(p.shape)}, so which side moves is ambiguous")
        known = {1, h, p.numel()} | other | ({group_flat.numel()} if group_flat is not None else set())
        if axis is not None and all(s not in known for s in t.shape):
            raise _not_permutable(
                perm, p, key, f"has shape {tuple(t.shape)}, none of whose sizes is one of the parameter's "
                f"{tuple(p.shape)} (or its flattened size), so how it moves with the neurons is unknown")
    if not moves:
        return t
    out = t
    try:
        for d, index in moves:
            out = out.index_select(d, index.to(out.device))
    except Exception as err:  # tensor subclasses (quantized state) that do not support indexing
        raise _not_permutable(perm, p, key, f"is a {type(t).__name__} whose indexing failed "
                                            f"({type(err).__name__}: {err})") from None
    return out


def _permute_value(value: Any, perm: StatePermutation, p: torch.Tensor | None, key: str, memo: dict[int, Any],
                   group_flat: torch.Tensor | None) -> Any:
    """``value`` permuted as state of ``p`` (``value`` itself when nothing moves)."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, torch.dtype, torch.device)):
        return value
    if id(value) in memo:
        return memo[id(value)]
    fn = state_permuter(value)
    if fn is not None and not isinstance(value, torch.optim.Optimizer):
        saved, perm.parameter = perm.parameter, p
        try:
            out = fn(value, perm)
        except StateNotPermutableError:
            raise
        except Exception as err:
            raise _not_permutable(perm, p, key, f"has a registered permuter that raised {type(err).__name__}: "
                                                f"{err}") from None
        finally:
            perm.parameter = saved
    elif isinstance(value, torch.Tensor):
        out = _tensor_rule(value, perm, p, key, group_flat)
    elif isinstance(value, np.ndarray) and value.dtype != object:
        as_tensor = torch.from_numpy(value)
        moved = _tensor_rule(as_tensor, perm, p, key, group_flat)
        out = value if moved is as_tensor else moved.numpy()
    elif isinstance(value, dict):
        items = {k: _permute_value(v, perm, p, f"{key}/{k!r}", memo, group_flat) for k, v in value.items()}
        if all(items[k] is value[k] for k in value):
            out = value
        else:
            out = copy.copy(value)
            out.update(items)
    elif isinstance(value, (list, tuple, collections.deque)):
        new = [_permute_value(v, perm, p, f"{key}[{j}]", memo, group_flat) for j, v in enumerate(value)]
        if all(a is b for a, b in zip(new, value)):
            out = value
        elif isinstance(value, collections.deque):
            out = collections.deque(new, maxlen=value.maxlen)
        elif isinstance(value, tuple) and hasattr(value, "_fields"):
            out = type(value)(*new)
        else:
            out = type(value)(new)
    elif callable(value) and not hasattr(value, "__dict__"):
        out = value
    elif hasattr(value, "__dict__") and not isinstance(value, (type, torch.nn.Module)):
        attrs = vars(value)
        new_attrs = {k: _permute_value(v, perm, p, f"{key}.{k}", memo, group_flat) for k, v in attrs.items()}
        if all(new_attrs[k] is attrs[k] for k in attrs):
            out = value
        else:
            out = copy.copy(value)
            vars(out).update(new_attrs)
    else:
        out = value  # opaque (no attributes to look into)
    memo[id(value)] = out
    return out


def _group_flat_index(params: Sequence[torch.Tensor], perm: StatePermutation) -> torch.Tensor | None:
    """Index map of a group's concatenated flattened parameters under the permutation (``None`` if none moves)."""
    pieces, offset, moved = [], 0, False
    for p in params:
        if perm.axis(p) is not None:
            moved = True
        pieces.append(perm.flat_index(p) + offset)
        offset += p.numel()
    return torch.cat(pieces) if moved and pieces else None


def wrapped_optimizers(optimizer: torch.optim.Optimizer) -> list[torch.optim.Optimizer]:
    """``optimizer`` and every optimizer it holds as an attribute (or in a list/tuple/dict attribute), recursively."""
    out: list[torch.optim.Optimizer] = []
    seen: set[int] = set()

    def visit(opt: torch.optim.Optimizer) -> None:
        if id(opt) in seen:
            return
        seen.add(id(opt))
        out.append(opt)
        for v in vars(opt).values():
            items: Iterable[Any] = v.values() if isinstance(v, dict) else v if isinstance(v, (list, tuple)) else (v,)
            for item in items:
                if isinstance(item, torch.optim.Optimizer):
                    visit(item)

    visit(optimizer)
    return out


Plan = list[tuple[Any, Any, Any]]


def state_plan(optimizer: torch.optim.Optimizer, perm: StatePermutation) -> tuple[Plan, list[Callable[[], None]]]:
    """What permuting ``optimizer``'s state means, computed before anything is touched.

    Returns:
        ``(plan, extras)``: ``plan`` lists ``(container, key, new value)`` replacements of the
        state of ``optimizer`` and of every optimizer it wraps; ``extras`` are the registered
        optimizer permuters, bound, to run after the plan is applied.

    Raises:
        StateNotPermutableError: an entry cannot be permuted (naming the parameter and key).
    """
    plan: Plan = []
    extras: list[Callable[[], None]] = []
    seen_states: set[int] = set()
    for opt in wrapped_optimizers(optimizer):
        fn = state_permuter(opt)
        if fn is not None:
            extras.append(functools.partial(fn, opt, perm))
        state = getattr(opt, "state", None)
        if not isinstance(state, dict) or id(state) in seen_states:
            continue
        seen_states.add(id(state))
        group_flat: dict[int, torch.Tensor | None] = {}
        for group in getattr(opt, "param_groups", []):
            params = [q for q in group.get("params", []) if isinstance(q, torch.Tensor)]
            flat = _group_flat_index(params, perm)
            for q in params:
                group_flat[id(q)] = flat
        memo: dict[int, Any] = {}
        for p, entry in list(state.items()):
            if isinstance(p, torch.Tensor):
                flat = group_flat.get(id(p))
                if not isinstance(entry, dict):
                    new = _permute_value(entry, perm, p, "state", memo, flat)
                    if new is not entry:
                        plan.append((state, p, new))
                    continue
                for key, value in entry.items():
                    new = _permute_value(value, perm, p, str(key), memo, flat)
                    if new is not value:
                        plan.append((entry, key, new))
            else:  # a key that is not a parameter: global state
                new = _permute_value(entry, perm, None, str(p), memo, None)
                if new is not entry:
                    plan.append((state, p, new))
    return plan, extras


def apply_plan(plan: Plan, extras: Sequence[Callable[[], None]] = ()) -> None:
    """Apply :func:`state_plan`'s replacements, then the registered optimizer permuters."""
    for container, key, new in plan:
        container[key] = new
    for run in extras:
        run()


def _holds_tensor(v: Any, depth: int = 0) -> bool:
    if isinstance(v, torch.Tensor):
        return v.numel() > 1
    if depth > 3:
        return False
    if isinstance(v, dict):
        return any(_holds_tensor(x, depth + 1) for x in v.values())
    if isinstance(v, (list, tuple, collections.deque)):
        return any(_holds_tensor(x, depth + 1) for x in v)
    return False


def unpermuted_attributes(optimizer: torch.optim.Optimizer) -> list[str]:
    """Attributes of ``optimizer`` (and of the optimizers it wraps) holding tensors that nothing permutes.

    Standard attributes, wrapped optimizers and optimizers with a registered permuter are
    left out; what remains (``"MaskedSGD._mask_index"``) is state the neuron permutation
    does not reach, a likely cause when the permuted run disagrees.
    """
    out = []
    for opt in wrapped_optimizers(optimizer):
        if state_permuter(opt) is not None:
            continue
        for k, v in vars(opt).items():
            if k in _STANDARD_ATTRIBUTES or isinstance(v, torch.optim.Optimizer):
                continue
            if _holds_tensor(v):
                out.append(f"{type(opt).__name__}.{k}")
    return out
