"""The printed eq. (16) of Section 5.2, decided symbolically against Adam.

Eq. (16) writes Adam on the particle ``(theta_i, m_i, v_i)`` as

    U^(t) = ( -(m/(1-b1^t)) / (eps + sqrt(v/(1-b2^t))),  (1-b1)(g - m)/eta,  (1-b2)(g^2 - v)/eta ),

and says it "is equivalent to the standard Adam rule". :func:`eq16_finding` decides this
with :func:`~invariance.symbolic.check_equivalence` against :func:`~invariance.symbolic.adam`
(``torch.optim.Adam``, ``t = 0`` at the first step). The finding:

* **Not Adam.** The state rows of eq. (16) are exactly Adam's (``m + eta U_m`` is the new
  moment). The parameter row is not: it uses the *old* moments ``m^(t), v^(t)`` (it does not
  depend on the current gradient ``g`` at all) with exponent ``t``, where Adam uses the new
  moments ``m^(t+1) = b1 m + (1-b1) g``, ``v^(t+1) = b2 v + (1-b2) g^2`` with exponent ``t+1``.
  At ``t = 0`` it divides by ``1 - b1^0 = 0``: undefined (with 1-based ``t`` its first step
  is ``0``: the parameter does not move).
* **Right after re-indexing.** Its parameter row at ``t + 1`` evaluated at the *updated*
  moments ``(m + eta U_m, v + eta U_v)`` equals Adam's parameter row at ``t``: eq. (16) is
  Kingma & Ba's Adam if ``t`` counts from 1 and ``m_i, v_i`` in the first row are read as
  the moments after this step's update. As a simultaneous update ``x + eta U(x)`` it is Adam
  one step late: the gradient of step ``t`` moves the parameter only at step ``t + 1``.
* **The exact stateless Adam** is :func:`~invariance.symbolic.stateless_form` of ``adam()``:
  the first row with ``m' = b1 m + (1-b1) g``, ``v' = b2 v + (1-b2) g^2``, exponent ``t+1``.
* **The ``P v_{P(i)}`` terms** of eqs. (53)-(55) are a typo and do not matter: read
  literally, ``(P V)_{P(i)} = v_{P(P(i))}`` makes (53) differ from ``U(PX)_i`` (nonzero
  residual), while with ``v_{P(i)}`` in (53)-(54) and ``v_i`` in (55) the chain (53)-(56)
  is an identity; Proposition 3 itself holds for eq. (16) and for exact Adam
  (:func:`~invariance.symbolic.symbolic_equivariance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..statements.result import StatementResult
from ._zero import is_zero
from .equivalence import check_equivalence
from .optimizer import ETA, GRAD, THETA, SymbolicOptimizer, T, adam
from .stateless import StatelessForm, stateless_form

__all__ = ["printed_eq16", "Eq16Finding", "eq16_finding"]


def _adam_symbols(opt: SymbolicOptimizer) -> tuple[sp.Symbol, ...]:
    names = {str(s): s for s in opt.hyper}
    return names["beta1"], names["beta2"], names["epsilon"]


def printed_eq16(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> StatelessForm:
    """Eq. (16) exactly as printed, on the particle ``(theta, m, v)`` of :func:`~invariance.symbolic.adam`.

    Example:
        >>> printed_eq16().components[0]
        -m/((1 - beta1**t)*(epsilon + sqrt(v/(1 - beta2**t))))
    """
    opt = adam(b1, b2, eps)
    B1, B2, e = _adam_symbols(opt)
    m, v = opt.state
    return StatelessForm(
        "eq. (16) as printed",
        (THETA, m, v),
        (
            -(m / (1 - B1**T)) / (e + sp.sqrt(v / (1 - B2**T))),
            (1 - B1) / ETA * (GRAD - m),
            (1 - B2) / ETA * (GRAD**2 - v),
        ),
        tuple(opt.hyper.items()),
    )


@dataclass(frozen=True)
class Eq16Finding(StatementResult):
    """Whether the printed eq. (16) is Adam, and what it is instead.

    ``holds`` is ``equals_adam`` (the paper's claim "(16) is equivalent to the standard Adam rule").

    Attributes:
        equals_adam: eq. (16) passes :func:`check_equivalence` against ``adam()``.
        state_rows_agree: the ``m`` and ``v`` rows of eq. (16) equal Adam's.
        parameter_residual: eq. (16)'s parameter row minus Adam's, at symbolic ``t``.
        uses_current_gradient: whether eq. (16)'s parameter row depends on ``g`` (Adam's does).
        undefined_at_first_step: eq. (16) at ``t = 0`` is ``0/0``-undefined.
        reindexed_equals_adam: eq. (16)'s parameter row at ``t+1`` on the updated moments
            equals Adam's parameter row at ``t`` (simplified to zero).
        exact_form: the exact stateless Adam rows ``(U_theta, U_m, U_v)``.
        p_v_literal_residual: (53) with ``(PV)_{P(i)} = v_{P(P(i))}`` minus ``U(PX)_i``, for the
            transposition ``(1 2)`` of two neurons at ``i = 1`` (nonzero: the literal reading is false).
        p_v_corrected_residual: the same with ``v_{P(i)}`` (zero: the corrected chain is an identity).
        equivalence: the full :class:`EquivalenceResult` of eq. (16) against Adam.
        holds: ``equals_adam``.

    Example:
        >>> f = eq16_finding()
        >>> f.equals_adam, f.state_rows_agree, f.uses_current_gradient, f.reindexed_equals_adam
        (False, True, False, True)
    """

    statement: ClassVar[str] = "eq. (16) is the standard Adam rule (Section 5.2)"
    equals_adam: bool
    state_rows_agree: bool
    parameter_residual: Any
    uses_current_gradient: bool
    undefined_at_first_step: bool
    reindexed_equals_adam: bool
    exact_form: tuple[Any, ...]
    p_v_literal_residual: Any
    p_v_corrected_residual: Any
    equivalence: Any
    holds: bool


def _p_v_residuals(form: StatelessForm) -> tuple[sp.Expr, sp.Expr]:
    """(53)'s first row, literal vs corrected, minus ``U(PX)_1`` for ``P = (1 2)`` on two neurons."""
    m1, m2, v1, v2 = sp.symbols("m1 m2 v1 v2", positive=True)
    m, v = form.state
    row = form.components[0]
    # (PX)_1 = x_{P(1)} = x_2, so U(PX)_1 is the first row at (m_2, v_2)
    u_px = row.xreplace({m: m2, v: v2})
    literal = row.xreplace({m: m2, v: v1})  # m_{P(1)}, and (PV)_{P(1)} = v_{P(P(1))} = v_1
    corrected = row.xreplace({m: m2, v: v2})  # m_{P(1)}, v_{P(1)}
    return sp.simplify(literal - u_px), sp.simplify(corrected - u_px)


def eq16_finding() -> Eq16Finding:
    """Decide symbolically whether the printed eq. (16) is ``torch.optim.Adam`` (Section 5.2).

    Returns:
        An :class:`Eq16Finding`: eq. (16) is not Adam (old moments, exponent ``t``), is Adam
        after re-indexing (1-based ``t``, updated moments in the first row), and the
        ``P v_{P(i)}`` terms of (53)-(55) are a harmless typo.

    Example:
        >>> f = eq16_finding()
        >>> f.holds, f.undefined_at_first_step, f.p_v_corrected_residual
        (False, True, 0)
    """
    opt = adam()
    paper = printed_eq16()
    exact = stateless_form(opt)
    m, v = opt.state
    equivalence = check_equivalence(opt, paper, steps=2)
    state_rows_agree = all(is_zero(a - b) for a, b in zip(paper.components[1:], exact.components[1:]))
    u16, uadam = paper.components[0], exact.components[0]
    residual = sp.simplify(u16 - uadam)
    updated = {m: m + ETA * paper.components[1], v: v + ETA * paper.components[2]}
    reindexed = u16.xreplace({T: T + 1}).xreplace(updated)
    reindexed_ok = is_zero(reindexed - uadam)
    at_zero = u16.xreplace({T: sp.Integer(0)})
    undefined = bool(at_zero.has(sp.zoo, sp.nan)) or at_zero.is_finite is False
    literal, corrected = _p_v_residuals(paper)
    equals = equivalence.holds
    return Eq16Finding(
        equals_adam=equals,
        state_rows_agree=state_rows_agree,
        parameter_residual=residual,
        uses_current_gradient=bool(u16.has(GRAD)),
        undefined_at_first_step=undefined,
        reindexed_equals_adam=reindexed_ok,
        exact_form=exact.components,
        p_v_literal_residual=literal,
        p_v_corrected_residual=corrected,
        equivalence=equivalence,
        holds=equals,
    )
