"""Collections (eq. 3) and the paper's difference norm (Section 3)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invariance import (
    CircleBase,
    ConstantBase,
    FiniteCollection,
    FunctionBase,
    LazyCollection,
    SphereBase,
    TorusBase,
    difference_norm,
)
from invariance import strategies as ist


@pytest.mark.parametrize(
    "points, match",
    [
        ([[0.0, np.nan]], "NaN or inf"),
        ([[np.inf, 0.0]], "NaN or inf"),
        ([1.0, 2.0], "2-D"),
        (np.zeros((0, 2)), "at least one entry"),
        (np.zeros((3, 0)), "D >= 1"),
    ],
)
def test_finite_collection_rejects_bad_points(points, match):
    with pytest.raises(ValueError, match=match):
        FiniteCollection(points)


def test_finite_collection_rejects_non_numeric():
    with pytest.raises(TypeError, match="points"):
        FiniteCollection([["a", "b"]])


def test_finite_collection_is_immutable_and_keeps_dtype():
    src = np.ones((3, 2), dtype=np.float32)
    X = FiniteCollection(src)
    src[0, 0] = 5.0
    assert X.points[0, 0] == 1.0
    assert X.dtype == np.float32
    with pytest.raises(ValueError):
        X.points[0, 0] = 2.0
    assert FiniteCollection([[1, 2]]).dtype == np.float64


def test_with_entries_validates():
    X = FiniteCollection(np.zeros((3, 2)))
    Y = X.with_entries([1], [[1.0, 2.0]])
    assert Y[1].tolist() == [1.0, 2.0] and X[1].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="dimension"):
        X.with_entries([1], [[1.0, 2.0, 3.0]])
    with pytest.raises(IndexError, match="outside the index set"):
        X.with_entries([3], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="NaN"):
        X.with_entries([0], [[np.nan, 0.0]])


@given(ist.finite_collections(), ist.finite_collections())
def test_difference_norm_is_the_euclidean_norm_on_finite_collections(X, Y):
    if X.points.shape != Y.points.shape:
        with pytest.raises(ValueError):
            difference_norm(X, Y)
        return
    expected = np.linalg.norm(X.points - Y.points)
    assert math.isclose(difference_norm(X, Y), expected, rel_tol=1e-12, abs_tol=1e-12)
    assert difference_norm(X, Y) == difference_norm(Y, X)
    assert difference_norm(X, X) == 0.0


@given(ist.lazy_collections(dim=2), ist.lazy_collections(dim=2), ist.lazy_collections(dim=2))
def test_difference_norm_on_lazy_collections_is_exact_and_a_metric(X, Y, Z):
    # Put Y and Z on X's base: then only the overrides can differ.
    Y = LazyCollection(X.base, Y.overrides)
    Z = LazyCollection(X.base, Z.overrides)
    window = np.arange(64)
    window = np.union1d(window, np.array(X.support + Y.support, dtype=np.int64))
    brute = np.linalg.norm(X.entries(window) - Y.entries(window))
    assert math.isclose(difference_norm(X, Y), brute, rel_tol=1e-12, abs_tol=1e-12)
    assert difference_norm(X, Z) <= difference_norm(X, Y) + difference_norm(Y, Z) + 1e-9


def test_difference_norm_is_infinite_between_different_bases():
    X = LazyCollection(CircleBase(1.0))
    assert difference_norm(X, LazyCollection(CircleBase(2.0))) == math.inf
    assert difference_norm(X, LazyCollection(CircleBase(1.0), {3: [0.0, 0.0]})) < math.inf


def test_difference_norm_refuses_mixed_spaces():
    with pytest.raises(TypeError, match="different index sets"):
        difference_norm(FiniteCollection([[0.0, 0.0]]), LazyCollection(CircleBase()))
    with pytest.raises(ValueError, match="dimension"):
        difference_norm(LazyCollection(CircleBase()), LazyCollection(SphereBase()))
    with pytest.raises(ValueError, match="entries"):
        difference_norm(FiniteCollection(np.zeros((2, 1))), FiniteCollection(np.zeros((3, 1))))


def test_lazy_collection_overrides_and_bases():
    X = LazyCollection(CircleBase(), {2: [5.0, 5.0]})
    assert X.support == (2,)
    assert X[2].tolist() == [5.0, 5.0]
    assert np.allclose(X[3], CircleBase()(np.array([3]))[0])
    with pytest.raises(ValueError, match="dimension"):
        LazyCollection(CircleBase(), {0: [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="non-negative"):
        LazyCollection(CircleBase(), {-1: [1.0, 2.0]})
    with pytest.raises(ValueError, match="NaN"):
        LazyCollection(CircleBase(), {0: [np.nan, 2.0]})
    with pytest.raises(TypeError, match="LazyBase"):
        LazyCollection(lambda i: i)  # type: ignore[arg-type]
    assert X.head(5).n == 5


def test_function_base_compares_by_identity():
    fn = lambda i: np.stack([np.cos(i), np.sin(i)], axis=1)  # noqa: E731
    assert FunctionBase(fn, 2) == FunctionBase(fn, 2)
    assert FunctionBase(fn, 2) != FunctionBase(lambda i: fn(i), 2)
    with pytest.raises(ValueError, match="shape"):
        LazyCollection(FunctionBase(fn, 3)).entries([0])


@given(st.integers(0, 10**6))
def test_samplers_lie_on_their_manifolds(i):
    idx = np.arange(i, i + 50)
    assert np.allclose(np.linalg.norm(CircleBase(2.0)(idx), axis=1), 2.0)
    assert np.allclose(np.linalg.norm(SphereBase(1.5)(idx), axis=1), 1.5)
    p = TorusBase(3.0, 1.0)(idx)
    assert np.allclose((np.hypot(p[:, 0], p[:, 1]) - 3.0) ** 2 + p[:, 2] ** 2, 1.0)
    assert np.allclose(ConstantBase((1.0, 2.0))(idx), [1.0, 2.0])


def test_circle_base_fills_the_circle_densely():
    gaps = []
    for n in (100, 1000, 10000):
        a = np.sort(np.arctan2(*CircleBase()(np.arange(n)).T[::-1]))
        gaps.append(np.max(np.diff(np.concatenate([a, a[:1] + 2 * np.pi]))))
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-3


def test_bases_validate_parameters():
    with pytest.raises(ValueError, match="radius"):
        CircleBase(-1.0)
    with pytest.raises(ValueError, match="minor"):
        TorusBase(1.0, 2.0)
    with pytest.raises(ValueError, match="NaN"):
        ConstantBase((np.nan,))
