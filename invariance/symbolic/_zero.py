"""Deciding ``expr == 0``: simplification to zero, or a numeric witness that it is not."""

from __future__ import annotations

import random
from typing import Mapping

import sympy as sp
from sympy.core.function import AppliedUndef


def reduce(expr: sp.Expr) -> sp.Expr:
    """``0`` if ``expr`` simplifies to zero (cheap rewrites first, ``simplify`` last), else its simplified form."""
    expr = sp.sympify(expr)
    if expr == 0 or expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return expr
    out = expr
    for rewrite in (sp.expand, sp.cancel, sp.simplify):
        try:
            out = rewrite(expr)
        except (sp.PolynomialError, TypeError, ValueError):  # pragma: no cover - sympy corner cases
            continue
        if out == 0:
            return sp.Integer(0)
    return out


def is_zero(expr: sp.Expr) -> bool:
    """Whether ``expr`` simplifies to zero."""
    return bool(reduce(expr) == 0)


def witness(expr: sp.Expr, seed: int = 0, tries: int = 5) -> Mapping[str, float] | None:
    """A point (symbol name -> value) where ``expr`` is numerically nonzero, or ``None``.

    Symbols get random values in (0.05, 0.95) (step counters: integers 1..6); expressions
    with undefined functions get no witness.
    """
    expr = sp.sympify(expr)
    if expr.atoms(AppliedUndef) or expr.atoms(sp.Derivative):
        return None
    rng = random.Random(seed)
    symbols = sorted(expr.free_symbols, key=str)
    for _ in range(tries):
        point = {
            s: (sp.Integer(rng.randint(1, 6)) if s.is_integer else sp.Rational(rng.randint(5, 95), 100))
            for s in symbols
        }
        value = sp.N(expr.xreplace(point), 30)
        if value.is_finite is False or value.has(sp.zoo, sp.nan):
            return {str(k): float(v) for k, v in point.items()}
        if value.is_number and abs(complex(value)) > 1e-15:
            return {str(k): float(v) for k, v in point.items()}
    return None
