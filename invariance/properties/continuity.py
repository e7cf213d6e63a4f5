"""P2-K (eq. 5) and the altered continuity property P2' (Appendix D, eq. 58).

P2-K asks, for all collections ``X, Y`` that differ in finitely many entries,

    || U(X) - U(Y) || <= K || X - Y ||                                        (eq. 5)

with the paper's norm (:func:`~invariance.collections.difference_norm`: ``+inf`` unless
finitely many entries differ). P2' relaxes it entrywise:

    sup_i || U_i(X) - U_i(Y) || <= (K / 2) || X - Y ||.                       (eq. 58)

Neither constant can be computed from finitely many evaluations; the measures here give
*empirical lower estimates* of the smallest valid K at a collection ``X``,

    K_hat  = max_Y || U(X) - U(Y) || / || X - Y ||,
    K'_hat = max_Y 2 sup_i || U_i(X) - U_i(Y) || / || X - Y ||,

over pairs ``Y`` that differ from ``X`` in finitely many entries:

* random sparse perturbations at several relative sizes (``1e-4 .. 1`` times the
  collection's scale; sizes whose rounding noise would exceed the dtype's relative
  tolerance are skipped);
* the adversarial pairs ``Y = P X`` for transpositions ``P = (i j)``, the pairs the proof
  of Lemma 4 (Appendix A.2) uses: they give ``||U_i(X) - U_j(X)|| <= K ||x_i - x_j||``;
* on finite collections, a few power-iteration steps ``v <- (U(X + h v) - U(X)) / h``
  (normalised) along the direction of largest growth;
* on finite collections, an **adversarial refinement**: the most promising pairs (largest
  ratios, largest update changes, the best of each size, then the others) are bisected
  along ``X + s (Y - X)`` toward the point where the ratio blows up, down to brackets of
  ``1e3`` rounding units. Where the change of the update does not shrink with the bracket
  (still >= 10% of its value 20 halvings, a 10^6 times longer bracket, earlier) the rule is
  **discontinuous** there: the report says ``details["finding"] = "discontinuous"`` with the
  pair, its distance and the jump, and no K holds; a finite ratio above a claimed K is
  ``"K exceeds the claim"`` instead.

**Budget.** With the defaults (``n_pairs=64``, ``power_steps=8``, ``refine_budget=256``) a
search costs about 64 + 8 + (transpositions: all pairs up to 16 entries, else 64) + 256
rule evaluations, reported as ``details["evaluations"]`` (``details["refinement"]`` for the
bisection); for a rule on 10 neurons in R^2 that is about 0.05 s. Refined pairs count in the
estimate only while longer than the noise floor of the dtype (below it a quotient is rounding).

**Domains.** Perturbations stay in the rule's :meth:`~invariance.rules.UpdateRule.domain`
(stateless Adam: ``v >= 0``): each bounded coordinate moves at most half way to its bound
(:meth:`~invariance.domains.ParticleDomain.clip_step`), so an estimate at ``X`` measures the
rule near ``X``. A NaN or inf update at a point of the domain is a finding
(``"non-finite update inside the domain"``), not an exception.

On a lazy collection, ``Y`` overrides finitely many entries of ``X``. If ``U(X)`` and
``U(Y)`` do not share a base they differ in infinitely many entries: ``||U(X) - U(Y)|| =
+inf``, the ratio is ``+inf`` and P2-K fails at ``X`` for every K, while P2' is estimated
on a finite window of entries (a lower bound, reported as ``exact=False``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_collection, check_int, check_K, check_seed, check_t, check_tolerance
from ..collections import Collection, FiniteCollection, LazyCollection, difference_norm, differing_indices
from ..permutations import FinitaryPermutation
from ..rules import NonFiniteUpdateError, UpdateRule, check_rule
from ..tolerances import Tolerance
from .equivariance import _row_norms
from .report import PropertyReport

__all__ = [
    "continuity_constant",
    "check_continuity",
    "assert_continuity",
    "altered_continuity_constant",
    "check_altered_continuity",
    "assert_altered_continuity",
]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.int64]

#: Relative sizes of the random perturbations, times the collection's scale.
DEFAULT_SCALES: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: Rounding noise of a difference quotient is about ``_NOISE * eps / r`` relative to K at
#: relative size ``r``; sizes are kept only where that is below the tolerance's rtol.
_NOISE = 100.0
#: Far indices also compared on a lazy collection when bases differ (P2' window).
_N_FAR = 8
#: Transpositions checked exhaustively up to this many entries (all pairs), else sampled.
_EXHAUSTIVE_PAIRS = 16


#: Rule evaluations the adversarial refinement may spend (on top of the pairs above).
DEFAULT_REFINE_BUDGET = 256
#: Pairs are refined in this order until the budget is spent: the 3 largest ratios, the 3 largest
#: update changes, the best ratio of each relative size, then every other pair by ratio.
#: The bisection stops at a segment this many rounding units (times the scale) long.
_FLOOR_ULPS = 1e3
#: A jump "persists" when the change of the update across the bracket is still at least
#: _PERSIST_FRACTION of what it was _PERSIST_HALVINGS halvings (a 10^6 times longer bracket) earlier.
_PERSIST_HALVINGS = 20
_PERSIST_FRACTION = 0.1


def _refine(maker: _PairMaker, X: FiniteCollection, pairs: list[_Pair], budget: int,
            scale: float, sep: float) -> dict[str, Any]:
    """Bisect the most promising pairs toward the point where ``||U(Z) - U(Z')|| / ||Z - Z'||`` blows up.

    Along the segment ``X + s d`` of a pair (``d = Y - X``), each step halves the bracket
    ``[lo, hi]`` and keeps the half across which the update changes more. For a K-continuous
    rule the change shrinks with the bracket (the ratio converges, and the search stops early);
    across a jump it stays at the jump while the bracket shrinks toward round-off, so the
    ratio grows without bound: the rule is *discontinuous* there. Refined pairs are appended
    to ``pairs`` (kind ``"refined"``) while they are longer than ``sep`` (below it, a difference
    quotient is rounding noise); shorter ones count only as evidence of a jump.
    """
    eps = float(np.finfo(X.dtype).eps) if np.issubdtype(X.dtype, np.floating) else float(np.finfo(np.float64).eps)
    floor = _FLOOR_ULPS * eps * scale
    base = np.asarray(X.points, dtype=np.float64)
    ux = np.asarray(maker.UX.points, dtype=np.float64)  # type: ignore[union-attr]
    cands: list[_Pair] = []
    for group in (sorted(pairs, key=lambda p: -p.ratio)[:3], sorted(pairs, key=lambda p: -p.du)[:3]):
        cands += group
    for r in sorted({float(p.info["relative_size"]) for p in pairs if p.kind == "random"}):
        at = [p for p in pairs if p.kind == "random" and p.info.get("relative_size") == r]
        cands.append(max(at, key=lambda p: p.ratio))
    cands += sorted(pairs, key=lambda p: -p.ratio)  # then every other pair, while the budget lasts
    seen: set[int] = set()
    todo = []
    for p in cands:
        if p.segment is not None and id(p) not in seen and math.isfinite(p.ratio):
            seen.add(id(p))
            todo.append(p)
    start = maker.evaluations
    found: dict[str, Any] | None = None
    refined = 0

    def point(chosen: IndexArray, delta: FloatArray, s: float) -> FloatArray:
        z = base.copy()
        z[chosen] = base[chosen] + s * delta
        return z

    for p in todo:
        if maker.evaluations - start >= budget:
            break
        assert p.segment is not None
        chosen, delta = p.segment
        dnorm = float(np.linalg.norm(delta))
        if not dnorm > 0:
            continue
        lo, hi = 0.0, 1.0
        u_lo = ux
        u_hi_c = maker.evaluate(FiniteCollection(point(chosen, delta, 1.0).astype(X.dtype)), "refined", {})
        if u_hi_c is None:
            continue
        u_hi = np.asarray(u_hi_c.points, dtype=np.float64)  # type: ignore[union-attr]
        history: list[tuple[float, float, float, int, float, float]] = []  # length, jump, sup, argmax, lo, hi
        while maker.evaluations - start < budget and (hi - lo) * dnorm > floor:
            mid = 0.5 * (lo + hi)
            zc = FiniteCollection(point(chosen, delta, mid).astype(X.dtype))
            um_c = maker.evaluate(zc, "refined", {"s": mid})
            if um_c is None:
                break
            um = np.asarray(um_c.points, dtype=np.float64)  # type: ignore[union-attr]
            left, right = float(np.linalg.norm(um - u_lo)), float(np.linalg.norm(u_hi - um))
            if left >= right:
                hi, u_hi, jump = mid, um, left
            else:
                lo, u_lo, jump = mid, um, right
            length = (hi - lo) * dnorm  # the bracket is a piece of the segment X + s delta
            if not length > 0:
                break
            norms = _row_norms(u_hi - u_lo)
            k = int(np.argmax(norms))
            history.append((length, jump, float(norms[k]), k, lo, hi))
            if len(history) > 6 and jump < _PERSIST_FRACTION * history[-7][1]:
                break  # the change shrinks with the bracket (64x shorter, >10x smaller): continuous here
        if not history:
            continue
        refined += 1
        changed = [int(i) for i in chosen[np.any(delta != 0, axis=1)].tolist()]
        usable = [k for k, h in enumerate(history) if h[0] >= sep]
        if usable:  # the shortest bracket whose difference quotient is above the rounding noise
            ell, jmp, sup, k_sup, a, b = history[usable[-1]]
            pairs.append(_Pair("refined", changed, ell, jmp, sup, k_sup, True, None,
                               {"refined_from": p.kind, "s": [a, b], "halvings": usable[-1] + 1},
                               (chosen, (b - a) * delta)))
        length, jump = history[-1][0], history[-1][1]
        persists = (len(history) > _PERSIST_HALVINGS and jump > 0
                    and jump >= _PERSIST_FRACTION * history[-1 - _PERSIST_HALVINGS][1])
        if persists and (found is None or jump / length > found["ratio"]):
            found = {"kind": "discontinuity", "differing_indices": changed, "||X - Y||": length,
                     "||U(X) - U(Y)||": jump, "ratio": jump / length,
                     f"jump {_PERSIST_HALVINGS} halvings earlier": history[-1 - _PERSIST_HALVINGS][1],
                     "halvings": len(history),
                     "segment": {"from": p.kind, "s": [lo, hi], **{k2: v for k2, v in p.info.items()}}}
    return {"budget": budget, "evaluations": maker.evaluations - start, "pairs_refined": refined,
            "floor": floor, "discontinuity": found}


def _check_scales(scales: object) -> tuple[float, ...]:
    try:
        vals = tuple(float(s) for s in scales)  # type: ignore[attr-defined]
    except TypeError:
        raise TypeError(f"scales must be an iterable of numbers, got {type(scales).__name__}") from None
    if not vals:
        raise ValueError("scales must not be empty")
    for s in vals:
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"scales must be finite relative sizes > 0, got {s!r}")
    return vals


def _collection_scale(X: Collection, window: int) -> float:
    """The largest entry norm (of the window and overrides on a lazy X); 1 when that is so
    small that relative perturbations would underflow (``X = 0``, subnormal entries)."""
    if isinstance(X, FiniteCollection):
        rows = X.points
    else:
        idx = np.union1d(np.arange(window, dtype=np.int64), np.array(X.support, dtype=np.int64))
        rows = X.entries(idx)
    s = float(np.max(_row_norms(rows)))
    return s if s >= float(np.finfo(X.dtype).tiny) ** 0.25 else 1.0


@dataclass
class _Pair:
    """One pair ``(X, Y)`` and the two difference quotients it gives."""

    kind: str
    indices: list[int]  # where X and Y differ
    dx: float
    du: float  # ||U(X) - U(Y)|| (inf when infinitely many entries differ)
    sup: float  # sup_i ||U_i(X) - U_i(Y)|| (over a window when not exact)
    sup_index: int
    exact: bool  # whether sup is over every entry
    shared_base: bool | None
    info: dict[str, Any]
    segment: tuple[IndexArray, FloatArray] | None = None  # Y = X + delta on rows ``indices``

    @property
    def ratio(self) -> float:
        return self.du / self.dx

    @property
    def altered_ratio(self) -> float:
        return 2.0 * self.sup / self.dx


class _PairMaker:
    """Builds ``Y`` next to ``X`` and evaluates both quotients."""

    def __init__(self, rule: UpdateRule, X: Collection, t: int, window: int, rng: np.random.Generator) -> None:
        self.rule, self.X, self.t = rule, X, t
        self.domain = rule.domain(X.dim)
        self.evaluations = 1
        self.nonfinite: list[dict[str, Any]] = []
        self.UX = rule.update(X, t)
        self.last_UY: Collection = self.UX
        if isinstance(X, LazyCollection):
            far = rng.integers(window, window + 10**6, size=_N_FAR).astype(np.int64)
            head = np.union1d(np.arange(window, dtype=np.int64), far)
            self.window = np.union1d(head, np.array(X.support, dtype=np.int64))
            assert isinstance(self.UX, LazyCollection)
            self.ux_window = np.asarray(self.UX.entries(self.window), dtype=np.float64)

    def evaluate(self, Y: Collection, kind: str, info: dict[str, Any]) -> Collection | None:
        """``U(Y)``, or ``None`` (recorded as a finding) when the rule returns NaN or inf inside its domain."""
        self.evaluations += 1
        try:
            return self.rule.update(Y, self.t)
        except NonFiniteUpdateError as err:
            self.nonfinite.append({"kind": kind, "message": str(err), **info})
            return None

    def pair(self, Y: Collection, kind: str, info: dict[str, Any]) -> _Pair | None:
        dx = difference_norm(self.X, Y)
        if not (dx > 0) or not math.isfinite(dx):
            return None
        UY = self.evaluate(Y, kind, info)
        if UY is None:
            return None
        self.last_UY = UY
        if isinstance(self.X, FiniteCollection):
            assert isinstance(Y, FiniteCollection) and isinstance(self.UX, FiniteCollection)
            assert isinstance(UY, FiniteCollection)
            diff = np.asarray(self.UX.points, dtype=np.float64) - np.asarray(UY.points, dtype=np.float64)
            norms = _row_norms(diff)
            changed = [int(i) for i in np.flatnonzero(np.any(self.X.points != Y.points, axis=1)).tolist()]
            k = int(np.argmax(norms))
            return _Pair(kind, changed, dx, float(np.sqrt(np.sum(norms**2))), float(norms[k]), k, True, None, info)
        assert isinstance(Y, LazyCollection) and isinstance(UY, LazyCollection)
        assert isinstance(self.UX, LazyCollection)
        moved_idx = differing_indices(self.X, Y)
        assert moved_idx is not None
        changed = np.any(self.X.entries(moved_idx) != Y.entries(moved_idx), axis=1)
        moved = [int(i) for i in moved_idx[changed].tolist()]
        idx = differing_indices(self.UX, UY)
        if idx is not None:  # shared base: they differ at most on the overrides, exact
            if idx.size == 0:
                return _Pair(kind, moved, dx, 0.0, 0.0, 0, True, True, info)
            norms = _row_norms(self.UX.entries(idx) - UY.entries(idx))
            k = int(np.argmax(norms))
            return _Pair(kind, moved, dx, float(np.sqrt(np.sum(norms**2))), float(norms[k]), int(idx[k]), True,
                         True, info)
        # different bases: infinitely many entries differ (as far as can be proved)
        extra = np.setdiff1d(np.array(Y.support, dtype=np.int64), self.window)
        idx = np.concatenate([self.window, extra])
        ux = self.ux_window if extra.size == 0 else np.concatenate([self.ux_window, self.UX.entries(extra)])
        norms = _row_norms(ux - UY.entries(idx))
        k = int(np.argmax(norms))
        return _Pair(kind, moved, dx, math.inf, float(norms[k]), int(idx[k]), False, False, info)


def _min_relative_size(dtype: np.dtype, tol: Tolerance) -> float:
    eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(np.finfo(np.float64).eps)
    return min(0.5, _NOISE * eps / max(tol.rtol, 1e-300))


def _pairs(
    rule: UpdateRule,
    X: Collection,
    t: int,
    n_pairs: int,
    seed: int,
    scales: tuple[float, ...],
    power_steps: int,
    window: int,
    tol: Tolerance,
    refine_budget: int = 0,
) -> tuple[list[_Pair], dict[str, Any]]:
    rng = np.random.default_rng(seed)
    dom = rule.domain(X.dim)
    if dom is not None and isinstance(X, FiniteCollection):
        outside = np.flatnonzero(~dom.contains(X.points))
        if outside.size:
            raise ValueError(f"X: entries {outside[:5].tolist()} lie outside the rule's domain ({dom.describe()})")
    maker = _PairMaker(rule, X, t, window, rng)
    scale = _collection_scale(X, window)
    r_min = _min_relative_size(X.dtype, tol)
    used = tuple(s for s in scales if s >= r_min) or (r_min,)
    sep = r_min * scale  # smallest ||X - Y|| accepted
    out: list[_Pair] = []
    lazy = isinstance(X, LazyCollection)
    if isinstance(X, FiniteCollection):
        n, pool = X.n, list(range(X.n))
    else:
        pool = sorted(set(range(window)) | set(X.support))
        n = len(pool)
    D = X.dim

    def keep(p: _Pair | None) -> None:
        if p is not None and p.dx >= 0.5 * sep:
            out.append(p)

    # 1. random sparse perturbations; on a lazy X the first ones move index 0 and each override
    forced = sorted({0} | set(X.support)) if isinstance(X, LazyCollection) else []
    best_dir: FloatArray | None = None
    best_ratio = -1.0
    for p in range(n_pairs):
        r = used[p % len(used)]
        if p < len(forced):
            chosen = np.array([forced[p]], dtype=np.int64)
        else:
            k = [1, min(2, n), n if not lazy else min(4, n), int(rng.integers(1, n + 1))][p % 4]
            chosen = np.sort(rng.choice(np.asarray(pool), size=min(k, n), replace=False)).astype(np.int64)
        delta = rng.standard_normal((chosen.size, D))
        delta *= r * scale / float(np.linalg.norm(delta))
        rows = np.asarray(X.entries(chosen), dtype=np.float64)
        new = rows + delta if maker.domain is None else maker.domain.clip_step(rows, rows + delta)
        Y = X.with_entries(chosen, new.astype(X.dtype))
        pair = maker.pair(Y, "random", {"relative_size": r})
        if pair is not None:
            pair.segment = (chosen, np.asarray(Y.entries(chosen), dtype=np.float64) - rows)
        keep(pair)
        if pair is not None and not lazy and pair.ratio > best_ratio:
            best_ratio = pair.ratio
            best_dir = np.zeros((n, D))
            best_dir[chosen] = delta

    # 2. the adversarial pairs of Lemma 4: Y = P X for transpositions P = (i j)
    if not lazy and n <= _EXHAUSTIVE_PAIRS:
        transp = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        transp = []
        for s in forced:
            others = [j for j in pool if j != s]
            transp.append((s, int(rng.choice(others))))
        if n >= 2:
            for _ in range(n_pairs):
                i, j = rng.choice(np.asarray(pool), size=2, replace=False).tolist()
                transp.append((int(i), int(j)))
    seen: set[frozenset[int]] = set()
    for i, j in transp:
        key = frozenset((i, j))
        if key in seen:
            continue
        seen.add(key)
        xi, xj = X.entries([i, j])
        if float(np.linalg.norm(np.asarray(xi, dtype=np.float64) - xj)) * math.sqrt(2.0) < sep:
            continue  # too close to tell the quotient from rounding noise
        P = FinitaryPermutation.transposition(i, j)
        tp = maker.pair(P.act(X), "transposition", {"permutation": repr(P)})
        if tp is not None:
            ij = np.array([i, j], dtype=np.int64)
            rows_ij = np.asarray(X.entries(ij), dtype=np.float64)
            tp.segment = (ij, rows_ij[::-1] - rows_ij)
        keep(tp)

    # 3. power iteration along the direction of largest growth (finite X)
    steps_done = 0
    if isinstance(X, FiniteCollection) and power_steps > 0:
        assert isinstance(maker.UX, FiniteCollection)
        h = max(r_min, 1e-3) * scale
        v = best_dir if best_dir is not None else rng.standard_normal((n, D))
        base = np.asarray(X.points, dtype=np.float64)
        ux = np.asarray(maker.UX.points, dtype=np.float64)
        for _ in range(power_steps):
            nv = float(np.linalg.norm(v))
            if not (nv > 0) or not math.isfinite(nv):
                break
            v = v / nv
            moved = base + h * v if maker.domain is None else maker.domain.clip_step(base, base + h * v)
            Y = FiniteCollection(moved.astype(X.dtype))
            pair = maker.pair(Y, "power iteration", {"step": steps_done, "relative_size": h / scale})
            steps_done += 1
            if pair is not None:
                pair.segment = (np.arange(n, dtype=np.int64), np.asarray(Y.points, dtype=np.float64) - base)
            keep(pair)
            if pair is None:
                break
            UY = maker.last_UY
            assert isinstance(UY, FiniteCollection)
            v = (np.asarray(UY.points, dtype=np.float64) - ux) / h
    refinement = _refine(maker, X, out, refine_budget, scale, sep) if isinstance(X, FiniteCollection) else None
    info = {
        "collection_scale": scale,
        "relative_sizes_used": list(used),
        "min_relative_size": r_min,
        "power_iteration_steps": steps_done,
        "pairs_by_kind": {
            k: sum(1 for p in out if p.kind == k)
            for k in ("random", "transposition", "power iteration", "refined")
        },
        "domain": maker.domain.describe() if maker.domain is not None else "R^D",
    }
    if refinement is not None:
        info["refinement"] = refinement
    info["evaluations"] = maker.evaluations
    info["nonfinite"] = maker.nonfinite
    return out, info


def _describe(p: _Pair, altered: bool) -> dict[str, Any]:
    moved = p.indices if len(p.indices) <= 20 else p.indices[:20] + ["..."]
    out: dict[str, Any] = {
        "kind": p.kind,
        "differing_indices": moved,
        "||X - Y||": p.dx,
        "ratio": p.altered_ratio if altered else p.ratio,
    }
    if altered:
        out["sup_i ||U_i(X) - U_i(Y)||"] = p.sup
        out["sup_index"] = p.sup_index
        out["exact"] = p.exact
    else:
        out["||U(X) - U(Y)||"] = p.du
    if p.shared_base is not None:
        out["shared_base"] = p.shared_base
    out.update(p.info)
    return out


def _measure(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    altered: bool,
    t: int,
    n_pairs: int,
    seed: int | None,
    scales: Any,
    power_steps: int,
    window: int,
    tolerance: Tolerance | None,
    refine_budget: int = DEFAULT_REFINE_BUDGET,
) -> tuple[PropertyReport, Tolerance]:
    Xc = check_collection(X)
    rule = check_rule(rule, Xc)
    t = check_t(t)
    n_pairs = check_int(n_pairs, "n_pairs", 1)
    power_steps = check_int(power_steps, "power_steps", 0)
    window = check_int(window, "window", 2)
    seed_ = check_seed(seed)
    sizes = _check_scales(scales)
    tol = check_tolerance(tolerance, Xc.dtype)
    refine_budget = check_int(refine_budget, "refine_budget", 0)
    name = "P2' altered continuity (eq. 58)" if altered else "P2-K continuity (eq. 5)"
    try:
        pairs, info = _pairs(rule, Xc, t, n_pairs, seed_, sizes, power_steps, window, tol, refine_budget)
    except NonFiniteUpdateError as err:  # at X itself, a point of the rule's domain
        return PropertyReport(property=name, passed=False, worst=math.inf, tolerance=math.inf,
                              counterexample={"kind": "non-finite update at X", "message": str(err)}, seed=seed_,
                              trials=0, details={"finding": "non-finite update inside the domain",
                                                 "dtype": str(Xc.dtype)}), tol
    key = (lambda p: p.altered_ratio) if altered else (lambda p: p.ratio)
    details: dict[str, Any] = dict(info)
    details["dtype"] = str(Xc.dtype)
    if pairs:
        best = max(pairs, key=key)
        worst = float(key(best))
        counterexample: dict[str, Any] | None = _describe(best, altered)
    else:
        worst, counterexample = 0.0, None
    infinite = [p for p in pairs if math.isinf(p.ratio)]
    if altered:
        details["exact"] = all(p.exact for p in pairs)
        details["note"] = (
            "sup_i over every entry" if details["exact"] else
            "some pairs changed infinitely many updates: sup_i taken over a finite window (a lower bound)"
        )
    details["infinite_ratio_pairs"] = len(infinite)
    if infinite and not altered:
        details["p2k_fails"] = (
            "U(X) and U(Y) do not share a base: they differ in infinitely many entries, "
            "so ||U(X) - U(Y)|| = inf while ||X - Y|| < inf; P2-K fails for every K"
        )
        details["infinite_example"] = _describe(infinite[0], False)
    passed = math.isfinite(worst)
    disc = info.get("refinement", {}).get("discontinuity") if info.get("refinement") else None
    if disc is not None:  # the ratio grows without bound as the pair shrinks: no K works
        details["finding"] = "discontinuous"
        details["discontinuity"] = disc
        worst = max(worst, float(disc["ratio"]))
        counterexample = dict(disc)
        passed = False
    if info["nonfinite"]:
        details["finding"] = details.get("finding") or "non-finite update inside the domain"
        if "discontinuity" not in details:
            counterexample = {"kind": "non-finite update inside the domain", **info["nonfinite"][0]}
            worst = math.inf
        passed = False
    report = PropertyReport(
        property=name,
        passed=passed,
        worst=worst,
        tolerance=math.inf,
        counterexample=counterexample,
        seed=seed_,
        trials=len(pairs),
        details=details,
    )
    return report, tol


def continuity_constant(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    *,
    t: int = 0,
    n_pairs: int = 64,
    seed: int | None = 0,
    scales: tuple[float, ...] = DEFAULT_SCALES,
    power_steps: int = 8,
    window: int = 64,
    tolerance: Tolerance | None = None,
    refine_budget: int = DEFAULT_REFINE_BUDGET,
) -> PropertyReport:
    """Estimate, from below, the smallest K of P2-K (eq. 5) at ``X``.

    ``K_hat = max_Y ||U(X) - U(Y)|| / ||X - Y||`` over pairs ``Y`` differing from ``X`` in
    finitely many entries (norms: :func:`~invariance.collections.difference_norm`):
    random sparse perturbations of relative sizes ``scales`` (times the largest entry
    norm), the transposition pairs ``Y = (i j) X`` of Lemma 4's proof, and
    ``power_steps`` power-iteration steps on a finite ``X``. Every P2-K constant is
    ``>= K_hat``. On a lazy ``X``, a pair whose updates do not share a base changes
    infinitely many entries: its ratio is ``+inf`` and P2-K fails (``details``).

    Args:
        rule: the update rule ``U``.
        X: a :class:`FiniteCollection`, a :class:`LazyCollection` or an ``(n, D)`` array.
        t: the time step of ``U^(t)``.
        n_pairs: number of random perturbations (and of sampled transpositions on large or
            lazy collections); at least 1.
        seed: seed of ``numpy.random.default_rng``; ``None`` draws one (recorded).
        scales: relative sizes of the random perturbations. Sizes below
            ``100 eps / rtol`` of the dtype are skipped (rounding noise).
        power_steps: power-iteration steps on a finite ``X`` (0 to skip).
        window: on a lazy ``X``, perturbed indices are drawn from ``0..window-1`` and the
            overrides.
        tolerance: overrides the dtype's tolerance (used for the noise floor).

    Returns:
        A :class:`PropertyReport`: ``worst = K_hat`` (possibly ``inf``), ``passed`` when it
        is finite, ``counterexample`` the pair attaining it (kind, differing indices,
        norms, ratio), ``trials`` the number of pairs.

    Example:
        >>> from invariance.properties import continuity_constant
        >>> X = FiniteCollection([[0.0, 1.0], [2.0, 0.5], [1.0, 1.0], [3.0, 2.0]])
        >>> round(continuity_constant(centering_rule(3.0), X).worst, 6)
        3.0
    """
    report, _ = _measure(rule, X, False, t, n_pairs, seed, scales, power_steps, window, tolerance,
                         refine_budget)
    return report


def altered_continuity_constant(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    *,
    t: int = 0,
    n_pairs: int = 64,
    seed: int | None = 0,
    scales: tuple[float, ...] = DEFAULT_SCALES,
    power_steps: int = 8,
    window: int = 64,
    tolerance: Tolerance | None = None,
    refine_budget: int = DEFAULT_REFINE_BUDGET,
) -> PropertyReport:
    """Estimate, from below, the smallest K of the altered property P2' (eq. 58) at ``X``.

    ``K'_hat = max_Y 2 sup_i ||U_i(X) - U_i(Y)|| / ||X - Y||`` over the same pairs as
    :func:`continuity_constant`. The supremum over entries is exact when ``U(X)`` and
    ``U(Y)`` differ in finitely many entries (finite ``X``, or lazy updates that share a
    base); otherwise it is taken over the window, the overrides and a few far indices: a
    lower bound, reported with ``details["exact"] = False``. Since
    ``sup_i ||.|| <= ||.||``, a P2-K constant K gives the P2' constant ``2K``.

    Args:
        rule, X, t, n_pairs, seed, scales, power_steps, window, tolerance: as in
            :func:`continuity_constant`.

    Returns:
        A :class:`PropertyReport` with ``worst = K'_hat``.

    Example:
        >>> from invariance.properties import altered_continuity_constant
        >>> X = LazyCollection(CircleBase(), {3: [1.0, 1.0]})
        >>> report = altered_continuity_constant(AnchoredRule(centering_rule(1.0, quadrature=64)), X)
        >>> report.passed, report.details["exact"]
        (True, False)
    """
    report, _ = _measure(rule, X, True, t, n_pairs, seed, scales, power_steps, window, tolerance,
                         refine_budget)
    return report


def _checked(report: PropertyReport, K: float, tol: Tolerance) -> PropertyReport:
    bound = K * (1.0 + tol.rtol) + tol.atol
    details = dict(report.details)
    details.update(K=K, atol=tol.atol, rtol=tol.rtol)
    passed = bool(report.worst <= bound) and "finding" not in details
    if not passed and "finding" not in details:
        details["finding"] = "K exceeds the claim"
    return dataclasses.replace(
        report, property=f"{report.property} with K = {K:g}", passed=passed, tolerance=bound, details=details,
    )


def check_continuity(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    K: float,
    *,
    t: int = 0,
    n_pairs: int = 64,
    seed: int | None = 0,
    scales: tuple[float, ...] = DEFAULT_SCALES,
    power_steps: int = 8,
    window: int = 64,
    tolerance: Tolerance | None = None,
    refine_budget: int = DEFAULT_REFINE_BUDGET,
) -> PropertyReport:
    """Check the claim that ``U`` has P2-K (eq. 5) with constant ``K``, at ``X``.

    Passes when ``K_hat <= K (1 + rtol) + atol`` with ``K_hat`` from
    :func:`continuity_constant` and ``(atol, rtol)`` the tolerance of ``X``'s dtype. A
    failure is a proof (up to rounding) that ``K`` is too small: the counterexample pair
    has ``||U(X) - U(Y)|| > K ||X - Y||``.

    Args:
        rule, X: as in :func:`continuity_constant`.
        K: the claimed constant, a finite number > 0.
        t, n_pairs, seed, scales, power_steps, window, tolerance: as in
            :func:`continuity_constant`.

    Returns:
        The :class:`PropertyReport` with the verdict and ``tolerance = K (1 + rtol) + atol``.

    Raises:
        ValueError: ``K <= 0``, NaN or inf.

    Example:
        >>> from invariance.properties import check_continuity
        >>> X = FiniteCollection([[0.0], [1.0], [4.0]])
        >>> check_continuity(centering_rule(3.0), X, K=3.0).passed
        True
        >>> check_continuity(centering_rule(3.0), X, K=1.0).passed
        False
    """
    k = check_K(K)
    report, tol = _measure(rule, X, False, t, n_pairs, seed, scales, power_steps, window, tolerance,
                         refine_budget)
    return _checked(report, k, tol)


def check_altered_continuity(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    K: float,
    *,
    t: int = 0,
    n_pairs: int = 64,
    seed: int | None = 0,
    scales: tuple[float, ...] = DEFAULT_SCALES,
    power_steps: int = 8,
    window: int = 64,
    tolerance: Tolerance | None = None,
    refine_budget: int = DEFAULT_REFINE_BUDGET,
) -> PropertyReport:
    """Check the claim that ``U`` has the altered property P2' (eq. 58) with constant ``K``.

    Passes when ``K'_hat <= K (1 + rtol) + atol`` with ``K'_hat`` from
    :func:`altered_continuity_constant`.

    Args:
        rule, X, t, n_pairs, seed, scales, power_steps, window, tolerance: as in
            :func:`continuity_constant`.
        K: the claimed constant, a finite number > 0.

    Returns:
        The :class:`PropertyReport` with the verdict.

    Raises:
        ValueError: ``K <= 0``, NaN or inf.

    Example:
        >>> from invariance.properties import check_altered_continuity
        >>> X = FiniteCollection([[0.0], [1.0], [4.0]])
        >>> check_altered_continuity(centering_rule(3.0), X, K=6.0).passed
        True
    """
    k = check_K(K)
    report, tol = _measure(rule, X, True, t, n_pairs, seed, scales, power_steps, window, tolerance,
                         refine_budget)
    return _checked(report, k, tol)


def assert_continuity(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    K: float,
    *,
    t: int = 0,
    n_pairs: int = 64,
    seed: int | None = 0,
    scales: tuple[float, ...] = DEFAULT_SCALES,
    power_steps: int = 8,
    window: int = 64,
    tolerance: Tolerance | None = None,
    refine_budget: int = DEFAULT_REFINE_BUDGET,
) -> PropertyReport:
    """Assert P2-K (eq. 5), ``||U(X) - U(Y)|| <= K ||X - Y||``, at ``X`` (see :func:`check_continuity`).

    Args:
        rule, X, K, t, n_pairs, seed, scales, power_steps, window, tolerance: as in
            :func:`check_continuity`.

    Returns:
        The passing :class:`PropertyReport`.

    Raises:
        PropertyViolation: a pair with ``||U(X) - U(Y)|| > K ||X - Y||`` was found;
            ``.report`` holds it.
        ValueError: ``K <= 0``, NaN or inf.

    Example:
        >>> from invariance.properties import assert_continuity, PropertyViolation
        >>> X = FiniteCollection([[0.0], [1.0], [4.0]])
        >>> try:
        ...     assert_continuity(centering_rule(3.0), X, K=1.0)
        ... except PropertyViolation as err:
        ...     print(round(err.report.worst, 6))
        3.0
    """
    report = check_continuity(
        rule, X, K, t=t, n_pairs=n_pairs, seed=seed, scales=scales, power_steps=power_steps, window=window,
        tolerance=tolerance, refine_budget=refine_budget,
    )
    return report.raise_if_failed()


def assert_altered_continuity(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    K: float,
    *,
    t: int = 0,
    n_pairs: int = 64,
    seed: int | None = 0,
    scales: tuple[float, ...] = DEFAULT_SCALES,
    power_steps: int = 8,
    window: int = 64,
    tolerance: Tolerance | None = None,
    refine_budget: int = DEFAULT_REFINE_BUDGET,
) -> PropertyReport:
    """Assert the altered property P2' (eq. 58), ``sup_i ||U_i(X) - U_i(Y)|| <= K/2 ||X - Y||``, at ``X``.

    Args:
        rule, X, K, t, n_pairs, seed, scales, power_steps, window, tolerance: as in
            :func:`check_altered_continuity`.

    Returns:
        The passing :class:`PropertyReport` (see :func:`check_altered_continuity`).

    Raises:
        PropertyViolation: a pair with ``2 sup_i ||U_i(X) - U_i(Y)|| > K ||X - Y||``;
            ``.report`` holds it.
        ValueError: ``K <= 0``, NaN or inf.

    Example:
        >>> from invariance.properties import assert_altered_continuity
        >>> X = FiniteCollection([[0.0], [1.0], [4.0]])
        >>> assert_altered_continuity(centering_rule(3.0), X, K=6.0).passed
        True
    """
    report = check_altered_continuity(
        rule, X, K, t=t, n_pairs=n_pairs, seed=seed, scales=scales, power_steps=power_steps, window=window,
        tolerance=tolerance, refine_budget=refine_budget,
    )
    return report.raise_if_failed()
