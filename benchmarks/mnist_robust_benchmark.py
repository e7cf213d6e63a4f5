"""What the robust topology readings cost the MNIST experiment: fixed-scale readings against robust ones.

Reproduce:  python benchmarks/mnist_robust_benchmark.py                         (the full experiment)
            python benchmarks/mnist_robust_benchmark.py --baseline /tmp/base    (and an older checkout)
            python benchmarks/mnist_robust_benchmark.py --quick                 (adam 1e-3 and 1e-5, seed 0)

Each variant is one process, ``python -m invariance.cli experiment mnist --no-progress --out TMP``
(the full default: 4 settings x 3 seeds, 600 steps each, on 2 worker processes), with
``--no-robust`` for the fixed-scale readings; its time is the wall time of that process
(imports, data, training, sharpness, topology, figures). ``--baseline PATH`` adds a checkout of
another commit (``git worktree add PATH <commit>``) run with ``--no-robust``: the time the
experiment took before with fast readings. The variants run one after the other on the same
machine, ``--repeat`` rounds in turn. Writes benchmarks/results/mnist_robust.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_variant(code: pathlib.Path, robust: bool, extra: list[str], timeout: float) -> dict[str, Any]:
    """Wall time of one experiment process on the code at ``code``."""
    env = dict(os.environ, PYTHONPATH=str(code))
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "invariance.cli", "experiment", "mnist", "--no-progress", "--out", out, *extra]
        if not robust:
            cmd.append("--no-robust")
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=str(code), env=env, capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        metrics_path = next(pathlib.Path(out).rglob("metrics.json"), None)
        timing: dict[str, Any] = {}
        if metrics_path is not None:
            timing = json.loads(metrics_path.read_text()).get("timing", {})
    return {"seconds": seconds, "timing": timing}


def commit_of(code: pathlib.Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(code), capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=pathlib.Path, default=None,
                    help="a checkout of an older commit, run with --no-robust")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of all variants")
    ap.add_argument("--quick", action="store_true", help="two Adam runs (1e-3, 1e-5), seed 0")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    extra = ["--optimizer", "adam", "--lr", "1e-3", "1e-5", "--seeds", "0"] if args.quick else []
    variants: list[tuple[str, pathlib.Path, bool]] = []
    if args.baseline is not None:
        variants.append((f"before ({commit_of(args.baseline)}), fixed-scale", args.baseline.resolve(), False))
    here = commit_of(ROOT)
    variants += [(f"this code ({here}), fixed-scale", ROOT, False), (f"this code ({here}), robust", ROOT, True)]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in variants}
    for r in range(args.repeat):
        for name, code, robust in variants:
            res = run_variant(code, robust, extra, args.timeout)
            results[name].append(res)
            print(f"round {r + 1}: {name:<40s} {res['seconds']:8.1f} s", flush=True)
    rows = []
    ref = None
    for name, _, robust in variants:
        secs = [x["seconds"] for x in results[name]]
        mean = sum(secs) / len(secs)
        if args.baseline is not None and ref is None:
            ref = mean
        rows.append({"variant": name, "robust": robust, "seconds": secs, "mean_seconds": mean,
                     "betti_seconds": [x["timing"].get("betti_seconds") for x in results[name]]})
    ref = ref if ref is not None else rows[0]["mean_seconds"]
    for row in rows:
        row["ratio"] = row["mean_seconds"] / ref
    import numpy
    import torch

    record = {"experiment": "mnist " + (" ".join(extra) if extra else "(full default: 4 settings x 3 seeds)"),
              "repeat": args.repeat, "rows": rows, "python": platform.python_version(),
              "numpy": numpy.__version__, "torch": torch.__version__, "machine": platform.machine(),
              "cpus": os.cpu_count()}
    args.out.mkdir(parents=True, exist_ok=True)
    name = "mnist_robust_quick" if args.quick else "mnist_robust"
    (args.out / f"{name}.json").write_text(json.dumps(record, indent=2))
    width = max(len(r["variant"]) for r in rows)
    lines = [f"# MNIST experiment: fixed-scale against robust readings ({record['experiment']})", "",
             f"`python benchmarks/mnist_robust_benchmark.py{' --quick' if args.quick else ''}"
             f"{' --baseline ' + str(args.baseline) if args.baseline else ''} --repeat {args.repeat}`; "
             f"{record['cpus']} CPUs, torch {record['torch']}. Wall time of the whole experiment process; "
             "ratio against the first row.", "",
             f"| {'variant'.ljust(width)} | seconds (each round) | mean s | ratio |",
             f"|{'-' * (width + 2)}|----------------------|--------|-------|"]
    for r in rows:
        each = ", ".join(f"{s:.1f}" for s in r["seconds"])
        lines.append(f"| {r['variant'].ljust(width)} | {each:<20s} | {r['mean_seconds']:6.1f} | {r['ratio']:5.3f} |")
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
