"""Shape normalisation of a neuron cloud before reading its topology: options, never on by default.

The Vietoris-Rips complex sees one length scale ``r`` in every direction. An anisotropic
cloud (a figure-eight squashed 10:1) therefore has its loops fill in at a scale set by
its *thin* direction, long before ``diam(X)/4``, which is set by its *long* direction:
read at ``diam/4`` it is contractible. Changing the metric changes what the complex sees.
The options, with what each keeps and what each costs:

* ``"none"`` (the default everywhere): ``x`` itself (a float64 copy). Keeps everything.
* ``"scale"``: ``(x - mean) / diam(X)``. A similarity: every relative-scale quantity
  (Betti numbers at ``f * diam``, Betti curves, stable bands, normalised diagram
  distances) is unchanged; only the units change.
* ``"pca"``: ``V_m^T (x - mean)``, the coordinates in the top ``m`` principal axes
  (``m = n_components``; default every axis with variance ``> eps * max variance``). An
  isometry when nothing is dropped; dropping low-variance axes shortens each distance by
  at most the dropped extent (it removes thin noise directions, and the topology they carry).
* ``"whiten"``: ``Lambda_m^{-1/2} V_m^T (x - mean)``, principal coordinates divided by their
  standard deviations: identity covariance, so a squashed shape is round again. NOT an
  isometry: it destroys metric information (a 10:1 ellipse and a circle become the same
  cloud), it amplifies the directions of small variance (pure-noise directions get unit
  variance, as large as the signal: drop them with ``n_components``), and it depends on
  the sample (outliers move the covariance, so two snapshots are whitened differently).

Here ``X - mean = U S V^T`` is the SVD of the centred cloud, ``Lambda = S^2 / n`` the
principal variances. Topology is a property of the metric: a claim made after whitening
is a claim about the whitened cloud and must say so (the diagnostics record the
method used).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_int, check_positive
from .geometry import as_points, diameter

__all__ = ["NORMALISATIONS", "normalise_shape", "principal_variances"]

#: the accepted ``method`` values; ``"none"`` is the default everywhere
NORMALISATIONS: tuple[str, ...] = ("none", "scale", "pca", "whiten")


def principal_variances(points: ArrayLike) -> NDArray[np.float64]:
    """Variances of the centred cloud along its principal axes, largest first (``S^2 / n``).

    Example:
        >>> principal_variances([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0], [2.0, 0.0]]).tolist()
        [1.0, 0.0]
    """
    X = as_points(points)
    Xc = X - X.mean(axis=0)
    s = np.linalg.svd(Xc, compute_uv=False)
    out = np.zeros(X.shape[1])
    out[: s.size] = s**2 / X.shape[0]
    return out


def normalise_shape(
    points: ArrayLike,
    method: str = "none",
    *,
    n_components: int | None = None,
    eps: float = 1e-10,
) -> NDArray[np.float64]:
    """The cloud after a shape normalisation (see the module docstring for the trade-offs).

    Args:
        points: ``(n, D)`` cloud.
        method: one of :data:`NORMALISATIONS`: ``"none"`` (default, a copy), ``"scale"``,
            ``"pca"`` or ``"whiten"``.
        n_components: for ``"pca"`` / ``"whiten"``: keep the top ``m`` principal axes
            (default: every axis whose variance exceeds ``eps`` times the largest).
        eps: relative variance below which an axis counts as empty.

    Returns:
        ``(n, D)`` for ``"none"`` / ``"scale"``, ``(n, m)`` for ``"pca"`` / ``"whiten"``.

    Example:
        >>> X = np.array([[-10.0, 0.0], [10.0, 0.0], [0.0, -1.0], [0.0, 1.0]])
        >>> np.round(normalise_shape(X, "whiten").std(axis=0), 6).tolist()
        [1.0, 1.0]
        >>> float(np.ptp(normalise_shape(X, "scale")[:, 0]))
        1.0
    """
    X = as_points(points)
    if method not in NORMALISATIONS:
        raise ValueError(f"method must be one of {NORMALISATIONS}, got {method!r}")
    tol = check_positive(eps, "eps")
    if method == "none":
        return X.copy()
    Xc = X - X.mean(axis=0)
    if method == "scale":
        d = diameter(Xc)
        return Xc / d if d > 0 else Xc
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    var = s**2 / X.shape[0]
    if n_components is None:
        m = int(np.sum(var > tol * var[0])) if var.size and var[0] > 0 else 0
    else:
        m = min(check_int(n_components, "n_components", 1), var.size)
    if m == 0:  # every point equal: one coordinate, all zero
        return np.zeros((X.shape[0], 1))
    Y = Xc @ Vt[:m].T
    if method == "whiten":
        Y = Y / np.sqrt(var[:m])
    return np.ascontiguousarray(Y)
