"""Topology of neuron clouds (Sec. 6, App. C.2): Betti numbers, persistence, merges, samplers.

Heavy dependencies (gudhi, giotto-ph, torch) are imported inside the functions that use
them; ``import invariance`` never imports this package.

* :func:`betti_numbers` / :func:`betti_report`: ``(b_0, ..., b_k)`` of the Vietoris-Rips
  complex at one scale (``diam/4`` by default), several backends;
* :mod:`~invariance.topology.collapse`: the exact reductions behind the default backend
  (vertex and edge domination on bit sets);
* :func:`persistence_diagram`, :func:`most_persistent`, :func:`persistent_betti_numbers`:
  the scale-free alternative for sparse clouds;
* :func:`merge_clusters`, :func:`effective_width`: neurons that coincide (Lemma 3, Thm 1);
* :mod:`~invariance.topology.samplers`: clouds of known topology;
* :class:`BettiTracker`: Betti numbers of snapshots over training;
* :func:`betti_curve`: ``b_p(r)`` at every scale from one diagram, with stable bands (issue 9);
* :func:`significant_features`: features above a subsampling confidence threshold, with scale bands;
* :func:`diagram_distance`: bottleneck / Wasserstein distance of diagrams, normalised by the diameters;
* :func:`normalise_shape`: optional shape normalisation (scale, PCA, whitening) for anisotropic clouds;
* :func:`breakdown_diagnostics`: merging versus spreading between two snapshots, beside the Betti changes.
"""

from . import samplers
from .betti import BACKENDS, BettiReport, betti_numbers, betti_of_graph, betti_report
from .curves import BettiCurve, StableBand, betti_curve, stable_bands_of
from .diagnostics import (
    MECHANISMS,
    BreakdownDiagnosis,
    breakdown_diagnostics,
    diagnose_trajectory,
    participation_ratio,
    twonn_dimension,
)
from .distances import METRICS, as_diagram, diagram_distance, diagram_distances
from .geometry import RelativeScale, ThresholdGraph, clear_geometry_memo, diameter, threshold_graph
from .merges import Merges, effective_width, merge_clusters
from .normalisation import NORMALISATIONS, normalise_shape, principal_variances
from .persistence import PersistenceDiagram, most_persistent, persistence_diagram, persistent_betti_numbers
from .significance import SIGNIFICANCE_METHODS, Feature, SignificantFeatures, significant_features
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
    "clear_geometry_memo",
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
    "BettiCurve",
    "StableBand",
    "betti_curve",
    "stable_bands_of",
    "SIGNIFICANCE_METHODS",
    "Feature",
    "SignificantFeatures",
    "significant_features",
    "METRICS",
    "as_diagram",
    "diagram_distance",
    "diagram_distances",
    "NORMALISATIONS",
    "normalise_shape",
    "principal_variances",
    "MECHANISMS",
    "BreakdownDiagnosis",
    "breakdown_diagnostics",
    "diagnose_trajectory",
    "participation_ratio",
    "twonn_dimension",
]
