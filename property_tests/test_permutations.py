"""FSym(I): finitary permutations and their action (PX)_i = x_{P(i)}."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invariance import CircleBase, FinitaryPermutation, FiniteCollection, LazyCollection, difference_norm
from invariance import strategies as ist

perms = ist.permutations(8)


def test_non_bijections_are_refused():
    with pytest.raises(ValueError, match="mapping is not a bijection"):
        FinitaryPermutation({0: 1, 1: 1})
    with pytest.raises(ValueError, match="mapping is not a bijection"):
        FinitaryPermutation({0: 1})
    with pytest.raises(ValueError, match="non-negative"):
        FinitaryPermutation({-1: 0, 0: -1})
    with pytest.raises(TypeError, match="integer"):
        FinitaryPermutation({0.5: 1, 1: 0.5})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="integer"):
        FinitaryPermutation({True: 0, 0: True})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="two different"):
        FinitaryPermutation.transposition(3, 3)
    with pytest.raises(ValueError, match="disjoint"):
        FinitaryPermutation.from_cycles((0, 1), (1, 2))
    with pytest.raises(ValueError, match="not a permutation"):
        FinitaryPermutation.from_array([0, 0, 1])


def test_fixed_points_are_dropped_from_the_support():
    P = FinitaryPermutation({0: 0, 1: 2, 2: 1})
    assert P.support == (1, 2)
    assert P == FinitaryPermutation.transposition(1, 2)
    assert FinitaryPermutation({5: 5}).is_identity()


@given(perms, perms, perms)
def test_group_laws(P, Q, R):
    e = FinitaryPermutation.identity()
    assert (P @ Q) @ R == P @ (Q @ R)
    assert P @ e == P == e @ P
    assert P @ P.inverse() == e == P.inverse() @ P
    assert (P @ Q).sign == P.sign * Q.sign
    assert all(P(i) == Q(R(i)) for i in range(8)) == (P == Q @ R)


@given(perms)
def test_cycles_and_transpositions_reconstruct_the_permutation(P):
    assert FinitaryPermutation.from_cycles(*P.cycles()) == P
    prod = FinitaryPermutation.identity()
    for T in P.transpositions():
        assert len(T.support) == 2
        prod = prod @ T
    assert prod == P
    assert len(P.transpositions()) == len(P.support) - len(P.cycles())
    assert set(P.support) == {i for i in range(8) if P(i) != i}


@given(perms, perms, ist.finite_collections(min_size=8, max_size=8))
def test_action_on_finite_collections_is_a_right_action(P, Q, X):
    PX = P.act(X)
    assert all(np.array_equal(PX[i], X[P(i)]) for i in range(X.n))
    assert np.array_equal(P.act(Q.act(X)).points, (Q @ P).act(X).points)


@given(perms, perms, ist.lazy_collections(max_index=8))
def test_action_on_lazy_collections_materialises_only_the_support(P, Q, X):
    PX = P.act(X)
    window = np.arange(40)
    assert np.array_equal(PX.entries(window), X.entries(P(window)))
    assert set(PX.support) <= set(P.support) | set(X.support)
    assert PX.shares_base(X)
    # the norm of the difference is exact: compare with a brute-force window
    assert np.isclose(difference_norm(PX, X), np.linalg.norm(PX.entries(window) - X.entries(window)))
    assert np.allclose(P.act(Q.act(X)).entries(window), (Q @ P).act(X).entries(window))


def test_action_refuses_indices_outside_a_finite_collection():
    X = FiniteCollection(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match="outside the index set"):
        FinitaryPermutation.transposition(0, 3).act(X)


def test_transposition_acts_on_a_lazy_collection_far_out():
    X = LazyCollection(CircleBase())
    P = FinitaryPermutation.transposition(0, 10**9)
    PX = P.act(X)
    assert np.allclose(PX[0], X[10**9]) and np.allclose(PX[10**9], X[0])
    assert PX.support == (0, 10**9)


@given(st.integers(0, 2**32 - 1))
def test_random_is_reproducible_and_valid(seed):
    P = FinitaryPermutation.random(10, seed=seed, support_size=4)
    assert P == FinitaryPermutation.random(10, seed=seed, support_size=4)
    assert len(P.support) <= 4 and set(P.support) <= set(range(10))
    with pytest.raises(ValueError, match="support_size"):
        FinitaryPermutation.random(3, seed=seed, support_size=5)


def test_strategies_validate_their_arguments_when_built():
    with pytest.raises(ValueError, match="min_size"):
        ist.finite_collections(min_size=0)
    with pytest.raises(ValueError, match="coincident_pairs"):
        ist.finite_collections(max_size=2, coincident_pairs=2)
    with pytest.raises(ValueError, match="dtype"):
        ist.finite_collections(dtype="int8")
    with pytest.raises(ValueError, match="dim"):
        ist.lazy_collections(dim=4)
    with pytest.raises(ValueError, match="two indices"):
        ist.transpositions(1)
    with pytest.raises(ValueError, match="repeat"):
        ist.permutations([1, 1, 2])
    with pytest.raises(TypeError, match="indices"):
        ist.permutations([0.5, 1])
