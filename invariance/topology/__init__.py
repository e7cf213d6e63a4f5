"""Topology of neuron clouds (Sec. 6, App. C.2): Betti numbers, persistence, merges, samplers.

Heavy dependencies (gudhi, giotto-ph, torch) are imported inside the functions that use
them; ``import invariance`` never imports this package.

* :func:`betti_numbers` / :func:`betti_report`: ``(b_0, ..., b_k)`` of the Vietoris-Rips
  complex at one scale (``diam/4`` by default), several backends;
* :func:`persistence_diagram`, :func:`most_persistent`, :func:`persistent_betti_numbers`:
  the scale-free alternative for sparse clouds;
* :func:`merge_clusters`, :func:`effective_width`: neurons that coincide (Lemma 3, Thm 1);
* :mod:`~invariance.topology.samplers`: clouds of known topology;
* :class:`BettiTracker`: Betti numbers of snapshots over training.
"""

from . import samplers
from .betti import BACKENDS, BettiReport, betti_numbers, betti_of_graph, betti_report
from .geometry import RelativeScale, ThresholdGraph, diameter, threshold_graph
from .merges import Merges, effective_width, merge_clusters
from .persistence import PersistenceDiagram, most_persistent, persistence_diagram, persistent_betti_numbers
from .tracking import BettiRecord, BettiTracker, betti_trajectory

__all__ = [
    "BACKENDS",
    "BettiReport",
    "betti_numbers",
    "betti_report",
    "betti_of_graph",
    "RelativeScale",
    "ThresholdGraph",
    "diameter",
    "threshold_graph",
    "Merges",
    "merge_clusters",
    "effective_width",
    "PersistenceDiagram",
    "persistence_diagram",
    "most_persistent",
    "persistent_betti_numbers",
    "BettiRecord",
    "BettiTracker",
    "betti_trajectory",
    "samplers",
]
