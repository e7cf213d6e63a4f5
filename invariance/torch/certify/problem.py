"""The problem a certificate runs on: a model, data, an optimizer factory, and how one step is taken."""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ...arguments import check_int, check_seed
from ...permutations import FinitaryPermutation
from ...tolerances import Tolerance
from ..specs import NeuronSpec

__all__ = ["default_problem", "DEFAULT_INPUT_DIM", "DEFAULT_WIDTH", "Problem", "StepFn", "DtypeProbe"]

OptimizerFactory = Callable[..., torch.optim.Optimizer]
#: ``step_fn(optimizer, model, loss_fn)`` takes one step; ``loss_fn()`` is the loss on the step's batch.
StepFn = Callable[[torch.optim.Optimizer, nn.Module, Callable[[], torch.Tensor]], Any]
Snapshot = dict[str, torch.Tensor]

#: The default problem's input dimension: odd, so that blocks of the flattened ``(256, 17)``
#: weight (4352 entries) straddle neuron boundaries for every block size 2^k.
DEFAULT_INPUT_DIM = 17
#: The default hidden width: wide enough that the first weight has more than 4096 entries.
DEFAULT_WIDTH = 256

#: Tolerances per torch dtype, relative to the parameter's magnitude (the calibrated round-off is added).
TOLERANCES: dict[torch.dtype, Tolerance] = {
    torch.float64: Tolerance(atol=1e-12, rtol=1e-9),
    torch.float32: Tolerance(atol=1e-6, rtol=1e-5),
    torch.float16: Tolerance(atol=1e-3, rtol=1e-2),
    torch.bfloat16: Tolerance(atol=1e-2, rtol=5e-2),
}


class _DefaultMLP(nn.Sequential):
    """Marker class for the default problem's model (prints as a plain Sequential)."""


def default_problem(input_dim: int = DEFAULT_INPUT_DIM, width: int = DEFAULT_WIDTH, n: int = 64, seed: int = 0,
                    bias: bool = True) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    """The default problem of :func:`~invariance.torch.certify.certify`: a two-layer sigmoid MLP, teacher-student data.

    ``Linear(input_dim, width) -> Sigmoid -> Linear(width, 1)`` (biases unless ``bias=False``),
    initialised with ``torch.manual_seed(seed)``, in float64, and the first ``n`` training
    points of :func:`~invariance.data.teacher_student` (App. C.1, eq. 57). The defaults
    (``17 -> 256 -> 1``) make the first weight 4352 entries long, with an odd row length:
    an optimizer that treats fixed blocks of the *flattened* tensor differently (block-wise
    quantization with blocks of 32 ... 4096 entries, size thresholds up to 4096) breaks
    the neuron symmetry here, where a toy model would hide it.

    Args:
        input_dim: ``d``; width: hidden units; n: data points; seed: seed of model and data;
        bias: whether the linear layers have biases (``False`` for optimizers that accept
            only 2-D parameters, such as ``torch.optim.Muon``).

    Returns:
        ``(model, (x, y))`` with ``x`` of shape ``(n, input_dim)`` and ``y`` of shape ``(n, 1)``.

    Example:
        >>> model, (x, y) = default_problem(n=16)
        >>> tuple(x.shape), tuple(model(x).shape), model[0].weight.numel()
        ((16, 17), (16, 1), 4352)
    """
    from ...data import teacher_student

    input_dim = check_int(input_dim, "input_dim", 1)
    width = check_int(width, "width", 2)
    n = check_int(n, "n", 1)
    seed = check_seed(seed)
    data = teacher_student(n=max(2 * n, 4), input_dim=input_dim, seed=seed)
    x, y = data.tensors(torch.float64)
    g = torch.Generator().manual_seed(seed)
    model = _DefaultMLP(nn.Linear(input_dim, width, bias=bias), nn.Sigmoid(), nn.Linear(width, 1, bias=bias))
    with torch.no_grad():
        for p in model.parameters():
            bound = 1.0 / math.sqrt(p.shape[-1]) if p.ndim == 2 else 0.5
            p.copy_(torch.empty(p.shape, dtype=torch.float64).uniform_(-bound, bound, generator=g).to(p.dtype))
    return model.double(), (x[:n], y[:n])


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def check_optimizer(optimizer: object) -> OptimizerFactory:
    """The optimizer argument: a class or factory ``f(params, **kwargs)``, never an instance."""
    if isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optimizer must be an optimizer class or factory f(params, **kwargs), not an instance: "
                        f"pass type(opt) (= {type(optimizer).__name__}) and its kwargs")
    if not callable(optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer class or a factory f(params, **kwargs), "
                        f"got {type(optimizer).__name__}")
    return optimizer


def check_dtypes(dtypes: object) -> list[torch.dtype]:
    """The dtypes argument: floating torch dtypes, at least one, none repeated."""
    if isinstance(dtypes, torch.dtype):
        dtypes = (dtypes,)
    if isinstance(dtypes, (str, bytes)) or not isinstance(dtypes, Iterable):
        raise TypeError(f"dtypes must be a torch dtype or an iterable of them, got {dtypes!r}")
    out = list(dtypes)
    if not out:
        raise ValueError("dtypes must not be empty")
    for d in out:
        if not isinstance(d, torch.dtype) or not d.is_floating_point:
            raise ValueError(f"dtypes must be floating torch dtypes, got {d!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"dtypes has a repeated entry: {out}")
    return out


def check_data(data: object) -> tuple[torch.Tensor, torch.Tensor]:
    """The data argument: ``(x, y)`` with the same non-zero first dimension and finite entries."""
    from ...data import Dataset

    if isinstance(data, Dataset):
        return data.tensors(torch.float64)
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError("data must be a pair (inputs, targets) of tensors or arrays, or an invariance Dataset")
    x, y = (v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)) for v in data)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"data: inputs and targets need the same non-zero first dimension, got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    for name, t in (("inputs", x), ("targets", y)):
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ValueError(f"data: {name} contain NaN or inf")
    return x, y


def check_tolerance(tolerance: object, dtypes: Sequence[torch.dtype]) -> dict[torch.dtype, Tolerance]:
    """The tolerance argument: ``None`` (the table), one :class:`Tolerance`, or ``{dtype: Tolerance}``."""
    if tolerance is None:
        return {d: TOLERANCES.get(d, TOLERANCES[torch.float16]) for d in dtypes}
    if isinstance(tolerance, Tolerance):
        return {d: tolerance for d in dtypes}
    if isinstance(tolerance, Mapping):
        out = {}
        for d in dtypes:
            t = tolerance.get(d, TOLERANCES.get(d))
            if not isinstance(t, Tolerance):
                raise TypeError(f"tolerance[{d}] must be a Tolerance, got {type(t).__name__}")
            out[d] = t
        return out
    raise TypeError(f"tolerance must be None, a Tolerance or a mapping dtype -> Tolerance, "
                    f"got {type(tolerance).__name__}")


def is_closure_based(opt: torch.optim.Optimizer) -> bool:
    """Whether ``opt.step`` requires a closure (a ``closure`` argument without default, as LBFGS)."""
    try:
        sig = inspect.signature(opt.step)
    except (TypeError, ValueError):
        return False
    p = sig.parameters.get("closure")
    return p is not None and p.default is inspect.Parameter.empty


def group_builder(param_groups: object, lr: Any) -> Callable[[nn.Module], Any]:
    """``model -> params or groups``: ``"single"``, or one group per module with rates ``lr, lr/2, ...``."""
    if callable(param_groups):
        return param_groups
    if param_groups == "single":
        return lambda model: list(model.parameters())

    def split(model: nn.Module) -> list[dict[str, Any]]:
        by_prefix: dict[str, list[torch.Tensor]] = {}
        for n, p in model.named_parameters():
            by_prefix.setdefault(n.rsplit(".", 1)[0] if "." in n else "", []).append(p)
        groups = []
        for k, ps in enumerate(by_prefix.values()):
            g: dict[str, Any] = {"params": ps}
            if isinstance(lr, (int, float)) and not isinstance(lr, bool):
                g["lr"] = float(lr) * 0.5**k
            groups.append(g)
        return groups

    return split


# --------------------------------------------------------------------------------------
# the runs
# --------------------------------------------------------------------------------------
def snapshot(model: nn.Module) -> Snapshot:
    """The model's parameters, detached plain copies."""
    return {n: plain(p).clone() for n, p in model.named_parameters()}


def plain(t: torch.Tensor) -> torch.Tensor:
    """``t`` as a plain float64-comparable tensor: subclasses are dequantised or unwrapped, never crash.

    Raises:
        TypeError: nothing gives a plain value.
    """
    t = t.detach()
    if type(t) in (torch.Tensor, nn.Parameter):
        return t
    for how in ("dequantize", "to_dense"):
        f = getattr(t, how, None)
        if callable(f):
            try:
                out = f()
                if isinstance(out, torch.Tensor) and type(out) is torch.Tensor:
                    return out
            except Exception:  # noqa: BLE001 - try the next way
                pass
    try:
        out = t.as_subclass(torch.Tensor).clone()
        if out.shape == t.shape:
            return out
    except Exception:  # noqa: BLE001
        pass
    raise TypeError(f"a {type(t).__name__} has no plain value")


class Problem:
    """One dtype of a certificate: fresh (model, optimizer) pairs and their runs.

    A step takes the batch of step ``k``, computes the loss under ``torch.enable_grad()``
    and ``backward(create_graph=create_graph)``, and calls ``optimizer.step()`` (with the
    closure when the optimizer needs one), or calls ``step_fn(optimizer, model, loss_fn)``.
    """

    def __init__(self, base: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Callable[..., torch.Tensor],
                 factory: OptimizerFactory, kwargs: dict[str, Any], groups: Callable[[nn.Module], Any],
                 closure_based: bool, warmup: int, steps: int, batches: list[torch.Tensor] | None, seed: int,
                 dtype: torch.dtype, create_graph: bool = False, step_fn: StepFn | None = None) -> None:
        self.base = copy.deepcopy(base).to(dtype)
        self.x = x.to(dtype) if x.is_floating_point() else x
        self.y = y.to(dtype) if y.is_floating_point() else y
        self.loss, self.factory, self.kwargs, self.groups = loss, factory, kwargs, groups
        self.closure_based, self.warmup, self.steps, self.batches = closure_based, warmup, steps, batches
        self.seed, self.dtype, self.create_graph, self.step_fn = seed, dtype, create_graph, step_fn
        self.phase = ""

    @property
    def total(self) -> int:
        """Steps of a run: warm-up and compared."""
        return self.warmup + self.steps

    def batch(self, k: int, shuffle: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of step ``k``; ``shuffle``: a seed reordering its rows (a control of the round-off)."""
        idx = None if self.batches is None else self.batches[k]
        if shuffle is not None:
            n = int(self.x.shape[0]) if idx is None else idx.numel()
            order = torch.randperm(n, generator=torch.Generator().manual_seed(shuffle + k))
            idx = order if idx is None else idx[order]
        if idx is None:
            return self.x, self.y
        return self.x[idx], self.y[idx]

    def step(self, model: nn.Module, opt: torch.optim.Optimizer, k: int, shuffle: int | None = None,
             grad_noise: float = 0.0) -> None:
        """Take step ``k`` (every gradient perturbed by the relative amount ``grad_noise``, a control)."""
        x, y = self.batch(k, shuffle)

        def loss_fn() -> torch.Tensor:
            with torch.enable_grad():
                return self.loss(model(x), y)

        if self.step_fn is not None:
            self.step_fn(opt, model, loss_fn)
            return

        def closure() -> torch.Tensor:
            with torch.enable_grad():
                opt.zero_grad(set_to_none=True)
                value = loss_fn()
                value.backward(create_graph=self.create_graph)
            if grad_noise:
                grads = [p.grad for p in model.parameters() if p.grad is not None and p.grad.is_floating_point()]
                _perturb(grads, self.seed + 104729 + k, grad_noise)
            return value

        if self.closure_based:
            opt.step(closure)  # type: ignore[arg-type]
        else:
            closure()
            opt.step()
        if self.create_graph:  # free the graph the gradients hold
            for p in model.parameters():
                if p.grad is not None:
                    p.grad = p.grad.detach()

    def build(self, spec: NeuronSpec | None = None, P: FinitaryPermutation | None = None,
              layer: int | str = 0) -> tuple[nn.Module, torch.optim.Optimizer]:
        """A fresh model (permuted by ``P`` first, when given) and a fresh optimizer built on it."""
        model = copy.deepcopy(self.base)
        if P is not None and spec is not None:
            spec.permute(model, P, layer)
        return model, self.factory(self.groups(model), **self.kwargs)

    def run(self, spec: NeuronSpec | None = None, P: FinitaryPermutation | None = None, layer: int | str = 0,
            mode: str = "fresh", rng_seed: int | None = None, perturb: bool = False,
            shuffle: int | None = None, grad_noise: float = 0.0, probe: DtypeProbe | None = None,
            ) -> tuple[list[Snapshot], nn.Module, torch.optim.Optimizer]:
        """A run of ``warmup + steps`` steps; the snapshots after each (index 0: the start).

        ``mode="fresh"``: ``P`` permutes the model before the optimizer is built;
        ``mode="state"``: ``P`` permutes model and optimizer state after the warm-up.
        ``perturb``: the parameters are perturbed by one rounding unit after the warm-up;
        ``shuffle``: the rows of every batch are reordered; ``grad_noise``: every gradient is
        perturbed by this relative amount (controls of the round-off); ``probe``: a
        :class:`DtypeProbe` recording the dtypes the steps compute in.
        """
        torch.manual_seed(self.seed if rng_seed is None else rng_seed)
        model, opt = self.build(spec, P if mode == "fresh" else None, layer)
        traj = [snapshot(model)]
        for k in range(self.total):
            if k == self.warmup:
                if P is not None and spec is not None and mode == "state":
                    self.phase = "permuting the optimizer state"
                    spec.permute(model, P, layer, optimizer=opt)
                if perturb:
                    _perturb(list(model.parameters()), self.seed, float(torch.finfo(self.dtype).eps))
            self.phase = f"step {k + 1}"
            with probe if probe is not None else contextlib.nullcontext():
                self.step(model, opt, k, shuffle, grad_noise)
            traj.append(snapshot(model))
        return traj, model, opt


class DtypeProbe(TorchFunctionMode):
    """Records the floating dtypes of every tensor the torch functions called inside it return.

    The precision an optimizer computes in is observed, not looked up: a step that casts to
    bfloat16 for a Newton-Schulz iteration, or keeps float32 moments in a float64 run, shows
    those dtypes here.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[torch.dtype] = set()

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel() > 1:  # not step counters
                self.seen.add(t.dtype)
        return out

    def coarsest(self, default: torch.dtype) -> torch.dtype:
        """The seen dtype with the largest rounding unit (``default`` when none is coarser)."""
        return max(self.seen | {default}, key=lambda d: float(torch.finfo(d).eps))


def _perturb(tensors: list[torch.Tensor], seed: int, rel: float) -> None:
    """Multiply every entry by ``1 + rel u``, ``u`` uniform in ``[-1, 1]`` from a generator seeded ``seed``."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in tensors:
            u = torch.rand(t.shape, generator=g, dtype=torch.float64).mul_(2).sub_(1)
            t.copy_((t.double() * (1 + rel * u)).to(t.dtype))
