"""Finitary permutations FSym(I) and their action on collections (Section 3).

A finitary permutation moves finitely many indices. It acts on a collection by

    (P X)_i = x_{P(i)},

so acting by ``Q`` and then by ``P`` gives ``(P(Q X))_i = x_{Q(P(i))}``: the action of
``P`` after ``Q`` is the action of ``Q @ P`` (a right action). On a lazy collection the
action materialises overrides on ``supp(P)`` only, so ``P X`` is again a base plus
finitely many overrides.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .collections import Collection, FiniteCollection, LazyCollection

__all__ = ["FinitaryPermutation", "shrink_permutation"]


def _as_index(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must contain integer indices, got {value!r}")
    v = int(value)
    if v < 0:
        raise ValueError(f"{name} must contain non-negative indices (the index set is N), got {v}")
    return v


class FinitaryPermutation:
    """An element of FSym(I): a bijection of the natural numbers that moves finitely many.

    Args:
        mapping: ``{i: P(i)}`` for the indices ``P`` moves (fixed points may be listed and
            are dropped). It must be a bijection of its support: the keys and the values
            must be the same set. Anything else is refused with ``ValueError``.

    Example:
        >>> P = FinitaryPermutation({0: 1, 1: 2, 2: 0})
        >>> P(0), P.support, P.inverse()(0)
        (1, (0, 1, 2), 2)
        >>> FinitaryPermutation.from_cycles((0, 1, 2)) == P
        True
    """

    __slots__ = ("_map", "_hash")

    def __init__(self, mapping: Mapping[int, int] | None = None) -> None:
        items: dict[int, int] = {}
        if mapping is not None:
            if not isinstance(mapping, Mapping):
                raise TypeError(f"mapping must be a mapping {{i: P(i)}}, got {type(mapping).__name__}")
            for k, v in mapping.items():
                items[_as_index(k, "mapping")] = _as_index(v, "mapping")
        moved = {k: v for k, v in items.items() if k != v}
        if set(moved) != set(moved.values()) or len(set(moved.values())) != len(moved):
            missing = sorted(set(moved.values()) - set(moved))
            extra = sorted(set(moved) - set(moved.values()))
            raise ValueError(
                "mapping is not a bijection of its support: "
                f"values not among the keys {missing}, keys never hit {extra}"
            )
        self._map = moved
        self._hash = hash(frozenset(moved.items()))

    # -- constructors -------------------------------------------------------------
    @classmethod
    def identity(cls) -> FinitaryPermutation:
        """The identity (empty support)."""
        return cls()

    @classmethod
    def transposition(cls, i: int, j: int) -> FinitaryPermutation:
        """The transposition swapping ``i`` and ``j`` (eq. 18); ``i == j`` is refused."""
        a, b = _as_index(i, "i"), _as_index(j, "j")
        if a == b:
            raise ValueError(f"a transposition needs two different indices, got i = j = {a}")
        return cls({a: b, b: a})

    @classmethod
    def from_cycles(cls, *cycles: Sequence[int]) -> FinitaryPermutation:
        """The product of disjoint cycles; ``(a, b, c)`` sends ``a -> b -> c -> a``."""
        mapping: dict[int, int] = {}
        seen: set[int] = set()
        for cycle in cycles:
            elems = [_as_index(c, "cycles") for c in cycle]
            if len(set(elems)) != len(elems) or seen & set(elems):
                raise ValueError(f"cycles must be disjoint and without repeats, got {cycles!r}")
            seen |= set(elems)
            for a, b in zip(elems, elems[1:] + elems[:1]):
                mapping[a] = b
        return cls(mapping)

    @classmethod
    def from_array(cls, perm: ArrayLike) -> FinitaryPermutation:
        """The permutation ``i -> perm[i]`` of ``{0, ..., len(perm)-1}``."""
        arr = np.asarray(perm)
        if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            raise ValueError(f"perm must be a 1-D integer array, got shape {arr.shape} and dtype {arr.dtype}")
        if sorted(arr.tolist()) != list(range(arr.size)):
            raise ValueError(f"perm is not a permutation of 0..{arr.size - 1}: {arr.tolist()}")
        return cls({i: int(v) for i, v in enumerate(arr.tolist())})

    @classmethod
    def random(
        cls,
        indices: int | Iterable[int],
        seed: int | np.random.Generator | None = None,
        support_size: int | None = None,
    ) -> FinitaryPermutation:
        """A random permutation of a random subset of ``indices``.

        Args:
            indices: an int ``n`` for ``{0, ..., n-1}``, or the indices to draw from.
            seed: an int seed or a numpy ``Generator`` (the draw is reproducible).
            support_size: how many indices to permute (default: all of ``indices``).
                The permutation is uniform on those indices, so it may fix some of them.

        Example:
            >>> FinitaryPermutation.random(5, seed=0) == FinitaryPermutation.random(5, seed=0)
            True
        """
        pool = np.arange(indices) if isinstance(indices, (int, np.integer)) else np.asarray(list(indices))
        if pool.size == 0:
            raise ValueError("indices must not be empty")
        rng = np.random.default_rng(seed)
        k = pool.size if support_size is None else int(support_size)
        if not 0 <= k <= pool.size:
            raise ValueError(f"support_size must be in [0, {pool.size}], got {support_size}")
        chosen = rng.choice(pool, size=k, replace=False)
        return cls(dict(zip(chosen.tolist(), rng.permutation(chosen).tolist())))

    # -- group structure ------------------------------------------------------------
    @property
    def support(self) -> tuple[int, ...]:
        """The sorted indices moved by ``P``: ``{i : P(i) != i}`` (finite)."""
        return tuple(sorted(self._map))

    @property
    def mapping(self) -> dict[int, int]:
        """A copy of ``{i: P(i)}`` on the support."""
        return dict(self._map)

    @overload
    def __call__(self, i: int) -> int: ...

    @overload
    def __call__(self, i: NDArray[np.integer]) -> NDArray[np.int64]: ...

    def __call__(self, i: int | NDArray[np.integer]) -> int | NDArray[np.int64]:
        if isinstance(i, np.ndarray):
            return np.fromiter((self._map.get(int(k), int(k)) for k in i.reshape(-1)), dtype=np.int64,
                               count=i.size).reshape(i.shape)
        k = _as_index(i, "i")
        return self._map.get(k, k)

    def __matmul__(self, other: FinitaryPermutation) -> FinitaryPermutation:
        """Composition ``(self @ other)(i) = self(other(i))``."""
        if not isinstance(other, FinitaryPermutation):
            return NotImplemented
        keys = set(self._map) | set(other._map)
        return FinitaryPermutation({k: self(other(k)) for k in keys})

    def inverse(self) -> FinitaryPermutation:
        """``P^{-1}``."""
        return FinitaryPermutation({v: k for k, v in self._map.items()})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FinitaryPermutation) and self._map == other._map

    def __hash__(self) -> int:
        return self._hash

    def is_identity(self) -> bool:
        return not self._map

    def cycles(self) -> list[tuple[int, ...]]:
        """Disjoint cycles of length >= 2, each starting at its smallest index."""
        out: list[tuple[int, ...]] = []
        seen: set[int] = set()
        for start in sorted(self._map):
            if start in seen:
                continue
            cyc = [start]
            seen.add(start)
            k = self._map[start]
            while k != start:
                cyc.append(k)
                seen.add(k)
                k = self._map[k]
            out.append(tuple(cyc))
        return out

    def transpositions(self) -> list[FinitaryPermutation]:
        """Transpositions ``T_1, ..., T_m`` with ``P = T_1 @ T_2 @ ... @ T_m`` (m = |supp| - #cycles)."""
        out = []
        for cyc in self.cycles():
            # (a0 a1 ... ak) = (a0 ak) @ (a0 a{k-1}) @ ... @ (a0 a1)
            for b in reversed(cyc[1:]):
                out.append(FinitaryPermutation.transposition(cyc[0], b))
        return out

    @property
    def sign(self) -> int:
        """+1 for even, -1 for odd permutations."""
        return -1 if sum(len(c) - 1 for c in self.cycles()) % 2 else 1

    # -- action ---------------------------------------------------------------------
    def act(self, X: Collection) -> Collection:
        """``P X``: the collection with entries ``(P X)_i = x_{P(i)}``.

        Raises:
            ValueError: ``P`` moves an index outside a finite collection's index set.
        """
        if isinstance(X, FiniteCollection):
            return FiniteCollection(self.apply(X.points))
        if isinstance(X, LazyCollection):
            if not self._map:
                return X
            sup = np.array(self.support, dtype=np.int64)
            moved = X.entries(self(sup))
            return X.with_entries(sup, moved)
        raise TypeError(f"X must be a FiniteCollection or a LazyCollection, got {type(X).__name__}")

    def apply(self, rows: NDArray) -> NDArray:
        """Permute the rows of an ``(n, ...)`` array: ``out[i] = rows[P(i)]``."""
        arr = np.asarray(rows)
        if arr.ndim == 0:
            raise ValueError("rows must have at least one axis (one row per index)")
        if self._map and max(self._map) >= arr.shape[0]:
            raise ValueError(
                f"P moves index {max(self._map)}, outside the index set {{0, ..., {arr.shape[0] - 1}}} of X"
            )
        if not self._map:
            return arr.copy()
        perm = np.arange(arr.shape[0])
        keys = np.fromiter(self._map.keys(), dtype=np.int64)
        perm[keys] = np.fromiter(self._map.values(), dtype=np.int64)
        return arr[perm]

    def __repr__(self) -> str:
        if not self._map:
            return "FinitaryPermutation.identity()"
        return "FinitaryPermutation.from_cycles(" + ", ".join(str(c) for c in self.cycles()) + ")"


def shrink_permutation(
    P: FinitaryPermutation, fails: Callable[[FinitaryPermutation], bool], budget: int = 200
) -> FinitaryPermutation:
    """A failing permutation with as few moved indices as the search finds, starting from ``P``.

    Counterexamples to P1 are reported small: every element of FSym(I) is a product of
    transpositions, and a rule that is not equivariant already fails on one of them
    whenever it fails on ``P``'s transpositions. The search tries the transpositions inside
    ``supp(P)`` (all pairs in lexicographic order when the budget allows, else the pairs
    ``(a, P(a))`` first), then single cycles, ``P`` with one cycle removed and shortened
    cycles, and repeats from the smaller failing permutation.

    Args:
        P: a permutation with ``fails(P)`` true.
        fails: the property to keep failing (e.g. "the equivariance error exceeds the tolerance").
        budget: the most calls of ``fails``.

    Returns:
        The smallest failing permutation found (``P`` itself if nothing smaller fails).

    Example:
        >>> P = FinitaryPermutation.from_cycles((0, 3, 5), (1, 2))
        >>> shrink_permutation(P, lambda Q: 5 in Q.support)      # whatever moves 5 fails
        FinitaryPermutation.from_cycles((0, 5))
    """
    best, spent = P, 0
    while len(best.support) > 2 and spent < budget:
        sup = best.support
        pairs = [(a, b) for k, a in enumerate(sup) for b in sup[k + 1:]]
        if len(pairs) > budget - spent:
            near = sorted({(min(a, best(a)), max(a, best(a))) for a in sup})
            pairs = near + [q for q in pairs if q not in set(near)]
        for a, b in pairs[: max(0, budget - spent)]:
            spent += 1
            T = FinitaryPermutation.transposition(a, b)
            if fails(T):
                return T
        cycles = best.cycles()
        smaller: list[FinitaryPermutation] = []
        if len(cycles) > 1:
            smaller += [FinitaryPermutation.from_cycles(c) for c in cycles]
            smaller += [FinitaryPermutation.from_cycles(*(cycles[:k] + cycles[k + 1:])) for k in range(len(cycles))]
        for c in cycles:
            if len(c) > 2:
                rest = [d for d in cycles if d is not c]
                smaller += [FinitaryPermutation.from_cycles(*rest, c[:k] + c[k + 1:]) for k in range(len(c))]
        smaller = sorted((Q for Q in smaller if len(Q.support) < len(best.support)),
                         key=lambda Q: (len(Q.support), Q.support))
        for Q in smaller:
            if spent >= budget:
                break
            spent += 1
            if fails(Q):
                best = Q
                break
        else:
            break
    return best

