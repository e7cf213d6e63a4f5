"""Breakdown diagnostics: did the neurons merge, or did the cloud spread, between two snapshots?

Theorem 1 says that below ``eta* = 1/K`` the update is a homeomorphism of the neuron
cloud; above it neurons may *merge* (the lower bound of Lemma 2,
``||x_i' - x_j'|| >= (1 - eta K) ||x_i - x_j||``, becomes vacuous). A change of the
Betti numbers read at one scale (``diam/4``) does not show that: a cloud that thickens
into new directions, with no two neurons approaching, changes them too. This module
measures the mechanisms separately, side by side with the topology:

**merging** (scale-free; ``d_ij = ||x_i - x_j||``, ``D = diam(X)``, primes after the step)

* *collapsed pairs*: pairs well apart before (``d_ij >= separation * D``, default ``0.1 D``)
  whose distance relative to the diameter shrinks by more than ``contraction``:
  ``(d_ij' / D') / (d_ij / D) < contraction`` (default ``0.1``). Pairs of near neighbours
  are left out: neurons moving by more than their spacing reshuffle them without any merge;
  two neurons that meet are counted by the effective width below;
* *distinct neurons*: the effective width (:func:`~invariance.topology.effective_width`,
  clusters within ``tol * diam``) before and after; merging when it falls;
* *Lemma 2*: when ``eta`` and ``K`` are given, the pairs with
  ``d_ij' / d_ij < 1 - eta K`` (violations of the lower bound of eq. (7)), and the
  smallest ratio ``min d_ij' / d_ij``. Reported, not used for the verdict: they are in
  absolute units, so a pure contraction ``x -> x / 10`` (a similarity, no merging)
  violates them, while they say whether the theory's no-merging guarantee covers the step.

**spreading**

* diameter growth ``D' / D`` and total variance growth ``tr Cov' / tr Cov``;
* new principal directions: the participation ratio ``PR = (sum lambda)^2 / sum lambda^2``
  of the covariance eigenvalues (``PR = m`` for ``m`` equal directions);
* intrinsic dimension: the TwoNN estimator (Facco, d'Errico, Rodriguez & Laio 2017): with
  ``r_1(i) < r_2(i)`` the distances of ``x_i`` to its two nearest neighbours and
  ``mu_i = r_2 / r_1``, ``P(mu <= m) = 1 - m^{-d}``; ``d`` is the slope of
  ``-log(1 - F_emp(mu))`` against ``log mu`` through the origin, the largest 10% of
  ``mu`` discarded. Coinciding neurons (clusters within ``tol * diam``) count once.

Spreading when the intrinsic dimension rises by the factor ``1 + rise`` (default
``rise = 0.2``), or the participation ratio does while the total variance does not fall
(a merge of two separated clusters raises ``PR`` by removing the direction between them,
while the variance collapses; a dilation raises the variance and not ``PR``).

**topology, side by side**: the Betti numbers at the fixed scale (``diam/4`` by default,
the paper's), the significant Betti numbers with their scale bands and confidence
(:func:`~invariance.topology.significant_features`), and the normalised bottleneck
distance between the two persistence diagrams (:func:`~invariance.topology.diagram_distance`).

The ``mechanism`` is ``"none"``, ``"merging"``, ``"spreading"`` or ``"merging+spreading"``;
a topology-change claim should be reported with it and with its scale band.

References:
    E. Facco, M. d'Errico, A. Rodriguez, A. Laio, "Estimating the intrinsic dimension of datasets
    by a minimal neighborhood information", Sci. Rep. 7, 12140, 2017.
    B. T. Fasy et al., "Confidence sets for persistence diagrams", Ann. Statist. 42(6), 2014.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_int, check_positive
from ..tables import format_table
from .betti import betti_report
from .distances import diagram_distances
from .geometry import _gram_of, as_points, diameter, isometric_coordinates, resolve_scale
from .merges import merge_clusters
from .normalisation import normalise_shape
from .significance import SignificantFeatures, significant_features

__all__ = [
    "MECHANISMS",
    "BreakdownDiagnosis",
    "breakdown_diagnostics",
    "diagnose_trajectory",
    "twonn_dimension",
    "participation_ratio",
]

#: the possible values of :attr:`BreakdownDiagnosis.mechanism`
MECHANISMS: tuple[str, ...] = ("none", "merging", "spreading", "merging+spreading")

_BLOCK = 512


def _blocks(Z: NDArray[np.float64]) -> Iterator[tuple[int, NDArray[np.float64]]]:
    """``(a, D)`` with ``D[i, j] = ||z_{a+i} - z_j||`` for all ``j`` (Gram identity, clipped at 0)."""
    sq = np.einsum("ij,ij->i", Z, Z)
    for a in range(0, Z.shape[0], _BLOCK):
        b = min(Z.shape[0], a + _BLOCK)
        d2 = Z[a:b] @ Z.T
        d2 *= -2.0
        d2 += sq[a:b, None]
        d2 += sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        yield a, np.sqrt(d2)


def twonn_dimension(points: ArrayLike, tolerance: float = 1e-6, discard: float = 0.1) -> float:
    """Intrinsic dimension by TwoNN (Facco et al. 2017); ``nan`` with fewer than 3 usable points.

    Args:
        points: ``(n, D)`` cloud.
        tolerance: neurons within ``tolerance * diam(X)`` of each other count as one point
            (one representative per cluster of :func:`~invariance.topology.merge_clusters`).
        discard: fraction of the largest ratios ``mu`` left out of the fit.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> plane = np.hstack([rng.uniform(size=(800, 2)), np.zeros((800, 5))])
        >>> round(twonn_dimension(plane), 1)
        2.0
    """
    X = as_points(points)
    tol = check_positive(tolerance, "tolerance")
    if not 0 <= discard < 1:
        raise ValueError(f"discard must lie in [0, 1), got {discard!r}")
    if X.shape[0] < 3:
        return float("nan")
    return _twonn(X, merge_clusters(X, tol).labels, discard)


def _twonn(X: NDArray[np.float64], labels: NDArray[np.int64], discard: float) -> float:
    """TwoNN on one representative per cluster (``labels`` of :func:`merge_clusters`)."""
    if X.shape[0] < 3:
        return float("nan")
    # coinciding neurons are one point: keep one representative per cluster
    _, first = np.unique(labels, return_index=True)
    Z = isometric_coordinates(X[np.sort(first)])
    n = Z.shape[0]
    if n < 3:
        return float("nan")
    mu = np.full(n, np.nan)
    for a, D in _blocks(Z):
        rows = np.arange(D.shape[0])
        D[rows, a + rows] = np.inf
        two = np.partition(D, 1, axis=1)[:, :2]
        ok = np.isfinite(two[:, 1])
        mu[a:a + D.shape[0]][ok] = two[ok, 1] / two[ok, 0]
    mu = np.sort(mu[np.isfinite(mu)])
    m = mu.size
    if m < 3:
        return float("nan")
    F = np.arange(1, m + 1) / m
    keep = max(2, int(math.floor((1 - discard) * m)))
    x = np.log(mu[:keep])
    y = -np.log1p(-np.minimum(F[:keep], 1 - 1e-12))
    den = float(np.dot(x, x))
    return float(np.dot(x, y) / den) if den > 0 else float("inf")


def participation_ratio(points: ArrayLike) -> float:
    """``(sum lambda)^2 / sum lambda^2`` of the covariance eigenvalues (0 for a cloud of one point).

    Example:
        >>> round(participation_ratio(np.diag([1.0, 1.0, 1.0]) * 3), 12)
        2.0
    """
    X = as_points(points)
    Xc = X - X.mean(axis=0)
    # sum lambda = ||Xc||_F^2 and sum lambda^2 = ||Xc^T Xc||_F^2 (the trace of C and of C^2, up to
    # the same factor): no eigendecomposition, the smaller Gram matrix (4x faster than an SVD at 1024 x 795)
    gram = Xc.T @ Xc if Xc.shape[1] <= Xc.shape[0] else Xc @ Xc.T
    den = float(np.sum(gram * gram))
    return float(np.trace(gram) ** 2 / den) if den > 0 else 0.0


def _total_variance(X: NDArray[np.float64]) -> float:
    return float(np.sum(np.var(X, axis=0)))


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, (np.integer, bool, np.bool_)):
        return value.item() if hasattr(value, "item") else value
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def _bands(sig: SignificantFeatures) -> tuple[tuple[float, float] | None, ...]:
    d = sig.diameter if sig.diameter > 0 else 1.0
    out = []
    for p in range(len(sig.betti)):
        band = sig.band(p)
        out.append(None if band is None else (band[0] / d, band[1] / d))
    return tuple(out)


@dataclass(frozen=True)
class BreakdownDiagnosis:
    """What changed between two snapshots of the same ``n`` neurons, mechanism by mechanism.

    Attributes:
        mechanism: one of :data:`MECHANISMS`.
        merging, spreading: the two verdicts.
        evidence: the reasons, in words.
        n_points: ``n``.
        diameter: ``(D, D')``.
        collapsed_pairs: pairs ``separation * D`` apart before whose relative distance shrank by more than
            ``contraction``.
        min_ratio: ``min_{i<j} d_ij' / d_ij`` over pairs distinct before (absolute units).
        lemma2_bound: ``1 - eta K`` (``None`` without ``eta`` and ``K``).
        lemma2_violations: pairs with ``d_ij' / d_ij < 1 - eta K`` (``None`` without ``eta``, ``K``;
            0 when the bound is vacuous, ``eta K >= 1``).
        width: effective width (distinct neurons) ``(before, after)``.
        total_variance: ``(tr Cov, tr Cov')``.
        participation: participation ratios ``(before, after)``.
        intrinsic_dim: TwoNN estimates ``(before, after)``.
        fixed_scale: the fixed scale as a fraction of the diameter (``None`` when absolute).
        fixed_betti: Betti numbers at the fixed scale ``(before, after)``.
        persistent_betti: significant Betti numbers ``(before, after)``.
        persistent_bands: per dimension, ``[max birth, min death) / diam`` of the significant
            features (``None`` when there are none), ``(before, after)``.
        confidence: confidence of the significance thresholds (``nan`` for a fixed threshold).
        thresholds: significance thresholds of ``H_p, p >= 1``, relative to each diameter, ``(before, after)``.
        diagram_distance: normalised bottleneck distance between the two diagrams.
        options: the options used (tolerances, normalisation, seed, ...).
        significance: the two :class:`~invariance.topology.SignificantFeatures` (not in ``as_dict``).
    """

    mechanism: str
    merging: bool
    spreading: bool
    evidence: tuple[str, ...]
    n_points: int
    diameter: tuple[float, float]
    collapsed_pairs: int
    min_ratio: float
    lemma2_bound: float | None
    lemma2_violations: int | None
    width: tuple[int, int]
    total_variance: tuple[float, float]
    participation: tuple[float, float]
    intrinsic_dim: tuple[float, float]
    fixed_scale: float | None
    fixed_betti: tuple[tuple[int, ...], tuple[int, ...]]
    persistent_betti: tuple[tuple[int, ...], tuple[int, ...]]
    persistent_bands: tuple[tuple[tuple[float, float] | None, ...], tuple[tuple[float, float] | None, ...]]
    confidence: float
    thresholds: tuple[float, float]
    diagram_distance: float
    options: dict[str, Any] = field(default_factory=dict)
    significance: tuple[SignificantFeatures, SignificantFeatures] | None = field(default=None, repr=False,
                                                                                  compare=False)

    @property
    def fixed_betti_changed(self) -> bool:
        """Whether the Betti numbers at the fixed scale differ."""
        return self.fixed_betti[0] != self.fixed_betti[1]

    @property
    def persistent_betti_changed(self) -> bool:
        """Whether the significant Betti numbers differ."""
        return self.persistent_betti[0] != self.persistent_betti[1]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become ``None``; ``significance`` left out)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "significance"}
        out["fixed_betti_changed"] = self.fixed_betti_changed
        out["persistent_betti_changed"] = self.persistent_betti_changed
        return dict(_json(out))

    def table(self) -> str:
        """An aligned text table: quantity, before, after, and what it says."""

        def f(v: Any) -> str:
            if v is None:
                return "-"
            if isinstance(v, float):
                return f"{v:.4g}"
            if isinstance(v, tuple) and v and all(b is None or isinstance(b, tuple) for b in v):
                return " ".join("-" if b is None else f"[{b[0]:.3g},{b[1]:.3g})" for b in v)
            return str(v)

        def ratio(a: float, b: float) -> str:
            return f"x{b / a:.3g}" if a > 0 and math.isfinite(a) and math.isfinite(b) else ""

        D, D2 = self.diameter
        scale = "absolute" if self.fixed_scale is None else f"{self.fixed_scale:g} diam"
        conf = "fixed" if math.isnan(self.confidence) else f"{self.confidence:.0%}"
        rows = [
            ("MERGING", "", "", "yes" if self.merging else "no"),
            ("distinct neurons (width)", self.width[0], self.width[1],
             f"{self.width[1] - self.width[0]:+d}"),
            (f"collapsed pairs (rel. ratio < {self.options.get('contraction')})", "", self.collapsed_pairs, ""),
            ("min pair ratio d'/d", "", self.min_ratio, ""),
            ("Lemma 2 bound 1 - eta K", "", self.lemma2_bound, ""),
            ("Lemma 2 violations", "", self.lemma2_violations, ""),
            ("SPREADING", "", "", "yes" if self.spreading else "no"),
            ("diameter", D, D2, ratio(D, D2)),
            ("total variance", *self.total_variance, ratio(*self.total_variance)),
            ("participation ratio", *self.participation, ratio(*self.participation)),
            ("intrinsic dim (TwoNN)", *self.intrinsic_dim, ratio(*self.intrinsic_dim)),
            ("TOPOLOGY", "", "", ""),
            (f"Betti at {scale}", *self.fixed_betti, "changed" if self.fixed_betti_changed else "same"),
            (f"significant Betti ({conf})", *self.persistent_betti,
             "changed" if self.persistent_betti_changed else "same"),
            ("  bands / diam (per dim)", *self.persistent_bands, ""),
            ("  lifetime threshold / diam", *self.thresholds, ""),
            ("bottleneck distance (normalised)", "", self.diagram_distance, ""),
            ("MECHANISM", "", "", self.mechanism),
        ]
        return format_table(["quantity", "before", "after", "verdict"], [[f(c) for c in r] for r in rows], left=4)

    def __str__(self) -> str:
        return self.table()


def _pair_statistics(X: NDArray[np.float64], Y: NDArray[np.float64], DX: float, DY: float, tol: float,
                     contraction: float, separation: float, bound: float | None) -> tuple[int, float, int]:
    """Collapsed pairs, minimum absolute ratio, Lemma 2 violations, streamed over the upper row blocks
    of the squared distances (the Gram blocks the diameters and merges of ``X`` and ``Y`` computed)."""
    collapsed = violations = 0
    min_ratio = math.inf
    gen = zip(_gram_of(X).blocks(), _gram_of(Y).blocks())
    for (_, d2X), (_, d2Y) in gen:
        dX, dY = np.sqrt(d2X), np.sqrt(d2Y)
        rows = np.arange(dX.shape[0])[:, None]
        cols = np.arange(dX.shape[1])[None, :]  # column j of block a is point a + j
        mask = (cols > rows) & (dX > tol * DX)
        if not np.any(mask):
            continue
        r = dY[mask] / dX[mask]
        min_ratio = min(min_ratio, float(r.min()))
        rel = r * (DX / DY) if DY > 0 else np.zeros_like(r)
        far = dX[mask] >= separation * DX
        collapsed += int(np.sum((rel < contraction) & far))
        if bound is not None and bound > 0:
            violations += int(np.sum(r < bound * (1 - 1e-9)))
    return collapsed, min_ratio, violations


def breakdown_diagnostics(before: ArrayLike, after: ArrayLike, **options: Any) -> BreakdownDiagnosis:
    """Separate merging from spreading between two snapshots of the same neurons, with the Betti changes.

    Row ``i`` of ``before`` and of ``after`` is the same neuron (a step, or several, of training).

    Args:
        before, after: ``(n, D)`` clouds (same ``n``; arrays, FiniteCollections or torch tensors).
        **options: keyword options, all optional:

            * ``eta``, ``K``: step size and P2-K constant; with both, Lemma 2 violations are counted.
            * ``tolerance`` (``1e-6``): neurons within ``tolerance * diam`` are one (effective width, TwoNN).
            * ``contraction`` (``0.1``), ``separation`` (``0.1``): a pair at least ``separation * diam``
              apart before collapses when its distance relative to the diameter shrinks by more
              than the factor ``contraction``.
            * ``min_pairs`` (``max(1, n // 100)``): collapsed pairs needed for a merging verdict (a
              group of neurons driven together, not the chance encounter of two neurons that move by
              more than their spacing, which a large random step produces among the ``n^2/2`` pairs).
            * ``rise`` (``0.2``): relative rise of the intrinsic dimension / participation ratio for spreading.
            * ``scale`` (``None``: ``diam/4``): the fixed scale, as for :func:`~invariance.topology.betti_numbers`.
            * ``max_dim`` (``2``): top homology dimension.
            * ``significance`` (``True``): subsampling significance (:func:`~invariance.topology.significant_features`);
              ``False``: a fixed lifetime threshold ``min_persistence * diam`` (``min_persistence``, default
              ``0.25``, as :func:`~invariance.topology.persistent_betti_numbers`).
            * ``confidence`` (``0.95``), ``n_subsamples`` (``20``), ``subsample_size``, ``seed`` (``0``),
              ``method`` (``"bottleneck-subsampling"``): passed to :func:`significant_features`.
            * ``max_scale`` (``None``), ``high_dim_scale`` (``0.75``): where the filtrations stop, as
              for :func:`significant_features`. Measured on 2 cores: significant features of 1000
              points of S^2 in R^785 take about 22 s (``benchmarks/results/topology_robust.md``);
              a dense low-dimensional cloud costs more (1024 points of a double torus in R^3: about
              7 s per ``H_2`` diagram up to ``0.75 diam``, most of it GUDHI's filtered edge collapse),
              so for ``n`` in the thousands lower ``max_scale`` (or ``max_dim``).
            * ``normalise`` (``"none"``): a :func:`~invariance.topology.normalise_shape` method applied
              to both clouds before the topology (not before the merging/spreading measures).

    Returns:
        A :class:`BreakdownDiagnosis`.

    Example:
        >>> from invariance.topology import samplers
        >>> X = samplers.circle(60, seed=0)
        >>> d = breakdown_diagnostics(X, 2.0 * X, significance=False)
        >>> d.mechanism, d.fixed_betti, d.collapsed_pairs
        ('none', ((1, 1, 0), (1, 1, 0)), 0)
    """
    known = {"eta", "K", "tolerance", "contraction", "min_pairs", "rise", "scale", "max_dim", "significance",
             "min_persistence", "confidence", "n_subsamples", "subsample_size", "seed", "method", "normalise",
             "threads", "max_scale", "high_dim_scale", "separation"}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown options {sorted(unknown)}; known: {sorted(known)}")
    X = as_points(before, "before")
    Y = as_points(after, "after")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"before and after must hold the same neurons (rows), got {X.shape[0]} and {Y.shape[0]}")
    eta, K = options.get("eta"), options.get("K")
    if (eta is None) != (K is None):
        raise ValueError("give both eta and K (for Lemma 2), or neither")
    bound = None
    if eta is not None:
        bound = 1.0 - check_positive(eta, "eta") * check_positive(K, "K")
    tol = check_positive(options.get("tolerance", 1e-6), "tolerance")
    contraction = check_positive(options.get("contraction", 0.1), "contraction")
    min_pairs = check_int(options.get("min_pairs", max(1, X.shape[0] // 100)), "min_pairs", 1)
    rise = check_positive(options.get("rise", 0.2), "rise")
    k = check_int(options.get("max_dim", 2), "max_dim", 0)
    spec = resolve_scale(options.get("scale"))
    use_sig = bool(options.get("significance", True))
    norm = options.get("normalise", "none")
    seed = options.get("seed", 0)
    threads = check_int(options.get("threads", 2), "threads", 1)
    separation = check_positive(options.get("separation", 0.1), "separation")
    n = X.shape[0]
    # every measure below is invariant under isometries: work in an orthonormal basis of each span
    X, Y = isometric_coordinates(X), isometric_coordinates(Y)

    # merging
    DX, DY = diameter(X), diameter(Y)
    collapsed, min_ratio, violations = _pair_statistics(X, Y, DX, DY, tol, contraction, separation, bound)
    clusters = (merge_clusters(X, tol), merge_clusters(Y, tol))  # the effective width, and TwoNN's points
    width = (clusters[0].n_clusters, clusters[1].n_clusters)
    # spreading
    tv = (_total_variance(X), _total_variance(Y))
    pr = (participation_ratio(X), participation_ratio(Y))
    idim = (_twonn(X, clusters[0].labels, 0.1), _twonn(Y, clusters[1].labels, 0.1))

    # topology, after the (optional) normalisation
    TX, TY = normalise_shape(X, norm), normalise_shape(Y, norm)
    fixed = (betti_report(TX, spec, max_dim=k).betti, betti_report(TY, spec, max_dim=k).betti)
    sig_opts: dict[str, Any] = dict(max_dim=k, seed=seed, threads=threads, max_scale=options.get("max_scale"),
                                    high_dim_scale=options.get("high_dim_scale", 0.75))
    if use_sig:
        sig_opts.update(confidence=options.get("confidence", 0.95), n_subsamples=options.get("n_subsamples", 20),
                        subsample_size=options.get("subsample_size"),
                        method=options.get("method", "bottleneck-subsampling"))
    else:
        sig_opts.update(method="fixed", min_persistence=options.get("min_persistence", 0.25))
    sx, sy = significant_features(TX, **sig_opts), significant_features(TY, **sig_opts)
    caps: dict[float | None, list[int]] = {}
    for p in range(k + 1):
        # compare truncated filtrations up to the smaller relative end (deaths capped there)
        rel = [t / sg.diameter for t, sg in ((sx.max_scale[p], sx), (sy.max_scale[p], sy))
               if t is not None and sg.diameter > 0]
        caps.setdefault(min(rel) if rel else None, []).append(p)
    dist = 0.0
    for cap, dims in caps.items():  # one pass over the dimensions per cap
        per = diagram_distances(sx.diagram, sy.diagram, max_dim=k, max_scale=cap)
        dist = max([dist] + [per[p] for p in dims])

    # verdicts
    evidence: list[str] = []
    if width[1] < width[0]:
        evidence.append(f"distinct neurons fell {width[0]} -> {width[1]} (tolerance {tol:g} diam)")
    if collapsed >= min_pairs:
        evidence.append(f"{collapsed} pair(s) contracted by more than {contraction:g} relative to the diameter")
    merging = bool(evidence)
    if bound is not None and violations:
        evidence.append(f"Lemma 2 lower bound 1 - eta K = {bound:.3g} violated by {violations} pair(s)")
    spread: list[str] = []
    if math.isfinite(idim[0]) and math.isfinite(idim[1]) and idim[1] >= (1 + rise) * idim[0]:
        spread.append(f"intrinsic dimension rose {idim[0]:.3g} -> {idim[1]:.3g}")
    if pr[1] >= (1 + rise) * pr[0] and tv[1] >= tv[0]:
        spread.append(f"participation ratio rose {pr[0]:.3g} -> {pr[1]:.3g} with the variance x{tv[1] / tv[0]:.3g}"
                      if tv[0] > 0 else f"participation ratio rose {pr[0]:.3g} -> {pr[1]:.3g}")
    spreading = bool(spread)
    evidence.extend(spread)
    mechanism = "+".join(m for m, on in (("merging", merging), ("spreading", spreading)) if on) or "none"
    used = dict(eta=eta, K=K, tolerance=tol, contraction=contraction, separation=separation, min_pairs=min_pairs,
                rise=rise,
                scale=spec if isinstance(spec, float) else f"{spec.fraction:g} diam", max_dim=k,
                significance=use_sig, max_scale=sig_opts["max_scale"], high_dim_scale=sig_opts["high_dim_scale"],
                normalise=norm, seed=sx.seed, method=sx.method,
                n_subsamples=sx.n_subsamples, subsample_size=sx.subsample_size)
    return BreakdownDiagnosis(
        mechanism=mechanism,
        merging=merging,
        spreading=spreading,
        evidence=tuple(evidence),
        n_points=n,
        diameter=(DX, DY),
        collapsed_pairs=collapsed,
        min_ratio=min_ratio,
        lemma2_bound=bound,
        lemma2_violations=None if bound is None else violations,
        width=width,
        total_variance=tv,
        participation=pr,
        intrinsic_dim=idim,
        fixed_scale=None if isinstance(spec, float) else spec.fraction,
        fixed_betti=fixed,
        persistent_betti=(sx.betti, sy.betti),
        persistent_bands=(_bands(sx), _bands(sy)),
        confidence=sx.confidence,
        thresholds=(sx.relative_threshold, sy.relative_threshold),
        diagram_distance=dist,
        options=used,
        significance=(sx, sy),
    )


def diagnose_trajectory(snapshots: Iterable[ArrayLike], **options: Any) -> tuple[BreakdownDiagnosis, ...]:
    """:func:`breakdown_diagnostics` of each consecutive pair of snapshots ``(t, t + 1)``.

    Args:
        snapshots: clouds of the same ``n`` neurons, in time order (at least two).
        **options: as for :func:`breakdown_diagnostics`.

    Returns:
        One diagnosis per consecutive pair.

    Example:
        >>> from invariance.topology import samplers
        >>> X = samplers.circle(40, seed=0)
        >>> [d.mechanism for d in diagnose_trajectory([X, 1.5 * X, 2.0 * X], significance=False)]
        ['none', 'none']
    """
    snaps = list(snapshots)
    if len(snaps) < 2:
        raise ValueError(f"snapshots must hold at least two clouds, got {len(snaps)}")
    return tuple(breakdown_diagnostics(a, b, **options) for a, b in zip(snaps[:-1], snaps[1:]))
