"""The geometry memo: diameters, Gram blocks and span verdicts shared by readings of the same cloud.

They are keyed by the cloud's contents (shape, dtype, SHA-1 of the bytes), never by the array
object: a cloud changed in place is a new cloud. Every reading with the memo must equal the
reading without it.
"""

from __future__ import annotations

import numpy as np
import pytest

import invariance.topology.geometry as geometry
from invariance.topology import (
    betti_numbers,
    breakdown_diagnostics,
    clear_geometry_memo,
    diameter,
    merge_clusters,
    samplers,
    threshold_graph,
)
from invariance.topology.geometry import isometric_coordinates


def _clear() -> None:
    clear_geometry_memo()
    assert not any(m.entries for m in (geometry._DIAMETERS, geometry._GRAMS, geometry._FULL_SPAN))


@pytest.fixture(autouse=True)
def empty_memo():
    _clear()
    yield
    _clear()


def _cloud(n: int = 300, dim: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim))


def test_a_cloud_changed_in_place_is_read_again():
    """Negative control for a memo keyed by the object: the same array, moved in place, has a new diameter."""
    X = _cloud()
    d0 = diameter(X)
    X[0] += 100.0
    d1 = diameter(X)
    _clear()
    assert d1 == diameter(X) and d1 > d0 + 50
    assert betti_numbers(X) == betti_numbers(X.copy())


def test_readings_with_the_memo_equal_readings_without_it():
    X = samplers.sphere(400, ambient_dim=300, seed=1) + 1e-3 * _cloud(400, 300, 2)
    first = (diameter(X), betti_numbers(X), merge_clusters(X, 1e-3).n_clusters, threshold_graph(X, 0.9).n_edges)
    second = (diameter(X), betti_numbers(X), merge_clusters(X, 1e-3).n_clusters, threshold_graph(X, 0.9).n_edges)
    assert len(geometry._DIAMETERS.entries) >= 1 and len(geometry._GRAMS.entries) >= 1
    _clear()
    fresh = (diameter(X), betti_numbers(X), merge_clusters(X, 1e-3).n_clusters, threshold_graph(X, 0.9).n_edges)
    assert first == second == fresh


def test_shared_gram_blocks_are_read_only():
    X = _cloud()
    diameter(X)
    gram = geometry._gram_of(X)
    assert gram is geometry._gram_of(X.copy())  # the same contents: the same blocks
    for _, block in gram.blocks():
        with pytest.raises(ValueError):
            block[0, 0] = -1.0


def test_memo_is_bounded():
    for seed in range(5):
        diameter(_cloud(100, 10, seed))
    assert len(geometry._GRAMS.entries) <= geometry._GRAMS.size
    big = _cloud(geometry._GRAM_MEMO_POINTS[1] + 1, 3, 0)
    assert geometry._gram_of(big) is not geometry._gram_of(big)  # too large to keep


def test_span_verdicts_follow_the_contents():
    low = _cloud(200, 3) @ _cloud(3, 100, 1)  # rank 3 in R^100
    full = _cloud(200, 100)
    assert isometric_coordinates(low).shape == (200, 32)
    assert isometric_coordinates(full).shape == (200, 100)
    assert isometric_coordinates(full).shape == (200, 100)  # the verdict read back
    full[:, 3:] = 0.0  # now rank 3: the verdict for the old contents does not apply
    assert isometric_coordinates(full).shape == (200, 32)


def test_diagnostics_are_the_same_without_the_memo(monkeypatch):
    X = np.hstack([samplers.circle(200, seed=0), np.zeros((200, 48))]) + 1e-3 * _cloud(200, 50, 3)
    Y = 1.3 * X + 1e-3 * _cloud(200, 50, 4)
    with_memo = breakdown_diagnostics(X, Y, significance=False, max_scale=0.5).as_dict()
    assert with_memo == breakdown_diagnostics(X, Y, significance=False, max_scale=0.5).as_dict()  # warm
    monkeypatch.setattr(geometry._Memo, "get", lambda self, key: None)  # every reading computed afresh
    assert breakdown_diagnostics(X, Y, significance=False, max_scale=0.5).as_dict() == with_memo
