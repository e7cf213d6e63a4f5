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
    global _KERNEL
    if _KERNEL is None:
        try:
            _KERNEL = _compile()
        except ImportError:
            _KERNEL = False
    return _KERNEL or None


def _compile() -> Any:
    import numba

    one = np.uint64(1)
    debruijn = np.uint64(0x03F79D71B4CB0A89)
    table = np.zeros(64, np.int64)
    for i in range(64):
        table[((1 << i) * 0x03F79D71B4CB0A89 & (2**64 - 1)) >> 58] = i

    @numba.njit(cache=True, inline="always")
    def ctz(t: Any) -> int:  # index of the single set bit of t (de Bruijn)
        return table[(t * debruijn) >> np.uint64(58)]

    @numba.njit(cache=True, inline="always")
    def has(row: Any, i: int) -> bool:
        return (row[i >> 6] >> np.uint64(i & 63)) & one != 0

    @numba.njit(cache=True, inline="always")
    def covered(T: Any, row: Any, a: int, b: int) -> bool:
        for k in range(a, b + 1):
            if T[k] & ~row[k]:
                return False
        return True

    @numba.njit(cache=True, inline="always")
    def dominates(A: Any, u: int, v: int, w: int, a: int, b: int) -> bool:
        """Whether ``N[u] ∩ N[v] ⊆ N[w]`` (words a..b hold the common neighbourhood), w adjacent to u and v."""
        if w < 0 or w == u or w == v or not (has(A[u], w) and has(A[v], w)):
            return False
        for k in range(a, b + 1):
            if A[u, k] & A[v, k] & ~A[w, k]:
                return False
        return True

    @numba.njit(cache=True)
    def nearest(T: Any, a: int, b: int, start: int, coords: Any, target: Any, want: int,
                cand: Any, cdist: Any) -> int:
        """Up to ``want`` members of T from the words nearest ``start`` outwards, by distance to target."""
        d = coords.shape[1]
        count = 0
        left = start
        right = start + 1
        while count < want and (left >= a or right <= b):
            for k in (left, right):
                if k < a or k > b:
                    continue
                word = T[k]
                while word:
                    t = word & (~word + one)
                    j = k * 64 + ctz(t)
                    word ^= t
                    s = 0.0
                    for c in range(d):
                        y = coords[j, c] - target[c]
                        s += y * y
                    cand[count] = j
                    cdist[count] = s
                    count += 1
                    if count == cand.size:
                        return count
            left -= 1
            right += 1
        return count

    @numba.njit(cache=True)
    def grid_nearest(target: Any, coords: Any, origin: Any, h: float, shape: Any, start: Any, members: Any,
                     around: bool) -> int:
        """The vertex nearest ``target`` among the 3^g grid cells around it (-1 when they are empty)."""
        g = shape.size
        d = coords.shape[1]
        cell = np.empty(g, np.int64)
        for c in range(g):
            cell[c] = min(max(int((target[c] - origin[c]) / h), 0), shape[c] - 1)
        best = -1
        bestd = np.inf
        for off in range(3 ** g if around else 1):
            key = 0
            ok = True
            rest = off
            for c in range(g):
                x = cell[c] + (rest % 3 - 1 if around else 0)
                rest //= 3
                if x < 0 or x >= shape[c]:
                    ok = False
                    break
                key = key * shape[c] + x
            if not ok:
                continue
            for q in range(start[key], start[key + 1]):
                j = members[q]
                s = 0.0
                for c in range(d):
                    y = coords[j, c] - target[c]
                    s += y * y
                if s < bestd:
                    bestd = s
                    best = j
        return best

    @numba.njit(cache=True)
    def kernel(n: int, rows: Any, cols: Any, coords: Any, origin: Any, h: float, shape: Any, start: Any,
               members: Any, tries: int, max_passes: int) -> Any:
        # vertices are numbered in increasing order of coords[:, 0] (the caller sorts them)
        m = rows.size
        W = (n + 63) >> 6
        d = coords.shape[1]
        A = np.zeros((n, W), np.uint64)
        lo = np.empty(n, np.int64)
        hi = np.empty(n, np.int64)
        for i in range(n):
            A[i, i >> 6] |= one << np.uint64(i & 63)
            lo[i] = i >> 6
            hi[i] = i >> 6
        for e in range(m):
            u, v = rows[e], cols[e]
            A[u, v >> 6] |= one << np.uint64(v & 63)
            A[v, u >> 6] |= one << np.uint64(u & 63)
            lo[u] = min(lo[u], v >> 6)
            hi[u] = max(hi[u], v >> 6)
            lo[v] = min(lo[v], u >> 6)
            hi[v] = max(hi[v], u >> 6)
        alive = np.ones(m, np.bool_)
        vertex_alive = np.ones(n, np.bool_)
        free = np.zeros(m, np.bool_)  # no common neighbour: never dominated in a subgraph either
        T = np.zeros(W, np.uint64)
        last = np.full(n, -1, np.int64)
        cand = np.empty(64, np.int64)
        cdist = np.empty(64, np.float64)
        mid = np.empty(d, np.float64)
        dominated = 0
        passes = 0
        for _ in range(max_passes):
            passes += 1
            removed = 0
            # vertex domination: N[v] ⊆ N[w], w among the nearest neighbours of v
            for v in range(n):
                if not vertex_alive[v]:
                    continue
                a, b = lo[v], hi[v]
                for k in range(a, b + 1):
                    T[k] = A[v, k]
                T[v >> 6] &= ~(one << np.uint64(v & 63))
                count = nearest(T, a, b, v >> 6, coords, coords[v], tries * 4, cand, cdist)
                if count == 0:
                    continue
                found = -1
                w = last[v]
                if w >= 0 and w != v and vertex_alive[w] and has(A[v], w) and covered(A[v], A[w], a, b):
                    found = w
                for _t in range(min(tries, count)):
                    if found >= 0:
                        break
                    q = np.argmin(cdist[:count])
                    w = cand[q]
                    cdist[q] = np.inf
                    if covered(A[v], A[w], a, b):
                        found = w
                if found >= 0:  # remove v with its edges
                    vertex_alive[v] = False
                    dominated += 1
                    for k in range(a, b + 1):
                        word = T[k]
                        while word:
                            t = word & (~word + one)
                            j = k * 64 + ctz(t)
                            word ^= t
                            A[j, v >> 6] &= ~(one << np.uint64(v & 63))
                            if j != found:
                                last[j] = found
                        A[v, k] = 0
                    removed += 1
            # edge domination: N[u] ∩ N[v] ⊆ N[w]
            for e in range(m):
                if not alive[e] or free[e]:
                    continue
                u, v = rows[e], cols[e]
                if not (vertex_alive[u] and vertex_alive[v]):
                    alive[e] = False
                    continue
                a = max(lo[u], lo[v])
                b = min(hi[u], hi[v])
                found = -1
                if shape.size:  # the vertex nearest the midpoint, then the last dominators at u and v
                    for c in range(d):
                        mid[c] = 0.5 * (coords[u, c] + coords[v, c])
                    w = grid_nearest(mid, coords, origin, h, shape, start, members, True)
                    if dominates(A, u, v, w, a, b):
                        found = w
                if found < 0 and dominates(A, u, v, last[u], a, b):
                    found = last[u]
                if found < 0 and dominates(A, u, v, last[v], a, b):
                    found = last[v]
                if found < 0:  # the common neighbours nearest the midpoint
                    nonzero = False
                    for k in range(a, b + 1):
                        t = A[u, k] & A[v, k]
                        T[k] = t
                    T[u >> 6] &= ~(one << np.uint64(u & 63))
                    T[v >> 6] &= ~(one << np.uint64(v & 63))
                    for k in range(a, b + 1):
                        if T[k]:
                            nonzero = True
                            break
                    if not nonzero:
                        free[e] = True
                        continue
                    for c in range(d):
                        mid[c] = 0.5 * (coords[u, c] + coords[v, c])
                    count = nearest(T, a, b, (u + v) >> 7, coords, mid, tries * 4, cand, cdist)
                    for _t in range(min(tries, count)):
                        q = np.argmin(cdist[:count])
                        w = cand[q]
                        cdist[q] = np.inf
                        if covered(T, A[w], a, b):
                            found = w
                            break
                if found >= 0:
                    A[u, v >> 6] &= ~(one << np.uint64(v & 63))
                    A[v, u >> 6] &= ~(one << np.uint64(u & 63))
                    alive[e] = False
                    last[u] = found
                    last[v] = found
                    removed += 1
            if removed == 0:
                break
        for e in range(m):
            if not (vertex_alive[rows[e]] and vertex_alive[cols[e]]):
                alive[e] = False
        return alive, dominated, passes

    return kernel


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
