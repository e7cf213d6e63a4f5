"""Which constant predicts the topological breakdown? eta*lambda_max, eta*K_rel or eta*K_lb at the onset.

A claim beyond the paper, measured. For GD, momentum and Adam on the 2D (d = 1) and 3D (d = 2)
teacher-student networks, at two widths and three seeds, the critical-point sweep
(:func:`invariance.experiments.sweep.run_sweep`, 9 rates eta = c / lambda_max for c on a log grid
0.1 .. 10, 400 steps each, topology checked every 50 steps) records the outcome per rate and, per
rate, three constants times eta:

* ``eta lambda_max``: lambda_max of the full-batch Hessian at the start (what the library reported);
* ``eta K_rel``: the relative sharpness ``||Pi_R J_U Pi_R||`` of the run's own rule after 10 steps
  (GD: the Hessian compressed to the neuron-relative subspace; momentum/Adam: the stateless
  rule's Jacobian on the particles);
* ``eta K_lb``: the largest Lemma 4 lower bound a monitor read off any step of the run.

The **onset** of a sweep is its smallest rate with any change (merge, Betti change at diam/4, or
divergence); the constant C **brackets** the onset when ``eta_last_preserved * C < 1 <= eta_onset * C``
(Theorem 1 then predicts the observed transition to within one grid step), is **conservative** when
``eta_onset * C`` is above 1 by more (1 is crossed earlier than the change) -- no contradiction,
Theorem 1 is sufficient -- and is **violated** if the topology changes at ``eta C < 1`` (a
contradiction of Theorem 1 for that constant, if it were the rule's true constant).

Reproduce: python results/critical_constants.py   (about 10 minutes on 2 cores; writes
results/critical_constants/{README.md, rows.json, constants.png})
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from invariance.experiments.lowdim import LowDimConfig  # noqa: E402
from invariance.experiments.sweep import SweepConfig, run_sweep  # noqa: E402

CONSTANTS = (("lambda_max", "eta_lambda_max"), ("K_rel", "eta_K_rel_rule"), ("K_lb", "eta_K_lb_max"))


def verdict(preserved: float | None, onset: float | None) -> str:
    """Where 1 falls relative to ``eta C`` at the last preserved rate and at the onset."""
    if onset is None:
        return "no change seen" if preserved is None or preserved < 1 else "1 crossed, no change seen"
    if onset < 1:
        return "violated (change at eta C < 1)"
    if preserved is None or preserved < 1:
        return "brackets"
    return "conservative (1 crossed before the change)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--optimizers", nargs="+", default=["gd", "momentum", "adam"])
    ap.add_argument("--dims", type=int, nargs="+", default=[1, 2], help="input dimension d (network dim d+1)")
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--out", default=str(ROOT / "results" / "critical_constants"))
    args = ap.parse_args()
    from tqdm import tqdm

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cells = [(o, d, w, s) for o in args.optimizers for d in args.dims for w in args.widths for s in args.seeds]
    sweeps = []
    t0 = time.perf_counter()
    for opt, d, w, seed in tqdm(cells, desc="sweeps", unit="sweep"):
        base = LowDimConfig(input_dim=d, width=w, n_data=2000, optimizer=opt, seed=seed, shape="genus2")
        m = run_sweep(SweepConfig(base=base, steps=args.steps), progress=False)
        rows = m["rows"]
        onset = next((r for r in rows if r["outcome"] != "preserved"), None)
        i = rows.index(onset) if onset is not None else len(rows)
        last = rows[i - 1] if i > 0 else None
        entry = {"optimizer": opt, "network": f"{d + 1}D", "width": w, "seed": seed, "lambda_max": m["K"]["K"],
                 "K_rel_start": m["K"]["K_rel"], "onset_eta_K": None if onset is None else onset["eta_K"],
                 "onset_outcome": None if onset is None else onset["outcome"],
                 "onset_step": None if onset is None else onset["first_change_step"],
                 "consistent_with_theorem1_lambda_max": m["consistent_with_theorem1"], "rows": rows}
        for name, key in CONSTANTS:
            pre = None if last is None else last.get(key)
            on = None if onset is None else onset.get(key)
            entry[f"{name}_preserved"], entry[f"{name}_onset"] = pre, on
            entry[f"{name}_verdict"] = verdict(pre, on)
        sweeps.append(entry)
        tqdm.write(f"{opt:8s} {d + 1}D w{w:<4d} s{seed}: onset c = {entry['onset_eta_K']}, "
                   + ", ".join(f"{n} {entry[f'{n}_verdict']}" for n, _ in CONSTANTS))
    meta = {"command": "python results/critical_constants.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": time.perf_counter() - t0,
            "machine": platform.machine(), "config": vars(args)}
    (out / "rows.json").write_text(json.dumps({"meta": meta, "sweeps": sweeps}, indent=1, default=str))

    def fmt(x: object) -> str:
        return "-" if x is None else (f"{x:.3g}" if isinstance(x, float) else str(x))

    lines = ["# Which constant brackets the topological breakdown? (a claim beyond the paper)", "",
             f"Command: `{meta['command']}` ({meta['seconds'] / 60:.1f} min, {meta['date']}). Each row is one sweep:",
             "9 rates `eta = c / lambda_max`, c = 0.1 .. 10 (log grid), 400 steps each; genus-2 initial cloud,",
             "2000 teacher-student points, batch 128. Columns give `eta C` at the last preserved rate -> at the onset",
             "(the first rate with a merge, a diam/4 Betti change or divergence).", "",
             "| optimizer | net | width | seed | onset c | onset | eta lambda_max | eta K_rel (rule) "
             "| eta K_lb (max) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for e in sweeps:
        cols = [f"{fmt(e[f'{n}_preserved'])} -> {fmt(e[f'{n}_onset'])}" for n, _ in CONSTANTS]
        lines.append(f"| {e['optimizer']} | {e['network']} | {e['width']} | {e['seed']} | {fmt(e['onset_eta_K'])} "
                     f"| {e['onset_outcome'] or 'none'} | " + " | ".join(cols) + " |")
    lines += ["", "## Verdicts, counted over seeds", "",
              "| optimizer | net | width | lambda_max | K_rel | K_lb |", "| --- | --- | --- | --- | --- | --- |"]
    groups: dict[tuple, list] = {}
    for e in sweeps:
        groups.setdefault((e["optimizer"], e["network"], e["width"]), []).append(e)
    for (o, net, w), es in groups.items():
        cells_ = []
        for n, _ in CONSTANTS:
            counts: dict[str, int] = {}
            for e in es:
                counts[e[f"{n}_verdict"]] = counts.get(e[f"{n}_verdict"], 0) + 1
            cells_.append("; ".join(f"{v} x{c}" for v, c in sorted(counts.items())))
        lines.append(f"| {o} | {net} | {w} | " + " | ".join(cells_) + " |")
    ratio = [e["K_rel_start"] / e["lambda_max"] for e in sweeps]
    lines += ["", f"K_rel / lambda_max at the start (GD's constant): median {np.median(ratio):.3f}, "
              f"range {min(ratio):.3f} - {max(ratio):.3f}."]
    (out / "README.md").write_text("\n".join(lines) + "\n")
    _plot(sweeps, out / "constants.png")
    print("\n".join(lines))


def _plot(sweeps: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    opts = sorted({e["optimizer"] for e in sweeps})
    fig, axes = plt.subplots(1, len(CONSTANTS), figsize=(5 * len(CONSTANTS), 4), sharey=True)
    colors = {o: c for o, c in zip(opts, ("tab:blue", "tab:orange", "tab:green", "tab:red"))}
    for ax, (name, key) in zip(np.atleast_1d(axes), CONSTANTS):
        for e in sweeps:
            for r in e["rows"]:
                v = r.get(key)
                if v is None or not v > 0:
                    continue
                changed = r["outcome"] != "preserved"
                ax.scatter(v, 1 if changed else 0, marker="x" if changed else "o", color=colors[e["optimizer"]],
                           alpha=0.5, s=18)
        ax.axvline(1.0, color="k", lw=1, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel(f"eta * {name}")
        ax.set_yticks([0, 1], ["preserved", "changed"])
        ax.set_title(f"outcome vs eta * {name}")
    for o in opts:
        np.atleast_1d(axes)[0].scatter([], [], color=colors[o], label=o)
    np.atleast_1d(axes)[0].legend(title="optimizer", loc="center left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
