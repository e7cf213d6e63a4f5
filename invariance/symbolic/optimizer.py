"""Optimizers as sympy update equations over one neuron's state (Section 5.2).

A stateful optimizer acts on each coordinate of each neuron alone. Its step ``t``
(``t = 0`` at the first step, as ``torch.optim`` counts) is a pair of equations in the
parameter ``theta``, the state ``s = (s_1, ..., s_k)`` (moments), the gradient
``g = grad_i L(Theta)`` at the current parameters, the step counter ``t``, the learning
rate ``eta`` and hyperparameters:

    s^(t+1)     = S(g, s^(t), t),
    theta^(t+1) = theta^(t) + eta * D(g, s^(t), t),

written down in the order the optimizer's pseudocode states them and stored with the new
state already substituted into the parameter equation. :class:`SymbolicOptimizer` holds
these expressions; :func:`invariance.symbolic.stateless_form` derives the stateless rule
``x^(t+1) = x^(t) + eta U^(t)(X)`` on the augmented particle ``x = (theta, s)`` from them.

The instances follow ``torch.optim`` (dampening 0, no weight decay, state initialised to
zero, which equals torch's lazy first-step initialisation ``buf = g``):

* :func:`gradient_descent`: ``theta' = theta - eta g`` (eq. 10).
* :func:`heavy_ball`: ``b' = mu b + g``, ``theta' = theta - eta b'`` (``SGD(momentum=mu)``).
* :func:`nesterov`: ``b' = mu b + g``, ``theta' = theta - eta (g + mu b')`` (``nesterov=True``).
* :func:`rmsprop`: ``v' = alpha v + (1 - alpha) g^2``, ``theta' = theta - eta g / (sqrt(v') + eps)``.
* :func:`adam`: ``m' = b1 m + (1 - b1) g``, ``v' = b2 v + (1 - b2) g^2``,
  ``theta' = theta - eta (m' / (1 - b1^(t+1))) / (sqrt(v' / (1 - b2^(t+1))) + eps)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import sympy as sp

__all__ = [
    "THETA",
    "GRAD",
    "T",
    "ETA",
    "SymbolicOptimizer",
    "gradient_descent",
    "heavy_ball",
    "nesterov",
    "rmsprop",
    "adam",
]

#: the parameter of one coordinate of one neuron
THETA = sp.Symbol("theta", real=True)
#: the gradient ``grad_i L(Theta)`` of that coordinate at the current parameters
GRAD = sp.Symbol("g", real=True)
#: the step counter, ``t = 0`` at the first step
T = sp.Symbol("t", integer=True, nonnegative=True)
#: the learning rate
ETA = sp.Symbol("eta", positive=True)


@dataclass(frozen=True)
class SymbolicOptimizer:
    """One optimizer step as sympy expressions over a neuron's per-coordinate state.

    Attributes:
        name: a short name (``"adam"``).
        state: the state symbols ``(s_1, ..., s_k)`` (empty for gradient descent).
        new_state: ``S(g, s, t)``, one expression per state symbol.
        new_theta: ``theta + eta D(g, s, t)``, in ``THETA, GRAD, T, ETA``, the state and
            the hyperparameters.
        hyper: hyperparameter symbols and torch's default values for them.
        init_state: the initial state (zeros).

    Example:
        >>> from invariance.symbolic import heavy_ball
        >>> opt = heavy_ball()
        >>> opt.state, opt.new_state
        ((b,), (b*mu + g,))
        >>> opt.new_theta
        -eta*(b*mu + g) + theta
    """

    name: str
    state: tuple[sp.Symbol, ...]
    new_state: tuple[sp.Expr, ...]
    new_theta: sp.Expr
    hyper: Mapping[sp.Symbol, float] = field(default_factory=dict)
    init_state: tuple[sp.Expr, ...] = ()

    def __post_init__(self) -> None:
        if len(self.new_state) != len(self.state):
            raise ValueError(f"new_state has {len(self.new_state)} expressions for {len(self.state)} state symbols")
        if not self.init_state:
            object.__setattr__(self, "init_state", tuple(sp.Integer(0) for _ in self.state))
        if len(self.init_state) != len(self.state):
            raise ValueError(f"init_state has {len(self.init_state)} entries for {len(self.state)} state symbols")
        allowed = {THETA, GRAD, T, ETA, *self.state, *self.hyper}
        for expr in (self.new_theta, *self.new_state):
            extra = sp.sympify(expr).free_symbols - allowed
            if extra:
                raise ValueError(f"{self.name}: unknown symbols {sorted(map(str, extra))} in {expr}")

    def step(self, theta: sp.Expr, state: tuple[sp.Expr, ...], grad: sp.Expr, t: sp.Expr) -> tuple[sp.Expr, ...]:
        """The standard (stateful) step: ``(theta^(t+1), s^(t+1))`` from ``(theta^(t), s^(t))``.

        Example:
            >>> from invariance.symbolic import gradient_descent, GRAD, THETA, T
            >>> gradient_descent().step(THETA, (), GRAD, T)
            (-eta*g + theta,)
        """
        if len(state) != len(self.state):
            raise ValueError(f"state must have {len(self.state)} entries for {self.name}, got {len(state)}")
        sub = {THETA: theta, GRAD: grad, T: t, **dict(zip(self.state, state))}
        return (self.new_theta.xreplace(sub), *(s.xreplace(sub) for s in self.new_state))


def _unit(name: str) -> sp.Symbol:
    return sp.Symbol(name, positive=True)


def gradient_descent() -> SymbolicOptimizer:
    """Gradient descent, eq. (10): ``theta' = theta - eta g``; no state.

    Example:
        >>> from invariance.symbolic import gradient_descent
        >>> gradient_descent().new_theta
        -eta*g + theta
    """
    return SymbolicOptimizer("gd", (), (), THETA - ETA * GRAD)


def heavy_ball(mu: float = 0.9) -> SymbolicOptimizer:
    """Heavy-ball momentum as ``torch.optim.SGD(momentum=mu)``: ``b' = mu b + g``, ``theta' = theta - eta b'``.

    Args:
        mu: torch's default for the momentum symbol ``mu`` (used by code generation).

    Example:
        >>> from invariance.symbolic import heavy_ball
        >>> heavy_ball().new_state
        (b*mu + g,)
    """
    b, m = sp.Symbol("b", real=True), _unit("mu")
    b_new = m * b + GRAD
    return SymbolicOptimizer("heavy_ball", (b,), (b_new,), THETA - ETA * b_new, {m: float(mu)})


def nesterov(mu: float = 0.9) -> SymbolicOptimizer:
    """Nesterov momentum as ``torch.optim.SGD(momentum=mu, nesterov=True)``.

    ``b' = mu b + g``, ``theta' = theta - eta (g + mu b')``.

    Example:
        >>> from invariance.symbolic import nesterov
        >>> nesterov().new_theta
        -eta*(g + mu*(b*mu + g)) + theta
    """
    b, m = sp.Symbol("b", real=True), _unit("mu")
    b_new = m * b + GRAD
    return SymbolicOptimizer("nesterov", (b,), (b_new,), THETA - ETA * (GRAD + m * b_new), {m: float(mu)})


def rmsprop(alpha: float = 0.99, eps: float = 1e-8) -> SymbolicOptimizer:
    """RMSprop as ``torch.optim.RMSprop``: ``v' = alpha v + (1-alpha) g^2``, ``theta' = theta - eta g/(sqrt(v')+eps)``.

    Example:
        >>> from invariance.symbolic import rmsprop
        >>> rmsprop().state
        (v,)
    """
    v = sp.Symbol("v", real=True)
    a, e = _unit("alpha"), _unit("epsilon")
    v_new = a * v + (1 - a) * GRAD**2
    return SymbolicOptimizer(
        "rmsprop", (v,), (v_new,), THETA - ETA * GRAD / (sp.sqrt(v_new) + e), {a: float(alpha), e: float(eps)}
    )


def adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> SymbolicOptimizer:
    """Adam with bias correction, as ``torch.optim.Adam`` (``t = 0`` at the first step).

    ``m' = b1 m + (1-b1) g``, ``v' = b2 v + (1-b2) g^2``,
    ``theta' = theta - eta (m'/(1-b1^(t+1))) / (sqrt(v'/(1-b2^(t+1))) + eps)``.

    Example:
        >>> from invariance.symbolic import adam
        >>> opt = adam()
        >>> opt.state
        (m, v)
        >>> opt.new_state[0]
        beta1*m + g*(1 - beta1)
    """
    m, v = sp.Symbol("m", real=True), sp.Symbol("v", real=True)
    B1, B2, e = _unit("beta1"), _unit("beta2"), _unit("epsilon")
    m_new = B1 * m + (1 - B1) * GRAD
    v_new = B2 * v + (1 - B2) * GRAD**2
    m_hat = m_new / (1 - B1 ** (T + 1))
    v_hat = v_new / (1 - B2 ** (T + 1))
    return SymbolicOptimizer(
        "adam",
        (m, v),
        (m_new, v_new),
        THETA - ETA * m_hat / (sp.sqrt(v_hat) + e),
        {B1: float(b1), B2: float(b2), e: float(eps)},
    )
