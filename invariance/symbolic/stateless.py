"""The stateless form of an optimizer on augmented particles (Section 5.2).

The particle of one neuron coordinate is ``x = (theta, s_1, ..., s_k)``. Given a
:class:`~invariance.symbolic.SymbolicOptimizer` with step
``(theta, s) -> (theta + eta D(g, s, t), S(g, s, t))``, the stateless rule is

    U^(t)(x) = ( D(g, s, t),  (S(g, s, t) - s) / eta ),       g = grad_i L(Theta),

so that ``x^(t+1) = x^(t) + eta U^(t)(X)`` is exactly one optimizer step. ``U`` depends
on the collection ``X`` only through ``g`` (Proposition 3's argument) and on ``eta``
through the state rows, as eq. (16) does. For Adam this gives

    U_theta = -(m'/(1-b1^(t+1))) / (eps + sqrt(v'/(1-b2^(t+1)))),
    U_m = (1-b1)(g - m)/eta,  U_v = (1-b2)(g^2 - v)/eta,

with the *new* moments ``m' = b1 m + (1-b1) g``, ``v' = b2 v + (1-b2) g^2`` in the first
row; the printed eq. (16) has the old ones (see :mod:`invariance.symbolic.eq16`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .optimizer import ETA, GRAD, THETA, SymbolicOptimizer, T

__all__ = ["StatelessForm", "stateless_form"]


@dataclass(frozen=True)
class StatelessForm:
    """``U^(t)`` of one particle ``(theta, *state)`` as sympy expressions in ``g, t, eta``.

    Attributes:
        name: what the form is (``"adam (derived)"``, ``"eq. (16) as printed"``).
        particle: the particle's symbols ``(THETA, *state)``.
        components: ``U^(t)`` row by row, one expression per particle symbol.
        hyper: the hyperparameter symbols and their default values.

    Example:
        >>> from invariance.symbolic import heavy_ball, stateless_form
        >>> stateless_form(heavy_ball()).components
        (-b*mu - g, (b*mu - b + g)/eta)
    """

    name: str
    particle: tuple[sp.Symbol, ...]
    components: tuple[sp.Expr, ...]
    hyper: tuple[tuple[sp.Symbol, float], ...] = ()

    def __post_init__(self) -> None:
        if len(self.components) != len(self.particle):
            raise ValueError(f"{len(self.components)} components for a particle of {len(self.particle)} symbols")
        if not self.particle or self.particle[0] != THETA:
            raise ValueError("the particle must start with the parameter symbol THETA")

    @property
    def state(self) -> tuple[sp.Symbol, ...]:
        """The state symbols (the particle without ``THETA``)."""
        return self.particle[1:]

    def step(self, particle: tuple[sp.Expr, ...], grad: sp.Expr, t: sp.Expr) -> tuple[sp.Expr, ...]:
        """``x + eta U^(t)(x)`` with gradient ``grad`` (eq. 4 on the augmented particle).

        Example:
            >>> from invariance.symbolic import gradient_descent, stateless_form, THETA, GRAD, T
            >>> stateless_form(gradient_descent()).step((THETA,), GRAD, T)
            (-eta*g + theta,)
        """
        if len(particle) != len(self.particle):
            raise ValueError(f"particle must have {len(self.particle)} entries, got {len(particle)}")
        sub = {**dict(zip(self.particle, particle)), GRAD: grad, T: t}
        return tuple(x + ETA * u.xreplace(sub) for x, u in zip(particle, self.components))


def stateless_form(optimizer: SymbolicOptimizer) -> StatelessForm:
    """Derive ``U^(t)`` with ``x^(t+1) = x^(t) + eta U^(t)(X)`` from an optimizer's equations (Sec. 5.2).

    ``U_theta = (theta' - theta)/eta`` and ``U_s = (s' - s)/eta``, each simplified.

    Args:
        optimizer: a :class:`SymbolicOptimizer` (e.g. :func:`~invariance.symbolic.adam`).

    Returns:
        The :class:`StatelessForm` on the particle ``(THETA, *optimizer.state)``.

    Example:
        >>> from invariance.symbolic import adam, stateless_form
        >>> U = stateless_form(adam())
        >>> U.components[1]
        -(beta1 - 1)*(g - m)/eta
    """
    if not isinstance(optimizer, SymbolicOptimizer):
        raise TypeError(f"optimizer must be a SymbolicOptimizer, got {type(optimizer).__name__}")
    u_theta = (optimizer.new_theta - THETA) / ETA
    if u_theta.has(THETA):  # the parameter did not cancel by itself
        u_theta = sp.simplify(u_theta)
    u_state = tuple(sp.factor((s_new - s) / ETA) for s, s_new in zip(optimizer.state, optimizer.new_state))
    return StatelessForm(
        f"{optimizer.name} (derived)",
        (THETA, *optimizer.state),
        (u_theta, *u_state),
        tuple(optimizer.hyper.items()),
    )
