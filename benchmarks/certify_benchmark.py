"""Time of :func:`invariance.torch.certify` per optimizer on the default problem, and the cold CLI.

1. **Per optimizer.** Every ``torch.optim`` optimizer and every pattern of the test zoo
   (``property_tests/_optimizer_zoo.py``) certified on the default ``17 -> 256 -> 1``
   problem (float64 and float32, 3 permutations, 2 warm-up + 5 compared steps): the
   verdict and the wall time of ``--repeats`` runs (median, max), one torch thread.
2. **Cold CLI.** ``invariance certify torch.optim.Adam`` in a fresh process (interpreter
   start, ``import torch`` and the certificate), median and max of ``--cli-repeats`` runs.

The anchor: the previous certifier ran the 2-8-1 default problem with one comparison per
permutation and a table of known low-precision classes; its cold CLI time for Adam is the
issue's budget, 10 s on 2 cores.

Reproduce: python benchmarks/certify_benchmark.py   (writes benchmarks/results/certify.{json,md})
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "property_tests"))

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from invariance.tables import format_table  # noqa: E402
from invariance.torch import certify  # noqa: E402

TORCH = [("SGD", {"lr": 0.01, "momentum": 0.9}), ("Adam", {"lr": 1e-3}), ("AdamW", {"lr": 1e-3}),
         ("Adamax", {}), ("NAdam", {}), ("RAdam", {}), ("RMSprop", {"lr": 1e-3}), ("Adagrad", {}),
         ("Adadelta", {}), ("ASGD", {}), ("Rprop", {}), ("LBFGS", {}), ("Muon", {}), ("Adafactor", {})]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cli-repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from _optimizer_zoo import ZOO

    cases = [(f"torch.optim.{n}", getattr(torch.optim, n), kw, {}, None) for n, kw in TORCH]
    cases += [(f"zoo: {e.name}", e.factory, e.kwargs, e.options, e.verdict) for e in ZOO]
    rows, records = [], []
    for label, factory, kw, options, expected in tqdm(cases, desc="certify"):
        times, verdict = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            cert = certify(factory, kwargs=kw, **options)
            times.append(time.perf_counter() - t0)
            verdict = cert.verdict
        right = verdict == (expected or "equivariant")
        records.append({"optimizer": label, "verdict": verdict, "expected": expected or "equivariant",
                        "right": right, "median_s": statistics.median(times), "max_s": max(times)})
        rows.append([label, verdict, "yes" if right else "NO", f"{statistics.median(times):.2f}", f"{max(times):.2f}"])
    cli = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(args.cli_repeats):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "invariance.cli", "certify", "torch.optim.Adam"], env=env,
                              capture_output=True, text=True, cwd=ROOT)
        cli.append(time.perf_counter() - t0)
        assert proc.returncode == 0, proc.stderr
    med = [r["median_s"] for r in records]
    summary = {"optimizers": len(records), "right": sum(r["right"] for r in records),
               "median_of_medians_s": statistics.median(med), "max_s": max(r["max_s"] for r in records),
               "cli_adam_cold_median_s": statistics.median(cli), "cli_adam_cold_max_s": max(cli),
               "cli_budget_s": 10.0}
    meta = {"torch": torch.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
            "threads": 1, "repeats": args.repeats, "command": "python benchmarks/certify_benchmark.py"}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "certify.json").write_text(json.dumps({"meta": meta, "summary": summary, "records": records}, indent=2))
    table = format_table(["optimizer", "verdict", "right", "median s", "max s"], rows)
    text = (f"# certify on the default problem\n\n`{meta['command']}` (torch {meta['torch']}, {meta['cpus']} cores, "
            f"one torch thread, {args.repeats} repeats)\n\n"
            f"{summary['right']} of {summary['optimizers']} verdicts right; time per optimizer: median "
            f"{summary['median_of_medians_s']:.2f} s, max {summary['max_s']:.2f} s.\n"
            f"Cold `invariance certify torch.optim.Adam`: median {summary['cli_adam_cold_median_s']:.2f} s, max "
            f"{summary['cli_adam_cold_max_s']:.2f} s (budget 10 s: ratio "
            f"{summary['cli_adam_cold_median_s'] / 10:.2f}).\n\n```\n{table}\n```\n")
    (out / "certify.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
