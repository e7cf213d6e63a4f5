"""Point clouds sampled from spaces of known topology, in the style of GUDHI's generators.

Each sampler is seeded, validates its options, and returns an ``(n, D)`` float64 array.
Known Betti numbers ``(b_0, b_1, b_2)`` (tested in ``property_tests/test_topology.py``):

=====================================  ==============  =====================
sampler                                space           ``(b_0, b_1, b_2)``
=====================================  ==============  =====================
:func:`circle`                         S^1             (1, 1, 0)
:func:`sphere`                         S^2 in R^D      (1, 0, 1)
:func:`figure_eight`                   S^1 v S^1       (1, 2, 0)
:func:`two_holed_region`               disk - 2 disks  (1, 2, 0)
:func:`two_circles`                    S^1 + S^1       (2, 2, 0)
:func:`two_annuli`                     2 annuli        (2, 2, 0)
:func:`double_torus`                   genus-2 surface (1, 4, 1)
:func:`double_torus` (``solid=True``)  handlebody      (1, 2, 0)
=====================================  ==============  =====================
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..arguments import check_int, check_positive, check_seed

__all__ = ["circle", "sphere", "figure_eight", "two_holed_region", "two_circles", "two_annuli", "double_torus",
           "embed"]


def _rng(seed: object) -> np.random.Generator:
    return np.random.default_rng(check_seed(seed))


def embed(points: NDArray[np.float64], ambient_dim: int, seed: object = 0) -> NDArray[np.float64]:
    """Embed ``(n, d)`` points isometrically in ``R^D`` by a seeded random orthonormal frame.

    Example:
        >>> Y = embed(np.eye(3), 10, seed=1)
        >>> Y.shape, bool(np.isclose(np.linalg.norm(Y[0] - Y[1]), np.sqrt(2)))
        ((3, 10), True)
    """
    d = points.shape[1]
    D = check_int(ambient_dim, "ambient_dim", d)
    if D == d:
        return np.ascontiguousarray(points, dtype=np.float64)
    frame, _ = np.linalg.qr(_rng(seed).standard_normal((D, d)))
    return np.ascontiguousarray(points @ frame.T)


def circle(n: int, radius: float = 1.0, seed: object = 0) -> NDArray[np.float64]:
    """``n`` uniform points on the circle of ``radius`` in R^2; Betti ``(1, 1, 0)``.

    Example:
        >>> circle(5, seed=0).shape
        (5, 2)
    """
    n = check_int(n, "n", 1)
    radius = check_positive(radius, "radius")
    a = _rng(seed).uniform(0.0, 2 * np.pi, n)
    return radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def sphere(n: int, ambient_dim: int = 3, radius: float = 1.0, seed: object = 0) -> NDArray[np.float64]:
    """``n`` uniform points on the 2-sphere of ``radius``, embedded isometrically in ``R^D``.

    ``D = ambient_dim >= 3``; for ``D > 3`` the sphere lies in a random 3-dimensional
    subspace (the paper's neurons initialised on S^2, Sec. 6). Betti ``(1, 0, 1)``.

    Example:
        >>> X = sphere(10, ambient_dim=785, seed=0)
        >>> X.shape, bool(np.allclose(np.linalg.norm(X, axis=1), 1.0))
        ((10, 785), True)
    """
    n = check_int(n, "n", 1)
    radius = check_positive(radius, "radius")
    check_int(ambient_dim, "ambient_dim", 3)
    rng = _rng(seed)
    x = rng.standard_normal((n, 3))
    x *= radius / np.linalg.norm(x, axis=1, keepdims=True)
    return embed(x, ambient_dim, seed=int(rng.integers(2**32)))


def _arc_circles(n: int, centres: list[tuple[float, float]], radius: float, rng: np.random.Generator) -> NDArray:
    which = rng.integers(len(centres), size=n)
    a = rng.uniform(0.0, 2 * np.pi, n)
    c = np.asarray(centres, dtype=np.float64)[which]
    return c + radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def figure_eight(n: int, radius: float = 1.0, seed: object = 0) -> NDArray[np.float64]:
    """``n`` points on a planar figure-eight: two circles of ``radius`` touching at the origin.

    Betti ``(1, 2, 0)`` (a wedge of two circles).

    Example:
        >>> figure_eight(4, seed=0).shape
        (4, 2)
    """
    n = check_int(n, "n", 1)
    radius = check_positive(radius, "radius")
    return _arc_circles(n, [(-radius, 0.0), (radius, 0.0)], radius, _rng(seed))


def two_circles(n: int, radius: float = 1.0, gap: float = 1.0, seed: object = 0) -> NDArray[np.float64]:
    """``n`` points on two disjoint circles of ``radius`` whose closest points are ``gap`` apart.

    Betti ``(2, 2, 0)`` at any scale below ``gap``.

    Example:
        >>> two_circles(6, seed=0).shape
        (6, 2)
    """
    n = check_int(n, "n", 1)
    radius = check_positive(radius, "radius")
    gap = check_positive(gap, "gap")
    c = radius + gap / 2
    return _arc_circles(n, [(-c, 0.0), (c, 0.0)], radius, _rng(seed))


def _in_disks(p: NDArray, centres: NDArray, radius: float) -> NDArray[np.bool_]:
    return np.any(np.linalg.norm(p[:, None, :] - centres[None], axis=2) < radius, axis=1)


def _rejection(n: int, rng: np.random.Generator, low: NDArray, high: NDArray, inside) -> NDArray:  # type: ignore[no-untyped-def]
    out: list[NDArray] = []
    count = 0
    while count < n:
        p = rng.uniform(low, high, size=(max(2 * (n - count), 64), low.size))
        p = p[inside(p)]
        out.append(p)
        count += p.shape[0]
    return np.concatenate(out)[:n]


def two_holed_region(n: int, radius: float = 3.0, hole: float = 1.0, seed: object = 0) -> NDArray[np.float64]:
    """``n`` uniform points in a disk of ``radius`` minus two open disks of radius ``hole``.

    The holes are centred at ``(+-radius/2, 0)``; requires ``hole < radius/2``
    (holes disjoint and inside). Betti ``(1, 2, 0)``.

    Example:
        >>> two_holed_region(8, seed=0).shape
        (8, 2)
    """
    n = check_int(n, "n", 1)
    radius = check_positive(radius, "radius")
    hole = check_positive(hole, "hole")
    if not hole < radius / 2:
        raise ValueError(f"hole must be < radius/2 so that the holes are disjoint and inside, got {hole}, {radius}")
    centres = np.array([[-radius / 2, 0.0], [radius / 2, 0.0]])

    def inside(p: NDArray) -> NDArray[np.bool_]:
        return (np.linalg.norm(p, axis=1) <= radius) & ~_in_disks(p, centres, hole)

    return _rejection(n, _rng(seed), np.full(2, -radius), np.full(2, radius), inside)


def two_annuli(n: int, inner: float = 0.5, outer: float = 1.0, gap: float = 1.0, seed: object = 0) -> NDArray:
    """``n`` uniform points in two disjoint annuli ``inner <= |p - c| <= outer``, ``gap`` apart.

    Betti ``(2, 2, 0)``.

    Example:
        >>> two_annuli(8, seed=0).shape
        (8, 2)
    """
    n = check_int(n, "n", 1)
    inner = check_positive(inner, "inner")
    outer = check_positive(outer, "outer")
    gap = check_positive(gap, "gap")
    if not inner < outer:
        raise ValueError(f"inner must be < outer, got {inner} >= {outer}")
    rng = _rng(seed)
    c = outer + gap / 2
    which = rng.integers(2, size=n)
    rad = np.sqrt(rng.uniform(inner**2, outer**2, n))  # uniform in area
    a = rng.uniform(0.0, 2 * np.pi, n)
    return np.stack([np.where(which == 0, -c, c) + rad * np.cos(a), rad * np.sin(a)], axis=1)


def _torus_value(p: NDArray, cx: float, major: float) -> NDArray:
    """Squared distance of each point to the core circle of the torus centred at ``(cx, 0, 0)``."""
    rho = np.hypot(p[:, 0] - cx, p[:, 1])
    return (rho - major) ** 2 + p[:, 2] ** 2


def double_torus(n: int, major: float = 1.0, minor: float = 0.45, solid: bool = False,
                 seed: object = 0) -> NDArray[np.float64]:
    """``n`` points on (or in) a genus-2 double torus in R^3.

    The double torus is the boundary of the union of two solid tori (core circles of
    radius ``major`` in the plane z = 0, centred at ``(+-major, 0, 0)``, tube radius
    ``minor``), which overlap in a ball around the origin. Surface (``solid=False``): the
    torus surfaces are sampled uniformly by area and the parts inside the other solid
    torus dropped; Betti ``(1, 4, 1)``. Solid: uniform in the union; Betti ``(1, 2, 0)``.
    Requires ``minor < major / 2``.

    Example:
        >>> double_torus(16, seed=0).shape
        (16, 3)
    """
    n = check_int(n, "n", 1)
    major = check_positive(major, "major")
    minor = check_positive(minor, "minor")
    if not minor < major / 2:
        raise ValueError(f"minor must be < major/2 for two holes, got {minor} >= {major / 2}")
    rng = _rng(seed)
    centres = (-major, major)
    if solid:
        hi = np.array([2 * major + minor, major + minor, minor])

        def inside(p: NDArray) -> NDArray[np.bool_]:
            return (_torus_value(p, centres[0], major) <= minor**2) | (_torus_value(p, centres[1], major) <= minor**2)

        return _rejection(n, rng, -hi, hi, inside)
    out: list[NDArray] = []
    count = 0
    while count < n:
        m = max(2 * (n - count), 64)
        u = rng.uniform(0, 2 * np.pi, m)
        v = rng.uniform(0, 2 * np.pi, m)
        # area element of the torus is (major + minor cos v): accept v with that density
        keep = rng.uniform(0, major + minor, m) < major + minor * np.cos(v)
        which = rng.integers(2, size=m)
        cx = np.where(which == 0, centres[0], centres[1])
        ring = major + minor * np.cos(v)
        p = np.stack([cx + ring * np.cos(u), ring * np.sin(u), minor * np.sin(v)], axis=1)[keep]
        other = np.where(which[keep] == 0, centres[1], centres[0])
        rho = np.hypot(p[:, 0] - other, p[:, 1])
        p = p[(rho - major) ** 2 + p[:, 2] ** 2 > minor**2]
        out.append(p)
        count += p.shape[0]
    return np.concatenate(out)[:n]
