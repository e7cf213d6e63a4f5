"""Extreme eigenvalues of a symmetric operator from few products, with an error bound that uses the gap.

Every sharpness the library reports (``lambda_max`` of the loss Hessian, the relative sharpness of
the neurons, the norm of a rule's Jacobian) is an extreme eigenvalue of a symmetric linear operator
``A`` that is only available through products ``v -> A v``, each costing about two gradients.
This module computes it by the **Rayleigh-Ritz procedure on a growing Krylov space**: an orthonormal
basis ``Q = [q_1, ..., q_m]`` and the products ``W = A Q`` are kept, the projected matrix
``T = Q^T A Q`` is diagonalised, ``T s = theta s``, and the Ritz pair ``(theta, y = Q s)`` has the
exact residual ``r = ||W s - theta Q s||`` (no recurrence, so no loss of accuracy). The next basis
vector is the residual of the targeted Ritz pair, orthogonalised twice against ``Q``. From one start
vector this *is* the Lanczos iteration with full reorthogonalisation (every Ritz residual of
``K_m(A, q_1)`` is parallel to the next Lanczos vector); from a block of start vectors (the previous
estimate's Ritz vectors, when a quantity is tracked through training) it is a block
Rayleigh-Ritz expansion that keeps what the block already knows.

**Bounds.** The Ritz values lie in ``[lambda_min, lambda_max]`` (Cauchy interlacing), so
``theta_1 <= lambda_max`` always: that side is rigorous. For the other side, Kato-Temple's inequality
(Parlett, *The Symmetric Eigenvalue Problem*, Thm. 10.6.1) gives, for a Rayleigh quotient
``theta_1`` with residual ``r_1`` and any ``alpha`` with ``lambda_2 <= alpha < theta_1``,

    lambda_max - theta_1  <=  r_1^2 / (theta_1 - alpha),

which is quadratic in the residual, where the classical stop ``r_1 <= tol |theta_1|`` is linear and
so costs the extra products that bring ``r_1`` down to ``tol |theta_1|``. The gap ``theta_1 - alpha``
is **estimated from the Ritz values**: ``alpha = theta_2`` (the second Ritz value), or the
``gap_hint`` of a previous estimate if that is smaller. Interlacing gives ``theta_2 <= lambda_2``, so
the estimate is exact only once the second Ritz value has converged; before that the bound can be
optimistic. The reported ``error_bound`` is ``min(r_1, r_1^2 / gap)``, stated as such in every
result. :func:`extreme_eigenvalue` stops when ``error_bound <= tol * |theta_1|``.

For ``which="magnitude"`` (the operator norm ``max(|lambda_max|, |lambda_min|)``) both ends are
bounded the same way, ``max |theta|`` is a rigorous lower bound of the norm and
``max(theta_1 + b_1, b_m - theta_m)`` the upper one; it stops when they agree to ``tol``.

torch is imported inside the functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .arguments import check_int, check_positive, check_seed

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["RitzEstimate", "extreme_eigenvalue", "gap_error_bound"]

#: Which end of the spectrum :func:`extreme_eigenvalue` estimates.
WHICH = ("largest", "magnitude")


def gap_error_bound(residual: float, gap: float) -> float:
    """``min(r, r^2/gap)``: the Kato-Temple error of a Ritz value with residual ``r`` (``gap <= 0``: ``r``).

    Example:
        >>> gap_error_bound(1e-3, 0.5)
        2e-06
        >>> gap_error_bound(1e-3, 0.0)
        0.001
    """
    r = float(residual)
    if not gap > 0 or not math.isfinite(gap):
        return r
    return min(r, r * r / float(gap))


@dataclass(frozen=True)
class RitzEstimate:
    """An extreme eigenvalue of a symmetric operator and how well it is known.

    Attributes:
        value: the estimate: ``theta_1`` (``which="largest"``) or ``max(|theta_1|, |theta_m|)``
            (``"magnitude"``). It is a rigorous *lower* bound of the true value.
        error_bound: ``upper - value``, from ``min(r, r^2/gap)`` at the end(s) that matter
            (Kato-Temple with the gap estimated from the Ritz values; see the module docstring).
        upper: ``value + error_bound``.
        residual: ``||A y - theta y||`` of the Ritz pair that gives ``value``.
        gap: the estimated gap used for the bound at that end (``0``: unknown, the bound is ``r``).
        n_products: products ``v -> A v`` used.
        converged: ``error_bound <= tol * value``.
        which: ``"largest"`` or ``"magnitude"``.
        end: ``"top"`` or ``"bottom"``: the end of the spectrum that gives ``value``.
        ritz_values: every Ritz value of the final space, descending.
        vectors: the top Ritz vectors (rows; and the bottom ones for ``"magnitude"``) as a torch
            tensor, unit norm: the warm start of the next estimate.
        history: ``value`` after each product.
    """

    value: float
    error_bound: float
    upper: float
    residual: float
    gap: float
    n_products: int
    converged: bool
    which: str
    end: str
    ritz_values: tuple[float, ...] = field(repr=False)
    vectors: Any = field(repr=False, compare=False)
    history: tuple[float, ...] = field(default=(), repr=False, compare=False)

    @property
    def second(self) -> float:
        """The Ritz value next to the extreme one (the gap's other side; NaN with one Ritz value)."""
        vals = self.ritz_values
        if len(vals) < 2:
            return math.nan
        return vals[1] if self.end == "top" else vals[-2]


def _orthonormalise(block: Any, eps: float) -> Any:
    """Rows of ``block`` made orthonormal (modified Gram-Schmidt, twice); dependent rows dropped."""
    import torch

    rows: list[torch.Tensor] = []
    for v in block:
        w = v.clone()
        for _ in range(2):
            for q in rows:
                w = w - (q @ w) * q
        n = float(torch.linalg.vector_norm(w))
        if n > eps * max(float(torch.linalg.vector_norm(v)), 1e-300):
            rows.append(w / n)
    return rows


def extreme_eigenvalue(
    matvec: Callable[[Any], Any],
    dim: int,
    *,
    like: Any,
    which: str = "largest",
    tol: float = 1e-4,
    max_products: int = 200,
    seed: int = 0,
    start: Any = None,
    gap_hint: float | None = None,
    keep: int = 2,
    project: Callable[[Any], Any] | None = None,
    min_products: int = 1,
) -> RitzEstimate:
    """The largest eigenvalue (or the norm) of a symmetric operator by Krylov Rayleigh-Ritz.

    Math: with ``Q`` orthonormal and ``W = A Q``, the Ritz pairs of ``T = Q^T W`` approximate the
    eigenpairs of ``A``; ``theta_1 <= lambda_max``, and ``lambda_max - theta_1 <= r_1^2 / gap``
    (Kato-Temple) with ``gap = theta_1 - theta_2`` estimated from the Ritz values (module docstring).

    Args:
        matvec: ``v -> A v`` on flat torch vectors of length ``dim`` (``A`` symmetric).
        dim: the dimension, ``>= 1``.
        like: a tensor whose dtype and device the vectors take.
        which: ``"largest"`` (``lambda_max``) or ``"magnitude"`` (``max |lambda|``, the norm).
        tol: relative accuracy ``> 0`` of the stop ``error_bound <= tol * value``.
        max_products: the most products, ``>= 1``.
        seed: seed of the Gaussian start vector (used when ``start`` is None).
        start: a vector (``dim``) or a block of rows (``k x dim``): the warm start.
        gap_hint: a previous estimate of the gap; the bound uses ``min(theta_1 - theta_2, gap_hint)``.
        keep: Ritz vectors kept per end in the result (the next warm start).
        project: an orthogonal projector applied to start vectors (the operator's domain, when it
            is a compression ``P A P``).
        min_products: do not stop before this many products (a warm start that is an eigenvector
            of a *lower* eigenvalue has a tiny residual too: a few expansions let the top one show).

    Returns:
        A :class:`RitzEstimate`.

    Example:
        >>> import torch
        >>> A = torch.diag(torch.tensor([-5.0, 1.0, 2.0, 3.0], dtype=torch.float64))
        >>> est = extreme_eigenvalue(lambda v: A @ v, 4, like=A, tol=1e-10)
        >>> round(est.value, 8), est.converged
        (3.0, True)
        >>> round(extreme_eigenvalue(lambda v: A @ v, 4, like=A, which="magnitude", tol=1e-10).value, 8)
        5.0
    """
    import torch

    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")
    dim = check_int(dim, "dim", 1)
    tol = check_positive(tol, "tol")
    max_products = check_int(max_products, "max_products", 1)
    seed = check_seed(seed)
    keep = check_int(keep, "keep", 1)
    if gap_hint is not None and not (isinstance(gap_hint, (int, float)) and gap_hint > 0):
        gap_hint = None
    dtype, device = like.dtype, like.device
    eps = float(torch.finfo(dtype).eps)
    if start is None:
        g = np.random.default_rng(seed).standard_normal(dim)
        block = torch.as_tensor(g, dtype=dtype, device=device).reshape(1, dim)
    else:
        block = torch.as_tensor(start, dtype=dtype, device=device)
        if block.ndim == 1:
            block = block.reshape(1, -1)
        if block.ndim != 2 or block.shape[1] != dim:
            raise ValueError(f"start must be a vector of length {dim} or a block of rows k x {dim}, "
                             f"got shape {tuple(block.shape)}")
        if not bool(torch.isfinite(block).all()):
            raise ValueError("start holds NaN or inf")
    if project is not None:
        block = torch.stack([project(v) for v in block])
    Q = _orthonormalise(block, 1e3 * eps)
    if not Q:
        g = np.random.default_rng(seed).standard_normal(dim)
        v = torch.as_tensor(g, dtype=dtype, device=device)
        Q = _orthonormalise((project(v) if project is not None else v).reshape(1, dim), 1e3 * eps)
        if not Q:
            raise ValueError("the start vector is zero in the operator's domain")
    Q = Q[: max_products]
    W: list[torch.Tensor] = []
    history: list[float] = []
    n_products = 0
    T = np.zeros((0, 0))

    def product(q: torch.Tensor) -> torch.Tensor:
        w = matvec(q)
        if not isinstance(w, torch.Tensor) or w.shape != q.shape:
            raise ValueError(f"matvec must return a vector of length {dim}")
        if not bool(torch.isfinite(w).all()):
            raise FloatingPointError("the operator returned NaN or inf (the loss or the rule is not finite here)")
        return w

    def grow_T(T: np.ndarray, Qs: list[torch.Tensor], Ws: list[torch.Tensor]) -> np.ndarray:
        m_old, m = T.shape[0], len(Ws)
        Tn = np.zeros((m, m))
        Tn[:m_old, :m_old] = T
        Qm, Wm = torch.stack(Qs[:m]), torch.stack(Ws[m_old:m])
        cross = (Qm @ Wm.T).cpu().numpy()  # (m, m - m_old): q_i . w_j for the new columns
        Tn[:, m_old:] = cross
        Tn[m_old:, :] = cross.T
        Tn[m_old:, m_old:] = 0.5 * (cross[m_old:, :] + cross[m_old:, :].T)
        return Tn

    while True:
        while len(W) < len(Q):
            W.append(product(Q[len(W)]))
            n_products += 1
        T = grow_T(T, Q, W)
        evals, evecs = np.linalg.eigh(T)
        order = np.argsort(evals)[::-1]
        evals, evecs = evals[order], evecs[:, order]
        m = len(evals)
        Qm, Wm = torch.stack(Q), torch.stack(W)
        ends = [0] if which == "largest" else sorted({0, m - 1})
        info: dict[int, tuple[float, float, torch.Tensor]] = {}
        for k in ends:
            s = torch.as_tensor(evecs[:, k], dtype=dtype, device=device)
            y = s @ Qm
            res = s @ Wm - float(evals[k]) * y
            r = float(torch.linalg.vector_norm(res))
            if m >= 2:
                gap = float(evals[0] - evals[1]) if k == 0 else float(evals[m - 2] - evals[m - 1])
            else:
                gap = 0.0
            if gap_hint is not None:
                gap = min(gap, gap_hint) if gap > 0 else gap_hint
            info[k] = (r, gap, res)
        r_top, gap_top, _ = info[0]
        b_top = gap_error_bound(r_top, gap_top)
        if which == "largest":
            value, upper, end, residual, gap = float(evals[0]), float(evals[0]) + b_top, "top", r_top, gap_top
            worst = 0
        else:
            r_bot, gap_bot, _ = info[m - 1]
            b_bot = gap_error_bound(r_bot, gap_bot)
            up_top, up_bot = float(evals[0]) + b_top, b_bot - float(evals[m - 1])
            top_is_value = abs(float(evals[0])) >= abs(float(evals[m - 1]))
            value = max(abs(float(evals[0])), abs(float(evals[m - 1])))
            upper = max(up_top, up_bot, value)
            end = "top" if top_is_value else "bottom"
            residual, gap = (r_top, gap_top) if top_is_value else (r_bot, gap_bot)
            worst = 0 if up_top >= up_bot else m - 1
        history.append(value)
        scale = max(abs(value), 1e-300)
        converged = upper - value <= tol * scale
        exhausted = m >= dim
        if (converged and n_products >= min_products) or exhausted or n_products >= max_products:
            break
        nxt = info[worst][2]
        if project is not None:
            nxt = project(nxt)
        for _ in range(2):
            nxt = nxt - (nxt @ Qm.T) @ Qm
        nn = float(torch.linalg.vector_norm(nxt))
        if nn <= 1e3 * eps * max(abs(value), 1e-300) or nn == 0.0:
            # invariant subspace: the Ritz values are eigenvalues of A restricted to what the start reaches
            upper, converged = value, True
            break
        Q.append(nxt / nn)
    kept = []
    for k in list(range(min(keep, m))) + (list(range(max(m - keep, keep), m)) if which == "magnitude" else []):
        y = torch.as_tensor(evecs[:, k], dtype=dtype, device=device) @ Qm  # Qm: the basis of the final space
        kept.append(y / torch.linalg.vector_norm(y))
    return RitzEstimate(value=value, error_bound=max(upper - value, 0.0), upper=upper, residual=residual,
                        gap=gap, n_products=n_products, converged=bool(converged or m >= dim), which=which,
                        end=end, ritz_values=tuple(float(e) for e in evals), vectors=torch.stack(kept),
                        history=tuple(history))
