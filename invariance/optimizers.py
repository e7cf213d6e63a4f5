"""Stateful optimizers as stateless update rules on augmented neurons (Section 5.2).

An optimizer is written the optax way, as a pure pair acting elementwise on each
neuron's parameters:

    init(theta) -> state
    update(grad, state, t) -> (direction, new_state)      theta^(t+1) = theta^(t) + lr * direction

The stateless form of the paper takes the particle ``x_i = (theta_i, state_i)`` and the
rule

    U_i^(t)(X) = ( direction_i ,  (new_state_i - state_i) / lr ),

so that ``x_i + lr U_i`` is exactly one optimizer step. The rule contains the learning
rate (eq. 16 does too), so a :class:`StatelessOptimizer` is built for one ``lr`` and
refuses to step with another.

Conventions follow ``torch.optim`` exactly (checked step by step in the tests of the
torch layer):

* :func:`sgd`: ``direction = -g``.
* :func:`momentum` (``torch.optim.SGD(momentum=mu)``, dampening 0): ``b' = mu b + g``,
  ``direction = -b'`` (Nesterov: ``-(g + mu b')``).
* :func:`adam` (``torch.optim.Adam``): ``m' = b1 m + (1-b1) g``,
  ``v' = b2 v + (1-b2) g^2``, ``direction = -(m'/(1-b1^(t+1))) / (sqrt(v'/(1-b2^(t+1))) + eps)``
  with ``t = 0`` at the first step. The printed eq. (16) uses the *old* moments and the
  exponent ``t``; it is kept as ``adam(variant="paper")`` and agrees with Adam only after
  re-indexing (it lags one step behind and is undefined at ``t = 0``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Hashable, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .arguments import check_eta, check_int
from .collections import DEFAULT_QUADRATURE, Collection, FiniteCollection, LazyBase, LazyCollection, as_collection
from .domains import ParticleDomain
from .rules import UpdateRule

__all__ = ["Transform", "StatelessOptimizer", "sgd", "momentum", "adam"]

FloatArray = NDArray[np.floating]


class Transform(ABC):
    """An elementwise optimizer ``(init, update)``; ``n_state`` state vectors per parameter vector."""

    n_state: int = 0
    name: str = "transform"

    def init(self, theta: FloatArray) -> FloatArray:
        """The initial state, shape ``(k, n_state * p)`` for parameters of shape ``(k, p)``."""
        return np.zeros((theta.shape[0], self.n_state * theta.shape[1]), dtype=theta.dtype)

    @abstractmethod
    def update(self, grad: FloatArray, state: FloatArray, t: int) -> tuple[FloatArray, FloatArray]:
        """``(direction, new_state)`` for gradient ``grad`` (shape ``(k, p)``) at step ``t``."""

    def state_bounds(self, p: int) -> tuple[list[float], list[str]]:
        """Lower bounds of the ``n_state * p`` state coordinates and what they are (default: free)."""
        return [-math.inf] * (self.n_state * p), [""] * (self.n_state * p)


@dataclass(frozen=True)
class _SGD(Transform):
    name: str = "sgd"

    def update(self, grad: FloatArray, state: FloatArray, t: int) -> tuple[FloatArray, FloatArray]:
        return -grad, state


@dataclass(frozen=True)
class _Momentum(Transform):
    mu: float = 0.9
    nesterov: bool = False
    n_state: int = 1
    name: str = "momentum"

    def update(self, grad: FloatArray, state: FloatArray, t: int) -> tuple[FloatArray, FloatArray]:
        buf = self.mu * state + grad
        direction = -(grad + self.mu * buf) if self.nesterov else -buf
        return direction, buf


@dataclass(frozen=True)
class _Adam(Transform):
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    variant: str = "torch"
    n_state: int = 2
    name: str = "adam"

    def update(self, grad: FloatArray, state: FloatArray, t: int) -> tuple[FloatArray, FloatArray]:
        p = grad.shape[1]
        m: FloatArray = state[:, :p]
        v: FloatArray = state[:, p:]
        m_new: FloatArray = self.b1 * m + (1 - self.b1) * grad
        v_new: FloatArray = self.b2 * v + (1 - self.b2) * grad * grad
        if self.variant == "torch":
            mh: FloatArray = m_new / (1 - self.b1 ** (t + 1))
            vh: FloatArray = v_new / (1 - self.b2 ** (t + 1))
        else:  # eq. (16) as printed: old moments, exponent t
            if t == 0:
                raise ValueError("adam(variant='paper') is eq. (16) as printed: it divides by 1 - beta^t = 0 at t = 0")
            mh = m / (1 - self.b1**t)
            vh = v / (1 - self.b2**t)
        direction = -mh / (np.sqrt(vh) + self.eps)
        return direction, np.concatenate([m_new, v_new], axis=1)

    def state_bounds(self, p: int) -> tuple[list[float], list[str]]:
        # m is free; v is an average of squares: v >= 0 (sqrt(v) below)
        return [-math.inf] * p + [0.0] * p, [""] * p + ["Adam's second moment v >= 0"] * p


def _unit(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or not 0 <= v < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return v


def sgd() -> Transform:
    """Plain gradient descent: ``direction = -g`` (no state)."""
    return _SGD()


def momentum(mu: float = 0.9, nesterov: bool = False) -> Transform:
    """Heavy-ball momentum as ``torch.optim.SGD(momentum=mu)``: ``b' = mu b + g``, ``direction = -b'``.

    Args:
        mu: momentum coefficient in ``[0, 1)``.
        nesterov: use ``direction = -(g + mu b')`` as torch's ``nesterov=True``.
    """
    return _Momentum(mu=_unit("mu", mu), nesterov=bool(nesterov))


def adam(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, variant: Literal["torch", "paper"] = "torch"
) -> Transform:
    """Adam (Kingma & Ba) as ``torch.optim.Adam``, or eq. (16) as printed (``variant="paper"``).

    Args:
        b1, b2: moment decay rates in ``[0, 1)``.
        eps: the denominator offset, ``> 0``.
        variant: ``"torch"`` (the real update, new moments, exponent ``t+1``) or
            ``"paper"`` (eq. 16 literally: old moments, exponent ``t``; undefined at t = 0).
    """
    if variant not in ("torch", "paper"):
        raise ValueError(f"variant must be 'torch' or 'paper', got {variant!r}")
    e = float(eps)
    if not math.isfinite(e) or e <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    return _Adam(b1=_unit("b1", b1), b2=_unit("b2", b2), eps=e, variant=variant)


@dataclass(frozen=True)
class _AugmentedBase(LazyBase):
    """Entries ``(theta_i, init(theta_i))`` of a lazily infinite augmented collection."""

    source: LazyBase
    transform: Transform

    @property
    def dim(self) -> int:
        return self.source.dim * (1 + self.transform.n_state)

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        theta = self.source.rows(indices)
        return np.concatenate([theta, self.transform.init(theta)], axis=1)


@dataclass(frozen=True)
class _ParameterBase(LazyBase):
    """The parameter part ``theta_i`` of an augmented base."""

    source: LazyBase
    p: int

    @property
    def dim(self) -> int:
        return self.p

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        return self.source.rows(indices)[:, : self.p]


class StatelessOptimizer(UpdateRule):
    """An optimizer in the stateless form of Section 5.2, on particles ``(theta_i, state_i)``.

    ``U_i = (direction_i, (new_state_i - state_i) / lr)`` with the direction and state of
    ``transform`` applied to the gradient ``grad_i L(Theta)``. Equivariant (P1) whenever
    ``L`` is FSym-symmetric (Propositions 1 and 3): the transform acts on each neuron
    alone, and the gradient is equivariant.

    Args:
        loss: an :class:`~invariance.potentials.InteractionPotential` (or any object with
            ``gradient(points)``; lazy collections need ``mean_field_gradient``). A loss
            with the attribute ``time_dependent = True`` is a time-dependent ``L^(t)``
            (footnote 3: mini-batches, parameters outside the neurons) and is called as
            ``gradient(points, t)`` on finite collections, e.g.
            :class:`invariance.torch.NeuronLoss`.
        transform: :func:`sgd`, :func:`momentum` or :func:`adam`.
        learning_rate: the step size ``lr`` the rule is built for.
        quadrature: base entries approximating the mean field on lazy collections.

    Example:
        >>> from invariance.potentials import InteractionPotential, Quadratic
        >>> opt = StatelessOptimizer(InteractionPotential(Quadratic()), adam(), learning_rate=0.1)
        >>> X = opt.augment(FiniteCollection([[1.0], [-2.0]]))   # particles (theta, m, v)
        >>> X.dim
        3
        >>> opt.parameters(opt.step(X, eta=0.1)).points.ravel().round(4).tolist()
        [0.9, -1.9]
    """

    def __init__(self, loss: Any, transform: Transform, learning_rate: float, quadrature: int = DEFAULT_QUADRATURE):
        if not callable(getattr(loss, "gradient", None)):
            raise TypeError("loss must have a gradient(points) method")
        if not isinstance(transform, Transform):
            raise TypeError("transform must be a Transform (sgd(), momentum(...), adam(...))")
        self.loss = loss
        self.transform = transform
        self.learning_rate = check_eta(learning_rate, "learning_rate")
        self.quadrature = check_int(quadrature, "quadrature", 1)
        self.name = f"stateless {transform.name} (lr={self.learning_rate:g})"

    def domain(self, dim: int) -> ParticleDomain | None:
        """The particles ``(theta_i, state_i)`` with the state's constraints (Adam: ``v >= 0``)."""
        k = 1 + self.transform.n_state
        if dim % k:
            return None
        p = dim // k
        lower, names = self.transform.state_bounds(p)
        if all(math.isinf(v) for v in lower):
            return None
        return ParticleDomain.from_bounds(dim, lower={p + j: v for j, v in enumerate(lower) if math.isfinite(v)},
                                          names={p + j: n for j, n in enumerate(names) if n})

    def _split(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        k = 1 + self.transform.n_state
        if points.shape[1] % k:
            raise ValueError(
                f"augmented particles must have D = {k} * p coordinates for {self.transform.name}, "
                f"got D = {points.shape[1]}"
            )
        p = points.shape[1] // k
        return points[:, :p], points[:, p:]

    def augment(self, theta: Collection | ArrayLike) -> Collection:
        """The particles ``(theta_i, init(theta_i))`` for a collection of parameters."""
        X = as_collection(theta)
        if isinstance(X, FiniteCollection):
            return FiniteCollection(np.concatenate([X.points, self.transform.init(X.points)], axis=1))
        over = {}
        if X.support:
            keys = np.array(X.support)
            rows = X.entries(keys)
            full = np.concatenate([rows, self.transform.init(rows)], axis=1)
            over = {int(k): full[n] for n, k in enumerate(keys)}
        return LazyCollection(_AugmentedBase(X.base, self.transform), over)

    def parameters(self, X: Collection) -> Collection:
        """The parameter part ``{theta_i}`` of augmented particles."""
        if isinstance(X, FiniteCollection):
            return FiniteCollection(self._split(X.points)[0])
        p = X.dim // (1 + self.transform.n_state)
        over = {k: v[:p] for k, v in X.overrides.items()}
        return LazyCollection(_ParameterBase(X.base, p), over)

    def _direction_and_state_rate(self, grad: FloatArray, state: FloatArray, t: int) -> FloatArray:
        direction, new_state = self.transform.update(grad, state, t)
        return np.concatenate([direction, (new_state - state) / self.learning_rate], axis=1)

    def update_points(self, points: FloatArray, t: int) -> FloatArray:
        theta, state = self._split(points)
        if getattr(self.loss, "time_dependent", False):  # L^(t): mini-batches, frozen parameters (footnote 3)
            grad = np.asarray(self.loss.gradient(theta, t))
        else:
            grad = np.asarray(self.loss.gradient(theta))
        return self._direction_and_state_rate(grad, state, t)

    def step(self, X: Collection | ArrayLike, eta: float, t: int = 0) -> Collection:
        eta = check_eta(eta)
        if not math.isclose(eta, self.learning_rate, rel_tol=1e-12):
            raise ValueError(
                f"eta = {eta:g} differs from the learning_rate = {self.learning_rate:g} this stateless rule was "
                "built for (its state update divides by the learning rate, as in eq. 16)"
            )
        return super().step(X, eta, t)

    @property
    def supports_lazy(self) -> bool:
        return callable(getattr(self.loss, "mean_field_gradient", None))

    def lazy_context(self, X: LazyCollection, t: int) -> Hashable:
        p = X.dim // (1 + self.transform.n_state)
        return (_ParameterBase(X.base, p), self.quadrature)

    def pointwise(self, indices: NDArray[np.int64], rows: FloatArray, context: Any, t: int) -> FloatArray:
        base, n = context
        theta, state = self._split(rows)
        grad = np.asarray(self.loss.mean_field_gradient(theta, base.atoms(n)))
        return self._direction_and_state_rate(grad, state, t)
