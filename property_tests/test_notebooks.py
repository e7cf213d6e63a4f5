"""The executable lemma notebooks of ``proofs/``.

Every ``proofs/*.ipynb`` is re-executed with nbclient (kernel ``python3``, working directory
``proofs/``): a notebook whose proof step, generated-case check or counterexample raises
fails its test, and so does one whose committed outputs are not those of the fresh
execution. Each notebook's source is ``proofs/NN_name.py`` (jupytext percent format), and the
pair must be in sync (a negative control shows the check fails on an edited source). The
committed notebooks must carry their outputs (they are read on a code host), start with the
statement they check, and be linked from ``proofs/README.md``.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"
NOTEBOOKS = sorted(PROOFS.glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]

#: seconds one cell may run before the notebook fails
CELL_TIMEOUT = 300


def _execute_module():
    """``proofs/execute.py`` (the sources' sync check and the executor), imported by path."""
    spec = importlib.util.spec_from_file_location("proofs_execute", PROOFS / "execute.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _same_text(a: str, b: str) -> bool:
    """Equal text, numbers compared to 1e-6 relative (or 1e-9 absolute: round-off-level values such
    as a ``-3.97e-12`` slack depend on the machine's BLAS), everything else exactly."""
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    return all(math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-9)
               for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)))


def _same_outputs(a, b) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and (x[1] == y[1] if x[0] == "png" else _same_text(x[1], y[1]))
                                    for x, y in zip(a, b))


def test_the_output_comparison_tolerates_round_off_only():
    assert _same_text("slack -3.97e-12, ratio 2.763239", "slack 5.1e-13, ratio 2.7632390001")
    assert not _same_text("largest measured ratio 2.763239", "largest measured ratio 3.394902")
    assert not _same_text("P3: False", "P3: True")
    assert not _same_text("3 cases", "3 cases, 1 failed")


def _text_outputs(nb):
    """Per code cell, the outputs that must reproduce exactly: streams and text/plain results.
    Figures are compared by count (PNG bytes depend on the renderer build)."""
    out = []
    for c in _code_cells(nb):
        cell = []
        for o in c.outputs:
            if o.output_type == "stream":  # one stream may arrive in several pieces (flush timing)
                if cell and cell[-1][0] == o.name:
                    cell[-1] = (o.name, cell[-1][1] + o.text)
                else:
                    cell.append((o.name, o.text))
            elif o.output_type in ("execute_result", "display_data"):
                cell.append(("text/plain", o.get("data", {}).get("text/plain", "")))
                cell.append(("png", "image/png" in o.get("data", {})))
        out.append(cell)
    return out


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _draws_a_figure(nb) -> bool:
    return any("plt.show()" in c.source or "plt.subplots" in c.source for c in _code_cells(nb))


def test_every_notebook_has_one_source_and_no_generator_remains():
    sources = _execute_module().sources()
    assert sources, "no notebook source in proofs/"
    assert {p.stem for p in sources} == {p.stem for p in NOTEBOOKS}
    assert not (PROOFS / "_build_notebooks.py").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_in_sync_with_its_source(path):
    why = _execute_module().out_of_sync(path.with_suffix(".py"))
    assert why is None, f"{why}: run python proofs/execute.py {path.stem[:2]}"


def test_the_sync_check_fails_when_source_and_notebook_differ(tmp_path):
    """Negative control: an edited source line, a dropped cell, a missing notebook are all caught."""
    ex = _execute_module()
    source = ex.sources()[0]
    (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / source.with_suffix(".ipynb").name).write_bytes(source.with_suffix(".ipynb").read_bytes())
    copy = tmp_path / source.name
    assert ex.out_of_sync(copy) is None
    text = copy.read_text(encoding="utf-8")
    edited = text.replace("import invariance as inv", "import invariance as inv  # edited", 1)
    assert edited != text
    copy.write_text(edited, encoding="utf-8")
    assert "differs" in ex.out_of_sync(copy)
    cells = text.split("\n# %%")
    copy.write_text("\n# %%".join(cells[:-1]) + "\n", encoding="utf-8")
    assert "cells" in ex.out_of_sync(copy)
    copy.with_suffix(".ipynb").unlink()
    assert "missing" in ex.out_of_sync(copy)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_executes(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    for cell in _code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    python_path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(python_path))  # the kernel imports this checkout
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hypothesis"))  # nothing written to proofs/
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(PROOFS)}})
    client.execute()  # raises CellExecutionError if a cell raises
    errors = [o for c in _code_cells(nb) for o in c.outputs if o.output_type == "error"]
    assert not errors
    committed = _text_outputs(nbformat.read(path, as_version=4))
    fresh = _text_outputs(nb)
    stale = [k for k, (a, b) in enumerate(zip(committed, fresh)) if not _same_outputs(a, b)]
    assert not stale, (f"code cells {stale} print something else when executed afresh: "
                       f"run python proofs/execute.py {path.stem[:2]}")
    assert all(c.execution_count is not None for c in _code_cells(nb))
    if _draws_a_figure(nb):
        assert any("image/png" in o.get("data", {}) for c in _code_cells(nb) for o in c.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_with_its_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    assert cells, "a notebook without code checks nothing"
    assert all(c.execution_count is not None for c in cells), "some code cells were not executed"
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "cells were not executed once, in order, from a fresh kernel"
    assert any(c.outputs for c in cells), "no code cell has an output"
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"], "an error output was committed"
    assert not [o for c in cells for o in c.outputs if o.output_type == "stream" and o.name == "stderr"
                and "Traceback" in o.text]
    if _draws_a_figure(nb):
        pngs = [o for c in cells for o in c.outputs if "image/png" in o.get("data", {})]
        assert pngs, "the notebook draws a figure but no image/png output is committed"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_starts_with_its_statement(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    lines = first.source.splitlines()
    assert lines[0].startswith("# "), "the first cell starts with the notebook's title"
    quoted = [line for line in lines if line.startswith(">")]
    assert quoted, "the statement is quoted from the paper"
    assert re.search(r"\*\*(Lemma|Theorem|Proposition|Remark)", first.source) or "eta^*" in first.source


def test_readme_links_every_notebook_and_every_link_resolves():
    readme = (PROOFS / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [t for t in targets if "://" not in t and not t.startswith("#")]
    assert local
    for target in local:
        assert (PROOFS / target.split("#")[0]).resolve().exists(), f"README link {target!r} does not resolve"
    linked = {Path(t.split("#")[0]).name for t in local}
    missing = [p.name for p in NOTEBOOKS if p.name not in linked]
    assert not missing, f"proofs/README.md does not link {missing}"


_PROBE = '''
import pathlib, sys
sys.path.insert(0, {proofs!r})
if {patch}:
    import notebook_setup  # noqa: F401  (switches hypothesis's pool of local literals off)
from hypothesis import given, settings, strategies as st

def draws():
    out = []

    @settings(max_examples=200, derandomize=True, database=None)
    @given(st.floats(0, 10))
    def f(x):
        out.append(x)

    f()
    return out

before = draws()
pathlib.Path({tmp!r}, "many_literals.py").write_text("C = [" + ", ".join(f"{{i}}.{{i}}25" for i in range(1, 10)) + "]\\n")
sys.path.insert(0, {tmp!r})
import many_literals  # noqa: E402,F401  (a local module with new literals)
print(sum(a != b for a, b in zip(before, draws())))
'''


@pytest.mark.parametrize("patch", [True, False], ids=["notebook-setup", "plain-hypothesis"])
def test_notebook_cases_do_not_move_when_local_literals_are_imported(patch, tmp_path):
    """The notebooks' derandomized cases do not depend on the literals of local modules imported so far
    (notebook_setup.without_local_constants); negative control: plain hypothesis's do."""
    import subprocess
    import sys

    code = _PROBE.format(proofs=str(PROOFS), patch=patch, tmp=str(tmp_path))
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "hypothesis")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    moved = int(done.stdout.split()[-1])
    if patch:
        assert moved == 0, f"{moved} of 200 derandomized draws moved after a module with literals was imported"
    elif moved == 0:
        pytest.skip("this hypothesis draws no literals of local modules: notebook_setup's switch is idle")
