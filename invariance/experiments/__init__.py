"""The paper's experiments (Section 6, Appendices B and C) as reproducible runs.

Every run writes a directory (:mod:`~invariance.experiments.records`): ``config.json``
(configuration, seed, data, versions, platform, command line, start time),
``metrics.json``, CSV tables and PNG figures.

* :mod:`~invariance.experiments.records`: :func:`start_run` and :class:`RunDirectory`;
* :mod:`~invariance.experiments.lowdim`: two-layer sigmoid networks with neurons in R^2 / R^3
  (Figures 3, 4, 6-10);
* :mod:`~invariance.experiments.sweep`: the critical-point sweep across ``eta = 1/K``;
* :mod:`~invariance.experiments.mnist`: the MNIST experiments (Figures 5, 11, 12).

Submodules import torch and matplotlib when they are imported; this package itself does not.
"""

from .records import RunDirectory, start_run, versions

__all__ = ["RunDirectory", "start_run", "versions"]
