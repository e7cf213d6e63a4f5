"""Permutation-symmetric losses with known smoothness constants (Section 5.1).

The losses here are interaction potentials

    L(X) = sum_i f(x_i) + c * sum_{i<j} g(x_i - x_j),      g even,

with ``c = 1/n`` (``scaling="mean_field"``, the default) or ``c = 1`` (``"sum"``).
They are FSym-symmetric (eq. 11), so gradient descent on them satisfies P1
(Proposition 1); their gradient is Lipschitz (eq. 12), so it satisfies P2-K
(Proposition 2) with the constant :meth:`InteractionPotential.smoothness_constant`.

Each term knows a bound ``beta`` on the norm of its Hessian. By Gershgorin on the
D x D blocks of the Hessian of L,

    K <= alpha + 2 c (n - 1) beta_g,        alpha = sup ||Hess f||,

and for purely quadratic terms ``f = a/2 ||x||^2``, ``g = b/2 ||d||^2`` the constant is
exact: the Hessian is ``a I + c b (n I - 1 1^T)`` with eigenvalues ``a`` and ``a + c n b``.

On a lazily infinite collection the mean-field potential has per-neuron gradient
``grad f(x_i) + E_{y ~ mu_X} grad g(x_i - y)`` (the limit of ``c = 1/n``), where
``mu_X`` is the limiting empirical measure, which finitely many overrides do not change.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SiteTerm",
    "PairTerm",
    "Quadratic",
    "LogCosh",
    "HarmonicPair",
    "GaussianPair",
    "HuberPair",
    "InteractionPotential",
]

FloatArray = NDArray[np.floating]


def _finite(name: str, value: float, positive: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{name} must be a finite number{' > 0' if positive else ''}, got {value!r}")
    return v


class SiteTerm(ABC):
    """A one-body term ``f(x)`` of an interaction potential."""

    @abstractmethod
    def value(self, x: FloatArray) -> FloatArray:
        """``f`` of each row of ``x`` (shape ``(k,)``)."""

    @abstractmethod
    def gradient(self, x: FloatArray) -> FloatArray:
        """``grad f`` of each row (shape ``(k, D)``)."""

    @property
    @abstractmethod
    def hessian_bound(self) -> float:
        """``sup_x ||Hess f(x)||`` (spectral norm)."""

    #: ``a`` when ``f = a/2 ||x||^2``, else ``None``.
    quadratic_coefficient: float | None = None
    #: whether ``grad f`` is C^1 (P3).
    smooth: bool = True


class PairTerm(ABC):
    """A two-body term ``g(d)``, ``d = x_i - x_j``, with ``g(d) = g(-d)``."""

    @abstractmethod
    def value(self, d: FloatArray) -> FloatArray:
        """``g`` of each row of ``d`` (shape ``d.shape[:-1]``)."""

    @abstractmethod
    def gradient(self, d: FloatArray) -> FloatArray:
        """``grad g`` of each row (shape of ``d``); odd in ``d``."""

    @property
    @abstractmethod
    def hessian_bound(self) -> float:
        """``sup_d ||Hess g(d)||`` (spectral norm)."""

    quadratic_coefficient: float | None = None
    smooth: bool = True


@dataclass(frozen=True)
class Quadratic(SiteTerm):
    """``f(x) = a/2 ||x||^2``; ``Hess f = a I``."""

    a: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _finite("a", self.a))
        object.__setattr__(self, "quadratic_coefficient", self.a)

    def value(self, x: FloatArray) -> FloatArray:
        return 0.5 * self.a * np.sum(x * x, axis=-1)

    def gradient(self, x: FloatArray) -> FloatArray:
        return self.a * x

    @property
    def hessian_bound(self) -> float:
        return abs(self.a)


@dataclass(frozen=True)
class LogCosh(SiteTerm):
    """``f(x) = a sum_k log cosh(x_k)``; ``Hess f = a diag(sech^2 x)``, norm <= |a|."""

    a: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _finite("a", self.a))

    def value(self, x: FloatArray) -> FloatArray:
        ax = np.abs(x)
        return self.a * np.sum(ax + np.log1p(np.exp(-2.0 * ax)) - math.log(2.0), axis=-1)

    def gradient(self, x: FloatArray) -> FloatArray:
        return self.a * np.tanh(x)

    @property
    def hessian_bound(self) -> float:
        return abs(self.a)


@dataclass(frozen=True)
class HarmonicPair(PairTerm):
    """``g(d) = b/2 ||d||^2``: springs between neurons; ``Hess g = b I``."""

    b: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "b", _finite("b", self.b))
        object.__setattr__(self, "quadratic_coefficient", self.b)

    def value(self, d: FloatArray) -> FloatArray:
        return 0.5 * self.b * np.sum(d * d, axis=-1)

    def gradient(self, d: FloatArray) -> FloatArray:
        return self.b * d

    @property
    def hessian_bound(self) -> float:
        return abs(self.b)


@dataclass(frozen=True)
class GaussianPair(PairTerm):
    """``g(d) = c exp(-||d||^2 / (2 s^2))``; ``||Hess g|| <= |c| / s^2`` (attained at d = 0)."""

    c: float = 1.0
    s: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", _finite("c", self.c))
        object.__setattr__(self, "s", _finite("s", self.s, positive=True))

    def value(self, d: FloatArray) -> FloatArray:
        return self.c * np.exp(-np.sum(d * d, axis=-1) / (2 * self.s**2))

    def gradient(self, d: FloatArray) -> FloatArray:
        w = np.exp(-np.sum(d * d, axis=-1, keepdims=True) / (2 * self.s**2))
        return -self.c * d * w / self.s**2

    @property
    def hessian_bound(self) -> float:
        return abs(self.c) / self.s**2


@dataclass(frozen=True)
class HuberPair(PairTerm):
    """``g(d) = c sum_k h(d_k)``, ``h(u) = u^2/2`` for ``|u| <= delta``, else ``delta |u| - delta^2/2``.

    Its gradient ``c clip(d, -delta, delta)`` is Lipschitz (constant ``|c|``) but not C^1:
    gradient descent on it satisfies P1 and P2-K but not P3 (a negative control).
    """

    c: float = 1.0
    delta: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", _finite("c", self.c))
        object.__setattr__(self, "delta", _finite("delta", self.delta, positive=True))
        object.__setattr__(self, "smooth", False)

    def value(self, d: FloatArray) -> FloatArray:
        a = np.abs(d)
        h = np.where(a <= self.delta, 0.5 * d * d, self.delta * a - 0.5 * self.delta**2)
        return self.c * np.sum(h, axis=-1)

    def gradient(self, d: FloatArray) -> FloatArray:
        return self.c * np.clip(d, -self.delta, self.delta)

    @property
    def hessian_bound(self) -> float:
        return abs(self.c)


@dataclass(frozen=True)
class InteractionPotential:
    """``L(X) = sum_i f(x_i) + c sum_{i<j} g(x_i - x_j)``, an FSym-symmetric loss (eq. 11).

    Args:
        site: the one-body term ``f`` (or ``None``).
        pair: the two-body term ``g`` (or ``None``).
        scaling: ``"mean_field"`` (``c = 1/n``, the default; also defined on lazily infinite
            collections) or ``"sum"`` (``c = 1``).

    Example:
        >>> L = InteractionPotential(Quadratic(1.0), HarmonicPair(2.0))
        >>> L.smoothness_constant(n=10)   # exact: eigenvalues a and a + b
        3.0
    """

    site: SiteTerm | None = None
    pair: PairTerm | None = None
    scaling: Literal["mean_field", "sum"] = "mean_field"

    def __post_init__(self) -> None:
        if self.site is None and self.pair is None:
            raise ValueError("an InteractionPotential needs a site term, a pair term, or both")
        if self.scaling not in ("mean_field", "sum"):
            raise ValueError(f"scaling must be 'mean_field' or 'sum', got {self.scaling!r}")

    def _c(self, n: int) -> float:
        return 1.0 / n if self.scaling == "mean_field" else 1.0

    @property
    def smooth(self) -> bool:
        """Whether the gradient is C^1 (so gradient descent satisfies P3)."""
        return all(term.smooth for term in (self.site, self.pair) if term is not None)

    def value(self, points: FloatArray) -> float:
        """``L(X)`` for the ``(n, D)`` array of entries."""
        x = np.asarray(points, dtype=np.float64)
        n = x.shape[0]
        total = 0.0
        if self.site is not None:
            total += float(np.sum(self.site.value(x)))
        if self.pair is not None and n > 1:
            iu = np.triu_indices(n, k=1)
            total += self._c(n) * float(np.sum(self.pair.value(x[iu[0]] - x[iu[1]])))
        return total

    def gradient(self, points: FloatArray) -> FloatArray:
        """``grad L(X)``, one row per neuron: ``grad f(x_i) + c sum_{j != i} grad g(x_i - x_j)``."""
        x = np.asarray(points)
        n = x.shape[0]
        out = np.zeros_like(x)
        if self.site is not None:
            out = out + self.site.gradient(x)
        if self.pair is not None and n > 1:
            out = out + self._c(n) * self._pair_sum(x, x)
        return out

    def _pair_sum(self, rows: FloatArray, others: FloatArray, chunk: int = 256) -> FloatArray:
        assert self.pair is not None
        out = np.zeros_like(rows)
        for s in range(0, rows.shape[0], chunk):
            d = rows[s : s + chunk, None, :] - others[None, :, :]
            out[s : s + chunk] = np.sum(self.pair.gradient(d), axis=1)
        return out

    def mean_field_gradient(self, rows: FloatArray, atoms: FloatArray) -> FloatArray:
        """``grad f(x) + E_{y ~ mu} grad g(x - y)`` for each row, ``mu`` = uniform on ``atoms``."""
        out = np.zeros_like(rows, dtype=np.float64)
        if self.site is not None:
            out = out + self.site.gradient(rows)
        if self.pair is not None:
            if self.scaling != "mean_field":
                raise ValueError("only scaling='mean_field' is defined on a lazily infinite collection")
            out = out + self._pair_sum(rows, atoms) / atoms.shape[0]
        return out

    def smoothness_constant(self, n: int | None = None) -> float:
        """A constant K with ``||grad L(X) - grad L(Y)|| <= K ||X - Y||`` (eq. 12).

        Args:
            n: the number of neurons, or ``None`` for a lazily infinite collection (then
                collections differ in finitely many entries and the mean field is fixed).

        Returns:
            The exact constant when every term is quadratic; otherwise the Gershgorin
            bound ``alpha + 2 c (n - 1) beta`` (``alpha + beta`` when ``n`` is ``None``).
        """
        if n is not None and int(n) < 1:
            raise ValueError(f"n must be >= 1 or None, got {n}")
        quadratic = all(t is None or t.quadratic_coefficient is not None for t in (self.site, self.pair))
        a = 0.0 if self.site is None else self.site.hessian_bound
        b = 0.0 if self.pair is None else self.pair.hessian_bound
        if quadratic:
            qa = 0.0 if self.site is None else float(self.site.quadratic_coefficient or 0.0)
            qb = 0.0 if self.pair is None else float(self.pair.quadratic_coefficient or 0.0)
            if n is None:
                if self.scaling != "mean_field" and self.pair is not None:
                    raise ValueError("only scaling='mean_field' is defined on a lazily infinite collection")
                return abs(qa + qb)
            if int(n) == 1:
                return abs(qa)
            return max(abs(qa), abs(qa + self._c(int(n)) * int(n) * qb))
        if n is None:
            return a + b
        return a + 2.0 * self._c(int(n)) * (int(n) - 1) * b
