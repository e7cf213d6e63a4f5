"""The filtered edge collapse of ``persistence_diagram(backend="collapse")`` against the GUDHI reference.

The Vietoris-Rips filtration up to ``max_scale`` is the flag filtration of the weighted threshold
graph; GUDHI's filtered edge collapse must leave its persistent homology unchanged, so every bar
of ``H_0..H_2`` must be the reference's (``gudhi.RipsComplex``). Clouds chosen to break a
reduction: grids (many equal lengths), duplicated points (edges of length 0), general position,
a sphere in R^785 (the isometric reduction), the whole filtration. Negative control: the same
comparison fails on a reduction that drops one edge that is not dominated.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from invariance.topology import betti_curve, persistence_diagram, samplers
from invariance.topology.persistence import PersistenceDiagram


def _finite_bars(d: PersistenceDiagram, p: int) -> np.ndarray:
    b = d.bars[p]
    b = b[b[:, 1] > b[:, 0]]  # zero-length bars: a reference may list them, giotto-ph does not
    return b[np.lexsort(b.T[::-1])]


def _same_diagram(a: PersistenceDiagram, b: PersistenceDiagram) -> bool:
    """Equal bars in every dimension, to giotto-ph's float32 (1e-5 relative)."""
    scale = max(a.diameter, 1e-300)
    for p in range(min(a.max_dim, b.max_dim) + 1):
        x, y = _finite_bars(a, p), _finite_bars(b, p)
        if x.shape != y.shape:
            return False
        fin = np.isfinite(x)
        if not np.array_equal(fin, np.isfinite(y)) or not np.allclose(x[fin], y[fin], rtol=1e-5, atol=1e-6 * scale):
            return False
    return True


def _grid(m: int) -> np.ndarray:
    return np.array(list(itertools.product(range(m), repeat=2)), dtype=np.float64)


def _clouds() -> list[tuple[str, np.ndarray, float | None]]:
    rng = np.random.default_rng(5)
    dup = rng.standard_normal((50, 3))
    return [
        ("grid-ties", _grid(7), 1.5),                          # lengths 1, sqrt 2, 2: many equal values
        ("grid-whole", _grid(6), None),                        # the whole filtration
        ("duplicates", np.vstack([dup, dup, dup[:20]]), 1.2),  # edges of length 0
        ("general", rng.standard_normal((150, 4)), 1.3),
        ("sphere-R785", samplers.sphere(200, ambient_dim=785, seed=0), 0.9),
        ("anisotropic-R10", rng.standard_normal((160, 10)) * np.geomspace(1, 0.1, 10), 1.2),
    ]


CLOUDS = _clouds()


@pytest.fixture(params=["simplex-tree", "giotto-ph"])
def engine(request, monkeypatch):
    """Which library computes the reduced filtration: GUDHI's simplex tree (small reduced graphs,
    the default for them) or giotto-ph (forced here by a limit of -1 edges)."""
    import invariance.topology.persistence as pers

    if request.param == "giotto-ph":
        monkeypatch.setattr(pers, "_GUDHI_MAX_EDGES", -1)
    return request.param


@pytest.mark.parametrize("name,X,top", CLOUDS, ids=[c[0] for c in CLOUDS])
def test_collapsed_filtration_has_the_reference_diagram(name, X, top, engine):
    ref = persistence_diagram(X, 2, max_scale=top, backend="gudhi")
    got = persistence_diagram(X, 2, max_scale=top, backend="collapse")
    assert _same_diagram(got, ref), name
    assert _same_diagram(persistence_diagram(X, 2, max_scale=top, backend="giotto-ph"), ref)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.integers(8, 60), st.integers(1, 4), st.floats(0.2, 1.0), st.integers(0, 2**31 - 1), st.booleans())
def test_collapsed_filtration_on_generated_clouds(n, dim, frac, seed, snap):
    # hypothesis does not mix with function-scoped fixtures: both engines in the body
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim))
    if snap:  # coordinates on a lattice: ties and duplicates
        X = np.round(X * 2) / 2
    top = frac * max(float(np.ptp(X, axis=0).max()), 1e-3)
    import invariance.topology.persistence as pers

    ref = persistence_diagram(X, 2, max_scale=top, backend="gudhi")
    assert _same_diagram(persistence_diagram(X, 2, max_scale=top, backend="collapse"), ref)
    saved = pers._GUDHI_MAX_EDGES
    pers._GUDHI_MAX_EDGES = -1
    try:
        assert _same_diagram(persistence_diagram(X, 2, max_scale=top, backend="collapse"), ref)
    finally:
        pers._GUDHI_MAX_EDGES = saved


def test_the_comparison_fails_on_a_reduction_that_drops_an_undominated_edge(monkeypatch, engine):
    """Negative control: a reduction that also drops its shortest edge (two neighbours on the circle) fails."""
    import gudhi.flag_filtration.edge_collapse as ec

    X = samplers.circle(40, seed=0)
    ref = persistence_diagram(X, 2, max_scale=1.0, backend="gudhi")
    assert _same_diagram(persistence_diagram(X, 2, max_scale=1.0, backend="collapse"), ref)
    real = ec.reduce_graph

    def lossy(matrix: sp.coo_matrix, nb_iterations: int = 1) -> sp.coo_matrix:
        out = real(matrix, nb_iterations)
        k = int(np.argmin(out.data))  # the shortest edge: it joins two neighbours of the circle
        keep = np.arange(out.nnz) != k
        return sp.coo_matrix((out.data[keep], (out.row[keep], out.col[keep])), shape=out.shape)

    monkeypatch.setattr(ec, "reduce_graph", lossy)
    assert not _same_diagram(persistence_diagram(X, 2, max_scale=1.0, backend="collapse"), ref)


def test_auto_backend_collapses_for_h2_and_betti_curves_use_it():
    X = samplers.sphere(300, seed=2)
    d = persistence_diagram(X, 2, max_scale=0.8)
    assert _same_diagram(d, persistence_diagram(X, 2, max_scale=0.8, backend="gudhi"))
    curve = betti_curve(X, 2, max_scale=0.5, num=11)
    ref = betti_curve(X, 2, max_scale=0.5, num=11, backend="gudhi")
    assert np.array_equal(curve.betti, ref.betti)
    with pytest.raises(ValueError, match="backend"):
        persistence_diagram(X, 2, backend="ripser")


def test_large_reduced_complexes_go_to_giotto_ph(monkeypatch):
    """Past the triangle limit the simplex tree gives up (None) and giotto-ph computes the same bars."""
    import invariance.topology.persistence as pers

    X = samplers.sphere(120, seed=3)
    ref = persistence_diagram(X, 2, max_scale=0.9, backend="gudhi")
    calls = []
    real = pers._flag_bars_gudhi

    def spy(*args):
        out = real(*args)
        calls.append(out is None)
        return out

    monkeypatch.setattr(pers, "_flag_bars_gudhi", spy)
    assert _same_diagram(persistence_diagram(X, 2, max_scale=0.9, backend="collapse"), ref)
    assert calls == [False]
    monkeypatch.setattr(pers, "_GUDHI_MAX_TRIANGLES", 10)
    assert _same_diagram(persistence_diagram(X, 2, max_scale=0.9, backend="collapse"), ref)
    assert calls == [False, True]


def test_a_complex_without_tetrahedra_keeps_its_h2_classes():
    """The octahedron's boundary (6 points, no 4-clique): one H_2 class that never dies."""
    X = np.vstack([np.eye(3), -np.eye(3)])
    got = persistence_diagram(X, 2, max_scale=1.5, backend="collapse")
    assert got.betti_at(1.45) == (1, 0, 1)
    assert _same_diagram(got, persistence_diagram(X, 2, max_scale=1.5, backend="gudhi"))


def test_small_filtrations_do_not_import_giotto_ph():
    """H_2 Betti curves of small reduced graphs stay in GUDHI: giotto-ph imports scikit-learn (about 2 s)."""
    import subprocess
    import sys

    code = ("import sys; from invariance.topology import betti_curve, samplers; "
            "c = betti_curve(samplers.sphere(200, seed=0), 2, max_scale=0.6, num=7); "
            "print(c.betti[-1].tolist(), 'gph' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split()[-1] == "False", out.stdout


def test_diagrams_state_the_precision_of_their_values(monkeypatch):
    """float64 values (GUDHI, and the collapse when the simplex tree computes it) against giotto-ph's float32."""
    import invariance.topology.persistence as pers

    X = samplers.sphere(80, ambient_dim=20, seed=1)
    eps = np.finfo(np.float64).eps
    assert persistence_diagram(X, 2, max_scale=0.9, backend="collapse").resolution == (20 + 2) * eps
    assert persistence_diagram(X, 2, max_scale=0.9, backend="gudhi").resolution == (20 + 2) * eps
    assert persistence_diagram(X, 1, backend="giotto-ph").resolution > 2.0**-24
    monkeypatch.setattr(pers, "_GUDHI_MAX_EDGES", -1)
    assert persistence_diagram(X, 2, max_scale=0.9, backend="collapse").resolution > 2.0**-24
    # and the values are float32 there: the float64 diagram differs from them by about that much
    a = _finite_bars(persistence_diagram(X, 2, max_scale=0.9, backend="collapse"), 1)
    monkeypatch.setattr(pers, "_GUDHI_MAX_EDGES", 20_000)
    b = _finite_bars(persistence_diagram(X, 2, max_scale=0.9, backend="collapse"), 1)
    fin = np.isfinite(b)
    assert a.shape == b.shape and 0 < np.max(np.abs(a[fin] - b[fin]) / b[fin]) <= 2.0**-24


def test_betti_curve_from_a_diagram_equals_the_computed_curve():
    from invariance.topology import BettiCurve, significant_features

    X = samplers.sphere(400, seed=0)
    curve = betti_curve(X, 2, max_scale=0.4, num=41)
    again = BettiCurve.from_diagram(curve.diagram, max_scale=curve.max_scale, num=41)
    assert np.array_equal(again.betti, curve.betti) and np.allclose(again.scales, curve.scales)
    sig = significant_features(X, 2, method="fixed", min_persistence=0.1, max_scale=0.4)
    from_sig = BettiCurve.from_diagram(sig.diagram, max_scale=sig.max_scale[0], num=41)
    assert np.array_equal(from_sig.betti, curve.betti)
    with pytest.raises(TypeError, match="diagram"):
        BettiCurve.from_diagram(X)
    with pytest.raises(ValueError, match="max_scale"):
        BettiCurve.from_diagram(curve.diagram, max_scale=-1.0)
    with pytest.raises(ValueError, match="num"):
        BettiCurve.from_diagram(curve.diagram, num=1)
