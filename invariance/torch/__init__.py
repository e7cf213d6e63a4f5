"""The torch layer: neurons of real models, torch update rules, optimizer certification.

Importing this package imports torch; ``import invariance`` does not.

* :mod:`~invariance.torch.specs`: :class:`NeuronSpec` (which parameter slices form neuron
  ``i``), :func:`mlp_spec`, :func:`conv_spec`, :func:`neuron_spec`; extraction of the
  neuron collection and permutation of a model together with its optimizer's state.
"""

from .specs import (
    ELEMENTWISE_MODULES,
    NeuronLayer,
    NeuronSpec,
    ParameterAxis,
    StateNotPermutableError,
    conv_spec,
    mlp_spec,
    neuron_spec,
)

__all__ = [
    "ParameterAxis",
    "NeuronLayer",
    "NeuronSpec",
    "StateNotPermutableError",
    "mlp_spec",
    "conv_spec",
    "neuron_spec",
    "ELEMENTWISE_MODULES",
]
