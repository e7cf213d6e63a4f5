"""Theorem 1: ``U_hat`` is (1 + eta K)-Lipschitz, and a homeomorphism with a
``1/(1 - eta K)``-Lipschitz inverse when ``eta K < 1``; its derivative is invertible.

What is checked, on the finite point set ``S^(t)`` of the examined neurons:

(i)   ``Lip(U_hat) = max_{a != b} ||U_hat(a) - U_hat(b)|| / ||a - b|| <= 1 + eta K``
      (eq. 30), so ``U_hat`` is continuous (and onto, Lemma 3);
(ii)  not checked separately: a finite set is compact, and a continuous surjection from
      a compact space to a Hausdorff space is a quotient map;
(iii) when ``eta K < 1``: ``U_hat`` is one-to-one and
      ``Lip(U_hat^{-1}) = max ||a - b|| / ||U_hat(a) - U_hat(b)|| <= 1/(1 - eta K)``
      (eq. 31). On a finite set any bijection is a homeomorphism of the discrete
      topologies; the Lipschitz bounds are what survives in the continuum limit;
(iv)  optional (``derivative=True``), for a differentiable rule: the derivative of the
      map ``x_i -> x_i + eta U_i(X)`` when neuron ``i`` alone moves,
      ``G_i = I + eta dU_i/dx_i`` (a D x D block, central finite differences), has all
      singular values in ``[1 - eta K, 1 + eta K]`` (eqs. 39-41). This is the derivative
      of ``U_hat`` at ``x_i`` in the paper's open-set setting when moving one neuron does
      not change the others' influence (mean-field rules on lazy collections; on a finite
      collection it is the block that eqs. 39-41 bound, since
      ``||U_i(X + e_i v) - U_i(X)|| <= K ||v||`` by P2-K). Invertibility of ``G_i``
      (``1 - eta K > 0``) is what the inverse function theorem needs for the diffeomorphism.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..collections import Collection, FiniteCollection
from ..rules import UpdateRule
from ..tolerances import Tolerance
from . import _common as c
from .bijection import InducedMap, induced_map
from .result import StatementResult, _raise_unless

__all__ = ["HomeomorphismResult", "homeomorphism", "assert_homeomorphism", "step_jacobian"]


@dataclass(frozen=True, eq=False)
class HomeomorphismResult(StatementResult):
    """Theorem 1 measured on one step.

    Attributes:
        holds: ``U_hat`` is well defined and (i) holds; if ``eta K < 1`` also (iii); if
            the derivative was checked, also (iv).
        premise: ``eta K < 1``.
        eta, K, t: the step and the claimed constant.
        well_defined: ``U_hat`` is a function on ``S^(t)`` (Lemma 1).
        lipschitz: ``Lip(U_hat)`` on the points of ``S^(t)`` (0 for a single point).
        lipschitz_bound: ``1 + eta K``.
        lipschitz_pair: indices ``(i, j)`` of the neurons representing the two points
            attaining ``lipschitz``, or ``None``.
        continuous: (i), ``lipschitz <= lipschitz_bound`` on distances up to ``tolerance``.
        homeomorphism: ``U_hat`` is a bijection of the finite sets (measured, whatever
            ``eta K``).
        inverse_lipschitz: ``Lip(U_hat^{-1})``; ``inf`` when two points merge.
        inverse_lipschitz_bound: ``1/(1 - eta K)``, ``inf`` when ``eta K >= 1``.
        inverse_lipschitz_pair: the pair attaining ``inverse_lipschitz``, or ``None``.
        inverse_continuous: (iii), eq. (31) multiplied out,
            ``(1 - eta K) ||a - b|| <= ||U_hat(a) - U_hat(b)|| + tolerance`` for all points
            ``a != b`` (so distinct points stay distinct, up to what the dtype resolves);
            ``None`` when ``eta K >= 1`` (nothing asserted).
        n_points: number of points of ``S^(t)``.
        tolerance: ``default_tolerance(dtype).bound(scale)`` on distances.
        derivative_checked: whether (iv) was checked.
        derivative_holds: (iv) on the checked neurons (``None`` when not checked).
        singular_value_min, singular_value_max: extreme singular values of the ``G_i``.
        derivative_worst_index: the neuron whose ``G_i`` is farthest outside, or closest
            to the edge of, ``[1 - eta K, 1 + eta K]``.
        derivative_tolerance: allowance for finite-difference error (about half the
            digits: ``atol = sqrt(atol_dtype)``, ``rtol = sqrt(rtol_dtype)``, on the scale
            ``1 + eta K``).
        derivative_indices: the neurons whose ``G_i`` was computed.
        examined, exhaustive, n_examined: the indices examined.
        induced: the :class:`InducedMap` (not shown in ``repr``).
    """

    statement: ClassVar[str] = "Theorem 1 (U_hat continuous; homeomorphism if eta K < 1), eqs. (30), (31), (41)"

    holds: bool
    premise: bool
    eta: float
    K: float
    t: int
    well_defined: bool
    lipschitz: float
    lipschitz_bound: float
    lipschitz_pair: tuple[int, int] | None
    continuous: bool
    homeomorphism: bool
    inverse_lipschitz: float
    inverse_lipschitz_bound: float
    inverse_lipschitz_pair: tuple[int, int] | None
    inverse_continuous: bool | None
    n_points: int
    tolerance: float
    derivative_checked: bool
    derivative_holds: bool | None
    singular_value_min: float
    singular_value_max: float
    derivative_worst_index: int | None
    derivative_tolerance: float
    exhaustive: bool
    n_examined: int
    derivative_indices: tuple[int, ...] = field(repr=False)
    examined: NDArray[np.int64] = field(repr=False)
    induced: InducedMap = field(repr=False)


def step_jacobian(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    i: int,
    eta: float,
    t: int = 0,
    *,
    step: float | None = None,
) -> NDArray[np.float64]:
    """``G_i = I + eta dU_i/dx_i``: the derivative of ``x_i -> x_i + eta U_i(X)`` when
    neuron ``i`` alone moves (eqs. 39-41), by central finite differences.

    Column ``k`` is ``e_k + eta (U_i(X + h e_i e_k) - U_i(X - h e_i e_k)) / (2h)``.

    Args:
        rule: the update rule.
        X: the collection, finite or lazy.
        i: the neuron.
        eta: the step size, ``> 0``.
        t: the time step.
        step: the difference step ``h`` (default ``eps^(1/3) max(1, ||x_i||_inf)``, eps of
            the collection's dtype).

    Returns:
        The ``(D, D)`` float64 matrix ``G_i``.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0], [1.0]])
        >>> # U_0 = -2 (x_0 - (x_0 + x_1)/2) = -(x_0 - x_1): dU_0/dx_0 = -1
        >>> step_jacobian(centering_rule(2.0), X, 0, eta=0.25).round(6).tolist()
        [[0.75]]
    """
    rule = c.check_rule(rule)
    X = c.check_collection(X)
    eta = c.check_eta(eta)
    t = c.check_t(t)
    i = int(i)
    if i < 0 or (isinstance(X, FiniteCollection) and i >= X.n):
        raise ValueError(f"i = {i} is outside the index set of X")
    x = c.entries(X, np.array([i], dtype=np.int64))[0]
    dim = x.size
    if step is None:
        h = float(np.finfo(X.dtype).eps) ** (1.0 / 3.0) * max(1.0, float(np.max(np.abs(x))))
    else:
        h = float(step)
        if not math.isfinite(h) or h <= 0:
            raise ValueError(f"step must be a finite number > 0, got {step!r}")
    G = np.eye(dim)
    for k in range(dim):
        e = np.zeros(dim)
        e[k] = h
        plus = X.with_entries([i], (x + e)[None])
        minus = X.with_entries([i], (x - e)[None])
        # the perturbation actually applied (the dtype may round x +- h e_k)
        hp = c.entries(plus, np.array([i]))[0, k] - c.entries(minus, np.array([i]))[0, k]
        up = c.entries(rule.update(plus, t), np.array([i]))[0]
        um = c.entries(rule.update(minus, t), np.array([i]))[0]
        G[:, k] += eta * (up - um) / hp
    return G


def homeomorphism(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float,
    t: int = 0,
    *,
    derivative: bool = False,
    derivative_indices: Sequence[int] | None = None,
    fd_step: float | None = None,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> HomeomorphismResult:
    """Check Theorem 1 (i), (iii) and optionally (iv) on one step (module docstring: what exactly).

    (i) ``Lip(U_hat) <= 1 + eta K`` on the points of ``S^(t)`` (eq. 30); (iii) when
    ``eta K < 1``, ``U_hat`` is a bijection with ``Lip(U_hat^{-1}) <= 1/(1 - eta K)``
    (eq. 31); (iv) with ``derivative=True``, the singular values of
    ``G_i = I + eta dU_i/dx_i`` lie in ``[1 - eta K, 1 + eta K]`` (eqs. 39-41). Bounds are
    checked on distances with a dtype-aware relative tolerance.

    Args:
        rule: the update rule.
        X: the collection ``X^(t)``, finite or lazy (or an ``(n, D)`` array).
        eta: the step size, ``> 0``.
        K: the claimed P2-K constant, finite and ``> 0``.
        t: the time step.
        derivative: also check (iv) by finite differences (costs ``2 D`` updates per neuron).
        derivative_indices: the neurons for (iv) (default: every examined neuron).
        fd_step: the finite-difference step (see :func:`step_jacobian`).
        indices, window: the examined indices (see :func:`~invariance.statements.induced_map`).

    Returns:
        A :class:`HomeomorphismResult`.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> X = FiniteCollection([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
        >>> r = homeomorphism(centering_rule(1.0), X, eta=0.5, K=1.0, derivative=True)
        >>> r.holds, r.homeomorphism, round(r.lipschitz, 9), round(r.inverse_lipschitz, 9)
        (True, True, 0.5, 2.0)
        >>> homeomorphism(centering_rule(1.0), X, eta=1.0, K=1.0).homeomorphism   # critical point
        False
    """
    K = c.check_K(K)
    f = induced_map(rule, X, eta, t, K=K, indices=indices, window=window)
    rule = c.check_rule(rule)
    X = c.check_collection(X)
    eta, t = f.eta, f.t
    premise = eta * K < 1
    upper = 1.0 + eta * K
    lower = 1.0 - eta * K
    tol = c.tolerance_for(X)
    tolerance = tol.bound(max(c.max_norm(f.before), c.max_norm(f.after)))
    reps = np.unique(f.labels_before, return_index=True)[1]
    rep_idx = f.examined[reps]
    a_pts = f.points_before
    b_pts = f.after[reps]  # U_hat(a), read off each representative
    d = c.pair_distances(a_pts)
    d2 = c.pair_distances(b_pts)
    p = int(a_pts.shape[0])

    def pair(k: int) -> tuple[int, int]:
        a, b = c.condensed_pair(k, p)
        return int(rep_idx[a]), int(rep_idx[b])

    if d.size:
        ratio = d2 / d
        k = int(np.argmax(ratio))
        lip, lip_pair = float(ratio[k]), pair(k)
        continuous = bool(np.all(d2 <= upper * d + tolerance))
    else:
        lip, lip_pair, continuous = 0.0, None, True
    injective = f.injective
    bij = f.bijective
    if not injective:
        # two points of S^(t) with one image: the inverse does not exist (infinite Lipschitz constant)
        a, b = f.merged_atoms[0][:2]
        inv, inv_pair = math.inf, (int(rep_idx[a]), int(rep_idx[b]))
    elif d.size:
        inv_ratio = d / d2
        k = int(np.argmax(inv_ratio))
        inv, inv_pair = float(inv_ratio[k]), pair(k)
    else:
        inv, inv_pair = 0.0, None
    inv_bound = 1.0 / lower if premise else math.inf
    inverse_continuous: bool | None = None
    if premise:
        # eq. (31) without division: (1 - eta K) ||a - b|| <= ||U_hat(a) - U_hat(b)|| (+ tolerance)
        inverse_continuous = bool(np.all(lower * d <= d2 + tolerance))

    # (iv)
    d_tol_obj = Tolerance(atol=math.sqrt(tol.atol), rtol=math.sqrt(tol.rtol))
    d_tolerance = d_tol_obj.bound(upper)
    deriv_idx: tuple[int, ...] = ()
    s_min, s_max, worst_i, d_holds = math.nan, math.nan, None, None
    if derivative:
        if derivative_indices is None:
            chosen = f.examined
        else:
            chosen, _ = c.examined_indices(X, derivative_indices, window)
        deriv_idx = tuple(int(i) for i in chosen)
        worst_margin = math.inf
        s_min, s_max = math.inf, -math.inf
        for i in deriv_idx:
            sv = np.linalg.svd(step_jacobian(rule, X, i, eta, t, step=fd_step), compute_uv=False)
            s_min, s_max = min(s_min, float(sv.min())), max(s_max, float(sv.max()))
            margin = min(float(sv.min()) - lower, upper - float(sv.max()))
            if margin < worst_margin:
                worst_margin, worst_i = margin, i
        d_holds = worst_margin >= -d_tolerance
    holds = f.well_defined and continuous and inverse_continuous is not False and d_holds is not False
    return HomeomorphismResult(
        holds=bool(holds),
        premise=bool(premise),
        eta=eta,
        K=K,
        t=t,
        well_defined=f.well_defined,
        lipschitz=lip,
        lipschitz_bound=upper,
        lipschitz_pair=lip_pair,
        continuous=continuous,
        homeomorphism=bool(bij),
        inverse_lipschitz=inv,
        inverse_lipschitz_bound=inv_bound,
        inverse_lipschitz_pair=inv_pair,
        inverse_continuous=inverse_continuous,
        n_points=p,
        tolerance=tolerance,
        derivative_checked=bool(derivative),
        derivative_holds=d_holds,
        singular_value_min=s_min,
        singular_value_max=s_max,
        derivative_worst_index=worst_i,
        derivative_tolerance=d_tolerance,
        exhaustive=f.exhaustive,
        n_examined=int(f.examined.size),
        derivative_indices=deriv_idx,
        examined=f.examined,
        induced=f,
    )


def assert_homeomorphism(
    rule: UpdateRule,
    X: Collection | ArrayLike,
    eta: float,
    K: float,
    t: int = 0,
    *,
    derivative: bool = False,
    derivative_indices: Sequence[int] | None = None,
    fd_step: float | None = None,
    indices: Sequence[int] | None = None,
    window: int = c.DEFAULT_WINDOW,
) -> HomeomorphismResult:
    """Assert Theorem 1 (see :func:`homeomorphism`); return the result if it holds.

    Args:
        the same as :func:`homeomorphism`.

    Returns:
        The :class:`HomeomorphismResult` (it holds).

    Raises:
        StatementViolation: a bound of (i), (iii) or (iv) fails; the message shows the result.

    Example:
        >>> from invariance import FiniteCollection, centering_rule
        >>> assert_homeomorphism(centering_rule(1.0), FiniteCollection([[0.0], [2.0]]), eta=0.5, K=1.0).lipschitz
        0.5
    """
    return _raise_unless(
        homeomorphism(
            rule,
            X,
            eta,
            K,
            t,
            derivative=derivative,
            derivative_indices=derivative_indices,
            fd_step=fd_step,
            indices=indices,
            window=window,
        )
    )
