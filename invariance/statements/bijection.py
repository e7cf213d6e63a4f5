"""The induced map ``U_hat`` of eq. (8) and Lemma 3 (well-defined surjection; bijection when eta K < 1).

Let ``S^(t) = {x_i^(t) : i in I}`` be the *set* of neuron positions. Eq. (8) defines

    U_hat^(t)(x_i^(t)) = x_i^(t+1),                                                (8)

a map ``S^(t) -> S^(t+1)``. It is well defined because coincident neurons stay
coincident (Lemma 1), onto by construction, and one-to-one when ``eta K < 1`` because
distinct neurons stay distinct (Lemma 2's lower bound; proof in Appendix A.3).

On a computer ``S^(t)`` is the finite set of *atoms*: groups of examined neurons that
coincide within a dtype-aware tolerance. :func:`induced_map` builds ``U_hat`` on the
atoms; :func:`bijectivity` checks Lemma 3 on it.
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

__all__ = ["InducedMap", "BijectionResult", "induced_map", "bijectivity", "assert_bijective"]


@dataclass(frozen=True, eq=False)
class InducedMap:
    """``U_hat^(t): S^(t) -> S^(t+1)`` of eq. (8), on the examined neurons.

    Attributes:
        examined: the examined indices ``i`` (sorted), ``m`` of them.
        exhaustive: whether ``examined`` is the whole index set.
        eta, t: the step.
        before, after: ``(m, D)`` float64 arrays of ``x_i^(t)`` and ``x_i^(t+1)``.
        labels_before: ``(m,)`` atom of ``S^(t)`` holding each examined neuron; atoms
            are numbered in order of their first (smallest) index, which represents it.
        labels_after: ``(m,)`` atom of ``S^(t+1)`` holding each ``x_i^(t+1)``.
        image: ``(p,)`` the atom of ``S^(t+1)`` that ``U_hat`` sends atom ``a`` to,
            read off its representative neuron.
        points_before: ``(p, D)`` the atoms of ``S^(t)`` (representatives' entries).
        points_after: ``(q, D)`` the atoms of ``S^(t+1)``.
        coincidence_before: two entries closer than this are one point of ``S^(t)``.
        coincidence_after: the same for ``S^(t+1)``: the rounding allowance
            ``default_tolerance(dtype).bound(scale)`` plus ``growth`` times
            ``coincidence_before`` (two entries within ``coincidence_before`` can be up to
            ``(1 + eta K)`` times farther apart after the step).
        growth: ``1 + eta K`` used above.
    """

    examined: NDArray[np.int64] = field(repr=False)
    exhaustive: bool
    eta: float
    t: int
    before: NDArray[np.float64] = field(repr=False)
    after: NDArray[np.float64] = field(repr=False)
    labels_before: NDArray[np.int64] = field(repr=False)
    labels_after: NDArray[np.int64] = field(repr=False)
    image: NDArray[np.int64] = field(repr=False)
    points_before: NDArray[np.float64] = field(repr=False)
    points_after: NDArray[np.float64] = field(repr=False)
    coincidence_before: float
    coincidence_after: float
    growth: float

    @property
    def n_before(self) -> int:
        """Number of points of ``S^(t)`` (atoms)."""
        return int(self.points_before.shape[0])

    @property
    def n_after(self) -> int:
        """Number of points of ``S^(t+1)``."""
        return int(self.points_after.shape[0])

    def members_before(self, atom: int) -> NDArray[np.int64]:
        """The indices ``i`` with ``x_i^(t)`` in atom ``atom`` of ``S^(t)``."""
        return self.examined[self.labels_before == atom]

    def members_after(self, atom: int) -> NDArray[np.int64]:
        """The indices ``i`` with ``x_i^(t+1)`` in atom ``atom`` of ``S^(t+1)``."""
        return self.examined[self.labels_after == atom]

    @property
    def split_atoms(self) -> tuple[int, ...]:
        """Atoms of ``S^(t)`` whose neurons do not land on one point (``U_hat`` ill-defined there)."""
        bad = self.labels_after != self.image[self.labels_before]
        return tuple(int(a) for a in np.unique(self.labels_before[bad]))

    @property
    def well_defined(self) -> bool:
        """Every atom of ``S^(t)`` lands on a single atom of ``S^(t+1)`` (Lemma 1)."""
        return not self.split_atoms

    @property
    def surjective(self) -> bool:
        """Every atom of ``S^(t+1)`` is ``U_hat`` of an atom of ``S^(t)`` (via representatives)."""
        return bool(np.unique(self.image).size == self.n_after)

    @property
    def merged_atoms(self) -> tuple[tuple[int, ...], ...]:
        """Groups of >= 2 atoms of ``S^(t)`` that ``U_hat`` sends to one point (atom numbers)."""
        counts = np.bincount(self.image, minlength=self.n_after)
        out = []
        for b in np.flatnonzero(counts > 1):
            out.append(tuple(int(a) for a in np.flatnonzero(self.image == b)))
        return tuple(out)

    @property
    def injective(self) -> bool:
        """Distinct atoms of ``S^(t)`` have distinct images."""
        return bool(np.unique(self.image).size == self.n_before)

    @property
    def bijective(self) -> bool:
        """Well defined, one-to-one and onto."""
        return self.well_defined and self.injective and self.surjective


def induced_map(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    t: int = 0,
    *,
    K: float | None = None,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> InducedMap:
    """Build ``U_hat^(t)(x_i^(t)) = x_i^(t+1)`` (eq. 8) on the atoms of ``S^(t)``.

    Neurons whose entries lie within ``default_tolerance(dtype).bound(scale)`` of each
    other (connected components of that relation) form one point of ``S^(t)``; the
    same, with the allowance widened by ``1 + eta K``, for ``S^(t+1)``.

    Args:
        rule: the update rule.
        X: the collection ``X^(t)``, finite or lazy (or an ``(n, D)`` array).
        eta: the step size, ``> 0``.
        t: the time step.
        K: a P2-K constant for the widening (default: the Lemma-4 lower bound of K
            measured on the examined neurons).
        indices: examine only these indices (default: all of a finite collection; the
            overrides plus ``0..window-1`` of a lazy one).
        window: base indices examined on a lazy collection.

    Returns:
        The :class:`InducedMap`.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0], [0.0], [1.0], [3.0]])
        >>> f = induced_map(centering_rule(1.0), X, eta=0.5)
        >>> f.n_before, f.n_after, f.bijective, f.members_before(0).tolist()
        (3, 3, True, [0, 1])
    """
    rule = c.check_rule(rule)
    X = c.check_collection(X)
    eta = c.check_eta(eta)
    K = c.check_optional_K(K)
    t = c.check_t(t)
    idx, exhaustive = c.examined_indices(X, indices, window)
    s = c.sample_step(rule, X, eta, t, idx, exhaustive)
    coincidence = s.tol.bound(c.max_norm(s.before))
    if K is None:
        K = c.lemma4_lower_bound(rule, X, t, idx, coincidence)
    growth = 1.0 + eta * K
    after_tol = s.tol.bound(s.scale) + growth * coincidence
    lb = c.group_labels(s.before, coincidence)
    la = c.group_labels(s.after, after_tol)
    reps = np.unique(lb, return_index=True)[1]
    reps_after = np.unique(la, return_index=True)[1]
    return InducedMap(
        examined=c.readonly(idx),
        exhaustive=exhaustive,
        eta=eta,
        t=t,
        before=c.readonly(s.before),
        after=c.readonly(s.after),
        labels_before=c.readonly(lb),
        labels_after=c.readonly(la),
        image=c.readonly(la[reps]),
        points_before=c.readonly(s.before[reps]),
        points_after=c.readonly(s.after[reps_after]),
        coincidence_before=coincidence,
        coincidence_after=after_tol,
        growth=growth,
    )


@dataclass(frozen=True, eq=False)
class BijectionResult(StatementResult):
    """Lemma 3 measured on one step.

    Attributes:
        holds: ``U_hat`` is well defined and onto, and, when ``eta K < 1``, one-to-one
            (a merge of two distinct points ``a != b`` is excused only when it is
            consistent with Lemma 2 up to rounding: ``(1 - eta K) ||a - b|| <=
            ||U_hat(a) - U_hat(b)|| + tolerance``, i.e. the contraction cannot be resolved
            in the dtype).
        premise: ``eta K < 1`` (the condition for a bijection).
        eta, K, t: the step and the claimed constant.
        well_defined, surjective, injective, bijective: the measured properties of
            ``U_hat`` on the examined neurons.
        n_before, n_after: numbers of distinct points of ``S^(t)`` and ``S^(t+1)``.
        coincident_groups: groups (indices) of >= 2 neurons coinciding at time ``t``.
        merged_groups: for each point of ``S^(t+1)`` hit by >= 2 points of ``S^(t)``,
            the indices of all neurons that land there (distinct neurons merged).
        split_groups: groups (indices) of neurons coincident at ``t`` that separate
            (``U_hat`` not well defined; Lemma 1 violated).
        merges_within_tolerance: every merge of distinct points satisfies the inequality
            above (``True`` when nothing merges).
        tolerance: ``default_tolerance(dtype).bound(scale)`` on distances.
        coincidence_before, coincidence_after: the tolerances defining the points.
        examined, exhaustive, n_examined: the indices examined.
        induced: the :class:`InducedMap` (not shown in ``repr``).
    """

    statement: ClassVar[str] = "Lemma 3 (U_hat well defined, onto; bijective if eta K < 1), eq. (8)"

    holds: bool
    premise: bool
    eta: float
    K: float
    t: int
    well_defined: bool
    surjective: bool
    injective: bool
    bijective: bool
    n_before: int
    n_after: int
    coincident_groups: tuple[tuple[int, ...], ...]
    merged_groups: tuple[tuple[int, ...], ...]
    split_groups: tuple[tuple[int, ...], ...]
    merges_within_tolerance: bool
    tolerance: float
    coincidence_before: float
    coincidence_after: float
    exhaustive: bool
    n_examined: int
    examined: NDArray[np.int64] = field(repr=False)
    induced: InducedMap = field(repr=False)


def bijectivity(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float,
    t: int = 0,
    *,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> BijectionResult:
    """Check Lemma 3: ``U_hat`` of eq. (8) is well defined and onto, and a bijection if ``eta K < 1``.

    The measured properties (on the points of ``S^(t)`` formed by the examined neurons):
    *well defined* -- coincident neurons land on one point (Lemma 1); *onto* -- every
    point of ``S^(t+1)`` is an image (true by construction once well defined);
    *one-to-one* -- distinct points stay distinct (Lemma 2's lower bound when
    ``eta K < 1``). At ``eta K >= 1`` merging is allowed: ``holds`` then asks only for a
    well-defined surjection, and ``bijective`` reports what happened.

    Args:
        rule: the update rule.
        X: the collection ``X^(t)``, finite or lazy (or an ``(n, D)`` array).
        eta: the step size, ``> 0``.
        K: the claimed P2-K constant, finite and ``> 0``.
        t: the time step.
        indices, window: the examined indices (see :func:`induced_map`).

    Returns:
        A :class:`BijectionResult`.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0], [1.0], [3.0]])
        >>> bijectivity(centering_rule(2.0), X, eta=0.4, K=2.0).bijective
        True
        >>> r = bijectivity(centering_rule(2.0), X, eta=0.5, K=2.0)   # eta = 1/K: all merge
        >>> r.holds, r.bijective, r.n_after, r.merged_groups
        (True, False, 1, ((0, 1, 2),))
    """
    K = c.check_K(K)
    f = induced_map(rule, X, eta, t, K=K, indices=indices, window=window)
    premise = f.eta * K < 1
    idx = f.examined
    sizes = np.bincount(f.labels_before, minlength=f.n_before)
    coincident = tuple(tuple(int(i) for i in f.members_before(a)) for a in range(f.n_before) if sizes[a] > 1)
    merged = tuple(tuple(int(i) for i in f.members_after(int(f.image[grp[0]]))) for grp in f.merged_atoms)
    split = tuple(tuple(int(i) for i in f.members_before(a)) for a in f.split_atoms)
    well, onto, inj = f.well_defined, f.surjective, f.injective
    # a merge of two distinct points contradicts Lemma 2 only if (1 - eta K) d exceeds the rounding allowance
    lower = 1.0 - f.eta * K
    tolerance = c.tolerance_for(c.check_collection(X)).bound(max(c.max_norm(f.before), c.max_norm(f.after)))
    reps = np.unique(f.labels_before, return_index=True)[1]
    unresolved = True  # trivially so when lower <= 0
    for grp in f.merged_atoms if lower > 0 else ():
        pts = f.points_before[list(grp)]
        imgs = f.after[reps[list(grp)]]
        if np.any(lower * c.pair_distances(pts) > c.pair_distances(imgs) + tolerance):
            unresolved = False
            break
    holds = well and onto and (inj or not premise or unresolved)
    return BijectionResult(
        holds=bool(holds),
        premise=bool(premise),
        eta=f.eta,
        K=K,
        t=f.t,
        well_defined=well,
        surjective=onto,
        injective=inj,
        bijective=f.bijective,
        n_before=f.n_before,
        n_after=f.n_after,
        coincident_groups=coincident,
        merged_groups=merged,
        split_groups=split,
        merges_within_tolerance=unresolved,
        tolerance=tolerance,
        coincidence_before=f.coincidence_before,
        coincidence_after=f.coincidence_after,
        exhaustive=f.exhaustive,
        n_examined=int(idx.size),
        examined=idx,
        induced=f,
    )


def assert_bijective(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float,
    t: int = 0,
    *,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> BijectionResult:
    """Assert Lemma 3 (see :func:`bijectivity`); return the result if it holds.

    Args:
        the same as :func:`bijectivity`.

    Returns:
        The :class:`BijectionResult` (it holds).

    Raises:
        StatementViolation: ``U_hat`` is ill defined, or not one-to-one although
            ``eta K < 1``; the message shows the result.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> assert_bijective(centering_rule(1.0), FiniteCollection([[0.0], [2.0]]), eta=0.5, K=1.0).n_after
        2
    """
    return _raise_unless(bijectivity(rule, X, eta, K, t, indices=indices, window=window))
