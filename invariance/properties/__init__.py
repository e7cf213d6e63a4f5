"""The properties of Section 3 and Appendix D as checkers (the chex / e3nn pattern).

Every check exists twice: a *measure* that returns a frozen :class:`PropertyReport`
(verdict, worst value, tolerance, counterexample, seed, trials, details), and an
``assert_*`` twin that raises :class:`PropertyViolation` carrying that report.

* P1, equivariance ``P U(X) = U(P X)``: :func:`equivariance_error`,
  :func:`assert_equivariant`;
* P2-K, K-continuity ``||U(X) - U(Y)|| <= K ||X - Y||`` (eq. 5):
  :func:`continuity_constant` (a lower estimate of the smallest K),
  :func:`check_continuity`, :func:`assert_continuity`;
* P2', altered continuity ``sup_i ||U_i(X) - U_i(Y)|| <= K/2 ||X - Y||`` (eq. 58):
  :func:`altered_continuity_constant`, :func:`check_altered_continuity`,
  :func:`assert_altered_continuity`;
* P3, smoothness (eq. 6): :func:`smoothness_violation` (alias :func:`check_smoothness`),
  :func:`assert_smooth`.
"""

from .continuity import (
    altered_continuity_constant,
    assert_altered_continuity,
    assert_continuity,
    check_altered_continuity,
    check_continuity,
    continuity_constant,
)
from .equivariance import assert_equivariant, equivariance_error
from .report import PropertyReport, PropertyViolation
from .smoothness import assert_smooth, check_smoothness, smoothness_violation

__all__ = [
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
    "check_smoothness",
    "assert_smooth",
]
