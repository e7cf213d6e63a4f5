"""What the lemma notebooks of ``proofs/`` share: reproducible hypothesis settings and a separation check.

Each notebook's setup cell imports from here (``from notebook_setup import cases``); the
notebooks run with ``proofs/`` as their working directory, so this module is importable
there (``proofs/execute.py``, ``property_tests/test_notebooks.py``, Jupyter started in ``proofs/``).
"""

import math

import numpy as np
from hypothesis import HealthCheck, settings

__all__ = ["cases", "min_separation", "without_local_constants"]


def without_local_constants() -> bool:
    """Keep hypothesis from drawing the literal constants of local source files; True if it had that pool.

    hypothesis (6.131 and later) draws, with probability 5% per choice, one of the literals it finds in
    the source of every *local* module imported so far: here every module of ``invariance/`` (an
    editable install is local). A derandomized notebook's generated cases then depend on every number
    written anywhere in the package and on which modules the earlier cells happened to import: editing
    a constant of ``invariance/topology/collapse.py`` changed the printed counts of two notebooks.
    The notebooks print what their cases give, so they switch that pool off (the global pool of
    hypothesis, the same for everyone, stays); ``property_tests/test_notebooks.py`` checks that the
    cases no longer move when a module with new literals is imported.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without providers has no such pool
        return False
    provider = getattr(providers, "HypothesisProvider", None)
    if provider is None or "_local_constants" not in vars(provider) or not hasattr(providers, "Constants"):
        return False
    empty = providers.Constants()
    provider._local_constants = property(lambda self: empty)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()
    return True


without_local_constants()


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
