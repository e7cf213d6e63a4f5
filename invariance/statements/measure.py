"""Theorem 2: ``U_hat`` preserves the push-forward measure of the neurons (eq. 9, eqs. 42-46).

A probability measure ``m`` on the index set is pushed forward to the point set by
``r^(t): i -> x_i^(t)`` (eq. 9): ``mu^(t)(A) = m({i : x_i^(t) in A})``. On a computer
``S^(t)`` is finite (the atoms of :func:`~invariance.statements.induced_map`), and
``mu^(t)`` gives each atom the total weight of the neurons sitting there.

Theorem 2 (``eta K < 1``): ``U_hat`` and ``U_hat^{-1}`` are measure preserving:

    mu^(t+1)(A) = mu^(t)(U_hat^{-1}(A))      for A in S^(t+1)                    (46)
    mu^(t)(B)   = mu^(t+1)(U_hat(B))         for B in S^(t)  (U_hat^{-1} preserving)

The first identity holds whenever ``U_hat`` is well defined; the second needs a
bijection: when neurons merge (``eta K >= 1``), ``U_hat(B)`` of one atom carries the
mass of every atom merged into it, and the identity fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..collections import Collection
from ..rules import UpdateRule
from ..tolerances import default_tolerance
from . import _common as c
from .bijection import InducedMap, induced_map
from .result import StatementResult, _raise_unless

__all__ = ["MeasureResult", "measure_preservation", "assert_measure_preserving", "normalise_weights"]


def normalise_weights(weights: ArrayLike | None, n: int) -> NDArray[np.float64]:
    """The probability vector ``m`` on ``n`` indices: uniform by default, else ``weights / sum``.

    Args:
        weights: ``None`` or ``n`` finite nonnegative numbers with a positive sum.
        n: the number of indices.

    Returns:
        A float64 array of length ``n`` summing to 1.

    Raises:
        ValueError: wrong length or shape, negative, NaN or inf entries, zero sum.

    Example:
        >>> normalise_weights([1, 3], 2).tolist()
        [0.25, 0.75]
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights)
    if w.dtype == object or not (np.issubdtype(w.dtype, np.number) or w.dtype == bool):
        raise TypeError(f"weights must be numeric, got dtype {w.dtype}")
    w = w.astype(np.float64)
    if w.ndim != 1:
        raise ValueError(f"weights must be a 1-D array (one weight per index), got shape {w.shape}")
    if w.size != n:
        raise ValueError(f"weights has {w.size} entries, but {n} indices are examined")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contains NaN or inf")
    if np.any(w < 0):
        raise ValueError(f"weights must be nonnegative, got {float(w.min())} at index {int(np.argmin(w))}")
    total = float(w.sum())
    if not total > 0:
        raise ValueError("weights must have a positive sum (m is a probability measure after normalisation)")
    return w / total


@dataclass(frozen=True, eq=False)
class MeasureResult(StatementResult):
    """Theorem 2 measured on one step.

    Attributes:
        holds: both identities hold on every tested set within ``tolerance``:
            ``U_hat`` is a measure-preserving bijection for this step. (This is the
            conclusion of Theorem 2, reported whatever ``eta K``: at a merge it is ``False``.)
        premise: ``eta K < 1`` (``None`` when no ``K`` was given).
        eta, K, t: the step and the optional constant.
        well_defined, bijective: of ``U_hat`` (Lemma 3).
        n_atoms_before, n_atoms_after: points of ``S^(t)`` and ``S^(t+1)``.
        pushforward_discrepancy: ``max_A |mu^(t+1)(A) - mu^(t)(U_hat^{-1}(A))|`` (eq. 46).
        inverse_discrepancy: ``max_B |mu^(t)(B) - mu^(t+1)(U_hat(B))|``.
        max_discrepancy: the larger of the two.
        worst_identity: ``"push-forward"`` or ``"inverse"``, where ``max_discrepancy`` occurs.
        worst_set: the indices of the neurons forming the worst set (at ``t + 1`` for the
            push-forward identity, at ``t`` for the inverse one).
        sets_tested: number of sets tested on both sides together (every atom, the random
            unions, the whole space).
        tolerance: ``default_tolerance(float64).bound(1)`` on masses.
        examined, exhaustive, n_examined: the indices carrying ``m`` (on a lazy collection
            ``m`` lives on the examined indices).
        weights: the normalised ``m``; masses_before, masses_after: the atom masses
            (not shown in ``repr``).
        induced: the :class:`InducedMap` (not shown in ``repr``).
    """

    statement: ClassVar[str] = "Theorem 2 (U_hat and its inverse preserve the push-forward measure), eqs. (9), (46)"

    holds: bool
    premise: bool | None
    eta: float
    K: float | None
    t: int
    well_defined: bool
    bijective: bool
    n_atoms_before: int
    n_atoms_after: int
    pushforward_discrepancy: float
    inverse_discrepancy: float
    max_discrepancy: float
    worst_identity: str
    worst_set: tuple[int, ...]
    sets_tested: int
    tolerance: float
    exhaustive: bool
    n_examined: int
    examined: NDArray[np.int64] = field(repr=False)
    weights: NDArray[np.float64] = field(repr=False)
    masses_before: NDArray[np.float64] = field(repr=False)
    masses_after: NDArray[np.float64] = field(repr=False)
    induced: InducedMap = field(repr=False)


def _unions(p: int, unions: int, rng: np.random.Generator) -> list[NDArray[np.bool_]]:
    """Indicator vectors of ``unions`` random unions of >= 2 atoms, and of the whole space."""
    sets = []
    if p > 1:
        for _ in range(unions):
            mask = rng.random(p) < 0.5
            if mask.sum() >= 2:
                sets.append(mask)
    sets.append(np.ones(p, dtype=bool))
    return sets


def measure_preservation(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float | None = None,
    t: int = 0,
    *,
    weights: ArrayLike | None = None,
    unions: int = 8,
    seed: int = 0,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> MeasureResult:
    """Check Theorem 2 on one step: the push-forward measures (eq. 9) are matched by ``U_hat``.

    With ``m`` the probability weights on the examined indices and atoms as in
    :func:`~invariance.statements.induced_map`, it tests
    ``mu^(t+1)(A) = mu^(t)(U_hat^{-1}(A))`` (eq. 46) for every atom ``A`` of ``S^(t+1)``,
    and ``mu^(t)(B) = mu^(t+1)(U_hat(B))`` for every atom ``B`` of ``S^(t)``, plus
    ``unions`` random unions of atoms on each side (seeded) and the whole space.

    Args:
        rule: the update rule.
        X: the collection ``X^(t)``, finite or lazy (or an ``(n, D)`` array).
        eta: the step size, ``> 0``.
        K: an optional P2-K constant: reported as the premise ``eta K < 1`` and used to
            widen the coincidence allowance after the step (see ``induced_map``).
        t: the time step.
        weights: ``m`` on the examined indices (default uniform); nonnegative, finite,
            one per examined index, positive sum; normalised to sum 1.
        unions: number of random unions of atoms tested on each side.
        seed: seed of those unions.
        indices, window: the examined indices.

    Returns:
        A :class:`MeasureResult`.

    Raises:
        ValueError: bad ``eta``, ``K``, ``weights``, ``unions``, ``indices`` or ``window``.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0], [0.0], [2.0]])           # mu = 2/3 at 0, 1/3 at 2
        >>> measure_preservation(centering_rule(1.0), X, eta=0.5, K=1.0).holds
        True
        >>> r = measure_preservation(centering_rule(1.0), X, eta=1.0, K=1.0)   # all merge
        >>> r.holds, r.worst_identity, round(r.max_discrepancy, 6)
        (False, 'inverse', 0.666667)
    """
    K = c.check_optional_K(K)
    if isinstance(unions, bool) or not isinstance(unions, (int, np.integer)) or unions < 0:
        raise ValueError(f"unions must be an integer >= 0, got {unions!r}")
    f = induced_map(rule, X, eta, t, K=K, indices=indices, window=window)
    m = f.examined.size
    w = normalise_weights(weights, m)
    p, q = f.n_before, f.n_after
    mu = np.bincount(f.labels_before, weights=w, minlength=p)
    nu = np.bincount(f.labels_after, weights=w, minlength=q)
    rng = np.random.default_rng(seed)
    # push-forward (46): sets A of S^(t+1), U_hat^{-1}(A) = the atoms a with image[a] in A.
    # Atoms first (vectorised), then unions and the whole space.
    pulled = np.bincount(f.image, weights=mu, minlength=q)  # mu^(t)(U_hat^{-1}({b}))
    push_err = np.abs(nu - pulled)
    b = int(np.argmax(push_err))
    push_worst, push_set = float(push_err[b]), np.arange(q) == b
    sets_after = _unions(q, int(unions), rng)
    for A in sets_after:
        err = abs(float(nu[A].sum()) - float(mu[A[f.image]].sum()))
        if err > push_worst:
            push_worst, push_set = err, A
    # inverse: sets B of S^(t), U_hat(B) = the atoms image[B]
    inv_err = np.abs(mu - nu[f.image])
    a = int(np.argmax(inv_err))
    inv_worst, inv_set = float(inv_err[a]), np.arange(p) == a
    sets_before = _unions(p, int(unions), rng)
    for B in sets_before:
        img = np.zeros(q, dtype=bool)
        img[f.image[B]] = True
        err = abs(float(mu[B].sum()) - float(nu[img].sum()))
        if err > inv_worst:
            inv_worst, inv_set = err, B
    if push_worst >= inv_worst:
        worst_identity = "push-forward"
        worst_set = tuple(int(i) for i in f.examined[push_set[f.labels_after]])
    else:
        worst_identity = "inverse"
        worst_set = tuple(int(i) for i in f.examined[inv_set[f.labels_before]])
    tolerance = default_tolerance(np.float64).bound(1.0)
    max_disc = max(push_worst, inv_worst)
    return MeasureResult(
        holds=bool(max_disc <= tolerance),
        premise=None if K is None else bool(f.eta * K < 1),
        eta=f.eta,
        K=K,
        t=f.t,
        well_defined=f.well_defined,
        bijective=f.bijective,
        n_atoms_before=p,
        n_atoms_after=q,
        pushforward_discrepancy=push_worst,
        inverse_discrepancy=inv_worst,
        max_discrepancy=max_disc,
        worst_identity=worst_identity,
        worst_set=worst_set,
        sets_tested=p + q + len(sets_before) + len(sets_after),
        tolerance=tolerance,
        exhaustive=f.exhaustive,
        n_examined=int(m),
        examined=f.examined,
        weights=c.readonly(w),
        masses_before=c.readonly(mu),
        masses_after=c.readonly(nu),
        induced=f,
    )


def assert_measure_preserving(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float | None = None,
    t: int = 0,
    *,
    weights: ArrayLike | None = None,
    unions: int = 8,
    seed: int = 0,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> MeasureResult:
    """Assert Theorem 2 (see :func:`measure_preservation`); return the result if it holds.

    Args:
        the same as :func:`measure_preservation`.

    Returns:
        The :class:`MeasureResult` (it holds).

    Raises:
        StatementViolation: a tested set's mass is not matched; the message shows the result.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0], [2.0]])
        >>> assert_measure_preserving(centering_rule(1.0), X, eta=0.5, weights=[1, 3]).masses_after.tolist()
        [0.25, 0.75]
    """
    return _raise_unless(
        measure_preservation(
            rule, X, eta, K, t, weights=weights, unions=unions, seed=seed, indices=indices, window=window
        )
    )
