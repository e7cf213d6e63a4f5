"""``invariance demo``: the main job -- the 2D network at a small and a large learning rate.

Runs :func:`invariance.experiments.demo.demo` (about 15 s on 2 cores, no downloads); every
default below is read from :data:`~invariance.experiments.demo.DEMO_DEFAULTS`, the
configuration the run uses.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..experiments.demo import DEMO_DEFAULTS
from .arguments import UsageError, int_at_least, output_dir, positive_float, positive_int, seed

__all__ = ["add_parser", "run"]

HELP = "train the 2D network at a small and a large learning rate: topology kept vs broken (under a minute)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``demo`` to the subparsers ``sub``."""
    d = DEMO_DEFAULTS
    p = sub.add_parser("demo", help=HELP,
                       description="Train the paper's 2D network (neurons on a genus-2 shape) at a small and a large "
                                   "learning rate and show that the small one keeps the topology of the neuron cloud "
                                   "and the large one breaks it. Writes a run directory with config, metrics and a "
                                   "figure.")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/demo-<timestamp>)")
    p.add_argument("--seed", type=seed, default=d["seed"], help=f"seed (default {d['seed']})")
    p.add_argument("--width", type=int_at_least(4), default=d["width"],
                   help=f"hidden width h, >= 4 (default {d['width']})")
    p.add_argument("--steps", type=positive_int, default=d["steps"],
                   help=f"step budget per run (default {d['steps']})")
    p.add_argument("--optimizer", choices=("gd", "momentum", "adam"), default=d["optimizer"],
                   help=f"optimizer (default {d['optimizer']})")
    p.add_argument("--small-lr", type=positive_float, default=d["small_lr"],
                   help=f"small learning rate (default {d['small_lr']:g})")
    p.add_argument("--large-lr", type=positive_float, default=d["large_lr"],
                   help=f"large learning rate (default {d['large_lr']:g})")
    p.add_argument("--n-data", type=int_at_least(10), default=d["n_data"],
                   help=f"teacher-student data points (default {d['n_data']})")
    p.add_argument("--diagnostics", choices=("fast", "full", "off"), default=d["diagnostics"],
                   help="breakdown diagnostics (merging vs spreading, significant Betti numbers): full "
                        "(significance by subsampling), fast (a fixed lifetime threshold) or off "
                        f"(default {d['diagnostics']})")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run, leaf_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``invariance demo``; returns the exit code."""
    from ..experiments.demo import demo

    if not args.small_lr < args.large_lr:
        raise UsageError(f"--small-lr ({args.small_lr:g}) must be smaller than --large-lr ({args.large_lr:g})")
    if args.out is not None:
        output_dir(args.out)
    metrics = demo(out=args.out, seed=args.seed, width=args.width, steps=args.steps, optimizer=args.optimizer,
                   small_lr=args.small_lr, large_lr=args.large_lr, n_data=args.n_data, diagnostics=args.diagnostics,
                   progress=not args.no_progress)
    return 0 if metrics.get("runs") else 1
