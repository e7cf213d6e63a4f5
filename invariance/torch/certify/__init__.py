"""Certify that a torch optimizer is permutation-equivariant (P1), or find where it breaks.

P1 (Section 3) asks ``P U^(t)(X) = U^(t)(P X)`` for every finitary permutation ``P`` of
the neurons, ``(P X)_i = x_{P(i)}``. For a stateful optimizer the particle is the neuron
together with its optimizer state (Section 5.2, eq. 16; Proposition 3 proves P1 for Adam):

    step(P theta, P s) = P step(theta, s).

:func:`certify` measures this on a real model; its parts, one module each:

* :mod:`.problem`: the default problem (a ``17 -> 256 -> 1`` MLP whose first weight has
  4352 entries, so block logic of the flattened tensor shows) and how a step is taken
  (closure, ``create_graph``, ``step_fn``);
* :mod:`invariance.torch.state`: how the optimizer's state moves with the neurons
  (moments, factored statistics, two-sided preconditioners, flattened and nested state,
  wrapped optimizers, :func:`register_state_permuter`);
* :mod:`.comparison`: ``P A`` against ``B`` with a bound calibrated from controls (the same
  steps in another summation order): no table of known low-precision internals;
* :mod:`.stochastic`: the test in law, ``P step(X) ~ step(P X)``, for random steps;
* :mod:`.certificate`: the :class:`OptimizerCertificate` and its report;
* :mod:`.certifier`: :func:`certify` and :func:`assert_equivariant_optimizer`.
"""

from ..state import StatePermutation, register_state_permuter, unregister_state_permuter
from .certificate import VERDICTS, OptimizerCertificate, OptimizerNotEquivariant
from .certifier import assert_equivariant_optimizer, certify
from .comparison import DOMINANT_FRACTION, ROUNDOFF_FACTOR
from .problem import DEFAULT_INPUT_DIM, DEFAULT_WIDTH, default_problem
from .stochastic import LEVEL, SEEDS, two_sample_test

__all__ = [
    "certify",
    "assert_equivariant_optimizer",
    "OptimizerCertificate",
    "OptimizerNotEquivariant",
    "VERDICTS",
    "default_problem",
    "DEFAULT_INPUT_DIM",
    "DEFAULT_WIDTH",
    "ROUNDOFF_FACTOR",
    "DOMINANT_FRACTION",
    "LEVEL",
    "SEEDS",
    "two_sample_test",
    "StatePermutation",
    "register_state_permuter",
    "unregister_state_permuter",
]
