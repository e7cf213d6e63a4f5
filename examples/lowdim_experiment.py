"""A low-dimensional experiment (Section 6, Figure 3): neurons (w_i, a_i) of a 2D network on a
genus-2 shape, trained at a small and a large learning rate; topology kept vs broken.

Tiny settings so that it runs in seconds; the full-size version is
``invariance experiment lowdim --dim 2 --optimizer gd`` (width 1024, Table 1's rates).
"""

from invariance.experiments import start_run
from invariance.experiments.lowdim import LowDimConfig, initial_sharpness, run_lowdim

out = "runs/examples/lowdim"  # under the current directory
base = LowDimConfig(input_dim=1, shape="genus2", optimizer="gd", width=96, n_data=500, steps=120, check_every=40)
K = initial_sharpness(base)["K"]  # lambda_max of the loss Hessian at the initial cloud; eta* = 1/K
for label, eta_k in (("small", 0.3), ("large", 3.0)):
    config = base.with_(lr=eta_k / K)
    run = start_run(out, f"{label}-lr", config.as_dict(), seed=config.seed)
    m = run_lowdim(config, run, progress=False)
    run.finish()
    t = m["topology"]
    print(f"{label:5s} eta={m['eta']:.3g}  eta*K={m['eta_K_start']:.2f}  Betti {t['betti_before']} -> "
          f"{t['betti_after']}  distinct neurons {t['distinct_before']} -> {t['distinct_after']}  "
          f"mechanism {t['mechanism']}  diverged {m['diverged']}")
print(f"run directories (config.json, metrics.json, history.csv, neurons.png) in {out}")
