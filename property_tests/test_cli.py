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
