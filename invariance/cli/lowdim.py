"""``invariance experiment lowdim``: the 2D/3D networks of Section 6 (Figs. 3, 4, 6-10).

Every default in the help is read from :class:`~invariance.experiments.lowdim.LowDimConfig`,
the configuration the runs use.
"""

from __future__ import annotations

import argparse
from typing import Any

from .arguments import UsageError, fraction, int_at_least, output_dir, positive_float, positive_int, seed, seeds

__all__ = ["add_parser", "run", "add_network_options", "network_config"]

HELP = "2D/3D networks, neurons on a genus-2 or two genus-1 shapes (Figs. 3, 4, 6-10)"


def add_network_options(p: argparse.ArgumentParser, defaults: Any, steps: int | None = None) -> None:
    """The options of a low-dimensional network, with the defaults of ``defaults`` (a ``LowDimConfig``;
    ``steps`` overrides its step budget, as the sweep's own does)."""
    d = defaults
    steps = d.steps if steps is None else steps
    p.add_argument("--dim", type=int, choices=(2, 3), default=d.input_dim + 1,
                   help="neuron dimension: 2 (input d=1, the paper's 2D network) or 3 (d=2) "
                        f"(default {d.input_dim + 1})")
    p.add_argument("--shape", choices=("genus2", "two-genus1"), default=d.shape,
                   help=f"initial shape of the neurons (default {d.shape})")
    p.add_argument("--optimizer", choices=("gd", "momentum", "adam"), default=d.optimizer,
                   help=f"optimizer (default {d.optimizer})")
    p.add_argument("--width", type=int_at_least(4), default=d.width, help=f"hidden width h, >= 4 (default {d.width})")
    p.add_argument("--steps", type=positive_int, default=steps, help=f"step budget (default {steps})")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help=f"mini-batch size (default {d.batch_size})")
    p.add_argument("--n-data", type=int_at_least(10), default=d.n_data,
                   help=f"teacher-student data points (default {d.n_data})")
    p.add_argument("--data-seed", type=seed, default=d.data_seed, help=f"seed of the data (default {d.data_seed})")
    p.add_argument("--scale-fraction", type=fraction, default=d.scale_fraction,
                   help="read Betti numbers at this fraction of the diameter (default 0.25 in 2D, 0.15 in 3D)")
    p.add_argument("--merge-tolerance", type=positive_float, default=d.merge_tolerance,
                   help=f"neurons within this fraction of the diameter count as merged (default {d.merge_tolerance:g})")
    p.add_argument("--diagnostics", choices=("fast", "full", "off"), default=d.diagnostics,
                   help="breakdown diagnostics before/after (merging vs spreading, significant Betti numbers, "
                        "diagram distance): full (significance by subsampling, up to 0.5 diam: 7-24 s at width 1024), "
                        "fast (a fixed lifetime threshold) or off "
                        f"(default {d.diagnostics})")


def network_config(args: argparse.Namespace, base: Any) -> Any:
    """``base`` (a ``LowDimConfig``) with the network options of ``args``; a bad combination is a usage error."""
    try:
        return base.with_(input_dim=args.dim - 1, shape=args.shape, optimizer=args.optimizer, width=args.width,
                          steps=args.steps, batch_size=args.batch_size, n_data=args.n_data, data_seed=args.data_seed,
                          scale_fraction=args.scale_fraction, merge_tolerance=args.merge_tolerance,
                          diagnostics=args.diagnostics)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from None


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``lowdim`` to the subparsers ``sub``."""
    from ..experiments.lowdim import LowDimConfig

    p = sub.add_parser("lowdim", help=HELP, description=HELP[0].upper() + HELP[1:] + ". One run directory per "
                       "learning rate and seed.")
    add_network_options(p, LowDimConfig())
    p.add_argument("--lr", type=positive_float, nargs="+",
                   help="learning rate(s) (default: Table 1's small and large rates for the optimizer and dim)")
    p.add_argument("--seeds", type=seeds, default=[0], help="seeds, e.g. 0,1,2 (default 0)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/lowdim-<timestamp>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run, leaf_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``invariance experiment lowdim``; returns the exit code."""
    from ..experiments.lowdim import TABLE1, LowDimConfig, run_lowdim
    from ..experiments.records import default_run_dir, start_run
    from ..experiments.summary import format_summary
    from ..tables import format_table

    base = network_config(args, LowDimConfig())
    lrs = args.lr if args.lr else list(TABLE1[(base.optimizer, base.input_dim)])
    out = output_dir(args.out) if args.out else default_run_dir("lowdim")
    rows, claims, figures = [], [], []
    for s in args.seeds:
        for lr in lrs:
            cfg = base.with_(lr=lr, seed=s)
            name = f"{cfg.label}-seed{s}"
            run_dir = start_run(out, name, cfg.as_dict(), seed=s, exist_ok=True)
            m = run_lowdim(cfg, run_dir, progress=not args.no_progress)
            run_dir.finish()
            tp = m["topology"]
            figures.append(str(run_dir.path / "neurons.png"))
            rows.append([name, lr, m["eta_K_start"], f"{tp.get('betti_before')} -> {tp.get('betti_after')}",
                         f"{tp.get('distinct_before')} -> {tp.get('distinct_after')}", tp["mechanism"],
                         "changed" if tp["changed"] else "kept"])
            below = m["eta_K_start"] < 1
            claims.append({"claim": f"{name}: eta*K = {m['eta_K_start']:.3g} " + (
                "< 1, so Theorem 1 says the topology is kept" if below else ">= 1: Theorem 1 says nothing; the "
                "paper expects a change at its large rates"),
                "paper": "kept" if below else "may change", "measured": "changed" if tp["changed"] else "kept",
                "agrees": (not tp["changed"]) if below else None})
    print(format_table(["run", "eta", "eta*K", "Betti before -> after", "distinct", "mechanism", "topology"], rows))
    print(f"Betti numbers at {base.fraction:g} x diameter.")
    print()
    print(format_summary("invariance experiment lowdim", claims,
                         {"dim": args.dim, "width": base.width, "optimizer": base.optimizer, "steps": base.steps},
                         [str(out / "*" / "neurons.png")]))
    print(f"wrote {out}/")
    return 0
