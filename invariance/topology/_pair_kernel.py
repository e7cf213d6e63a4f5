"""numba kernels of :func:`invariance.topology.geometry.threshold_graph` for clouds of few dimensions,
and the exact lengths of a filtration's edges (:func:`pair_sq`).

The rows of ``P`` (principal coordinates) are sorted by their first coordinate, so a row's scan
stops at the first ``j`` whose first coordinate is more than ``reach`` above its own. Imported
only when numba is; the functions live at module level so that numba's disk cache serves later
processes.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["count", "fill", "pair_sq", "upper_max"]


@numba.njit(cache=True)
def row_pairs(P: NDArray[np.float64], i: int, hi: float, reach: float, q: int, rows: NDArray[np.int64],
              cols: NDArray[np.int64], d2: NDArray[np.float64], write: bool) -> int:
    """Pairs ``(i, j)``, ``j > i``, with squared distance ``<= hi`` (written from slot ``q`` when
    ``write``); returns ``q`` plus their number."""
    n, d = P.shape
    for j in range(i + 1, n):
        if P[j, 0] - P[i, 0] > reach:
            break
        s = 0.0
        for k in range(d):
            y = P[i, k] - P[j, k]
            s += y * y
        if s <= hi:
            if write:
                rows[q] = i
                cols[q] = j
                d2[q] = s
            q += 1
    return q


@numba.njit(parallel=True, cache=True)
def upper_max(P: NDArray[np.float64]) -> NDArray[np.float64]:
    """``max_{j > i} |p_i - p_j|^2`` for every row ``i`` (0 for the last)."""
    n, d = P.shape
    out = np.zeros(n)
    for i in numba.prange(n):
        best = 0.0
        for j in range(i + 1, n):
            s = 0.0
            for k in range(d):
                y = P[i, k] - P[j, k]
                s += y * y
            best = max(best, s)
        out[i] = best
    return out


@numba.njit(parallel=True, cache=True)
def count(P: NDArray[np.float64], hi: float, reach: float) -> NDArray[np.int64]:
    """Number of pairs ``(i, j > i)`` within ``hi`` (squared) of every row ``i``."""
    n = P.shape[0]
    out = np.zeros(n, np.int64)
    dummy_i = np.zeros(0, np.int64)
    dummy_f = np.zeros(0)
    for i in numba.prange(n):
        out[i] = row_pairs(P, i, hi, reach, 0, dummy_i, dummy_i, dummy_f, False)
    return out


@numba.njit(parallel=True, cache=True)
def fill(P: NDArray[np.float64], hi: float, reach: float, offsets: NDArray[np.int64],
         rows: NDArray[np.int64], cols: NDArray[np.int64], d2: NDArray[np.float64]) -> None:
    """Write the pairs of row ``i`` from slot ``offsets[i]`` (``offsets`` from :func:`count`)."""
    for i in numba.prange(P.shape[0]):
        row_pairs(P, i, hi, reach, offsets[i], rows, cols, d2, True)


@numba.njit(parallel=True, cache=True)
def pair_sq(X: NDArray[np.float64], rows: NDArray[np.int64], cols: NDArray[np.int64]) -> NDArray[np.float64]:
    """``|x_rows[e] - x_cols[e]|^2`` for every pair ``e``, summed over the coordinates in order
    (GUDHI's order): equal coordinate differences give equal values, whatever the pair."""
    out = np.empty(rows.size)
    d = X.shape[1]
    for e in numba.prange(rows.size):
        a, b = rows[e], cols[e]
        s = 0.0
        for k in range(d):
            y = X[a, k] - X[b, k]
            s += y * y
        out[e] = s
    return out
