"""``invariance certify``: certify from the command line that an optimizer satisfies P1.

P1 (Section 3): ``step(P X) = P step(X)`` for every permutation ``P`` of the neurons, the
particle being a neuron together with its optimizer state (Section 5.2)::

    invariance certify torch.optim.Adam --lr 1e-3
    invariance certify package.module:MyOptimizer --kwargs '{"momentum": 0.9}' --json cert.json

prints the certificate of :func:`~invariance.torch.certify.certify` and exits with 0
(equivariant, or equivariant in distribution), 1 (not equivariant), 3 (inconclusive,
with the reason) or 2 (usage error, import failure, or an error of the optimizer, with
the reason on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

from .arguments import int_at_least, positive_float, seed

__all__ = ["add_parser", "run", "resolve_optimizer"]

HELP = "certify that a torch optimizer is permutation-equivariant (P1), or show where it breaks"

_DTYPES = ("float64", "float32", "float16", "bfloat16")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``certify`` subcommand to ``subparsers`` (of ``ArgumentParser.add_subparsers``).

    Args:
        subparsers: the object ``add_subparsers()`` returned.

    Returns:
        The new subparser; its ``run`` default is :func:`run`.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="invariance")
        >>> p = add_parser(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["certify", "torch.optim.SGD", "--lr", "0.1", "--steps", "2"])
        >>> args.optimizer, args.lr, args.steps, args.run is run
        ('torch.optim.SGD', 0.1, 2, True)
    """
    p = subparsers.add_parser(
        "certify", help=HELP, description=HELP + ". P1: step(P X) = P step(X), X the neurons with their "
        "optimizer state (Sections 3 and 5.2). Exit code 0: equivariant (also in distribution); 1: not "
        "equivariant; 3: inconclusive; 2: usage error, import failure or an error of the optimizer.",
    )
    p.add_argument("optimizer", help="the optimizer class or factory f(params, **kwargs): torch.optim.Adam, "
                                     "package.module:MyOptimizer or package.module.MyOptimizer")
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate, > 0 (added to --kwargs)")
    p.add_argument("--kwargs", default=None, metavar="JSON",
                   help='keyword arguments of the optimizer as a JSON object, e.g. \'{"momentum": 0.9}\'')
    p.add_argument("--steps", type=int_at_least(1), default=5, help="steps compared after the permutation (default 5)")
    p.add_argument("--warmup", type=int_at_least(0), default=2, help="steps before the permutation (default 2)")
    p.add_argument("--seed", type=seed, default=0, help="seed of model, data and permutations (default 0)")
    p.add_argument("--dtype", action="append", choices=_DTYPES, default=None,
                   help="dtype to run in; repeat for several (default: float64 and float32)")
    p.add_argument("--permutations", type=int_at_least(1), default=3,
                   help="permutations per layer: one transposition and n-1 random ones (default 3)")
    p.add_argument("--batch-size", type=int_at_least(1), default=None, help="mini-batch size (default: full batch)")
    p.add_argument("--single-group", action="store_true",
                   help="one parameter group at --lr instead of one per module at lr, lr/2, ...")
    p.add_argument("--create-graph", action="store_true",
                   help="backward(create_graph=True), for optimizers that use Hessian-vector products")
    p.add_argument("--step-fn", metavar="NAME", default=None,
                   help="package.module:function taking one step as step_fn(optimizer, model, loss_fn), for "
                        "optimizers that need a call before step() or two passes (SAM)")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the certificate to PATH as JSON")
    p.set_defaults(run=run, leaf_parser=p)
    return p


def resolve_optimizer(name: str) -> Any:
    """Import ``package.module:Name`` or ``package.module.Name`` (the current directory is importable).

    Raises:
        ImportError: the module or the attribute does not exist.

    Example:
        >>> resolve_optimizer("torch.optim:SGD").__name__
        'SGD'
    """
    if not isinstance(name, str) or not name.strip():
        raise ImportError(f"optimizer must be a dotted name such as torch.optim.Adam, got {name!r}")
    name = name.strip()
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    if ":" in name:
        module_name, _, attr = name.partition(":")
        candidates = [(module_name, attr)]
    else:
        parts = name.split(".")
        candidates = [(".".join(parts[:k]), ".".join(parts[k:])) for k in range(len(parts) - 1, 0, -1)]
    errors = []
    for module_name, attr in candidates:
        if not module_name or not attr:
            continue
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as err:
            errors.append(f"{module_name}: {err}")
            continue
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            errors.append(f"module {module_name!r} has no attribute {attr!r}")
            continue
        return obj
    raise ImportError(f"cannot import {name!r}: " + "; ".join(errors or ["expected package.module:Name"]))


def run(args: argparse.Namespace) -> int:
    """Run the ``certify`` subcommand: print the certificate, write ``--json``, return the exit code.

    Returns:
        0 equivariant (also in distribution); 1 not equivariant; 3 inconclusive; 2 usage error,
        import failure or an error of the optimizer (the reason is printed on stderr).
    """
    def usage(msg: str) -> int:
        print(f"invariance certify: error: {msg}", file=sys.stderr)
        return 2

    kwargs: dict[str, Any] = {}
    if args.kwargs:
        try:
            kwargs = json.loads(args.kwargs)
        except json.JSONDecodeError as err:
            return usage(f"--kwargs is not valid JSON ({err}): {args.kwargs!r}")
        if not isinstance(kwargs, dict):
            return usage(f"--kwargs must be a JSON object, got {args.kwargs!r}")
    if args.lr is not None:
        if "lr" in kwargs and kwargs["lr"] != args.lr:
            return usage(f"--lr {args.lr} contradicts lr={kwargs['lr']} in --kwargs")
        kwargs["lr"] = args.lr
    for opt, value, least in (("--steps", args.steps, 1), ("--warmup", args.warmup, 0), ("--seed", args.seed, 0),
                              ("--permutations", args.permutations, 1)):
        if value < least:
            return usage(f"{opt} must be at least {least}, got {value}")
    if args.batch_size is not None and args.batch_size < 1:
        return usage(f"--batch-size must be at least 1, got {args.batch_size}")
    try:
        optimizer = resolve_optimizer(args.optimizer)
    except Exception as err:  # ImportError, or anything the imported module raises
        return usage(str(err) if isinstance(err, ImportError) else f"importing {args.optimizer!r} failed: "
                     f"{type(err).__name__}: {err}")
    if not callable(optimizer):
        return usage(f"{args.optimizer!r} is a {type(optimizer).__name__}, not an optimizer class or factory")

    step_fn = None
    if args.step_fn:
        try:
            step_fn = resolve_optimizer(args.step_fn)
        except Exception as err:  # ImportError, or anything the imported module raises
            return usage(f"--step-fn: {err}")
        if not callable(step_fn):
            return usage(f"--step-fn {args.step_fn!r} is not callable")

    import torch  # lazily: `invariance demo` does not import torch

    from ..torch.certify import certify

    dtypes = tuple(getattr(torch, d) for d in (args.dtype or ["float64", "float32"]))
    try:
        cert = certify(optimizer, kwargs=kwargs, steps=args.steps, warmup=args.warmup, seed=args.seed,
                       dtypes=dtypes, permutations=args.permutations, batch_size=args.batch_size,
                       param_groups="single" if args.single_group else "auto", create_graph=args.create_graph,
                       step_fn=step_fn)
    except (TypeError, ValueError) as err:
        return usage(str(err))
    except Exception as err:  # pragma: no cover - certify reports optimizer failures as verdict "error"
        print(f"invariance certify: crashed: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    if cert.verdict == "error":
        print(f"invariance certify: error: {cert.reason}", file=sys.stderr)
        return 2
    print(cert.summary())
    if args.json:
        try:
            cert.to_json(args.json)
        except OSError as err:
            return usage(f"cannot write --json {args.json}: {err}")
    return {"equivariant": 0, "equivariant in distribution": 0, "not equivariant": 1}.get(cert.verdict, 3)
