"""Symbolic Proposition 2 and the Remark of Section 5.1: K from the Hessian, eta* = 1/K, 2/K.

Proposition 2: if ``||grad L(X) - grad L(Y)|| <= K ||X - Y||`` (eq. 12), gradient descent
satisfies P2-K (eq. 52). For a C^2 loss the best such ``K`` is ``sup_X ||Hess L(X)||``.

* :func:`hessian_constant` -- for a quadratic loss the Hessian is constant and ``K`` is its
  largest absolute eigenvalue, exactly (for :func:`~invariance.symbolic.quadratic_loss`:
  eigenvalues ``a`` and ``a + n b``, so ``K = a + n b``).
* :func:`sigmoid_pair_constant` -- for ``L = (sigma(w1 x) + sigma(w2 x) - y)^2 / 2`` the
  Hessian, written in ``s_i = sigma(w_i x) in (0, 1)``, is
  ``H_ii = x^2 [sigma'^2 + r sigma'']``, ``H_12 = x^2 sigma'(w1 x) sigma'(w2 x)``, with
  ``sigma' = s(1-s)``, ``sigma'' = s(1-s)(1-2s)``, ``r = s1 + s2 - y``. The exact suprema
  ``sup sigma' = 1/4``, ``sup |sigma''| = sqrt(3)/18``, ``sup |r| = max(|y|, |2 - y|)`` are
  derived on ``[0, 1]`` (critical points and endpoints), and Gershgorin gives
  ``K = x^2 (1/8 + sqrt(3)/18 max(|y|, |2-y|))``.
* :func:`step_sizes` -- the Remark, eqs. (13)-(15): the quadratic upper bound
  ``phi(eta) = L - eta ||g||^2 + K eta^2/2 ||g||^2`` is minimised at ``eta* = 1/K`` (the
  topological critical point) with decrease ``||g||^2 / (2K)``, decreases the loss exactly for
  ``0 < eta < 2/K``, and gradient descent on ``L = K x^2 / 2`` is stable (``|1 - eta K| < 1``)
  exactly for ``0 < eta < 2/K``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..statements.result import StatementResult
from ._zero import is_zero
from .losses import SymbolicLoss, sigmoid_pair_loss

__all__ = [
    "SmoothnessResult",
    "hessian_constant",
    "sigmoid_pair_constant",
    "StepSizeResult",
    "step_sizes",
]


@dataclass(frozen=True)
class SmoothnessResult(StatementResult):
    """A constant ``K`` of eq. (12) derived from the Hessian (Proposition 2).

    Attributes:
        loss: the loss's name.
        hessian: the Hessian matrix (in the loss's symbols, or in ``s_i = sigma(w_i x)``).
        K: the derived constant.
        exact: ``K = sup ||Hess L||`` exactly (``False``: a proven upper bound).
        method: how ``K`` was derived.
        eta_star: ``1 / K``, the topological critical point.
        holds: ``K`` is a positive finite expression.

    Example:
        >>> from invariance.symbolic import quadratic_loss, hessian_constant
        >>> hessian_constant(quadratic_loss(3)).K
        a + 3*b
    """

    statement: ClassVar[str] = "Proposition 2: K bounds the Hessian (eq. 12)"
    loss: str
    hessian: Any
    K: Any
    exact: bool
    method: str
    eta_star: Any
    holds: bool


def hessian_constant(loss: SymbolicLoss) -> SmoothnessResult:
    """``K = max |eigenvalue|`` of the constant Hessian of a quadratic loss (Proposition 2, eq. 12).

    Args:
        loss: a loss whose Hessian does not depend on the neurons.

    Returns:
        A :class:`SmoothnessResult` with the exact ``K`` and ``eta* = 1/K``.

    Raises:
        ValueError: if the Hessian is not constant (the loss is not quadratic).

    Example:
        >>> from invariance.symbolic import quadratic_loss
        >>> hessian_constant(quadratic_loss(2)).eta_star
        1/(a + 2*b)
    """
    if not isinstance(loss, SymbolicLoss):
        raise TypeError(f"loss must be a SymbolicLoss, got {type(loss).__name__}")
    variables = [s for p in loss.neurons for s in p]
    H = sp.hessian(loss.expr, variables)
    if H.free_symbols & set(variables):
        raise ValueError(f"loss {loss.name!r} is not quadratic: its Hessian depends on the neurons")
    eigen = list(H.eigenvals())
    K = sp.simplify(sp.Max(*(sp.Abs(e) for e in eigen)))
    method = "largest |eigenvalue| of the constant Hessian"
    return SmoothnessResult(loss.name, H, K, True, method, 1 / K, bool(K.is_positive))


def _sup_abs_unit(poly: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """``sup_{s in [0, 1]} |poly(s)|`` from the endpoints and the real critical points."""
    candidates = [sp.Integer(0), sp.Integer(1)]
    candidates += [c for c in sp.solve(sp.diff(poly, s), s) if c.is_real and 0 <= c <= 1]
    values = [sp.nsimplify(sp.Abs(sp.simplify(poly.subs(s, c)))) for c in candidates]
    return sp.simplify(sp.Max(*values))


def sigmoid_pair_constant() -> SmoothnessResult:
    """``K`` for the two-neuron sigmoid model (Proposition 2): ``x^2 (1/8 + sqrt(3)/18 max(|y|, |2-y|))``.

    The Hessian is rewritten in ``s_i = sigma(w_i x)`` and checked (simplified to zero)
    against ``x^2 [[s'^2 + r s'', s1' s2'], [s1' s2', s2'^2 + r s2'']]``; the suprema of
    ``sigma'``, ``|sigma''|`` and ``|r|`` are derived exactly and combined by Gershgorin
    (``||H|| <= max_i sum_j sup |H_ij|``).

    Returns:
        A :class:`SmoothnessResult` (``exact=False``: a proven upper bound on ``sup ||H||``),
        whose ``hessian`` is in the symbols ``s1, s2, x, y``.

    Example:
        >>> sigmoid_pair_constant().K.subs(sp.Symbol("y", real=True), 1)
        x**2*(sqrt(3)/18 + 1/8)
    """
    loss = sigmoid_pair_loss()
    (w1,), (w2,) = loss.neurons
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    s1, s2, s = sp.symbols("s1 s2 s", positive=True)
    H = sp.hessian(loss.expr, (w1, w2))
    to_s = {w1: sp.log(s1 / (1 - s1)) / x, w2: sp.log(s2 / (1 - s2)) / x}
    Hs = H.xreplace(to_s).applyfunc(lambda e: sp.factor(sp.simplify(e)))

    def d1(u: sp.Expr) -> sp.Expr:
        return u * (1 - u)

    def d2(u: sp.Expr) -> sp.Expr:
        return u * (1 - u) * (1 - 2 * u)

    r = s1 + s2 - y
    off = d1(s1) * d1(s2)
    expected = x**2 * sp.Matrix([[d1(s1) ** 2 + r * d2(s1), off], [off, d1(s2) ** 2 + r * d2(s2)]])
    if not all(is_zero(e) for e in (Hs - expected)):  # pragma: no cover - a sympy regression
        raise AssertionError("the Hessian of the sigmoid pair does not have the expected form")
    sup_d1 = _sup_abs_unit(d1(s), s)  # 1/4
    sup_d2 = _sup_abs_unit(d2(s), s)  # sqrt(3)/18
    sup_r = sp.Max(sp.Abs(y), sp.Abs(2 - y))  # r is linear in (s1, s2): sup at the corners, r in [-y, 2 - y]
    K = x**2 * (2 * sup_d1**2 + sup_r * sup_d2)
    return SmoothnessResult(
        loss.name,
        Hs,
        K,
        False,
        "Gershgorin with exact sup sigma' = 1/4, sup |sigma''| = sqrt(3)/18, sup |r| = max(|y|, |2-y|)",
        1 / K,
        True,
    )


@dataclass(frozen=True)
class StepSizeResult(StatementResult):
    """The Remark of Section 5.1 (eqs. 13-15) for a symbolic ``K``.

    Attributes:
        K: the smoothness constant.
        upper_bound: ``phi(eta)``, the right-hand side of eq. (14) minus ``L`` (eq. 15), per ``||g||^2``.
        eta_star: the minimiser of ``phi`` (``1/K``).
        optimal_decrease: ``phi(eta*)`` (``-1/(2K)``: the loss drops by ``||g||^2/(2K)``).
        decrease_interval: the ``eta > 0`` with ``phi(eta) < 0`` (``(0, 2/K)``).
        stability_interval: the ``eta > 0`` with ``|1 - eta K| < 1`` (GD on ``K x^2/2``).
        stability_bound: ``2/K``.
        holds: ``eta_star == 1/K`` and both intervals are ``(0, 2/K)``.

    Example:
        >>> r = step_sizes()
        >>> r.eta_star, r.stability_bound
        (1/K, 2/K)
    """

    statement: ClassVar[str] = "Remark (Section 5.1): eta* = 1/K minimises eqs. (13)-(15); stable for eta < 2/K"
    K: Any
    upper_bound: Any
    eta_star: Any
    optimal_decrease: Any
    decrease_interval: Any
    stability_interval: Any
    stability_bound: Any
    holds: bool


def step_sizes(K: sp.Expr | None = None) -> StepSizeResult:
    """Derive ``eta* = 1/K`` and the stability bound ``2/K`` from eqs. (13)-(15).

    Args:
        K: a positive sympy expression (default: the symbol ``K > 0``), e.g. ``hessian_constant(...).K``.

    Returns:
        A :class:`StepSizeResult`.

    Example:
        >>> step_sizes(sp.Integer(4)).decrease_interval
        Interval.open(0, 1/2)
    """
    K = sp.Symbol("K", positive=True) if K is None else sp.sympify(K)
    if K.is_positive is False or K.is_zero:
        raise ValueError(f"K must be positive, got {K}")
    k = sp.Symbol("K", positive=True)  # derive for a positive symbol, then substitute K
    eta = sp.Symbol("eta", real=True)
    phi = -eta + k * eta**2 / 2  # eq. (15) per ||grad L||^2
    critical = sp.solve(sp.diff(phi, eta), eta)
    if len(critical) != 1:  # pragma: no cover - phi is a parabola
        raise AssertionError(f"expected one critical point, got {critical}")
    minimum = bool(sp.diff(phi, eta, 2).is_positive)
    decrease = sp.solveset(phi < 0, eta, sp.S.Reals)  # eq. (15) < 0
    stable = sp.solveset(sp.Abs(1 - eta * k) < 1, eta, sp.S.Reals)  # GD on L = K z^2/2: z <- (1 - eta K) z
    holds = (
        minimum
        and is_zero(critical[0] - 1 / k)
        and decrease == sp.Interval.open(0, 2 / k)
        and stable == sp.Interval.open(0, 2 / k)
    )
    sub = {k: K}
    eta_star = critical[0].xreplace(sub)
    return StepSizeResult(
        K,
        phi.xreplace(sub),
        eta_star,
        sp.simplify(phi.xreplace(sub).subs(eta, eta_star)),
        decrease.xreplace(sub),
        stable.xreplace(sub),
        2 / K,
        holds,
    )
