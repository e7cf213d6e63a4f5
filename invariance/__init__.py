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

from . import properties, statements, strategies  # noqa: E402  (submodules as attributes)
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
from .properties import (  # noqa: E402
    PropertyReport,
    PropertyViolation,
    altered_continuity_constant,
    assert_altered_continuity,
    assert_continuity,
    assert_equivariant,
    assert_smooth,
    check_altered_continuity,
    check_continuity,
    continuity_constant,
    equivariance_error,
    smoothness_violation,
)
from .rules import (
    AnchoredRule,
    FunctionRule,
    GradientDescent,
    IndexBiasedRule,
    PointwiseRule,
    UpdateRule,
    centering_rule,
)
from .statements import (  # noqa: E402
    StatementViolation,
    assert_bi_lipschitz,
    assert_bijective,
    assert_homeomorphism,
    assert_measure_preserving,
    assert_update_difference_bound,
    assert_well_defined,
    bi_lipschitz_ratios,
    bijectivity,
    continuity_lower_bound,
    homeomorphism,
    induced_map,
    measure_preservation,
    update_difference_ratios,
    well_definedness,
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
    # P1, P2-K, P2', P3 (invariance.properties)
    "PropertyReport",
    "PropertyViolation",
    "equivariance_error",
    "assert_equivariant",
    "continuity_constant",
    "check_continuity",
    "assert_continuity",
    "altered_continuity_constant",
    "check_altered_continuity",
    "assert_altered_continuity",
    "smoothness_violation",
    "assert_smooth",
    # Lemmas 1-5, Theorems 1-2 (invariance.statements)
    "StatementViolation",
    "well_definedness",
    "assert_well_defined",
    "update_difference_ratios",
    "continuity_lower_bound",
    "assert_update_difference_bound",
    "bi_lipschitz_ratios",
    "assert_bi_lipschitz",
    "induced_map",
    "bijectivity",
    "assert_bijective",
    "homeomorphism",
    "assert_homeomorphism",
    "measure_preservation",
    "assert_measure_preserving",
    # submodules
    "properties",
    "statements",
    "strategies",
]
