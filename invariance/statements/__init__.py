"""The paper's statements as executable checks.

Given a rule, a collection and a step size, each check computes the quantities a
statement bounds and says whether the bound holds, returning a frozen result (the
measured quantities, the bounds, the worst case, the tolerance, ``holds``); each has an
``assert_*`` twin raising :class:`StatementViolation` with that result.

| paper | check |
| --- | --- |
| Lemma 1 (eq. 19), coincident neurons stay coincident | :func:`well_definedness` |
| Lemma 4 / 5 (eqs. 20, 59), ``||U_i - U_j|| <= K ||x_i - x_j||`` | :func:`update_difference_ratios` |
| the free lower bound of K from Lemma 4 | :func:`continuity_lower_bound` |
| Lemma 2 (eq. 7), distance ratios in ``[1 - eta K, 1 + eta K]`` | :func:`bi_lipschitz_ratios` |
| eq. (8), the induced map ``U_hat: S^(t) -> S^(t+1)`` | :func:`induced_map` |
| Lemma 3, ``U_hat`` onto; bijective if ``eta K < 1`` | :func:`bijectivity` |
| Theorem 1 (eqs. 30, 31, 39-41) | :func:`homeomorphism`, :func:`step_jacobian` |
| Theorem 2 (eqs. 9, 42-46) | :func:`measure_preservation` |

Finite collections are examined exhaustively; on a lazy collection every check examines
the overrides plus the base indices ``0..window-1`` and says so (``exhaustive=False``).

Example:
    >>> from invariance import FiniteCollection, centering_rule
    >>> from invariance.statements import bi_lipschitz_ratios, bijectivity
    >>> X = FiniteCollection([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> bi_lipschitz_ratios(centering_rule(2.0), X, eta=0.1, K=2.0).holds
    True
    >>> bijectivity(centering_rule(2.0), X, eta=0.5, K=2.0).bijective   # eta = 1/K: all merge
    False
"""

from .bijection import BijectionResult, InducedMap, assert_bijective, bijectivity, induced_map
from .homeomorphism import HomeomorphismResult, assert_homeomorphism, homeomorphism, step_jacobian
from .measure import MeasureResult, assert_measure_preserving, measure_preservation, normalise_weights
from .no_merging import (
    BiLipschitzResult,
    UpdateDifferenceResult,
    assert_bi_lipschitz,
    assert_update_difference_bound,
    bi_lipschitz_ratios,
    continuity_lower_bound,
    update_difference_ratios,
)
from .result import StatementResult, StatementViolation
from .well_definedness import WellDefinednessResult, assert_well_defined, well_definedness

__all__ = [
    "StatementResult",
    "StatementViolation",
    "WellDefinednessResult",
    "well_definedness",
    "assert_well_defined",
    "UpdateDifferenceResult",
    "update_difference_ratios",
    "continuity_lower_bound",
    "assert_update_difference_bound",
    "BiLipschitzResult",
    "bi_lipschitz_ratios",
    "assert_bi_lipschitz",
    "InducedMap",
    "induced_map",
    "BijectionResult",
    "bijectivity",
    "assert_bijective",
    "HomeomorphismResult",
    "homeomorphism",
    "step_jacobian",
    "assert_homeomorphism",
    "MeasureResult",
    "measure_preservation",
    "normalise_weights",
    "assert_measure_preserving",
]
