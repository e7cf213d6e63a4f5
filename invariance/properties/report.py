"""Reports of the property checkers, and the assertion error that carries one.

Every checker exists twice (the chex / e3nn pattern): a measure that returns a frozen
:class:`PropertyReport`, and an ``assert_*`` twin that raises :class:`PropertyViolation`
with that report in its message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PropertyReport", "PropertyViolation"]


@dataclass(frozen=True)
class PropertyReport:
    """The outcome of checking one property of an update rule.

    Attributes:
        property: which property, e.g. ``"P1 equivariance"``.
        passed: the verdict.
        worst: the worst measured value (an error, or an estimated constant).
        tolerance: the bound ``worst`` was compared against.
        counterexample: what produced ``worst`` when the check failed (else the worst case
            seen), as a readable dict: permutation, indices, entries.
        seed: the seed of every random draw of the check.
        trials: how many cases were evaluated.
        details: further measured quantities (per-case values, whether the check was
            exhaustive, exact or on a finite window).
    """

    property: str
    passed: bool
    worst: float
    tolerance: float
    counterexample: dict[str, Any] | None
    seed: int | None
    trials: int
    details: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.passed

    def raise_if_failed(self) -> PropertyReport:
        """Return the report if it passed, else raise :class:`PropertyViolation` with it."""
        if not self.passed:
            raise PropertyViolation(self)
        return self

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"{self.property}: {verdict}",
            f"  worst value : {_fmt(self.worst)}",
            f"  tolerance   : {_fmt(self.tolerance)}",
            f"  trials      : {self.trials}",
            f"  seed        : {self.seed}",
        ]
        if self.counterexample:
            lines.append("  counterexample:")
            lines += [f"    {k}: {_short(v)}" for k, v in self.counterexample.items()]
        if self.details:
            lines.append("  details:")
            lines += [f"    {k}: {_short(v)}" for k, v in self.details.items()]
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.6g}"


def _short(v: Any, limit: int = 160) -> str:
    s = repr(v)
    return s if len(s) <= limit else s[: limit - 3] + "..."


class PropertyViolation(AssertionError):
    """Raised by the ``assert_*`` checkers; ``.report`` holds the :class:`PropertyReport`."""

    def __init__(self, report: PropertyReport) -> None:
        super().__init__(str(report))
        self.report = report
