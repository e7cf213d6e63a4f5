"""Every script in examples/ runs to completion."""

import os
import pathlib
import runpy
import tempfile

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples write their run directories under runs/ in the current directory
    before = set(os.listdir(tempfile.gettempdir()))
    runpy.run_path(str(path), run_name="__main__")
    left = {n for n in set(os.listdir(tempfile.gettempdir())) - before if not n.startswith(("pytest", "tmp"))}
    assert not left, f"{path.name} left {sorted(left)} in the temporary folder"
    assert capsys.readouterr().out.strip()
