"""Aligned text tables, the one format every printed report of the library uses.

Reports (the ``invariance`` command, optimizer certificates, the training monitor,
breakdown diagnostics) print their numbers as a header, a rule and aligned rows: the
first ``left`` columns left-aligned (names), the others right-aligned (numbers).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["format_cell", "format_table"]


def format_cell(value: Any) -> str:
    """One cell: strings as they are, booleans ``yes``/``no``, floats to 4 significant digits,
    ``None`` as ``-``, tuples and lists as ``(a, b, ...)``.

    Example:
        >>> [format_cell(v) for v in ("name", True, 0.123456, None, (1, 2, 0))]
        ['name', 'yes', '0.1235', '-', '(1, 2, 0)']
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if value is None:
        return "-"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(str(x) for x in value) + ")"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1, indent: str = "") -> str:
    """An aligned text table: header, rule, rows (cells through :func:`format_cell`).

    Args:
        headers: the column names.
        rows: the rows, each as long as ``headers``.
        left: how many leading columns are left-aligned (the rest are right-aligned).
        indent: a prefix for every line.

    Returns:
        The table, lines joined by newlines, without trailing spaces.

    Example:
        >>> print(format_table(["lr", "K"], [["small", 1.5], ["large", 20.0]]))
        lr       K
        -----  ---
        small  1.5
        large   20
    """
    cells = [[format_cell(v) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells for {len(headers)} headers: {row}")
    widths = [max([len(h)] + [len(r[k]) for r in cells]) for k, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.ljust(w) if k < left else v.rjust(w) for k, (v, w) in enumerate(zip(values, widths))]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in cells)])
