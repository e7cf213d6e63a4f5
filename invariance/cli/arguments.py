"""Argument types of the ``invariance`` command: each checks one value and names what was wrong.

Used as ``type=`` of ``argparse`` options, so that a bad value is reported by the
subcommand's own parser (its usage line, one error line, exit code 2), never by a
traceback from deep inside a run. :class:`UsageError` is what a subcommand raises for a
problem found after parsing (a missing data folder, an unwritable output folder); the
top-level :func:`invariance.cli.main` turns it into the same one line and exit code 2.

Example:
    >>> positive_float("0.5"), positive_int("3"), seeds("0,1,2")
    (0.5, 3, [0, 1, 2])
    >>> positive_float("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a finite number > 0, got '-1'
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Callable

__all__ = ["UsageError", "positive_float", "positive_int", "int_at_least", "seed", "seeds", "fraction",
           "existing_path", "output_dir"]


class UsageError(Exception):
    """A bad value or path found after parsing: reported as one line with exit code 2."""


def positive_float(text: str) -> float:
    """A finite number ``> 0``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer ``>= 1``."""
    return int_at_least(1)(text)


def int_at_least(least: int) -> Callable[[str], int]:
    """The type of an integer option ``>= least``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {least}"
    return parse


def seed(text: str) -> int:
    """A seed: an integer ``>= 0``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be >= 0, got {text!r}")
    return value


def seeds(text: str) -> list[int]:
    """Distinct seeds separated by commas or spaces, e.g. ``0,1,2``."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected one or more seeds, e.g. 0,1,2")
    values = [seed(p) for p in parts]
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"seeds must be distinct, got {text!r}")
    return values


def fraction(text: str) -> float:
    """A number in ``(0, 1)``."""
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


def existing_path(text: str) -> str:
    """A file or folder that exists."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"no such file or folder: {text!r}")
    return text


def output_dir(path: str | Path) -> Path:
    """Check that the run directory ``path`` can be created (or written, if it exists).

    Nothing is created: the check walks up to the first existing parent and asks whether it
    is a writable folder. Raises :class:`UsageError` otherwise.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {str(path)!r} exists and is not a folder")
    parent = p if p.exists() else next((q for q in p.parents if q.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {str(path)!r}: cannot create or write it ({str(parent)!r} is not a writable folder)")
    return p
