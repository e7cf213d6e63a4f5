"""Betti numbers of a neuron cloud over training (Sec. 6, Fig. 5, 11).

Theorem 1: below ``eta* = 1/K`` the update is a homeomorphism of the neuron cloud, so
``(b_0, b_1, b_2)`` cannot change; above it neurons may merge and the Betti numbers can
only get coarser. :class:`BettiTracker` records them every ``every`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from numpy.typing import ArrayLike

from ..arguments import check_int
from .betti import BACKENDS, betti_report
from .geometry import resolve_scale

__all__ = ["BettiRecord", "BettiTracker", "betti_trajectory"]


@dataclass(frozen=True)
class BettiRecord:
    """Betti numbers of one snapshot: ``step``, ``betti``, absolute ``scale`` used, ``seconds``."""

    step: int
    betti: tuple[int, ...]
    scale: float
    seconds: float


class BettiTracker:
    """Record ``(b_0, ..., b_k)`` of snapshots of a neuron collection every ``every`` steps.

    Args:
        scale: as in :func:`~invariance.topology.betti_numbers` (``diam/4`` by default).
        max_dim: ``k``.
        every: record only steps divisible by ``every``.
        backend: a Betti backend (``"collapse"`` by default: the fast one).

    Example:
        >>> from invariance.topology import samplers
        >>> tracker = BettiTracker(every=2)
        >>> for step in range(4):
        ...     _ = tracker(samplers.circle(80, seed=step), step)
        >>> [r.betti for r in tracker.records], tracker.changes()
        ([(1, 1, 0), (1, 1, 0)], ())
    """

    def __init__(self, scale: object = None, max_dim: int = 2, every: int = 1, backend: str = "collapse") -> None:
        self.scale = resolve_scale(scale)
        self.max_dim = check_int(max_dim, "max_dim", 0)
        self.every = check_int(every, "every", 1)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self._records: list[BettiRecord] = []

    def __call__(self, points: ArrayLike, step: int) -> BettiRecord | None:
        """Record the snapshot ``points`` at ``step`` (a torch tensor is fine); ``None`` when skipped."""
        step = check_int(step, "step", 0)
        if step % self.every:
            return None
        rep = betti_report(points, self.scale, max_dim=self.max_dim, backend=self.backend)
        record = BettiRecord(step=step, betti=rep.betti, scale=rep.scale, seconds=rep.seconds)
        self._records.append(record)
        return record

    @property
    def records(self) -> tuple[BettiRecord, ...]:
        """All records so far, in call order."""
        return tuple(self._records)

    def changes(self) -> tuple[int, ...]:
        """Steps whose Betti numbers differ from the previous record's."""
        r = self._records
        return tuple(r[i].step for i in range(1, len(r)) if r[i].betti != r[i - 1].betti)

    def as_array(self) -> np.ndarray:
        """Records as an ``(m, k + 2)`` int array: step, b_0, ..., b_k."""
        return np.array([(r.step, *r.betti) for r in self._records], dtype=np.int64).reshape(-1, self.max_dim + 2)


def betti_trajectory(snapshots: Iterable[ArrayLike], scale: object = None, max_dim: int = 2,
                     progress: bool = False) -> tuple[BettiRecord, ...]:
    """Betti numbers of each snapshot in order (steps ``0, 1, ...``), with optional tqdm progress.

    Example:
        >>> from invariance.topology import samplers
        >>> [r.betti for r in betti_trajectory([samplers.circle(100, seed=0), np.zeros((3, 2))])]
        [(1, 1, 0), (1, 0, 0)]
    """
    tracker = BettiTracker(scale=scale, max_dim=max_dim)
    items: Iterable[ArrayLike] = snapshots
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(snapshots, desc="betti")
    for step, snap in enumerate(items):
        tracker(snap, step)
    return tracker.records
