"""Execute the lemma notebooks of ``proofs/`` from their sources.

Each notebook has one source, ``proofs/NN_name.py`` (jupytext percent format: ``# %%`` code
cells, ``# %% [markdown]`` text cells), paired with ``proofs/NN_name.ipynb``, which carries
the outputs. Edit the ``.py`` (or the notebook in Jupyter with jupytext installed: the pair
is kept in sync), then run

    python proofs/execute.py              # every notebook: source -> executed .ipynb
    python proofs/execute.py 02 07        # only the notebooks whose name contains 02 or 07
    python proofs/execute.py --check      # only report sources and notebooks that are out of sync

Execution uses ``nbclient`` with the ``python3`` kernel, the working directory ``proofs/``
and the repository root on ``PYTHONPATH`` (so an uninstalled checkout works too). Outputs
are deterministic (every draw is seeded, hypothesis is derandomized), so
``property_tests/test_notebooks.py`` can check that the committed outputs are those of a
fresh execution, and that every pair is in sync.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FORMATS = "ipynb,py:percent"


def sources() -> list[Path]:
    """The notebook sources, ``proofs/NN_*.py``, in order."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


def cells_of(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """What the pair must agree on: each cell's type and source."""
    return [(c.cell_type, c.source) for c in nb.cells]


def out_of_sync(source: Path) -> str | None:
    """Why ``source`` and its notebook differ (``None`` when they agree)."""
    notebook = source.with_suffix(".ipynb")
    if not notebook.exists():
        return f"{notebook.name} is missing"
    a, b = cells_of(jupytext.read(source)), cells_of(nbformat.read(notebook, as_version=4))
    if len(a) != len(b):
        return f"{source.name} has {len(a)} cells, {notebook.name} has {len(b)}"
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"cell {k} differs between {source.name} and {notebook.name}"
    return None


def kernel_environment(storage: str | None = None) -> None:
    """The environment the kernel inherits: the repository root on ``PYTHONPATH``, and
    hypothesis' storage (its cache of constants) outside ``proofs/``."""
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    if storage is not None:
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = storage
    elif "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(tempfile.gettempdir(), "invariance-proofs-hypothesis")


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute ``nb`` in place with nbclient (kernel python3, cwd ``proofs/``)."""
    from nbclient import NotebookClient

    kernel_environment()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(HERE)}})
    client.execute()
    return nb


def build(source: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """The notebook of ``source``, executed, written beside it as ``.ipynb`` (the pair's metadata kept)."""
    nb = jupytext.read(source)
    for k, cell in enumerate(nb.cells):  # stable ids: a rebuild changes only what the source changed
        cell["id"] = f"cell-{k:03d}"
    nb.metadata.setdefault("jupytext", {})["formats"] = FORMATS
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    execute(nb, timeout)
    nbformat.validate(nb)
    jupytext.write(nb, source.with_suffix(".ipynb"))
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="only notebooks whose name contains one of these strings")
    parser.add_argument("--check", action="store_true", help="report pairs out of sync; execute nothing")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    args = parser.parse_args(argv)
    chosen = [s for s in sources() if not args.only or any(o in s.name for o in args.only)]
    if not chosen:
        print(f"no notebook source matches {args.only}", file=sys.stderr)
        return 2
    if args.check:
        problems = [(s.name, why) for s in chosen if (why := out_of_sync(s)) is not None]
        for name, why in problems:
            print(f"{name}: {why}")
        print(f"{len(chosen) - len(problems)} of {len(chosen)} pairs in sync")
        return 1 if problems else 0
    total = 0.0
    for source in chosen:
        start = time.perf_counter()
        build(source, args.timeout)
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{source.with_suffix('.ipynb').name:45s} {elapsed:6.1f} s", flush=True)
    print(f"{'total':45s} {total:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
