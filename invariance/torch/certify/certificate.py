"""The P1 certificate: the verdict of :func:`~invariance.torch.certify.certify`, its evidence, and its report."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ...tables import format_table

__all__ = ["OptimizerCertificate", "OptimizerNotEquivariant", "VERDICTS"]

#: Every verdict a certificate can carry.
VERDICTS = ("equivariant", "equivariant in distribution", "not equivariant", "inconclusive", "error")


class OptimizerNotEquivariant(AssertionError):
    """Raised by :func:`~invariance.torch.certify.assert_equivariant_optimizer`; ``.certificate`` holds it."""

    def __init__(self, certificate: OptimizerCertificate) -> None:
        super().__init__(certificate.summary())
        self.certificate = certificate


@dataclass(frozen=True)
class OptimizerCertificate:
    """The outcome of :func:`~invariance.torch.certify.certify`: does ``step(P X) = P step(X)`` hold (P1)?

    Attributes:
        verdict: one of :data:`VERDICTS`: ``"equivariant"``; ``"equivariant in distribution"``
            (a random step whose law is equivariant, ``P step(X) ~ step(P X)``);
            ``"not equivariant"`` (with a counterexample); ``"inconclusive"`` (``reason``
            says why: state that cannot be permuted, round-off that dominates); ``"error"``
            (the optimizer or the model raised: ``reason`` names the optimizer, the step and
            the cause in one sentence).
        reason: why the verdict is ``"inconclusive"`` / ``"error"`` / how it was reached.
        per_dtype: ``{dtype: {"verdict", "reason"}}``.
        optimizer, kwargs, model, loss, data: what was certified.
        steps, warmup, seed: compared steps after the permutation point, steps before it, seed.
        dtypes: the dtypes run; layers: the neuron layers permuted (``name``, ``width``).
        param_groups: the groups given to the optimizer (parameter names, learning rate).
        step_mode: how a step is taken (``"backward + step()"``, ``"step(closure)"``,
            ``create_graph``, ``"step_fn"``).
        tolerance: ``{dtype: {"atol", "rtol"}}``: the dtype's part of every bound.
        calibration: ``{dtype: {"controls", "worst", "factor", "fraction_of_scale"}}``: the
            round-off the controls measured (the same steps with the data rows shuffled, and
            from parameters perturbed by one rounding unit); every bound adds ``factor`` times
            the controls' deviation at that step for that parameter.
        permutations: every comparison: ``dtype``, ``layer``, ``cycles``, ``mode`` (``"fresh"``:
            the model permuted before the first step, the optimizer built on it; ``"state"``: the
            model *and* the optimizer's state permuted after the warm-up), ``max_abs``,
            ``ratio`` (deviation / bound, > 1 fails), ``passed``.
        per_parameter: ``{dtype: {name: {"max_abs", "scale", "bound", "ratio"}}}``: the row of
            each parameter's worst ratio.
        per_step: ``{dtype: [{"step", "max_abs", "ratio"}]}`` over the fresh comparisons.
        state: ``{dtype: {"max_abs", "scale", "bound", "ratio", "compared"}}`` after the last step.
        determinism: ``{dtype: {"max_abs", "ratio"}}``: two runs with different global torch
            seeds, against the calibrated bound (a ratio <= 1 is round-off, not randomness).
        distribution: ``None`` or the two-sample test of the law (``p_value``, ``level``,
            ``seeds``, ``statistic``, ``relabelings``, ``worst_entries``).
        worst: the comparison row behind the headline: ``dtype``, ``parameter``, ``max_abs``,
            ``bound``, ``ratio``; ``max_deviation`` and ``max_ratio`` are its numbers.
        counterexample: ``None``, or the smallest failing permutation: ``dtype``, ``layer``,
            ``cycles``, ``moved_indices``, ``found``, ``step``, ``entries``.
        unpermuted: tensors hanging off the optimizer that no rule permutes.
        notes: what else the reader must know; versions; elapsed_s.
    """

    verdict: str
    reason: str | None
    per_dtype: dict[str, dict[str, Any]]
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
    step_mode: str
    tolerance: dict[str, dict[str, float]]
    calibration: dict[str, dict[str, Any]]
    permutations: list[dict[str, Any]]
    per_parameter: dict[str, dict[str, dict[str, float]]]
    per_step: dict[str, list[dict[str, float]]]
    state: dict[str, dict[str, float]]
    determinism: dict[str, dict[str, float]]
    distribution: dict[str, Any] | None
    worst: dict[str, Any] | None
    max_deviation: float
    max_ratio: float
    counterexample: dict[str, Any] | None
    unpermuted: list[str]
    versions: dict[str, str]
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def __bool__(self) -> bool:
        return self.certified

    @property
    def certified(self) -> bool:
        """Whether the verdict is ``"equivariant"`` or ``"equivariant in distribution"``."""
        return self.verdict in ("equivariant", "equivariant in distribution")

    @property
    def error(self) -> str | None:
        """The reason of an ``"error"`` verdict, else ``None``."""
        return self.reason if self.verdict == "error" else None

    # -- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return jsonable(asdict(self))

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
        missing = names - set(d) - {"elapsed_s", "notes"}
        if missing:
            raise ValueError(f"not a certificate: missing fields {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> OptimizerCertificate:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # -- report ---------------------------------------------------------------------
    def summary(self) -> str:
        """A readable report: the verdict and why, the problem, the deviations per parameter and step."""
        verdict = self.verdict.upper()
        head: dict[str, str] = {}
        if self.reason:
            head["reason"] = self.reason
        head["optimizer"] = f"{self.optimizer}({_kw(self.kwargs)})"
        head["model"] = self.model
        head["loss / data"] = f"{self.loss} on {self.data}"
        head["steps"] = f"{self.warmup} warm-up step(s), then {self.steps} compared; seed {self.seed}"
        head["step"] = self.step_mode
        if self.layers:
            head["layers"] = ", ".join(f"{la['name']} [{la['width']}]" for la in self.layers)
        if self.param_groups:
            head["param groups"] = "; ".join(f"{{{', '.join(g['params'])}}} lr={_num(g.get('lr'))}"
                                             for g in self.param_groups)
        if len(self.per_dtype) > 1 or any(v["verdict"] != self.verdict for v in self.per_dtype.values()):
            head["per dtype"] = "; ".join(f"{dt}: {v['verdict']}" for dt, v in self.per_dtype.items())
        if self.tolerance:
            head["bound"] = "; ".join(f"{dt}: {_num(t['atol'])} + {_num(t['rtol'])} |theta|"
                                      for dt, t in self.tolerance.items()) + " + calibrated round-off"
        if self.calibration:
            first = next(iter(self.calibration.values()))["controls"]
            head["controls"] = "; ".join(f"({j + 1}) {k['control']}" for j, k in enumerate(first))
            head["round-off"] = "; ".join(
                f"{dt}: " + ", ".join(f"({j + 1}) {_num(k['factor'])} x {_num(k['worst'])}"
                                      for j, k in enumerate(c["controls"]))
                for dt, c in self.calibration.items()) + " (factor x the control's largest deviation)"
        if self.permutations:
            head["permutations"] = (f"{len(self.permutations)} comparisons "
                                    f"({sum(1 for p in self.permutations if not p['passed'])} failed)")
        if self.worst:
            w = self.worst
            head["worst"] = (f"{w['parameter']} ({w['dtype']}): deviation {_num(w['max_abs'])}, bound "
                             f"{_num(w['bound'])}, deviation / bound = {_num(w['ratio'])}")
        if self.distribution:
            d = self.distribution
            head["in distribution"] = (f"p = {_num(d['p_value'])} at level {_num(d['level'])} ({d['seeds']} seeds "
                                       f"per side, {d['relabelings']} relabelings, {d['test']})")
        head["versions"] = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        width = max(len(k) for k in head)
        lines = [f"P1 certificate (step(P X) = P step(X)): {verdict}"]
        lines += [f"  {k.ljust(width)} : {v}" for k, v in head.items()]
        lines += [f"  note: {n}" for n in self.notes]
        rows = []
        for dt, params in self.per_parameter.items():
            for name, r in params.items():
                rows.append([dt, name, r["max_abs"], r["scale"], r["bound"], r["ratio"], r["ratio"] <= 1.0])
            st = self.state.get(dt)
            if st and st.get("compared"):
                rows.append([dt, f"state ({int(st['compared'])} entries)", st["max_abs"], st.get("scale", math.nan),
                             st.get("bound", math.nan), st["ratio"], st["ratio"] <= 1.0])
        if rows:
            lines += ["", "max |P A - B| per parameter (its worst ratio over permutations and steps):",
                      _table(["dtype", "parameter", "deviation", "scale", "bound", "dev/bound", "ok"], rows)]
        if self.per_step:
            nsteps = max(len(st) for st in self.per_step.values())
            lines += ["", f"max |P A - B| per step, permuted before step 1 (steps 1-{self.warmup}: warm-up):"]
            if nsteps <= 8:
                srows = [[dt, *(r["max_abs"] for r in st)] for dt, st in self.per_step.items()]
                lines.append(_table(["dtype", *(f"step {k + 1}" for k in range(nsteps))], srows))
            else:
                dts = list(self.per_step)
                srows = [[k + 1, *(self.per_step[dt][k]["max_abs"] if k < len(self.per_step[dt]) else "-"
                                   for dt in dts)] for k in range(nsteps)]
                lines.append(_table(["step", *dts], srows))
        ce = self.counterexample
        if ce:
            lines += ["", f"counterexample: layer {ce['layer']}, permutation {_cycles(ce['cycles'])} "
                          f"({ce['moved_indices']} moved indices; shrunk from {_cycles(ce['found'])}), "
                          f"{ce['dtype']}, first failing step {ce['step']}:"]
            erows = [[e["parameter"], str(tuple(e["index"])), e["P A"], e["B"], e["difference"], e["bound"]]
                     for e in ce["entries"]]
            if erows:
                lines.append(_table(["parameter", "index", "(P A) entry", "B entry", "difference", "bound"], erows))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def jsonable(v: Any) -> Any:
    """``v`` with tensors, numpy scalars and dtypes turned into JSON values."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
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
