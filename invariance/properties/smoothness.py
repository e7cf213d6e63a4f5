"""P3, the smoothness property (Section 3, eq. 6): the response of ``U_i`` to perturbations
of entries ``i`` and ``j`` is C^1.

The paper defines, for each ``i``,

    g_i(y, z) = U_i(X + (e_i - e_j) . z),        y = x_j,                 (eq. 6)

and asks that every ``g_i`` be C^1 on ``(R^D)^2``. A finite number of evaluations cannot
prove C^1, but it can find where it fails. :func:`smoothness_violation` scans line
segments through ``X``,

    s -> ( U_i(X + s (e_i a + e_j b)),  U_j(X + s (e_i a + e_j b)) ),   s in [-L, L],

with random unit directions ``(a, b)`` and coordinate directions (elementwise kinks such
as ``|x|``, ReLU or a clip lie on coordinate hyperplanes), over a range ``L`` of
``span`` times the collection's scale so that kinks are crossed. On a uniform grid it
finds where the slope changes most between neighbouring segments, then zooms in:

1. *localise*: each step evaluates the quarter points of the bracket and keeps the
   half-width window centred where the secant slope changes most (it contains the kink
   next to that point), down to a bracket of relative width ``sqrt(eps)`` of the probing
   dtype;
2. *measure*: at the bracket's centre ``s0`` it measures the one-sided slopes
   ``(g(s0-e) - g(s0-2e))/e`` and ``(g(s0+2e) - g(s0+e))/e`` for ``e = w, 4w, 16w``. For a
   C^1 (indeed C^2) response the jump ``J(e)`` between them shrinks like ``3 e |g''|``;
   at a kink it stays at the change of slope. The persistent jump is the Richardson
   extrapolation ``J* = (4 J(w) - J(4w)) / 3`` (zero for ``J`` linear in ``e``).

The check fails when ``J*`` exceeds ``jump_rtol`` times the largest slope seen (plus the
tolerance's atol and an estimate of the rounding noise). Smooth rules (C^2 potentials:
Gaussian, harmonic, log-cosh, the centering rule) pass; kinked ones (``|x|``, ReLU,
Huber) fail with the location of the kink.

A kink is told from a discontinuity (``details["finding"]``: ``"kink"`` when the slope
jumps, ``"discontinuous"`` when ``|g(s0 + e) - g(s0 - e)|`` itself does not shrink with
``e``). Lines stay inside the rule's domain (:meth:`~invariance.rules.UpdateRule.domain`):
each is cut to the interval of ``s`` where ``X + s d`` satisfies the bounds, and a NaN or inf
update inside the domain is a finding (``"non-finite update inside the domain"``).

**Budget.** With the defaults (16 lines, a grid of 20, 4 zooms) a scan costs
``16 * 22 = 352`` rule evaluations plus about 40 per zoom (``details["evaluations"]``);
for a rule on 10 neurons in R^2, about 0.02 s.

Limitations (measured on 300 generated Huber-pair rules, ``ist.symmetric_rules(smooth=False)``,
with the defaults: 1-2% pass undetected). A finite scan can miss a kink whose features
are narrower than the grid spacing (two opposite kinks of a Huber term inside one grid
cell cancel in the secant slopes) or that lies off every scanned line. A *failing*
verdict is always backed by a measured persistent slope jump; a passing one is evidence,
not proof. Raise ``n_lines``, ``grid`` or ``n_zoom`` for a more thorough scan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_collection, check_int, check_positive, check_seed, check_t, check_tolerance
from ..collections import Collection, FiniteCollection
from ..domains import ParticleDomain
from ..rules import NonFiniteUpdateError, UpdateRule, check_rule
from ..tolerances import Tolerance
from .equivariance import _row_norms
from .report import PropertyReport

__all__ = ["smoothness_violation", "check_smoothness", "assert_smooth"]

FloatArray = NDArray[np.float64]

#: Rounding noise of a slope jump measured at width ``w`` is taken as
#: ``_NOISE * eps * max|g| / w``.
_NOISE = 100.0
#: Indices perturbed on a lazy collection besides its overrides: ``0 .. _LAZY_HEAD - 1``.
_LAZY_HEAD = 4


@dataclass
class _Line:
    i: int
    j: int | None
    a: FloatArray
    b: FloatArray | None
    kind: str
    half_width: float  # L
    fn: Callable[[float], FloatArray]
    s: FloatArray = field(default_factory=lambda: np.zeros(0))
    values: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    slopes: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    interval: tuple[float, float] | None = None  # the part of the line inside the rule's domain


@dataclass
class _Zoom:
    line: _Line
    s0: float
    width: float
    jumps: dict[float, float]
    persistent: float
    noise: float
    left_slope: FloatArray
    right_slope: FloatArray
    evaluations: int
    value_jumps: dict[float, float] = field(default_factory=dict)

    @property
    def discontinuous(self) -> bool:
        """Whether ``g`` itself jumps at ``s0``: ``|g(s0 + e) - g(s0 - e)|`` does not shrink with ``e``."""
        if not self.value_jumps:
            return False
        es = sorted(self.value_jumps)
        small, large = self.value_jumps[es[0]], self.value_jumps[es[-1]]
        return small > 0 and small >= 0.5 * large and small > self.noise * es[0]



class _Counter:
    def __init__(self) -> None:
        self.n = 0


def _line_function(
    rule: UpdateRule, X: Collection, t: int, idx: list[int], dirs: FloatArray, counter: _Counter
) -> Callable[[float], FloatArray]:
    """``s -> (U_k(X + s sum_m e_{idx[m]} dirs[m]))_{k in idx}``, flattened, as float64."""
    if isinstance(X, FiniteCollection):
        base = np.asarray(X.points, dtype=np.float64)
        dtype = X.dtype
        where = np.array(idx, dtype=np.int64)

        def g(s: float) -> FloatArray:
            counter.n += 1
            pts = base.copy()
            pts[where] += s * dirs
            U = rule.update(FiniteCollection(pts.astype(dtype, copy=False)), t)
            assert isinstance(U, FiniteCollection)
            return np.asarray(U.points[where], dtype=np.float64).reshape(-1)

        return g
    rows = np.asarray(X.entries(idx), dtype=np.float64)

    def g_lazy(s: float) -> FloatArray:
        counter.n += 1
        U = rule.update(X.with_entries(idx, rows + s * dirs), t)
        return np.asarray(U.entries(idx), dtype=np.float64).reshape(-1)

    return g_lazy


def _make_lines(
    rule: UpdateRule, X: Collection, t: int, n_lines: int, half_width: float, rng: np.random.Generator,
    counter: _Counter,
) -> list[_Line]:
    domain = rule.domain(X.dim)
    if domain is not None and not domain.constrained:
        domain = None
    if isinstance(X, FiniteCollection):
        pool = list(range(X.n))
    else:
        pool = sorted(set(range(_LAZY_HEAD)) | set(X.support))
    D = X.dim
    lines = []
    for num in range(n_lines):
        if len(pool) >= 2:
            i, j = (int(v) for v in rng.choice(np.asarray(pool), size=2, replace=False))
        else:
            i, j = pool[0], None
        kind_code = num % 4
        a: FloatArray
        b: FloatArray | None
        if kind_code in (1, 3):  # coordinate lines: on entry i, then on entry j
            k = int(rng.integers(D))
            e = np.zeros(D)
            e[k] = 1.0
            if kind_code == 3 and j is not None:
                a, b, kind = np.zeros(D), e, f"coordinate {k} of entry j"
            else:
                a, b, kind = e, (np.zeros(D) if j is not None else None), f"coordinate {k} of entry i"
        else:
            ra = rng.standard_normal(D)
            rb = rng.standard_normal(D) if j is not None else None
            norm = math.sqrt(float(ra @ ra) + (float(rb @ rb) if rb is not None else 0.0))
            a = ra / norm
            b = None if rb is None else rb / norm
            kind = "random"
        local = (num // 4) % 4 == 3  # every fourth block of lines zooms in around X
        L = half_width * (0.2 if local else 1.0)
        idx = [i] if j is None else [i, j]
        dirs = a[None, :] if b is None else np.stack([a, b])
        interval = None
        if domain is not None:
            rows = np.asarray(X.entries(idx), dtype=np.float64)
            interval = _inside(domain, rows, dirs, L)
            if interval is None:  # X on the boundary, the line leaving it both ways: move the free coordinates
                free = ~(np.isfinite(domain.lower) | np.isfinite(domain.upper))
                dirs = dirs * free[None, :]
                nrm = float(np.linalg.norm(dirs))
                if not nrm > 0:
                    continue
                dirs = dirs / nrm
                a = dirs[0]
                b = dirs[1] if b is not None else None
                interval = (-L, L)
        fn = _line_function(rule, X, t, idx, dirs, counter)
        lines.append(_Line(i, j, a, b, kind + (" (local)" if local else ""), L, fn, interval=interval))
    return lines


def _inside(domain: ParticleDomain, rows: FloatArray, dirs: FloatArray, L: float) -> tuple[float, float] | None:
    """The interval of ``s`` in ``[-L, L]`` with ``rows + s dirs`` inside the box (``None`` if too short)."""
    lo_s, hi_s = -L, L
    lower, upper = np.asarray(domain.lower), np.asarray(domain.upper)
    for bound, sign in ((lower, 1.0), (upper, -1.0)):
        for r in range(rows.shape[0]):
            for c in np.flatnonzero(np.isfinite(bound)).tolist():
                d = float(dirs[r, c]) * sign
                gap = (float(rows[r, c]) - float(bound[c])) * sign  # >= 0 inside
                if d > 0:
                    lo_s = max(lo_s, -gap / d)
                elif d < 0:
                    hi_s = min(hi_s, gap / -d)
    return (lo_s, hi_s) if hi_s - lo_s > 1e-3 * L else None


def _zoom(line: _Line, k: int, w_target: float, eps: float) -> _Zoom:
    """Localise the slope change around grid point ``k`` and measure its persistent jump."""
    g = line.fn
    s, V = line.s, line.values
    a, c, b = float(s[k - 1]), float(s[k]), float(s[k + 1])
    ga, gc, gb = V[k - 1], V[k], V[k + 1]
    evaluations = 0
    while b - a > w_target:
        # five equally spaced points a < q1 < c < q3 < b; keep the half-width window
        # centred where the slope changes most (it contains the kink next to that point)
        q1, q3 = 0.5 * (a + c), 0.5 * (c + b)
        g1, g3 = g(q1), g(q3)
        evaluations += 2
        h = 0.25 * (b - a)
        S = [(g1 - ga) / h, (gc - g1) / h, (g3 - gc) / h, (gb - g3) / h]
        D = [float(np.linalg.norm(S[m + 1] - S[m])) for m in range(3)]
        m = int(np.argmax(D))
        if m == 0:
            b, gb, c, gc = c, gc, q1, g1
        elif m == 1:
            a, ga, b, gb = q1, g1, q3, g3
        else:
            a, ga, c, gc = c, gc, q3, g3
    s0, w = c, b - a
    jumps: dict[float, float] = {}
    value_jumps: dict[float, float] = {}
    slopes: dict[float, tuple[FloatArray, FloatArray]] = {}
    gmax = float(np.max(np.abs(gc))) if gc.size else 0.0
    scales: tuple[float, ...] = (w, 4 * w, 16 * w)
    if line.interval is not None:  # measure only where the four points stay inside the domain
        lo, hi = line.interval
        scales = tuple(e for e in scales if s0 - 2 * e >= lo and s0 + 2 * e <= hi)
        if len(scales) < 2:
            return _Zoom(line, s0, w, {}, 0.0, 0.0, np.zeros_like(gc), np.zeros_like(gc), evaluations)
    for e in scales:
        vals = [g(s0 - 2 * e), g(s0 - e), g(s0 + e), g(s0 + 2 * e)]
        evaluations += 4
        gmax = max(gmax, max(float(np.max(np.abs(v))) for v in vals))
        left = (vals[1] - vals[0]) / e
        right = (vals[3] - vals[2]) / e
        jumps[e] = float(np.linalg.norm(right - left))
        value_jumps[e] = float(np.linalg.norm(vals[2] - vals[1]))
        slopes[e] = (left, right)
    persistent = max(0.0, (4.0 * jumps[w] - jumps[4 * w]) / 3.0)
    noise = _NOISE * eps * gmax / w
    return _Zoom(line, s0, w, jumps, persistent, noise, slopes[w][0], slopes[w][1], evaluations, value_jumps)


def _describe(z: _Zoom) -> dict[str, Any]:
    ln = z.line
    outputs = [ln.i] if ln.j is None else [ln.i, ln.j]
    return {
        "i": ln.i,
        "j": ln.j,
        "direction_i": [float(v) for v in ln.a],
        "direction_j": None if ln.b is None else [float(v) for v in ln.b],
        "line": ln.kind,
        "kind": "discontinuity (the update itself jumps)" if z.discontinuous else "kink (the slope jumps)",
        "s0": z.s0,
        "value_jump": z.value_jumps.get(z.width, 0.0),
        "jump": z.persistent,
        "jumps_by_eps": {float(e): j for e, j in z.jumps.items()},
        "outputs": f"U_k for k in {outputs}, concatenated",
        "left_slope": [float(v) for v in z.left_slope],
        "right_slope": [float(v) for v in z.right_slope],
        "noise_estimate": z.noise,
    }


def smoothness_violation(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    *,
    t: int = 0,
    n_lines: int = 16,
    seed: int | None = 0,
    grid: int = 20,
    span: float = 2.5,
    n_zoom: int = 4,
    jump_rtol: float = 1e-3,
    promote: bool = True,
    tolerance: Tolerance | None = None,
) -> PropertyReport:
    """Look for a violation of P3 (smoothness, eq. 6) near ``X``: a kink in the response
    of ``U_i`` to perturbations of entries ``i`` and ``j``.

    Scans ``n_lines`` segments ``s -> (U_i, U_j)(X + s (e_i a + e_j b))``, ``|s| <= L``,
    ``L = span * max(1, max_i ||x_i||)`` (a fifth of that on a quarter of the lines), with
    random unit directions and coordinate directions, on ``grid`` points each. At the
    ``n_zoom`` places where the slope changes most it localises the change by bisection
    and measures the jump ``J(e)`` between one-sided slopes at distance ``e -> 0``; C^1
    responses have ``J(e) = O(e)``, kinks keep ``J(e)`` at the slope change. The persistent
    jump ``J* = (4 J(w) - J(4 w)) / 3`` is compared against
    ``jump_rtol * (largest slope seen) + atol``. Costs about
    ``n_lines * (grid + 2) + n_zoom * 60`` rule evaluations.

    Args:
        rule: the update rule ``U``.
        X: a :class:`FiniteCollection`, a :class:`LazyCollection` (perturbing its overrides
            and indices ``0..3``, through ``with_entries``) or an ``(n, D)`` array.
        t: the time step of ``U^(t)``.
        n_lines: number of line segments (at least 1).
        seed: seed of ``numpy.random.default_rng``; ``None`` draws one (recorded).
        grid: grid points per segment (at least 5).
        span: half-length of the segments in units of the collection's scale (> 0).
        n_zoom: how many places to zoom into (at least 1); the scan stops at the first kink.
        jump_rtol: relative size of the smallest slope change reported as a kink (> 0).
        promote: probe a float16/float32 collection in float64 (P3 is a property of the
            exact map; in low precision rounding itself looks like tiny steps). With
            ``False`` the bracket stops at ``sqrt(eps)`` of the collection's dtype.
        tolerance: overrides the probing dtype's tolerance (its atol is used).

    Returns:
        A :class:`PropertyReport` with ``property="P3 smoothness"``: ``worst`` is the
        largest persistent slope jump (minus its rounding-noise estimate), ``tolerance``
        the threshold, ``counterexample`` the location (``i``, ``j``, directions, ``s0``,
        the jumps at each ``e``, the one-sided slopes), ``trials`` the number of rule
        evaluations.

    Raises:
        TypeError: ``rule`` or ``X`` of the wrong type; a finite-only rule on a lazy ``X``.
        ValueError: ``n_lines < 1``, ``grid < 5``, ``n_zoom < 1``, ``span`` or ``jump_rtol``
            not a finite number > 0.

    Example:
        >>> from invariance.properties import smoothness_violation
        >>> X = FiniteCollection([[0.5, -1.0], [2.0, 0.3], [-1.0, 1.5]])
        >>> smoothness_violation(centering_rule(1.0), X).passed
        True
        >>> report = smoothness_violation(PointwiseRule(lambda x: -np.abs(x)), X)
        >>> report.passed, round(report.worst, 3)
        (False, 2.0)
    """
    Xc = check_collection(X)
    rule = check_rule(rule, Xc)
    t = check_t(t)
    n_lines = check_int(n_lines, "n_lines", 1)
    grid = check_int(grid, "grid", 5)
    n_zoom = check_int(n_zoom, "n_zoom", 1)
    span = check_positive(span, "span")
    jump_rtol = check_positive(jump_rtol, "jump_rtol")
    seed_ = check_seed(seed)
    if not isinstance(promote, (bool, np.bool_)):
        raise TypeError(f"promote must be a bool, got {promote!r}")
    if isinstance(Xc, FiniteCollection) and promote and Xc.dtype != np.float64:
        Xp: Collection = Xc.astype(np.float64)
    else:
        Xp = Xc
    tol = check_tolerance(tolerance, Xp.dtype)
    eps = float(np.finfo(Xp.dtype).eps)
    rng = np.random.default_rng(seed_)

    if isinstance(Xp, FiniteCollection):
        scale = float(np.max(_row_norms(Xp.points)))
    else:
        scale = float(np.max(_row_norms(Xp.entries(sorted(set(range(_LAZY_HEAD)) | set(Xp.support))))))
    half_width = span * max(1.0, scale)
    counter = _Counter()
    dom = rule.domain(Xp.dim)
    if dom is not None and isinstance(Xp, FiniteCollection):
        outside = np.flatnonzero(~dom.contains(Xp.points))
        if outside.size:
            raise ValueError(f"X: entries {outside[:5].tolist()} lie outside the rule's domain ({dom.describe()})")
    try:
        lines = _make_lines(rule, Xp, t, n_lines, half_width, rng, counter)

        # 1. grid scan
        slope_scale = 0.0
        for ln in lines:
            if ln.interval is None:
                centre, h = 0.0, ln.half_width
            else:  # the extended grid (one step beyond each end) stays strictly inside the domain
                centre = 0.5 * (ln.interval[0] + ln.interval[1])
                h = 0.5 * (ln.interval[1] - ln.interval[0]) / (1 + 2 / (grid - 1)) * (1 - 1e-3)
            delta = 2.0 * h / (grid - 1)
            ln.s = centre - h + delta * np.arange(-1, grid + 1, dtype=np.float64)
            ln.values = np.stack([ln.fn(float(s)) for s in ln.s]).astype(np.float64)
            ln.slopes = np.asarray(np.diff(ln.values, axis=0) / delta, dtype=np.float64)
            slope_scale = max(slope_scale, float(np.max(_row_norms(ln.slopes))))
        threshold = jump_rtol * slope_scale + tol.atol

        # 2. candidates: the slope change at grid point s_k; a kink in [s_{k-1}, s_{k+1}] shows
        #    up there (at least half of it at one of the two grid points next to it)
        #    Candidates are ranked by how much the slope change at s_k stands out from the
        #    changes at its neighbours: smooth curvature changes the slope evenly along the
        #    line, a kink adds an isolated change (ranking by the raw change would let strong
        #    curvature hide a weak kink).
        candidates: list[tuple[float, int, int]] = []
        for num, ln in enumerate(lines):
            S = ln.slopes  # S[m] is the slope over [s_m, s_{m+1}], m = 0 .. grid
            dS = np.diff(S, axis=0)  # dS[k - 1] is the slope change at s_k, k = 1 .. grid
            for k in range(1, grid + 1):
                jump = float(np.linalg.norm(dS[k - 1]))
                if jump > threshold:
                    neighbours = [dS[m] for m in (k - 2, k) if 0 <= m < dS.shape[0]]
                    anomaly = float(np.linalg.norm(dS[k - 1] - np.mean(neighbours, axis=0)))
                    candidates.append((anomaly, num, k))
        candidates.sort(key=lambda c: -c[0])
        chosen: list[tuple[int, int]] = []
        for _, num, k in candidates:
            if len(chosen) >= n_zoom:
                break
            if any(num == m and abs(k - q) <= 1 for m, q in chosen):
                continue
            chosen.append((num, k))

        # 3. zoom
        w_rel = max(math.sqrt(eps), 1e-12)
        zooms: list[_Zoom] = []
        kink: _Zoom | None = None
        for num, k in chosen:
            ln = lines[num]
            z = _zoom(ln, k, w_rel * ln.half_width, eps)
            zooms.append(z)
            if z.persistent - z.noise > threshold:
                kink = z
                break
    except NonFiniteUpdateError as err:  # at a point of the rule's domain: a finding, not a crash
        return PropertyReport(property="P3 smoothness", passed=False, worst=math.inf, tolerance=math.inf,
                              counterexample={"kind": "non-finite update inside the domain", "message": str(err)},
                              seed=seed_, trials=counter.n,
                              details={"finding": "non-finite update inside the domain", "evaluations": counter.n,
                                       "dtype": str(Xc.dtype)})
    worst = max((max(0.0, z.persistent - z.noise) for z in zooms), default=0.0)
    shown = kink if kink is not None else (max(zooms, key=lambda z: z.persistent) if zooms else None)
    details: dict[str, Any] = {
        "lines": n_lines,
        "grid_points": grid,
        "half_width": half_width,
        "collection_scale": scale,
        "slope_scale": slope_scale,
        "jump_rtol": jump_rtol,
        "candidates": len(candidates),
        "zooms": len(zooms),
        "evaluations": counter.n,
        "probe_dtype": str(Xp.dtype),
        "dtype": str(Xc.dtype),
        "bracket_relative_width": w_rel,
        "domain": dom.describe() if dom is not None else "R^D",
    }
    if kink is not None:
        details["finding"] = "discontinuous" if kink.discontinuous else "kink"
    return PropertyReport(
        property="P3 smoothness",
        passed=kink is None,
        worst=worst,
        tolerance=threshold,
        counterexample=None if shown is None else _describe(shown),
        seed=seed_,
        trials=counter.n,
        details=details,
    )


#: P3 checked near ``X``: the same function as :func:`smoothness_violation` (the name pairs
#: with ``check_continuity``; the report's ``passed`` is the verdict).
check_smoothness = smoothness_violation


def assert_smooth(
    rule: UpdateRule,
    X: Union[Collection, ArrayLike],
    *,
    t: int = 0,
    n_lines: int = 16,
    seed: int | None = 0,
    grid: int = 20,
    span: float = 2.5,
    n_zoom: int = 4,
    jump_rtol: float = 1e-3,
    promote: bool = True,
    tolerance: Tolerance | None = None,
) -> PropertyReport:
    """Assert P3 (smoothness, eq. 6) near ``X`` (see :func:`smoothness_violation`).

    Args:
        rule, X, t, n_lines, seed, grid, span, n_zoom, jump_rtol, promote, tolerance: as in
            :func:`smoothness_violation`.

    Returns:
        The passing :class:`PropertyReport`.

    Raises:
        PropertyViolation: a kink was found; ``.report`` holds its location and jump.

    Example:
        >>> from invariance.properties import assert_smooth, PropertyViolation
        >>> X = FiniteCollection([[0.5], [2.0], [-1.0]])
        >>> try:
        ...     assert_smooth(PointwiseRule(lambda x: np.maximum(x, 0.0)), X)
        ... except PropertyViolation as err:
        ...     print(err.report.property, err.report.passed)
        P3 smoothness False
    """
    report = smoothness_violation(
        rule, X, t=t, n_lines=n_lines, seed=seed, grid=grid, span=span, n_zoom=n_zoom, jump_rtol=jump_rtol,
        promote=promote, tolerance=tolerance,
    )
    return report.raise_if_failed()
