"""invariance.symbolic: the optimizers of Section 5 as sympy derivations.

* :mod:`~invariance.symbolic.optimizer` -- an optimizer as update equations over one
  neuron's state (:class:`SymbolicOptimizer`); GD, heavy ball, Nesterov, RMSprop, Adam
  in ``torch.optim``'s conventions.
* :mod:`~invariance.symbolic.stateless` -- the stateless form ``x^(t+1) = x^(t) + eta U^(t)(X)``
  on augmented particles (Section 5.2), derived automatically (:func:`stateless_form`).
* :mod:`~invariance.symbolic.equivalence` -- the stateless form reproduces the optimizer:
  induction step at symbolic ``t`` and the first steps unrolled (:func:`check_equivalence`).
* :mod:`~invariance.symbolic.eq16` -- the printed eq. (16) decided against Adam
  (:func:`eq16_finding`): it is **not** ``torch.optim.Adam``; its parameter row uses the old
  moments with exponent ``t`` (undefined at ``t = 0``), and it is Adam only after re-indexing
  (``t`` from 1 and the updated moments in the parameter row). The ``P v_{P(i)}`` of
  eqs. (53)-(55) is a harmless typo.
* :mod:`~invariance.symbolic.losses` and :mod:`~invariance.symbolic.equivariance` --
  Propositions 1 and 3 by simplification to zero for every transposition
  (:func:`symbolic_equivariance`), with non-symmetric losses as negative controls.
* :mod:`~invariance.symbolic.smoothness` -- Proposition 2 and the Remark: ``K`` from the
  Hessian, ``eta* = 1/K`` and the stability bound ``2/K`` (eqs. 12-15).
* :mod:`~invariance.symbolic.codegen` -- ``lambdify`` to numpy / torch (:func:`lambdify_form`).

sympy is imported only here: ``import invariance`` stays free of it.

Example:
    >>> from invariance.symbolic import adam, stateless_form, check_equivalence, eq16_finding
    >>> check_equivalence(adam(), stateless_form(adam())).holds
    True
    >>> eq16_finding().equals_adam
    False
"""

from .codegen import NumericStatelessForm, lambdify_form
from .eq16 import Eq16Finding, eq16_finding, printed_eq16
from .equivalence import EquivalenceResult, assert_equivalent, check_equivalence
from .equivariance import SymbolicEquivarianceResult, assert_symbolic_equivariance, symbolic_equivariance
from .losses import (
    SymbolicLoss,
    interaction_loss,
    ordered_pair_loss,
    power_sum_loss,
    quadratic_loss,
    sigmoid_pair_loss,
    weighted_loss,
)
from .optimizer import ETA, GRAD, THETA, SymbolicOptimizer, T, adam, gradient_descent, heavy_ball, nesterov, rmsprop
from .smoothness import SmoothnessResult, StepSizeResult, hessian_constant, sigmoid_pair_constant, step_sizes
from .stateless import StatelessForm, stateless_form

__all__ = [
    "THETA",
    "GRAD",
    "T",
    "ETA",
    "SymbolicOptimizer",
    "gradient_descent",
    "heavy_ball",
    "nesterov",
    "rmsprop",
    "adam",
    "StatelessForm",
    "stateless_form",
    "EquivalenceResult",
    "check_equivalence",
    "assert_equivalent",
    "printed_eq16",
    "Eq16Finding",
    "eq16_finding",
    "SymbolicLoss",
    "interaction_loss",
    "power_sum_loss",
    "ordered_pair_loss",
    "weighted_loss",
    "quadratic_loss",
    "sigmoid_pair_loss",
    "SymbolicEquivarianceResult",
    "symbolic_equivariance",
    "assert_symbolic_equivariance",
    "SmoothnessResult",
    "StepSizeResult",
    "hessian_constant",
    "sigmoid_pair_constant",
    "step_sizes",
    "NumericStatelessForm",
    "lambdify_form",
]
