#!/usr/bin/env bash
# Regenerate the committed low-dimensional results (about 30-40 minutes on a shared 2-core machine).
# Every command is the public CLI; each run directory holds config.json (seed, versions, data),
# metrics.json, history.csv and PNG figures.
set -euo pipefail
cd "$(dirname "$0")/.."
INV="python -m invariance.cli"
R=results/lowdim
# 2D networks (d = 1, neurons (w_i, a_i) in R^2), width 1024, Table 1's small and large rates, 3 seeds
$INV experiment lowdim --dim 2 --optimizer gd --shape genus2 --seeds 0,1,2 --out $R/2d-gd-genus2 --no-progress                # Fig. 3
$INV experiment lowdim --dim 2 --optimizer gd --shape two-genus1 --seeds 0,1,2 --out $R/2d-gd-two-genus1 --no-progress        # Fig. 6
$INV experiment lowdim --dim 2 --optimizer momentum --shape genus2 --seeds 0,1,2 --out $R/2d-momentum-genus2 --no-progress    # Fig. 7
$INV experiment lowdim --dim 2 --optimizer adam --shape two-genus1 --seeds 0,1,2 --out $R/2d-adam-two-genus1 --no-progress    # Fig. 9
# 3D networks (d = 2, neurons (w_i, a_i) in R^3) on the double torus, seed 0
$INV experiment lowdim --dim 3 --optimizer gd --shape genus2 --out $R/3d-gd-genus2 --no-progress                              # Fig. 4
$INV experiment lowdim --dim 3 --optimizer adam --shape genus2 --out $R/3d-adam-genus2 --no-progress                          # Fig. 10
$INV experiment lowdim --dim 3 --optimizer momentum --shape genus2 --out $R/3d-momentum-genus2 --no-progress                  # Fig. 8
# the critical-point sweep (not in the paper): GD and momentum, 2D genus-2, width 256, 400 steps per rate
$INV experiment sweep --dim 2 --optimizer gd --out results/sweep/2d-gd-genus2 --no-progress
$INV experiment sweep --dim 2 --optimizer momentum --out results/sweep/2d-momentum-genus2 --no-progress
# the demo
$INV demo --out results/demo --no-progress
