"""Dtype-aware relative tolerances, shared by every checker.

A comparison ``|a - b| <= atol + rtol * scale`` is made with the pair ``(atol, rtol)``
that belongs to the dtype of the computation, the convention of chex and e3nn. The
``scale`` is the magnitude of the quantities compared (for example the largest update
norm), so that a check does not depend on the units of the collection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["Tolerance", "default_tolerance"]


@dataclass(frozen=True)
class Tolerance:
    """An absolute and a relative tolerance: ``bound(scale) = atol + rtol * scale``.

    Example:
        >>> Tolerance(atol=1e-12, rtol=1e-9).bound(10.0)
        1.0001e-08
    """

    atol: float
    rtol: float

    def __post_init__(self) -> None:
        for name in ("atol", "rtol"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def bound(self, scale: float) -> float:
        """Return ``atol + rtol * |scale|``."""
        return float(self.atol + self.rtol * abs(float(scale)))


_TABLE = {
    np.dtype(np.float16): Tolerance(atol=1e-3, rtol=1e-2),
    np.dtype(np.float32): Tolerance(atol=1e-6, rtol=1e-4),
    np.dtype(np.float64): Tolerance(atol=1e-12, rtol=1e-9),
    np.dtype(np.longdouble): Tolerance(atol=1e-15, rtol=1e-12),
}


def default_tolerance(dtype: DTypeLike) -> Tolerance:
    """The tolerance used for computations in ``dtype``.

    float16: (1e-3, 1e-2); float32: (1e-6, 1e-4); float64: (1e-12, 1e-9).

    Args:
        dtype: a floating dtype (anything ``np.dtype`` accepts).

    Returns:
        The :class:`Tolerance` for that dtype.

    Example:
        >>> default_tolerance("float32").rtol
        0.0001
    """
    dt = np.dtype(dtype)
    if dt not in _TABLE:
        if np.issubdtype(dt, np.integer) or np.issubdtype(dt, np.bool_):
            return _TABLE[np.dtype(np.float64)]
        raise TypeError(f"dtype must be a floating dtype, got {dt}")
    return _TABLE[dt]
