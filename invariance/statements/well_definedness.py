"""Lemma 1 (well-definedness): coincident neurons stay coincident.

If ``U^(t)`` satisfies P1, then for ``i != j``

    x_i^(t) = x_j^(t)   implies   x_i^(t+1) = x_j^(t+1),

because the transposition ``P = (i j)`` of eq. (18) fixes ``X`` and equivariance gives
``U_i(X) = U_i(PX) = (PU(X))_i = U_j(X)`` (eq. 19). This is what makes the induced map
``U_hat`` of eq. (8) a function on the point set ``S^(t)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..collections import Collection
from ..rules import UpdateRule
from . import _common as c
from .result import StatementResult, _raise_unless

__all__ = ["WellDefinednessResult", "well_definedness", "assert_well_defined"]


@dataclass(frozen=True, eq=False)
class WellDefinednessResult(StatementResult):
    """Lemma 1 measured on one step.

    Attributes:
        holds: every coincident pair is again coincident after the step (within
            ``allowed``); ``True`` when the statement is vacuous.
        vacuous: no two examined neurons coincide, so Lemma 1 asserts nothing here.
        eta, t: the step.
        coincident_pairs: number of examined pairs ``i != j`` with ``x_i = x_j``
            (within ``coincidence_tolerance``).
        max_separation: the largest ``||x_i^(t+1) - x_j^(t+1)||`` over those pairs.
        worst_pair: the coincident pair ``(i, j)`` (indices of the collection) that comes
            closest to violating the lemma, or ``None``.
        separation_before: ``||x_i^(t) - x_j^(t)||`` for ``worst_pair`` (0 for an exact copy).
        separation_after: ``||x_i^(t+1) - x_j^(t+1)||`` for ``worst_pair``.
        allowed: the separation allowed for ``worst_pair``:
            ``tolerance + growth * separation_before``.
        growth: ``1 + eta K`` (Lemma 2's factor) with the given ``K``, or with the
            Lemma-4 estimate of K from the examined pairs when ``K`` is not given. It only
            matters for pairs that coincide up to rounding, not exactly.
        coincidence_tolerance: two neurons closer than this count as coincident
            (``default_tolerance(dtype).bound(scale of X)``).
        tolerance: the rounding allowance after the step
            (``default_tolerance(dtype).bound(scale of X and X^(t+1))``).
        examined: the indices examined; ``exhaustive`` says whether that is all of I.
        pairs: ``(k, 2)`` array of the coincident pairs (indices), and ``separations``
            their distances after the step (not shown in ``repr``).
    """

    statement: ClassVar[str] = "Lemma 1 (well-definedness), eq. (19)"

    holds: bool
    vacuous: bool
    eta: float
    t: int
    coincident_pairs: int
    max_separation: float
    worst_pair: tuple[int, int] | None
    separation_before: float
    separation_after: float
    allowed: float
    growth: float
    coincidence_tolerance: float
    tolerance: float
    exhaustive: bool
    n_examined: int
    examined: NDArray[np.int64] = field(repr=False)
    pairs: NDArray[np.int64] = field(repr=False)
    separations: NDArray[np.float64] = field(repr=False)


def well_definedness(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    t: int = 0,
    *,
    K: float | None = None,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> WellDefinednessResult:
    """Check Lemma 1 on one step: ``x_i^(t) = x_j^(t)`` implies ``x_i^(t+1) = x_j^(t+1)``.

    For every examined pair ``i != j`` whose entries coincide (distance at most
    ``default_tolerance(dtype).bound(scale)``, the scale being the largest entry norm),
    it measures ``||x_i^(t+1) - x_j^(t+1)||`` after one step of eq. (4) and requires it to
    be at most ``tolerance + (1 + eta K) ||x_i^(t) - x_j^(t)||`` (the second term is 0
    for exact copies; it absorbs pairs that coincide only up to rounding).

    Args:
        rule: the update rule ``U^(t)``.
        X: the collection ``X^(t)``, finite or lazy (or an ``(n, D)`` array).
        eta: the step size, ``> 0``.
        t: the time step.
        K: optional P2-K constant, used only for the growth factor of near-coincident
            pairs (default: the Lemma-4 lower bound of K measured on the examined pairs).
        indices: examine only these indices (default: all of a finite collection; the
            overrides plus ``0..window-1`` of a lazy one).
        window: base indices examined on a lazy collection.

    Returns:
        A :class:`WellDefinednessResult`; ``vacuous`` is ``True`` when no pair coincides.

    Raises:
        ValueError: ``eta`` or ``K`` is not a finite number > 0; bad ``indices``/``window``.

    Example:
        >>> from invariance import FiniteCollection, IndexBiasedRule, centering_rule
        >>> X = FiniteCollection([[0.0, 0.0], [0.0, 0.0], [1.0, 2.0]])   # x_0 = x_1
        >>> well_definedness(centering_rule(1.0), X, eta=0.1).holds
        True
        >>> r = well_definedness(IndexBiasedRule(centering_rule(1.0), index=0), X, eta=0.1)
        >>> r.holds, r.worst_pair, round(r.max_separation, 6)
        (False, (0, 1), 0.141421)
    """
    rule = c.check_rule(rule)
    X = c.check_collection(X)
    eta = c.check_eta(eta)
    K = c.check_optional_K(K)
    t = c.check_t(t)
    idx, exhaustive = c.examined_indices(X, indices, window)
    s = c.sample_step(rule, X, eta, t, idx, exhaustive)
    coincidence = s.tol.bound(c.max_norm(s.before))
    tolerance = s.tol.bound(s.scale)
    pos = c.close_pairs(s.before, coincidence)
    d_before = np.linalg.norm(s.before[pos[:, 0]] - s.before[pos[:, 1]], axis=1) if pos.size else np.zeros(0)
    d_after = np.linalg.norm(s.after[pos[:, 0]] - s.after[pos[:, 1]], axis=1) if pos.size else np.zeros(0)
    if K is not None:
        growth = 1.0 + eta * K
    elif np.any(d_before > 0):
        growth = 1.0 + eta * c.lemma4_lower_bound(rule, X, t, idx, coincidence)
    else:
        growth = 1.0
    allowed = tolerance + growth * d_before
    pairs = idx[pos] if pos.size else np.zeros((0, 2), dtype=np.int64)
    if pos.shape[0]:
        w = int(np.argmax(d_after - allowed))
        worst: tuple[int, int] | None = (int(pairs[w, 0]), int(pairs[w, 1]))
        sep_b, sep_a, allow_w = float(d_before[w]), float(d_after[w]), float(allowed[w])
        holds = bool(np.all(d_after <= allowed))
    else:
        worst, sep_b, sep_a, allow_w, holds = None, 0.0, 0.0, tolerance, True
    return WellDefinednessResult(
        holds=holds,
        vacuous=pos.shape[0] == 0,
        eta=eta,
        t=t,
        coincident_pairs=int(pos.shape[0]),
        max_separation=float(d_after.max()) if d_after.size else 0.0,
        worst_pair=worst,
        separation_before=sep_b,
        separation_after=sep_a,
        allowed=allow_w,
        growth=float(growth),
        coincidence_tolerance=coincidence,
        tolerance=tolerance,
        exhaustive=exhaustive,
        n_examined=int(idx.size),
        examined=c.readonly(idx),
        pairs=c.readonly(pairs),
        separations=c.readonly(d_after),
    )


def assert_well_defined(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    t: int = 0,
    *,
    K: float | None = None,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> WellDefinednessResult:
    """Assert Lemma 1 (see :func:`well_definedness`); return the result if it holds.

    Args:
        the same as :func:`well_definedness`.

    Returns:
        The :class:`WellDefinednessResult` (it holds).

    Raises:
        StatementViolation: a coincident pair separates; the message shows the result.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> assert_well_defined(centering_rule(1.0), FiniteCollection([[1.0], [1.0]]), eta=0.5).vacuous
        False
    """
    return _raise_unless(well_definedness(rule, X, eta, t, K=K, indices=indices, window=window))
