"""Losses of ``n`` symbolic neurons, FSym-symmetric (eq. 11) or deliberately not.

A loss is a :class:`SymbolicLoss`: a sympy expression in the neurons' parameter symbols
``neurons[i] = (x_{i,1}, ..., x_{i,d})``. The symmetric ones are

* :func:`interaction_loss`: ``sum_i f(x_i) + sum_{i<j} [g(x_i, x_j) + g(x_j, x_i)]`` with
  *undefined* functions ``f, g`` (every symmetric loss of this two-body form), and
* :func:`power_sum_loss`: a polynomial in the power sums ``p_k = sum_i x_i^k`` (symmetric
  polynomials, by the fundamental theorem, are exactly these);

and the negative controls are :func:`ordered_pair_loss` (``sum_{i<j} g(x_i, x_j)`` with a
generic, non-symmetric ``g``) and :func:`weighted_loss` (``sum_i i x_i^2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..arguments import check_int

__all__ = [
    "SymbolicLoss",
    "interaction_loss",
    "power_sum_loss",
    "ordered_pair_loss",
    "weighted_loss",
    "quadratic_loss",
    "sigmoid_pair_loss",
]


@dataclass(frozen=True)
class SymbolicLoss:
    """A loss ``L(x_1, ..., x_n)`` of ``n`` neurons with ``d`` parameters each.

    Attributes:
        name: a short description.
        neurons: ``neurons[i]`` is the tuple of neuron ``i``'s parameter symbols.
        expr: the loss as a sympy expression in those symbols.

    Example:
        >>> L = power_sum_loss(2)
        >>> L.neurons
        ((x1,), (x2,))
    """

    name: str
    neurons: tuple[tuple[sp.Symbol, ...], ...]
    expr: sp.Expr

    def __post_init__(self) -> None:
        if not self.neurons or len({len(p) for p in self.neurons}) != 1:
            raise ValueError("neurons must be a non-empty tuple of equally long parameter tuples")

    @property
    def n(self) -> int:
        """The number of neurons."""
        return len(self.neurons)

    def gradient(self) -> tuple[tuple[sp.Expr, ...], ...]:
        """``grad_i L``: the partial derivatives, neuron by neuron (the ``g`` of Section 5)."""
        return tuple(tuple(sp.diff(self.expr, s) for s in p) for p in self.neurons)


def _neurons(n: int, d: int) -> tuple[tuple[sp.Symbol, ...], ...]:
    n = check_int(n, "n", 1)
    d = check_int(d, "d", 1)
    if d == 1:
        return tuple((sp.Symbol(f"x{i + 1}", real=True),) for i in range(n))
    return tuple(tuple(sp.Symbol(f"x{i + 1}_{k + 1}", real=True) for k in range(d)) for i in range(n))


def interaction_loss(n: int, d: int = 1) -> SymbolicLoss:
    """``L = sum_i f(x_i) + sum_{i<j} [g(x_i, x_j) + g(x_j, x_i)]``, generic ``f, g`` (eq. 11 holds).

    Example:
        >>> interaction_loss(2).expr
        f(x1) + f(x2) + g(x1, x2) + g(x2, x1)
    """
    neurons = _neurons(n, d)
    f, g = sp.Function("f"), sp.Function("g")
    expr = sp.Add(*(f(*p) for p in neurons))
    for i in range(len(neurons)):
        for j in range(i + 1, len(neurons)):
            expr += g(*neurons[i], *neurons[j]) + g(*neurons[j], *neurons[i])
    return SymbolicLoss("interaction f + g (symmetric)", neurons, expr)


def power_sum_loss(n: int, d: int = 1) -> SymbolicLoss:
    """``L = p_1 p_2 + p_3 + p_1^4/4`` with power sums ``p_k = sum_i sum_c x_{i,c}^k`` (symmetric).

    Example:
        >>> power_sum_loss(2).expr.subs({sp.Symbol("x1", real=True): 1, sp.Symbol("x2", real=True): 0})
        9/4
    """
    neurons = _neurons(n, d)
    p = [sp.Add(*(s**k for q in neurons for s in q)) for k in (1, 2, 3)]
    return SymbolicLoss("power sums p1 p2 + p3 + p1^4/4 (symmetric)", neurons, p[0] * p[1] + p[2] + p[0] ** 4 / 4)


def ordered_pair_loss(n: int, d: int = 1) -> SymbolicLoss:
    """``L = sum_{i<j} g(x_i, x_j)`` with a generic ``g``: not symmetric (negative control).

    Example:
        >>> ordered_pair_loss(2).expr
        g(x1, x2)
    """
    neurons = _neurons(n, d)
    g = sp.Function("g")
    expr = sp.Add(*(g(*neurons[i], *neurons[j]) for i in range(len(neurons)) for j in range(i + 1, len(neurons))))
    return SymbolicLoss("ordered pairs g(x_i, x_j), i < j (not symmetric)", neurons, expr)


def weighted_loss(n: int, d: int = 1) -> SymbolicLoss:
    """``L = sum_i i ||x_i||^2``: neuron ``i`` weighted by its index, not symmetric (negative control).

    Example:
        >>> weighted_loss(2).expr
        x1**2 + 2*x2**2
    """
    neurons = _neurons(n, d)
    return SymbolicLoss(
        "index-weighted sum_i i x_i^2 (not symmetric)",
        neurons,
        sp.Add(*((i + 1) * s**2 for i, q in enumerate(neurons) for s in q)),
    )


def quadratic_loss(n: int) -> SymbolicLoss:
    """``L = a/2 sum_i x_i^2 + b/2 sum_{i<j} (x_i - x_j)^2``, symbolic ``a, b > 0`` (symmetric, quadratic).

    The ``scaling="sum"`` form of ``InteractionPotential(Quadratic(a), HarmonicPair(b))``.

    Example:
        >>> quadratic_loss(2).expr
        a*(x1**2 + x2**2)/2 + b*(x1 - x2)**2/2
    """
    neurons = _neurons(n, 1)
    a, b = sp.symbols("a b", positive=True)
    xs = [p[0] for p in neurons]
    expr = a / 2 * sp.Add(*(x**2 for x in xs)) + b / 2 * sp.Add(
        *((xs[i] - xs[j]) ** 2 for i in range(len(xs)) for j in range(i + 1, len(xs)))
    )
    return SymbolicLoss("quadratic a/2 |x|^2 + b/2 sum (x_i - x_j)^2", neurons, expr)


def sigmoid_pair_loss() -> SymbolicLoss:
    """The two-neuron sigmoid model with scalar weights: ``L = (sigma(w1 x) + sigma(w2 x) - y)^2 / 2``.

    One sample ``(x, y)`` (symbols), ``sigma(z) = 1/(1 + e^-z)``; the neurons are ``w1, w2``.

    Example:
        >>> sigmoid_pair_loss().neurons
        ((w1,), (w2,))
    """
    w1, w2, x, y = sp.symbols("w1 w2 x y", real=True)

    def sigma(z: sp.Expr) -> sp.Expr:
        return 1 / (1 + sp.exp(-z))

    return SymbolicLoss(
        "sigmoid pair (sigma(w1 x) + sigma(w2 x) - y)^2/2", ((w1,), (w2,)), (sigma(w1 * x) + sigma(w2 * x) - y) ** 2 / 2
    )
