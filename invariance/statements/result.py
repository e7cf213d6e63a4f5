"""Results of the executable statements, and the assertion error that carries one.

Every statement of the paper exists twice (the chex / e3nn pattern): a *measure* that
returns a frozen result dataclass (the quantities the statement bounds, the bounds, the
worst case, the tolerance, the verdict ``holds``), and an ``assert_*`` twin that raises
:class:`StatementViolation`, whose message shows that result.

Example:
    >>> from invariance import FiniteCollection, centering_rule
    >>> from invariance.statements import assert_bi_lipschitz
    >>> X = FiniteCollection([[0.0], [1.0], [3.0]])
    >>> try:
    ...     assert_bi_lipschitz(centering_rule(3.0), X, eta=0.1, K=1.0)   # K claimed too small
    ... except StatementViolation as err:
    ...     print(err.result.holds, round(err.result.min_ratio, 6))
    False 0.7
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, TypeVar

import numpy as np

__all__ = ["StatementResult", "StatementViolation"]

R = TypeVar("R", bound="StatementResult")


class StatementResult:
    """Base class of the statement results (each a frozen dataclass).

    Subclasses carry ``holds`` (the verdict) and set :attr:`statement`. ``bool(result)``
    is ``result.holds``; ``str(result)`` is a readable multi-line report of every field
    (large per-pair arrays are left out of it and of ``repr``).
    """

    #: which statement of the paper, e.g. ``"Lemma 2 (no merging or splitting), eq. (7)"``.
    statement: ClassVar[str] = "statement"
    holds: bool

    def __bool__(self) -> bool:
        return bool(self.holds)

    def __str__(self) -> str:
        verdict = "HOLDS" if self.holds else "VIOLATED"
        lines = [f"{self.statement}: {verdict}"]
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                if not f.repr or f.name == "holds":
                    continue
                lines.append(f"  {f.name:<26}: {_short(getattr(self, f.name))}")
        return "\n".join(lines)


def _short(v: Any, limit: int = 200) -> str:
    if isinstance(v, float):
        s = "inf" if math.isinf(v) else ("nan" if math.isnan(v) else f"{v:.6g}")
    elif isinstance(v, np.ndarray):
        s = np.array2string(v, threshold=12, precision=6)
    else:
        s = repr(v)
    return s if len(s) <= limit else s[: limit - 3] + "..."


class StatementViolation(AssertionError):
    """Raised by the ``assert_*`` statements; ``.result`` holds the measured result."""

    def __init__(self, result: StatementResult) -> None:
        super().__init__(str(result))
        self.result = result


def _raise_unless(result: R) -> R:
    """Return ``result`` if it holds, else raise :class:`StatementViolation` with it."""
    if not result.holds:
        raise StatementViolation(result)
    return result
