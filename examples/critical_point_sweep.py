"""The critical-point sweep: train from one cloud at eta = c/K for c across 1 (eta* = 1/K, Theorem 1)
and record where neurons first merge or the Betti numbers first change.

Tiny settings so that it runs in seconds; the full-size version is ``invariance experiment sweep``.
Writes its run directory to ``runs/examples/sweep`` under the current directory.
"""

from invariance.experiments import start_run
from invariance.experiments.lowdim import LowDimConfig
from invariance.experiments.sweep import SweepConfig, run_sweep

config = SweepConfig(base=LowDimConfig(width=64, n_data=400, optimizer="gd"), eta_k_min=0.1, eta_k_max=10.0,
                     points=5, steps=80, check_every=20)
run = start_run("runs/examples", "sweep", config.as_dict(), seed=0, exist_ok=True)
metrics = run_sweep(config, run, progress=False)
run.finish()
print(f"K = {metrics['K']['K']:.4g}, eta* = 1/K = {1 / metrics['K']['K']:.3g}")
for row in metrics["rows"]:
    first = "no change" if row["first_change_step"] is None else f"first change at step {row['first_change_step']}"
    print(f"eta*K = {row['eta_K']:6.3g}  eta = {row['eta']:.3g}  {row['outcome']:12s}  {first}")
print("no change below 1/K:", metrics["consistent_with_theorem1"], "| figure:", run.path / "sweep.png")
