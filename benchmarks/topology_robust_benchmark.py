"""Time Betti curves and diagram distances against one fixed-scale Betti computation, same run, same cloud.

Reproduce:  python benchmarks/topology_robust_benchmark.py                 (n = 2048)
            python benchmarks/topology_robust_benchmark.py --sizes 1024 2048 --repeat 5

Cloud: n points on S^2 embedded isometrically in R^785 (as benchmarks/betti_benchmark.py);
the second snapshot for the distances is an independent sample of S^2 in another random
3-dimensional subspace of R^785; the diagnostics compare the same neurons before and after a
small random step (each moves by about 0.017, back onto the sphere). Every time is the best of
--repeat wall times of the whole call from the points (diameter, reduction to the span,
persistence, read-out), 2 threads.
The baseline is one fixed-scale computation, ``betti_report(X)`` at diam/4 (the default
"collapse" backend, the fastest measured in betti.md), timed in the same process; each ratio
is the median over the repeats of task time / baseline time, the two run back to back
(robust to the load of a shared machine). A diagram distance needs two diagrams, so it is also compared with two
fixed-scale computations. Writes benchmarks/results/topology_robust.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time
from typing import Any, Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def paired(fn: Callable[[], Any], base: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best time of ``fn`` and the median of ``time(fn) / time(base)`` over runs alternating with ``base``.

    Alternating makes the ratio robust to the load of a shared machine drifting during the run.
    """
    times, ratios, out = [], [], None
    for _ in range(repeat):
        t = time.perf_counter()
        base()
        b = time.perf_counter() - t
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        ratios.append(times[-1] / b)
    return min(times), float(sorted(ratios)[len(ratios) // 2]), out


def measure(n: int, repeat: int) -> list[dict[str, Any]]:
    import numpy as np

    from invariance.topology import betti_curve, betti_report, breakdown_diagnostics, diagram_distance, samplers

    rows: list[dict[str, Any]] = []
    X = samplers.sphere(n, ambient_dim=785, seed=0)
    Y = samplers.sphere(n, ambient_dim=785, seed=1)
    # the same neurons after a step: each moved by about 0.017 (N(0, 0.01^2) per coordinate, back on S^2)
    S = samplers.sphere(n, seed=0)
    T = S + 0.01 * np.random.default_rng(1).standard_normal(S.shape)
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    S, T = samplers.embed(S, 785, seed=7), samplers.embed(T, 785, seed=7)
    def fixed() -> Any:
        return betti_report(X)

    base, rep = best(fixed, repeat)
    rows.append(dict(n=n, task="fixed-scale Betti numbers at diam/4 (baseline)", seconds=base,
                     result=str(rep.betti), ratio=1.0))
    print(rows[-1], flush=True)
    for frac in (0.25, 0.35, 0.5):
        sec, ratio, curve = paired(lambda f=frac: betti_curve(X, max_scale=f, num=201), fixed, repeat)
        band = curve.most_stable()
        rows.append(dict(n=n, task=f"Betti curve, 201 scales in [0, {frac}] diam", seconds=sec,
                         result=f"b(diam/4) = {curve.at(0.25, relative=True)}; most stable: {band}",
                         agrees=curve.at(0.25, relative=True) == rep.betti, ratio=ratio))
        print(rows[-1], flush=True)
    for metric in ("bottleneck", "wasserstein"):
        sec, ratio, d = paired(lambda m=metric: diagram_distance(X, Y, metric=m, max_scale=0.25), fixed, repeat)
        rows.append(dict(n=n, task=f"{metric} distance of two clouds, filtrations to 0.25 diam", seconds=sec,
                         result=f"{d:.4g} (normalised)", ratio=ratio, ratio_two=ratio / 2))
        print(rows[-1], flush=True)
    ca, cb = betti_curve(X, max_scale=0.25), betti_curve(Y, max_scale=0.25)
    for metric in ("bottleneck", "wasserstein"):
        sec, ratio, d = paired(lambda m=metric: diagram_distance(ca.diagram, cb.diagram, metric=m, max_scale=0.25),
                               fixed, repeat)
        rows.append(dict(n=n, task=f"{metric} distance of two given diagrams", seconds=sec,
                         result=f"{d:.4g} (normalised)", ratio=ratio))
        print(rows[-1], flush=True)
    sec, ratio, diag = paired(lambda: breakdown_diagnostics(S, T, significance=False, max_scale=0.25), fixed, 1)
    rows.append(dict(n=n, task="breakdown_diagnostics(significance=False, max_scale=0.25), one small step",
                     seconds=sec, ratio=ratio,
                     result=f"mechanism {diag.mechanism}, fixed {diag.fixed_betti[0]} -> {diag.fixed_betti[1]}, "
                            f"bottleneck {diag.diagram_distance:.3g}"))
    print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2048])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "topology_robust"))
    args = ap.parse_args()
    rows = [r for n in args.sizes for r in measure(n, args.repeat)]

    meta = dict(python=platform.python_version(), machine=platform.machine(), cpus=os.cpu_count(),
                date=time.strftime("%Y-%m-%d %H:%M:%S"),
                command="python benchmarks/topology_robust_benchmark.py " + " ".join(sys.argv[1:]))
    pathlib.Path(args.out + ".json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    lines = [f"# Betti curves and diagram distances vs one fixed-scale computation, S^2 in R^785 "
             f"({meta['date']}, {meta['cpus']} cpus)", "",
             f"Command: `{meta['command']}`", "",
             "seconds: best of the repeats, same process, 2 threads. ratio: median over the repeats of the "
             "task's time / the time of one fixed-scale `betti_report` (diam/4, default backend) run just "
             "before it. Distances of two clouds compute two diagrams, so `vs 2 fixed` compares with two "
             "fixed-scale computations.", "",
             "| n | task | seconds | ratio | vs 2 fixed | result |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        two = f"{r['ratio_two']:.2f}x" if "ratio_two" in r else ""
        lines.append(f"| {r['n']} | {r['task']} | {r['seconds']:.3f} | {r['ratio']:.2f}x | {two} | {r['result']} |")
    pathlib.Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
