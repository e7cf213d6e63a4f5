"""Exact reductions of a flag complex that keep its homotopy type: vertex and edge domination.

The Vietoris-Rips complex ``VR_r(X)`` is the flag complex ``Fl(G)`` of the threshold graph
``G = G_r(X)``. Two reductions shrink ``G`` without changing the homotopy type of ``Fl(G)``
(so without changing any Betti number); write ``N[v]`` for the closed neighbourhood of ``v``:

* **vertex domination** (strong collapse, Barmak & Minian 2012; Boissonnat, Pritam & Pareek
  2018): ``v`` is dominated by ``w != v`` when ``N[v] ⊆ N[w]``; then the link of ``v`` is a
  cone with apex ``w`` and ``Fl(G - v)`` is a deformation retract of ``Fl(G)``.
* **edge domination** (edge collapse, Boissonnat & Pritam 2020): the edge ``uv`` is dominated
  by ``w not in {u, v}`` when ``N[u] ∩ N[v] ⊆ N[w]``; then ``Fl(G - uv)`` is a deformation
  retract of ``Fl(G)``.

Both are applied one after another, each check on the current graph, so any sequence of them
is exact: the order only decides how small the result is. This module's kernel stores every
closed neighbourhood as a bit set (``n^2 / 8`` bytes: 32 MB at ``n = 16384``), so a check is a
few hundred word operations (``AND``/``ANDNOT`` over the words where both neighbourhoods
live, vertices renumbered along the cloud's principal axis so those words are few). The
candidate dominator of ``uv`` is the common neighbour nearest the midpoint ``(x_u + x_v) / 2``
(for a Euclidean cloud every point of the lens ``N[u] ∩ N[v]`` is within ``sqrt(r^2 - |x_u -
x_v|^2 / 4)`` of it, so that vertex is the likeliest to see the whole lens), then the last
dominator found at ``u`` or ``v``; the heuristic only orders the exact checks. What the bit-set
passes leave (a few edges per vertex) is finished with GUDHI's edge collapse
(``gudhi.flag_filtration.edge_collapse.reduce_graph``) to a fixed point.

The kernel is compiled by numba on first use (cached on disk); without numba the reduction is
GUDHI's alone (slower, same result). Measured in ``benchmarks/results/betti.md``.

References:
    J. A. Barmak and E. G. Minian, "Strong homotopy types, nerves and collapses", DCG 47, 2012.
    J.-D. Boissonnat and S. Pritam, "Edge collapse and persistence of flag complexes", SoCG 2020.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CollapseReport", "collapse_flag_graph", "bitset_kernel_available"]

#: above this many vertices the bit sets (``n^2 / 8`` bytes) are not built; GUDHI alone reduces
BITSET_MAX_VERTICES = 65536
#: smaller graphs are reduced by GUDHI alone (as fast there, and no compilation)
BITSET_MIN_EDGES = 20000
#: candidate dominators tried per edge and pass (nearest the midpoint first)
_TRIES = 4
#: coordinates used to rank candidates (the ranking never affects correctness)
_RANK_DIMS = 8


@dataclass(frozen=True)
class CollapseReport:
    """What :func:`collapse_flag_graph` did.

    Attributes:
        n_vertices: vertices of the input graph.
        n_edges: edges of the input graph.
        dominated_vertices: vertices removed by vertex domination (their edges with them).
        edges_after_bitset: edges left by the bit-set passes (``-1`` when they did not run).
        n_edges_reduced: edges left at the end (after GUDHI's fixed point).
        passes: bit-set passes over the edges.
        kernel: ``"bitset"`` (numba) or ``"gudhi"``.
    """

    n_vertices: int
    n_edges: int
    dominated_vertices: int
    edges_after_bitset: int
    n_edges_reduced: int
    passes: int
    kernel: str


_KERNEL: Any = None


def bitset_kernel_available() -> bool:
    """Whether numba is importable (the bit-set kernel is then used)."""
    return _kernel() is not None


def _kernel() -> Any:
    """The numba kernel (``None`` without numba); imported once, compiled on first call (disk-cached)."""
    global _KERNEL
    if _KERNEL is None:
        try:
            from ._bitset_kernel import collapse_kernel

            _KERNEL = collapse_kernel
        except ImportError:
            _KERNEL = False
    return _KERNEL or None


def _rank_coordinates(coords: NDArray[np.float64], seed: int = 0) -> NDArray[np.float64]:
    """The top (at most ``_RANK_DIMS``) principal coordinates of a cloud, the first one first.

    Used to number the vertices (along the first) and to rank candidate dominators; neither
    affects correctness. Clouds in more than 64 dimensions are first projected onto 64 random
    directions (enough to rank neighbours).
    """
    C = np.asarray(coords, dtype=np.float64)
    C = C - C.mean(axis=0)
    if C.shape[1] > 64:
        C = C @ (np.random.default_rng(seed).standard_normal((C.shape[1], 64)) / 8.0)
    _, S, Vt = np.linalg.svd(C, full_matrices=False)
    keep = max(1, min(_RANK_DIMS, int(np.sum(S > 1e-12 * (S[0] if S.size else 0.0)))))
    return np.ascontiguousarray(C @ Vt[:keep].T)


def _grid(C: NDArray[np.float64], n: int) -> tuple[NDArray[np.float64], float, NDArray[np.int64],
                                                 NDArray[np.int64], NDArray[np.int64]]:
    """A uniform grid over the first (at most 3) ranking coordinates with about 2 vertices per
    occupied cell: the vertex nearest an edge's midpoint is looked up in the 3^g cells around it."""
    g = min(3, C.shape[1])
    G = C[:, :g]
    origin = G.min(axis=0)
    extent = np.maximum(G.max(axis=0) - origin, 1e-300)
    h = float(np.prod(extent) / n) ** (1.0 / g)
    while True:
        shape = np.floor(extent / h).astype(np.int64) + 1
        cell = np.minimum(np.floor((G - origin) / h).astype(np.int64), shape - 1)
        key = np.ravel_multi_index(tuple(cell.T), tuple(shape))
        occupied = np.unique(key).size
        finer = np.floor(extent / (0.8 * h)).astype(np.int64) + 1
        if n / occupied <= 2.0 or np.prod(finer) > 64 * n:
            break
        h *= 0.8
    members = np.argsort(key, kind="stable").astype(np.int64)
    start = np.searchsorted(key[members], np.arange(int(np.prod(shape)) + 1)).astype(np.int64)
    return np.ascontiguousarray(origin), h, shape, start, members


def gudhi_fixed_point(n: int, rows: NDArray[np.int64],
                      cols: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """GUDHI's edge collapse (all edges at filtration 0), repeated until nothing more collapses."""
    import scipy.sparse as sp
    from gudhi.flag_filtration.edge_collapse import reduce_graph

    while rows.size:
        reduced = reduce_graph(sp.coo_matrix((np.zeros(rows.size), (rows, cols)), shape=(n, n)), 1)
        if reduced.nnz >= rows.size:
            break
        rows, cols = reduced.row.astype(np.int64), reduced.col.astype(np.int64)
    return rows, cols


def collapse_flag_graph(
    n: int,
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    coords: NDArray[np.float64] | None = None,
    lengths: NDArray[np.float64] | None = None,
    *,
    hints: bool = True,
    kernel: str = "auto",
    max_passes: int = 8,
) -> tuple[NDArray[np.int64], NDArray[np.int64], CollapseReport]:
    """Edges of a graph whose flag complex is homotopy equivalent to ``Fl(G)``, after vertex and edge collapses.

    ``G`` has vertices ``0..n-1`` and edges ``rows[e] -- cols[e]`` (no loops, no repeats). The
    returned graph ``G'`` (same vertex labels; dominated vertices end up isolated) satisfies
    ``Fl(G') ≃ Fl(G)`` (module docstring), so ``b_p(Fl(G')) = b_p(Fl(G))`` for every ``p``
    except that each dominated vertex adds an isolated point: count ``b_0`` on ``G`` itself.

    Args:
        n: number of vertices.
        rows, cols: the edges.
        coords: optional ``(n, D)`` coordinates of the vertices (a point cloud); they only
            rank candidate dominators (the one nearest an edge's midpoint first).
        lengths: optional edge lengths; edges are then tried longest first (a long edge's
            lens is thin and its dominator's shorter edges are still there: on S^2 at
            ``n = 8192`` the first pass removes 99% of the edges this way, 15% in random order).
        hints: look the vertex nearest each edge's midpoint up in a grid (needs ``coords``).
        kernel: ``"auto"`` (bit sets when numba is importable, ``n <= 65536`` and there are
            at least ``BITSET_MIN_EDGES`` edges; GUDHI alone otherwise),
            ``"bitset"`` or ``"gudhi"``.
        max_passes: most bit-set passes over the edges before GUDHI finishes.

    Returns:
        ``(rows', cols', report)`` with a :class:`CollapseReport`.

    Example:
        >>> import numpy as np
        >>> r, c, rep = collapse_flag_graph(4, np.array([0, 0, 0, 1, 1, 2]), np.array([1, 2, 3, 2, 3, 3]))
        >>> rep.n_edges, rep.n_edges_reduced  # K_4 (a simplex) collapses to a tree: an edge in no triangle stays
        (6, 3)
    """
    if kernel not in ("auto", "bitset", "gudhi"):
        raise ValueError(f"kernel must be 'auto', 'bitset' or 'gudhi', got {kernel!r}")
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise ValueError(f"rows and cols must be 1-d arrays of one length, got shapes {rows.shape} and {cols.shape}")
    if rows.size and (min(rows.min(), cols.min()) < 0 or max(rows.max(), cols.max()) >= n):
        raise ValueError(f"rows and cols must hold vertex labels in [0, {n})")
    if lengths is not None and np.shape(lengths) != rows.shape:
        raise ValueError(f"lengths must have one entry per edge ({rows.size}), got shape {np.shape(lengths)}")
    if coords is not None and np.asarray(coords).shape[0] != n:
        raise ValueError(f"coords must have n = {n} rows, got {np.asarray(coords).shape}")
    m = int(rows.size)
    wanted = kernel == "bitset" or (kernel == "auto" and m >= BITSET_MIN_EDGES)
    fn = _kernel() if wanted and n <= BITSET_MAX_VERTICES else None
    if kernel == "bitset" and fn is None:
        raise RuntimeError("kernel='bitset' needs numba (pip install numba) and n <= 65536")
    dominated, after, passes = 0, -1, 0
    if fn is not None and m:
        # renumber along the principal axis: each neighbourhood then lives in few words
        C = np.zeros((n, 1)) if coords is None else _rank_coordinates(coords)
        perm = np.argsort(C[:, 0], kind="stable").astype(np.int64)
        inv = np.empty(n, dtype=np.int64)
        inv[perm] = np.arange(n, dtype=np.int64)
        pr, pc = inv[rows], inv[cols]
        Cp = np.ascontiguousarray(C[perm])
        # longest edges first: a long edge's lens is thin and its dominators' (shorter) edges are
        # still there; measured on S^2 (n = 8192): 99% of the edges go in the first pass this
        # way, 15% in random order
        order = np.argsort(-np.asarray(lengths), kind="stable") if lengths is not None else np.arange(m)
        pr, pc = pr[order], pc[order]
        if coords is not None and hints:
            origin, h, shape, start, members = _grid(Cp, n)
        else:
            origin, h, shape = np.zeros(0), 1.0, np.zeros(0, np.int64)
            start, members = np.zeros(1, np.int64), np.zeros(0, np.int64)
        alive, dominated, passes = fn(n, pr, pc, Cp, origin, h, shape, start, members, _TRIES, int(max_passes))
        alive = alive[np.argsort(order)]
        rows, cols = rows[alive], cols[alive]
        after = int(rows.size)
    rows, cols = gudhi_fixed_point(n, rows, cols)
    report = CollapseReport(n_vertices=int(n), n_edges=m, dominated_vertices=int(dominated),
                            edges_after_bitset=after, n_edges_reduced=int(rows.size), passes=int(passes),
                            kernel="bitset" if fn is not None else "gudhi")
    return rows, cols, report
