"""Grids on a real dask.distributed LocalCluster: resume, a killed worker, a failed cell, bad configs."""

import json
import os
import signal
import sys

import pytest

if os.environ.get("CI"):  # a dependency: in CI its absence is a failure, not a skip
    import distributed  # noqa: F401
else:
    distributed = pytest.importorskip("distributed")

from invariance.cli import main  # noqa: E402
from invariance.experiments.grid import GridConfig, cell_finished, load_grid_config, run_cell, run_grid  # noqa: E402

#: 2 settings x 2 rates x 2 seeds of tiny runs (about a second each)
TINY = dict(base={"width": 16, "steps": 30, "n_data": 200, "check_every": 10, "diagnostics": "off",
                  "track_every": 0},
            settings=[{"optimizer": "gd"}, {"optimizer": "adam"}], eta_K=[0.5, 4.0], seeds=[0, 1])


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=50, env={"OMP_NUM_THREADS": "1"})
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _mtimes(out):
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")}


def test_grid_finishes_survives_a_killed_worker_and_resumes_without_recomputing(client, tmp_path):
    out = tmp_path / "grid"
    killed = []

    def kill_one_worker_after_the_first_cell(row):
        if not killed:
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)  # mid-run: the other cells are running or queued
            killed.append(pid)

    result = run_grid(GridConfig(**TINY), out, client=client, progress=False,
                      on_result=kill_one_worker_after_the_first_cell)
    assert killed and result["failed"] == []
    assert result["done"] + result["skipped"] == 8 == len(result["rows"])
    assert all(cell_finished(out / r["cell"]) for r in result["rows"])
    assert {"grid.json", "grid.csv", "grid.png"} <= {p.name for p in out.iterdir()}
    import matplotlib.pyplot as plt

    assert not plt.get_fignums()  # the summary figure is closed once written
    summary = {(s["setting"], s["rate"]): s for s in result["summary"]}
    assert len(summary) == 4 and all(s["seeds"] == 2 for s in summary.values())
    before = _mtimes(out)
    assert len(before) == 8
    again = run_grid(GridConfig(**TINY), out, client=client, progress=False)
    assert again["done"] == 0 and again["skipped"] == 8  # resume: nothing recomputed
    assert _mtimes(out) == before
    saved = json.loads((out / "grid.json").read_text())
    assert saved["skipped"] == 8 and saved["config"]["seeds"] == [0, 1]


def failing_cell(cell, out):
    """A cell runner that fails for one cell (to show the others go on)."""
    if cell.name.endswith("etaK4-seed1"):
        raise RuntimeError("this cell fails on purpose")
    return run_cell(cell, out)


def test_a_failed_cell_is_reported_and_the_others_go_on(client, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    cfg = GridConfig(**{**TINY, "settings": [{"optimizer": "gd"}]})
    result = run_grid(cfg, tmp_path / "g", client=client, progress=False, cell_fn=failing_cell)
    assert result["failed"] == ["2d-gd-genus2-etaK4-seed1"]
    failed = next(r for r in result["rows"] if r["cell"] == "2d-gd-genus2-etaK4-seed1")
    assert "this cell fails on purpose" in failed["status"]
    assert result["done"] == 3 and not cell_finished(tmp_path / "g" / "2d-gd-genus2-etaK4-seed1")


@pytest.mark.parametrize("bad, message", [
    ({"settings": []}, "settings"),
    ({"eta_K": None, "lr": None}, "exactly one"),
    ({"lr": [0.1]}, "exactly one"),
    ({"eta_K": [0.5, -1]}, "finite numbers > 0"),
    ({"seeds": [0, 0]}, "distinct"),
    ({"base": {"width": 2}}, "width"),
    ({"base": {"lr": 0.1}}, "set by the grid"),
    ({"settings": [{"optimizer": "gd"}, {"optimizer": "gd"}]}, "same label"),
    ({"settings": [{"no_such_field": 1}]}, "no_such_field"),
])
def test_bad_grid_configs_are_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        GridConfig(**{**TINY, **bad})


def test_grid_config_files_and_the_command_line(tmp_path, capsys):
    good = tmp_path / "grid.json"
    good.write_text(json.dumps(TINY))
    assert load_grid_config(good).seeds == [0, 1]
    toml = tmp_path / "grid.toml"
    toml.write_text('seeds = [0]\neta_K = [0.5]\n[base]\nwidth = 16\n[[settings]]\noptimizer = "gd"\n')
    assert load_grid_config(toml).cells()[0].name == "2d-gd-genus2-etaK0.5-seed0"
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "unknown.json").write_text(json.dumps({**TINY, "rates": [1]}))
    for argv, message in [([str(tmp_path / "missing.json")], "no such file"),
                          ([str(tmp_path / "broken.json")], "not valid"),
                          ([str(tmp_path / "unknown.json")], "unknown keys"),
                          ([str(good), "--workers", "0"], "integer >= 1")]:
        with pytest.raises(SystemExit) as exc:
            main(["experiment", "grid", *argv, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and "Traceback" not in err
        assert "usage: invariance experiment grid" in err
    assert not (tmp_path / "out").exists()  # nothing half-written
