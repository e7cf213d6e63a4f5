"""Persistence diagrams and the most persistent features: Betti numbers without a fixed scale.

At the paper's fixed scale ``diam/4`` a sparse cloud (a few hundred points on S^2) can
give wrong Betti numbers (DESIGN.md, known traps). The Vietoris-Rips *filtration*
``VR_r(X), r >= 0`` avoids choosing: each homology class is born at ``b`` and dies at
``d`` (a bar ``[b, d)``), ``b_p(VR_r) = #{bars of dimension p with b <= r < d}``, and the
features of the underlying space are the bars that persist, ``d - b`` large.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_int, check_positive
from .geometry import RelativeScale, _exact_lengths, as_points, diameter, threshold_graph

__all__ = ["PersistenceDiagram", "persistence_diagram", "most_persistent", "persistent_betti_numbers"]


@dataclass(frozen=True)
class PersistenceDiagram:
    """Bars ``[birth, death)`` of the Vietoris-Rips filtration, one ``(m, 2)`` array per dimension.

    Attributes:
        bars: ``bars[p]`` holds the bars of ``H_p``, ``p = 0..k`` (``death = inf`` for
            classes that never die).
        diameter: ``diam(X)``.
        resolution: relative precision of the births and deaths: each is within
            ``resolution * value`` of the pairwise distance it stands for. giotto-ph stores
            them in float32 (``2^-24`` plus the float64 round-off); GUDHI and this package's
            collapse keep float64 (``(D + 2) eps`` for coordinates in ``R^D``). Default: the
            float32 bound, for a diagram whose origin is not stated. ``b_p(VR_r)`` read from the
            diagram is the exact one when no pairwise distance lies within about
            ``resolution * r`` of ``r``.
    """

    bars: tuple[NDArray[np.float64], ...]
    diameter: float
    resolution: float = 2.0 ** -24

    @property
    def max_dim(self) -> int:
        """The top homology dimension ``k``."""
        return len(self.bars) - 1

    def betti_at(self, scale: float) -> tuple[int, ...]:
        """``b_p(VR_r)`` = number of bars with ``birth <= r < death``, for ``p = 0..k``."""
        r = float(scale)
        return tuple(int(np.sum((b[:, 0] <= r) & (b[:, 1] > r))) for b in self.bars)


def persistence_diagram(points: ArrayLike, max_dim: int = 2, *, max_scale: float | None = None,
                        backend: str = "auto", threads: int = 2,
                        collapse_edges: bool | None = None) -> PersistenceDiagram:
    """The persistence diagram of the Vietoris-Rips filtration of a cloud up to ``H_k``.

    The ``"collapse"`` backend reduces the filtration before computing it: the weighted
    threshold graph ``G_{max_scale}(X)`` (edges of length ``<= max_scale``, each at its length)
    goes through GUDHI's filtered edge collapse (Boissonnat & Pritam 2020,
    ``gudhi.flag_filtration.edge_collapse.reduce_graph``: the flag filtration of the output has
    the same persistent homology as that of the input), and GUDHI's simplex tree (a small
    reduced graph, float64 values) or giotto-ph (a large one, no collapse of its own, float32
    values) computes the diagram of what is left. Each edge enters at its length recomputed from
    the coordinates of ``points`` (equal lengths stay equal, as in GUDHI's ``RipsComplex``). The
    Vietoris-Rips filtration up to ``max_scale`` is the flag filtration of that graph, so the
    diagram is the same as the other backends'; its ``resolution`` states the precision.

    Args:
        points: ``(n, D)`` cloud.
        max_dim: ``k >= 0``.
        max_scale: stop the filtration at this scale (bars alive there get ``death = inf``);
            ``None`` for the whole filtration.
        backend: ``"auto"`` (``"collapse"`` for ``k >= 2``, ``"giotto-ph"`` for ``k <= 1``),
            ``"collapse"``, ``"giotto-ph"`` or ``"gudhi"``. Measured (2 cores,
            ``benchmarks/results/topology_robust.md``): ``H_2`` of 1024 points of an
            anisotropic Gaussian in ``R^10`` (268k edges) up to 0.3 diam takes about 5 s with
            ``"collapse"`` (4.8 s of it GUDHI's collapse, which leaves 23k edges), 18.9 s with
            giotto-ph without its collapse and 24.2 s with it (on other clouds its collapse ran
            for minutes: the trained MNIST clouds of ``MnistConfig.robust_topology``).
        threads: threads for giotto-ph.
        collapse_edges: giotto-ph's own edge collapse (``backend="giotto-ph"`` only; the
            diagram is the same either way). ``None``: off for ``k <= 1``, on for ``k >= 2``.

    Returns:
        A :class:`PersistenceDiagram`.

    Example:
        >>> from invariance.topology import samplers
        >>> dgm = persistence_diagram(samplers.circle(60, seed=0), max_dim=1)
        >>> len(most_persistent(dgm, 1, 1))
        1
    """
    X = as_points(points)
    k = check_int(max_dim, "max_dim", 0)
    thresh = np.inf if max_scale is None else check_positive(max_scale, "max_scale")
    if backend not in ("auto", "collapse", "giotto-ph", "gudhi"):
        raise ValueError(f"backend must be 'auto', 'collapse', 'giotto-ph' or 'gudhi', got {backend!r}")
    if backend == "auto":
        backend = "collapse" if k >= 2 else "giotto-ph"
    if backend == "collapse":
        bars, res = _collapsed_bars(X, k, thresh, threads)
        return PersistenceDiagram(bars=bars, diameter=diameter(X), resolution=res)
    if backend == "giotto-ph":
        from gph import ripser_parallel

        collapse = k >= 2 if collapse_edges is None else bool(collapse_edges)
        dgms = ripser_parallel(X, maxdim=k, thresh=thresh, collapse_edges=collapse, n_threads=threads)["dgms"]
        bars = tuple(np.asarray(d, dtype=np.float64).reshape(-1, 2) for d in dgms)
        res = _FLOAT32 + _float64_resolution(X.shape[1])
    elif backend == "gudhi":
        import gudhi

        st = gudhi.RipsComplex(points=X, max_edge_length=thresh).create_simplex_tree(max_dimension=k + 1)
        st.compute_persistence(persistence_dim_max=True)
        bars = tuple(np.asarray(st.persistence_intervals_in_dimension(p), dtype=np.float64).reshape(-1, 2)
                     for p in range(k + 1))
        res = _float64_resolution(X.shape[1])
    return PersistenceDiagram(bars=bars, diameter=diameter(X), resolution=res)


#: the relative rounding of float32 (giotto-ph's filtration values)
_FLOAT32 = 2.0 ** -24


def _float64_resolution(dim: int) -> float:
    """Relative round-off bound of a float64 distance ``sqrt(sum_k (a_k - b_k)^2)`` in ``R^dim``: ``(dim + 2) eps``."""
    return (int(dim) + 2) * float(np.finfo(np.float64).eps)


def _collapsed_bars(X: NDArray[np.float64], k: int, thresh: float,
                    threads: int) -> tuple[tuple[NDArray[np.float64], ...], float]:
    """Bars up to ``H_k`` of the filtration up to ``thresh``, reduced by GUDHI's filtered edge collapse.

    Every edge enters at its length recomputed from the coordinates of ``X``, as GUDHI computes it:
    the Gram lengths of the threshold graph are within rounding, which splits equal lengths (a
    grid's unit edges) into values ``1e-16`` apart, and the filtration would then order them.
    """
    # the whole filtration (thresh = inf): every pair is an edge, r = 1 x diam
    graph = threshold_graph(X, scale=thresh if np.isfinite(thresh) else RelativeScale(1.0))
    lengths = _exact_lengths(X, graph.rows, graph.cols)
    bars, single = _graph_filtration(X.shape[0], graph.rows, graph.cols, lengths, k, threads)
    return bars, _float64_resolution(X.shape[1]) + (_FLOAT32 if single else 0.0)


#: a reduced graph with at most this many edges goes to GUDHI's simplex tree ...
_GUDHI_MAX_EDGES = 20_000
#: ... when its flag complex has at most this many triangles; otherwise (or without that) to giotto-ph
_GUDHI_MAX_TRIANGLES = 100_000


def graph_filtration_bars(n: int, rows: NDArray[np.int64], cols: NDArray[np.int64], lengths: NDArray[np.float64],
                          k: int, threads: int = 2) -> tuple[NDArray[np.float64], ...]:
    """Bars of ``H_0..H_k`` of the flag filtration of a weighted graph (vertices at 0, edge ``e`` at
    ``lengths[e]``), after GUDHI's filtered edge collapse (same persistent homology, Boissonnat &
    Pritam 2020). Classes alive at the largest length get ``inf``.

    The reduced filtration is computed by GUDHI's simplex tree when it is small (at most
    ``_GUDHI_MAX_EDGES`` edges and ``_GUDHI_MAX_TRIANGLES`` triangles: the trained MNIST clouds
    of 1024 neurons keep about 3000 edges up to 0.3 diam), in float64 and without importing
    giotto-ph (and scikit-learn with it, about 2 s per process); larger ones by giotto-ph, which
    is faster there (2M triangles: 1.3 s against 86 s for the simplex tree) and rounds the
    filtration values to float32.
    """
    return _graph_filtration(n, rows, cols, lengths, k, threads)[0]


def _graph_filtration(n: int, rows: NDArray[np.int64], cols: NDArray[np.int64], lengths: NDArray[np.float64],
                      k: int, threads: int) -> tuple[tuple[NDArray[np.float64], ...], bool]:
    """:func:`graph_filtration_bars`, and whether giotto-ph computed them (float32 values)."""
    import scipy.sparse as sp
    from gudhi.flag_filtration.edge_collapse import reduce_graph

    if rows.size:
        reduced = reduce_graph(sp.coo_matrix((lengths, (rows, cols)), shape=(n, n)), 1)
        rows, cols, lengths = reduced.row, reduced.col, reduced.data
    if rows.size <= _GUDHI_MAX_EDGES:
        bars = _flag_bars_gudhi(n, rows, cols, lengths, k)
        if bars is not None:
            return bars, False
    from gph import ripser_parallel

    diag = np.arange(n)
    matrix = sp.coo_matrix((np.concatenate([lengths, np.zeros(n)]),
                            (np.concatenate([rows, diag]), np.concatenate([cols, diag]))), shape=(n, n))
    dgms = ripser_parallel(matrix, metric="precomputed", maxdim=k, collapse_edges=False, n_threads=threads)["dgms"]
    return tuple(np.asarray(d, dtype=np.float64).reshape(-1, 2) for d in dgms), True


def _flag_bars_gudhi(n: int, rows: NDArray[np.int64], cols: NDArray[np.int64], lengths: NDArray[np.float64],
                     k: int) -> tuple[NDArray[np.float64], ...] | None:
    """Bars of ``H_0..H_k`` of a flag filtration by GUDHI's simplex tree, or ``None`` when the
    complex has more than ``_GUDHI_MAX_TRIANGLES`` triangles (the caller hands it to giotto-ph)."""
    import gudhi

    st = gudhi.SimplexTree()
    st.insert_batch(np.arange(n, dtype=np.int64)[None, :], np.zeros(n))
    if rows.size:
        st.insert_batch(np.vstack([rows, cols]).astype(np.int64), np.asarray(lengths, dtype=np.float64))
    if k >= 1:
        st.expansion(2)  # a clique enters at its longest edge
        if st.num_simplices() - n - rows.size > _GUDHI_MAX_TRIANGLES:
            return None
        if k >= 2:
            st.expansion(k + 1)
    # dim_max: a complex with no (k+1)-simplices still reports its H_k classes (they never die)
    st.compute_persistence(persistence_dim_max=True)
    return tuple(np.asarray(st.persistence_intervals_in_dimension(p), dtype=np.float64).reshape(-1, 2)
                 for p in range(k + 1))


def most_persistent(diagram: PersistenceDiagram, dim: int, count: int | None = None) -> NDArray[np.float64]:
    """The ``count`` longest bars of ``H_dim``, longest first, as an ``(m, 2)`` array.

    Example:
        >>> dgm = PersistenceDiagram((np.array([[0.0, np.inf], [0.0, 0.5]]),), 1.0)
        >>> most_persistent(dgm, 0, 1).tolist()
        [[0.0, inf]]
    """
    p = check_int(dim, "dim", 0)
    if p > diagram.max_dim:
        raise ValueError(f"dim must be <= {diagram.max_dim} (the diagram's top dimension), got {dim}")
    bars = diagram.bars[p]
    order = np.argsort(-(bars[:, 1] - bars[:, 0]), kind="stable")
    return bars[order if count is None else order[: check_int(count, "count", 0)]]


def persistent_betti_numbers(diagram: PersistenceDiagram, min_persistence: float = 0.25) -> tuple[int, ...]:
    """Number of bars of each dimension with ``death - birth >= min_persistence * diam(X)``.

    Example:
        >>> from invariance.topology import samplers
        >>> persistent_betti_numbers(persistence_diagram(samplers.sphere(200, seed=1)))
        (1, 0, 1)
    """
    tol = check_positive(min_persistence, "min_persistence") * diagram.diameter
    return tuple(int(np.sum(b[:, 1] - b[:, 0] >= tol)) for b in diagram.bars)
