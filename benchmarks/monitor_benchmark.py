"""The training monitor's cost, its Lemma 4 lower bound of K against lambda_max, and the torch rules' accuracy.

1. **Rules.** Max deviation, over ``--rule-steps`` steps, between the stateless torch rules
   (:func:`invariance.torch.torch_rule`) and ``torch.optim`` on the same model and data
   (a 3-16-1 sigmoid MLP on teacher-student data, float64), full batch and mini-batch,
   and for eq. (16) as printed.
2. **Overhead.** ms per full-batch SGD step of a 784-1024-1 sigmoid MLP (no output bias,
   float64) on 1024 teacher-student samples (``input_dim=784``), learning rate
   ``0.5 / lambda_max`` at initialisation (below the edge of stability), without the monitor, with
   it at every step, and every 10 steps (medians over ``--steps`` steps after a warm-up).
3. **K_lb vs lambda_max.** At several points of that GD run, Lemma 4's lower bound
   ``K_lb = max ||U_i - U_j|| / ||x_i - x_j||`` read off one step, and ``lambda_max`` of the
   full-batch Hessian (:func:`invariance.sharpness.sharpness`, Lanczos) at the point before it.
4. **Blockwise pass at scale.** :func:`invariance.torch.step_statistics` on ``--n-large``
   neurons on a torus in R^3 moved by a smooth step, in a fresh process: wall time and
   peak resident memory above the baseline (the dense ``n x n`` float64 matrix alone would
   take ``8 n^2`` bytes).

Reproduce: python benchmarks/monitor_benchmark.py   (writes benchmarks/results/monitor.{json,md})
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from invariance.data import teacher_student  # noqa: E402
from invariance.sharpness import sharpness  # noqa: E402
from invariance.torch import TrainingMonitor, mlp_spec, step_statistics, torch_rule  # noqa: E402

MSE = torch.nn.functional.mse_loss


# -- 1. rules ----------------------------------------------------------------------------
def rule_deviations(steps: int) -> list[dict]:
    cases = {
        "sgd": ({}, lambda ps, lr: torch.optim.SGD(ps, lr=lr)),
        "momentum": ({"momentum": 0.9}, lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9)),
        "nesterov": ({"momentum": 0.9}, lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True)),
        "adam": ({}, lambda ps, lr: torch.optim.Adam(ps, lr=lr)),
        "adam-paper": ({}, lambda ps, lr: torch.optim.Adam(ps, lr=lr)),
    }
    data = teacher_student(n=300, input_dim=3, seed=0)
    X, y = data.tensors()
    lr = 0.05
    rows = []
    for batch_size in (None, 32):
        for name, (hyper, make) in cases.items():
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Sigmoid(),
                                        torch.nn.Linear(16, 1, bias=False)).double()
            ref = copy.deepcopy(model)
            rule = torch_rule(model, optimizer=name, lr=lr, loss_fn=MSE, inputs=X, targets=y, batch_size=batch_size,
                              seed=0, **hyper)
            opt = make(ref.parameters(), lr)
            spec = mlp_spec(ref)
            Z = rule.initial()
            t0 = 1 if name == "adam-paper" else 0  # eq. (16) is 0/0 at t = 0
            worst, scale = 0.0, 0.0
            start = time.perf_counter()
            for t in range(steps):
                Z = rule.step(Z, lr, t0 + t)
                idx = rule.neuron_loss.batch_indices(t0 + t)
                xb, yb = (X, y) if idx is None else (X[idx], y[idx])
                opt.zero_grad()
                MSE(ref(xb), yb).backward()
                opt.step()
                r = spec.neurons(ref).points
                worst = max(worst, float(np.max(np.abs(rule.parameters(Z).points - r))))
                scale = max(scale, float(np.max(np.abs(r))))
            rows.append({"optimizer": name, "batch": "full" if batch_size is None else str(batch_size),
                         "steps": steps, "max_abs_deviation": worst, "max_abs_parameter": scale,
                         "relative": worst / scale, "seconds": time.perf_counter() - start})
            print(f"rules: {name:10s} batch={rows[-1]['batch']:4s} deviation {worst:.2e} (rel {worst / scale:.1e})")
    return rows


# -- 2./3. overhead and K_lb vs lambda_max --------------------------------------------------
def mlp_problem(width: int, n_train: int, input_dim: int, seed: int = 0) -> tuple:
    data = teacher_student(n=int(np.ceil(n_train / 0.7)) + 1, input_dim=input_dim, seed=seed)
    X, y = data.tensors()
    X, y = X[:n_train], y[:n_train]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(input_dim, width), torch.nn.Sigmoid(),
                                torch.nn.Linear(width, 1, bias=False)).double()
    return model, X, y, data.info


def timed_steps(model, X, y, lr: float, steps: int, warmup: int, monitor_every: int | None,
                background: bool = False) -> tuple[list[float], list]:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    mon = TrainingMonitor(model, opt, every=monitor_every, warn=False, background=background) \
        if monitor_every else None
    times = []
    for k in range(warmup + steps):
        start = time.perf_counter()
        opt.zero_grad()
        MSE(model(X), y).backward()
        opt.step()
        if k >= warmup:
            times.append(time.perf_counter() - start)
    if mon:  # the last background pass is part of the run's cost: spread over the steps
        start = time.perf_counter()
        mon.wait()
        times[-1] += time.perf_counter() - start
    records = list(mon.records) if mon else []
    if mon:
        mon.close()
    return times, records


def learning_rate(args: argparse.Namespace) -> float:
    """``--lr``, or ``0.5 / lambda_max`` at initialisation (stable GD: eta lambda_max = 0.5 < 2)."""
    if args.lr is not None:
        return float(args.lr)
    model, X, y, _ = mlp_problem(args.width, args.n_train, args.input_dim)
    lam = sharpness(lambda: MSE(model(X), y), list(model.parameters()), tol=1e-4, seed=0).eigenvalue
    args.lambda_max_init = lam
    print(f"lr = 0.5 / lambda_max(init) = 0.5 / {lam:.4g}")
    return 0.5 / lam


def overhead(args: argparse.Namespace) -> dict:
    model, X, y, info = mlp_problem(args.width, args.n_train, args.input_dim)
    out: dict = {"model": f"{args.input_dim}-{args.width}-1 sigmoid MLP, no output bias, float64",
                 "data": info, "n_train": int(X.shape[0]), "lr": args.lr, "steps": args.steps}
    runs = {}
    from invariance.torch import monitor as monitor_module

    cache = monitor_module.CACHE_BYTES
    for label, every in (("without monitor", None), ("monitor every step", 1),
                         ("monitor every step, no reuse of d^2", 1), ("monitor every step, in the background", 1),
                         ("monitor every 10 steps", 10), ("without monitor (again)", None)):
        m = copy.deepcopy(model)
        monitor_module.CACHE_BYTES = 0 if "no reuse" in label else cache
        times, records = timed_steps(m, X, y, args.lr, args.steps, args.warmup, every, "background" in label)
        monitor_module.CACHE_BYTES = cache
        runs[label] = {"median_ms": 1e3 * statistics.median(times), "mean_ms": 1e3 * statistics.fmean(times),
                       "min_ms": 1e3 * min(times), "records": len(records),
                       "monitor_pass_ms": (1e3 * statistics.median([r.seconds for r in records]) if records else None)}
        print(f"overhead: {label:26s} median {runs[label]['median_ms']:.1f} ms/step")
    base = statistics.fmean([runs["without monitor"]["median_ms"], runs["without monitor (again)"]["median_ms"]])
    out["runs"] = runs
    # the anchor of the pass's cost: one float64 GEMM of the layer's size (n x D) @ (D x n)
    neurons = torch.cat([model[0].weight, model[0].bias[:, None], model[2].weight.T], dim=1).detach()
    gemm = []
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(neurons, neurons.T)
        gemm.append(time.perf_counter() - t0)
    out["gemm_ms"] = 1e3 * statistics.median(gemm)
    out["gemm_shape"] = f"({neurons.shape[0]} x {neurons.shape[1]}) @ ({neurons.shape[1]} x {neurons.shape[0]})"
    out["ratio_every_step_no_reuse"] = runs["monitor every step, no reuse of d^2"]["median_ms"] / base
    out["ratio_every_step_background"] = runs["monitor every step, in the background"]["mean_ms"] / base
    out["baseline_ms"] = base
    out["ratio_every_step"] = runs["monitor every step"]["median_ms"] / base
    out["ratio_every_10"] = runs["monitor every 10 steps"]["mean_ms"] / base
    return out


def loss_value(model, X, y) -> float:
    with torch.no_grad():
        return float(MSE(model(X), y))


def klb_vs_lambda(args: argparse.Namespace) -> list[dict]:
    model, X, y, _ = mlp_problem(args.width, args.n_train, args.input_dim)
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=args.lr)
    rows = []
    done = 0
    for at in args.k_points:
        while done < at:
            opt.zero_grad()
            MSE(model(X), y).backward()
            opt.step()
            done += 1
        res = sharpness(lambda: MSE(model(X), y), params, tol=1e-4, seed=0)
        with TrainingMonitor(model, opt, warn=False) as mon:
            opt.zero_grad()
            MSE(model(X), y).backward()
            opt.step()
            done += 1
        rec = mon.records[0]
        # the top eigenvector as neuron rows (W1[i], b1[i], W2[:, i]): its share in the symmetric
        # subspace {all neurons equal}, which differences x_i - x_j (Lemma 4) cannot see
        v = torch.as_tensor(res.eigenvector)
        sizes = [p.numel() for p in params]
        w1, b1, w2 = torch.split(v, sizes)
        V = torch.cat([w1.view(args.width, -1), b1.view(args.width, 1), w2.view(-1, args.width).T], dim=1)
        symmetric = float(args.width * (V.mean(dim=0) ** 2).sum() / (V ** 2).sum())
        rows.append({"gd_step": at, "lambda_max": res.eigenvalue, "lanczos_residual": res.residual,
                     "eigenvector_symmetric_share": symmetric,
                     "K_lb": rec.K_lower_bound, "K_lb_over_lambda_max": rec.K_lower_bound / res.eigenvalue,
                     "eta_K_lb": rec.eta_K, "eta_lambda_max": args.lr * res.eigenvalue, "K_pair": rec.K_pair,
                     "min_ratio": rec.min_ratio, "max_ratio": rec.max_ratio, "K_lemma2": rec.K_lemma2,
                     "loss": loss_value(model, X, y)})
        print(f"K: step {at:4d}: K_lb {rec.K_lower_bound:.4g}, lambda_max {res.eigenvalue:.4g}, "
              f"ratio {rec.K_lower_bound / res.eigenvalue:.3g}, eigenvector symmetric share {symmetric:.3f}")
    return rows


# -- 4. the blockwise pass at scale (child process) -----------------------------------------
def torus_cloud(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    u, v = rng.uniform(0, 2 * np.pi, size=(2, n))
    R, r = 2.0, 0.7
    X = np.stack([(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u), r * np.sin(v)], axis=1)
    A = rng.normal(size=(3, 3)) / 3
    eta = 0.05
    X1 = X + eta * (-np.tanh(X @ A) + 0.2 * (X - X.mean(axis=0)))
    return X, X1, eta


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(n: int, device: str) -> None:
    X, X1, eta = torus_cloud(n)
    x, x1 = torch.as_tensor(X, device=device), torch.as_tensor(X1, device=device)
    step_statistics(x[:256], x1[:256], eta)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = rss_mb()
    peak = [base]
    done = threading.Event()

    def poll() -> None:  # resident memory sampled every 2 ms during the pass
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.002)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    start = time.perf_counter()
    rec = step_statistics(x, x1, eta)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    gpu_peak = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
    print(json.dumps({"n": n, "dim": 3, "device": device, "seconds": seconds,
                      "peak_rss_above_baseline_mb": peak[0] - base, "rss_baseline_mb": base,
                      "gpu_peak_allocated_mb": gpu_peak,
                      "dense_matrix_mb": 8 * n * n / 2**20, "pairs": rec.pairs, "K_lb": rec.K_lower_bound,
                      "min_ratio": rec.min_ratio, "max_ratio": rec.max_ratio, "merged_pairs": rec.merged_pairs,
                      "n_distinct": rec.n_distinct}))


def large(args: argparse.Namespace) -> list[dict]:
    rows = []
    for n in args.n_scale:
        cmd = [sys.executable, __file__, "--child", str(n), "--device", args.device, "--threads", str(args.threads)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ})
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"blockwise: n={n}: {r['seconds']:.1f} s, peak +{r['peak_rss_above_baseline_mb']:.0f} MB "
              f"(dense matrix: {r['dense_matrix_mb']:.0f} MB)")
    return rows


def markdown(result: dict) -> str:
    lines = [f"# Training monitor and torch rules ({result['date']})", "",
             f"Command: `{result['command']}`. Machine: {result['machine']}.", ""]
    lines += ["## Stateless torch rules vs torch.optim (3-16-1 sigmoid MLP, teacher-student, float64)", "",
              "| optimizer | batch | steps | max abs deviation | relative |", "| --- | --- | --- | --- | --- |"]
    for r in result["rules"]:
        lines.append(f"| {r['optimizer']} | {r['batch']} | {r['steps']} | {r['max_abs_deviation']:.2e} | "
                     f"{r['relative']:.1e} |")
    lines += ["", "`adam-paper` is eq. (16) as printed, run from t = 1 (it is 0/0 at t = 0): not round-off, a "
              "different (delayed-gradient) trajectory. Re-indexed it is `adam` (see `invariance/torch/rules.py`).", ""]
    o = result["overhead"]
    lines += [f"## Monitor overhead: {o['model']}, full batch of {o['n_train']}, SGD lr {o['lr']:.4g} "
              "(0.5 / lambda_max at init)", "",
              "| run | median ms/step | mean ms/step | monitor pass (median ms) |", "| --- | --- | --- | --- |"]
    for label, r in o["runs"].items():
        mp = "" if r["monitor_pass_ms"] is None else f"{r['monitor_pass_ms']:.1f}"
        lines.append(f"| {label} | {r['median_ms']:.1f} | {r['mean_ms']:.1f} | {mp} |")
    lines += ["", f"Ratio (monitor every step / without): **{o['ratio_every_step']:.2f}** "
              f"({o['ratio_every_step_no_reuse']:.2f} without reusing the previous step's distances); "
              f"every 10 steps (mean): **{o['ratio_every_10']:.2f}**; every step with the pass on a worker thread "
              f"(`background=True`; mean, the last pass waited for): **{o['ratio_every_step_background']:.2f}**.", "",
              f"The anchor: one float64 GEMM {o['gemm_shape']} (the Gram matrix of the neurons) takes "
              f"{o['gemm_ms']:.1f} ms here, so the training step is {o['baseline_ms'] / o['gemm_ms']:.1f} such GEMMs "
              "and an exact all-pairs pass, which needs two of them per step at best (the Gram matrices of X' and of "
              "X' - X; X's is the previous step's), cannot cost under about "
              f"{2 * 5 / 8 * o['gemm_ms'] / o['baseline_ms']:.0%} of a step on this machine even for the upper "
              "triangle alone (5/8 of the products in 256-row tiles). Recording every k-th step divides it by k.", ""]
    lines += ["## Lemma 4's K_lb (read off one GD step) vs lambda_max of the Hessian (same model and data)", "",
              "| GD step | lambda_max | K_lb | K_lb / lambda_max | eta K_lb | eta lambda_max | min ratio | max ratio "
              "| top eigenvector's share in {all neurons equal} |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["K"]:
        lines.append(f"| {r['gd_step']} | {r['lambda_max']:.4g} | {r['K_lb']:.4g} | {r['K_lb_over_lambda_max']:.2g} | "
                     f"{r['eta_K_lb']:.3g} | {r['eta_lambda_max']:.3g} | {r['min_ratio']:.6f} | "
                     f"{r['max_ratio']:.6f} | {r['eigenvector_symmetric_share']:.3f} |")
    lines += ["", "K_lb is a lower bound of any valid K (Lemma 4) that costs no extra backward pass; "
              "lambda_max (Lanczos, 10-20 Hessian-vector products) is the local K of GD (Sec. 4.1, 5.1). "
              "K_lb <= lambda_max holds, by a wide margin: the top eigenvector lies almost entirely in the "
              "permutation-symmetric subspace (every neuron moving alike: the outgoing weights together), "
              "which cancels in the differences x_i - x_j that Lemmas 2 and 4 are about.", ""]
    lines += ["## Blockwise pass at scale: neurons on a torus in R^3", "",
              "| n | device | seconds | peak memory above baseline (MB) | dense n x n float64 (MB) | K_lb "
              "| merged pairs |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["large"]:
        mem = r["peak_rss_above_baseline_mb"] if r["gpu_peak_allocated_mb"] is None else r["gpu_peak_allocated_mb"]
        lines.append(f"| {r['n']} | {r['device']} | {r['seconds']:.1f} | {mem:.0f} | {r['dense_matrix_mb']:.0f} | "
                     f"{r['K_lb']:.4g} | {r['merged_pairs']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on a shared 2-core machine, 2 threads stall on each other)")
    ap.add_argument("--rule-steps", type=int, default=60)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--input-dim", type=int, default=784)
    ap.add_argument("--n-train", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=None, help="default: 0.5 / lambda_max at initialisation")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--k-points", type=int, nargs="+", default=[0, 50, 200])
    ap.add_argument("--n-scale", type=int, nargs="+", default=[4096, 16384, 65536])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "monitor"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.child is not None:
        child(args.child, args.device)
        return
    result = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": "python " + " ".join(sys.argv),
              "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
                         f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} at start",
              "args": vars(args)}
    result["rules"] = rule_deviations(args.rule_steps)
    args.lr = learning_rate(args)
    result["lr"] = args.lr
    result["overhead"] = overhead(args)
    result["K"] = klb_vs_lambda(args)
    result["large"] = large(args)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
