"""Betti numbers, persistence, merges, samplers and tracking (invariance.topology, issue 5)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from invariance import FiniteCollection
from invariance.topology import (
    BACKENDS,
    BettiTracker,
    RelativeScale,
    betti_numbers,
    betti_report,
    betti_trajectory,
    diameter,
    effective_width,
    merge_clusters,
    most_persistent,
    persistence_diagram,
    persistent_betti_numbers,
    samplers,
    threshold_graph,
)

# ---------------------------------------------------------------- generated clouds


@st.composite
def clouds(draw):
    n = draw(st.integers(1, 11))
    dim = draw(st.integers(1, 4))
    if draw(st.booleans()):  # small integers: exact ties at the scale, duplicates
        elems = st.integers(-3, 3).map(float)
    else:
        elems = st.floats(-10, 10, allow_nan=False, width=64)
    return draw(hnp.arrays(np.float64, (n, dim), elements=elems))


scales = st.one_of(
    st.none(),
    st.floats(0.05, 0.9).map(RelativeScale),
    st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]),
)


@settings(max_examples=80)
@given(clouds(), scales, st.integers(0, 3))
def test_every_backend_equals_the_papers_method(X, scale, k):
    ref = betti_report(X, scale, max_dim=k, backend="gudhi")
    assert len(ref.betti) == k + 1
    for backend in BACKENDS:
        rep = betti_report(X, scale, max_dim=k, backend=backend)
        assert rep.betti == ref.betti, (backend, rep, ref)
        assert rep.scale == pytest.approx(ref.scale, rel=1e-12, abs=0)


@settings(max_examples=40)
@given(clouds())
def test_threshold_graph_is_the_exact_rips_one_skeleton(X):
    g = threshold_graph(X, 1.0)
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    i, j = np.nonzero(np.triu(d <= 1.0, 1))
    assert sorted(zip(g.rows.tolist(), g.cols.tolist())) == sorted(zip(i.tolist(), j.tolist()))
    np.testing.assert_allclose(g.lengths, d[g.rows, g.cols], rtol=1e-7, atol=1e-7)


def test_low_rank_projection_keeps_distances():
    from scipy.spatial.distance import pdist, squareform

    X = samplers.sphere(300, ambient_dim=785, seed=3)
    d = squareform(pdist(X))
    assert diameter(X) == pytest.approx(d.max(), rel=1e-12)
    g = threshold_graph(X, RelativeScale(0.25))
    assert g.n_edges == int(np.sum(np.triu(d <= g.scale, 1)))


# ---------------------------------------------------------------- edge cases


@pytest.mark.parametrize("backend", BACKENDS)
def test_degenerate_clouds_give_full_tuples(backend):
    assert betti_numbers([[1.0, 2.0]], backend=backend) == (1, 0, 0)
    assert betti_numbers(np.zeros((5, 3)), backend=backend) == (1, 0, 0)  # diameter 0: r = 0
    assert betti_numbers([[0.0], [10.0], [20.0]], scale=1.0, backend=backend) == (3, 0, 0)  # no edges
    assert betti_numbers([[0.0], [0.0], [5.0]], scale=1.0, backend=backend, max_dim=0) == (2,)
    assert betti_numbers([[0.0], [1.0]], scale=2.0, backend=backend, max_dim=4) == (1, 0, 0, 0, 0)
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    assert betti_numbers(square, scale=1.0, backend=backend) == (1, 1, 0)
    octahedron = np.vstack([np.eye(3), -np.eye(3)])
    assert betti_numbers(octahedron, scale=1.5, backend=backend) == (1, 0, 1)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="NaN or inf"):
        betti_numbers([[0.0, np.nan]])
    with pytest.raises(ValueError, match="NaN or inf"):
        betti_numbers([[0.0, np.inf], [1.0, 1.0]])
    with pytest.raises(ValueError, match="scale"):
        betti_numbers([[0.0]], scale=-1.0)
    with pytest.raises(ValueError, match="scale"):
        betti_numbers([[0.0]], scale="big")
    with pytest.raises(TypeError, match="scale"):
        betti_numbers([[0.0]], scale=[1.0])
    with pytest.raises(ValueError, match="backend"):
        betti_numbers([[0.0]], backend="magic")
    with pytest.raises(ValueError, match="max_dim"):
        betti_numbers([[0.0]], max_dim=-1)
    with pytest.raises(ValueError, match="fraction"):
        RelativeScale(0.0)
    with pytest.raises(ValueError, match="points"):
        betti_numbers(np.zeros((0, 2)))


def test_accepts_collections_and_tensors():
    import torch

    X = samplers.circle(60, seed=2)
    assert betti_numbers(FiniteCollection(X)) == betti_numbers(torch.tensor(X)) == (1, 1, 0)


# ---------------------------------------------------------------- samplers


@pytest.mark.parametrize(
    "name, X, scale, expected",
    [
        ("circle", samplers.circle(200, seed=0), None, (1, 1, 0)),
        ("sphere in R^785", samplers.sphere(500, ambient_dim=785, seed=0), None, (1, 0, 1)),
        ("figure eight", samplers.figure_eight(400, seed=0), None, (1, 2, 0)),
        ("two-holed region", samplers.two_holed_region(1500, seed=0), None, (1, 2, 0)),
        ("two circles", samplers.two_circles(300, seed=0), 0.4, (2, 2, 0)),
        ("two annuli", samplers.two_annuli(1500, seed=0), 0.3, (2, 2, 0)),
        ("double torus", samplers.double_torus(4000, seed=0), 0.4, (1, 4, 1)),
        ("solid double torus", samplers.double_torus(2000, solid=True, seed=0), 0.5, (1, 2, 0)),
    ],
)
def test_samplers_have_their_known_betti_numbers(name, X, scale, expected):
    assert betti_numbers(X, scale) == expected, name


@pytest.mark.parametrize(
    "X, scale",
    [
        (samplers.circle(200, seed=1), None),
        (samplers.sphere(400, ambient_dim=20, seed=1), None),
        (samplers.figure_eight(300, seed=1), 0.3),
        (samplers.two_circles(200, seed=1), 0.4),
        (samplers.two_holed_region(500, seed=1), 0.6),
        (samplers.two_annuli(400, seed=1), 0.4),
        (samplers.double_torus(600, seed=1), 0.35),
    ],
)
def test_samplers_agree_with_the_papers_method(X, scale):
    ref = betti_numbers(X, scale, backend="gudhi")
    for backend in BACKENDS:
        assert betti_numbers(X, scale, backend=backend) == ref, backend


def test_sampler_arguments_are_validated():
    with pytest.raises(ValueError, match="ambient_dim"):
        samplers.sphere(10, ambient_dim=2)
    with pytest.raises(ValueError, match="hole"):
        samplers.two_holed_region(10, radius=2.0, hole=1.5)
    with pytest.raises(ValueError, match="minor"):
        samplers.double_torus(10, minor=0.6)
    with pytest.raises(ValueError, match="seed"):
        samplers.circle(10, seed=-1)
    np.testing.assert_array_equal(samplers.sphere(20, 5, seed=4), samplers.sphere(20, 5, seed=4))


# ---------------------------------------------------------------- persistence


def test_persistence_recovers_a_sparse_sphere():
    X = samplers.sphere(200, ambient_dim=785, seed=0)
    dgm = persistence_diagram(X)
    assert persistent_betti_numbers(dgm) == (1, 0, 1)
    top = most_persistent(dgm, 2, 1)[0]
    assert top[1] - top[0] > 0.3 * dgm.diameter
    ref = persistence_diagram(X, backend="gudhi", max_scale=0.6)
    assert ref.betti_at(0.5) == dgm.betti_at(0.5) == betti_numbers(X, 0.5)


# ---------------------------------------------------------------- merges


@settings(max_examples=40)
@given(st.integers(2, 6), st.integers(1, 5), st.integers(0, 2**31))
def test_merges_count_distinct_neurons(m, copies, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(m, 3)) * 10
    X = np.repeat(centres, copies, axis=0) + rng.normal(size=(m * copies, 3)) * 1e-12
    merges = merge_clusters(X, tolerance=1e-6)
    expected = len(np.unique(np.round(centres, 6), axis=0))
    assert merges.n_clusters == effective_width(X) == expected
    assert sum(merges.sizes) == m * copies
    assert merges.merged == (merges.n_clusters < m * copies)


# ---------------------------------------------------------------- tracking


def test_tracker_sees_a_merge():
    X = samplers.circle(100, seed=0)
    snaps = [X, X * 0.5, np.zeros_like(X)]
    recs = betti_trajectory(snaps)
    assert [r.betti for r in recs] == [(1, 1, 0), (1, 1, 0), (1, 0, 0)]
    tracker = BettiTracker(every=2)
    for step, s in enumerate(snaps):
        tracker(s, step)
    assert tracker.changes() == (2,)
    assert tracker.as_array().tolist() == [[0, 1, 1, 0], [2, 1, 0, 0]]


@pytest.mark.parametrize("max_dim", [1, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_edge_collapse_does_not_change_the_diagram(max_dim, seed):
    """giotto-ph with and without edge collapse: the same bars (the choice is only about speed)."""
    from invariance.topology import persistence_diagram

    X = np.random.default_rng(seed).standard_normal((60, 4))
    a = persistence_diagram(X, max_dim, collapse_edges=True)
    b = persistence_diagram(X, max_dim, collapse_edges=False)
    auto = persistence_diagram(X, max_dim)
    for x, y, z in zip(a.bars, b.bars, auto.bars):
        assert x.shape == y.shape == z.shape
        np.testing.assert_allclose(np.sort(x, axis=0), np.sort(y, axis=0), rtol=1e-12)
        np.testing.assert_allclose(np.sort(x, axis=0), np.sort(z, axis=0), rtol=1e-12)
