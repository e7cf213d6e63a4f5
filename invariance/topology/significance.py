"""Significant topological features: lifetimes above a threshold chosen from the data.

A persistence diagram of a finite sample always has many short bars: sampling noise. A
feature is *significant* when its lifetime ``death - birth`` exceeds a threshold that
the sample itself calibrates. We use the subsampling confidence sets of Fasy, Lecci,
Rinaldo, Wasserman, Balakrishnan & Singh (2014), Sec. 4.1, for the Vietoris-Rips
filtration:

1. draw ``N`` subsamples ``S_1, ..., S_N`` of ``b`` points of ``X`` without replacement
   (seeded);
2. for each, a distance ``T_j`` between ``S_j`` and ``X`` that bounds how far the diagram
   can move:

   * ``"bottleneck-subsampling"`` (default): ``T_j = d_B(Dgm(S_j), Dgm(X))``, the bottleneck
     distance between the diagrams themselves (all dimensions ``0..k``; the subsampling
     estimate of ``d_B(Dgm(X), Dgm(M))``, as in the bottleneck bootstrap of Chazal, Fasy,
     Lecci, Michel, Rinaldo & Wasserman 2017, Sec. 4);
   * ``"hausdorff-subsampling"``: ``T_j = 2 d_H(S_j, X)`` (Fasy et al.'s subsampling of the
     Hausdorff distance; the factor 2 is Rips stability ``d_B <= 2 d_H``, Chazal, de Silva
     & Oudot 2014). More conservative.

3. ``c = `` the ``(1 - alpha)`` empirical quantile of ``T_1..T_N`` (``alpha = 1 -
   confidence``, the order statistic at or above it). The bottleneck ball of radius ``c``
   around ``Dgm(X)`` is the confidence set; a point ``(b, d)`` lies farther than ``c``
   from the diagonal (``L^inf`` distance ``(d - b)/2``) exactly when ``d - b > 2c``, so the
   features that survive in every diagram of the set are those with

       ``death - birth > threshold = 2c``.

``H_0`` needs care with the bottleneck variant: ``X`` has ``n - b`` more finite ``H_0`` bars
than ``S_j``, and the cheapest of them go to the diagonal, so ``d_B(S_j, X)`` is about half
the ``(1 - b/n)`` quantile of ``X``'s own ``H_0`` lifetimes. When the nearest-neighbour
distances concentrate (noise in many dimensions) a fixed fraction of the ``H_0`` bars would
then pass, whatever the truth. For ``H_0`` we therefore use the Hausdorff band as well:
``threshold_h0 = 2 max(c, c_H)`` with ``c_H`` the same quantile of ``2 d_H(S_j, X)``.
Since ``d_B(S_j, X) <= 2 d_H(S_j, X)`` always, this is the Hausdorff threshold; a gap
between two clusters still passes when it exceeds ``4 d_H``.

Since ``b < n``, a subsample is farther from ``X`` than ``X`` is from the underlying space
at the same sampling density only when ``b`` is small; with ``b = n/2`` (default) the band
is, in our calibration runs on structureless clouds (Gaussian noise, uniform cubes), at
or below the nominal rate of false features in dimensions ``>= 1``
(``property_tests/test_topology_robust.py``). ``method="fixed"`` uses a given fraction
of the diameter instead (no statistics; ``confidence = nan``).

The essential ``H_0`` class (one component at infinity) is always counted. A bar still
alive where a truncated filtration stops (``max_scale``) counts when ``max_scale - birth``
already exceeds the threshold.

References:
    B. T. Fasy, F. Lecci, A. Rinaldo, L. Wasserman, S. Balakrishnan, A. Singh, "Confidence sets
    for persistence diagrams", Ann. Statist. 42(6), 2014.
    F. Chazal, B. T. Fasy, F. Lecci, B. Michel, A. Rinaldo, L. Wasserman, "Robust topological
    inference: distance to a measure and kernel distance", JMLR 18, 2017.
    F. Chazal, V. de Silva, S. Oudot, "Persistence stability for geometric complexes", Geom. Dedicata 173, 2014.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_int, check_positive, check_seed
from .geometry import as_points, diameter, isometric_coordinates
from .persistence import _FLOAT32, PersistenceDiagram, _collapsed_bars, _float64_resolution, _graph_filtration

__all__ = ["SIGNIFICANCE_METHODS", "Feature", "SignificantFeatures", "significant_features"]

#: the accepted ``method`` values
SIGNIFICANCE_METHODS: tuple[str, ...] = ("bottleneck-subsampling", "hausdorff-subsampling", "fixed")


@dataclass(frozen=True)
class Feature:
    """One bar ``[birth, death)`` of ``H_dim`` (``death = inf``: essential, or alive where a truncated run ends)."""

    dim: int
    birth: float
    death: float

    @property
    def lifetime(self) -> float:
        """``death - birth``."""
        return self.death - self.birth


@dataclass(frozen=True)
class SignificantFeatures:
    """Features whose lifetime exceeds a data-driven threshold, with the threshold and how it was chosen.

    Attributes:
        betti: number of significant features of ``H_0, ..., H_k``.
        features: the significant bars, by dimension, longest first.
        threshold: absolute lifetime threshold (``2c``) of the features of ``H_p``, ``p >= 1``.
        threshold_h0: absolute lifetime threshold of the finite ``H_0`` bars (``2 max(c, c_H)``).
        quantile: ``c``, the ``confidence`` quantile of the subsample distances ``T_j`` (absolute).
        confidence: ``1 - alpha`` (``nan`` for ``method="fixed"``).
        method: one of :data:`SIGNIFICANCE_METHODS`.
        seed: seed of the subsampling.
        n_subsamples, subsample_size: ``N`` and ``b``.
        diameter: ``diam(X)``.
        max_scale: absolute end of the filtration of each dimension (``None``: the whole filtration).
        diagram: the cloud's persistence diagram.
        distances: ``T_1..T_N``.
        hausdorff: ``2 d_H(S_j, X)``, ``j = 1..N``.
    """

    betti: tuple[int, ...]
    features: tuple[Feature, ...]
    threshold: float
    threshold_h0: float
    quantile: float
    confidence: float
    method: str
    seed: int
    n_subsamples: int
    subsample_size: int
    diameter: float
    max_scale: tuple[float | None, ...]
    diagram: PersistenceDiagram = field(repr=False, compare=False)
    distances: NDArray[np.float64] = field(repr=False, compare=False)
    hausdorff: NDArray[np.float64] = field(repr=False, compare=False)

    @property
    def relative_threshold(self) -> float:
        """``threshold / diam(X)``."""
        return self.threshold / self.diameter if self.diameter > 0 else 0.0

    def of_dim(self, dim: int) -> tuple[Feature, ...]:
        """The significant features of ``H_dim``."""
        return tuple(f for f in self.features if f.dim == dim)

    def band(self, dim: int) -> tuple[float, float] | None:
        """``[max birth, min death)``: the scales at which every significant ``H_dim`` feature is alive.

        At every ``r`` in the band, ``VR_r`` carries all ``betti[dim]`` significant classes
        at once. ``None`` when there is no significant feature or they are never alive together.
        """
        feats = self.of_dim(dim)
        if not feats:
            return None
        lo = max(f.birth for f in feats)
        hi = min(f.death for f in feats)
        return (lo, hi) if hi > lo else None

    def claim(self, dim: int) -> str:
        """The statement ``b_dim = m``, with its scale band and confidence, in words."""
        m = self.betti[dim]
        d = self.diameter if self.diameter > 0 else 1.0
        t = (self.threshold_h0 if dim == 0 else self.threshold) / d
        how = (f"lifetime > {t:.3g} x diam (fixed)" if self.method == "fixed" else
               f"lifetime > {t:.3g} x diam at {self.confidence:.0%} confidence "
               f"({self.method}, {self.n_subsamples} subsamples of {self.subsample_size}, seed {self.seed})")
        band = self.band(dim)
        where = "" if band is None else f", all alive on [{band[0] / d:.3g}, {band[1] / d:.3g}) x diam"
        return f"b{dim} = {m} ({how}{where})"

    def summary(self) -> str:
        """One :meth:`claim` per dimension, one per line."""
        return "\n".join(self.claim(p) for p in range(len(self.betti)))


#: default end of the filtration for ``H_p``, ``p >= 2`` (a fraction of the diameter)
_H2_SCALE = 0.75


def _rips(Z: NDArray[np.float64], k: int, tops: tuple[float | None, ...], threads: int,
          D: NDArray[np.float64] | None = None) -> tuple[tuple[NDArray[np.float64], ...], float]:
    """Bars of ``H_0..H_k``; dimensions with the same end of filtration share one computation.

    A truncated filtration (``H_2`` by default) is reduced by GUDHI's filtered edge collapse
    (:func:`~invariance.topology.persistence.graph_filtration_bars`); a whole one goes to
    giotto-ph as it is. With ``D`` (the distance matrix of ``Z``) the distances are not
    computed again (the subsamples of :func:`significant_features` share one matrix).
    Returns the bars and the resolution of their values (see :class:`PersistenceDiagram`).
    """
    out: list[NDArray[np.float64]] = []
    res = _float64_resolution(Z.shape[1])
    single = False
    n = Z.shape[0]
    p = 0
    while p <= k:
        q = p
        while q + 1 <= k and tops[q + 1] == tops[p]:
            q += 1
        top = tops[p]
        if n == 1:
            dgms: Sequence[NDArray[np.float64]] = [np.array([[0.0, np.inf]])] + [np.zeros((0, 2))] * q
        elif top is None:
            from gph import ripser_parallel

            source = Z if D is None else D
            dgms = ripser_parallel(source, metric="euclidean" if D is None else "precomputed", maxdim=q,
                                   collapse_edges=False, n_threads=threads)["dgms"]
            single = True
        elif D is None:
            dgms, part = _collapsed_bars(Z, q, top, threads)
            res = max(res, part)
        else:
            i, j = np.nonzero(np.triu(D <= top, 1))
            dgms, used = _graph_filtration(n, i.astype(np.int64), j.astype(np.int64), D[i, j], q, threads)
            single = single or used
        out.extend(np.asarray(dgms[d], dtype=np.float64).reshape(-1, 2) for d in range(p, q + 1))
        p = q + 1
    return tuple(out), res + (_FLOAT32 if single else 0.0)


def _capped(bars: NDArray[np.float64], top: float | None) -> NDArray[np.float64]:
    """Deaths capped at ``top``; zero-length bars dropped."""
    out = bars if top is None else np.minimum(bars, top)
    return np.ascontiguousarray(out[out[:, 1] > out[:, 0]], dtype=np.float64)


def _bottleneck(a: PersistenceDiagram, b: PersistenceDiagram, tops: tuple[float | None, ...]) -> float:
    import gudhi

    return max(float(gudhi.bottleneck_distance(_capped(x, t), _capped(y, t))) for x, y, t in zip(a.bars, b.bars, tops))


def _hausdorff_to_subset(Z: NDArray[np.float64], idx: NDArray[np.intp], D: NDArray[np.float64] | None = None) -> float:
    """``d_H(S, X) = max_x min_{s in S} ||x - s||`` for ``S = X[idx]`` (a subset, so one-sided)."""
    if D is not None:
        return float(D[:, idx].min(axis=1).max())
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(Z[idx]).query(Z, k=1)
    return float(np.max(dist))


#: clouds of at most this many points keep their distance matrix (``8 n^2`` bytes: 128 MB) for the subsamples
_MATRIX_MAX = 4096


def _distance_matrix(Z: NDArray[np.float64]) -> NDArray[np.float64]:
    """``||z_i - z_j||`` from coordinate differences (scipy's ``pdist``: exact, no Gram round-off)."""
    from scipy.spatial.distance import pdist, squareform

    return squareform(pdist(Z))


def significant_features(
    points: ArrayLike,
    max_dim: int = 2,
    confidence: float = 0.95,
    n_subsamples: int = 30,
    subsample_size: int | None = None,
    seed: int = 0,
    method: str = "bottleneck-subsampling",
    *,
    max_scale: float | None = None,
    high_dim_scale: float = _H2_SCALE,
    min_persistence: float | None = None,
    threads: int = 2,
) -> SignificantFeatures:
    """Features of the Vietoris-Rips diagram whose lifetime exceeds a subsampling confidence threshold.

    See the module docstring for the method (Fasy et al. 2014, Sec. 4.1).

    Args:
        points: ``(n, D)`` cloud.
        max_dim: ``k >= 0``.
        confidence: ``1 - alpha`` in ``(0, 1)``.
        n_subsamples: ``N >= 1``.
        subsample_size: ``b`` in ``[1, n]``; default ``max(1, n // 2)``.
        seed: seed of the subsample draws.
        method: one of :data:`SIGNIFICANCE_METHODS`.
        max_scale: stop every filtration at this fraction of ``diam(X)``; deaths beyond are
            capped there in the distances, and a bar still alive there counts when
            ``max_scale * diam - birth`` exceeds the threshold. ``None`` (default): ``H_0`` and
            ``H_1`` over the whole filtration (ripser without edge collapse: fast for a few
            hundred points), ``H_p``, ``p >= 2``, up to ``high_dim_scale * diam``. A truncated
            filtration is reduced by GUDHI's filtered edge collapse before giotto-ph computes it;
            clouds of at most 4096 points keep one distance matrix for ``X`` and every subsample
            (1000 points of S^2 in R^785, ``H_0..H_2``, 30 subsamples: about 22 s on 2 cores,
            ``benchmarks/results/topology_robust.md``).
        high_dim_scale: where the ``H_p``, ``p >= 2``, filtrations stop when ``max_scale`` is
            ``None`` (default ``0.75``: near the death of a sphere's void, ``0.82 diam``, the
            ``H_2`` computation grows by two orders of magnitude; a round sphere's void, born
            between ``0.05`` and ``0.45 diam`` depending on the density, is still certified).
            For ``n >= 1000`` points ``0.5`` keeps one ``H_2`` diagram near a second.
        min_persistence: for ``method="fixed"``: the threshold as a fraction of ``diam(X)``.
        threads: giotto-ph's threads for the diagram of ``X``; then one subsample per thread.

    Returns:
        A :class:`SignificantFeatures`.

    Example:
        >>> from invariance.topology import samplers
        >>> sig = significant_features(samplers.circle(80, seed=0), max_dim=1, n_subsamples=10)
        >>> sig.betti
        (1, 1)
        >>> band = sig.band(1); band[0] < 0.25 * sig.diameter < band[1]
        True
    """
    X = as_points(points)
    k = check_int(max_dim, "max_dim", 0)
    if method not in SIGNIFICANCE_METHODS:
        raise ValueError(f"method must be one of {SIGNIFICANCE_METHODS}, got {method!r}")
    conf = check_positive(confidence, "confidence")
    if not conf < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    N = check_int(n_subsamples, "n_subsamples", 1)
    n = X.shape[0]
    b = max(1, n // 2) if subsample_size is None else check_int(subsample_size, "subsample_size", 1)
    if b > n:
        raise ValueError(f"subsample_size must be <= n = {n}, got {subsample_size}")
    s = check_seed(seed)
    Z = isometric_coordinates(X)
    D = _distance_matrix(Z) if 1 < n <= _MATRIX_MAX and method != "fixed" else None  # for the subsamples
    diam = float(D.max()) if D is not None else diameter(Z)
    if max_scale is not None:
        frac = check_positive(max_scale, "max_scale")
        tops = tuple(frac * diam if diam > 0 and frac < 1 else None for _ in range(k + 1))
    else:
        high = check_positive(high_dim_scale, "high_dim_scale")
        tops = tuple(high * diam if p >= 2 and diam > 0 and high < 1 else None for p in range(k + 1))
    all_bars, res = _rips(Z, k, tops, threads, D)
    dgm = PersistenceDiagram(bars=all_bars, diameter=diam, resolution=res)
    dists = haus = np.zeros(0)
    if method == "fixed":
        if min_persistence is None:
            raise ValueError("method='fixed' needs min_persistence (a fraction of the diameter)")
        c = c0 = 0.5 * check_positive(min_persistence, "min_persistence") * diam
        conf = float("nan")
        N = b = 0
    else:
        rng = np.random.default_rng(s)
        draws = [np.sort(rng.choice(n, size=b, replace=False)) for _ in range(N)]  # in order: seeded
        hvals = [2.0 * _hausdorff_to_subset(Z, idx, D) for idx in draws]
        vals: list[float] = []
        if method == "bottleneck-subsampling":
            def distance(idx: NDArray[np.intp]) -> float:
                Ds = None if D is None else np.ascontiguousarray(D[np.ix_(idx, idx)])
                sub_bars, sub_res = _rips(Z[idx], k, tops, 1, Ds)
                sub = PersistenceDiagram(bars=sub_bars, diameter=diam, resolution=sub_res)
                return _bottleneck(dgm, sub, tops)

            # one subsample per thread (GUDHI's collapse and giotto-ph release the GIL)
            with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
                vals = list(pool.map(distance, draws))
        haus = np.asarray(hvals, dtype=np.float64)
        dists = np.asarray(vals, dtype=np.float64) if vals else haus
        c = float(np.quantile(dists, conf, method="higher"))
        c0 = max(c, float(np.quantile(haus, conf, method="higher")))
    feats: list[Feature] = []
    for p, bars in enumerate(dgm.bars):
        thresh = 2.0 * (c0 if p == 0 else c)
        death = bars[:, 1]
        top = tops[p]
        essential = np.isinf(death) & (p == 0) & (top is None)
        # alive at the end of a truncated filtration: lifetime >= top - birth
        life = np.where(np.isinf(death) & (top is not None), (top or 0.0) - bars[:, 0], death - bars[:, 0])
        keep = np.nonzero(essential | (life > thresh))[0]
        if p == 0 and keep.size == 0 and bars.shape[0]:  # one component survives every scale
            keep = np.array([int(np.argmax(death - bars[:, 0]))])
        keep = keep[np.argsort(-(death[keep] - bars[keep, 0]), kind="stable")]
        feats.extend(Feature(p, float(bars[i, 0]), float(bars[i, 1])) for i in keep)
    betti = tuple(sum(1 for f in feats if f.dim == p) for p in range(k + 1))
    return SignificantFeatures(betti=betti, features=tuple(feats), threshold=2.0 * c, threshold_h0=2.0 * c0,
                               quantile=c, confidence=conf, method=method, seed=s, n_subsamples=N,
                               subsample_size=b, diameter=diam, max_scale=tops, diagram=dgm, distances=dists,
                               hausdorff=haus)
