"""Symbolic Propositions 1 and 3: ``P U(X) = U(P X)`` by simplification to zero.

For ``n`` symbolic neurons, each coordinate ``c`` of neuron ``i`` carries a particle
``(x_{i,c}, s_{i,c,1}, ..., s_{i,c,k})`` and the stateless rule ``U`` of a
:class:`~invariance.symbolic.StatelessForm` with ``g = d L / d x_{i,c}``. With
``(P X)_i = x_{P(i)}``, P1 (eq. 4's equivariance) for a permutation ``P`` reads

    U_i(P X) = U_{P(i)}(X)       for every neuron i and every row,

and :func:`symbolic_equivariance` simplifies each difference to zero for every
transposition ``(a b)``. Transpositions generate the symmetric group, and ``P, Q``
equivariant implies ``PQ`` equivariant (``U(PQX) = P U(QX) = PQ U(X)``), so this proves
P1 for all of FSym on the ``n`` neurons. For a loss with FSym-symmetry (eq. 11), the
gradient is equivariant (eq. 47, Proposition 1) and the rule acts on each particle alone,
so every derived stateless form is equivariant (Proposition 3); for a loss without it the
check finds a transposition and a residual that is not zero.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..statements.result import StatementResult, _raise_unless
from ._zero import reduce, witness
from .losses import SymbolicLoss
from .optimizer import GRAD, T
from .stateless import StatelessForm

__all__ = ["SymbolicEquivarianceResult", "symbolic_equivariance", "assert_symbolic_equivariance"]


@dataclass(frozen=True)
class SymbolicEquivarianceResult(StatementResult):
    """Whether ``U_i(PX) - U_{P(i)}(X)`` simplifies to zero for every transposition ``P``.

    Attributes:
        form: the stateless form's name.
        loss: the loss's name.
        n: the number of neurons.
        transpositions: how many transpositions were checked (``n(n-1)/2``).
        checked: how many residuals (transposition x neuron x coordinate x row) were simplified.
        counterexample: ``None``, or the first failure: transposition, neuron, coordinate,
            row, the residual and a numeric witness point (if the residual has one).
        holds: every residual is zero.

    Example:
        >>> from invariance.symbolic import gradient_descent, stateless_form, interaction_loss
        >>> r = symbolic_equivariance(stateless_form(gradient_descent()), interaction_loss(3))
        >>> r.holds, r.transpositions, r.checked
        (True, 3, 9)
    """

    statement: ClassVar[str] = "Propositions 1 and 3 (P1 from the FSym-symmetry of L), symbolically"
    form: str
    loss: str
    n: int
    transpositions: int
    checked: int
    counterexample: Any
    holds: bool


def _particles(form: StatelessForm, loss: SymbolicLoss) -> list[list[tuple[sp.Symbol, ...]]]:
    out = []
    for i, params in enumerate(loss.neurons):
        row = []
        for c, x in enumerate(params):
            suffix = f"{i + 1}" if len(params) == 1 else f"{i + 1}_{c + 1}"
            row.append((x, *(sp.Symbol(f"{s.name}{suffix}", **s.assumptions0) for s in form.state)))
        out.append(row)
    return out


def symbolic_equivariance(form: StatelessForm, loss: SymbolicLoss, t: sp.Expr = T) -> SymbolicEquivarianceResult:
    """Prove P1 of ``form`` on ``loss`` for all transpositions, hence all of FSym (Props. 1, 3; eqs. 47, 53-56).

    Args:
        form: a stateless form (e.g. ``stateless_form(adam())`` or ``printed_eq16()``).
        loss: a :class:`~invariance.symbolic.SymbolicLoss` of ``n >= 2`` neurons.
        t: the step counter (symbolic by default).

    Returns:
        A :class:`SymbolicEquivarianceResult`; it stops at the first nonzero residual.

    Example:
        >>> from invariance.symbolic import adam, stateless_form, ordered_pair_loss
        >>> symbolic_equivariance(stateless_form(adam()), ordered_pair_loss(2)).holds
        False
    """
    if not isinstance(form, StatelessForm):
        raise TypeError(f"form must be a StatelessForm, got {type(form).__name__}")
    if not isinstance(loss, SymbolicLoss):
        raise TypeError(f"loss must be a SymbolicLoss, got {type(loss).__name__}")
    if loss.n < 2:
        raise ValueError(f"loss must have n >= 2 neurons to permute, got n = {loss.n}")
    particles = _particles(form, loss)
    grads = loss.gradient()
    # U[i][c][r]: row r of the rule at coordinate c of neuron i, as a function of all particles
    U = [
        [
            tuple(
                u.xreplace({**dict(zip(form.particle, particles[i][c])), GRAD: grads[i][c], T: t})
                for u in form.components
            )
            for c in range(len(particles[i]))
        ]
        for i in range(loss.n)
    ]
    checked = 0
    pairs = list(itertools.combinations(range(loss.n), 2))
    for a, b in pairs:
        swap: dict[sp.Basic, sp.Basic] = {}
        for pa, pb in zip(itertools.chain(*particles[a]), itertools.chain(*particles[b])):
            swap[pa], swap[pb] = pb, pa
        perm = {a: b, b: a}
        for i in range(loss.n):
            j = perm.get(i, i)
            for c in range(len(U[i])):
                for r, (u_px, pu_x) in enumerate(zip(U[i][c], U[j][c])):
                    checked += 1
                    residual = reduce(u_px.xreplace(swap) - pu_x)
                    if residual != 0:
                        counterexample = {
                            "transposition": (a + 1, b + 1),
                            "neuron": i + 1,
                            "coordinate": c + 1,
                            "row": str(form.particle[r]),
                            "residual": residual,
                            "witness": witness(residual),
                        }
                        return SymbolicEquivarianceResult(
                            form.name, loss.name, loss.n, len(pairs), checked, counterexample, False
                        )
    return SymbolicEquivarianceResult(form.name, loss.name, loss.n, len(pairs), checked, None, True)


def assert_symbolic_equivariance(form: StatelessForm, loss: SymbolicLoss, t: sp.Expr = T) -> SymbolicEquivarianceResult:
    """:func:`symbolic_equivariance`, raising :class:`~invariance.statements.StatementViolation` unless it holds.

    Example:
        >>> from invariance.symbolic import rmsprop, stateless_form, power_sum_loss
        >>> assert_symbolic_equivariance(stateless_form(rmsprop()), power_sum_loss(3)).checked
        18
    """
    return _raise_unless(symbolic_equivariance(form, loss, t))
