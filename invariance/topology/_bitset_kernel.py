"""The numba kernel of :mod:`invariance.topology.collapse`: vertex and edge domination on bit sets.

Imported only when numba is (``collapse._kernel``); the functions live at module level so that
numba's on-disk cache (``cache=True``) serves every later process (a closure's cache did not:
each process compiled again). Correctness rests on every check being exact and made on the
current graph (``collapse``'s module docstring); the candidate order only decides how much goes.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["collapse_kernel"]

_ONE = np.uint64(1)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
#: the de Bruijn table: bit i of a one-bit word t sits at _TABLE[(t * _DEBRUIJN) >> 58]
_TABLE = np.zeros(64, np.int64)
_TABLE[[((1 << i) * 0x03F79D71B4CB0A89 & (2**64 - 1)) >> 58 for i in range(64)]] = np.arange(64)


@numba.njit(cache=True, inline="always")
def ctz(t: Any) -> int:  # index of the single set bit of t (de Bruijn)
    return _TABLE[(t * _DEBRUIJN) >> np.uint64(58)]


@numba.njit(cache=True, inline="always")
def has(row: Any, i: int) -> bool:
    return (row[i >> 6] >> np.uint64(i & 63)) & _ONE != 0


@numba.njit(cache=True, inline="always")
def covered(T: Any, row: Any, a: int, b: int) -> bool:
    """Whether the bit set ``T`` (words a..b) is a subset of ``row``."""
    for k in range(a, b + 1):
        if T[k] & ~row[k]:
            return False
    return True


@numba.njit(cache=True, inline="always")
def dominates(A: Any, u: int, v: int, w: int, a: int, b: int) -> bool:
    """Whether ``N[u] ∩ N[v] ⊆ N[w]`` (words a..b hold the common neighbourhood), w adjacent to u and v:
    ``covered`` of the lens ``A[u] & A[v]`` without building it (an edge's first candidates)."""
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
                t = word & (~word + _ONE)
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
def collapse_kernel(n: int, rows: Any, cols: Any, coords: Any, origin: Any, h: float, shape: Any, start: Any,
           members: Any, tries: int, max_passes: int) -> Any:
    # vertices are numbered in increasing order of coords[:, 0] (the caller sorts them)
    m = rows.size
    W = (n + 63) >> 6
    d = coords.shape[1]
    A = np.zeros((n, W), np.uint64)
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    for i in range(n):
        A[i, i >> 6] |= _ONE << np.uint64(i & 63)
        lo[i] = i >> 6
        hi[i] = i >> 6
    for e in range(m):
        u, v = rows[e], cols[e]
        A[u, v >> 6] |= _ONE << np.uint64(v & 63)
        A[v, u >> 6] |= _ONE << np.uint64(u & 63)
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
            T[v >> 6] &= ~(_ONE << np.uint64(v & 63))
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
                        t = word & (~word + _ONE)
                        j = k * 64 + ctz(t)
                        word ^= t
                        A[j, v >> 6] &= ~(_ONE << np.uint64(v & 63))
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
            for c in range(d):
                mid[c] = 0.5 * (coords[u, c] + coords[v, c])
            if shape.size:  # the vertex nearest the midpoint, then the last dominators at u and v
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
                T[u >> 6] &= ~(_ONE << np.uint64(u & 63))
                T[v >> 6] &= ~(_ONE << np.uint64(v & 63))
                for k in range(a, b + 1):
                    if T[k]:
                        nonzero = True
                        break
                if not nonzero:
                    free[e] = True
                    continue
                count = nearest(T, a, b, (u + v) >> 7, coords, mid, tries * 4, cand, cdist)
                for _t in range(min(tries, count)):
                    q = np.argmin(cdist[:count])
                    w = cand[q]
                    cdist[q] = np.inf
                    if covered(T, A[w], a, b):
                        found = w
                        break
            if found >= 0:
                A[u, v >> 6] &= ~(_ONE << np.uint64(v & 63))
                A[v, u >> 6] &= ~(_ONE << np.uint64(u & 63))
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
