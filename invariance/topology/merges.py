"""Merged neurons and the effective width (Lemma 3, Theorem 1, Sec. 6).

Above the critical step size ``eta* = 1/K`` neurons may merge (Lemma 3 fails). At a
finite precision two neurons are *merged* when ``||x_i - x_j|| <= tol * diam(X)``; the
clusters are the connected components of that graph (single linkage, so merging is
transitive), and the *effective width* is their number: the number of distinct neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_positive
from .geometry import RelativeScale, as_points, threshold_graph

__all__ = ["Merges", "merge_clusters", "effective_width"]


@dataclass(frozen=True)
class Merges:
    """Clusters of coinciding neurons.

    Attributes:
        labels: cluster label of each neuron (labels ``0..n_clusters-1``, in order of first appearance).
        n_clusters: the effective width (number of distinct neurons).
        sizes: number of neurons in each cluster.
        tolerance: the relative tolerance ``tol``.
        threshold: the absolute threshold ``tol * diam(X)``.
    """

    labels: NDArray[np.int64]
    n_clusters: int
    sizes: tuple[int, ...]
    tolerance: float
    threshold: float

    @property
    def merged(self) -> bool:
        """Whether any two neurons coincide."""
        return self.n_clusters < self.labels.size


def merge_clusters(points: ArrayLike, tolerance: float = 1e-6) -> Merges:
    """Clusters of neurons within ``tolerance * diam(X)`` of each other (single linkage).

    Args:
        points: the ``(n, D)`` neuron cloud.
        tolerance: relative tolerance ``> 0`` (a fraction of the diameter). A cloud of
            diameter 0 is one cluster.

    Returns:
        A :class:`Merges`.

    Example:
        >>> m = merge_clusters([[0.0, 0.0], [1e-9, 0.0], [1.0, 0.0]])
        >>> m.n_clusters, m.labels.tolist(), m.sizes
        (2, [0, 0, 1], (2, 1))
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    X = as_points(points)
    tol = check_positive(tolerance, "tolerance")
    g = threshold_graph(X, RelativeScale(tol))
    adj = coo_matrix((np.ones(g.n_edges, dtype=np.int8), (g.rows, g.cols)), shape=(g.n, g.n))
    count, raw = connected_components(adj, directed=False)
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # relabel by first appearance
    labels = order[inverse].astype(np.int64)
    sizes = tuple(int(s) for s in np.bincount(labels, minlength=count))
    return Merges(labels=labels, n_clusters=int(count), sizes=sizes, tolerance=tol, threshold=g.scale)


def effective_width(points: ArrayLike, tolerance: float = 1e-6) -> int:
    """The number of distinct neurons: clusters of :func:`merge_clusters`.

    Example:
        >>> effective_width(np.zeros((5, 3)))
        1
    """
    return merge_clusters(points, tolerance).n_clusters
