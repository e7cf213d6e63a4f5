"""The torch layer: neurons of real models, torch update rules, optimizer certification.

Importing this package imports torch; ``import invariance`` does not.

* :mod:`~invariance.torch.specs`: :class:`NeuronSpec` (which parameter slices form neuron
  ``i``), :func:`mlp_spec`, :func:`conv_spec`, :func:`neuron_spec`; extraction of the
  neuron collection and permutation of a model together with its optimizer's state.
* :mod:`~invariance.torch.rules`: :class:`NeuronLoss` (``grad_i L^(t)`` by autograd, full
  or mini-batch) and :func:`torch_rule`, SGD / momentum / Nesterov / Adam (and eq. 16 as
  printed) as stateless rules on the neurons, matching ``torch.optim`` to round-off;
  :func:`augmented_neurons`.
* :mod:`~invariance.torch.monitor`: :class:`TrainingMonitor`, optimizer hooks recording
  Lemma 2 ratios, Lemma 4's lower bound of K, merges, and warning past ``eta* = 1/K``.
* :mod:`~invariance.torch.relative_sharpness`: :func:`relative_sharpness`, ``K_rel = ||Pi_R J_U Pi_R||``,
  the neuron-relative constant of Lemma 4 (GD: the Hessian compressed to the relative subspace;
  momentum/Adam: the stateless rule's Jacobian), beside ``lambda_max``.
* :mod:`~invariance.torch.sharpness_tracker`: :class:`SharpnessTracker`, ``lambda_max`` and ``K_rel``
  re-estimated every k steps from the previous Ritz vectors (``TrainingMonitor(sharpness_every=k)``).
* :mod:`~invariance.torch.state`: the optimizer state moved with the neurons, wherever it is
  kept; :func:`register_state_permuter` for state the rules cannot see.
* :mod:`~invariance.torch.certify`: :func:`certify` / :func:`assert_equivariant_optimizer`,
  whether any ``torch.optim`` optimizer satisfies P1 (``step(P X) = P step(X)``), as an
  :class:`OptimizerCertificate` with a shrunk counterexample when it does not.
"""

from .certify import (
    OptimizerCertificate,
    OptimizerNotEquivariant,
    assert_equivariant_optimizer,
    certify,
    default_problem,
)
from .monitor import CriticalStepWarning, MonitorRecord, TrainingMonitor, step_statistics
from .relative_sharpness import RelativeSharpness, relative_sharpness, stateless_rule
from .rules import OPTIMIZERS, NeuronLoss, TorchRule, augmented_neurons, torch_rule
from .sharpness_tracker import SharpnessRecord, SharpnessTracker
from .specs import (
    ELEMENTWISE_MODULES,
    NeuronLayer,
    NeuronSpec,
    ParameterAxis,
    conv_spec,
    mlp_spec,
    neuron_spec,
)
from .state import StateNotPermutableError, StatePermutation, register_state_permuter, unregister_state_permuter

__all__ = [
    "ParameterAxis",
    "NeuronLayer",
    "NeuronSpec",
    "StateNotPermutableError",
    "mlp_spec",
    "conv_spec",
    "neuron_spec",
    "ELEMENTWISE_MODULES",
    "NeuronLoss",
    "TorchRule",
    "torch_rule",
    "augmented_neurons",
    "OPTIMIZERS",
    "TrainingMonitor",
    "MonitorRecord",
    "CriticalStepWarning",
    "step_statistics",
    "certify",
    "assert_equivariant_optimizer",
    "OptimizerCertificate",
    "OptimizerNotEquivariant",
    "StatePermutation",
    "register_state_permuter",
    "unregister_state_permuter",
    "default_problem",
    "relative_sharpness",
    "RelativeSharpness",
    "stateless_rule",
    "SharpnessTracker",
    "SharpnessRecord",
]
