"""``P A`` against ``B``, entry by entry, with a bound calibrated from the optimizer's own round-off.

The bound of parameter ``n`` after step ``k`` is

    bound_k(n) = atol + rtol * scale_n + max_c factor_c * c_k(n),

``(atol, rtol)`` the dtype's tolerance and ``c_k(n)`` the *calibration*: the largest
deviation, up to step ``k``, between run A and its control ``c`` (``factor_c`` =
``ROUNDOFF_FACTOR`` = 10, or ``PRECISION_FACTOR`` = 3 for the precision control), runs that are mathematically
the same as A and differ only in round-off: the same steps with the rows of every batch
in another order (another summation order of the gradient), the same steps from
parameters perturbed by one rounding unit at the permutation point, and the same steps
with every gradient perturbed by one unit round-off of the coarsest dtype the step was
*observed* to compute in (:class:`~invariance.torch.certify.problem.DtypeProbe`). A permuted run sums
in another order too, so an equivariant optimizer stays within a small multiple of what
its controls show, whatever precision it computes in internally: a bfloat16
Newton-Schulz or float32 moments inside a float64 run show up in the controls, with no
table of known classes. Where the calibrated part exceeds ``DOMINANT_FRACTION`` of a
parameter's scale, round-off dominates and no "equivariant" can be read from that dtype.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ...tolerances import Tolerance
from ..state import StatePermutation, _group_flat_index, _permute_value, wrapped_optimizers
from .problem import Snapshot, plain

__all__ = ["ROUNDOFF_FACTOR", "PRECISION_FACTOR", "DOMINANT_FRACTION", "Calibration", "calibrate", "Comparison",
           "compare", "compare_state"]

#: Every bound adds this many times the controls' deviation (their spread is a sample of the round-off).
ROUNDOFF_FACTOR = 10.0
#: Round-off dominates a dtype when the calibrated allowance exceeds this fraction of a parameter's scale:
#: a bound that lets a tenth of the parameter through certifies nothing.
DOMINANT_FRACTION = 0.1


#: The precision control perturbs *every* gradient entry by a full unit round-off at every step, more than
#: the reordering of a sum does; a smaller multiple of it covers the sampling.
PRECISION_FACTOR = 3.0


@dataclass
class Calibration:
    """The round-off of one dtype, measured.

    ``allowances[k][n] = max_c factor_c * max_{j <= k} max |C_j(n) - A_j(n)|`` over the controls
    ``C``; ``controls`` lists each control's description, factor and largest deviation.
    """

    allowances: list[dict[str, float]]
    state: float
    controls: list[dict[str, Any]]
    factor: float = ROUNDOFF_FACTOR

    @classmethod
    def none(cls) -> Calibration:
        """No calibration: the bound is the dtype's tolerance alone (randomness no control can measure)."""
        return cls([], 0.0, [])

    @property
    def worst(self) -> float:
        """The largest deviation of a control from run A."""
        return max([c["worst"] for c in self.controls] + [0.0])

    def allowance(self, k: int, name: str) -> float:
        """The calibrated part of the bound of parameter ``name`` after step ``k``."""
        if not self.allowances:
            return 0.0
        return self.allowances[min(k, len(self.allowances) - 1)].get(name, 0.0)

    def dominated(self, traj_a: Sequence[Snapshot]) -> list[tuple[str, float, float]]:
        """``(parameter, allowance, scale)`` where the allowance exceeds ``DOMINANT_FRACTION * scale``."""
        out: list[tuple[str, float, float]] = []
        for k, snap in enumerate(traj_a):
            for n, t in snap.items():
                scale = float(t.double().abs().max()) if t.numel() else 0.0
                allow = self.allowance(k, n)
                if allow > DOMINANT_FRACTION * max(scale, 1e-300) and all(o[0] != n for o in out):
                    out.append((n, allow, scale))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"controls": [dict(c) for c in self.controls], "worst": self.worst, "factor": self.factor,
                "state": self.state, "fraction_of_scale": DOMINANT_FRACTION}


def _dev(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.numel() == 0:
        return 0.0
    d = float((a.double() - b.double()).abs().max())
    return d if math.isfinite(d) else math.inf


def calibrate(traj_a: Sequence[Snapshot], controls: Mapping[str, tuple[int, Sequence[Snapshot], float]],
              state_devs: Sequence[float] = ()) -> Calibration:
    """The calibration from controls ``{description: (first step they differ, trajectory, factor)}``."""
    allowances: list[dict[str, float]] = []
    running = {c: {n: 0.0 for n in traj_a[0]} for c in controls}
    for k, a in enumerate(traj_a):
        for c, (start, traj, _) in controls.items():
            if start <= k < len(traj):
                for n in a:
                    running[c][n] = max(running[c][n], _dev(a[n], traj[k][n]))
        allowances.append({n: max([controls[c][2] * running[c][n] for c in controls] + [0.0]) for n in a})
    summary = [{"control": c, "factor": f, "worst": max(running[c].values(), default=0.0)}
               for c, (_, _, f) in controls.items()]
    return Calibration(allowances, max(list(state_devs) + [0.0]), summary)


@dataclass
class Comparison:
    """``P A`` against a run ``B`` from step ``start`` on."""

    label: str
    ratio: float = 0.0
    max_abs: float = 0.0
    first_fail: int | None = None
    per_param: dict[str, dict[str, float]] = field(default_factory=dict)
    per_step: list[dict[str, float]] = field(default_factory=list)
    state: dict[str, float] = field(default_factory=lambda: {"max_abs": 0.0, "scale": 0.0, "bound": 0.0,
                                                             "ratio": 0.0, "compared": 0.0})
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.ratio <= 1.0


def compare(traj_a: Sequence[Snapshot], traj_b: Sequence[Snapshot], start: int, axes: Mapping[str, int],
            idx: np.ndarray | None, tol: Tolerance, calib: Calibration, label: str = "",
            n_entries: int = 6) -> Comparison:
    """Compare ``P A_k`` (``A_k`` permuted along ``axes[name]`` by ``idx``) with ``B_k`` for ``k > start``."""
    index = None if idx is None else torch.as_tensor(idx)
    out = Comparison(label)
    for k in range(start + 1, min(len(traj_a), len(traj_b))):
        step_ratio = step_abs = 0.0
        for n, b in traj_b[k].items():
            a = traj_a[k][n]
            if index is not None and n in axes:
                a = a.index_select(axes[n], index)
            ad, bd = a.double(), b.double()
            diff = (ad - bd).abs()
            dev = float(diff.max()) if diff.numel() else 0.0
            if not math.isfinite(dev):
                dev = math.inf
            scale = float(torch.maximum(ad.abs().max(), bd.abs().max())) if diff.numel() else 0.0
            if not math.isfinite(scale):
                scale = math.inf
            bound = tol.bound(scale) + calib.allowance(k, n)
            ratio = dev / bound if bound > 0 else (0.0 if dev == 0 else math.inf)
            rec = out.per_param.setdefault(n, {"max_abs": 0.0, "scale": 0.0, "bound": 0.0, "ratio": 0.0})
            if ratio >= rec["ratio"]:
                rec.update(max_abs=dev, scale=scale, bound=bound, ratio=ratio)
            step_ratio, step_abs = max(step_ratio, ratio), max(step_abs, dev)
            if ratio > 1.0 and out.first_fail in (None, k):
                out.first_fail = k
                bad = torch.nonzero(~(diff <= bound), as_tuple=False)
                vals = diff[tuple(bad.T)].nan_to_num(nan=math.inf) if bad.numel() else torch.zeros(0)
                for j in vals.argsort(descending=True)[:n_entries].tolist():
                    ix = tuple(int(v) for v in bad[j].tolist())
                    out.entries.append({"parameter": n, "index": list(ix), "P A": float(ad[ix]), "B": float(bd[ix]),
                                        "difference": float(ad[ix] - bd[ix]), "bound": bound})
        out.per_step.append({"step": k, "max_abs": step_abs, "ratio": step_ratio})
        out.ratio, out.max_abs = max(out.ratio, step_ratio), max(out.max_abs, step_abs)
    out.entries.sort(key=lambda e: -abs(e["difference"]) if math.isfinite(e["difference"]) else -math.inf)
    return out


def state_deviation(a: Any, b: Any, depth: int = 0) -> tuple[float, float, int]:
    """``max |a - b|``, the largest magnitude, and the number of compared tensors, recursing into containers."""
    if depth > 6:
        return 0.0, 0.0, 0
    if isinstance(a, dict) and isinstance(b, dict):
        pairs: list[tuple[Any, Any]] = [(a[k], b[k]) for k in a if k in b]
    elif isinstance(a, (list, tuple, collections.deque)) and isinstance(b, (list, tuple, collections.deque)):
        pairs = list(zip(a, b)) if len(a) == len(b) else []
    elif isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        try:
            ap, bp = plain(a), plain(b)
        except TypeError:
            return 0.0, 0.0, 0
        if ap.shape != bp.shape or not ap.is_floating_point() or ap.numel() == 0:
            return 0.0, 0.0, 0
        ad, bd = ap.double(), bp.double()
        return _dev(ad, bd), float(torch.maximum(ad.abs().max(), bd.abs().max())), 1
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)), max(abs(float(a)), abs(float(b))), 1
    elif hasattr(a, "__dict__") and type(a) is type(b) and not isinstance(a, type):
        pairs = [(v, vars(b)[k]) for k, v in vars(a).items() if k in vars(b)]
    else:
        return 0.0, 0.0, 0
    dev = scale = 0.0
    n = 0
    for u, v in pairs:
        d, s, m = state_deviation(u, v, depth + 1)
        dev, scale, n = max(dev, d), max(scale, s), n + m
    return dev, scale, n


def state_pairs(opt_a: torch.optim.Optimizer, opt_b: torch.optim.Optimizer,
                perm: StatePermutation | None) -> list[tuple[str, Any, Any]]:
    """``(key, P applied to A's state entry, B's entry)`` over the optimizers' (and wrapped optimizers') state.

    Entries that cannot be permuted are left out (the permuted run reports them).
    """
    from ..state import StateNotPermutableError

    out = []
    for oa, ob in zip(wrapped_optimizers(opt_a), wrapped_optimizers(opt_b)):
        sa, sb = getattr(oa, "state", {}), getattr(ob, "state", {})
        for ga, gb in zip(getattr(oa, "param_groups", []), getattr(ob, "param_groups", [])):
            params_a = [q for q in ga.get("params", []) if isinstance(q, torch.Tensor)]
            params_b = [q for q in gb.get("params", []) if isinstance(q, torch.Tensor)]
            flat = _group_flat_index(params_a, perm) if perm is not None else None
            for pa, pb in zip(params_a, params_b):
                ea, eb = sa.get(pa), sb.get(pb)
                if not isinstance(ea, dict) or not isinstance(eb, dict):
                    continue
                for key, va in ea.items():
                    if key not in eb:
                        continue
                    if perm is not None:
                        try:
                            va = _permute_value(va, perm, pa, str(key), {}, flat)
                        except StateNotPermutableError:
                            continue
                    out.append((str(key), va, eb[key]))
    return out


def compare_state(opt_a: torch.optim.Optimizer, opt_b: torch.optim.Optimizer, perm: StatePermutation | None,
                  tol: Tolerance, calib: Calibration) -> dict[str, float]:
    """The permuted state of A against the state of B: ``max_abs``, ``scale``, ``bound``, ``ratio``, ``compared``."""
    rec = {"max_abs": 0.0, "scale": 0.0, "bound": 0.0, "ratio": 0.0, "compared": 0.0}
    for _, va, vb in state_pairs(opt_a, opt_b, perm):
        dev, scale, m = state_deviation(va, vb)
        if not m:
            continue
        bound = tol.bound(scale) + calib.factor * calib.state
        ratio = dev / bound if bound > 0 else (0.0 if dev == 0 else math.inf)
        rec["compared"] += m
        if ratio >= rec["ratio"]:
            rec.update(max_abs=dev, scale=scale, bound=bound, ratio=ratio)
    return rec
