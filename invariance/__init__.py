"""invariance: the paper *Topological Invariance and Breakdown in Learning* as executable mathematics."""

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
