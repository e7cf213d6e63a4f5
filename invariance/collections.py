"""Collections of neurons (eq. 3) and the paper's difference norm.

A collection is an element of ``(R^D)^I``: one D-dimensional vector per index. Two
kinds are provided:

* :class:`FiniteCollection`, ``I = {0, ..., n-1}``, stored as an ``n x D`` array;
* :class:`LazyCollection`, ``I = N`` (the natural numbers), given by a *base rule*
  ``i -> x_i`` (a :class:`LazyBase`, evaluated on demand) plus finitely many
  *overrides*. Entries are computed only where they are asked for.

The norm of Section 3,

    ||X - Y|| = sqrt(sum_i ||x_i - y_i||^2)   if X and Y differ in finitely many entries,
              = +inf                          otherwise,

is :func:`difference_norm`. It is exact between finite collections and between lazy
collections that share a base (they differ at most on the union of their overrides).
Lazy collections on structurally different bases are treated as differing in
infinitely many entries: the library never claims a finite distance it has not proved.
"""

from __future__ import annotations

import math
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Mapping, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Collection",
    "FiniteCollection",
    "LazyCollection",
    "LazyBase",
    "FunctionBase",
    "ConstantBase",
    "CircleBase",
    "TorusBase",
    "SphereBase",
    "as_collection",
    "difference_norm",
    "differing_indices",
]

FloatArray = NDArray[np.floating]

#: Number of base entries used as quadrature nodes for the mean-field measure of a lazy
#: collection (the Cesaro limit of the empirical measure, approximated by its head).
DEFAULT_QUADRATURE = 2048


def _finite_rows(values: ArrayLike, name: str, dim: int | None = None) -> FloatArray:
    """Validate a 2-D array of finite floats; integers and bools become float64."""
    arr = np.asarray(values)
    if arr.dtype == object:
        raise TypeError(f"{name} must be numeric, got an object array")
    if not np.issubdtype(arr.dtype, np.floating):
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, D), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have D >= 1 coordinates per entry, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} has entries of dimension {arr.shape[1]}, expected D = {dim}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} contains NaN or inf (first at entry {tuple(int(b) for b in bad)})")
    return arr


def _index_array(indices: ArrayLike, name: str = "indices") -> NDArray[np.int64]:
    idx = np.asarray(indices)
    if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
        if idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        raise TypeError(f"{name} must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64).reshape(-1)
    if idx.size and idx.min() < 0:
        raise ValueError(f"{name} must be non-negative (the index set is N), got {int(idx.min())}")
    return idx


class FiniteCollection:
    """A finite collection ``X = {x_i}_{i in I}``, ``I = {0, ..., n-1}`` (eq. 3).

    The entries are stored as a read-only ``n x D`` array; every operation returns a
    new collection.

    Args:
        points: array-like of shape ``(n, D)`` with finite entries, ``n >= 1``, ``D >= 1``.
            Floating dtypes are kept (so float32 checks use float32 tolerances);
            integers become float64.

    Example:
        >>> X = FiniteCollection([[0.0, 1.0], [2.0, 3.0]])
        >>> X.n, X.dim
        (2, 2)
    """

    __slots__ = ("_points",)

    def __init__(self, points: ArrayLike) -> None:
        arr = _finite_rows(points, "points")
        if arr.shape[0] == 0:
            raise ValueError("points must hold at least one entry (an empty collection has no neurons)")
        arr = np.array(arr, copy=True)
        arr.setflags(write=False)
        self._points = arr

    @property
    def points(self) -> FloatArray:
        """The entries as a read-only ``(n, D)`` array."""
        return self._points

    @property
    def n(self) -> int:
        """Number of entries |I|."""
        return int(self._points.shape[0])

    @property
    def dim(self) -> int:
        """Dimension D of each entry."""
        return int(self._points.shape[1])

    @property
    def dtype(self) -> np.dtype:
        return self._points.dtype

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> FloatArray:
        return self._points[self._check_indices([i])[0]]

    def _check_indices(self, indices: ArrayLike) -> NDArray[np.int64]:
        idx = _index_array(indices)
        if idx.size and idx.max() >= self.n:
            raise IndexError(f"index {int(idx.max())} is outside the index set {{0, ..., {self.n - 1}}}")
        return idx

    def entries(self, indices: ArrayLike) -> FloatArray:
        """The entries ``x_i`` for ``i`` in ``indices``, as a ``(k, D)`` array."""
        return self._points[self._check_indices(indices)]

    def with_entries(self, indices: ArrayLike, values: ArrayLike) -> FiniteCollection:
        """A copy with ``x_i`` replaced by the rows of ``values`` for ``i`` in ``indices``."""
        idx = self._check_indices(indices)
        vals = _finite_rows(values, "values", self.dim)
        if vals.shape[0] != idx.size:
            raise ValueError(f"values has {vals.shape[0]} rows for {idx.size} indices")
        out = np.array(self._points, copy=True)
        out[idx] = vals.astype(out.dtype, copy=False)
        return FiniteCollection(out)

    def astype(self, dtype: np.dtype | type | str) -> FiniteCollection:
        """The same collection in another floating dtype."""
        return FiniteCollection(self._points.astype(dtype))

    def __repr__(self) -> str:
        return f"FiniteCollection(n={self.n}, D={self.dim}, dtype={self.dtype})"


class LazyBase(ABC):
    """A base rule ``i -> x_i`` on the natural numbers, vectorised over index arrays.

    Subclasses are immutable and compare *structurally*: two bases that are equal
    produce the same entry at every index, which is what makes
    :func:`difference_norm` exact for lazy collections that share a base.
    """

    @property
    @abstractmethod
    def dim(self) -> int:
        """Dimension D of every entry."""

    @abstractmethod
    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        """The entries at ``indices`` as a ``(k, D)`` float64 array."""

    def __call__(self, indices: ArrayLike) -> FloatArray:
        return self.rows(_index_array(indices))

    def atoms(self, n: int = DEFAULT_QUADRATURE) -> FloatArray:
        """The first ``n`` entries, read-only and cached for as long as the base lives:
        quadrature nodes of the limiting empirical measure (the Cesaro limit of the first
        ``n`` entries)."""
        n = int(n)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        cache = _ATOMS.setdefault(self, {})
        hit = cache.get(n)
        if hit is not None:
            return hit
        out = np.array(self.evaluate(np.arange(n, dtype=np.int64)), dtype=np.float64)
        out.setflags(write=False)
        cache[n] = out
        return out

    def cached_atoms(self, n: int) -> FloatArray | None:
        """The first ``n`` entries if :meth:`atoms` has them cached, else ``None`` (no work)."""
        cache = _ATOMS.get(self)
        return None if cache is None else cache.get(int(n))

    def rows(self, indices: NDArray[np.int64]) -> FloatArray:
        """The entries at ``indices``; a prefix ``0..m-1`` is served from (and kept in) the
        cache of :meth:`atoms`, so bases built on one another are evaluated once per step."""
        m = indices.size
        if m and indices[0] == 0 and indices[-1] == m - 1 and np.array_equal(indices, np.arange(m)):
            return self.atoms(m)
        return self.evaluate(indices)


#: Cached prefixes of each base (see LazyBase.atoms); an entry lives as long as its base.
_ATOMS: weakref.WeakKeyDictionary[LazyBase, dict[int, FloatArray]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class FunctionBase(LazyBase):
    """A base given by a user function ``fn(indices) -> (k, D) array``.

    Two ``FunctionBase`` objects are equal only when they wrap the same function object
    and dimension (a function cannot be compared by its values).

    Example:
        >>> base = FunctionBase(lambda i: np.stack([np.cos(i), np.sin(i)], axis=1), dim=2)
        >>> LazyCollection(base).entries([0]).round(3)
        array([[1., 0.]])
    """

    fn: Callable[[NDArray[np.int64]], ArrayLike]
    dim_: int

    def __init__(self, fn: Callable[[NDArray[np.int64]], ArrayLike], dim: int) -> None:
        if not callable(fn):
            raise TypeError("fn must be callable")
        if int(dim) < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "dim_", int(dim))

    @property
    def dim(self) -> int:
        return self.dim_

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        out = np.asarray(self.fn(indices), dtype=np.float64)
        if out.shape != (indices.size, self.dim):
            raise ValueError(f"base function returned shape {out.shape}, expected {(indices.size, self.dim)}")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FunctionBase) and other.fn is self.fn and other.dim_ == self.dim_

    def __hash__(self) -> int:
        return hash((id(self.fn), self.dim_))


@dataclass(frozen=True)
class ConstantBase(LazyBase):
    """Every entry equals ``value`` (all neurons coincide: the fully merged state)."""

    value: tuple[float, ...]

    def __post_init__(self) -> None:
        vals = tuple(float(v) for v in np.asarray(self.value, dtype=np.float64).reshape(-1))
        if not vals:
            raise ValueError("value must have at least one coordinate")
        if not all(math.isfinite(v) for v in vals):
            raise ValueError("value contains NaN or inf")
        object.__setattr__(self, "value", vals)

    @property
    def dim(self) -> int:
        return len(self.value)

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        return np.tile(np.asarray(self.value, dtype=np.float64), (indices.size, 1))


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # 1/phi, the Weyl rotation with the best spacing
_PLASTIC = 1.324717957244746  # root of x^3 = x + 1: the R2 low-discrepancy sequence
_R2 = (1.0 / _PLASTIC, 1.0 / _PLASTIC**2)


def _weyl(indices: NDArray[np.int64], alpha: float) -> FloatArray:
    return np.mod((indices.astype(np.float64) + 0.5) * alpha, 1.0)


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


@dataclass(frozen=True)
class CircleBase(LazyBase):
    """Infinitely many neurons filling a circle of ``radius`` densely (Weyl sequence).

    Entry ``i`` is ``radius * (cos a_i, sin a_i)`` with ``a_i = 2 pi frac((i + 1/2) / phi)``.
    Every arc of the circle contains infinitely many entries.
    """

    radius: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "radius", _positive("radius", self.radius))

    @property
    def dim(self) -> int:
        return 2

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        a = 2.0 * np.pi * _weyl(indices, _GOLDEN)
        return self.radius * np.stack([np.cos(a), np.sin(a)], axis=1)


@dataclass(frozen=True)
class TorusBase(LazyBase):
    """Neurons filling a torus of radii ``major > minor`` in R^3 densely (R2 sequence)."""

    major: float = 2.0
    minor: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "major", _positive("major", self.major))
        object.__setattr__(self, "minor", _positive("minor", self.minor))
        if self.minor >= self.major:
            raise ValueError(f"minor must be < major for an embedded torus, got {self.minor} >= {self.major}")

    @property
    def dim(self) -> int:
        return 3

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        u = 2.0 * np.pi * _weyl(indices, _R2[0])
        v = 2.0 * np.pi * _weyl(indices, _R2[1])
        ring = self.major + self.minor * np.cos(v)
        return np.stack([ring * np.cos(u), ring * np.sin(u), self.minor * np.sin(v)], axis=1)


@dataclass(frozen=True)
class SphereBase(LazyBase):
    """Neurons filling the 2-sphere of ``radius`` in R^3 densely (area-preserving R2 map)."""

    radius: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "radius", _positive("radius", self.radius))

    @property
    def dim(self) -> int:
        return 3

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        z = 1.0 - 2.0 * _weyl(indices, _R2[0])
        a = 2.0 * np.pi * _weyl(indices, _R2[1])
        rho = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
        return self.radius * np.stack([rho * np.cos(a), rho * np.sin(a), z], axis=1)


class LazyCollection:
    """A collection indexed by the natural numbers: a base rule plus finitely many overrides.

    ``x_i = overrides[i]`` if ``i`` is overridden, else ``base(i)``. Nothing is computed
    until entries are asked for.

    Args:
        base: the :class:`LazyBase` giving ``i -> x_i``.
        overrides: mapping from index to a D-vector, finitely many.

    Example:
        >>> X = LazyCollection(CircleBase(), {0: [5.0, 5.0]})
        >>> X.entries([0, 1]).shape
        (2, 2)
        >>> X.support
        (0,)
    """

    __slots__ = ("_base", "_overrides")

    def __init__(self, base: LazyBase, overrides: Mapping[int, ArrayLike] | None = None) -> None:
        if not isinstance(base, LazyBase):
            raise TypeError(f"base must be a LazyBase, got {type(base).__name__}")
        self._base = base
        items = dict(overrides or {})
        if items:
            keys = _index_array(np.fromiter((int(k) for k in items), dtype=np.int64, count=len(items)), "overrides")
            rows = _finite_rows(np.stack([np.asarray(items[int(k)], dtype=np.float64).reshape(-1) for k in keys]),
                                "overrides", base.dim)
            self._overrides = {int(k): rows[n].copy() for n, k in enumerate(keys)}
            for row in self._overrides.values():
                row.setflags(write=False)
        else:
            self._overrides = {}

    @property
    def base(self) -> LazyBase:
        return self._base

    @property
    def dim(self) -> int:
        return self._base.dim

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)

    @property
    def overrides(self) -> dict[int, FloatArray]:
        """A copy of the overrides, ``{index: entry}``."""
        return dict(self._overrides)

    @property
    def support(self) -> tuple[int, ...]:
        """The sorted overridden indices (where the collection may differ from its base)."""
        return tuple(sorted(self._overrides))

    def entries(self, indices: ArrayLike) -> FloatArray:
        """The entries ``x_i`` for ``i`` in ``indices``, as a ``(k, D)`` array."""
        idx = _index_array(indices)
        out = np.array(self._base.rows(idx), dtype=np.float64, copy=True)
        if self._overrides:
            for pos, i in enumerate(idx.tolist()):
                row = self._overrides.get(i)
                if row is not None:
                    out[pos] = row
        return out

    def __getitem__(self, i: int) -> FloatArray:
        return self.entries([i])[0]

    def with_entries(self, indices: ArrayLike, values: ArrayLike) -> LazyCollection:
        """A copy with ``x_i`` replaced by the rows of ``values`` for ``i`` in ``indices``."""
        idx = _index_array(indices)
        vals = _finite_rows(values, "values", self.dim)
        if vals.shape[0] != idx.size:
            raise ValueError(f"values has {vals.shape[0]} rows for {idx.size} indices")
        new = dict(self._overrides)
        for i, row in zip(idx.tolist(), vals):
            new[int(i)] = row
        return LazyCollection(self._base, new)

    def head(self, n: int) -> FiniteCollection:
        """The first ``n`` entries as a :class:`FiniteCollection` (a finite window)."""
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return FiniteCollection(self.entries(np.arange(int(n))))

    def shares_base(self, other: LazyCollection) -> bool:
        """Whether ``other`` has an equal base (then the two differ in finitely many entries)."""
        return isinstance(other, LazyCollection) and self._base == other._base

    def __repr__(self) -> str:
        return f"LazyCollection(base={self._base!r}, D={self.dim}, overrides={len(self._overrides)})"


Collection = Union[FiniteCollection, LazyCollection]


def as_collection(x: Union[Collection, ArrayLike]) -> Collection:
    """Return ``x`` if it is a collection, else wrap an ``(n, D)`` array as a FiniteCollection."""
    if isinstance(x, (FiniteCollection, LazyCollection)):
        return x
    return FiniteCollection(x)


def _check_same_space(X: Collection, Y: Collection, names: tuple[str, str] = ("X", "Y")) -> None:
    if isinstance(X, FiniteCollection) != isinstance(Y, FiniteCollection):
        raise TypeError(
            f"{names[0]} and {names[1]} live on different index sets (one finite, one lazy on N); "
            "the difference norm is defined only on one space (R^D)^I"
        )
    if X.dim != Y.dim:
        raise ValueError(f"{names[1]} has entries of dimension {Y.dim}, {names[0]} of dimension {X.dim}")
    if isinstance(X, FiniteCollection) and isinstance(Y, FiniteCollection) and X.n != Y.n:
        raise ValueError(f"{names[1]} has {Y.n} entries, {names[0]} has {X.n}: different index sets")


def differing_indices(X: Collection, Y: Collection) -> NDArray[np.int64] | None:
    """The indices where ``X`` and ``Y`` may differ, or ``None`` if that set is not known
    to be finite (lazy collections on different bases)."""
    _check_same_space(X, Y)
    if isinstance(X, FiniteCollection):
        return np.arange(X.n, dtype=np.int64)
    assert isinstance(Y, LazyCollection)
    if not X.shares_base(Y):
        return None
    return np.array(sorted(set(X.support) | set(Y.support)), dtype=np.int64)


def difference_norm(X: Collection, Y: Collection) -> float:
    """The paper's norm ``||X - Y||`` (Section 3).

    ``sqrt(sum_i ||x_i - y_i||^2)`` when ``X`` and ``Y`` differ in finitely many entries,
    ``+inf`` otherwise. Exact for finite collections and for lazy collections on equal
    bases; lazy collections on different bases give ``+inf`` (not proved to differ in
    finitely many entries).

    Args:
        X, Y: collections on the same index set and of the same dimension D.

    Returns:
        The norm as a Python float (possibly ``inf``).

    Raises:
        TypeError: one collection is finite and the other lazy.
        ValueError: the dimensions or the sizes differ.

    Example:
        >>> difference_norm(FiniteCollection([[0.0], [0.0]]), FiniteCollection([[3.0], [4.0]]))
        5.0
    """
    idx = differing_indices(X, Y)
    if idx is None:
        return math.inf
    if idx.size == 0:
        return 0.0
    diff = np.asarray(X.entries(idx), dtype=np.float64) - np.asarray(Y.entries(idx), dtype=np.float64)
    return float(np.sqrt(np.sum(diff * diff)))
