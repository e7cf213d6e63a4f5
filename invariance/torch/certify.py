"""Certify that a torch optimizer is permutation-equivariant (P1), or find where it breaks.

P1 (Section 3) asks ``P U^(t)(X) = U^(t)(P X)`` for every finitary permutation ``P`` of
the neurons, ``(P X)_i = x_{P(i)}``. For a stateful optimizer the particle is the neuron
together with its optimizer state (Section 5.2, eq. 16; Proposition 3 proves P1 for Adam),
so P1 says: one step from the permuted model and permuted state equals the permuted
step,

    step(P theta, P s) = P step(theta, s),        i.e.  U_i(P X) = U_{P(i)}(X).

:func:`certify` measures exactly this on a real model. For each dtype, each hidden layer
of a :class:`~invariance.torch.specs.NeuronSpec` and each seeded permutation ``P``:

1. run A: a fresh copy of the model and a fresh optimizer (several parameter groups with
   different learning rates), ``warmup`` steps so that the state is not trivial;
2. run B: the same, then ``spec.permute(model, P, layer, optimizer=opt)`` permutes the
   model *and* the optimizer's state;
3. run ``steps`` more steps on both, on the same batches, and after each step compare
   ``P A`` with ``B`` parameter by parameter (and, at the end, state entry by state
   entry): ``max |(P A)_k - B_k| <= atol + rtol * scale``, ``scale`` the parameter's
   magnitude, ``(atol, rtol)`` the dtype's tolerance
   (:func:`~invariance.tolerances.default_tolerance`).

Run A is repeated with a different global torch seed: if the two runs differ, the step
depends on randomness beyond the parameters and state, and the verdict is
``"stochastic"`` (not certified, and not "not equivariant" either).

A failing permutation is shrunk to a smallest counterexample: the transpositions inside its
support first (the lexicographically smallest failing one is kept), then its single
cycles, shorter cycles, and the permutation with a cycle removed. The certificate lists the
parameter entries of ``P A`` and ``B`` that differ.

Optimizers that compute in a lower precision internally (``torch.optim.Muon`` runs its
Newton-Schulz orthogonalisation in bfloat16) cannot agree with their permuted run to the
float64 tolerance: the permuted run sums in another order, and bfloat16 rounds the
update to 8 bits. Such optimizers get a :class:`PrecisionNote` (from
:data:`INTERNAL_PRECISION`, or ``internal_precision=``): the bound of each parameter gains
``rtol_internal * path``, ``path`` being the summed size of the parameter's updates since
the permutation, and the certificate says so. Every other tolerance is unchanged.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

import numpy as np
import torch
from torch import nn

from ..arguments import check_int, check_seed
from ..permutations import FinitaryPermutation, shrink_permutation
from ..tables import format_table
from ..tolerances import Tolerance
from .specs import NeuronSpec, StateNotPermutableError, _flat_index, _permuted, neuron_spec
from .threads import torch_threads

__all__ = [
    "OptimizerCertificate",
    "OptimizerNotEquivariant",
    "PrecisionNote",
    "INTERNAL_PRECISION",
    "certify",
    "assert_equivariant_optimizer",
    "default_problem",
]

OptimizerFactory = Callable[..., torch.optim.Optimizer]
PermutationsArg = Union[int, FinitaryPermutation, Iterable[FinitaryPermutation]]

VERDICTS = ("equivariant", "not equivariant", "stochastic", "error")

#: The bound of each comparison includes this many times the distance by which a one-ulp
#: perturbation of the parameters at the permutation point has grown by then (the
#: round-off amplification of the dynamics, measured on run A; negligible unless the
#: dynamics are unstable, as LBFGS near convergence).
ROUNDOFF_FACTOR = 10.0

#: Tolerances per torch dtype, relative to the parameter's magnitude.
_TOLERANCES: dict[torch.dtype, Tolerance] = {
    torch.float64: Tolerance(atol=1e-12, rtol=1e-9),
    torch.float32: Tolerance(atol=1e-6, rtol=1e-4),
    torch.float16: Tolerance(atol=1e-3, rtol=1e-2),
    torch.bfloat16: Tolerance(atol=1e-2, rtol=5e-2),
}


@dataclass(frozen=True)
class PrecisionNote:
    """An optimizer computes part of its step in a lower precision ``dtype``.

    The bound of a parameter after ``k`` steps becomes
    ``atol + rtol * scale + rtol_internal * path_k``, with
    ``path_k = sum_{s <= k} max |theta_s - theta_{s-1}|`` over run A: rounding to ``dtype``
    perturbs each update by at most a few units in its last place, ``eps(dtype)``.
    State is compared with ``rtol + rtol_internal`` relative to its magnitude.

    Attributes:
        dtype: the internal dtype, e.g. ``"bfloat16"``.
        rtol_internal: relative tolerance on the update path (a small multiple of ``eps(dtype)``).
        reason: where the lower precision comes from.
    """

    dtype: str
    rtol_internal: float
    reason: str


def _note_for(dtype: torch.dtype, reason: str) -> PrecisionNote:
    eps = float(torch.finfo(dtype).eps)
    return PrecisionNote(str(dtype).replace("torch.", ""), 8.0 * eps, reason)


#: Optimizers known to compute in a lower precision internally, by qualified class name.
INTERNAL_PRECISION: dict[str, PrecisionNote] = {
    "torch.optim.Muon": _note_for(
        torch.bfloat16,
        "torch.optim.Muon orthogonalises the momentum by a Newton-Schulz iteration in bfloat16 "
        "(eps 2^-7 = 7.8e-3); the permuted run sums in another order, so updates agree only to bfloat16 "
        "precision: bound += 8 eps(bfloat16) * (summed update size)",
    ),
}


class OptimizerNotEquivariant(AssertionError):
    """Raised by :func:`assert_equivariant_optimizer`; ``.certificate`` holds the certificate."""

    def __init__(self, certificate: OptimizerCertificate) -> None:
        super().__init__(certificate.summary())
        self.certificate = certificate


@dataclass(frozen=True)
class OptimizerCertificate:
    """The outcome of :func:`certify`: does ``step(P X) = P step(X)`` hold (P1)?

    Attributes:
        verdict: ``"equivariant"``, ``"not equivariant"``, ``"stochastic"`` (two runs from
            the same state differ) or ``"error"`` (the optimizer or model raised).
        optimizer: the optimizer's qualified name; ``kwargs``: its keyword arguments.
        model, loss: descriptions of the problem; ``data``: its description.
        steps, warmup, seed: compared steps, steps before the permutation, seed of everything.
        dtypes: the dtypes run.
        layers: the neuron layers permuted (``name``, ``width``).
        param_groups: the groups given to the optimizer (parameter names, learning rate);
            ``param_groups_note`` says why there is only one when groups were refused.
        closure_based: whether ``step`` was given a closure (LBFGS).
        tolerance: ``{dtype: {"atol", "rtol"}}``; ``precision_note``: the
            :class:`PrecisionNote` as a dict when the optimizer computes in lower precision.
        permutations: every permutation tried: ``dtype``, ``layer``, ``cycles``,
            ``max_abs`` deviation, ``ratio`` (deviation / bound, > 1 fails), ``passed``.
        per_parameter: ``{dtype: {name: {"max_abs", "scale", "bound", "ratio"}}}``, the
            worst over permutations and steps.
        per_step: ``{dtype: [{"step", "max_abs", "ratio"}]}``, the worst over parameters.
        state: ``{dtype: {"max_abs", "ratio", "compared"}}``: state entries compared after
            the last step (permuted state of A against state of B).
        determinism: ``{dtype: max |A - A'|}`` between two runs of A.
        roundoff: ``{dtype: max |A~ - A|}``, where A~ starts from A's parameters perturbed by one
            rounding unit at the permutation point: how much the dynamics amplify round-off.
            Each bound includes ``roundoff_factor`` times this distance (at that step, for
            that parameter); it matters only for unstable dynamics (LBFGS near convergence).
        max_deviation: the largest ``|P A - B|`` entry; ``max_ratio``: the largest deviation
            over its bound.
        counterexample: ``None``, or the smallest failing permutation found: ``dtype``,
            ``layer``, ``cycles``, ``moved_indices``, ``found`` (cycles of the permutation it
            was shrunk from), ``step``, and ``entries`` (parameter, index, ``P A``, ``B``,
            difference, bound).
        error: the reason of an ``"error"`` verdict.
        versions: torch, invariance, python; ``elapsed_s``: wall time.
    """

    verdict: str
    optimizer: str
    kwargs: dict[str, Any]
    model: str
    loss: str
    data: str
    steps: int
    warmup: int
    seed: int
    dtypes: list[str]
    layers: list[dict[str, Any]]
    param_groups: list[dict[str, Any]]
    param_groups_note: str | None
    closure_based: bool
    tolerance: dict[str, dict[str, float]]
    precision_note: dict[str, Any] | None
    permutations: list[dict[str, Any]]
    per_parameter: dict[str, dict[str, dict[str, float]]]
    per_step: dict[str, list[dict[str, float]]]
    state: dict[str, dict[str, float]]
    determinism: dict[str, float]
    max_deviation: float
    max_ratio: float
    counterexample: dict[str, Any] | None
    error: str | None
    versions: dict[str, str]
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    roundoff: dict[str, float] = field(default_factory=dict)
    roundoff_factor: float = 0.0

    def __bool__(self) -> bool:
        return self.verdict == "equivariant"

    @property
    def certified(self) -> bool:
        """Whether the verdict is ``"equivariant"``."""
        return self.verdict == "equivariant"

    # -- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return _jsonable(asdict(self))

    def to_json(self, path: str | None = None, indent: int = 2) -> str:
        """The certificate as JSON text (also written to ``path`` when given)."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text + "\n")
        return text

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OptimizerCertificate:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in fields(cls)}
        missing = names - set(d) - {"elapsed_s", "notes", "roundoff", "roundoff_factor"}
        if missing:
            raise ValueError(f"not a certificate: missing fields {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> OptimizerCertificate:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # -- report ---------------------------------------------------------------------
    def summary(self) -> str:
        """A readable report: header, deviations per parameter and per step, counterexample."""
        head = {
            "verdict": self.verdict.upper(),
            "optimizer": f"{self.optimizer}({_kw(self.kwargs)})",
            "model": self.model,
            "loss / data": f"{self.loss} on {self.data}",
            "steps": f"{self.steps} compared after {self.warmup} warm-up step(s), seed {self.seed}",
            "closure": "yes (step(closure))" if self.closure_based else "no",
            "layers": ", ".join(f"{la['name']} [{la['width']}]" for la in self.layers),
            "param groups": "; ".join(
                f"{{{', '.join(g['params'])}}} lr={_num(g.get('lr'))}" for g in self.param_groups
            ) + (f" ({self.param_groups_note})" if self.param_groups_note else ""),
            "tolerance": "; ".join(f"{dt}: atol {_num(t['atol'])} + rtol {_num(t['rtol'])} * |theta|"
                                   for dt, t in self.tolerance.items())
                         + (f" (+ {_num(self.precision_note['rtol_internal'])} * summed update size, "
                            f"internal {self.precision_note['dtype']})" if self.precision_note else ""),
            "permutations": f"{len(self.permutations)} tried"
                            f" ({sum(1 for p in self.permutations if not p['passed'])} failed)",
            "max deviation": f"{_num(self.max_deviation)} (deviation / bound = {_num(self.max_ratio)})",
            "round-off": "; ".join(f"{dt}: a 1-ulp perturbation grows to {_num(v)}" for dt, v in self.roundoff.items())
                         + (f" (bound += {self.roundoff_factor:g} x that)" if self.roundoff else ""),
            "versions": ", ".join(f"{k} {v}" for k, v in self.versions.items()),
        }
        if self.precision_note:
            head["internal precision"] = f"{self.precision_note['dtype']}: {self.precision_note['reason']}"
        if self.error:
            head["error"] = self.error
        width = max(len(k) for k in head)
        lines = [f"P1 certificate (step(P X) = P step(X)): {self.verdict.upper()}"]
        lines += [f"  {k.ljust(width)} : {v}" for k, v in head.items() if k != "verdict"]
        lines += [f"  note: {n}" for n in self.notes]
        if self.verdict == "stochastic":
            lines.append("  two runs from the same state differ (max |A - A'| per dtype: "
                         + ", ".join(f"{k} {_num(v)}" for k, v in self.determinism.items())
                         + "): the step is random, so P1 cannot be certified")
        rows = []
        for dt, params in self.per_parameter.items():
            for name, r in params.items():
                rows.append([dt, name, r["max_abs"], r["scale"], r["bound"], r["ratio"], r["ratio"] <= 1.0])
            st = self.state.get(dt)
            if st and st.get("compared"):
                rows.append([dt, f"state ({int(st['compared'])} entries)", st["max_abs"], st.get("scale", float("nan")),
                             st.get("bound", float("nan")), st["ratio"], st["ratio"] <= 1.0])
        if rows:
            lines += ["", "max |P A - B| per parameter (over permutations and steps):",
                      _table(["dtype", "parameter", "max dev", "scale", "bound", "dev/bound", "ok"], rows)]
        if self.per_step:
            nsteps = max(len(st) for st in self.per_step.values())
            lines += ["", "max |P A - B| per step (worst parameter):"]
            if nsteps <= 8:
                srows = [[dt, *(r["max_abs"] for r in st)] for dt, st in self.per_step.items()]
                lines.append(_table(["dtype", *(f"step {k + 1}" for k in range(nsteps))], srows))
            else:
                dts = list(self.per_step)
                srows = [[k + 1, "", *(self.per_step[dt][k]["max_abs"] if k < len(self.per_step[dt]) else "-"
                                       for dt in dts)] for k in range(nsteps)]
                lines.append(_table(["step", "", *dts], srows))
        ce = self.counterexample
        if ce:
            lines += ["", f"counterexample: layer {ce['layer']}, permutation {_cycles(ce['cycles'])} "
                          f"({ce['moved_indices']} moved indices; shrunk from {_cycles(ce['found'])}), "
                          f"{ce['dtype']}, first failing step {ce['step']}:"]
            erows = [[e["parameter"], str(tuple(e["index"])), e["P A"], e["B"], e["difference"], e["bound"]]
                     for e in ce["entries"]]
            lines.append(_table(["parameter", "index", "(P A) entry", "B entry", "difference", "bound"], erows))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v.item())
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, torch.dtype):
        return str(v).replace("torch.", "")
    return repr(v)


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.3g}"
    return str(v)


def _kw(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _cycles(c: Sequence[Sequence[int]]) -> str:
    return "".join("(" + " ".join(str(i) for i in cyc) + ")" for cyc in c) or "()"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> Any:
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "NO"
        if isinstance(v, float):
            return _num(v)
        return v

    return format_table(headers, [[cell(v) for v in r] for r in rows], left=2, indent="  ")


def _qualname(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    public = mod
    if mod.startswith("torch.optim.") and hasattr(torch.optim, name):
        public = "torch.optim"
    return f"{public}.{name}" if public else name


def _precision_note(opt: torch.optim.Optimizer) -> PrecisionNote | None:
    for cls in type(opt).__mro__:
        for key in (f"{cls.__module__}.{cls.__qualname__}", _qualname(cls)):
            if key in INTERNAL_PRECISION:
                return INTERNAL_PRECISION[key]
    return None


def _is_closure_based(opt: torch.optim.Optimizer) -> bool:
    try:
        sig = inspect.signature(opt.step)
    except (TypeError, ValueError):
        return False
    p = sig.parameters.get("closure")
    return p is not None and p.default is inspect.Parameter.empty


class _DefaultMLP(nn.Sequential):
    """Marker class for the default problem's model (prints as a plain Sequential)."""


def default_problem(input_dim: int = 2, width: int = 8, n: int = 64, seed: int = 0,
                    bias: bool = True) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    """The default problem of :func:`certify`: a two-layer sigmoid MLP on teacher-student data.

    ``Linear(input_dim, width) -> Sigmoid -> Linear(width, 1)`` (biases unless ``bias=False``),
    initialised with ``torch.manual_seed(seed)``, in float64, and the first ``n`` training
    points of :func:`~invariance.data.teacher_student` (App. C.1, eq. 57).

    Args:
        input_dim: ``d``; width: hidden units; n: data points; seed: seed of model and data;
            bias: whether the linear layers have biases (``False`` for optimizers such as
            ``torch.optim.Muon`` that accept only 2-D parameters).

    Returns:
        ``(model, (x, y))`` with ``x`` of shape ``(n, input_dim)`` and ``y`` of shape ``(n, 1)``.

    Example:
        >>> model, (x, y) = default_problem(n=16)
        >>> tuple(x.shape), tuple(model(x).shape)
        ((16, 2), (16, 1))
    """
    from ..data import teacher_student

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
def _check_optimizer(optimizer: object) -> OptimizerFactory:
    if isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optimizer must be an optimizer class or factory f(params, **kwargs), not an instance: "
                        f"pass type(opt) (= {type(optimizer).__name__}) and its kwargs")
    if not callable(optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer class or a factory f(params, **kwargs), "
                        f"got {type(optimizer).__name__}")
    return optimizer


def _check_dtypes(dtypes: object) -> list[torch.dtype]:
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


def _check_data(data: object) -> tuple[torch.Tensor, torch.Tensor]:
    from ..data import Dataset

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


def _check_tolerance(tolerance: object, dtypes: Sequence[torch.dtype]) -> dict[torch.dtype, Tolerance]:
    if tolerance is None:
        return {d: _TOLERANCES.get(d, _TOLERANCES[torch.float16]) for d in dtypes}
    if isinstance(tolerance, Tolerance):
        return {d: tolerance for d in dtypes}
    if isinstance(tolerance, Mapping):
        out = {}
        for d in dtypes:
            t = tolerance.get(d, _TOLERANCES.get(d))
            if not isinstance(t, Tolerance):
                raise TypeError(f"tolerance[{d}] must be a Tolerance, got {type(t).__name__}")
            out[d] = t
        return out
    raise TypeError(f"tolerance must be None, a Tolerance or a mapping dtype -> Tolerance, "
                    f"got {type(tolerance).__name__}")


# --------------------------------------------------------------------------------------
# the runs
# --------------------------------------------------------------------------------------
Snapshot = dict[str, torch.Tensor]


class _Problem:
    """One dtype: builds fresh (model, optimizer) pairs and runs them."""

    def __init__(self, base: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Callable[..., torch.Tensor],
                 factory: OptimizerFactory, kwargs: dict[str, Any], groups: Callable[[nn.Module], Any],
                 closure_based: bool, warmup: int, steps: int, batches: list[torch.Tensor] | None, seed: int,
                 dtype: torch.dtype) -> None:
        self.base = copy.deepcopy(base).to(dtype)
        self.x = x.to(dtype) if x.is_floating_point() else x
        self.y = y.to(dtype) if y.is_floating_point() else y
        self.loss, self.factory, self.kwargs, self.groups = loss, factory, kwargs, groups
        self.closure_based, self.warmup, self.steps, self.batches = closure_based, warmup, steps, batches
        self.seed, self.dtype = seed, dtype

    def fresh(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        model = copy.deepcopy(self.base)
        return model, self.factory(self.groups(model), **self.kwargs)

    def _step(self, model: nn.Module, opt: torch.optim.Optimizer, k: int) -> None:
        if self.batches is None:
            x, y = self.x, self.y
        else:
            idx = self.batches[k]
            x, y = self.x[idx], self.y[idx]

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            value = self.loss(model(x), y)
            value.backward()
            return value

        if self.closure_based:
            opt.step(closure)  # type: ignore[arg-type]
        else:
            closure()
            opt.step()

    def run(self, spec: NeuronSpec | None = None, P: FinitaryPermutation | None = None, layer: int | str = 0,
            rng_seed: int | None = None, perturb: bool = False,
            ) -> tuple[list[Snapshot], nn.Module, torch.optim.Optimizer]:
        """Warm up, permute (``P``) or perturb by one rounding unit (``perturb``), then run ``steps`` steps."""
        torch.manual_seed(self.seed if rng_seed is None else rng_seed)
        model, opt = self.fresh()
        for k in range(self.warmup):
            self._step(model, opt, k)
        if P is not None and spec is not None:
            spec.permute(model, P, layer, optimizer=opt)
        if perturb:
            g = torch.Generator().manual_seed(self.seed)
            eps = float(torch.finfo(self.dtype).eps)
            with torch.no_grad():
                for p in model.parameters():
                    u = torch.rand(p.shape, generator=g, dtype=torch.float64).mul_(2).sub_(1)
                    p.copy_((p.double() * (1 + eps * u)).to(p.dtype))
        traj = [_snapshot(model)]
        for k in range(self.steps):
            self._step(model, opt, self.warmup + k)
            traj.append(_snapshot(model))
        return traj, model, opt


def _snapshot(model: nn.Module) -> Snapshot:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _permute_snapshot(s: Snapshot, axes: Mapping[str, int], idx: torch.Tensor) -> Snapshot:
    return {n: (t.index_select(axes[n], idx) if n in axes else t) for n, t in s.items()}


@dataclass
class _Comparison:
    """``P A`` against ``B`` for one permutation of one layer."""

    perm: FinitaryPermutation
    layer: str
    ratio: float
    max_abs: float
    first_fail: int | None
    per_param: dict[str, dict[str, float]]
    per_step: list[dict[str, float]]
    state: dict[str, float]
    entries: list[dict[str, Any]]
    roundoff_used: bool = False


@dataclass
class _Roundoff:
    """How far one rounding unit at the permutation point carries: ``max_{j <= k} |A~_j - A_j|`` per parameter."""

    per_step: list[dict[str, float]]
    state: float

    @property
    def worst(self) -> float:
        return max([v for d in self.per_step for v in d.values()] + [0.0])


def _roundoff(traj_a: list[Snapshot], traj_s: list[Snapshot], opt_a: torch.optim.Optimizer,
              opt_s: torch.optim.Optimizer) -> _Roundoff:
    per_step: list[dict[str, float]] = []
    envelope: dict[str, float] = {}
    for a, s in zip(traj_a[1:], traj_s[1:]):
        for n in a:  # the running maximum: chaotic dynamics dip and spike from step to step
            dev = float((a[n].double() - s[n].double()).abs().max()) if a[n].numel() else 0.0
            envelope[n] = max(envelope.get(n, 0.0), dev if math.isfinite(dev) else math.inf)
        per_step.append(dict(envelope))
    state = 0.0
    for ga, gs in zip(opt_a.param_groups, opt_s.param_groups):
        for pa, ps in zip(ga["params"], gs["params"]):
            sa, ss = opt_a.state.get(pa, {}), opt_s.state.get(ps, {})
            for key, va in sa.items():
                if key in ss:
                    state = max(state, _state_dev(va, ss[key])[0])
    return _Roundoff(per_step, state)


def _state_dev(a: Any, b: Any) -> tuple[float, float, int]:
    """max |a - b|, max magnitude, number of compared entries (recursing into lists)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        dev = scale = 0.0
        n = 0
        for u, v in zip(a, b):
            d, s, m = _state_dev(u, v)
            dev, scale, n = max(dev, d), max(scale, s), n + m
        return dev, scale, n
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or not a.is_floating_point():
            return 0.0, 0.0, 0
        if a.numel() == 0:
            return 0.0, 0.0, 0
        ad, bd = a.detach().double(), b.detach().double()
        return float((ad - bd).abs().max()), float(torch.maximum(ad.abs().max(), bd.abs().max())), 1
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)), max(abs(float(a)), abs(float(b))), 1
    return 0.0, 0.0, 0


def _compare(traj_a: list[Snapshot], traj_b: list[Snapshot], opt_a: torch.optim.Optimizer,
             opt_b: torch.optim.Optimizer, model_a: nn.Module, spec: NeuronSpec, layer: int | str,
             P: FinitaryPermutation, tol: Tolerance, note: PrecisionNote | None, compare_state: bool,
             roundoff: _Roundoff | None = None, n_entries: int = 6) -> _Comparison:
    la = spec.layer(layer)
    idx_np = np.asarray(P(np.arange(la.width)), dtype=np.int64)
    idx = torch.as_tensor(idx_np)
    params = set(traj_a[0])
    axes = {ax.name: ax.axis for ax in la.axes if ax.name in params}
    per_param: dict[str, dict[str, float]] = {}
    per_step: list[dict[str, float]] = []
    path = {n: 0.0 for n in params}
    worst_ratio, worst_abs, first_fail = 0.0, 0.0, None
    entries: list[dict[str, Any]] = []
    used = False
    for k in range(1, len(traj_a)):
        pa = _permute_snapshot(traj_a[k], axes, idx)
        step_ratio = step_abs = 0.0
        for n, b in traj_b[k].items():
            a = pa[n]
            ad, bd = a.double(), b.double()
            diff = (ad - bd).abs()
            dev = float(diff.max()) if diff.numel() else 0.0
            if not math.isfinite(dev):
                dev = math.inf
            scale = float(torch.maximum(ad.abs().max(), bd.abs().max())) if diff.numel() else 0.0
            path[n] += float((traj_a[k][n] - traj_a[k - 1][n]).double().abs().max()) if diff.numel() else 0.0
            bound = tol.bound(scale) + (note.rtol_internal * path[n] if note else 0.0)
            if roundoff is not None:
                if dev > bound:
                    used = True
                bound += ROUNDOFF_FACTOR * roundoff.per_step[k - 1].get(n, 0.0)
            ratio = dev / bound if bound > 0 else (0.0 if dev == 0 else math.inf)
            rec = per_param.setdefault(n, {"max_abs": 0.0, "scale": 0.0, "bound": 0.0, "ratio": 0.0})
            if ratio >= rec["ratio"]:
                rec.update(max_abs=dev, scale=scale, bound=bound, ratio=ratio)
            step_ratio, step_abs = max(step_ratio, ratio), max(step_abs, dev)
            if ratio > 1.0 and first_fail in (None, k):
                first_fail = k
                bad = torch.nonzero(diff > bound, as_tuple=False)
                order = diff[tuple(bad.T)].argsort(descending=True) if bad.numel() else torch.zeros(0, dtype=torch.long)
                for j in order[:n_entries].tolist():
                    ix = tuple(int(v) for v in bad[j].tolist())
                    entries.append({"parameter": n, "index": list(ix), "P A": float(ad[ix]), "B": float(bd[ix]),
                                    "difference": float(ad[ix] - bd[ix]), "bound": bound})
        per_step.append({"step": k, "max_abs": step_abs, "ratio": step_ratio})
        worst_ratio, worst_abs = max(worst_ratio, step_ratio), max(worst_abs, step_abs)
    entries.sort(key=lambda e: -abs(e["difference"]))
    state = {"max_abs": 0.0, "scale": 0.0, "bound": 0.0, "ratio": 0.0, "compared": 0.0}
    if compare_state:
        names = {id(p): n for n, p in model_a.named_parameters()}
        groups_a = [list(g["params"]) for g in opt_a.param_groups]
        groups_b = [list(g["params"]) for g in opt_b.param_groups]
        rtol = tol.rtol + (note.rtol_internal if note else 0.0)
        for ga, gb in zip(groups_a, groups_b):
            flat = _flat_index(ga, names, axes, idx_np)
            for pa_, pb_ in zip(ga, gb):
                sa, sb = opt_a.state.get(pa_, {}), opt_b.state.get(pb_, {})
                name = names.get(id(pa_), "?")
                for key, va in sa.items():
                    if key not in sb:
                        continue
                    try:
                        va_p = _permuted(va, pa_, axes.get(name), idx_np, flat, name, key)
                    except StateNotPermutableError:
                        continue
                    dev, scale, m = _state_dev(va_p, sb[key])
                    if not m:
                        continue
                    bound = tol.atol + rtol * scale + (ROUNDOFF_FACTOR * roundoff.state if roundoff else 0.0)
                    ratio = dev / bound if bound > 0 else (0.0 if dev == 0 else math.inf)
                    state["compared"] += m
                    if ratio >= state["ratio"]:
                        state.update(max_abs=dev, scale=scale, bound=bound, ratio=ratio)
        worst_ratio = max(worst_ratio, state["ratio"])
        if state["ratio"] > 1.0 and first_fail is None:
            first_fail = len(traj_a) - 1
    return _Comparison(P, la.name, worst_ratio, worst_abs, first_fail, per_param, per_step, state, entries,
                       used and worst_ratio <= 1.0)


def _layer_permutations(permutations: PermutationsArg, width: int, rng: np.random.Generator,
                        layer: str) -> list[FinitaryPermutation]:
    if width < 2:
        return []  # one neuron: FSym of the layer is trivial
    if isinstance(permutations, (int, np.integer)) and not isinstance(permutations, bool):
        out: list[FinitaryPermutation] = []
        i, j = rng.choice(width, size=2, replace=False).tolist()
        out.append(FinitaryPermutation.transposition(int(i), int(j)))
        tries = 0
        while len(out) < int(permutations) and tries < 100 * int(permutations):
            tries += 1
            P = FinitaryPermutation.random(width, seed=rng)
            if not P.is_identity() and P not in out:
                out.append(P)
        return out
    perms = [permutations] if isinstance(permutations, FinitaryPermutation) else list(permutations)  # type: ignore
    for k, P in enumerate(perms):
        if P.support and max(P.support) >= width:
            raise ValueError(f"permutations[{k}] moves index {max(P.support)}, outside layer {layer!r} of width "
                             f"{width}")
    return perms


def _check_permutations(permutations: object) -> PermutationsArg:
    if isinstance(permutations, bool):
        raise TypeError("permutations must be a count, a FinitaryPermutation or an iterable of them, got a bool")
    if isinstance(permutations, (int, np.integer)):
        return check_int(permutations, "permutations", 1)
    if isinstance(permutations, FinitaryPermutation):
        perms = [permutations]
    elif isinstance(permutations, Iterable) and not isinstance(permutations, (str, bytes)):
        perms = list(permutations)
    else:
        raise TypeError(f"permutations must be a count, a FinitaryPermutation or an iterable of them, "
                        f"got {type(permutations).__name__}")
    if not perms:
        raise ValueError("permutations must not be empty")
    for k, P in enumerate(perms):
        if not isinstance(P, FinitaryPermutation):
            raise TypeError(f"permutations[{k}] must be a FinitaryPermutation, got {type(P).__name__}")
        if P.is_identity():
            raise ValueError(f"permutations[{k}] is the identity, which checks nothing")
    return perms


def _group_builder(param_groups: object, lr: Any) -> Callable[[nn.Module], Any]:
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


def _describe_groups(model: nn.Module, opt: torch.optim.Optimizer) -> list[dict[str, Any]]:
    names = {id(p): n for n, p in model.named_parameters()}
    return [{"params": [names.get(id(p), "?") for p in g["params"]], "lr": _jsonable(g.get("lr"))}
            for g in opt.param_groups]


def _versions() -> dict[str, str]:
    from .. import __version__

    return {"torch": torch.__version__, "invariance": __version__, "python": platform.python_version()}


# --------------------------------------------------------------------------------------
# certify
# --------------------------------------------------------------------------------------
@torch_threads(1)  # tiny problems: threads only add overhead and run-to-run variation
def certify(
    optimizer: OptimizerFactory | type[torch.optim.Optimizer],
    model: nn.Module | None = None,
    loss: Callable[..., torch.Tensor] | None = None,
    data: Any = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    steps: int = 5,
    warmup: int = 2,
    permutations: PermutationsArg = 3,
    spec: NeuronSpec | None = None,
    layers: Sequence[int | str] | None = None,
    param_groups: str | Callable[[nn.Module], Any] = "auto",
    dtypes: Sequence[torch.dtype] | torch.dtype = (torch.float64, torch.float32),
    seed: int | None = 0,
    tolerance: Tolerance | Mapping[torch.dtype, Tolerance] | None = None,
    closure_based: bool | None = None,
    batch_size: int | None = None,
    compare_state: bool = True,
    internal_precision: torch.dtype | None = None,
    shrink: bool = True,
) -> OptimizerCertificate:
    """Certify P1 for a torch optimizer: ``step(P theta, P s) = P step(theta, s)`` (Sections 3, 5.2).

    For each dtype, layer and permutation ``P``, runs A (model and fresh optimizer) and
    B = ``P A`` (``spec.permute(model, P, layer, optimizer=opt)`` after ``warmup`` steps) for
    ``steps`` steps on the same batches and checks, after every step and for every
    parameter, ``max |(P A)_k - B_k| <= atol + rtol * scale`` (``U_i(P X) = U_{P(i)}(X)``,
    Proposition 3 for Adam); the state is compared after the last step. Run A is repeated
    with another global torch seed: a difference makes the verdict ``"stochastic"``.

    Args:
        optimizer: a ``torch.optim.Optimizer`` class or a factory ``f(params, **kwargs)``.
        model: an ``nn.Module`` (copied, never modified); default: :func:`default_problem`'s
            two-layer sigmoid MLP with biases, or without biases when the optimizer refuses
            1-D parameters (``torch.optim.Muon``).
        loss: ``loss(model(x), y) -> scalar``; default ``torch.nn.functional.mse_loss``.
        data: ``(x, y)`` tensors or arrays, or a :class:`~invariance.data.Dataset`; default:
            64 teacher-student points (App. C.1).
        kwargs: keyword arguments of the optimizer.
        steps: compared steps (>= 1); warmup: steps before the permutation (>= 0), so that the
            permuted state is not empty.
        permutations: a count ``n`` (per layer: one random transposition and ``n - 1`` random
            permutations, seeded), or explicit :class:`FinitaryPermutation` objects.
        spec: the :class:`NeuronSpec`; default ``neuron_spec(model)``.
        layers: indices or names of the spec's layers to permute; default all.
        param_groups: ``"auto"`` (one group per module, learning rates ``lr, lr/2, ...``; one
            group if the optimizer refuses groups, as LBFGS), ``"split"`` (no fallback),
            ``"single"``, or a callable ``model -> params or groups``.
        dtypes: the dtypes to run in (each a floating torch dtype).
        seed: seed of the model, data, batches, permutations and torch's global RNG.
        tolerance: a :class:`~invariance.tolerances.Tolerance` or ``{dtype: Tolerance}``
            overriding the per-dtype table (float64: 1e-12 + 1e-9 |theta|, float32: 1e-6 +
            1e-4 |theta|).
        closure_based: whether ``step`` needs a closure; default: detected from the signature.
        batch_size: mini-batches of this size, the same seeded sequence for every run;
            default full batch.
        compare_state: also compare the permuted state of A with the state of B.
        internal_precision: the optimizer computes in this dtype internally (adds a
            :class:`PrecisionNote`); default from :data:`INTERNAL_PRECISION`.
        shrink: shrink a failing permutation to a smallest counterexample.

    Returns:
        An :class:`OptimizerCertificate`.

    Raises:
        TypeError, ValueError: invalid arguments (each names the argument). Failures of the
            optimizer or the model itself are reported as verdict ``"error"``.

    Example:
        >>> import torch
        >>> cert = certify(torch.optim.SGD, kwargs={"lr": 0.1, "momentum": 0.9}, dtypes=(torch.float64,), steps=2)
        >>> cert.verdict, cert.counterexample is None
        ('equivariant', True)
    """
    started = time.perf_counter()
    factory = _check_optimizer(optimizer)
    if kwargs is None:
        kw: dict[str, Any] = {}
    elif isinstance(kwargs, Mapping):
        kw = dict(kwargs)
        if not all(isinstance(k, str) for k in kw):
            raise TypeError("kwargs must have string keys")
    else:
        raise TypeError(f"kwargs must be a mapping of keyword arguments, got {type(kwargs).__name__}")
    steps = check_int(steps, "steps", 1)
    warmup = check_int(warmup, "warmup", 0)
    seed = check_seed(seed)
    dts = _check_dtypes(dtypes)
    tols = _check_tolerance(tolerance, dts)
    perms_arg = _check_permutations(permutations)
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be callable loss(output, target), got {type(loss).__name__}")
    if spec is not None and not isinstance(spec, NeuronSpec):
        raise TypeError(f"spec must be a NeuronSpec, got {type(spec).__name__}")
    if closure_based is not None and not isinstance(closure_based, bool):
        raise TypeError(f"closure_based must be None or a bool, got {closure_based!r}")
    if not isinstance(param_groups, str) and not callable(param_groups):
        raise TypeError(f"param_groups must be 'auto', 'split', 'single' or a callable, got {param_groups!r}")
    if isinstance(param_groups, str) and param_groups not in ("auto", "split", "single"):
        raise ValueError(f"param_groups must be 'auto', 'split', 'single' or a callable, got {param_groups!r}")
    if internal_precision is not None and (not isinstance(internal_precision, torch.dtype)
                                           or not internal_precision.is_floating_point):
        raise TypeError(f"internal_precision must be a floating torch dtype, got {internal_precision!r}")
    loss_fn = loss if loss is not None else nn.functional.mse_loss
    loss_name = _qualname(loss_fn)
    notes: list[str] = []
    roundoff: dict[str, float] = {}

    if data is None:
        _, (x, y) = default_problem(seed=seed)
        data_desc = f"teacher-student (App. C.1), {x.shape[0]} points, d = {x.shape[1]}"
    else:
        x, y = _check_data(data)
        data_desc = f"{x.shape[0]} points, inputs {tuple(x.shape[1:])}, targets {tuple(y.shape[1:])}"
    n = int(x.shape[0])
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", 1)
        if batch_size > n:
            raise ValueError(f"batch_size must be at most the number of data points {n}, got {batch_size}")
        g = torch.Generator().manual_seed(seed)
        batches: list[torch.Tensor] | None = [torch.randperm(n, generator=g)[:batch_size]
                                              for _ in range(warmup + steps)]
        data_desc += f", mini-batches of {batch_size}"
    else:
        batches = None

    common: dict[str, Any] = dict(
        optimizer=_qualname(optimizer), kwargs=_jsonable(kw), loss=loss_name, data=data_desc, steps=steps,
        warmup=warmup, seed=seed, dtypes=[str(d).replace("torch.", "") for d in dts],
        tolerance={str(d).replace("torch.", ""): {"atol": t.atol, "rtol": t.rtol} for d, t in tols.items()},
        versions=_versions(),
    )

    def error(reason: str, **extra: Any) -> OptimizerCertificate:
        fill: dict[str, Any] = dict(
            model=extra.pop("model", "?"), layers=[], param_groups=[], param_groups_note=None, closure_based=False,
            precision_note=None, permutations=[], per_parameter={}, per_step={}, state={}, determinism={},
            max_deviation=0.0, max_ratio=0.0, counterexample=None,
        )
        fill.update(extra)
        return OptimizerCertificate(verdict="error", error=reason, elapsed_s=time.perf_counter() - started,
                                    notes=notes, roundoff=roundoff, roundoff_factor=ROUNDOFF_FACTOR, **common,
                                    **fill)

    # -- the model, and whether the optimizer accepts it --------------------------------
    if model is None:
        base, _ = default_problem(input_dim=int(x.shape[1]) if x.ndim == 2 else 2, seed=seed)
        lin = [m for m in base.modules() if isinstance(m, nn.Linear)]
        model_desc = "two-layer sigmoid MLP " + " -> ".join(
            [str(lin[0].in_features)] + [str(m.out_features) for m in lin]) + ", biases"
    else:
        base = copy.deepcopy(model)
        model_desc = type(model).__name__ + f" ({sum(p.numel() for p in model.parameters())} parameters)"
    base = base.double()
    try:
        probe = factory(list(base.parameters()), **kw)
        if not isinstance(probe, torch.optim.Optimizer):
            return error(f"the factory returned a {type(probe).__name__}, not a torch.optim.Optimizer",
                         model=model_desc)
    except Exception as err:  # the optimizer refused the model or its kwargs
        if model is not None or data is not None and x.ndim != 2:
            return error(f"constructing the optimizer failed: {type(err).__name__}: {err}", model=model_desc)
        base, _ = default_problem(input_dim=int(x.shape[1]), seed=seed, bias=False)
        base = base.double()
        try:
            probe = factory(list(base.parameters()), **kw)
        except Exception as err2:
            return error(f"constructing the optimizer failed: {type(err2).__name__}: {err2}", model=model_desc)
        model_desc = model_desc.replace(", biases", ", no biases")
        notes.append(f"the optimizer refused the biased default model ({type(err).__name__}: {err}); "
                     "certified on the bias-free one")
    note = _precision_note(probe)
    if internal_precision is not None:
        note = _note_for(internal_precision, f"declared: the optimizer computes in {internal_precision} internally")
    is_closure = _is_closure_based(probe) if closure_based is None else closure_based
    lr = probe.defaults.get("lr")
    if isinstance(lr, torch.Tensor) and lr.numel() == 1:
        lr = float(lr.item())

    try:
        the_spec = spec if spec is not None else neuron_spec(base)
        the_spec.validate(base)
    except (ValueError, TypeError) as err:
        raise ValueError(f"spec: no neuron spec for the model ({err}); pass spec=NeuronSpec(...)") from None
    layer_keys: list[int | str]
    if layers is None:
        layer_keys = list(range(len(the_spec.layers)))
    else:
        if isinstance(layers, (str, int)):
            layers = [layers]
        layer_keys = list(layers)
        if not layer_keys:
            raise ValueError("layers must not be empty")
        for key in layer_keys:
            the_spec.layer(key)  # raises KeyError / IndexError / TypeError naming it
    layer_info = [{"name": the_spec.layer(k).name, "width": the_spec.layer(k).width} for k in layer_keys]

    groups = _group_builder(param_groups, lr)
    groups_note = None
    try:
        probe_groups = factory(groups(base), **kw)
    except Exception as err:
        if param_groups != "auto":
            return error(f"constructing the optimizer with param_groups={param_groups!r} failed: "
                         f"{type(err).__name__}: {err}", model=model_desc)
        groups = _group_builder("single", lr)
        probe_groups = factory(groups(base), **kw)
        groups_note = f"one group: the optimizer refused several ({type(err).__name__}: {err})"
    group_desc = _describe_groups(base, probe_groups)
    common.update(model=model_desc, layers=layer_info, param_groups=group_desc, param_groups_note=groups_note,
                  closure_based=is_closure, precision_note=asdict(note) if note else None)

    rng = np.random.default_rng(seed)
    layer_perms = {k: _layer_permutations(perms_arg, the_spec.layer(k).width, rng, the_spec.layer(k).name)
                   for k in layer_keys}
    for k, perms in layer_perms.items():
        if not perms:
            notes.append(f"layer {the_spec.layer(k).name} has a single neuron: nothing to permute")
    if not any(layer_perms.values()):
        raise ValueError("layers: no selected layer has two neurons, so no permutation can be checked")

    tried: list[dict[str, Any]] = []
    per_parameter: dict[str, dict[str, dict[str, float]]] = {}
    per_step: dict[str, list[dict[str, float]]] = {}
    state_dev: dict[str, dict[str, float]] = {}
    determinism: dict[str, float] = {}
    roundoff_used: set[str] = set()
    worst: tuple[float, torch.dtype, int | str, _Comparison] | None = None
    stochastic = False
    max_abs = max_ratio = 0.0

    def fail(reason: str) -> OptimizerCertificate:
        return error(reason, permutations=tried, per_parameter=per_parameter, per_step=per_step, state=state_dev,
                     determinism=determinism, max_deviation=max_abs, max_ratio=max_ratio,
                     **{k: common.pop(k) for k in ("model", "layers", "param_groups", "param_groups_note",
                                                    "closure_based", "precision_note")})

    problems: dict[torch.dtype, tuple[_Problem, list[Snapshot], nn.Module, torch.optim.Optimizer, _Roundoff]] = {}
    for dt in dts:
        name = str(dt).replace("torch.", "")
        prob = _Problem(base, x, y, loss_fn, factory, kw, groups, is_closure, warmup, steps, batches, seed, dt)
        try:
            traj_a, model_a, opt_a = prob.run()
            traj_a2, _, _ = prob.run(rng_seed=seed + 1)
            traj_s, _, opt_s = prob.run(perturb=True)
        except Exception as err:
            return fail(f"running the optimizer in {name} failed: {type(err).__name__}: {err}")
        if not all(torch.isfinite(t).all() for s in traj_a for t in s.values()):
            return fail(f"the optimizer produced NaN or inf in {name}; choose a smaller learning rate")
        det = max(float((a.double() - b.double()).abs().max()) for s, s2 in zip(traj_a, traj_a2)
                  for a, b in ((s[k], s2[k]) for k in s))
        determinism[name] = det
        if det > 0.0:
            stochastic = True
            continue
        ro = _roundoff(traj_a, traj_s, opt_a, opt_s)
        roundoff[name] = ro.worst
        problems[dt] = (prob, traj_a, model_a, opt_a, ro)
        tol = tols[dt]
        for key in layer_keys:
            for P in layer_perms[key]:
                try:
                    traj_b, _, opt_b = prob.run(the_spec, P, key)
                except StateNotPermutableError as err:
                    return fail(f"the optimizer state cannot be permuted: {err}")
                except Exception as err:
                    return fail(f"running the permuted copy in {name} failed: {type(err).__name__}: {err}")
                cmp = _compare(traj_a, traj_b, opt_a, opt_b, model_a, the_spec, key, P, tol, note, compare_state,
                               ro)
                if cmp.roundoff_used:
                    roundoff_used.add(name)
                tried.append({"dtype": name, "layer": cmp.layer, "cycles": [list(c) for c in P.cycles()],
                              "max_abs": cmp.max_abs, "ratio": cmp.ratio, "passed": cmp.ratio <= 1.0})
                max_abs, max_ratio = max(max_abs, cmp.max_abs), max(max_ratio, cmp.ratio)
                pp = per_parameter.setdefault(name, {})
                for pname, rec in cmp.per_param.items():
                    if pname not in pp or rec["ratio"] >= pp[pname]["ratio"]:
                        pp[pname] = dict(rec)
                ps = per_step.setdefault(name, [{"step": s["step"], "max_abs": 0.0, "ratio": 0.0}
                                                for s in cmp.per_step])
                for acc, s in zip(ps, cmp.per_step):
                    acc["max_abs"], acc["ratio"] = max(acc["max_abs"], s["max_abs"]), max(acc["ratio"], s["ratio"])
                if compare_state:
                    st = state_dev.setdefault(name, dict(cmp.state))
                    if cmp.state["ratio"] >= st["ratio"]:
                        st.update(cmp.state)
                if cmp.ratio > 1.0 and (worst is None or len(P.support) < len(worst[3].perm.support)
                                        or (len(P.support) == len(worst[3].perm.support) and cmp.ratio > worst[0])):
                    worst = (cmp.ratio, dt, key, cmp)

    for name in sorted(roundoff_used):
        notes.append(f"{name}: the dynamics amplify round-off (a one-ulp perturbation at the permutation point grows "
                     f"to {roundoff[name]:.3g}); some deviations passed only within {ROUNDOFF_FACTOR:g} times that")
    counterexample = None
    if stochastic:
        verdict = "stochastic"
        notes.append("run A repeated with another global torch seed differs: the step depends on randomness "
                     "beyond the parameters and the optimizer state")
    elif worst is not None:
        verdict = "not equivariant"
        _, dt, key, cmp = worst
        prob, traj_a, model_a, opt_a, ro = problems[dt]
        cache: dict[FinitaryPermutation, _Comparison] = {cmp.perm: cmp}

        def evaluate(Q: FinitaryPermutation) -> _Comparison:
            if Q not in cache:
                traj_b, _, opt_b = prob.run(the_spec, Q, key)
                cache[Q] = _compare(traj_a, traj_b, opt_a, opt_b, model_a, the_spec, key, Q, tols[dt], note,
                                    compare_state, ro)
            return cache[Q]

        best = cmp.perm
        if shrink:
            try:
                best = shrink_permutation(cmp.perm, lambda Q: evaluate(Q).ratio > 1.0, budget=120)
            except Exception as err:  # pragma: no cover - the runs above succeeded with the same code
                notes.append(f"shrinking stopped: {type(err).__name__}: {err}")
        shown = evaluate(best)
        counterexample = {
            "dtype": str(dt).replace("torch.", ""), "layer": shown.layer,
            "cycles": [list(c) for c in best.cycles()], "moved_indices": len(best.support),
            "found": [list(c) for c in cmp.perm.cycles()], "step": shown.first_fail, "ratio": shown.ratio,
            "entries": shown.entries,
            "shrink_evaluations": len(cache) - 1,
        }
        if not shown.entries and shown.state["ratio"] > 1.0:
            counterexample["state"] = dict(shown.state)
    else:
        verdict = "equivariant"

    return OptimizerCertificate(
        verdict=verdict, permutations=tried, per_parameter=per_parameter, per_step=per_step, state=state_dev,
        determinism=determinism, max_deviation=max_abs, max_ratio=max_ratio, counterexample=counterexample,
        error=None, elapsed_s=time.perf_counter() - started, notes=notes, roundoff=roundoff,
        roundoff_factor=ROUNDOFF_FACTOR, **common,
    )


def assert_equivariant_optimizer(
    optimizer: OptimizerFactory | type[torch.optim.Optimizer],
    model: nn.Module | None = None,
    loss: Callable[..., torch.Tensor] | None = None,
    data: Any = None,
    **options: Any,
) -> OptimizerCertificate:
    """Assert P1 for a torch optimizer: ``step(P X) = P step(X)`` (Sections 3, 5.2).

    Runs :func:`certify` with the same arguments.

    Args:
        optimizer, model, loss, data, options: as in :func:`certify`.

    Returns:
        The certificate, when its verdict is ``"equivariant"``.

    Raises:
        OptimizerNotEquivariant: any other verdict; ``.certificate`` holds the certificate
            and the message is its :meth:`~OptimizerCertificate.summary`.

    Example:
        >>> import torch
        >>> assert_equivariant_optimizer(torch.optim.Adam, kwargs={"lr": 0.01}, steps=2,
        ...                              dtypes=(torch.float64,)).verdict
        'equivariant'
    """
    cert = certify(optimizer, model, loss, data, **options)
    if cert.verdict != "equivariant":
        raise OptimizerNotEquivariant(cert)
    return cert
