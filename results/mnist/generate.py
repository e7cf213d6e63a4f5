"""Regenerate the committed MNIST results (see README.md here): one run directory of run_mnist.

    # the committed run (about 4 minutes on 2 cores):
    python results/mnist/generate.py --out runs --steps 600 --seeds 3 --betti-every 50 \\
        --sharpness-every 150 --threads 1 --workers 2 --no-curve
    # longer, on a GPU machine (not run here):
    python results/mnist/generate.py --out runs --device cuda --workers 8 --threads 1 \\
        --steps 2000 --seeds 10 --betti-every 100 --sharpness-every 200 --no-curve

Each run writes config.json (configuration, data, versions), metrics.json, mnist_records.csv,
mnist_sharpness.csv and the PNG figures into <out>/<name>.
"""

from __future__ import annotations

import argparse

from invariance.experiments.mnist import MnistConfig, run_mnist
from invariance.experiments.records import start_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs")
    parser.add_argument("--name", default="mnist")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--betti-every", type=int, default=50)
    parser.add_argument("--sharpness-every", type=int, default=150)
    parser.add_argument("--sharpness-optimizers", default="gd,adam")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scale-fractions", default="0.15,0.2,0.25,0.3")
    parser.add_argument("--no-curve", action="store_true", help="(the default) no Betti curve / breakdown diagnostics")
    parser.add_argument("--robust", action="store_true",
                        help="also the Betti curve and breakdown diagnostics (giotto-ph's collapse can run for many "
                             "minutes on a spread cloud)")
    args = parser.parse_args()
    config = MnistConfig(hidden=args.hidden, steps=args.steps, seeds=tuple(range(args.seeds)),
                         betti_every=args.betti_every, sharpness_every=args.sharpness_every,
                         sharpness_optimizers=tuple(args.sharpness_optimizers.split(",")),
                         device=args.device, workers=args.workers, threads=args.threads,
                         scale_fractions=tuple(float(f) for f in args.scale_fractions.split(",") if f),
                         robust_topology=args.robust and not args.no_curve)
    run = start_run(args.out, args.name, config.as_dict(), seed=0)
    metrics = run_mnist(config, run, progress=True)
    run.finish()
    for claim in metrics["claims"]:
        print(("AGREES   " if claim["agrees"] else "DISAGREES"), claim["claim"])
    print("wrote", run.path)


if __name__ == "__main__":
    main()
