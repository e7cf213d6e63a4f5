"""``invariance tour``: the paper's hypotheses and statements, checked on built-in rules.

``invariance tour`` checks the paper's hypotheses and statements on built-in rules and
prints what it measured: which rules satisfy P1, P2-K and P3, and how Lemmas 2-3 and
Theorems 1-2 behave below, at and above the topological critical point ``eta* = 1/K``,
on a finite cloud of neurons on a circle and on a lazily infinite one.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Any

import numpy as np

from .. import __version__
from ..collections import CircleBase, FiniteCollection, LazyCollection
from ..permutations import FinitaryPermutation
from ..potentials import GaussianPair, InteractionPotential, LogCosh
from ..properties import continuity_constant, equivariance_error, smoothness_violation
from ..rules import GradientDescent, IndexBiasedRule, UpdateRule, centering_rule
from ..statements import bi_lipschitz_ratios, bijectivity, homeomorphism, measure_preservation, well_definedness
from ..tables import format_table
from .arguments import UsageError, int_at_least
from .arguments import seed as seed_type

__all__ = ["tour", "add_parser", "run"]

HELP = "check the paper's statements on built-in rules (a few seconds)"


def tour(n: int = 48, seed: int = 0, out: Any = None) -> dict[str, Any]:
    """Run the tour of the core checkers and return what it measured (also printed to ``out``, default stdout).

    Args:
        n: number of neurons in the finite cloud.
        seed: seed of the cloud and of every sampled check.
        out: a text stream, or ``None`` for ``sys.stdout``.

    Returns:
        A JSON-serialisable dict: config, versions, and every measured number.
    """
    stream = out if out is not None else sys.stdout

    def say(text: str = "") -> None:
        print(text, file=stream)

    rng = np.random.default_rng(seed)
    ring = CircleBase(radius=1.0)(np.arange(n)) + 0.05 * rng.normal(size=(n, 2))
    X = FiniteCollection(ring)
    smooth = GradientDescent(InteractionPotential(site=LogCosh(1.0), pair=GaussianPair(c=1.0, s=0.5)), name="GD")
    rules: list[tuple[str, UpdateRule, float]] = [
        ("GD on logcosh + Gaussian pairs", smooth, smooth.smoothness_constant(n)),
        ("the same, index 0 pushed", IndexBiasedRule(smooth, index=0), smooth.smoothness_constant(n)),
        ("centering U_i = -K(x_i - mean)", centering_rule(2.0), 2.0),
    ]
    result: dict[str, Any] = {
        "config": {"n": n, "seed": seed, "cloud": "unit circle + N(0, 0.05^2) noise"},
        "versions": {"invariance": __version__, "numpy": np.__version__, "python": platform.python_version()},
    }

    say(f"invariance {__version__} tour: {n} neurons on a noisy circle in R^2 (seed {seed})")
    say()
    say("1. Hypotheses of the paper (Section 3), measured at X:")
    rows, hyp = [], []
    for label, rule, K in rules:
        p1 = equivariance_error(rule, X, seed=seed)
        k_est = continuity_constant(rule, X, seed=seed)
        p3 = smoothness_violation(rule, X, seed=seed, n_lines=6)
        rows.append([label, p1.worst, p1.passed, K, k_est.worst, p3.passed])
        hyp.append({"rule": label, "P1_error": p1.worst, "P1": p1.passed, "K_stated": K,
                    "K_estimated": k_est.worst, "P3": p3.passed})
    say(format_table(["rule", "P1 error", "P1", "K stated", "K measured", "P3"], rows))
    result["hypotheses"] = hyp
    say()
    say("   K measured is the largest ||U(X)-U(Y)|| / ||X-Y|| found (a lower bound of the true K).")
    say()

    say("2. One step of eq. (4) across the critical point eta* = 1/K:")
    rows, sweep = [], []
    for label, rule, K in (rules[0], rules[2]):
        for ek in (0.5, 0.9, 1.0, 1.5):
            eta = ek / K
            lip = bi_lipschitz_ratios(rule, X, eta, K)
            bij = bijectivity(rule, X, eta, K)
            hom = homeomorphism(rule, X, eta, K)
            mes = measure_preservation(rule, X, eta, K)
            rows.append([label.split(" U_i")[0], ek, lip.min_ratio, lip.lower_bound, lip.max_ratio, lip.upper_bound,
                         bij.n_after, bij.bijective, hom.homeomorphism, hom.holds and lip.holds, mes.holds])
            sweep.append({"rule": label, "eta_K": ek, "eta": eta, "min_ratio": lip.min_ratio,
                          "max_ratio": lip.max_ratio, "lemma2": lip.holds, "points_after": bij.n_after,
                          "bijective": bij.bijective, "homeomorphism": hom.homeomorphism, "theorem1": hom.holds,
                          "measure_preserving": mes.holds})
    say(format_table(["rule", "eta*K", "min ratio", "1-eta*K", "max ratio", "1+eta*K", "points", "bijective",
                "homeo", "L2+T1", "T2"], rows))
    result["critical_point"] = sweep
    say()
    say("   points: distinct neurons after the step; homeo: the step is a bijection of the cloud;")
    say("   L2+T1: Lemma 2 and Theorem 1 hold as stated; T2: the neuron measure is preserved.")
    say("   Below 1/K every ratio stays inside Lemma 2's bounds and the step is a measure-preserving")
    say(f"   homeomorphism; at eta = 1/K the centering rule merges all {n} neurons into one point")
    say("   (the lower bound 1 - eta*K = 0 is attained) and Theorem 2's bijection fails.")
    say()

    say("3. Infinitely many neurons (a lazily evaluated dense circle, overrides at 0 and 10^9):")
    lazy = LazyCollection(CircleBase(1.0), {0: [1.5, 0.0], 10**9: [0.0, -1.5]})
    rows, lz = [], []
    for label, rule, _ in (rules[2], (rules[1][0], IndexBiasedRule(centering_rule(2.0), index=0), 2.0)):
        p1 = equivariance_error(rule, lazy, seed=seed)
        far = FinitaryPermutation.transposition(0, 10**9)
        lem1 = well_definedness(rule, far.act(lazy).with_entries([10**9], [lazy[10**9]]), 0.25)
        rows.append([label, p1.worst, p1.passed, lem1.holds])
        lz.append({"rule": label, "P1_error": p1.worst, "P1": p1.passed, "lemma1": lem1.holds})
    say(format_table(["rule", "P1 error", "P1", "Lemma 1"], rows))
    result["lazy"] = lz
    return result


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``tour`` to the subparsers ``sub``."""
    p = sub.add_parser("tour", help=HELP, description=HELP[0].upper() + HELP[1:] + ": P1, P2-K and P3 of three rules, "
                       "and Lemmas 2-3, Theorems 1-2 below, at and above eta* = 1/K.")
    p.add_argument("--n", type=int_at_least(3), default=48, help="number of neurons, >= 3 (default 48)")
    p.add_argument("--seed", type=seed_type, default=0, help="seed (default 0)")
    p.add_argument("--json", metavar="PATH", help="also write the measured numbers to PATH as JSON")
    p.set_defaults(run=run, leaf_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``invariance tour``; returns the exit code."""
    result = tour(n=args.n, seed=args.seed)
    if args.json:
        try:
            with open(args.json, "w") as fh:
                json.dump(result, fh, indent=2, default=float)
        except OSError as err:
            raise UsageError(f"cannot write --json {args.json!r}: {err.strerror}") from None
    return 0
