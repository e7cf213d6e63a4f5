"""Time Betti numbers of n points on S^2 in R^785 at scale diam/4, every backend, one run.

Reproduce:  python benchmarks/betti_benchmark.py            (n = 1024, 2048, 4096, 8192, 16384)
            python benchmarks/betti_benchmark.py --sizes 1024 2048 --reference-max 2048

Writes benchmarks/results/betti.json and betti.md. Each cell is the best of --repeat runs
(wall time of the whole call, from the points: diameter, graph and homology). The paper's
method (gudhi RipsComplex, max_dimension 3) runs only for n <= --reference-max (it needs
3.3 GB at n = 2048 and more than 20 GB at 4096). "giotto-ph (points)" is the external
baseline as a user would call it: ripser_parallel on the points with thresh = r,
collapse_edges=True, 2 threads (r given to it, its diameter not timed). Peak memory is the
resident-set growth measured in a fresh subprocess per (backend, n).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import subprocess
import sys
import time

from tqdm import tqdm

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from invariance.topology import betti_report, clear_geometry_memo, samplers, diameter
n, backend, repeat = {n}, {backend!r}, {repeat}
X = samplers.sphere(n, ambient_dim=785, seed=0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(repeat):
    clear_geometry_memo()  # every repeat from scratch: no diameter or Gram blocks of the last one
    t = time.perf_counter()
    if backend == "giotto-ph (points)":
        from gph import ripser_parallel
        r = diameter(X) / 4
        t = time.perf_counter()
        d = ripser_parallel(X, maxdim=2, thresh=r, collapse_edges=True, n_threads=2)["dgms"]
        betti = [int(np.sum(np.isinf(b[:, 1]))) for b in d]
    else:
        betti = list(betti_report(X, max_dim=2, backend=backend).betti)
    times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(n=n, backend=backend, seconds=min(times), times=times, betti=betti,
                      peak_rss_mb=peak / 1024, rss_growth_mb=(peak - base) / 1024)))
"""


def run(n: int, backend: str, repeat: int, timeout: float) -> dict:
    code = CHILD.format(root=str(ROOT), n=n, backend=backend, repeat=repeat)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(n=n, backend=backend, error=f"timeout > {timeout:.0f} s")
    if out.returncode:
        return dict(n=n, backend=backend, error=(out.stderr.strip().splitlines() or ["killed"])[-1][:200])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    ap.add_argument("--reference-max", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--all-backends-max", type=int, default=4096,
                    help="above this n only the default backend and giotto-ph (points) run")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "betti"))
    args = ap.parse_args()
    backends = ["collapse", "gudhi-collapse", "giotto-ph", "giotto-ph (points)", "gudhi"]
    rows = []
    jobs = [(n, b) for n in args.sizes for b in backends
            if (b != "gudhi" or n <= args.reference_max)
            and (n <= args.all_backends_max or b in ("collapse", "giotto-ph (points)"))]
    for n, b in tqdm(jobs, desc="betti benchmark"):
        rep = 1 if b == "gudhi" else args.repeat
        rows.append(run(n, b, rep, args.timeout))
        tqdm.write(json.dumps({k: v for k, v in rows[-1].items() if k != "times"}))
    meta = dict(python=platform.python_version(), machine=platform.machine(), cpus=__import__("os").cpu_count(),
                date=time.strftime("%Y-%m-%d %H:%M:%S"), command="python benchmarks/betti_benchmark.py "
                + " ".join(sys.argv[1:]))
    pathlib.Path(args.out + ".json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    lines = [f"# Betti numbers of n points on S^2 in R^785, scale diam/4 ({meta['date']}, {meta['cpus']} cpus)", "",
             f"Command: `{meta['command']}`", "",
             "| n | backend | seconds (best) | Betti | agrees with gudhi | rss growth MB |"
             " speed-up vs giotto-ph (points) | vs paper's gudhi |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in args.sizes:
        by = {r["backend"]: r for r in rows if r["n"] == n}
        ref = by.get("gudhi", {})
        for b in backends:
            r = by.get(b)
            if r is None:
                continue
            if "error" in r:
                lines.append(f"| {n} | {b} | {r['error']} | | | | | |")
                continue
            agree = "n/a" if "betti" not in ref else str(r["betti"] == ref["betti"])
            g = by.get("giotto-ph (points)", {}).get("seconds")
            ratio_g = f"{g / r['seconds']:.2f}x" if g else ""
            ratio_p = f"{ref['seconds'] / r['seconds']:.1f}x" if "seconds" in ref else ""
            lines.append(f"| {n} | {b} | {r['seconds']:.3f} | {tuple(r['betti'])} | {agree} | "
                         f"{r['rss_growth_mb']:.0f} | {ratio_g} | {ratio_p} |")
    pathlib.Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
