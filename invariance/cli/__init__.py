"""The ``invariance`` command: one module per subcommand.

=====================  ============================================================  ==========================
subcommand             what it does                                                  module
=====================  ============================================================  ==========================
``demo``               the main job: the 2D network at a small and a large rate      :mod:`invariance.cli.demo`
``tour``               the paper's statements checked on built-in rules              :mod:`invariance.cli.tour`
``certify``            is a torch optimizer permutation-equivariant (P1)?            :mod:`invariance.cli.certify`
``experiment lowdim``  2D/3D networks (Figs. 3, 4, 6-10)                             :mod:`invariance.cli.lowdim`
``experiment sweep``   the learning rate swept across ``1/K``                        :mod:`invariance.cli.sweep`
``experiment mnist``   the two-layer MLP on MNIST (Figs. 5, 11, 12)                  :mod:`invariance.cli.mnist`
``experiment grid``    a grid of runs on a Dask cluster (resumable)                  :mod:`invariance.cli.grid`
=====================  ============================================================  ==========================

Each module has ``add_parser(subparsers)`` (its options, whose help states the defaults of
the configuration object the run uses) and ``run(args) -> exit code``. A usage error or a bad
value or path is reported by the subcommand's own parser (its usage line and one error
line, exit code 2) before anything is written; torch is imported only when a run starts.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .. import __version__
from .arguments import UsageError
from .tour import tour

__all__ = ["main", "build_parser", "tour"]


def build_parser() -> argparse.ArgumentParser:
    """The ``invariance`` parser with every subcommand."""
    from . import certify, demo, experiment

    tour_module = importlib.import_module(f"{__name__}.tour")  # the name ``tour`` here is the function

    parser = argparse.ArgumentParser(prog="invariance", description="Topological invariance and breakdown in "
                                     "learning, as executable mathematics.")
    parser.add_argument("--version", action="version", version=f"invariance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,tour,certify,experiment}")
    for module in (demo, tour_module, certify, experiment):
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``invariance`` command; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    leaf: argparse.ArgumentParser = getattr(args, "leaf_parser", parser)
    if extra:
        leaf.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.run(args))
    except UsageError as err:
        leaf.error(str(err))
    return 2  # pragma: no cover - leaf.error exits


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
