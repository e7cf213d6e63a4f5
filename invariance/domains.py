"""Where the particles of a rule live: the domain every checker perturbs inside.

The paper's particles are points of ``R^D`` (Section 3), but the particle of a stateful
optimizer in stateless form (Section 5.2, eq. 16) is ``x_i = (theta_i, state_i)``, and part
of the state is constrained: Adam's and RMSprop's second moments are averages of squares,
``v >= 0``, and ``sqrt(v)`` is undefined below. A checker that perturbs every coordinate with
Gaussian noise leaves that set and reports NaN instead of a property. A rule declares its
domain with :meth:`~invariance.rules.UpdateRule.domain`; the checkers of
:mod:`invariance.properties` project every perturbed collection onto it, and a NaN or inf
update at a point *inside* the domain is a finding of the report, not a crash.

A :class:`ParticleDomain` is a box, ``lower <= x <= upper`` coordinate by coordinate
(``-inf``/``+inf`` where a coordinate is free): the constraints optimizer state meets in
practice (non-negative moments and step counters).

Example:
    >>> import numpy as np
    >>> dom = ParticleDomain.from_bounds(3, lower={2: 0.0}, names={2: "v >= 0"})
    >>> dom.project(np.array([[1.0, -2.0, -0.5]])).tolist()
    [[1.0, -2.0, 0.0]]
    >>> bool(dom.contains(np.array([[0.0, 0.0, 1.0]])).all()), dom.describe()
    (True, 'x[2] >= 0 (v >= 0)')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ParticleDomain"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ParticleDomain:
    """The box ``lower <= x <= upper`` of ``R^D`` (coordinatewise; infinite bounds are free).

    Attributes:
        lower, upper: ``(D,)`` bounds.
        names: what each constrained coordinate is, ``{coordinate: "v >= 0"}``.
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    names: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        if len(self.lower) != len(self.upper):
            raise ValueError(f"lower and upper must have the same length, got {len(self.lower)} and {len(self.upper)}")
        lo, hi = np.asarray(self.lower, dtype=np.float64), np.asarray(self.upper, dtype=np.float64)
        if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo > hi):
            raise ValueError("lower and upper must be bounds with lower <= upper (no NaN)")

    @classmethod
    def from_bounds(cls, dim: int, lower: Mapping[int, float] | None = None, upper: Mapping[int, float] | None = None,
                    names: Mapping[int, str] | None = None) -> ParticleDomain:
        """The box of ``R^dim`` with the given coordinate bounds (others free)."""
        lo = [-np.inf] * dim
        hi = [np.inf] * dim
        for k, v in (lower or {}).items():
            lo[k] = float(v)
        for k, v in (upper or {}).items():
            hi[k] = float(v)
        return cls(tuple(lo), tuple(hi), tuple(sorted((names or {}).items())))

    @property
    def dim(self) -> int:
        """``D``."""
        return len(self.lower)

    @property
    def constrained(self) -> bool:
        """Whether any coordinate is bounded."""
        return bool(np.any(np.isfinite(self.lower)) or np.any(np.isfinite(self.upper)))

    def project(self, points: ArrayLike) -> FloatArray:
        """The nearest points of the box (coordinatewise clipping), for ``(n, D)`` points."""
        arr = np.asarray(points)
        if arr.shape[-1] != self.dim:
            raise ValueError(f"points must have D = {self.dim} coordinates, got shape {arr.shape}")
        out = np.clip(arr, np.asarray(self.lower), np.asarray(self.upper))
        return out.astype(arr.dtype, copy=False)

    def clip_step(self, start: ArrayLike, end: ArrayLike, keep: float = 0.5) -> FloatArray:
        """``end``, with each bounded coordinate stopped at most ``keep`` of the way from ``start`` to its bound.

        A perturbation ``start -> end`` of a point inside the box stays inside, and away
        from the boundary in proportion to ``start``'s own distance to it: from ``v = 1`` a step
        can reach ``v = 0.5`` but not ``v = 0``, from ``v = 1e-12`` it can reach ``5e-13``. The
        checkers perturb this way, so an estimate at ``X`` measures the rule near ``X``.
        """
        a = np.asarray(start, dtype=np.float64)
        b = np.asarray(end)
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        with np.errstate(invalid="ignore"):
            floor = np.where(np.isfinite(lo), lo + (1 - keep) * (a - lo), -np.inf)
            ceil = np.where(np.isfinite(hi), hi - (1 - keep) * (hi - a), np.inf)
        return np.clip(b, floor, ceil).astype(b.dtype, copy=False)

    def contains(self, points: ArrayLike) -> NDArray[np.bool_]:
        """Which rows lie in the box."""
        arr = np.asarray(points, dtype=np.float64)
        return np.all((arr >= np.asarray(self.lower)) & (arr <= np.asarray(self.upper)), axis=-1)

    def describe(self) -> str:
        """The constraints in words, e.g. ``'x[2] >= 0 (v >= 0)'``."""
        names = dict(self.names)
        parts = []
        for k, (lo, hi) in enumerate(zip(self.lower, self.upper)):
            if np.isfinite(lo) or np.isfinite(hi):
                s = (f"{lo:g} <= x[{k}] <= {hi:g}" if np.isfinite(lo) and np.isfinite(hi)
                     else f"x[{k}] >= {lo:g}" if np.isfinite(lo) else f"x[{k}] <= {hi:g}")
                parts.append(s + (f" ({names[k]})" if k in names else ""))
        return ", ".join(parts) if parts else "R^D"
