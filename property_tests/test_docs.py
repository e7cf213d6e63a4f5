"""The examples in docstrings and in README.md run and print what they claim."""

import doctest
import importlib
import pathlib
import pkgutil
import re

import numpy as np
import pytest

import invariance

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(invariance.__path__, "invariance.") if not m.name.startswith("invariance.__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    globs = {"np": np, **{k: getattr(invariance, k) for k in getattr(invariance, "__all__", [])}}
    result = doctest.testmod(module, extraglobs=globs, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_readme_snippets_run():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no python snippets"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
