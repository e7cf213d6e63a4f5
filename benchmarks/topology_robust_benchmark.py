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

from invariance.topology import clear_geometry_memo  # noqa: E402


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        clear_geometry_memo()  # from scratch: no diameter or Gram blocks kept from the last call
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
        clear_geometry_memo()
        t = time.perf_counter()
        base()
        b = time.perf_counter() - t
        clear_geometry_memo()
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


GIOTTO_CHILD = r"""
import json, sys, time
import numpy as np
from gph import ripser_parallel
X = np.load({path!r})
t = time.perf_counter()
dgms = ripser_parallel(X, maxdim=2, thresh={top!r}, collapse_edges={collapse!r}, n_threads=2)["dgms"]
print(json.dumps(dict(seconds=time.perf_counter() - t, bars=[np.asarray(d).tolist() for d in dgms])))
"""


def giotto_anchor(X: Any, top: float, collapse: bool, timeout: float) -> tuple[float | None, Any]:
    """giotto-ph's ``ripser_parallel`` on the points up to ``top`` (2 threads), in a subprocess with a
    timeout (its edge collapse can run for minutes): ``(seconds or None, diagrams or None)``."""
    import subprocess
    import tempfile

    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = str(pathlib.Path(tmp) / "X.npy")
        np.save(path, X)
        try:
            done = subprocess.run([sys.executable, "-c", GIOTTO_CHILD.format(path=path, top=top, collapse=collapse)],
                                  capture_output=True, text=True, timeout=timeout, check=True)
        except subprocess.TimeoutExpired:
            return None, None
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["seconds"], [np.asarray(b, dtype=float).reshape(-1, 2) for b in out["bars"]]


def measure_targets(repeat: int, timeout: float) -> list[dict[str, Any]]:
    """The targets of issue 16 beside their anchors: an H_2 Betti curve of dense 1024-point clouds in
    R^10 up to 0.3 diam (giotto-ph on the points, with and without its edge collapse), and
    significant features of 1000 neurons in R^785."""
    import numpy as np

    from invariance.topology import betti_curve, diameter, samplers, significant_features
    from invariance.topology.curves import _counts
    from invariance.topology.persistence import PersistenceDiagram

    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(0)
    clouds = {
        "anisotropic Gaussian in R^10 (std 1 to 0.1, geometric)": rng.standard_normal((1024, 10))
        * np.geomspace(1.0, 0.1, 10),
        "4-dim Gaussian + 0.05 noise in R^10": np.hstack([rng.standard_normal((1024, 4)),
                                                          0.05 * rng.standard_normal((1024, 6))]),
        "isotropic Gaussian in R^10": rng.standard_normal((1024, 10)),
    }
    for name, X in clouds.items():
        top = 0.3 * diameter(X)
        sec, curve = best(lambda X=X: betti_curve(X, 2, max_scale=0.3, num=201), repeat)
        row: dict[str, Any] = dict(n=1024, task=f"H_2 Betti curve to 0.3 diam, {name}", seconds=sec,
                                   result=f"most stable: {curve.most_stable()}")
        for collapse in (False, True):
            g_sec, bars = giotto_anchor(X, top, collapse, timeout)
            key = "giotto_collapse" if collapse else "giotto"
            row[key + "_seconds"] = g_sec
            if bars is not None:
                ref = _counts(PersistenceDiagram(bars=tuple(bars), diameter=curve.diameter), curve.scales)
                row[key + "_agrees"] = bool(np.array_equal(ref, curve.betti))
        rows.append(row)
        print(row, flush=True)
    for name, X in {"S^2 in R^785": samplers.sphere(1000, ambient_dim=785, seed=0),
                    "Gaussian noise in R^785": rng.standard_normal((1000, 785))}.items():
        sec, sig = best(lambda X=X: significant_features(X, max_dim=2, seed=0), 1)
        rows.append(dict(n=1000, task=f"significant features H_0..H_2 (30 subsamples of 500), {name}", seconds=sec,
                         result=f"betti {sig.betti}, threshold {sig.threshold / sig.diameter:.3f} diam"))
        print(rows[-1], flush=True)
    return rows


def _anchor_cell(row: dict[str, Any], key: str, timeout: float) -> str:
    if key + "_seconds" not in row:
        return ""
    g = row[key + "_seconds"]
    if g is None:
        return f"> {timeout:.0f} s (stopped)"
    agrees = row.get(key + "_agrees")
    return f"{g:.2f} s ({g / row['seconds']:.1f}x ours){'' if agrees else ', curves DIFFER'}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2048])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--targets", action=argparse.BooleanOptionalAction, default=True,
                    help="also time the issue-16 targets (R^10 Betti curves, significance of 1000 neurons)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds before a giotto-ph anchor is stopped")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "topology_robust"))
    args = ap.parse_args()
    rows = [r for n in args.sizes for r in measure(n, args.repeat)]
    targets = measure_targets(args.repeat, args.timeout) if args.targets else []

    meta = dict(python=platform.python_version(), machine=platform.machine(), cpus=os.cpu_count(),
                date=time.strftime("%Y-%m-%d %H:%M:%S"),
                command="python benchmarks/topology_robust_benchmark.py " + " ".join(sys.argv[1:]))
    pathlib.Path(args.out + ".json").write_text(json.dumps(dict(meta=meta, rows=rows, targets=targets), indent=1))
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
    if targets:
        lines += ["", "## Dense clouds and significance (issue 16)", "",
                  "Ours: `betti_curve(X, 2, max_scale=0.3, num=201)` (default backend: GUDHI's filtered edge "
                  "collapse, then giotto-ph) and `significant_features(X, max_dim=2)` (defaults: 30 subsamples "
                  "of n/2, H_2 up to 0.75 diam), best of the repeats. Anchors: giotto-ph's `ripser_parallel` on "
                  "the points up to 0.3 diam, 2 threads, with and without `collapse_edges`, in a subprocess "
                  f"stopped after {args.timeout:.0f} s; `(k x ours)` is its time over ours, and the Betti "
                  "curve read from its diagram is compared with ours on all 201 scales.", "",
                  "| n | task | seconds | giotto-ph, no collapse | giotto-ph, collapse_edges | result |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for r in targets:
            lines.append(f"| {r['n']} | {r['task']} | {r['seconds']:.2f} | {_anchor_cell(r, 'giotto', args.timeout)} | "
                         f"{_anchor_cell(r, 'giotto_collapse', args.timeout)} | {r['result']} |")
    pathlib.Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
