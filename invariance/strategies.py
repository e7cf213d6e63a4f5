"""Hypothesis strategies for property-testing update rules.

Strategies are lowercase nouns, validate their arguments when built, and shrink to
small readable examples (few neurons, few coordinates, small support, round numbers).

Example:
    >>> from hypothesis import given
    >>> from invariance import strategies as ist
    >>> @given(ist.finite_collections(max_size=5), ist.symmetric_rules())
    ... def test_my_claim(X, rule):
    ...     assert rule.update(X).points.shape == X.points.shape
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from hypothesis import strategies as st

from .arguments import check_int
from .collections import CircleBase, FiniteCollection, LazyBase, LazyCollection, SphereBase, TorusBase
from .permutations import FinitaryPermutation
from .potentials import (
    GaussianPair,
    HarmonicPair,
    HuberPair,
    InteractionPotential,
    LogCosh,
    PairTerm,
    Quadratic,
    SiteTerm,
)
from .rules import GradientDescent

__all__ = [
    "coordinates",
    "finite_collections",
    "lazy_bases",
    "lazy_collections",
    "collections",
    "permutations",
    "transpositions",
    "interaction_potentials",
    "symmetric_rules",
]


def coordinates(bound: float = 10.0) -> st.SearchStrategy[float]:
    """Finite float64 coordinates in ``[-bound, bound]`` (no NaN, no inf)."""
    if not np.isfinite(bound) or bound <= 0:
        raise ValueError(f"bound must be a finite number > 0, got {bound!r}")
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=64)


def _pool(indices: int | Sequence[int], name: str = "indices") -> list[int]:
    if isinstance(indices, (int, np.integer)):
        return list(range(check_int(indices, name, 0)))
    pool = [check_int(i, name, 0) for i in indices]
    if len(set(pool)) != len(pool):
        raise ValueError(f"{name} must not repeat an index, got {pool}")
    return pool


def finite_collections(
    min_size: int = 1,
    max_size: int = 10,
    dim: int | None = None,
    max_dim: int = 3,
    bound: float = 10.0,
    coincident_pairs: int = 0,
    dtype: str = "float64",
) -> st.SearchStrategy[FiniteCollection]:
    """Finite collections of ``n`` neurons in ``R^D`` (arguments are validated here, when the
    strategy is built).

    Args:
        min_size, max_size: bounds on ``n``.
        dim: a fixed ``D``, or ``None`` to draw ``D`` in ``[1, max_dim]``.
        bound: coordinates lie in ``[-bound, bound]``.
        coincident_pairs: at least this many neurons are copies of another neuron (the
            hypothesis of Lemma 1); needs ``max_size >= coincident_pairs + 1``.
        dtype: ``"float64"`` or ``"float32"``.
    """
    min_size = check_int(min_size, "min_size", 1)
    max_size = check_int(max_size, "max_size", min_size)
    coincident_pairs = check_int(coincident_pairs, "coincident_pairs", 0)
    if coincident_pairs and max_size < coincident_pairs + 1:
        raise ValueError(f"max_size must be >= coincident_pairs + 1 = {coincident_pairs + 1}, got {max_size}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    dims = st.just(check_int(dim, "dim", 1)) if dim is not None else st.integers(1, check_int(max_dim, "max_dim", 1))
    sizes = st.integers(max(min_size, coincident_pairs + 1 if coincident_pairs else 1), max_size)
    return _finite_collections(dims, sizes, coordinates(bound), coincident_pairs, dtype)


@st.composite
def _finite_collections(
    draw: st.DrawFn,
    dims: st.SearchStrategy[int],
    sizes: st.SearchStrategy[int],
    coords: st.SearchStrategy[float],
    coincident_pairs: int,
    dtype: str,
) -> FiniteCollection:
    d, n = draw(dims), draw(sizes)
    rows = draw(st.lists(st.lists(coords, min_size=d, max_size=d), min_size=n, max_size=n))
    arr = np.asarray(rows, dtype=np.float64)
    for _ in range(coincident_pairs):
        src = draw(st.integers(0, n - 1))
        dst = (src + draw(st.integers(1, n - 1))) % n
        arr[dst] = arr[src]
    return FiniteCollection(arr.astype(dtype))


def lazy_bases(dim: int | None = None) -> st.SearchStrategy[LazyBase]:
    """Dense bases of infinitely many neurons: a circle (D = 2), a sphere or a torus (D = 3)."""
    options: list[st.SearchStrategy[LazyBase]] = []
    radius = st.floats(0.5, 3.0, allow_nan=False)
    if dim in (None, 2):
        options.append(st.builds(CircleBase, radius))
    if dim in (None, 3):
        options.append(st.builds(SphereBase, radius))
        options.append(st.builds(lambda R, r: TorusBase(R + r, r), st.floats(0.5, 2.0), st.floats(0.2, 1.0)))
    if not options:
        raise ValueError(f"dim must be 2, 3 or None (lazy bases are circles, spheres and tori), got {dim!r}")
    return st.one_of(options)


def lazy_collections(
    dim: int | None = None,
    max_overrides: int = 4,
    max_index: int = 32,
    bound: float = 5.0,
    coincident_pairs: int = 0,
) -> st.SearchStrategy[LazyCollection]:
    """Lazily infinite collections: a dense base plus up to ``max_overrides`` overrides.

    Args:
        dim: 2 (circle) or 3 (sphere, torus), or ``None`` for either.
        max_overrides: the most overridden indices.
        max_index: overrides are placed at indices ``< max_index``.
        bound: override coordinates lie in ``[-bound, bound]``.
        coincident_pairs: this many overridden neurons copy another neuron's entry.
    """
    return _lazy_collections(
        lazy_bases(dim),
        check_int(max_overrides, "max_overrides", 0),
        check_int(max_index, "max_index", 2),
        coordinates(bound),
        check_int(coincident_pairs, "coincident_pairs", 0),
    )


@st.composite
def _lazy_collections(
    draw: st.DrawFn,
    bases: st.SearchStrategy[LazyBase],
    max_overrides: int,
    max_index: int,
    coords: st.SearchStrategy[float],
    coincident_pairs: int,
) -> LazyCollection:
    base = draw(bases)
    keys = draw(st.lists(st.integers(0, max_index - 1), max_size=max_overrides, unique=True))
    over = {k: draw(st.lists(coords, min_size=base.dim, max_size=base.dim)) for k in keys}
    X = LazyCollection(base, over)
    for _ in range(coincident_pairs):
        src, dst = draw(st.lists(st.integers(0, max_index - 1), min_size=2, max_size=2, unique=True))
        X = X.with_entries([dst], [X[src]])
    return X


def collections(coincident_pairs: int = 0) -> st.SearchStrategy[FiniteCollection | LazyCollection]:
    """Finite or lazy collections, with at least ``coincident_pairs`` coincident neurons."""
    return st.one_of(
        finite_collections(coincident_pairs=coincident_pairs, max_size=max(10, coincident_pairs + 1)),
        lazy_collections(coincident_pairs=coincident_pairs),
    )


def permutations(
    indices: int | Sequence[int], max_support: int | None = None
) -> st.SearchStrategy[FinitaryPermutation]:
    """Finitary permutations moving only ``indices`` (an int ``n`` means ``0..n-1``).

    Shrinks towards small supports and the identity.
    """
    pool = _pool(indices)
    if not pool:
        raise ValueError("indices must not be empty")
    cap = len(pool) if max_support is None else min(len(pool), check_int(max_support, "max_support", 0))
    chosen = st.lists(st.sampled_from(pool), max_size=cap, unique=True)
    return chosen.flatmap(lambda c: st.permutations(c).map(lambda img: FinitaryPermutation(dict(zip(c, img)))))


def transpositions(indices: int | Sequence[int]) -> st.SearchStrategy[FinitaryPermutation]:
    """Transpositions ``(i j)`` with ``i != j`` among ``indices`` (needs at least two)."""
    pool = _pool(indices)
    if len(pool) < 2:
        raise ValueError(f"a transposition needs at least two indices, got {pool}")
    pairs = st.lists(st.sampled_from(pool), min_size=2, max_size=2, unique=True)
    return pairs.map(lambda ij: FinitaryPermutation.transposition(ij[0], ij[1]))


def _site_terms() -> st.SearchStrategy[SiteTerm]:
    coef = st.floats(0.1, 3.0)
    return st.one_of(st.builds(Quadratic, coef), st.builds(LogCosh, coef))


def _pair_terms(smooth: bool) -> st.SearchStrategy[PairTerm]:
    coef = st.floats(0.1, 3.0)
    smooth_terms = st.one_of(st.builds(HarmonicPair, coef), st.builds(GaussianPair, coef, st.floats(0.5, 3.0)))
    return smooth_terms if smooth else st.builds(HuberPair, coef, st.floats(0.1, 1.0))


@st.composite
def interaction_potentials(draw: st.DrawFn, smooth: bool = True) -> InteractionPotential:
    """Mean-field interaction potentials ``sum f(x_i) + 1/n sum_{i<j} g(x_i - x_j)``.

    Args:
        smooth: ``True`` for C^2 terms (gradient descent satisfies P1, P2-K and P3);
            ``False`` for a Huber pair term whose gradient is Lipschitz but kinked
            (P3 fails).
    """
    site = draw(st.none() | _site_terms())
    pair = draw(_pair_terms(smooth)) if (site is None or not smooth) else draw(st.none() | _pair_terms(smooth))
    return InteractionPotential(site=site, pair=pair)


def symmetric_rules(smooth: bool = True) -> st.SearchStrategy[GradientDescent]:
    """Gradient descent on :func:`interaction_potentials`: equivariant rules with a known K.

    ``rule.smoothness_constant(n)`` is a valid P2-K constant for ``n`` neurons
    (``None`` for lazy collections).
    """
    return st.builds(GradientDescent, interaction_potentials(smooth), quadrature=st.just(256))
