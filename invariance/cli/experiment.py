"""``invariance experiment``: the group of the paper's experiments (one module per experiment)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser"]

HELP = "run the paper's experiments (lowdim, mnist), the critical-point sweep, and grids of runs on Dask"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``experiment`` and its subcommands to the subparsers ``sub``."""
    from . import grid, lowdim, mnist, sweep

    p = sub.add_parser("experiment", help=HELP,
                       description="Run an experiment and write a run directory (config.json with seed and versions, "
                                   "metrics.json, CSV tables, PNG figures).")
    esub = p.add_subparsers(dest="experiment", required=True, metavar="{lowdim,sweep,mnist,grid}")
    for module in (lowdim, sweep, mnist, grid):
        module.add_parser(esub)
    return p
