"""Update rules ``U^(t)`` and the step ``x_i <- x_i + eta U_i^(t)(X)`` (eq. 4).

An :class:`UpdateRule` maps a collection to the collection of its updates. Finite
collections go through :meth:`UpdateRule.update_points`, an ``(n, D) -> (n, D)`` array
function. Rules that also make sense on lazily infinite collections implement two
hooks: :meth:`UpdateRule.lazy_context`, a hashable summary of what the update of a
neuron depends on besides the neuron itself (for mean-field rules: the limiting measure,
determined by the base), and :meth:`UpdateRule.pointwise`, the update of given neurons
in that context. Then ``U(X)`` and ``X + eta U(X)`` are again a base plus finitely many
overrides.

Rules provided here:

* :class:`FunctionRule` -- any user function on ``(n, D)`` arrays (finite collections);
* :class:`PointwiseRule` -- ``U_i = F(x_i)``, the same map for every neuron;
* :class:`GradientDescent` -- ``U = -grad L`` (eq. 10) for a symmetric loss, mean-field
  on lazy collections; :func:`centering_rule` is the rule ``U_i = -K (x_i - mean X)``;
* negative controls that break P1: :class:`IndexBiasedRule` (one index is pushed) and
  :class:`AnchoredRule` (every neuron is pulled to one fixed index).

Stateful optimizers in stateless form (Section 5.2) are in :mod:`invariance.optimizers`.
"""

from __future__ import annotations

import math
import weakref
from abc import ABC, abstractmethod
from typing import Any, Callable, Hashable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .arguments import check_eta, check_int, check_K, check_t
from .collections import (
    DEFAULT_QUADRATURE,
    Collection,
    FiniteCollection,
    LazyBase,
    LazyCollection,
    as_collection,
)
from .domains import ParticleDomain
from .potentials import HarmonicPair, InteractionPotential

__all__ = [
    "UpdateRule",
    "FunctionRule",
    "PointwiseRule",
    "GradientDescent",
    "IndexBiasedRule",
    "AnchoredRule",
    "centering_rule",
    "check_rule",
    "NonFiniteUpdateError",
]

FloatArray = NDArray[np.floating]


class NonFiniteUpdateError(ValueError):
    """A rule returned NaN or inf updates (``.rule`` its name, ``.t`` the step)."""

    def __init__(self, message: str, rule: str = "", t: int = 0) -> None:
        super().__init__(message)
        self.rule, self.t = rule, t


def check_rule(rule: object, X: Collection | None = None, name: str = "rule") -> UpdateRule:
    """``rule`` itself if it is an :class:`UpdateRule` that can act on ``X`` (lazy collections
    need a rule with :attr:`UpdateRule.supports_lazy`); ``TypeError`` otherwise."""
    if not isinstance(rule, UpdateRule):
        raise TypeError(f"{name} must be an UpdateRule, got {type(rule).__name__}")
    if isinstance(X, LazyCollection) and not rule.supports_lazy:
        raise TypeError(f"{name} {rule.name!r} is defined on finite collections only, but X is a LazyCollection")
    return rule


class UpdateRule(ABC):
    """A time-dependent update rule ``U^(t): (R^D)^I -> (R^D)^I`` (Section 3, eq. 4).

    Subclasses implement :meth:`update_points` (finite collections) and, to act on lazy
    collections, :meth:`lazy_context` and :meth:`pointwise`.

    Example:
        >>> rule = centering_rule(K=2.0)
        >>> X = FiniteCollection([[0.0], [1.0]])
        >>> rule.step(X, eta=0.25).points.ravel().tolist()
        [0.25, 0.75]
    """

    #: a short human-readable name used in reports.
    name: str = "rule"

    # -- to implement -----------------------------------------------------------------
    @abstractmethod
    def update_points(self, points: FloatArray, t: int) -> FloatArray:
        """``U^(t)(X)`` for a finite collection given as an ``(n, D)`` array."""

    @property
    def supports_lazy(self) -> bool:
        """Whether the rule acts on :class:`LazyCollection` (it overrides :meth:`pointwise`)."""
        return type(self).pointwise is not UpdateRule.pointwise

    def lazy_context(self, X: LazyCollection, t: int) -> Hashable:
        """What ``U_i(X)`` depends on besides ``(i, x_i)``; must be hashable and equal for
        collections with equal updates on their base. Default: the base itself."""
        return X.base

    def pointwise(self, indices: NDArray[np.int64], rows: FloatArray, context: Any, t: int) -> FloatArray:
        """``U_i`` for neurons ``indices`` with entries ``rows`` in ``context`` (lazy rules)."""
        raise TypeError(f"{self.name} is defined on finite collections only")

    def domain(self, dim: int) -> ParticleDomain | None:
        """Where the particles of this rule live in ``R^dim`` (``None``: all of it).

        Checkers perturb inside this domain (:class:`~invariance.domains.ParticleDomain`):
        stateless Adam declares its second moments ``v >= 0``. A rule built with
        ``domain=`` returns that domain.
        """
        dom = getattr(self, "_domain", None)
        return dom if isinstance(dom, ParticleDomain) and dom.dim == dim else None

    # -- provided ---------------------------------------------------------------------
    def update(self, X: Collection | ArrayLike, t: int = 0) -> Collection:
        """``U^(t)(X)``: the collection of updates, of the same kind as ``X``.

        Raises:
            ValueError: the rule returned the wrong shape, NaN or inf.
            TypeError: ``X`` is lazy and the rule is defined on finite collections only.
        """
        X = as_collection(X)
        t = check_t(t)
        if isinstance(X, FiniteCollection):
            return FiniteCollection(self._checked(self.update_points(X.points, t), X.points.shape, t))
        if not self.supports_lazy:
            raise TypeError(f"{self.name} is defined on finite collections only, got a LazyCollection")
        ctx = self.lazy_context(X, t)
        base = _RuleBase(X.base, self, ctx, t, None)
        return LazyCollection(base, self._lazy_overrides(X, ctx, t, None))

    def step(self, X: Collection | ArrayLike, eta: float, t: int = 0) -> Collection:
        """One step of eq. (4): ``x_i^(t+1) = x_i^(t) + eta U_i^(t)(X)``.

        Args:
            X: the collection at time ``t`` (finite or lazy).
            eta: the step size, ``eta > 0``.
            t: the time step (rules may depend on it).

        Returns:
            The collection at time ``t + 1``, of the same kind and dtype as ``X``.
        """
        eta = check_eta(eta)
        X = as_collection(X)
        t = check_t(t)
        if isinstance(X, FiniteCollection):
            u = self._checked(self.update_points(X.points, t), X.points.shape, t)
            return FiniteCollection((X.points + eta * u).astype(X.dtype, copy=False))
        if not self.supports_lazy:
            raise TypeError(f"{self.name} is defined on finite collections only, got a LazyCollection")
        ctx = self.lazy_context(X, t)
        return LazyCollection(_RuleBase(X.base, self, ctx, t, eta), self._lazy_overrides(X, ctx, t, eta))

    def trajectory(self, X: Collection | ArrayLike, eta: float, steps: int, t0: int = 0) -> list[Collection]:
        """``[X^(t0), X^(t0+1), ..., X^(t0+steps)]``."""
        if int(steps) < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        out = [as_collection(X)]
        for k in range(int(steps)):
            out.append(self.step(out[-1], eta, t0 + k))
        return out

    def _lazy_overrides(self, X: LazyCollection, ctx: Any, t: int, eta: float | None) -> dict[int, FloatArray]:
        keys = np.array(X.support, dtype=np.int64)
        if keys.size == 0:
            return {}
        rows = X.entries(keys)
        u = self._checked(self.pointwise(keys, rows, ctx, t), rows.shape, t)
        vals = u if eta is None else rows + eta * u
        return {int(k): vals[n] for n, k in enumerate(keys)}

    def _checked(self, u: ArrayLike, shape: tuple[int, ...], t: int) -> FloatArray:
        arr = np.asarray(u)
        if arr.shape != shape:
            raise ValueError(f"{self.name} returned updates of shape {arr.shape}, expected {shape}")
        if not np.all(np.isfinite(arr)):
            raise NonFiniteUpdateError(f"{self.name} returned NaN or inf updates at t = {t}", self.name, t)
        return arr

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class _RuleBase(LazyBase):
    """Base of ``U(X)`` (``eta is None``) or of ``X + eta U(X)``: evaluated neuron by neuron.

    A trajectory on a lazy collection is a chain of these bases. They are interned: one
    object per ``(source, rule, context, t, eta)``, so structural equality is identity
    and comparing two bases costs O(1) however long the chains. Evaluation walks the chain
    iteratively (no recursion limit on the number of steps), starting from the highest
    level whose prefix of entries is cached.
    """

    _interned: weakref.WeakValueDictionary[tuple[Any, ...], _RuleBase] = weakref.WeakValueDictionary()

    source: LazyBase
    rule: UpdateRule
    context: Hashable
    t: int
    eta: float | None
    _dim: int

    def __new__(cls, source: LazyBase, rule: UpdateRule, context: Hashable, t: int, eta: float | None) -> _RuleBase:
        key = (source, id(rule), context, t, eta)
        found = cls._interned.get(key)
        if found is not None and found.rule is rule:
            return found
        obj = super().__new__(cls)
        obj.source, obj.rule, obj.context, obj.t, obj.eta = source, rule, context, t, eta
        obj._dim = source.dim
        cls._interned[key] = obj
        return obj

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        kind = "U" if self.eta is None else f"step(eta={self.eta:g})"
        return f"_RuleBase({kind} of {self.rule.name!r} at t={self.t})"

    @property
    def dim(self) -> int:
        return self._dim

    def evaluate(self, indices: NDArray[np.int64]) -> FloatArray:
        m = indices.size
        prefix = bool(m) and indices[0] == 0 and indices[-1] == m - 1 and np.array_equal(indices, np.arange(m))
        chain: list[_RuleBase] = []
        level: LazyBase = self
        rows: FloatArray | None = None
        while isinstance(level, _RuleBase):
            chain.append(level)
            level = level.source
            if prefix:
                rows = level.cached_atoms(m)
                if rows is not None:
                    break
        if rows is None:
            rows = level.rows(indices)
        for lvl in reversed(chain):
            u = np.asarray(lvl.rule.pointwise(indices, rows, lvl.context, lvl.t), dtype=np.float64)
            rows = u if lvl.eta is None else rows + lvl.eta * u
        return rows


class FunctionRule(UpdateRule):
    """A rule given by a function on ``(n, D)`` arrays (finite collections only).

    Args:
        fn: ``fn(points)`` or, with ``time_dependent=True``, ``fn(points, t)``; returns
            the ``(n, D)`` array of updates ``U_i``.
        name: used in reports.
        domain: the :class:`~invariance.domains.ParticleDomain` of its particles (default ``R^D``).

    Example:
        >>> rule = FunctionRule(lambda x: -(x - x.mean(axis=0)), name="centering")
        >>> rule.update(FiniteCollection([[0.0], [2.0]])).points.ravel().tolist()
        [1.0, -1.0]
    """

    def __init__(self, fn: Callable[..., ArrayLike], name: str = "function rule", time_dependent: bool = False,
                 domain: ParticleDomain | None = None):
        if not callable(fn):
            raise TypeError("fn must be callable")
        if domain is not None and not isinstance(domain, ParticleDomain):
            raise TypeError(f"domain must be a ParticleDomain or None, got {type(domain).__name__}")
        self._domain = domain
        self.fn = fn
        self.name = name
        self.time_dependent = bool(time_dependent)

    def update_points(self, points: FloatArray, t: int) -> FloatArray:
        out = self.fn(points, t) if self.time_dependent else self.fn(points)
        return np.asarray(out)


class PointwiseRule(UpdateRule):
    """``U_i(X) = F(x_i)``: every neuron moves by the same map of its own position.

    Equivariant (P1) for any ``F``; P2-K with ``K = Lip(F)``; P3 iff ``F`` is C^1. With
    ``F(x) = -c |x|`` (elementwise) it is a kinked negative control for P3.

    Args:
        fn: vectorised ``F``: ``(k, D) -> (k, D)``.
        name: used in reports.
        domain: the :class:`~invariance.domains.ParticleDomain` of its particles (default ``R^D``).
    """

    def __init__(self, fn: Callable[[FloatArray], ArrayLike], name: str = "pointwise rule",
                 domain: ParticleDomain | None = None):
        if not callable(fn):
            raise TypeError("fn must be callable")
        if domain is not None and not isinstance(domain, ParticleDomain):
            raise TypeError(f"domain must be a ParticleDomain or None, got {type(domain).__name__}")
        self._domain = domain
        self.fn = fn
        self.name = name

    def update_points(self, points: FloatArray, t: int) -> FloatArray:
        return np.asarray(self.fn(points))

    def lazy_context(self, X: LazyCollection, t: int) -> Hashable:
        return None

    def pointwise(self, indices: NDArray[np.int64], rows: FloatArray, context: Any, t: int) -> FloatArray:
        return np.asarray(self.fn(rows), dtype=np.float64)


class GradientDescent(UpdateRule):
    """Gradient descent ``U(X) = -grad L(X)`` on a permutation-symmetric loss (eq. 10).

    By Proposition 1 it satisfies P1 when ``L`` is FSym-symmetric, and by Proposition 2
    it satisfies P2-K with K the Lipschitz constant of ``grad L`` (eq. 12), available as
    :attr:`smoothness_constant`. On a lazily infinite collection an
    :class:`~invariance.potentials.InteractionPotential` with mean-field scaling acts
    through its mean-field gradient, the measure taken from ``quadrature`` base entries.

    Args:
        loss: an :class:`~invariance.potentials.InteractionPotential`, or any object with
            ``gradient(points) -> (n, D)`` (finite collections only then).
        quadrature: number of base entries approximating the limiting measure.

    Example:
        >>> from invariance.potentials import InteractionPotential, Quadratic
        >>> gd = GradientDescent(InteractionPotential(site=Quadratic(1.0)))
        >>> gd.update(FiniteCollection([[2.0]])).points.tolist()
        [[-2.0]]
    """

    def __init__(self, loss: Any, quadrature: int = DEFAULT_QUADRATURE, name: str | None = None):
        if not callable(getattr(loss, "gradient", None)):
            raise TypeError("loss must have a gradient(points) method")
        self.loss = loss
        self.quadrature = check_int(quadrature, "quadrature", 1)
        self.name = name or f"GD on {type(loss).__name__}"

    @property
    def supports_lazy(self) -> bool:
        return callable(getattr(self.loss, "mean_field_gradient", None))

    def smoothness_constant(self, n: int | None = None) -> float:
        """K of Proposition 2 for ``n`` neurons (``None``: lazily infinite)."""
        if not callable(getattr(self.loss, "smoothness_constant", None)):
            raise TypeError(f"{type(self.loss).__name__} does not state a smoothness constant")
        return float(self.loss.smoothness_constant(n))

    def update_points(self, points: FloatArray, t: int) -> FloatArray:
        return -np.asarray(self.loss.gradient(points))

    def lazy_context(self, X: LazyCollection, t: int) -> Hashable:
        return (X.base, self.quadrature)

    def pointwise(self, indices: NDArray[np.int64], rows: FloatArray, context: Any, t: int) -> FloatArray:
        base, n = context
        return -np.asarray(self.loss.mean_field_gradient(rows, base.atoms(n)))


def centering_rule(K: float, quadrature: int = DEFAULT_QUADRATURE) -> GradientDescent:
    """The rule ``U_i(X) = -K (x_i - mean(X))``: gradient descent on ``K/(2n) sum_{i<j} ||x_i - x_j||^2``.

    It satisfies P1 and P2-K with exactly this ``K`` (the Hessian is ``K (I - 11^T/n)``),
    and it makes Lemma 2's lower bound tight: ``x_i' - x_j' = (1 - eta K)(x_i - x_j)``.
    At ``eta = 1/K`` every neuron lands on the mean: all merge, and Lemma 3's bijection
    fails exactly at the topological critical point.

    Args:
        K: the contraction rate, ``K > 0``.

    Example:
        >>> X = FiniteCollection([[0.0], [1.0], [5.0]])
        >>> centering_rule(2.0).step(X, eta=0.5).points.ravel().tolist()
        [2.0, 2.0, 2.0]
    """
    k = check_K(K)
    potential = InteractionPotential(pair=HarmonicPair(k))
    return GradientDescent(potential, quadrature=quadrature, name=f"centering(K={k:g})")


class IndexBiasedRule(UpdateRule):
    """Negative control for P1 and Lemma 1: ``U_i = V_i(X) + [i == index] push``.

    Neuron ``index`` is treated differently from the others, so the rule is not
    equivariant under permutations that move ``index``, and two coincident neurons, one
    of them ``index``, separate after one step.

    Args:
        rule: the underlying (equivariant) rule ``V``.
        index: the special index.
        push: the extra update of neuron ``index`` (default: all ones).
    """

    def __init__(self, rule: UpdateRule, index: int = 0, push: ArrayLike | None = None):
        if not isinstance(rule, UpdateRule):
            raise TypeError("rule must be an UpdateRule")
        self.rule = rule
        self.index = check_int(index, "index", 0)
        self.push = None if push is None else np.asarray(push, dtype=np.float64).reshape(-1)
        self.name = f"{rule.name} + push on index {index}"

    def _push(self, dim: int) -> FloatArray:
        if self.push is None:
            return np.ones(dim)
        if self.push.size != dim:
            raise ValueError(f"push has {self.push.size} coordinates, the collection has D = {dim}")
        return self.push

    def update_points(self, points: FloatArray, t: int) -> FloatArray:
        u = np.array(self.rule.update_points(points, t), dtype=points.dtype, copy=True)
        if self.index < u.shape[0]:
            u[self.index] += self._push(points.shape[1]).astype(points.dtype)
        return u

    @property
    def supports_lazy(self) -> bool:
        return self.rule.supports_lazy

    def lazy_context(self, X: LazyCollection, t: int) -> Hashable:
        return self.rule.lazy_context(X, t)

    def pointwise(self, indices: NDArray[np.int64], rows: FloatArray, context: Any, t: int) -> FloatArray:
        u = np.array(self.rule.pointwise(indices, rows, context, t), dtype=np.float64, copy=True)
        u[indices == self.index] += self._push(rows.shape[1])
        return u


class AnchoredRule(UpdateRule):
    """Negative control for P1: ``U_i = V_i(X) + c (x_anchor - x_i)``, every neuron pulled
    to one fixed index.

    Not equivariant under permutations that move ``anchor``. On a lazy collection,
    changing ``x_anchor`` changes infinitely many updates, so P2-K fails there while the
    altered property P2' (Appendix D) can still be measured.

    Args:
        rule: the underlying rule ``V``.
        strength: ``c``.
        anchor: the fixed index.
    """

    def __init__(self, rule: UpdateRule, strength: float = 1.0, anchor: int = 0):
        if not isinstance(rule, UpdateRule):
            raise TypeError("rule must be an UpdateRule")
        c = float(strength)
        if not math.isfinite(c):
            raise ValueError(f"strength must be finite, got {strength!r}")
        self.rule = rule
        self.strength = c
        self.anchor = check_int(anchor, "anchor", 0)
        self.name = f"{rule.name} + pull to index {anchor}"

    def update_points(self, points: FloatArray, t: int) -> FloatArray:
        if self.anchor >= points.shape[0]:
            raise ValueError(f"anchor {self.anchor} is outside the index set of a collection of {points.shape[0]}")
        return np.asarray(self.rule.update_points(points, t)) + self.strength * (points[self.anchor] - points)

    @property
    def supports_lazy(self) -> bool:
        return self.rule.supports_lazy

    def lazy_context(self, X: LazyCollection, t: int) -> Hashable:
        return (self.rule.lazy_context(X, t), tuple(X[self.anchor].tolist()))

    def pointwise(self, indices: NDArray[np.int64], rows: FloatArray, context: Any, t: int) -> FloatArray:
        inner, anchor = context
        u = np.asarray(self.rule.pointwise(indices, rows, inner, t), dtype=np.float64)
        return u + self.strength * (np.asarray(anchor) - rows)
