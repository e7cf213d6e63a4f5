"""P1, the equivariance property (Section 3): ``P U^(t)(X) = U^(t)(P X)`` for all ``P`` in FSym(I).

The measure :func:`equivariance_error` evaluates, for a set of finitary permutations
``P``,

    err(P) = max_i || (P U(X))_i - U(P X)_i || = max_i || U_{P(i)}(X) - U_i(P X) ||,

and compares the worst one with the dtype-aware tolerance ``atol + rtol * scale``, where
``scale`` is the largest update norm seen. :func:`assert_equivariant` raises
:class:`~invariance.properties.report.PropertyViolation` with the same report.

Which permutations are checked:

* finite ``X`` with ``n <= exhaustive_limit``: every transposition ``(i j)`` (they
  generate FSym({0..n-1}), so this is the group's generating set, checked exhaustively),
  plus ``n_samples`` uniformly random permutations;
* finite ``X`` with larger ``n``: ``n_samples`` random transpositions and ``n_samples``
  random permutations;
* lazy ``X`` (``I = N``): permutations whose support lies in the window ``[0, window)``
  together with ``X``'s overrides, always including transpositions that move index 0 and
  every overridden index; and transpositions reaching over the whole index set (every
  ``10^k`` and ``10^k - 1`` up to ``10^12``, and log-uniform random indices), exchanged with
  0, with window indices and with one another, so that a rule anchored far out is moved.
  ``P U(X)`` and ``U(P X)`` are compared on ``supp(P)``, on the
  overrides, on the whole window and at a few large random indices. When the two share a
  base (see :meth:`~invariance.collections.LazyCollection.shares_base`) they agree
  exactly outside ``supp(P)`` and the overrides; the report says whether they did.

The counterexample of a failing check is the smallest failing permutation found (fewest
moved indices; a single transposition whenever one fails): a failing permutation is
shrunk through the transpositions and cycles inside its support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_collection, check_int, check_seed, check_t, check_tolerance
from ..collections import Collection, FiniteCollection, LazyCollection
from ..permutations import FinitaryPermutation, shrink_permutation
from ..rules import UpdateRule, check_rule
from ..tolerances import Tolerance
from .report import PropertyReport

__all__ = ["equivariance_error", "assert_equivariant"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.int64]

#: How many large indices (beyond the window) a lazy check also compares.
_N_FAR = 8
#: Far indices are drawn from ``[window, window + _FAR_RANGE)``.
_FAR_RANGE = 10**6


def _row_norms(a: ArrayLike) -> FloatArray:
    arr = np.asarray(a, dtype=np.float64)
    return np.sqrt(np.sum(arr * arr, axis=-1))


def _floats(v: ArrayLike) -> list[float]:
    return [float(x) for x in np.asarray(v, dtype=np.float64).reshape(-1)]


# --------------------------------------------------------------------------------------
# P1
# --------------------------------------------------------------------------------------
@dataclass
class _Case:
    """The comparison of ``P U(X)`` and ``U(P X)`` for one permutation."""

    perm: FinitaryPermutation
    error: float
    scale: float
    index: int
    left: FloatArray  # (P U(X))_index
    right: FloatArray  # U(P X)_index
    bases_equal: bool | None = None  # lazy only
    outside_error: float = 0.0  # lazy only: worst error outside supp(P) and the overrides
    outside_index: int | None = None


def _validate_permutations(permutations: object, X: Collection) -> list[FinitaryPermutation]:
    if isinstance(permutations, FinitaryPermutation):
        perms: list[object] = [permutations]
    else:
        if isinstance(permutations, (str, bytes)) or not isinstance(permutations, Iterable):
            raise TypeError(
                f"permutations must be an iterable of FinitaryPermutation, got {type(permutations).__name__}"
            )
        perms = list(permutations)
    if not perms:
        raise ValueError("permutations must contain at least one FinitaryPermutation, got an empty iterable")
    out: list[FinitaryPermutation] = []
    for k, P in enumerate(perms):
        if not isinstance(P, FinitaryPermutation):
            raise TypeError(f"permutations[{k}] must be a FinitaryPermutation, got {type(P).__name__}")
        if isinstance(X, FiniteCollection) and P.support and max(P.support) >= X.n:
            raise ValueError(
                f"permutations[{k}] moves index {max(P.support)}, outside the index set {{0, ..., {X.n - 1}}} "
                f"of X (n = {X.n})"
            )
        out.append(P)
    return out


def _dedupe(perms: Iterable[FinitaryPermutation]) -> list[FinitaryPermutation]:
    seen: set[FinitaryPermutation] = set()
    out = []
    for P in perms:
        if P not in seen:
            seen.add(P)
            out.append(P)
    return out


def _finite_permutations(
    n: int, n_samples: int, exhaustive_limit: int, rng: np.random.Generator
) -> tuple[list[FinitaryPermutation], str, int]:
    perms: list[FinitaryPermutation] = []
    if n < 2:
        return [FinitaryPermutation.identity()], "trivial (n = 1: FSym is trivial)", 0
    if n <= exhaustive_limit:
        mode = "exhaustive transpositions"
        perms += [FinitaryPermutation.transposition(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        mode = "sampled transpositions"
        for _ in range(n_samples):
            i, j = rng.choice(n, size=2, replace=False).tolist()
            perms.append(FinitaryPermutation.transposition(int(i), int(j)))
    n_transpositions = len(_dedupe(perms))
    perms += [FinitaryPermutation.random(n, seed=rng) for _ in range(n_samples)]
    return _dedupe(perms), mode, n_transpositions


def _lazy_permutations(
    X: LazyCollection, n_samples: int, window: int, rng: np.random.Generator
) -> tuple[list[FinitaryPermutation], int]:
    support = list(X.support)
    pool = sorted(set(range(window)) | set(support))
    special = sorted({0} | set(support))
    perms: list[FinitaryPermutation] = []
    for s in special:
        # a partner that is not overridden (a base entry), and a random one
        partners = [j for j in range(window + len(support) + 1) if j != s and j not in X.support][:1]
        others = [j for j in pool if j != s]
        if others:
            partners.append(int(rng.choice(others)))
        perms += [FinitaryPermutation.transposition(s, j) for j in partners]
    for a in range(len(special)):
        for b in range(a + 1, len(special)):
            perms.append(FinitaryPermutation.transposition(special[a], special[b]))
    for _ in range(n_samples):
        i, j = rng.choice(pool, size=2, replace=False).tolist()
        perms.append(FinitaryPermutation.transposition(int(i), int(j)))
    n_transpositions = len(_dedupe(perms))
    # indices spread over the whole index set: every power of ten up to 10^12 and random
    # indices log-uniform over [window, 10^12], each exchanged with 0, with an override, and
    # with one another, so that a rule anchored far out (at 10^6, say) is moved by default
    far = far_indices(window, rng)
    for f in far:
        perms.append(FinitaryPermutation.transposition(0, f))
        perms.append(FinitaryPermutation.transposition(f, int(rng.choice(pool))))
    for _ in range(max(1, n_samples // 4)):
        i, j = rng.choice(far, size=2, replace=False).tolist()
        perms.append(FinitaryPermutation.transposition(int(i), int(j)))
    n_transpositions = len(_dedupe(perms))
    for _ in range(n_samples):
        k = int(rng.integers(2, min(8, len(pool)) + 1))
        perms.append(FinitaryPermutation.random(pool, seed=rng, support_size=k))
    mixed = sorted(set(rng.choice(pool, size=min(4, len(pool)), replace=False).tolist())
                   | set(rng.choice(far, size=4, replace=False).tolist()))
    perms.append(FinitaryPermutation.random([int(v) for v in mixed], seed=rng, support_size=len(mixed)))
    return _dedupe(perms), n_transpositions


#: The largest index a lazy check moves: supports are drawn up to 10^_FAR_DECADES.
_FAR_DECADES = 12


def far_indices(window: int, rng: np.random.Generator, n_random: int = 12) -> list[int]:
    """Indices beyond ``window`` spread over orders of magnitude: ``10^k`` (``k = 1 .. 12``, those
    ``>= window``), their neighbours ``10^k - 1``, and ``n_random`` log-uniform ones up to ``10^12``."""
    out = {10**k for k in range(1, _FAR_DECADES + 1)} | {10**k - 1 for k in range(1, _FAR_DECADES + 1)}
    lo = math.log10(max(window, 2))
    out |= {int(10 ** u) for u in rng.uniform(lo, _FAR_DECADES, size=n_random)}
    return sorted(i for i in out if i >= window)


class _Evaluator:
    """Computes and caches the comparison of ``P U(X)`` with ``U(P X)``."""

    def __init__(self, rule: UpdateRule, X: Collection, t: int, window: int, rng: np.random.Generator) -> None:
        self.rule, self.X, self.t = rule, X, t
        self.cache: dict[FinitaryPermutation, _Case] = {}
        self.UX = rule.update(X, t)
        if isinstance(X, LazyCollection):
            far = rng.integers(window, window + _FAR_RANGE, size=_N_FAR)
            self.window = np.arange(window, dtype=np.int64)
            self.far = np.unique(far.astype(np.int64))
            self.base_indices = np.union1d(np.union1d(self.window, self.far), np.array(X.support, dtype=np.int64))
            self.ux_rows: dict[int, FloatArray] = {}
            self.ux_norm = float(np.max(_row_norms(self._ux(self.base_indices))))
        else:
            assert isinstance(self.UX, FiniteCollection)
            self.ux_norm = float(np.max(_row_norms(self.UX.points)))

    def __call__(self, P: FinitaryPermutation) -> _Case:
        case = self.cache.get(P)
        if case is None:
            case = self._finite(P) if isinstance(self.X, FiniteCollection) else self._lazy(P)
            self.cache[P] = case
        return case

    def _finite(self, P: FinitaryPermutation) -> _Case:
        assert isinstance(self.UX, FiniteCollection)
        left = P.apply(np.asarray(self.UX.points, dtype=np.float64))
        right_c = self.rule.update(P.act(self.X), self.t)
        assert isinstance(right_c, FiniteCollection)
        right = np.asarray(right_c.points, dtype=np.float64)
        errs = _row_norms(left - right)
        i = int(np.argmax(errs))
        scale = max(self.ux_norm, float(np.max(_row_norms(right))))
        return _Case(P, float(errs[i]), scale, i, left[i], right[i])

    def _ux(self, indices: IndexArray) -> FloatArray:
        """Entries of ``U(X)`` at ``indices``, cached (the base is evaluated once per index)."""
        missing = [i for i in indices.tolist() if i not in self.ux_rows]
        if missing:
            rows = self.UX.entries(np.array(missing, dtype=np.int64))
            self.ux_rows.update(zip(missing, np.asarray(rows, dtype=np.float64)))
        return np.array([self.ux_rows[i] for i in indices.tolist()], dtype=np.float64)

    def _lazy(self, P: FinitaryPermutation) -> _Case:
        assert isinstance(self.X, LazyCollection) and isinstance(self.UX, LazyCollection)
        PX = P.act(self.X)
        right_c = self.rule.update(PX, self.t)
        assert isinstance(right_c, LazyCollection)
        idx = np.union1d(self.base_indices, np.array(P.support, dtype=np.int64))
        left = self._ux(P(idx))  # (P U(X))_i = U_{P(i)}(X)
        bases_equal = self.UX.shares_base(right_c)
        if bases_equal:
            # U(PX) is U(X)'s base plus overrides on supp(P) and X's overrides: elsewhere it
            # equals U(X)'s base, which is what U(X) holds there.
            right = self._ux(idx)
            over = np.array(right_c.support, dtype=np.int64)
            pos = np.searchsorted(idx, over)
            ok = (pos < idx.size) & (idx[np.minimum(pos, idx.size - 1)] == over)
            if np.any(ok):
                right[pos[ok]] = right_c.entries(over[ok])
        else:
            right = np.asarray(right_c.entries(idx), dtype=np.float64)
        errs = _row_norms(left - right)
        k = int(np.argmax(errs))
        inside = set(P.support) | set(self.X.support)
        outside = np.array([i not in inside for i in idx.tolist()], dtype=bool)
        out_err, out_idx = 0.0, None
        if np.any(outside):
            ko = int(np.argmax(np.where(outside, errs, -1.0)))
            out_err, out_idx = float(errs[ko]), int(idx[ko])
        scale = max(self.ux_norm, float(np.max(_row_norms(right))))
        return _Case(
            P, float(errs[k]), scale, int(idx[k]), left[k], right[k],
            bases_equal=bases_equal, outside_error=out_err, outside_index=out_idx,
        )


def _counterexample(case: _Case, lazy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "permutation": repr(case.perm),
        "cycles": case.perm.cycles(),
        "moved_indices": len(case.perm.support),
        "index": case.index,
        "(P U(X))_i": _floats(case.left),
        "U(P X)_i": _floats(case.right),
        "error": case.error,
    }
    if lazy:
        out["bases_equal"] = case.bases_equal
        out["outside_support_error"] = case.outside_error
        out["outside_support_index"] = case.outside_index
    return out


def equivariance_error(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    *,
    t: int = 0,
    permutations: Iterable[FinitaryPermutation] | FinitaryPermutation | None = None,
    n_samples: int = 32,
    exhaustive_limit: int = 12,
    window: int = 64,
    seed: int | None = 0,
    tolerance: Tolerance | None = None,
) -> PropertyReport:
    """Measure the violation of P1 (equivariance, Section 3) at ``X``.

    P1 asks ``P U^(t)(X) = U^(t)(P X)`` for every ``P`` in FSym(I), where
    ``(P X)_i = x_{P(i)}``. For each checked permutation the error is

        err(P) = max_i || (P U(X))_i - U_i(P X) ||,

    and the check passes when ``max_P err(P) <= atol + rtol * scale``, ``scale`` being the
    largest update norm ``||U_i||`` seen and ``(atol, rtol)`` the tolerance of ``X``'s
    dtype (:func:`~invariance.tolerances.default_tolerance`).

    Args:
        rule: the update rule ``U``.
        X: a :class:`FiniteCollection`, a :class:`LazyCollection`, or an ``(n, D)`` array.
        t: the time step of ``U^(t)``.
        permutations: the permutations to check (a FinitaryPermutation or an iterable of
            them). ``None`` chooses them: all transpositions when ``n <= exhaustive_limit``
            (they generate FSym) plus ``n_samples`` random permutations; otherwise
            ``n_samples`` random transpositions and ``n_samples`` random permutations; on a
            lazy ``X``, permutations supported in ``[0, window)`` and the overrides, always
            including transpositions that move index 0 and each overridden index.
        n_samples: number of random permutations (and, past ``exhaustive_limit``, of random
            transpositions); at least 1.
        exhaustive_limit: largest ``n`` for which all transpositions are checked.
        window: on a lazy ``X``, the base indices ``0..window-1`` that permutations may
            move and at which ``P U(X)`` and ``U(P X)`` are compared (plus a few large
            random indices and the overrides).
        seed: seed of ``numpy.random.default_rng``; ``None`` draws one (recorded).
        tolerance: overrides the dtype's tolerance.

    Returns:
        A :class:`PropertyReport` with ``property="P1 equivariance"``; ``worst`` is the
        largest ``err(P)``; ``counterexample`` holds the smallest failing permutation
        (fewest moved indices, a transposition whenever one fails), the index ``i`` where
        the entries differ most and both entries; ``details`` records the mode, the
        counts, and on lazy collections the compared indices and whether ``P U(X)`` and
        ``U(P X)`` shared a base (then outside ``supp(P)`` they agree exactly).

    Raises:
        TypeError: ``rule`` is not an UpdateRule, ``X`` is not a collection, an element of
            ``permutations`` is not a FinitaryPermutation, or the rule is finite-only and
            ``X`` is lazy.
        ValueError: ``n_samples < 1``, ``exhaustive_limit < 0``, ``window < 2``, a
            permutation moves an index outside a finite ``X``, ``permutations`` is empty.

    Example:
        >>> from invariance.properties import equivariance_error
        >>> X = FiniteCollection([[0.0, 1.0], [2.0, 0.5], [1.0, 1.0]])
        >>> equivariance_error(centering_rule(2.0), X).passed
        True
        >>> report = equivariance_error(IndexBiasedRule(centering_rule(2.0), index=1), X)
        >>> report.passed, report.counterexample["moved_indices"]
        (False, 2)
    """
    Xc = check_collection(X)
    rule = check_rule(rule, Xc)
    t = check_t(t)
    n_samples = check_int(n_samples, "n_samples", 1)
    exhaustive_limit = check_int(exhaustive_limit, "exhaustive_limit", 0)
    window = check_int(window, "window", 2)
    seed = check_seed(seed)
    tol = check_tolerance(tolerance, Xc.dtype)
    rng = np.random.default_rng(seed)
    lazy = isinstance(Xc, LazyCollection)

    details: dict[str, Any] = {}
    if permutations is not None:
        perms = _validate_permutations(permutations, Xc)
        details["mode"] = "explicit permutations"
        n_transpositions = sum(1 for P in perms if len(P.support) == 2)
    elif isinstance(Xc, FiniteCollection):
        perms, mode, n_transpositions = _finite_permutations(Xc.n, n_samples, exhaustive_limit, rng)
        details["mode"] = mode
    else:
        assert isinstance(Xc, LazyCollection)
        perms, n_transpositions = _lazy_permutations(Xc, n_samples, window, rng)
        details["mode"] = "lazy window"
    evaluate = _Evaluator(rule, Xc, t, window, rng)
    cases = [evaluate(P) for P in perms]

    scale = max(max(c.scale for c in cases), evaluate.ux_norm)
    bound = tol.bound(scale)

    def fails(P: FinitaryPermutation) -> bool:
        return evaluate(P).error > bound

    failing = [c for c in cases if c.error > bound]
    if failing:
        failing.sort(key=lambda c: (len(c.perm.support), -c.error))
        smallest = shrink_permutation(failing[0].perm, fails)
        shown = evaluate(smallest)
    else:
        shown = max(cases, key=lambda c: c.error)
    all_cases = list(evaluate.cache.values())
    worst = max(c.error for c in all_cases)

    details.update(
        n=Xc.n if isinstance(Xc, FiniteCollection) else None,
        permutations_checked=len(perms),
        transpositions_checked=n_transpositions,
        shrink_evaluations=len(all_cases) - len(cases),
        failing_permutations=sum(1 for c in all_cases if c.error > bound),
        scale=scale,
        atol=tol.atol,
        rtol=tol.rtol,
        dtype=str(Xc.dtype),
    )
    if lazy:
        assert isinstance(Xc, LazyCollection)
        details.update(
            checked_indices={
                "window": f"0..{window - 1}",
                "overrides": list(Xc.support),
                "far": evaluate.far.tolist(),
                "plus": "supp(P) of each permutation",
            },
            bases_equal=all(bool(c.bases_equal) for c in all_cases),
            outside_support_exact=all(bool(c.bases_equal) for c in all_cases),
            worst_outside_support=max(c.outside_error for c in all_cases),
        )
    return PropertyReport(
        property="P1 equivariance",
        passed=not failing,
        worst=float(worst),
        tolerance=bound,
        counterexample=_counterexample(shown, lazy),
        seed=seed,
        trials=len(all_cases),
        details=details,
    )


def assert_equivariant(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    *,
    t: int = 0,
    permutations: Iterable[FinitaryPermutation] | FinitaryPermutation | None = None,
    n_samples: int = 32,
    exhaustive_limit: int = 12,
    window: int = 64,
    seed: int | None = 0,
    tolerance: Tolerance | None = None,
) -> PropertyReport:
    """Assert P1 (equivariance, ``P U(X) = U(P X)``, Section 3) at ``X``.

    Runs :func:`equivariance_error` with the same arguments and raises when
    ``max_P max_i ||(P U(X))_i - U_i(P X)|| > atol + rtol * scale``.

    Args:
        rule, X, t, permutations, n_samples, exhaustive_limit, window, seed, tolerance: as
            in :func:`equivariance_error`.

    Returns:
        The passing :class:`PropertyReport`.

    Raises:
        PropertyViolation: the check failed; ``.report`` holds the report, whose
            counterexample is the smallest failing permutation found.

    Example:
        >>> from invariance.properties import assert_equivariant, PropertyViolation
        >>> X = FiniteCollection([[0.0], [1.0], [3.0]])
        >>> assert_equivariant(centering_rule(1.0), X).passed
        True
        >>> try:
        ...     assert_equivariant(AnchoredRule(centering_rule(1.0)), X)
        ... except PropertyViolation as err:
        ...     print(err.report.counterexample["cycles"])
        [(0, 2)]
    """
    report = equivariance_error(
        rule, X, t=t, permutations=permutations, n_samples=n_samples, exhaustive_limit=exhaustive_limit,
        window=window, seed=seed, tolerance=tolerance,
    )
    return report.raise_if_failed()
