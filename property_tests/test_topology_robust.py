"""Scale-robust topology (issue 9): Betti curves, significance, diagram distances, normalisation, diagnostics.

Constructed clouds with known answers, each detector with a negative control. The
calibration of the significance threshold runs on a few seeds by default and on many
seeds under ``-m slow``.
"""

import json

import numpy as np
import pytest

from invariance.topology import (
    MECHANISMS,
    NORMALISATIONS,
    BettiCurve,
    RelativeScale,
    betti_curve,
    betti_numbers,
    breakdown_diagnostics,
    diagnose_trajectory,
    diagram_distance,
    diagram_distances,
    diameter,
    normalise_shape,
    participation_ratio,
    persistence_diagram,
    samplers,
    significant_features,
    stable_bands_of,
    twonn_dimension,
)

# ---------------------------------------------------------------- constructed clouds


def pad(X, D):
    return np.hstack([X, np.zeros((X.shape[0], D - X.shape[1]))])


def thickened_sphere(n=200, extra=20, sigma=0.1, seed=0):
    """S^2 in R^(3 + extra) (before) and the same neurons with N(0, sigma^2) noise in the extra directions (after)."""
    S = pad(samplers.sphere(n, seed=seed), 3 + extra)
    noise = np.hstack([np.zeros((n, 3)), sigma * np.random.default_rng(seed + 1).standard_normal((n, extra))])
    return S, S + noise


def two_clusters(n=100, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(0.0, spread, (n, 3)) + [1.0, 0.0, 0.0]
    B = rng.normal(0.0, spread, (n, 3)) - [1.0, 0.0, 0.0]
    return A, B, rng


def squashed_eight(n=400, seed=0):
    return samplers.figure_eight(n, seed=seed) * [1.0, 0.1]


# ---------------------------------------------------------------- Betti curves


@pytest.mark.parametrize("X", [samplers.circle(80, seed=1), samplers.sphere(150, seed=2),
                               samplers.two_circles(120, seed=3), samplers.figure_eight(150, seed=4)])
def test_curve_agrees_with_fixed_scale_betti_numbers(X):
    curve = betti_curve(X, max_dim=2, scales=[0.05, 0.1, 0.2, 0.25, 0.4])
    for f, row in zip(curve.fractions, curve.betti):
        assert tuple(row) == betti_numbers(X, RelativeScale(f)), f
        assert curve.at(f, relative=True) == tuple(row)


def test_stable_bands_partition_the_scales():
    X = samplers.two_circles(100, seed=0)
    curve = betti_curve(X, max_dim=1)
    bands = stable_bands_of(curve.diagram)
    assert bands[0].start == 0.0 and bands[-1].end == pytest.approx(curve.diameter)
    for a, b in zip(bands[:-1], bands[1:]):
        assert a.end == b.start and a.betti != b.betti
        assert curve.at(0.5 * (a.start + a.end)) == a.betti
    by_width = curve.stable_bands()
    assert [b.width for b in by_width] == sorted((b.width for b in bands), reverse=True)
    assert sum(b.width for b in by_width) == pytest.approx(1.0)
    # two circles (radius 1, gap 1): two components with two loops until the gap closes at r = 1,
    # then one component with both loops until they fill at r = sqrt(3) (longer)
    assert (2, 2) in [b.betti for b in bands]
    assert curve.most_stable().betti == (1, 2)


def test_truncated_curve():
    X = samplers.sphere(200, ambient_dim=10, seed=0)
    curve = betti_curve(X, max_scale=0.3, num=31)
    assert curve.truncated and curve.max_scale == pytest.approx(0.3 * curve.diameter)
    assert curve.fractions[-1] == pytest.approx(0.3)
    assert curve.at(0.25, relative=True) == betti_numbers(X)
    with pytest.raises(ValueError, match="beyond"):
        curve.at(0.5, relative=True)
    assert curve.stable_bands()[-1].end <= curve.max_scale
    assert any(b.truncated for b in curve.stable_bands())


def test_squashed_figure_eight_has_b1_2_in_its_stable_band():
    """Squashed 10:1 the figure-eight is contractible at diam/4; its loops live on a finer band.

    Raw cloud: the longest non-trivial band, ignoring bars shorter than 0.5% of the
    diameter (noise that cuts the band into fragments), is (1, 2, 0) and lies below diam/4.
    Whitened (normalise_shape(..., "whiten")): (1, 2, 0) is the longest non-trivial band
    without any filtering, and it contains diam/4.
    """
    X = squashed_eight()
    assert betti_numbers(X) == (1, 0, 0)
    curve = betti_curve(X)
    band = curve.most_stable(min_persistence=0.005)
    assert band.betti == (1, 2, 0)
    assert band.fractions[1] < 0.25
    white = betti_curve(normalise_shape(X, "whiten"))
    band = white.most_stable()
    assert band.betti == (1, 2, 0)
    assert band.fractions[0] < 0.25 < band.fractions[1]
    assert band.width > 0.3


def test_curve_of_noise_has_no_long_nontrivial_band():  # negative control
    X = np.random.default_rng(0).standard_normal((200, 3))
    band = betti_curve(X, max_dim=1).most_stable()
    assert band is None or band.width < 0.1


def test_plot(tmp_path):
    curve = betti_curve(samplers.circle(60, seed=0), max_dim=1, num=50)
    out = curve.save_plot(tmp_path / "curve.png")
    assert out.exists() and out.stat().st_size > 1000
    assert curve.plot().get_xlabel().startswith("scale")


def test_curve_validation():
    with pytest.raises(ValueError, match="points"):
        betti_curve([[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(ValueError, match="scales"):
        betti_curve(samplers.circle(10), scales=[-0.1, 0.2])
    with pytest.raises(ValueError, match="spacing"):
        betti_curve(samplers.circle(10), spacing="cubic")
    with pytest.raises(ValueError, match="max_scale"):
        betti_curve(samplers.circle(10), scales=[0.1, 0.5], max_scale=0.2)
    one = betti_curve([[1.0, 2.0]])
    assert isinstance(one, BettiCurve) and one.at(0.0) == (1, 0, 0)
    assert betti_curve(samplers.circle(30), spacing="log", num=10).scales[1] > 0


# ---------------------------------------------------------------- significance


def test_significant_circle_and_sphere():
    sig = significant_features(samplers.circle(100, seed=0), max_dim=1, n_subsamples=10)
    assert sig.betti == (1, 1)
    lo, hi = sig.band(1)
    assert lo < 0.25 * sig.diameter < hi
    assert "b1 = 1" in sig.claim(1) and "95%" in sig.claim(1)
    sph = significant_features(samplers.sphere(250, ambient_dim=785, seed=0), n_subsamples=10)
    assert sph.betti == (1, 0, 1)
    lo, hi = sph.band(2)  # a sparse sample: the void is born above diam/4 (DESIGN.md, known traps)
    assert lo < 0.5 * sph.diameter and hi == np.inf  # alive where the H_2 filtration stops (0.75 diam)


def test_gaussian_noise_has_no_significant_features_beyond_b0():  # negative control
    for dim in (2, 3):
        X = np.random.default_rng(dim).standard_normal((200, dim))
        sig = significant_features(X, n_subsamples=10)
        assert sig.betti == (1, 0, 0), sig.summary()


def test_two_clusters_are_significant():
    A, B, _ = two_clusters()
    sig = significant_features(np.vstack([A, B]), max_dim=1, n_subsamples=10)
    assert sig.betti == (2, 0)
    assert sig.band(0)[1] > 0.5 * sig.diameter


def test_hausdorff_band_is_wider_and_seeds_reproduce():
    X = samplers.sphere(120, seed=0)
    b = significant_features(X, n_subsamples=8, seed=3)
    h = significant_features(X, n_subsamples=8, seed=3, method="hausdorff-subsampling")
    assert np.all(h.distances >= b.distances - 1e-6)  # Rips stability: d_B <= 2 d_H, same subsamples
    assert h.threshold >= b.threshold - 1e-6
    again = significant_features(X, n_subsamples=8, seed=3)
    assert again == b and np.array_equal(again.distances, b.distances)
    fixed = significant_features(X, method="fixed", min_persistence=0.2)
    assert fixed.relative_threshold == pytest.approx(0.2) and np.isnan(fixed.confidence)


def test_significance_validation():
    X = samplers.circle(20)
    with pytest.raises(ValueError, match="confidence"):
        significant_features(X, confidence=1.0)
    with pytest.raises(ValueError, match="subsample_size"):
        significant_features(X, subsample_size=21)
    with pytest.raises(ValueError, match="method"):
        significant_features(X, method="bootstrap")
    with pytest.raises(ValueError, match="min_persistence"):
        significant_features(X, method="fixed")
    with pytest.raises(ValueError, match="points"):
        significant_features(np.full((5, 2), np.inf))
    with pytest.raises(ValueError, match="seed"):
        significant_features(X, seed=-1)


NOISE = {
    "gaussian R^2": lambda rng, n: rng.standard_normal((n, 2)),
    "gaussian R^3": lambda rng, n: rng.standard_normal((n, 3)),
    "uniform cube R^3": lambda rng, n: rng.uniform(size=(n, 3)),
}


def false_features(kind, seeds, n=150, n_subsamples=10):
    false = 0
    for s in seeds:
        X = NOISE[kind](np.random.default_rng(10_000 + s), n)
        false += sum(significant_features(X, n_subsamples=n_subsamples, seed=s).betti[1:]) > 0
    return false


@pytest.mark.parametrize("kind", ["gaussian R^2", "uniform cube R^3"])
def test_calibration_fast(kind):
    """Structureless clouds: false significant features (dims >= 1) at most at the nominal 5% rate.

    Six seeds: under the nominal rate, two or more false results have probability < 3.3%.
    """
    assert false_features(kind, range(6)) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(NOISE))
def test_calibration_many_seeds(kind):
    """100 seeds, n = 200, 20 subsamples: the false-feature rate is at most the nominal 5%."""
    assert false_features(kind, range(100), n=200, n_subsamples=20) <= 5


# ---------------------------------------------------------------- diagram distances


def test_distance_is_scale_free_symmetric_and_zero_on_self():
    X = samplers.circle(60, seed=0)
    Y = samplers.figure_eight(80, seed=1)
    assert diagram_distance(X, 5.0 * X, max_dim=1) < 1e-6
    assert diagram_distance(X, 2.0 * X, max_dim=1, normalise=False) > 0.5
    dxy = diagram_distance(X, Y, max_dim=1)
    assert dxy == pytest.approx(diagram_distance(Y, X, max_dim=1), abs=1e-9) and dxy > 0.1
    dgm = persistence_diagram(X, 1)
    assert diagram_distance(dgm, dgm) < 1e-300  # gudhi's default additive error: the smallest double
    Z = samplers.two_circles(70, seed=2)
    assert diagram_distance(X, Z, max_dim=1) <= dxy + diagram_distance(Y, Z, max_dim=1) + 1e-9


def test_distance_stability_and_wasserstein_dominates_bottleneck():
    rng = np.random.default_rng(0)
    X = samplers.sphere(80, seed=0)
    eps = 0.05
    Y = X + eps * rng.uniform(-1, 1, X.shape) / np.sqrt(3)  # every neuron moves at most eps
    d = diagram_distance(X, Y, normalise=False)
    assert d <= 2 * eps + 1e-6  # |d_ij' - d_ij| <= 2 eps bounds the interleaving
    for p, (b, w) in enumerate(zip(diagram_distances(X, Y), diagram_distances(X, Y, "wasserstein"))):
        assert w >= b / 1.01 - 1e-9, p
    assert diagram_distance(X, Y, metric="wasserstein", order=2) <= diagram_distance(X, Y, metric="wasserstein")


def test_distance_validation():
    X = samplers.circle(10)
    with pytest.raises(ValueError, match="metric"):
        diagram_distance(X, X, metric="sliced")
    with pytest.raises(ValueError, match="dim"):
        diagram_distance(X, X, dim=5)
    with pytest.raises(ValueError, match="a"):
        diagram_distance([[np.nan, 0.0]], X)
    assert diagram_distance(X, X, max_scale=0.5) < 1e-300


# ---------------------------------------------------------------- normalisation


def test_normalisations():
    X = squashed_eight(200)
    assert np.array_equal(normalise_shape(X), X) and normalise_shape(X) is not X
    S = normalise_shape(X, "scale")
    assert diameter(S) == pytest.approx(1.0)
    from scipy.spatial.distance import pdist

    P = normalise_shape(pad(X, 30), "pca")
    assert P.shape == (200, 2)
    np.testing.assert_allclose(pdist(P), pdist(X), atol=1e-9)
    W = normalise_shape(X, "whiten")
    np.testing.assert_allclose(np.cov(W.T, bias=True), np.eye(2), atol=1e-9)
    assert normalise_shape(pad(X, 5), "pca", n_components=1).shape == (200, 1)
    assert set(NORMALISATIONS) == {"none", "scale", "pca", "whiten"}
    with pytest.raises(ValueError, match="method"):
        normalise_shape(X, "standardise")
    with pytest.raises(ValueError, match="points"):
        normalise_shape(np.zeros((0, 2)), "whiten")


def test_whitening_amplifies_noise_directions():
    """The documented trade-off: thin noise directions get unit variance after whitening."""
    S, T = thickened_sphere(100, extra=5, sigma=1e-3)
    W = normalise_shape(T, "whiten")
    assert W.shape[1] == 8 and np.allclose(W.std(axis=0), 1.0)
    assert normalise_shape(T, "whiten", n_components=3).shape[1] == 3


# ---------------------------------------------------------------- intrinsic dimension, participation


def test_twonn_and_participation_ratio():
    rng = np.random.default_rng(0)
    plane = pad(rng.uniform(size=(600, 2)), 10)
    assert twonn_dimension(plane) == pytest.approx(2.0, abs=0.25)
    assert twonn_dimension(rng.uniform(size=(600, 3))) == pytest.approx(3.0, abs=0.4)
    dup = np.vstack([plane, plane])  # merged neurons count once
    assert twonn_dimension(dup) == pytest.approx(twonn_dimension(plane))
    assert np.isnan(twonn_dimension(np.zeros((5, 2))))
    assert participation_ratio(rng.standard_normal((4000, 3))) == pytest.approx(3.0, abs=0.1)
    assert participation_ratio(np.zeros((3, 2))) == 0.0


# ---------------------------------------------------------------- breakdown diagnostics


def test_thickened_sphere_spreads_without_merging():
    """Sphere thickened into 20 extra directions: diam/4 Betti numbers change, significant b2 = 1 stays."""
    S, T = thickened_sphere()
    d = breakdown_diagnostics(S, T, n_subsamples=10)
    assert d.fixed_betti_changed
    assert d.persistent_betti[0][2] == d.persistent_betti[1][2] == 1
    assert d.persistent_bands[1][2] is not None  # b2 = 1 comes with its band
    assert not d.merging and d.collapsed_pairs == 0 and d.width == (200, 200)  # negative control: merging
    assert d.spreading and d.mechanism == "spreading"
    assert d.intrinsic_dim[1] > 2 * d.intrinsic_dim[0]
    assert d.diameter[1] > d.diameter[0]


def test_two_clusters_driven_together_merge():
    """Cluster B driven onto cluster A, each neuron of B onto one of A (above eta*: Lemma 2 fails)."""
    A, B, rng = two_clusters()
    X = np.vstack([A, B])
    Y = np.vstack([A, A + 1e-9 * rng.standard_normal(A.shape)])
    d = breakdown_diagnostics(X, Y, n_subsamples=10, eta=0.5, K=1.0)
    assert d.merging and d.mechanism == "merging"
    assert d.width == (200, 100)
    assert d.collapsed_pairs >= 100
    assert d.lemma2_violations >= 100 and d.min_ratio < 1e-6
    assert d.persistent_betti[0][0] == 2 and d.persistent_betti[1][0] == 1
    assert not d.spreading  # negative control: spreading
    assert d.diagram_distance > 0.2


def test_clusters_overlapping_without_coinciding_still_count_as_merging():
    A, B, _ = two_clusters()
    d = breakdown_diagnostics(np.vstack([A, B]), np.vstack([A, B + [2.0, 0.0, 0.0]]), n_subsamples=10)
    assert d.width == (200, 200) and d.collapsed_pairs > 0 and d.mechanism == "merging"
    assert d.persistent_betti == ((2, 0, 0), (1, 0, 0))


def test_similarities_and_small_motions_report_nothing():  # negative control for every detector
    S, _ = thickened_sphere(150, extra=5)
    rng = np.random.default_rng(0)
    R, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    for Y in (3.0 * S @ R + 1.0, S + 1e-3 * rng.standard_normal(S.shape)):
        d = breakdown_diagnostics(S, Y, significance=False, eta=0.1, K=1.0)
        assert d.mechanism == "none", d.table()
        assert d.lemma2_violations == 0 and d.collapsed_pairs == 0
        assert not d.persistent_betti_changed and d.diagram_distance < 0.02


def test_lemma2_violations_are_reported_but_a_contraction_is_no_merge():
    X = samplers.circle(50, seed=0)
    d = breakdown_diagnostics(X, 0.5 * X, eta=0.1, K=1.0, significance=False)
    assert d.lemma2_violations == 50 * 49 // 2 and d.min_ratio == pytest.approx(0.5)
    assert d.mechanism == "none"
    assert any("Lemma 2" in e for e in d.evidence)
    vacuous = breakdown_diagnostics(X, 0.5 * X, eta=2.0, K=1.0, significance=False)
    assert vacuous.lemma2_bound == -1.0 and vacuous.lemma2_violations == 0


def test_table_dict_and_trajectory():
    S, T = thickened_sphere(100, extra=10)
    d = breakdown_diagnostics(S, T, significance=False)
    text = d.table()
    lines = text.splitlines()
    assert "MECHANISM" in text and "significant Betti" in text and "Betti at 0.25 diam" in text
    assert len({line.index("before") for line in lines[:1]}) == 1 and len(lines) > 15
    payload = json.loads(json.dumps(d.as_dict()))
    assert payload["mechanism"] == d.mechanism and payload["fixed_betti_changed"] == d.fixed_betti_changed
    assert d.mechanism in MECHANISMS
    traj = diagnose_trajectory([S, S, T], significance=False)
    assert [t.mechanism for t in traj] == ["none", d.mechanism]


def test_diagnostics_validation():
    X = samplers.circle(20)
    with pytest.raises(ValueError, match="same neurons"):
        breakdown_diagnostics(X, X[:10])
    with pytest.raises(TypeError, match="unknown"):
        breakdown_diagnostics(X, X, scael=0.2)
    with pytest.raises(ValueError, match="eta"):
        breakdown_diagnostics(X, X, eta=0.1)
    with pytest.raises(ValueError, match="before"):
        breakdown_diagnostics(np.full((20, 2), np.nan), X)
    with pytest.raises(ValueError, match="after"):
        breakdown_diagnostics(X, np.zeros((20, 0)))
    with pytest.raises(ValueError, match="snapshots"):
        diagnose_trajectory([X])


def test_normalised_topology_in_diagnostics():
    X = squashed_eight(300)
    d = breakdown_diagnostics(X, X, normalise="whiten", significance=False)
    assert d.fixed_betti == ((1, 2, 0), (1, 2, 0)) and d.options["normalise"] == "whiten"
    assert breakdown_diagnostics(X, X, significance=False).fixed_betti[0] == (1, 0, 0)
