"""Betti numbers of the Vietoris-Rips complex of a point cloud at one scale (Sec. 6, App. C.2).

``b_p(VR_r(X)) = dim H_p(VR_r(X); Z/2)`` for ``p = 0..k``: ``b_0`` counts connected
components, ``b_1`` loops, ``b_2`` voids. The paper computes them with GUDHI's
``RipsComplex`` at the self-adaptive scale ``r = diam(X) / 4``. Backends:

* ``"gudhi"``: the paper's method, the reference. ``RipsComplex(points, max_edge_length=r)``
  expanded to dimension ``k + 1`` (so that ``H_k`` is exact), persistence with
  ``persistence_dim_max=True`` (the top-dimension trap of DESIGN.md), Betti numbers padded.
* ``"gudhi-collapse"``: the same complex, 1-skeleton first, GUDHI's edge collapse
  (Boissonnat-Pritam) with the true edge lengths as filtration, then expansion.
* ``"giotto-ph"``: giotto-ph's parallel ripser with edge collapse, on the threshold graph
  (our exact edge set, edge lengths as filtration).
* ``"collapse"`` (default): one scale only. ``b_0`` from the connected components of the
  threshold graph ``G_r``; for ``b_1..b_k`` the flag complex is reduced by dominated
  vertices (``N[v] ⊆ N[w]``) and dominated edges (an edge ``uv`` is dominated by ``w``
  when ``N[u] ∩ N[v] ⊆ N[w]``; removing either preserves the homotopy type of the flag
  complex), :mod:`~invariance.topology.collapse` (bit sets, numba; GUDHI's edge collapse
  to a fixed point); the tiny remaining flag complex is expanded to dimension ``k + 1``
  and its homology computed. Exact, and the fastest backend measured
  (``benchmarks/results/betti.md``).

``b_p`` for ``p > k`` are never reported; the tuple always has length ``k + 1``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ..arguments import check_int
from .geometry import RelativeScale, ThresholdGraph, as_points, diameter, resolve_scale, threshold_graph

__all__ = ["BACKENDS", "BettiReport", "betti_numbers", "betti_report", "betti_of_graph"]

Backend = Literal["collapse", "gudhi", "gudhi-collapse", "giotto-ph"]
#: every backend; ``"collapse"`` is the default (the fastest that agrees with ``"gudhi"``)
BACKENDS: tuple[str, ...] = ("collapse", "gudhi", "gudhi-collapse", "giotto-ph")


@dataclass(frozen=True)
class BettiReport:
    """Betti numbers of ``VR_r(X)`` and how they were obtained.

    Attributes:
        betti: ``(b_0, ..., b_k)``, always of length ``k + 1``.
        scale: the absolute scale ``r`` used.
        diameter: ``diam(X)`` (``nan`` when an absolute scale made it unnecessary).
        backend: the backend that computed them.
        n_points: number of points.
        n_edges: edges of the threshold graph ``G_r`` (``-1`` when the backend does not expose it).
        n_edges_reduced: edges left after the collapse (``-1`` when not applicable).
        seconds: wall time of the computation.
    """

    betti: tuple[int, ...]
    scale: float
    diameter: float
    backend: str
    n_points: int
    n_edges: int = -1
    n_edges_reduced: int = -1
    seconds: float = field(default=0.0, compare=False)


def _pad(values: list[int] | tuple[int, ...], k: int) -> tuple[int, ...]:
    out = [int(v) for v in values][: k + 1]
    return tuple(out + [0] * (k + 1 - len(out)))


def _components(graph: ThresholdGraph) -> tuple[int, np.ndarray]:
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    adj = sp.coo_matrix((np.ones(graph.n_edges, dtype=np.int8), (graph.rows, graph.cols)), shape=(graph.n, graph.n))
    count, labels = connected_components(adj, directed=False)
    return int(count), labels


def _flag_betti(n: int, rows: np.ndarray, cols: np.ndarray, k: int) -> tuple[int, ...]:
    """Betti numbers ``b_0..b_k`` of the flag complex of a graph (all simplices at value 0)."""
    import gudhi

    st = gudhi.SimplexTree()
    st.insert_batch(np.arange(n, dtype=np.int64)[None, :], np.zeros(n))
    if rows.size:
        st.insert_batch(np.stack([rows, cols]), np.zeros(rows.size))
    st.expansion(k + 1)
    st.compute_persistence(persistence_dim_max=True)
    return _pad(st.betti_numbers(), k)


def betti_of_graph(graph: ThresholdGraph, max_dim: int = 2,
                   coords: np.ndarray | None = None) -> tuple[tuple[int, ...], int]:
    """Betti numbers ``b_0..b_k`` of the flag complex of ``graph``, by vertex and edge collapses.

    ``b_0`` is the number of connected components of ``graph``; the rest is computed on the
    graph reduced by :func:`~invariance.topology.collapse.collapse_flag_graph` (vertex and
    edge domination, exact; longest edges first), whose isolated vertices contribute only
    to ``b_0``.

    Args:
        graph: a :class:`~invariance.topology.geometry.ThresholdGraph`.
        max_dim: ``k >= 0``.
        coords: the cloud's coordinates (optional): they rank candidate dominators (faster,
            same result).

    Returns:
        ``(betti, n_edges_reduced)``.

    Example:
        >>> from invariance.topology.geometry import threshold_graph
        >>> square = [[0, 0], [1, 0], [1, 1], [0, 1]]
        >>> betti_of_graph(threshold_graph(square, scale=1.0))[0]
        (1, 1, 0)
    """
    k = check_int(max_dim, "max_dim", 0)
    b0, _ = _components(graph)
    if k == 0 or graph.n_edges == 0:
        return _pad([b0], k), 0 if k else -1
    # vertices that touch an edge, relabelled: isolated ones only add to b_0
    used = np.unique(np.concatenate([graph.rows, graph.cols]))
    relabel = np.full(graph.n, -1, dtype=np.int64)
    relabel[used] = np.arange(used.size)
    from .collapse import collapse_flag_graph

    C = None if coords is None else np.asarray(coords, dtype=np.float64)[used]
    rows, cols, _ = collapse_flag_graph(used.size, relabel[graph.rows], relabel[graph.cols], C, graph.lengths)
    higher = _flag_betti(used.size, rows, cols, k)
    return (b0,) + higher[1:], int(rows.size)


def _reference(X: np.ndarray, r: float, k: int) -> tuple[int, ...]:
    import gudhi

    st = gudhi.RipsComplex(points=X, max_edge_length=r).create_simplex_tree(max_dimension=k + 1)
    st.compute_persistence(persistence_dim_max=True)
    return _pad(st.betti_numbers(), k)


def _gudhi_collapse(X: np.ndarray, r: float, k: int) -> tuple[int, ...]:
    import gudhi

    st = gudhi.RipsComplex(points=X, max_edge_length=r).create_simplex_tree(max_dimension=1)
    if k >= 1:
        size = -1
        while st.num_simplices() != size:  # collapse to a fixed point
            size = st.num_simplices()
            st.collapse_edges(1)
        st.expansion(k + 1)
    st.compute_persistence(persistence_dim_max=True)
    return _pad(st.betti_numbers(), k)


def _giotto(graph: ThresholdGraph, k: int, threads: int) -> tuple[int, ...]:
    from gph import ripser_parallel

    if graph.n == 1:
        return _pad([1], k)
    # the edges of G_r with filtration 1 + d/r in [1, 2] (order-preserving, so the collapse
    # works as on distances), the other pairs beyond the threshold 2.5: the bars still
    # alive at the end are the Betti numbers of VR_r
    weights = 1.0 + (graph.lengths / graph.scale if graph.scale > 0 else 0.0)
    dense = np.full((graph.n, graph.n), 3.0, dtype=np.float32)  # non-edges: beyond the threshold
    np.fill_diagonal(dense, 0.0)
    dense[graph.rows, graph.cols] = weights
    dense[graph.cols, graph.rows] = weights
    res = ripser_parallel(dense, metric="precomputed", maxdim=k, thresh=2.5, collapse_edges=True, n_threads=threads)
    return _pad([int(np.sum(np.isinf(dgm[:, 1]))) for dgm in res["dgms"]], k)


def betti_report(
    points: ArrayLike,
    scale: object = None,
    *,
    max_dim: int = 2,
    backend: str = "collapse",
    threads: int = 2,
) -> BettiReport:
    """Betti numbers ``(b_0, ..., b_k)`` of ``VR_r(X)`` with the scale, sizes and timing.

    Args:
        points: ``(n, D)`` cloud (array, FiniteCollection or torch tensor); ``n >= 1``,
            finite entries; duplicates allowed.
        scale: ``None`` (default) for the paper's ``r = diam(X)/4``, a
            :class:`~invariance.topology.geometry.RelativeScale` for ``r = f * diam(X)``,
            or an absolute ``r >= 0``. Edges are the pairs with ``||x_i - x_j|| <= r``.
        max_dim: ``k >= 0``; Betti numbers ``b_0..b_k`` are returned (``k = 2`` by default).
        backend: one of :data:`BACKENDS` (``"collapse"``, the default, is exact and fastest).
        threads: threads for ``"giotto-ph"``.

    Returns:
        A :class:`BettiReport`.

    Example:
        >>> from invariance.topology import samplers
        >>> betti_report(samplers.circle(100, seed=0)).betti
        (1, 1, 0)
    """
    X = as_points(points)
    k = check_int(max_dim, "max_dim", 0)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    check_int(threads, "threads", 1)
    spec = resolve_scale(scale)
    start = time.perf_counter()
    n_edges = reduced = -1
    if backend in ("collapse", "giotto-ph"):
        graph = threshold_graph(X, spec)
        r, diam, n_edges = graph.scale, graph.diameter, graph.n_edges
        if backend == "collapse":
            betti, reduced = betti_of_graph(graph, k, X)
        else:
            betti = _giotto(graph, k, threads)
    else:
        diam = diameter(X) if isinstance(spec, RelativeScale) else float("nan")
        r = spec.resolve(diam) if isinstance(spec, RelativeScale) else spec
        betti = _reference(X, r, k) if backend == "gudhi" else _gudhi_collapse(X, r, k)
    return BettiReport(
        betti=betti,
        scale=float(r),
        diameter=float(diam),
        backend=backend,
        n_points=int(X.shape[0]),
        n_edges=int(n_edges),
        n_edges_reduced=int(reduced),
        seconds=time.perf_counter() - start,
    )


def betti_numbers(
    points: ArrayLike, scale: object = None, *, max_dim: int = 2, backend: str = "collapse"
) -> tuple[int, ...]:
    """Betti numbers ``(b_0, ..., b_k)`` of the Vietoris-Rips complex ``VR_r(X)`` (Sec. 6).

    ``r = diam(X)/4`` by default (the paper's self-adaptive scale, App. C.2). The tuple
    always has length ``k + 1`` (also for clouds with no edges, a single point, or
    duplicates). See :func:`betti_report` for the arguments and the scale actually used.

    Example:
        >>> from invariance.topology import samplers
        >>> betti_numbers(samplers.sphere(400, ambient_dim=10, seed=0))
        (1, 0, 1)
        >>> betti_numbers([[0.0, 0.0], [5.0, 0.0]], scale=1.0)
        (2, 0, 0)
    """
    return betti_report(points, scale, max_dim=max_dim, backend=backend).betti
