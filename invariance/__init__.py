"""invariance: *Topological Invariance and Breakdown in Learning* as executable mathematics.

The paper's objects are the library's objects:

* collections of neurons ``X in (R^D)^I`` (eq. 3): :class:`FiniteCollection`,
  :class:`LazyCollection` (infinitely many neurons, lazily evaluated), and the norm
  :func:`difference_norm`;
* the finitary permutation group FSym(I): :class:`FinitaryPermutation`;
* update rules ``U^(t)`` with ``x_i <- x_i + eta U_i(X)`` (eq. 4): :class:`UpdateRule`,
  :class:`GradientDescent` on symmetric losses, the stateless optimizers of Section 5.2;
* the properties P1, P2-K, P2', P3 as checkers (:mod:`invariance.properties`) and the
  lemmas and theorems as executable statements (:mod:`invariance.statements`);
* hypothesis strategies to property-test your own rules (:mod:`invariance.strategies`).
"""

from .collections import (
    CircleBase,
    Collection,
    ConstantBase,
    FiniteCollection,
    FunctionBase,
    LazyBase,
    LazyCollection,
    SphereBase,
    TorusBase,
    as_collection,
    difference_norm,
)
from .optimizers import StatelessOptimizer, adam, momentum, sgd
from .permutations import FinitaryPermutation
from .potentials import GaussianPair, HarmonicPair, HuberPair, InteractionPotential, LogCosh, Quadratic
from .rules import (
    AnchoredRule,
    FunctionRule,
    GradientDescent,
    IndexBiasedRule,
    PointwiseRule,
    UpdateRule,
    centering_rule,
)
from .tolerances import Tolerance, default_tolerance

__version__ = "0.1.0"

__all__ = [
    # collections (eq. 3)
    "Collection",
    "FiniteCollection",
    "LazyCollection",
    "LazyBase",
    "FunctionBase",
    "ConstantBase",
    "CircleBase",
    "TorusBase",
    "SphereBase",
    "as_collection",
    "difference_norm",
    # FSym(I)
    "FinitaryPermutation",
    # update rules (eq. 4, Section 5)
    "UpdateRule",
    "FunctionRule",
    "PointwiseRule",
    "GradientDescent",
    "centering_rule",
    "IndexBiasedRule",
    "AnchoredRule",
    "InteractionPotential",
    "Quadratic",
    "LogCosh",
    "HarmonicPair",
    "GaussianPair",
    "HuberPair",
    "StatelessOptimizer",
    "sgd",
    "momentum",
    "adam",
    # tolerances
    "Tolerance",
    "default_tolerance",
]
