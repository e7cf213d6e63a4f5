"""The closing summary an experiment prints: its claims, our verdict, the settings, the files.

Every ``invariance`` experiment ends with :func:`format_summary`: one aligned table of the
paper's claims it tested (what the paper says, what we measured, whether they agree),
then the settings that matter for reading it (width, ``K``, ``eta K``), then where the
figures and tables are. Lines fit in :data:`WIDTH` columns (long claims wrap in their cell).

Example:
    >>> print(format_summary("demo", [{"claim": "small lr keeps the topology", "paper": "kept",
    ...                                "measured": "kept", "agrees": True}],
    ...                      {"width": 512}, ["runs/demo/demo.png"]))  # doctest: +NORMALIZE_WHITESPACE
    demo: 1 of 1 claims agree with the paper
    claim                        paper  measured  agrees
    ---------------------------  -----  --------  ------
    small lr keeps the topology  kept   kept      yes
    settings: width 512
    figures: runs/demo/demo.png
"""

from __future__ import annotations

import textwrap
from typing import Any, Mapping, Sequence

from ..tables import format_cell

__all__ = ["format_summary", "WIDTH"]

#: Columns the summary fits in.
WIDTH = 100


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]


def format_summary(title: str, claims: Sequence[Mapping[str, Any]], settings: Mapping[str, Any] | None = None,
                   files: Sequence[str] = (), width: int = WIDTH) -> str:
    """The summary text.

    Args:
        title: the experiment's name (first word of the first line).
        claims: dicts with ``claim`` (text), ``paper`` (what the paper says), ``measured``
            (what we measured) and ``agrees`` (bool, or ``None`` for "not tested").
        settings: name -> value of the settings that matter (printed on one wrapped line).
        files: figures and tables written.
        width: the maximal line length.

    Returns:
        The text, every line at most ``width`` characters.
    """
    n_ok = sum(1 for c in claims if c.get("agrees") is True)
    n_tested = sum(1 for c in claims if c.get("agrees") is not None)
    lines = [f"{title}: {n_ok} of {n_tested} claims agree with the paper" if claims else f"{title}: no claim tested"]
    if claims:
        cells = [[str(c.get("claim", "")), format_cell(c.get("paper", "")), format_cell(c.get("measured", "")),
                  {True: "yes", False: "NO", None: "-"}[c.get("agrees")]] for c in claims]
        head = ["claim", "paper", "measured", "agrees"]
        fixed = [max(len(head[k]), *(min(len(r[k]), 24) for r in cells)) for k in (1, 2, 3)]
        claim_w = max(20, min(max(len(r[0]) for r in cells), width - sum(fixed) - 2 * 3))
        cols = [claim_w] + fixed
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, cols)).rstrip())
        lines.append("  ".join("-" * w for w in cols))
        for r in cells:
            wrapped = [_wrap(r[0], cols[0])] + [_wrap(r[k], cols[k]) for k in (1, 2, 3)]
            for j in range(max(len(w) for w in wrapped)):
                lines.append("  ".join((w[j] if j < len(w) else "").ljust(c) for w, c in zip(wrapped, cols)).rstrip())
    if settings:
        text = "settings: " + ", ".join(f"{k} {format_cell(v)}" for k, v in settings.items())
        lines.extend(textwrap.wrap(text, width, subsequent_indent="  "))
    if files:
        lines.extend(textwrap.wrap("figures: " + ", ".join(files), width, subsequent_indent="  ",
                                   break_on_hyphens=False))
    return "\n".join(lines)
