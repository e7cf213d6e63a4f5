"""Distances between persistence diagrams: a scale-free measure of topological change.

For diagrams ``A, B`` of ``H_p`` (multisets of points ``(b, d)``, plus the diagonal with
infinite multiplicity) and bijections ``gamma: A -> B`` (points may be matched to the
diagonal, at cost ``(d - b)/2`` in the ``L^inf`` norm):

* bottleneck: ``d_B(A, B) = inf_gamma sup_a ||a - gamma(a)||_inf``;
* ``q``-Wasserstein: ``W_q(A, B) = (inf_gamma sum_a ||a - gamma(a)||_inf^q)^(1/q)``.

Both are stable: for the Vietoris-Rips filtrations of two clouds,
``d_B(Dgm(X), Dgm(Y)) <= 2 d_GH(X, Y) <= 2 d_H(X, Y)`` (Chazal, de Silva & Oudot 2014), so
a small motion of the neurons moves the diagram little, and a large bottleneck distance
certifies a large change of shape. Over several dimensions the distances combine as
``max_p d_B`` and ``(sum_p W_q^q)^(1/q)``.

**Normalisation** (``normalise=True``, the default): every diagram is divided by the
diameter ``diam(X) = max_{i,j} ||x_i - x_j||`` of *its own* cloud (the
``PersistenceDiagram.diameter`` field) before the comparison, so the distance is in units
of the diameter, ``d(X, cX) = 0`` for every ``c > 0``, and it compares the shapes as the
paper's self-adaptive scale ``diam/4`` does (App. C.2). The normalised bottleneck distance
lies in ``[0, 1/2]`` for finite bars (every normalised bar lies in ``[0, 1]``).

Computed with GUDHI: ``gudhi.bottleneck_distance`` (exact) and ``gudhi.hera.wasserstein_distance``
(Hera, Kerber, Morozov & Nigmetov 2017; relative error ``delta``), which need no POT.

References:
    F. Chazal, V. de Silva, S. Oudot, "Persistence stability for geometric complexes", Geom. Dedicata 173, 2014.
    M. Kerber, D. Morozov, A. Nigmetov, "Geometry helps to compare persistence diagrams", ACM JEA 22, 2017.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_int, check_positive
from .geometry import as_points, diameter, isometric_coordinates
from .persistence import PersistenceDiagram, persistence_diagram

__all__ = ["METRICS", "diagram_distance", "diagram_distances", "as_diagram"]

#: the supported metrics
METRICS: tuple[str, ...] = ("bottleneck", "wasserstein")


def as_diagram(x: PersistenceDiagram | ArrayLike, max_dim: int = 2, max_scale: float | None = None,
               name: str = "points") -> PersistenceDiagram:
    """``x`` itself when it is a diagram; otherwise the Vietoris-Rips diagram of the cloud ``x``.

    The cloud's diagram is computed (giotto-ph) on its coordinates in an orthonormal basis
    of its span (an isometry), up to ``max_scale * diam(X)`` when ``max_scale`` is given.

    Example:
        >>> as_diagram([[0.0, 0.0], [1.0, 0.0]], max_dim=0).bars[0].tolist()
        [[0.0, 1.0], [0.0, inf]]
    """
    if isinstance(x, PersistenceDiagram):
        return x
    X = as_points(x, name)
    k = check_int(max_dim, "max_dim", 0)
    Z = isometric_coordinates(X)
    diam = diameter(Z)
    top = None
    if max_scale is not None:
        frac = check_positive(max_scale, "max_scale")
        top = frac * diam if diam > 0 and frac < 1 else None
    dgm = persistence_diagram(Z, k, max_scale=top)
    return PersistenceDiagram(bars=dgm.bars, diameter=diam, resolution=dgm.resolution)


def _prepared(d: PersistenceDiagram, p: int, normalise: bool, cap: float | None) -> NDArray[np.float64]:
    bars = d.bars[p] if p < len(d.bars) else np.zeros((0, 2))
    if normalise and d.diameter > 0:
        bars = bars / d.diameter
    if cap is not None:
        top = cap if normalise or d.diameter == 0 else cap * d.diameter
        bars = np.minimum(bars, top)
    return np.ascontiguousarray(bars[bars[:, 1] > bars[:, 0]], dtype=np.float64)


def diagram_distances(
    a: PersistenceDiagram | ArrayLike,
    b: PersistenceDiagram | ArrayLike,
    metric: str = "bottleneck",
    order: float = 1.0,
    normalise: bool = True,
    *,
    max_dim: int = 2,
    max_scale: float | None = None,
    delta: float = 0.01,
) -> tuple[float, ...]:
    """The distance between two diagrams in each dimension ``p = 0..k``; see :func:`diagram_distance`.

    Example:
        >>> a = PersistenceDiagram((np.array([[0.0, np.inf]]), np.array([[1.0, 3.0]])), 4.0)
        >>> b = PersistenceDiagram((np.array([[0.0, np.inf]]), np.zeros((0, 2))), 4.0)
        >>> diagram_distances(a, b, normalise=False)
        (0.0, 1.0)
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    q = check_positive(order, "order")
    eps = check_positive(delta, "delta")
    cap = None if max_scale is None else check_positive(max_scale, "max_scale")
    A = as_diagram(a, max_dim, max_scale, "a")
    B = as_diagram(b, max_dim, max_scale, "b")
    top = max(A.max_dim, B.max_dim)
    out = []
    for p in range(top + 1):
        x, y = _prepared(A, p, normalise, cap), _prepared(B, p, normalise, cap)
        if x.shape[0] == 0 and y.shape[0] == 0:
            out.append(0.0)
        elif metric == "bottleneck":
            import gudhi

            out.append(float(gudhi.bottleneck_distance(x, y)))
        else:
            from gudhi.hera import wasserstein_distance

            out.append(float(wasserstein_distance(x, y, order=q, internal_p=np.inf, delta=eps)))
    return tuple(out)


def diagram_distance(
    a: PersistenceDiagram | ArrayLike,
    b: PersistenceDiagram | ArrayLike,
    dim: int | None = None,
    metric: str = "bottleneck",
    order: float = 1.0,
    normalise: bool = True,
    *,
    max_dim: int = 2,
    max_scale: float | None = None,
    delta: float = 0.01,
) -> float:
    """Bottleneck or ``q``-Wasserstein distance between two persistence diagrams (or two clouds' diagrams).

    Args:
        a, b: :class:`~invariance.topology.persistence.PersistenceDiagram` objects, or
            ``(n, D)`` clouds whose Vietoris-Rips diagrams up to ``H_{max_dim}`` are computed.
        dim: compare ``H_dim`` only; ``None`` (default) for all dimensions together
            (``max_p d_B``, ``(sum_p W_q^q)^(1/q)``).
        metric: ``"bottleneck"`` (exact, ``gudhi.bottleneck_distance``) or ``"wasserstein"``
            (``gudhi.hera.wasserstein_distance``, internal norm ``L^inf``, relative error ``delta``).
        order: ``q >= 1`` of ``W_q``.
        normalise: divide each diagram by the diameter of its own cloud (see the module
            docstring), so that the result is in units of the diameter.
        max_dim: ``k`` for diagrams computed from clouds.
        max_scale: a fraction of the diameter: clouds' filtrations stop there, and every
            death (infinite ones included) is capped at it, so truncated diagrams compare
            finitely. ``None``: the whole filtration; essential bars stay infinite (two
            diagrams with different numbers of essential bars are at distance ``inf``).
        delta: relative error of the Wasserstein computation.

    Returns:
        The distance (``inf`` when essential classes differ and nothing is capped).

    Example:
        >>> from invariance.topology import samplers
        >>> X = samplers.circle(50, seed=0)
        >>> diagram_distance(X, 3.0 * X, max_dim=1) < 1e-6  # a similarity: no change (float32 inside giotto-ph)
        True
        >>> round(diagram_distance(X, samplers.figure_eight(100, seed=0), max_dim=1), 2) > 0.1
        True
    """
    per = diagram_distances(a, b, metric, order, normalise, max_dim=max_dim, max_scale=max_scale, delta=delta)
    if dim is not None:
        p = check_int(dim, "dim", 0)
        if p >= len(per):
            raise ValueError(f"dim must be <= {len(per) - 1}, got {dim}")
        return per[p]
    if metric == "bottleneck":
        return max(per)
    q = float(order)
    return float(sum(v**q for v in per) ** (1.0 / q))
