"""Lemma 4 / Lemma 5 (no splitting) and Lemma 2 (no merging or splitting).

Lemma 4 (Appendix A.2, eq. 20): if ``U`` satisfies P1 and P2-K then for ``i != j``

    ||U_i(X) - U_j(X)|| <= K ||x_i - x_j||,                                  (20)

because ``U_i(X) - U_j(X) = U_i(X) - U_i(PX)`` for the transposition ``P = (i j)``
(eqs. 21-22) and ``||X - PX|| = sqrt(2) ||x_i - x_j||`` (eqs. 23-27). Lemma 5
(Appendix D, eq. 59) gives the same bound under the altered property P2' (eq. 58). The
largest ratio ``||U_i - U_j|| / ||x_i - x_j||`` is therefore a free *lower bound* of any
valid K, computed from the updates of one collection.

Lemma 2 (eq. 7) follows from (20) and the triangle inequality (eqs. 28-29):

    (1 - eta K) ||x_i^(t) - x_j^(t)|| <= ||x_i^(t+1) - x_j^(t+1)|| <= (1 + eta K) ||x_i^(t) - x_j^(t)||.

The lower bound is tight: for ``U_i = -K (x_i - mean X)`` every distance is multiplied
by exactly ``|1 - eta K|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..collections import Collection
from ..rules import UpdateRule
from . import _common as c
from .result import StatementResult, _raise_unless

__all__ = [
    "UpdateDifferenceResult",
    "BiLipschitzResult",
    "update_difference_ratios",
    "continuity_lower_bound",
    "bi_lipschitz_ratios",
    "assert_update_difference_bound",
    "assert_bi_lipschitz",
]


class _Pairwise:
    """Mixin: map condensed pair positions to the indices of the collection."""

    examined: NDArray[np.int64]

    def pairs(self) -> NDArray[np.int64]:
        """All examined pairs ``(i, j)``, ``i < j``, in the order of ``ratios``, shape ``(m, 2)``."""
        return self.examined[c.condensed_pairs(int(self.examined.size))]


@dataclass(frozen=True, eq=False)
class UpdateDifferenceResult(_Pairwise, StatementResult):
    """Lemma 4 (eq. 20) / Lemma 5 (eq. 59) measured on one collection.

    Attributes:
        holds: ``||U_i - U_j|| <= K ||x_i - x_j|| + tolerance`` for every examined pair
            ``i != j`` (coincident pairs included: their updates must agree); ``True`` when
            no ``K`` was given.
        vacuous: fewer than two examined neurons.
        K: the claimed constant, or ``None`` (measure only).
        max_ratio: ``max ||U_i - U_j|| / ||x_i - x_j||`` over examined pairs of distinct
            entries: the free lower bound of K (0 when there is no such pair).
        worst_pair: the pair attaining ``max_ratio`` (indices), or ``None``.
        slack: ``K - max_ratio`` (``inf`` without ``K``); negative means violated.
        max_excess: ``max (||U_i - U_j|| - K ||x_i - x_j||)`` over all examined pairs,
            compared with ``tolerance`` (``-inf`` without ``K`` or pairs).
        excess_pair: the pair attaining ``max_excess`` (indices), or ``None``.
        coincident_pairs: number of examined pairs with coincident entries (no ratio).
        tolerance: ``default_tolerance(dtype).bound(scale)``, the scale being the largest
            ``||U_i||`` and ``K ||x_i||``.
        t: the time step; examined, exhaustive, n_examined: the indices examined.
        ratios: condensed per-pair ratios, ``NaN`` for coincident pairs; ``pairs()``
            gives the matching ``(i, j)`` (not shown in ``repr``).
    """

    statement: ClassVar[str] = "Lemma 4 / Lemma 5 (no splitting), eqs. (20), (59)"

    holds: bool
    vacuous: bool
    K: float | None
    max_ratio: float
    worst_pair: tuple[int, int] | None
    slack: float
    max_excess: float
    excess_pair: tuple[int, int] | None
    coincident_pairs: int
    tolerance: float
    t: int
    exhaustive: bool
    n_examined: int
    examined: NDArray[np.int64] = field(repr=False)
    ratios: NDArray[np.float64] = field(repr=False)

    @property
    def K_lower_bound(self) -> float:
        """The free lower bound of every valid K: ``max_ratio``."""
        return self.max_ratio


def update_difference_ratios(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    K: float | None = None,
    t: int = 0,
    *,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> UpdateDifferenceResult:
    """Per-pair ratios ``||U_i(X) - U_j(X)|| / ||x_i - x_j||`` and Lemma 4's bound ``<= K``.

    Lemma 4 (eq. 20; Lemma 5, eq. 59, under P2'): for a rule with P1 and P2-K,
    ``||U_i(X) - U_j(X)|| <= K ||x_i - x_j||`` for all ``i != j``. The check is made on
    differences, ``||U_i - U_j|| - K ||x_i - x_j|| <= tolerance``, so that coincident
    pairs (whose updates must agree) are covered too. Without ``K`` it only measures:
    ``max_ratio`` is then a lower bound of every valid K.

    Args:
        rule: the update rule.
        X: the collection ``X^(t)``, finite or lazy (or an ``(n, D)`` array).
        K: the claimed P2-K constant (finite, ``> 0``), or ``None`` to measure only.
        t: the time step.
        indices: examine only these indices (default: all of a finite collection; the
            overrides plus ``0..window-1`` of a lazy one).
        window: base indices examined on a lazy collection.

    Returns:
        An :class:`UpdateDifferenceResult`.

    Raises:
        ValueError: ``K`` is not a finite number > 0; bad ``indices``/``window``.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0], [1.0], [3.0]])
        >>> r = update_difference_ratios(centering_rule(2.0), X, K=2.0)
        >>> r.holds, round(r.max_ratio, 9)
        (True, 2.0)
        >>> update_difference_ratios(centering_rule(3.0), X, K=1.0).holds   # K too small
        False
    """
    rule = c.check_rule(rule)
    X = c.check_collection(X)
    K = c.check_optional_K(K)
    t = c.check_t(t)
    idx, exhaustive = c.examined_indices(X, indices, window)
    x = c.entries(X, idx)
    u = c.entries(rule.update(X, t), idx)
    tol = c.tolerance_for(X)
    coincidence = tol.bound(c.max_norm(x))
    d = c.pair_distances(x)
    du = c.pair_distances(u)
    distinct = d > coincidence
    ratios = np.full(d.shape, np.nan)
    ratios[distinct] = du[distinct] / d[distinct]
    m = int(idx.size)
    if np.any(distinct):
        k = int(np.nanargmax(ratios))
        max_ratio = float(ratios[k])
        a, b = c.condensed_pair(k, m)
        worst: tuple[int, int] | None = (int(idx[a]), int(idx[b]))
    else:
        max_ratio, worst = 0.0, None
    scale = max(c.max_norm(u), (K or 0.0) * c.max_norm(x))
    tolerance = tol.bound(scale)
    if K is not None and d.size:
        excess = du - K * d
        k = int(np.argmax(excess))
        max_excess = float(excess[k])
        a, b = c.condensed_pair(k, m)
        excess_pair: tuple[int, int] | None = (int(idx[a]), int(idx[b]))
        holds = max_excess <= tolerance
    else:
        max_excess, excess_pair, holds = -math.inf, None, True
    return UpdateDifferenceResult(
        holds=bool(holds),
        vacuous=m < 2,
        K=K,
        max_ratio=max_ratio,
        worst_pair=worst,
        slack=(K - max_ratio) if K is not None else math.inf,
        max_excess=max_excess,
        excess_pair=excess_pair,
        coincident_pairs=int(np.count_nonzero(~distinct)),
        tolerance=tolerance,
        t=t,
        exhaustive=exhaustive,
        n_examined=m,
        examined=c.readonly(idx),
        ratios=c.readonly(ratios),
    )


def continuity_lower_bound(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    t: int = 0,
    *,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> float:
    """The free lower bound of K that Lemma 4 gives: ``max_{i != j} ||U_i - U_j|| / ||x_i - x_j||``.

    Any K for which the rule satisfies P1 and P2-K (or P2', Lemma 5) is at least this
    number (eq. 20). Pairs of coincident entries are skipped; 0 if there is no other pair.

    Args:
        rule, X, t, indices, window: as in :func:`update_difference_ratios`.

    Returns:
        The lower bound, a float ``>= 0``.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> round(continuity_lower_bound(centering_rule(2.5), FiniteCollection([[0.0], [1.0]])), 9)
        2.5
    """
    return update_difference_ratios(rule, X, None, t, indices=indices, window=window).max_ratio


def assert_update_difference_bound(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    K: float,
    t: int = 0,
    *,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> UpdateDifferenceResult:
    """Assert Lemma 4 / Lemma 5 (see :func:`update_difference_ratios`); ``K`` is required.

    Args:
        the same as :func:`update_difference_ratios`.

    Returns:
        The :class:`UpdateDifferenceResult` (it holds).

    Raises:
        StatementViolation: some pair has ``||U_i - U_j|| > K ||x_i - x_j||`` beyond the
            tolerance; the message shows the result.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> assert_update_difference_bound(centering_rule(1.0), FiniteCollection([[0.0], [2.0]]), K=1.0).holds
        True
    """
    return _raise_unless(update_difference_ratios(rule, X, c.check_K(K), t, indices=indices, window=window))


@dataclass(frozen=True, eq=False)
class BiLipschitzResult(_Pairwise, StatementResult):
    """Lemma 2 (eq. 7) measured on one step.

    Attributes:
        holds: for every examined pair ``i != j``,
            ``(1 - eta K) d_ij - tolerance <= d'_ij <= (1 + eta K) d_ij + tolerance``
            with ``d = ||x_i^(t) - x_j^(t)||`` and ``d' = ||x_i^(t+1) - x_j^(t+1)||``.
        vacuous: no examined pair of distinct entries (all ratios undefined).
        eta, K, t: the step and the claimed constant.
        lower_bound, upper_bound: ``1 - eta K`` and ``1 + eta K``.
        lower_bound_vacuous: ``eta K >= 1`` (past the topological critical point
            ``eta* = 1/K`` the lower bound asserts nothing).
        min_ratio, min_pair: the smallest ``d'/d`` over pairs of distinct entries, and
            the pair (indices) attaining it.
        max_ratio, max_pair: the largest ratio and its pair.
        lower_slack: ``min_ratio - lower_bound`` (0 when the bound is tight, as for
            ``centering_rule(K)``); negative means violated.
        upper_slack: ``upper_bound - max_ratio``.
        max_lower_violation, max_upper_violation: the largest
            ``(1 - eta K) d - d'`` and ``d' - (1 + eta K) d`` over examined pairs,
            compared with ``tolerance``.
        coincident_pairs: examined pairs with coincident entries (upper bound only).
        tolerance: ``default_tolerance(dtype).bound(scale of X^(t) and X^(t+1))``.
        examined, exhaustive, n_examined: the indices examined.
        ratios: condensed ``d'/d``, ``NaN`` for coincident pairs; ``pairs()`` gives the
            matching ``(i, j)`` (not shown in ``repr``).
    """

    statement: ClassVar[str] = "Lemma 2 (no merging or splitting), eq. (7)"

    holds: bool
    vacuous: bool
    eta: float
    K: float
    t: int
    lower_bound: float
    upper_bound: float
    lower_bound_vacuous: bool
    min_ratio: float
    min_pair: tuple[int, int] | None
    max_ratio: float
    max_pair: tuple[int, int] | None
    lower_slack: float
    upper_slack: float
    max_lower_violation: float
    max_upper_violation: float
    coincident_pairs: int
    tolerance: float
    exhaustive: bool
    n_examined: int
    examined: NDArray[np.int64] = field(repr=False)
    ratios: NDArray[np.float64] = field(repr=False)


def bi_lipschitz_ratios(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float,
    t: int = 0,
    *,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> BiLipschitzResult:
    """Per-pair ratios ``||x_i^(t+1) - x_j^(t+1)|| / ||x_i^(t) - x_j^(t)||`` against Lemma 2.

    Lemma 2 (eq. 7): under P1 and P2-K every ratio lies in ``[1 - eta K, 1 + eta K]``.
    The check is made on distances, ``(1 - eta K) d - tol <= d' <= (1 + eta K) d + tol``,
    for every examined pair; pairs of coincident entries (``d`` within the coincidence
    tolerance) have no ratio and are held to the upper bound only.

    Args:
        rule: the update rule.
        X: the collection ``X^(t)``, finite or lazy (or an ``(n, D)`` array).
        eta: the step size, ``> 0``.
        K: the claimed P2-K constant, finite and ``> 0``.
        t: the time step.
        indices: examine only these indices (default: all of a finite collection; the
            overrides plus ``0..window-1`` of a lazy one).
        window: base indices examined on a lazy collection.

    Returns:
        A :class:`BiLipschitzResult` with the extreme ratios, the pairs attaining them,
        the bounds and the slack.

    Raises:
        ValueError: ``eta`` or ``K`` is not a finite number > 0; bad ``indices``/``window``.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0], [1.0], [3.0]])
        >>> r = bi_lipschitz_ratios(centering_rule(2.0), X, eta=0.25, K=2.0)
        >>> r.holds, r.lower_bound, round(r.min_ratio, 9)      # tight: every ratio is 1 - eta K
        (True, 0.5, 0.5)
    """
    rule = c.check_rule(rule)
    X = c.check_collection(X)
    eta = c.check_eta(eta)
    K = c.check_K(K)
    t = c.check_t(t)
    idx, exhaustive = c.examined_indices(X, indices, window)
    s = c.sample_step(rule, X, eta, t, idx, exhaustive)
    eta_K = eta * K
    if abs(eta_K - 1.0) <= 4 * np.finfo(float).eps:  # eta = 1/K up to the rounding of 1/K
        eta_K = 1.0
    lower, upper = 1.0 - eta_K, 1.0 + eta_K
    coincidence = s.tol.bound(c.max_norm(s.before))
    tolerance = s.tol.bound(s.scale)
    d = c.pair_distances(s.before)
    d2 = c.pair_distances(s.after)
    distinct = d > coincidence
    ratios = np.full(d.shape, np.nan)
    ratios[distinct] = d2[distinct] / d[distinct]
    m = int(idx.size)

    def pair(k: int) -> tuple[int, int]:
        a, b = c.condensed_pair(k, m)
        return int(idx[a]), int(idx[b])

    if np.any(distinct):
        kmin, kmax = int(np.nanargmin(ratios)), int(np.nanargmax(ratios))
        min_ratio, max_ratio = float(ratios[kmin]), float(ratios[kmax])
        min_pair: tuple[int, int] | None = pair(kmin)
        max_pair: tuple[int, int] | None = pair(kmax)
        low_viol = float(np.max(np.where(distinct, lower * d - d2, -np.inf)))
    else:
        min_ratio, max_ratio, min_pair, max_pair, low_viol = math.nan, math.nan, None, None, -math.inf
    up_viol = float(np.max(d2 - upper * d)) if d.size else -math.inf
    holds = low_viol <= tolerance and up_viol <= tolerance
    return BiLipschitzResult(
        holds=bool(holds),
        vacuous=not bool(np.any(distinct)),
        eta=eta,
        K=K,
        t=t,
        lower_bound=lower,
        upper_bound=upper,
        lower_bound_vacuous=lower <= 0,
        min_ratio=min_ratio,
        min_pair=min_pair,
        max_ratio=max_ratio,
        max_pair=max_pair,
        lower_slack=min_ratio - lower,
        upper_slack=upper - max_ratio,
        max_lower_violation=low_viol,
        max_upper_violation=up_viol,
        coincident_pairs=int(np.count_nonzero(~distinct)),
        tolerance=tolerance,
        exhaustive=exhaustive,
        n_examined=m,
        examined=c.readonly(idx),
        ratios=c.readonly(ratios),
    )


def assert_bi_lipschitz(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float,
    t: int = 0,
    *,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> BiLipschitzResult:
    """Assert Lemma 2 (see :func:`bi_lipschitz_ratios`); return the result if it holds.

    Args:
        the same as :func:`bi_lipschitz_ratios`.

    Returns:
        The :class:`BiLipschitzResult` (it holds).

    Raises:
        StatementViolation: some pair leaves ``[1 - eta K, 1 + eta K]``; the message
            shows the result.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> assert_bi_lipschitz(centering_rule(1.0), FiniteCollection([[0.0], [2.0]]), eta=0.5, K=1.0).max_ratio
        0.5
    """
    return _raise_unless(bi_lipschitz_ratios(rule, X, eta, K, t, indices=indices, window=window))
