"""The flag-complex reductions (vertex and edge domination, bit-set kernel) against the GUDHI reference.

Each reduction must keep every Betti number of ``Fl(G)``. The clouds are chosen to break
heuristics: grids (many equal distances, ties at the threshold), duplicated points (every
copy dominates every other), clouds in general position, several components, and clouds
with a non-trivial H_1 or H_2 (a collapse that is not a homotopy equivalence changes them).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from invariance.topology import RelativeScale, betti_report, samplers, threshold_graph
from invariance.topology.betti import _flag_betti
from invariance.topology.collapse import (
    BITSET_MIN_EDGES,
    bitset_kernel_available,
    collapse_flag_graph,
    gudhi_fixed_point,
)

needs_numba = pytest.mark.skipif(not bitset_kernel_available(), reason="numba is not installed")


def _grid(m: int) -> np.ndarray:
    return np.array(list(itertools.product(range(m), repeat=2)), dtype=np.float64)


def _clouds() -> list[tuple[str, np.ndarray, object]]:
    rng = np.random.default_rng(3)
    dup = samplers.circle(80, seed=1)
    two = np.vstack([samplers.circle(120, seed=2), samplers.circle(120, seed=3) + 10.0])
    return [
        ("grid-ties", _grid(12), 1.0),                         # every edge length is 1 or sqrt(2): ties at r
        ("grid-diagonals", _grid(10), float(np.sqrt(2.0))),
        ("duplicates", np.vstack([dup, dup, dup[:40]]), 0.3),  # copies dominate each other
        ("general", rng.standard_normal((150, 4)), RelativeScale(0.3)),
        ("circle", samplers.circle(200, seed=0), RelativeScale(0.15)),
        ("sphere-R785", samplers.sphere(300, ambient_dim=785, seed=0), None),
        ("two-circles", two, 0.4),
        ("figure-eight", samplers.figure_eight(200, seed=0), RelativeScale(0.1)),
    ]


CLOUDS = _clouds()


@needs_numba
@pytest.mark.parametrize("name,X,scale", CLOUDS, ids=[c[0] for c in CLOUDS])
def test_bitset_collapse_keeps_every_betti_number(name, X, scale):
    g = threshold_graph(X, scale)
    ref = betti_report(X, scale, max_dim=2, backend="gudhi").betti
    b0 = ref[0]
    for coords, lengths in [(X, g.lengths), (None, None), (X, None)]:
        rows, cols, rep = collapse_flag_graph(g.n, g.rows, g.cols, coords, lengths, kernel="bitset")
        assert rep.kernel == "bitset" and rep.n_edges == g.n_edges
        assert rep.n_edges_reduced <= g.n_edges
        # dominated vertices end isolated: b_0 is read on G, the rest on the reduced graph
        higher = _flag_betti(g.n, rows, cols, 2)[1:]
        assert (b0,) + higher == ref, (name, coords is None, rep)


@needs_numba
def test_the_reduction_is_large_on_a_dense_sphere():
    X = samplers.sphere(1500, ambient_dim=785, seed=0)
    g = threshold_graph(X)
    assert g.n_edges >= BITSET_MIN_EDGES
    rows, cols, rep = collapse_flag_graph(g.n, g.rows, g.cols, X, g.lengths)
    assert rep.kernel == "bitset"
    assert rep.n_edges_reduced < 0.1 * g.n_edges  # measured: 5.4% here, 0.4% at n = 16384
    assert (1,) + _flag_betti(g.n, rows, cols, 2)[1:] == (1, 0, 1)


def test_gudhi_fixed_point_and_the_default_agree_on_small_graphs():
    X = samplers.circle(60, seed=0)
    g = threshold_graph(X, RelativeScale(0.2))
    r1, c1 = gudhi_fixed_point(g.n, g.rows, g.cols)
    r2, c2, rep = collapse_flag_graph(g.n, g.rows, g.cols, X, g.lengths)
    assert rep.kernel == "gudhi"  # too few edges for the bit sets
    assert _flag_betti(g.n, r1, c1, 1) == _flag_betti(g.n, r2, c2, 1) == (1, 1)


def test_a_wrong_reduction_would_be_seen():
    # negative control: dropping a non-dominated edge (the hole-closing chord of a 4-cycle
    # with a cone) changes the Betti numbers, so the comparison above can fail
    rows = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    cols = np.array([1, 2, 3, 0, 4, 4, 4, 4])  # the cone over a square: contractible
    assert _flag_betti(5, rows, cols, 1) == (1, 0)
    # the edge 0-4 is not dominated (N[0] ∩ N[4] = {0, 1, 3, 4}, and 1, 3 are not adjacent):
    # removing it opens the square's hole
    assert _flag_betti(5, rows[np.arange(8) != 4], cols[np.arange(8) != 4], 1) == (1, 1)


def test_bad_graphs_are_named():
    with pytest.raises(ValueError, match="kernel"):
        collapse_flag_graph(3, np.array([0]), np.array([1]), kernel="fast")
    with pytest.raises(ValueError, match="rows and cols"):
        collapse_flag_graph(3, np.array([0, 1]), np.array([1]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        collapse_flag_graph(3, np.array([0]), np.array([5]))
    with pytest.raises(ValueError, match="coords"):
        collapse_flag_graph(3, np.array([0]), np.array([1]), np.zeros((2, 2)))


@pytest.mark.parametrize("n", [2100, 3000])
def test_direct_pair_kernel_builds_the_gram_graph(n):
    import invariance.topology.geometry as geometry

    X = samplers.sphere(n, ambient_dim=785, seed=n)
    direct = threshold_graph(X)
    saved = geometry._PAIRS
    geometry._PAIRS = False
    try:
        gram = threshold_graph(X)
    finally:
        geometry._PAIRS = saved
    assert direct.diameter == gram.diameter and direct.scale == gram.scale
    assert set(zip(direct.rows.tolist(), direct.cols.tolist())) == set(zip(gram.rows.tolist(), gram.cols.tolist()))
    assert np.all(direct.rows < direct.cols)
