"""``invariance experiment grid CONFIG``: a grid of runs on a Dask cluster, resumable cell by cell.

``CONFIG`` is a JSON or TOML file read by :func:`~invariance.experiments.grid.load_grid_config`::

    {"base": {"width": 256, "steps": 400, "n_data": 2000},
     "settings": [{"optimizer": "gd"}, {"optimizer": "adam"}],
     "eta_K": [0.3, 1, 3], "seeds": [0, 1, 2]}

Runs on an embedded ``LocalCluster`` (``--workers``, default: the number of cores) or on the
scheduler at ``--scheduler ADDRESS``; see :func:`~invariance.experiments.grid.run_grid`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .arguments import UsageError, existing_path, output_dir, positive_int

__all__ = ["add_parser", "run"]

HELP = "run a grid (settings x rates x seeds) on Dask: a LocalCluster, or --scheduler ADDRESS; resumable"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``grid`` to the subparsers ``sub``."""
    p = sub.add_parser("grid", help=HELP, description=HELP[0].upper() + HELP[1:] + ". Each cell is a run "
                       "directory OUT/<setting>-<rate>-seed<s>/; finished cells are skipped on a rerun, a failed cell "
                       "is reported and the others go on; OUT/grid.json, grid.csv and grid.png summarise the grid.")
    p.add_argument("config", type=existing_path, help="the grid: a JSON or TOML file (base, settings, eta_K or lr, "
                                                       "seeds)")
    p.add_argument("--out", metavar="DIR", help="the grid's folder (default runs/grid-<config name>)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786 "
                                                          "(default: an embedded LocalCluster)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help=f"LocalCluster worker processes, one thread each (default: the cores, {os.cpu_count()})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run, leaf_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``invariance experiment grid``; returns the exit code (1 if a cell failed)."""
    from ..experiments.grid import load_grid_config
    from ..experiments.summary import format_summary
    from ..tables import format_table

    try:
        config = load_grid_config(args.config)
    except ValueError as err:
        raise UsageError(str(err)) from None
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError("the grid needs dask.distributed: pip install 'dask[distributed]'") from None
    out = output_dir(args.out) if args.out else Path("runs") / f"grid-{Path(args.config).stem}"
    from ..experiments.grid import run_grid

    n = len(config.cells())
    where = args.scheduler or f"a LocalCluster of {args.workers or os.cpu_count()} worker processes"
    print(f"invariance experiment grid: {n} cells ({len(config.settings)} settings x "
          f"{len(config.eta_K or config.lr or [])} rates x {len(config.seeds)} seeds) on {where}")
    result = run_grid(config, out, scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress)
    print(format_table(["setting", "rate", "seeds", "eta*K", "changed", "neurons lost"],
                       [[s["setting"], s["rate"], s["seeds"], s["eta_K"], f"{s['changed_fraction']:.2f}",
                         f"{s['neurons_lost_mean']:.3g} +- {s['neurons_lost_std']:.2g}"] for s in result["summary"]]))
    gd_below = [s for s in result["summary"] if s["eta_K"] < 1 and "-gd-" in f"-{s['setting']}-"]
    claims = [{"claim": "gd below eta*K = 1 (K = lambda_max, GD's Theorem 1 constant): the topology is kept in "
                        "every seed (read at a fixed scale: see proofs/README.md, limits)", "paper": "kept",
               "measured": f"changed in {sum(s['changed_fraction'] > 0 for s in gd_below)} of {len(gd_below)} "
                           "setting x rate", "agrees": (not any(s["changed_fraction"] > 0 for s in gd_below))
               if gd_below else None}]
    for row in result["rows"]:
        if row["status"].startswith("failed"):
            print(f"FAILED {row['cell']}: {row['status'].removeprefix('failed: ')}")
    print()
    print(format_summary("invariance experiment grid", claims,
                         {"cells": n, "done": result["done"], "skipped (finished before)": result["skipped"],
                          "failed": len(result["failed"]), "seconds": result["seconds"]},
                         [str(Path(out) / f) for f in ("grid.png", "grid.csv", "grid.json")]))
    return 1 if result["failed"] else 0
