"""The grid on Dask against the same cells run one after another, in the same run.

A grid of 2 settings (GD, Adam) x 2 rates (eta K = 0.5, 4) x 4 seeds of 2D networks
(width 512, 3000 steps, 1000 data points) runs (a) cell after cell in this process with
:func:`invariance.experiments.grid.run_cell` (one torch thread, as a worker has), and
(b) with :func:`invariance.experiments.grid.run_grid` on an embedded ``LocalCluster`` of
``--workers`` processes, cluster start-up and shut-down included. Reported: both wall
times and their ratio, and that both wrote the same cells with the same outcomes.

Reproduce: python benchmarks/grid_benchmark.py   (writes benchmarks/results/grid.{json,md})
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from invariance.experiments.grid import GridConfig, run_cell, run_grid  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "grid"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    cfg = GridConfig(base={"width": args.width, "steps": args.steps, "n_data": 1000, "check_every": 50,
                           "diagnostics": "off", "track_every": 0},
                     settings=[{"optimizer": "gd"}, {"optimizer": "adam"}], eta_K=[0.5, 4.0], seeds=[0, 1, 2, 3])
    cells = cfg.cells()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="grid-benchmark-"))
    try:
        t0 = time.perf_counter()
        seq = [run_cell(c, str(tmp / "sequential")) for c in cells]
        t_seq = time.perf_counter() - t0
        print(f"sequential: {len(cells)} cells in {t_seq:.1f} s")
        t0 = time.perf_counter()
        grid = run_grid(cfg, tmp / "dask", workers=args.workers, progress=False)
        t_dask = time.perf_counter() - t0
        print(f"dask, {args.workers} workers: {len(cells)} cells in {t_dask:.1f} s (start-up included)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    same = [(a["cell"], a["changed"], a["distinct_after"]) for a in seq] == \
        [(b["cell"], b["changed"], b["distinct_after"]) for b in grid["rows"]]
    result = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": "python " + " ".join(sys.argv),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end",
              "cells": len(cells), "config": cfg.as_dict(), "workers": args.workers,
              "sequential_seconds": t_seq, "dask_seconds": t_dask, "speedup": t_seq / t_dask,
              "cell_seconds_mean": sum(r["seconds"] for r in seq) / len(seq), "same_outcomes": same}
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(
        f"# Grid on Dask vs the same cells one after another ({result['date']})\n\n"
        f"Command: `{result['command']}`. Machine: {result['machine']}.\n\n"
        f"{len(cells)} cells (2 settings x 2 rates x 4 seeds; 2D network, width {args.width}, {args.steps} steps, "
        f"1000 data points; {result['cell_seconds_mean']:.1f} s per cell on average).\n\n"
        "| run | wall time (s) |\n| --- | --- |\n"
        f"| cells one after another (this process, 1 torch thread) | {t_seq:.1f} |\n"
        f"| `run_grid` on a LocalCluster of {args.workers} processes (start-up and shut-down included) "
        f"| {t_dask:.1f} |\n\n"
        f"Speed-up: **{t_seq / t_dask:.2f}x** with {args.workers} workers. Same cells and outcomes: {same}.\n")
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
