"""Symbolic equivalence of a stateless form with the optimizer it claims to be (Section 5.2).

Let ``(theta^(t), s^(t))`` be the standard run of an optimizer from ``s^(0) = init`` and
``x^(t)`` the run of a stateless form ``x^(t+1) = x^(t) + eta U^(t)(X^(t))`` from
``x^(0) = (theta^(0), init)``. The form *is* the optimizer iff ``x^(t) = (theta^(t), s^(t))``
for all ``t``. By induction on ``t`` it suffices that

* base: ``x^(0) = (theta^(0), s^(0))`` (true by construction), and
* induction step, for a *symbolic* ``t`` and symbolic ``theta, s, g``:
  ``(theta, s) + eta U^(t)(theta, s; g) - step_t(theta, s; g) == 0``,

because both runs then see the same parameters and hence the same gradient
``g = grad_i L(Theta)``. :func:`check_equivalence` proves the induction step by simplifying
each row of the difference to zero, and also unrolls the first ``steps`` steps with concrete
``t = 0, 1, ...`` and a generic gradient oracle ``G(theta)`` (an undefined sympy function),
which catches forms that are undefined at some ``t`` (eq. 16 divides by ``1 - beta^0 = 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..arguments import check_int
from ..statements.result import StatementResult, _raise_unless
from ._zero import reduce, witness
from .optimizer import GRAD, THETA, SymbolicOptimizer, T
from .stateless import StatelessForm

__all__ = ["EquivalenceResult", "check_equivalence", "assert_equivalent"]

#: the generic gradient oracle of the unrolled check
GRADIENT_ORACLE = sp.Function("G")


@dataclass(frozen=True)
class EquivalenceResult(StatementResult):
    """Whether a stateless form reproduces an optimizer's standard update exactly.

    Attributes:
        optimizer: the optimizer's name.
        form: the stateless form's name.
        induction_residuals: ``x + eta U^(t)(x) - step_t(x)`` row by row, simplified, at symbolic ``t``.
        induction_holds: every induction residual is zero.
        unrolled_steps: how many steps ``t = 0, 1, ...`` were unrolled.
        first_failure: the first unrolled step (``t``) whose rows differ, or ``None``.
        unrolled_residuals: the residual rows at ``first_failure`` (empty if none).
        witness: a numeric point where a nonzero induction residual is nonzero, if any.
        holds: the verdict, ``induction_holds and first_failure is None``.

    Example:
        >>> from invariance.symbolic import adam, check_equivalence, stateless_form
        >>> check_equivalence(adam(), stateless_form(adam()), steps=2).holds
        True
    """

    statement: ClassVar[str] = "Section 5.2: the stateless form reproduces the optimizer"
    optimizer: str
    form: str
    induction_residuals: tuple[Any, ...]
    induction_holds: bool
    unrolled_steps: int
    first_failure: int | None
    unrolled_residuals: tuple[Any, ...]
    witness: Any
    holds: bool


def _residual(expr: sp.Expr) -> sp.Expr:
    return reduce(expr)


def check_equivalence(optimizer: SymbolicOptimizer, form: StatelessForm, steps: int = 3) -> EquivalenceResult:
    """Prove (or refute) that ``form`` is the stateless form of ``optimizer`` (Section 5.2, eq. 4).

    Args:
        optimizer: the standard update equations.
        form: a candidate ``U^(t)`` on the particle ``(THETA, *optimizer.state)``.
        steps: how many first steps to unroll (``>= 0``).

    Returns:
        An :class:`EquivalenceResult`; ``holds`` iff the induction step simplifies to zero
        and every unrolled step agrees.

    Example:
        >>> from invariance.symbolic import heavy_ball, nesterov, check_equivalence, stateless_form
        >>> check_equivalence(nesterov(), stateless_form(heavy_ball())).holds   # a wrong form
        False
    """
    if not isinstance(optimizer, SymbolicOptimizer):
        raise TypeError(f"optimizer must be a SymbolicOptimizer, got {type(optimizer).__name__}")
    if not isinstance(form, StatelessForm):
        raise TypeError(f"form must be a StatelessForm, got {type(form).__name__}")
    steps = check_int(steps, "steps", 0)
    if len(form.state) != len(optimizer.state):
        raise ValueError(
            f"form has {len(form.state)} state rows, the optimizer {optimizer.name} has {len(optimizer.state)}"
        )
    # rename the form's particle onto the optimizer's symbols
    rename = dict(zip(form.particle, (THETA, *optimizer.state)))
    form = StatelessForm(form.name, (THETA, *optimizer.state), tuple(u.xreplace(rename) for u in form.components))

    x = (THETA, *optimizer.state)
    induction = tuple(
        _residual(a - b) for a, b in zip(form.step(x, GRAD, T), optimizer.step(THETA, optimizer.state, GRAD, T))
    )
    induction_holds = all(r == 0 for r in induction)
    point = None
    if not induction_holds:
        point = witness(next(r for r in induction if r != 0))

    first_failure: int | None = None
    unrolled: tuple[Any, ...] = ()
    theta0 = sp.Symbol("theta0", real=True)
    standard: tuple[sp.Expr, ...] = (theta0, *optimizer.init_state)
    for t in range(steps):
        g = GRADIENT_ORACLE(standard[0])
        ours = form.step(standard, g, sp.Integer(t))
        ref = optimizer.step(standard[0], standard[1:], g, sp.Integer(t))
        rows = tuple(_residual(a - b) for a, b in zip(ours, ref))
        if any(r != 0 for r in rows):
            first_failure, unrolled = t, rows
            break
        standard = ref  # proven equal: both runs continue from the same particle
    return EquivalenceResult(
        optimizer=optimizer.name,
        form=form.name,
        induction_residuals=induction,
        induction_holds=induction_holds,
        unrolled_steps=steps,
        first_failure=first_failure,
        unrolled_residuals=unrolled,
        witness=point,
        holds=induction_holds and first_failure is None,
    )


def assert_equivalent(optimizer: SymbolicOptimizer, form: StatelessForm, steps: int = 3) -> EquivalenceResult:
    """:func:`check_equivalence`, raising :class:`~invariance.statements.StatementViolation` unless it holds.

    Example:
        >>> from invariance.symbolic import rmsprop, stateless_form, assert_equivalent
        >>> assert_equivalent(rmsprop(), stateless_form(rmsprop())).induction_residuals
        (0, 0)
    """
    return _raise_unless(check_equivalence(optimizer, form, steps))
