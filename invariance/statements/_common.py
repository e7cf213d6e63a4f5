"""Shared machinery of the executable statements: the examined index set, pairwise
distances and the grouping of coincident neurons (private). Argument validation comes
from :mod:`invariance.arguments` and is re-exported here for the statement modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.spatial.distance import pdist

from ..arguments import check_collection, check_eta, check_int, check_K, check_t
from ..collections import Collection, FiniteCollection
from ..rules import UpdateRule, check_rule
from ..tolerances import Tolerance, default_tolerance

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.int64]

__all__ = ["check_collection", "check_eta", "check_K", "check_rule", "check_t"]  # re-exported

#: Base indices examined on a lazy collection besides its overrides.
DEFAULT_WINDOW = 64


def check_optional_K(K: float | None) -> float | None:
    return None if K is None else check_K(K)


def check_window(window: int) -> int:
    """Base indices examined on a lazy collection: an integer >= 1."""
    return check_int(window, "window", 1)


def examined_indices(X: Collection, indices: Sequence[int] | ArrayLike | None, window: int) -> tuple[IndexArray, bool]:
    """The indices a statement examines, and whether that is the whole index set.

    Finite: all of ``0..n-1`` (or ``indices``). Lazy: the overrides plus the base window
    ``0..window-1`` (or ``indices``); never exhaustive (the index set is N).
    """
    window = check_window(window)
    if indices is not None:
        idx = np.asarray(indices)
        if idx.size == 0:
            raise ValueError("indices must not be empty (give None to examine the default index set)")
        if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
        idx = idx.astype(np.int64).reshape(-1)
        if idx.min() < 0:
            raise ValueError(f"indices must be non-negative, got {int(idx.min())}")
        if isinstance(X, FiniteCollection) and idx.max() >= X.n:
            raise ValueError(f"indices contains {int(idx.max())}, outside the index set {{0, ..., {X.n - 1}}} of X")
        if np.unique(idx).size != idx.size:
            raise ValueError("indices must not repeat an index")
        exhaustive = isinstance(X, FiniteCollection) and idx.size == X.n
        return np.sort(idx), exhaustive
    if isinstance(X, FiniteCollection):
        return np.arange(X.n, dtype=np.int64), True
    idx = np.union1d(np.arange(window, dtype=np.int64), np.asarray(X.support, dtype=np.int64)).astype(np.int64)
    return idx, False


def entries(X: Collection, idx: IndexArray) -> FloatArray:
    """The entries at ``idx`` as float64 (exact for float32 inputs)."""
    if isinstance(X, FiniteCollection):
        return np.asarray(X.points[idx], dtype=np.float64)
    return np.asarray(X.entries(idx), dtype=np.float64)


def tolerance_for(X: Collection) -> Tolerance:
    return default_tolerance(X.dtype)


def max_norm(*arrays: FloatArray) -> float:
    """The largest row norm among the arrays: the scale of a relative tolerance."""
    best = 0.0
    for a in arrays:
        if a.size:
            best = max(best, float(np.max(np.sqrt(np.sum(a * a, axis=1)))))
    return best


def pair_distances(points: FloatArray) -> FloatArray:
    """Condensed distances ``||p_a - p_b||`` for ``a < b`` (the order of ``np.triu_indices``)."""
    if points.shape[0] < 2:
        return np.zeros(0)
    return np.asarray(pdist(points), dtype=np.float64)


def condensed_pair(k: int, m: int) -> tuple[int, int]:
    """The positions ``(a, b)``, ``a < b``, of condensed index ``k`` among ``m`` points."""
    a = np.arange(m - 1)
    starts = a * m - a * (a + 1) // 2
    row = int(np.searchsorted(starts, k, side="right") - 1)
    col = int(k - starts[row] + row + 1)
    return row, col


def condensed_pairs(m: int) -> IndexArray:
    """All positions ``(a, b)``, ``a < b``, in condensed order, shape ``(m(m-1)/2, 2)``."""
    a, b = np.triu_indices(m, k=1)
    return np.stack([a, b], axis=1).astype(np.int64)


def group_labels(points: FloatArray, threshold: float) -> IndexArray:
    """Atom labels of the connected components of ``||p_a - p_b|| <= threshold``.

    Labels are numbered in order of first appearance, so label ``g`` is represented by
    its first member. (Single linkage: a chain of close points forms one atom.)
    """
    m = points.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(points).query_pairs(r=max(threshold, 0.0), output_type="ndarray")
    if pairs.size == 0:
        return np.arange(m, dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, raw = connected_components(graph, directed=False)
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(first)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(order.size)
    return relabel[inverse.reshape(-1)].astype(np.int64)


def close_pairs(points: FloatArray, threshold: float) -> IndexArray:
    """Positions ``(a, b)``, ``a < b``, with ``||p_a - p_b|| <= threshold``, sorted."""
    if points.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = cKDTree(points).query_pairs(r=max(threshold, 0.0), output_type="ndarray")
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(pairs.astype(np.int64), axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


@dataclass(frozen=True)
class Sample:
    """A collection and its step, read at the examined indices (all float64)."""

    idx: IndexArray
    exhaustive: bool
    before: FloatArray
    after: FloatArray
    tol: Tolerance
    scale: float


def sample_step(rule: UpdateRule, X: Collection, eta: float, t: int, idx: IndexArray, exhaustive: bool) -> Sample:
    Y = rule.step(X, eta, t)
    before = entries(X, idx)
    after = entries(Y, idx)
    tol = tolerance_for(X)
    return Sample(idx, exhaustive, before, after, tol, max(max_norm(before), max_norm(after)))


def readonly(a: NDArray) -> NDArray:
    a = np.asarray(a)
    a.setflags(write=False)
    return a


def lemma4_lower_bound(rule: UpdateRule, X: Collection, t: int, idx: IndexArray, coincidence: float) -> float:
    """max ||U_i - U_j|| / ||x_i - x_j|| over examined pairs farther apart than ``coincidence``."""
    if idx.size < 2:
        return 0.0
    x = entries(X, idx)
    u = entries(rule.update(X, t), idx)
    d = pair_distances(x)
    du = pair_distances(u)
    mask = d > coincidence
    return float(np.max(du[mask] / d[mask])) if np.any(mask) else 0.0
