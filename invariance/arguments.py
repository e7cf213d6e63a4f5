"""Validation of the arguments every rule, checker and statement shares.

One place decides what a valid step size ``eta``, constant ``K``, time ``t``, seed,
tolerance or collection is, so that bad input gets the same clear exception, naming the
argument, wherever it is passed: ``TypeError`` for the wrong kind of object,
``ValueError`` for a value outside the domain (``eta <= 0``, NaN, inf, ...).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .collections import Collection, FiniteCollection, LazyCollection
from .tolerances import Tolerance, default_tolerance

__all__ = [
    "check_positive",
    "check_eta",
    "check_K",
    "check_int",
    "check_t",
    "check_seed",
    "check_tolerance",
    "check_collection",
]


def check_positive(value: object, name: str, what: str = "a finite number > 0") -> float:
    """``value`` as a float; ``TypeError`` unless a real number, ``ValueError`` unless finite and > 0.

    Example:
        >>> check_positive(0.5, "eta")
        0.5
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return v


def check_eta(eta: object, name: str = "eta") -> float:
    """A step size of eq. (4): a finite number ``> 0``."""
    return check_positive(eta, name, "a finite step size > 0")


def check_K(K: object, name: str = "K") -> float:
    """A constant of P2-K (eq. 5) or P2' (eq. 58): a finite number ``> 0``."""
    return check_positive(K, name, "a finite constant > 0 (P2-K)")


def check_int(value: object, name: str, minimum: int) -> int:
    """An integer ``>= minimum`` (bools refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_t(t: object) -> int:
    """A time step ``t in N`` of eq. (3)."""
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or int(t) < 0:
        raise ValueError(f"t must be a non-negative integer time step, got {t!r}")
    return int(t)


def check_seed(seed: object) -> int:
    """An int seed ``>= 0``; ``None`` draws fresh entropy (to be recorded in a report)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def check_tolerance(tolerance: object, dtype: np.dtype) -> Tolerance:
    """``tolerance`` itself, or the default tolerance of ``dtype`` when ``None``."""
    if tolerance is None:
        return default_tolerance(dtype)
    if not isinstance(tolerance, Tolerance):
        raise TypeError(f"tolerance must be a Tolerance or None, got {type(tolerance).__name__}")
    return tolerance


def check_collection(X: object, name: str = "X") -> Collection:
    """A FiniteCollection, a LazyCollection, or an ``(n, D)`` numeric array (wrapped)."""
    if isinstance(X, (FiniteCollection, LazyCollection)):
        return X
    if isinstance(X, (np.ndarray, list, tuple)):
        try:
            return FiniteCollection(X)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name}: {err}") from None
    raise TypeError(f"{name} must be a FiniteCollection, a LazyCollection or an (n, D) array, got {type(X).__name__}")
