"""The `invariance tour` command measures what it prints (`demo` and `experiment`: test_experiments.py)."""

import io
import json

import pytest

from invariance.cli import main, tour


def test_tour_measures_invariance_below_and_breakdown_at_the_critical_point():
    res = tour(n=12, seed=3, out=io.StringIO())
    assert res["config"]["seed"] == 3 and "numpy" in res["versions"]
    hyp = {h["rule"]: h for h in res["hypotheses"]}
    assert all(h["P1"] for name, h in hyp.items() if "pushed" not in name)
    assert not hyp["the same, index 0 pushed"]["P1"]
    centering = [r for r in res["critical_point"] if r["rule"].startswith("centering")]
    for r in centering:
        if r["eta_K"] < 1:
            assert r["points_after"] == 12 and r["bijective"] and r["measure_preserving"]
            assert r["min_ratio"] == pytest.approx(1 - r["eta_K"], rel=1e-9)
        if r["eta_K"] == 1:
            assert r["points_after"] == 1 and not r["bijective"] and not r["measure_preserving"]
    assert all(r["lemma2"] for r in res["critical_point"])
    lazy = {r["rule"]: r for r in res["lazy"]}
    assert [r["P1"] for r in lazy.values()] == [True, False]


def test_cli_writes_json(tmp_path, capsys):
    path = tmp_path / "tour.json"
    assert main(["tour", "--n", "8", "--json", str(path)]) == 0
    assert "critical point" in capsys.readouterr().out
    assert json.loads(path.read_text())["config"]["n"] == 8
    with pytest.raises(SystemExit):
        main(["tour", "--n", "2"])


# -- one CLI: usage errors and bad values, per subcommand --------------------------------------------
def _exit(argv, capsys):
    """(exit code, stdout, stderr) of ``invariance argv``, whether it returns or raises SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, usage, message", [
    (["demo", "--width", "1"], "usage: invariance demo", "integer >= 4"),
    (["demo", "--small-lr", "0.1", "--large-lr", "0.01"], "usage: invariance demo", "smaller than"),
    (["tour", "--n", "2"], "usage: invariance tour", "integer >= 3"),
    (["certify", "torch.optim.SGD", "--no-such-option"], "usage: invariance certify", "unrecognized arguments"),
    (["certify", "torch.optim.SGD", "--lr", "abc"], "usage: invariance certify", "expected a number"),
    (["experiment", "lowdim", "--no-such-option"], "usage: invariance experiment lowdim", "unrecognized"),
    (["experiment", "mnist", "--data", "/no/such/folder"], "usage: invariance experiment mnist", "no such file"),
    (["experiment", "sweep", "--eta-k-min", "5", "--eta-k-max", "1"], "usage: invariance experiment sweep",
     "eta-k-min"),
])
def test_usage_errors_print_the_subcommands_usage_one_error_line_and_exit_2(argv, usage, message, capsys, tmp_path):
    code, out, err = _exit([*argv, *(["--out", str(tmp_path / "run")] if argv[0] in ("demo", "experiment") else [])],
                           capsys)
    assert code == 2
    assert usage in err and message in err
    assert "Traceback" not in err and out == ""
    assert [line for line in err.splitlines() if "error:" in line] == [err.strip().splitlines()[-1]]
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_an_unwritable_out_is_one_line_and_nothing_is_written(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for argv in (["demo", "--out", str(blocker / "run")], ["experiment", "lowdim", "--out", str(blocker)],
                 ["tour", "--json", str(blocker / "x.json")]):
        code, out, err = _exit(argv, capsys)
        assert code == 2 and "Traceback" not in err and ("--out" in err or "--json" in err), argv
    assert blocker.read_text() == "not a folder"


def test_help_states_the_defaults_the_runs_use(capsys):
    from invariance.cli import build_parser
    from invariance.experiments.demo import DEMO_DEFAULTS
    from invariance.experiments.lowdim import LowDimConfig
    from invariance.experiments.mnist import MnistConfig
    from invariance.experiments.sweep import SweepConfig

    parser = build_parser()

    def parsed(*argv):
        return parser.parse_args(list(argv))

    def help_text(*argv):
        with pytest.raises(SystemExit):
            parser.parse_args([*argv, "--help"])
        return " ".join(capsys.readouterr().out.split())

    sweep, low, demo = SweepConfig(), LowDimConfig(), DEMO_DEFAULTS
    a = parsed("experiment", "sweep")
    assert (a.width, a.n_data, a.steps, a.check_every, a.points) == (sweep.base.width, sweep.base.n_data, sweep.steps,
                                                                      sweep.check_every, sweep.points)
    text = help_text("experiment", "sweep")
    assert f"(default {sweep.base.width})" in text and f"(default {sweep.base.n_data})" in text
    a = parsed("experiment", "lowdim")
    assert (a.width, a.n_data, a.steps, a.batch_size, a.optimizer) == (low.width, low.n_data, low.steps,
                                                                        low.batch_size, low.optimizer)
    assert f"(default {low.width})" in help_text("experiment", "lowdim")
    a = parsed("demo")
    assert (a.width, a.steps, a.optimizer, a.n_data, a.small_lr) == (demo["width"], demo["steps"], demo["optimizer"],
                                                                     demo["n_data"], demo["small_lr"])
    assert f"(default {demo['width']})" in help_text("demo")
    assert f"(default {MnistConfig().hidden}" in help_text("experiment", "mnist")
    for sub in ("demo", "tour", "certify", "experiment"):
        assert sub in help_text()
