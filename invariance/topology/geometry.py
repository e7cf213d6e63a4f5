"""Point clouds, their diameter and their threshold graph (the 1-skeleton of Vietoris-Rips).

The Vietoris-Rips complex ``VR_r(X)`` of a cloud ``X = {x_1, ..., x_n}`` at scale ``r``
is the flag complex of the *threshold graph* ``G_r(X)``: vertices ``1..n``, an edge
``{i, j}`` whenever ``||x_i - x_j|| <= r`` (the convention of GUDHI's ``RipsComplex``
with ``max_edge_length = r``). Everything the topology backends need is this graph.

Distances are computed by the Gram identity ``||x_i - x_j||^2 = |x_i|^2 + |x_j|^2 - 2
<x_i, x_j>`` in row blocks (memory ``O(block * n)``), after projecting the centred cloud
onto its numerical span when that span is low-dimensional (an isometry, so distances are
unchanged: a sphere S^2 embedded in R^785 costs what it costs in R^3). Pairs whose Gram
distance lies within rounding of the threshold are recomputed directly from coordinate
differences, so the edge set is the one GUDHI builds from the same points and ``r``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_collection, check_positive
from ..collections import FiniteCollection, LazyCollection

__all__ = [
    "as_points",
    "ThresholdGraph",
    "diameter",
    "threshold_graph",
    "RelativeScale",
    "resolve_scale",
    "isometric_coordinates",
    "clear_geometry_memo",
]

#: rows per block of the distance computation (block * n float64 values live at once)
_BLOCK = 1024
#: above this many points the dense n x n matrix is not kept (two blocked passes instead)
_DENSE_MAX = 4096


def as_points(points: object, name: str = "points") -> NDArray[np.float64]:
    """A point cloud as a C-contiguous float64 ``(n, D)`` array.

    Accepts an ``(n, D)`` array-like, a :class:`~invariance.FiniteCollection` or a torch
    tensor (detached, moved to the CPU). ``TypeError`` for other objects (a
    :class:`~invariance.LazyCollection` must be materialised first), ``ValueError`` for
    NaN/inf entries or a wrong shape.

    Example:
        >>> as_points([[0, 0], [1, 1]]).dtype
        dtype('float64')
    """
    if isinstance(points, LazyCollection):
        raise TypeError(f"{name} is a LazyCollection (infinitely many neurons): pass X.entries(range(n)) instead")
    if type(points).__module__.startswith("torch"):
        points = points.detach().cpu().numpy()  # type: ignore[attr-defined]
    X = check_collection(points, name)
    assert isinstance(X, FiniteCollection)
    return np.ascontiguousarray(X.points, dtype=np.float64)


@dataclass(frozen=True)
class RelativeScale:
    """The paper's self-adaptive scale (App. C.2): ``r = fraction * diam(X)``.

    Example:
        >>> RelativeScale(0.25).resolve(8.0)
        2.0
    """

    fraction: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "fraction", check_positive(self.fraction, "fraction"))

    def resolve(self, diam: float) -> float:
        """The absolute scale for a cloud of diameter ``diam``."""
        return self.fraction * float(diam)


def resolve_scale(scale: object) -> RelativeScale | float:
    """Validate a scale argument: ``None`` (the paper's ``diam/4``), a :class:`RelativeScale`,
    the string ``"diameter/4"``-style ``"adaptive"``, or an absolute number ``>= 0``.

    Example:
        >>> resolve_scale(None)
        RelativeScale(fraction=0.25)
        >>> resolve_scale(0.5)
        0.5
    """
    if scale is None or (isinstance(scale, str) and scale == "adaptive"):
        return RelativeScale(0.25)
    if isinstance(scale, RelativeScale):
        return scale
    if isinstance(scale, str):
        raise ValueError(f"scale must be a number, a RelativeScale, None or 'adaptive', got {scale!r}")
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.integer, np.floating)):
        raise TypeError(f"scale must be a number, a RelativeScale, None or 'adaptive', got {scale!r}")
    value = float(scale)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    return value


def isometric_coordinates(X: NDArray[np.float64], seed: int = 0) -> NDArray[np.float64]:
    """``X`` centred and, when its span is low-dimensional, written in an orthonormal basis of that span.

    Pairwise distances are kept (an isometry up to rounding), so every Rips computation can
    run on the short coordinates: a cloud of neurons in ``R^785`` that spans 3 dimensions
    costs what a cloud in ``R^3`` costs. The span is found with a seeded random sketch of
    32 directions and accepted only if it reproduces every row to ``1e-13`` relative;
    otherwise the centred rows are returned unchanged.

    Example:
        >>> from invariance.topology import samplers
        >>> isometric_coordinates(samplers.sphere(50, ambient_dim=785, seed=0)).shape
        (50, 32)
    """
    Xc = X - X.mean(axis=0)
    n, dim = Xc.shape
    m = 32
    if dim <= m or n <= m:
        return Xc
    key = (_content_key(X), int(seed)) if n * dim >= 1 << 16 else None
    if key is not None and _FULL_SPAN.get(key):  # this cloud's span was found too large before
        return Xc
    sketch = Xc.T @ np.random.default_rng(seed).standard_normal((n, m))
    Q, _ = np.linalg.qr(sketch)
    Z = Xc @ Q
    err = np.sqrt(np.max(np.sum((Xc - Z @ Q.T) ** 2, axis=1)))
    norm = np.sqrt(np.max(np.sum(Xc * Xc, axis=1)))
    if err <= 1e-13 * max(norm, 1e-300):
        return Z
    if key is not None:
        _FULL_SPAN.put(key, True)
    return Xc


def _exact_sq(X: NDArray[np.float64], i: NDArray[np.intp], j: NDArray[np.intp]) -> NDArray[np.float64]:
    out = np.empty(i.size)
    for a in range(0, i.size, 65536):
        diff = X[i[a:a + 65536]] - X[j[a:a + 65536]]
        out[a:a + 65536] = np.einsum("ij,ij->i", diff, diff)
    return out


def _exact_lengths(X: NDArray[np.float64], i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.float64]:
    """``||x_i - x_j||`` from the coordinate differences, summed in coordinate order (numba when it
    is installed, 4x faster than the gathered differences at 50k pairs in ``R^795``)."""
    try:
        from ._pair_kernel import pair_sq
    except ImportError:
        return np.sqrt(_exact_sq(X, i, j))
    return np.sqrt(pair_sq(X, np.ascontiguousarray(i, dtype=np.int64), np.ascontiguousarray(j, dtype=np.int64)))


#: clouds whose span has at most this many dimensions use the direct pair kernel (numba)
_DIRECT_MAX_DIM = 16
_PAIRS: object = None
#: smaller clouds use the Gram blocks (no compilation)
_DIRECT_MIN_POINTS = 2048


def _pair_kernels() -> object:
    """numba kernels over the pairs of a cloud sorted by its first coordinate (``None`` without numba)."""
    global _PAIRS
    if _PAIRS is None:
        try:
            from ._pair_kernel import count, fill, upper_max
        except ImportError:
            _PAIRS = False
            return None
        _PAIRS = (upper_max, count, fill)
    return _PAIRS or None


def principal_coordinates(X: NDArray[np.float64], max_dim: int = _DIRECT_MAX_DIM) -> NDArray[np.float64] | None:
    """``X`` in the orthonormal basis of its principal axes, when its span has at most ``max_dim`` dimensions.

    An isometry up to rounding (the discarded singular values are below ``1e-13`` of the
    largest), columns in decreasing order of variance; ``None`` when the span is larger.

    Example:
        >>> from invariance.topology import samplers
        >>> principal_coordinates(samplers.sphere(50, ambient_dim=785, seed=0)).shape
        (50, 3)
    """
    Z = isometric_coordinates(X)
    if Z.shape[0] < 2:
        return None
    if Z.shape[1] > 4 * max_dim:
        return None
    _, S, Vt = np.linalg.svd(Z, full_matrices=False)
    if S[0] == 0:
        return np.zeros((Z.shape[0], 1))
    rank = int(np.sum(S > 1e-13 * S[0]))
    if rank > max_dim:
        return None
    return np.ascontiguousarray(Z @ Vt[:rank].T)


class _Memo:
    """Results of a pure function of a cloud, keyed by the cloud's exact contents (its shape and the
    SHA-1 digest of its bytes: 5 ms for 1024 x 795 float64 values, against 45 ms for its diameter).

    The same neurons are read several times in a row (the fixed-scale Betti numbers, the merges, the
    diagnostics of one snapshot): each reading computes the diameter, and the Gram blocks, once.
    Least recently used entries go first; a lock keeps the subsample threads of
    :func:`~invariance.topology.significant_features` apart.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def _content_key(X: NDArray[np.float64]) -> tuple[Any, ...]:
    """``(shape, dtype, SHA-1 of the bytes)`` of a C-contiguous array: equal keys, equal arrays."""
    data = np.ascontiguousarray(X)
    return (data.shape, data.dtype.str, hashlib.sha1(data.data, usedforsecurity=False).digest())


#: diameters^2 of recent clouds
_DIAMETERS = _Memo(32)
#: clouds whose span has more than 32 dimensions (the sketch of isometric_coordinates is not redone)
_FULL_SPAN = _Memo(32)
#: Gram blocks of the two most recent clouds of 64..2048 points (at most about 40 MB each)
_GRAMS = _Memo(2)
_GRAM_MEMO_POINTS = (64, 2048)


def clear_geometry_memo() -> None:
    """Forget the diameters, Gram blocks and span verdicts kept for recent clouds.

    Readings of one cloud share them (keyed by its contents, so a cloud changed in place is read
    afresh); clear them to time a reading from scratch, or to free the memory (at most two
    clouds of up to 2048 points keep their Gram blocks, about 40 MB each).

    Example:
        >>> clear_geometry_memo()
    """
    for memo in (_DIAMETERS, _GRAMS, _FULL_SPAN):
        memo.clear()


def _gram_of(X: NDArray[np.float64]) -> _Gram:
    """The :class:`_Gram` of ``X``, shared with the last readings of the same cloud when it is mid-sized."""
    lo, hi = _GRAM_MEMO_POINTS
    if not lo <= X.shape[0] <= hi:
        return _Gram(X)
    key = _content_key(X)
    gram = _GRAMS.get(key)
    if gram is None:
        gram = _Gram(X, key)
        list(gram.blocks())  # kept: n <= _DENSE_MAX
        _GRAMS.put(key, gram)
    return gram


class _Gram:
    """Blocked squared distances of a (reduced) cloud with a rounding bound."""

    def __init__(self, X: NDArray[np.float64], key: tuple[Any, ...] | None = None) -> None:
        self.key = key  # content key of X, when it was computed
        self.Z = isometric_coordinates(X)
        self.sq = np.einsum("ij,ij->i", self.Z, self.Z)
        top = float(self.sq.max()) if self.sq.size else 0.0
        # |gram d2 - exact d2| <= c * eps * max|z|^2 ; generous constant, cheap recheck
        self.tol = 1e-10 * top + 1e-300
        self.cache: list[tuple[int, NDArray[np.float64]]] | None = None

    def blocks(self) -> Iterator[tuple[int, NDArray[np.float64]]]:
        """``(a, d2_block)`` pairs: rows ``a..a+m-1`` against columns ``a..n-1``; kept when ``n <= 4096``."""
        if self.cache is not None:
            return iter(self.cache)
        n = self.Z.shape[0]
        gen = self._compute(n)
        if n <= _DENSE_MAX:
            cache = list(gen)
            for _, d2 in cache:
                d2.flags.writeable = False  # shared by every reading of the cloud
            self.cache = cache
            return iter(cache)
        return gen

    def _compute(self, n: int) -> Iterator[tuple[int, NDArray[np.float64]]]:
        # block a holds the squared distances of rows a..b-1 to columns a..n-1 (upper part)
        for a in range(0, n, _BLOCK):
            b = min(n, a + _BLOCK)
            d2 = self.Z[a:b] @ self.Z[a:].T
            d2 *= -2.0
            d2 += self.sq[a:b, None]
            d2 += self.sq[None, a:]
            np.maximum(d2, 0.0, out=d2)
            yield a, d2


def _exact_diameter_sq(X: NDArray[np.float64], rowmax: NDArray[np.float64], tol: float,
                       index: NDArray[np.intp] | None = None) -> float:
    """``diam(X)^2`` from approximate row maxima ``rowmax`` (row ``k`` is point ``index[k]``, or ``k``):
    the rows within ``tol`` of the top are recomputed from the coordinates of ``X`` (unless more than
    256 tie, when the approximate value, within 1e-10 relative, is returned)."""
    top = float(rowmax.max())
    rows = np.nonzero(rowmax >= top - tol)[0]
    if rows.size > 256:
        return top
    best = 0.0
    for i in (rows if index is None else index[rows]):
        diff = X - X[i]
        best = max(best, float(np.einsum("ij,ij->i", diff, diff).max()))
    return best


def _decided_near_threshold(X: NDArray[np.float64], i: NDArray[np.intp], j: NDArray[np.intp],
                            vals: NDArray[np.float64], r: float, lo: float) -> NDArray[np.bool_]:
    """Which candidate pairs are edges: squared distances ``vals >= lo`` (within rounding of ``r^2``)
    are recomputed from the coordinates (in place) and kept when ``<= r``; the others are kept."""
    keep = np.ones(vals.size, dtype=bool)
    near = np.nonzero(vals >= lo)[0]
    if near.size:
        vals[near] = _exact_sq(X, i[near], j[near])
        keep[near[np.sqrt(vals[near]) > r]] = False
    return keep


def _diameter_sq(X: NDArray[np.float64], gram: _Gram) -> float:
    n = X.shape[0]
    if n == 1:
        return 0.0
    key = gram.key if gram.key is not None else _content_key(X)
    known = _DIAMETERS.get(key)
    if known is not None:
        return float(known)
    rowmax = np.zeros(n)
    for a, d2 in gram.blocks():
        rowmax[a:a + d2.shape[0]] = d2.max(axis=1)
    value = _exact_diameter_sq(X, rowmax, gram.tol)
    _DIAMETERS.put(key, value)
    return value


def diameter(points: ArrayLike) -> float:
    """The diameter ``max_{i,j} ||x_i - x_j||`` of a cloud (0 for a single point).

    Example:
        >>> diameter([[0, 0], [3, 4], [1, 1]])
        5.0
    """
    X = as_points(points)
    return float(np.sqrt(_diameter_sq(X, _gram_of(X))))


@dataclass(frozen=True)
class ThresholdGraph:
    """The threshold graph ``G_r(X)``: the edges ``i < j`` with ``||x_i - x_j|| <= r``.

    Attributes:
        n: number of vertices (points).
        rows, cols: the edges as two int arrays with ``rows < cols``.
        lengths: the edge lengths ``||x_i - x_j||``, within ``1e-6`` relative (recomputed from
            the coordinates near ``r`` and for short edges: duplicated points get length 0).
        scale: the absolute scale ``r``.
        diameter: the cloud's diameter (``nan`` when it was not needed).
    """

    n: int
    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    lengths: NDArray[np.float64]
    scale: float
    diameter: float

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.rows.size)


def _direct_threshold_graph(X: NDArray[np.float64], P: NDArray[np.float64], spec: RelativeScale | float,
                            kernels: Any) -> ThresholdGraph:
    """The threshold graph from the principal coordinates ``P`` of ``X`` by the numba pair kernels.

    Rows sorted by the first principal coordinate: a pair whose first coordinates differ by
    more than ``r`` is no edge, so each row stops early. Squared distances within rounding
    of ``r^2`` (and of the diameter) are recomputed from the coordinates of ``X`` itself.
    """
    upper_max, count, fill = kernels
    n = X.shape[0]
    order = np.argsort(P[:, 0], kind="stable")
    Ps = np.ascontiguousarray(P[order])
    tol = 1e-10 * float(np.max(np.einsum("ij,ij->i", Ps, Ps))) + 1e-300
    diam = float("nan")
    if isinstance(spec, RelativeScale):
        key = _content_key(X)
        known = _DIAMETERS.get(key)
        if known is None:
            known = _exact_diameter_sq(X, upper_max(Ps), tol, order)
            _DIAMETERS.put(key, known)
        diam = float(np.sqrt(known))
        r = spec.resolve(diam)
    else:
        r = spec
    r2 = r * r
    hi = r2 + tol
    counts = count(Ps, hi, float(np.sqrt(hi)))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    m = int(offsets[-1])
    si, sj, vals = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m)
    fill(Ps, hi, float(np.sqrt(hi)), offsets[:-1].copy(), si, sj, vals)
    i, j = order[si], order[sj]
    swap = i > j
    i[swap], j[swap] = j[swap], i[swap]
    keep = _decided_near_threshold(X, i, j, vals, r, r2 - tol)
    if not keep.all():
        i, j, vals = i[keep], j[keep], vals[keep]
    return ThresholdGraph(n=int(n), rows=i.astype(np.int64), cols=j.astype(np.int64), lengths=np.sqrt(vals),
                          scale=float(r), diameter=diam)


def threshold_graph(points: ArrayLike, scale: object = None) -> ThresholdGraph:
    """The 1-skeleton of ``VR_r(X)``: edges ``{i, j}`` with ``||x_i - x_j|| <= r``.

    Args:
        points: ``(n, D)`` cloud (array, FiniteCollection or torch tensor), finite entries.
        scale: absolute ``r >= 0``, or ``None`` / :class:`RelativeScale` for ``r = f * diam``
            (``f = 1/4`` by default, App. C.2).

    Returns:
        A :class:`ThresholdGraph` (edges within rounding of ``r`` are decided by direct
        coordinate differences, as GUDHI decides them).

    Example:
        >>> g = threshold_graph([[0.0], [1.0], [3.0]], scale=1.0)
        >>> g.n_edges, g.rows.tolist(), g.cols.tolist()
        (1, [0], [1])
    """
    X = as_points(points)
    spec = resolve_scale(scale)
    kernels = _pair_kernels() if X.shape[0] > _DIRECT_MIN_POINTS else None
    P = principal_coordinates(X) if kernels is not None else None
    if P is not None:
        return _direct_threshold_graph(X, P, spec, kernels)
    gram = _gram_of(X)
    diam = float("nan")
    if isinstance(spec, RelativeScale):
        diam = float(np.sqrt(_diameter_sq(X, gram)))
        r = spec.resolve(diam)
    else:
        r = spec
    r2 = r * r
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    lengths: list[NDArray[np.float64]] = []
    lo, hi = r2 - gram.tol, r2 + gram.tol
    short_sq = 1e6 * gram.tol  # below: lengths recomputed, so every length is within 1e-6 relative
    for a, d2 in gram.blocks():
        i, j = np.nonzero(d2 <= hi)
        upper = j > i  # column index j is relative to a
        i, j = i[upper], j[upper]
        vals = d2[i, j]
        i = i + a
        j = j + a
        keep = _decided_near_threshold(X, i, j, vals, r, lo)
        if not keep.all():
            i, j, vals = i[keep], j[keep], vals[keep]
        short = np.nonzero(vals < short_sq)[0]  # the Gram identity's round-off, ~tol, is large there
        if short.size:
            vals[short] = _exact_sq(X, i[short], j[short])
        rows.append(i.astype(np.int64))
        cols.append(j.astype(np.int64))
        lengths.append(np.sqrt(vals))
    R = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    C = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    L = np.concatenate(lengths) if lengths else np.zeros(0)
    return ThresholdGraph(n=int(X.shape[0]), rows=R, cols=C, lengths=L, scale=float(r), diameter=diam)
