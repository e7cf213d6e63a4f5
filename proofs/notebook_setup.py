"""What the lemma notebooks of ``proofs/`` share: reproducible hypothesis settings and a separation check.

Each notebook's setup cell imports from here (``from notebook_setup import cases``); the
notebooks run with ``proofs/`` as their working directory, so this module is importable
there (``proofs/execute.py``, ``property_tests/test_notebooks.py``, Jupyter started in ``proofs/``).
"""

import math

import numpy as np
from hypothesis import HealthCheck, settings

__all__ = ["cases", "min_separation"]


def cases(n):
    """hypothesis settings of a notebook: n generated cases, derandomized (reproducible outputs)."""
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def min_separation(X):
    """Smallest distance between distinct entries of a finite collection, relative to its scale."""
    pts = X.points.astype(np.float64)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)[np.triu_indices(X.n, 1)]
    d = d[d > 0]
    return d.min() / (1.0 + np.abs(pts).max()) if d.size else math.inf
