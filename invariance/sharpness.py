"""Sharpness ``lambda_max`` of the loss Hessian and the critical step sizes (Sec. 4.1, 6, App. C).

For gradient descent on a loss ``L``, the constant ``K`` of P2-K is the largest
eigenvalue of the Hessian of ``L`` on the region visited (the smoothness constant), and
Theorem 1 holds below the *topological critical point* ``eta* = 1/K``; the
edge-of-stability threshold ``2/eta`` of classical GD stability sits beside it
(``eta < 2/lambda_max``). This module computes

    lambda_max = max_{||v|| = 1} v^T H v,    H = d^2 L / d theta^2,

full-batch and deterministically, from Hessian-vector products ``v -> H v`` (double
backward: one gradient with ``create_graph=True``, then one backward pass per product)
and the Lanczos iteration with full reorthogonalisation. The Ritz pair ``(theta, y)``
has residual ``||H y - theta y||``, and some eigenvalue of ``H`` lies within that residual
of ``theta``: iteration stops when ``residual <= tol * |theta|`` (relative accuracy
``tol``). ``lambda_max`` is the largest *algebraic* eigenvalue: negative eigenvalues of
larger magnitude (saddles) do not take its place, as they do for power iteration.

torch is imported inside the functions (``import invariance`` stays light).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from .arguments import check_int, check_positive, check_seed

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["SharpnessResult", "critical_points", "hessian_vector_product", "hessian_operator", "sharpness",
           "power_iteration"]


def critical_points(lambda_max: float) -> tuple[float, float]:
    """``(eta*, 2/lambda_max)``: the topological critical point ``1/K`` with ``K = lambda_max``
    (Theorem 1) and the edge of stability. ``inf`` for ``lambda_max <= 0``.

    Example:
        >>> critical_points(4.0)
        (0.25, 0.5)
    """
    lam = float(lambda_max)
    if not math.isfinite(lam):
        raise ValueError(f"lambda_max must be finite, got {lambda_max!r}")
    if lam <= 0:
        return math.inf, math.inf
    return 1.0 / lam, 2.0 / lam


@dataclass(frozen=True)
class SharpnessResult:
    """The top Hessian eigenvalue and how it was obtained.

    Attributes:
        eigenvalue: ``lambda_max`` (the Ritz value).
        residual: ``||H v - lambda v||`` for the unit Ritz vector ``v`` (recomputed with one
            extra product when ``verify``); some eigenvalue lies within it of ``lambda``.
        n_hvp: Hessian-vector products used (including the verification).
        converged: ``error_bound <= tol * |eigenvalue|``.
        eta_star: ``1/lambda_max`` (``inf`` when ``lambda_max <= 0``).
        edge_of_stability: ``2/lambda_max``.
        method: ``"lanczos"`` or ``"power"``.
        seed: seed of the start vector.
        seconds: wall time.
        eigenvector: the unit Ritz vector, flattened over the parameters (numpy).
        history: the estimate of ``lambda_max`` after each product (top Ritz value, or the
            Rayleigh quotient for power iteration).
        error_bound: ``min(r, r^2/gap)`` (Kato-Temple, gap estimated from the Ritz values):
            ``eigenvalue <= lambda_max <= eigenvalue + error_bound`` once ``theta_2`` has converged.
        gap: the estimated gap ``theta_1 - theta_2`` used (0: unknown).
        ritz_values: the Ritz values of the final Krylov space, descending.
        ritz_vectors: the top Ritz vectors (rows, numpy): the warm start of a next estimate.
    """

    eigenvalue: float
    residual: float
    n_hvp: int
    converged: bool
    eta_star: float
    edge_of_stability: float
    method: str
    seed: int
    seconds: float = field(compare=False)
    eigenvector: np.ndarray = field(repr=False, compare=False)
    history: tuple[float, ...] = field(default=(), repr=False, compare=False)
    error_bound: float = math.nan
    gap: float = math.nan
    ritz_values: tuple[float, ...] = field(default=(), repr=False, compare=False)
    ritz_vectors: Any = field(default=None, repr=False, compare=False)


def hessian_vector_product(loss_fn: Callable[[], Any], params: Sequence[Any],
                           masks: Sequence[Any] | None = None) -> tuple[Callable[[Any], Any], int]:
    """The operator ``v -> H v`` on flat vectors, by double backward, and its dimension.

    The gradient graph is built once (one forward and backward pass); each product is one
    more backward pass. With ``masks`` (0/1 tensors shaped like the parameters) the
    operator is ``M H M``: the Hessian restricted to a subset of the parameters, e.g. some
    neurons' rows.

    Args:
        loss_fn: ``() -> scalar tensor``, the full-batch loss of the current parameters.
        params: the tensors differentiated against (``requires_grad=True``).
        masks: optional 0/1 tensors, one per parameter.

    Returns:
        ``(hvp, dim)``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        >>> hvp, dim = hessian_vector_product(lambda: (w ** 3).sum(), [w])
        >>> hvp(torch.tensor([1.0, 0.0], dtype=torch.float64)).tolist(), dim
        ([6.0, 0.0], 2)
    """
    import torch

    params = list(params)
    if not params:
        raise ValueError("params must hold at least one tensor")
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor) or not p.requires_grad:
            raise TypeError(f"params[{i}] must be a torch tensor with requires_grad=True")
    if masks is not None:
        masks = [None if m is None else torch.as_tensor(m, dtype=p.dtype, device=p.device) for m, p in
                 zip(masks, params)]
        if len(masks) != len(params):
            raise ValueError(f"masks has {len(masks)} entries for {len(params)} params")
    loss = loss_fn()
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise TypeError("loss_fn must return a scalar tensor")
    grads = torch.autograd.grad(loss, params, create_graph=True)
    sizes = [p.numel() for p in params]
    dim = int(sum(sizes))

    def hvp(v: torch.Tensor) -> torch.Tensor:
        parts = list(torch.split(v, sizes))
        vs = [part.view_as(p) for part, p in zip(parts, params)]
        if masks is not None:
            vs = [x if m is None else x * m for x, m in zip(vs, masks)]
        hv = torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True, allow_unused=True)
        out = [torch.zeros_like(p) if h is None else h for h, p in zip(hv, params)]
        if masks is not None:
            out = [h if m is None else h * m for h, m in zip(out, masks)]
        return torch.cat([h.reshape(-1) for h in out]).detach()

    hvp.gradient = torch.cat([g.reshape(-1) for g in grads]).detach()  # type: ignore[attr-defined]
    return hvp, dim


def hessian_operator(loss_fn: Callable[[], Any], params: Sequence[Any],
                     masks: Sequence[Any] | None = None) -> Any:
    """The Hessian as a ``scipy.sparse.linalg.LinearOperator`` (float64 numpy in and out), for ``eigsh`` & co.

    ``H = d^2 L / d theta^2`` over the flattened ``params`` (``M H M`` with ``masks``); each
    ``matvec`` is one Hessian-vector product by double backward (:func:`hessian_vector_product`),
    counted in the operator's ``n_products`` attribute. The operator is symmetric, so ``rmatvec``
    is ``matvec``.

    Example:
        >>> import torch
        >>> from scipy.sparse.linalg import eigsh
        >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        >>> H = hessian_operator(lambda: (w ** 3).sum(), [w])
        >>> H.shape, round(float(eigsh(H, k=1, which="LA")[0][0]), 6), H.n_products > 0
        ((2, 2), 12.0, True)
    """
    import torch
    from scipy.sparse.linalg import LinearOperator

    hvp, dim = hessian_vector_product(loss_fn, params, masks)
    like = params[0]

    class _Hessian(LinearOperator):
        def __init__(self) -> None:
            super().__init__(dtype=np.float64, shape=(dim, dim))
            self.n_products = 0

        def _matvec(self, x: np.ndarray) -> np.ndarray:
            self.n_products += 1
            v = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1), dtype=like.dtype, device=like.device)
            return hvp(v).to(torch.float64).cpu().numpy()

        def _rmatvec(self, x: np.ndarray) -> np.ndarray:
            return self._matvec(x)

    return _Hessian()


def _start_block(start: Any, gradient: Any, seed: int, project: Callable[[Any], Any] | None) -> Any:
    """The start vector(s) of :func:`sharpness`: ``"gradient"``, ``"random"`` or the given block."""
    import torch

    if not isinstance(start, str):
        return start
    if start not in ("gradient", "random"):
        raise ValueError(f"start must be 'gradient', 'random', a vector or a block of vectors, got {start!r}")
    z = _start(gradient.numel(), seed, gradient)
    g = gradient if project is None else project(gradient)
    gn = float(torch.linalg.vector_norm(g))
    if start == "random" or not (math.isfinite(gn) and gn > 0):
        return z
    return g / gn + z


def _start(dim: int, seed: int, like: Any) -> Any:
    import torch

    g = np.random.default_rng(seed).standard_normal(dim)
    v = torch.as_tensor(g, dtype=like.dtype, device=like.device)
    return v / torch.linalg.vector_norm(v)


def sharpness(
    loss_fn: Callable[[], Any],
    params: Sequence[Any],
    *,
    tol: float = 1e-4,
    max_hvp: int = 200,
    seed: int = 0,
    masks: Sequence[Any] | None = None,
    verify: bool = False,
    start: Any = "gradient",
    gap_hint: float | None = None,
    min_hvp: int = 1,
) -> SharpnessResult:
    """``lambda_max`` of the Hessian of ``loss_fn`` w.r.t. ``params``, stopped on a gap-based error bound.

    Krylov Rayleigh-Ritz (:func:`invariance.krylov.extreme_eigenvalue`; from one start vector
    this is Lanczos with full reorthogonalisation): the top Ritz pair ``(theta_1, y)`` of the
    Krylov space has the exact residual ``r = ||H y - theta_1 y||``; ``theta_1 <= lambda_max``, and
    Kato-Temple bounds ``lambda_max - theta_1 <= r^2 / gap`` with ``gap = theta_1 - theta_2``
    estimated from the Ritz values (or ``gap_hint`` when smaller). Iteration stops when
    ``min(r, r^2/gap) <= tol * theta_1``: the relative error ``tol`` is reached with the residual
    only ``~ sqrt(tol * theta_1 * gap)``, i.e. with fewer products than ``r <= tol * theta_1``.

    Args:
        loss_fn: ``() -> scalar tensor``: the full-batch loss at the current parameters.
        params: tensors with ``requires_grad=True`` (all of a model's, or a subset).
        tol: relative accuracy ``> 0``.
        max_hvp: the most Hessian-vector products.
        seed: seed of the (Gaussian) start vector: the result is deterministic.
        masks: optional 0/1 tensors restricting the Hessian to some entries (neurons).
        verify: recompute the residual of the final Ritz vector with one extra product (the
            residual is already exact from the stored products; this guards against round-off
            in them).
        start: ``"gradient"`` (default): ``g/||g|| + z/||z||`` with ``g`` the loss gradient (free:
            the product's graph computes it) and ``z`` Gaussian from ``seed``; gradients of
            trained networks lie mostly in the top Hessian subspace (Gur-Ari, Roberts, Dyer 2018,
            "Gradient descent happens in a tiny subspace"), and ``z`` keeps every eigenvector in
            reach (falls back to ``z`` alone where ``g`` is zero or not finite). ``"random"``:
            ``z`` alone. Or a warm start: a flat vector or a block of rows (e.g. the previous
            estimate's ``ritz_vectors``).
        gap_hint: a previous estimate of the spectral gap (``SharpnessResult.gap``).
        min_hvp: do not stop before this many products (for warm starts).

    Returns:
        A :class:`SharpnessResult` with ``eta* = 1/lambda_max`` and ``2/lambda_max``.

    Example:
        >>> import torch
        >>> w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        >>> A = torch.diag(torch.tensor([-10.0, 1.0, 4.0], dtype=torch.float64))
        >>> res = sharpness(lambda: 0.5 * w @ A @ w, [w])
        >>> round(res.eigenvalue, 6), res.converged, round(res.eta_star, 6)
        (4.0, True, 0.25)
    """
    import torch

    from .krylov import extreme_eigenvalue

    tol = check_positive(tol, "tol")
    max_hvp = check_int(max_hvp, "max_hvp", 1)
    seed = check_seed(seed)
    start_time = time.perf_counter()
    hvp, dim = hessian_vector_product(loss_fn, params, masks)
    like = params[0].detach()
    project = None
    if masks is not None:
        def project(v: torch.Tensor) -> torch.Tensor:
            return _mask(v, params, masks, normalise=False)
    start = _start_block(start, hvp.gradient, seed, project)  # type: ignore[attr-defined]
    est = extreme_eigenvalue(hvp, dim, like=like, which="largest", tol=tol, max_products=max_hvp, seed=seed,
                             start=start, gap_hint=gap_hint, project=project,
                             min_products=min_hvp)
    theta = est.value
    y = est.vectors[0]
    residual, n_hvp, bound = est.residual, est.n_products, est.error_bound
    if verify:
        residual = float(torch.linalg.vector_norm(hvp(y) - theta * y))
        n_hvp += 1
        from .krylov import gap_error_bound

        bound = gap_error_bound(residual, est.gap)
    eta_star, eos = critical_points(theta) if math.isfinite(theta) else (math.nan, math.nan)
    return SharpnessResult(eigenvalue=theta, residual=residual, n_hvp=n_hvp,
                           converged=bool(bound <= tol * abs(theta) or est.converged and not verify),
                           eta_star=eta_star, edge_of_stability=eos, method="lanczos", seed=seed,
                           seconds=time.perf_counter() - start_time, eigenvector=y.cpu().numpy(),
                           history=est.history, error_bound=bound, gap=est.gap, ritz_values=est.ritz_values,
                           ritz_vectors=est.vectors.cpu().numpy())


def _mask(v: Any, params: Sequence[Any], masks: Sequence[Any], normalise: bool = True) -> Any:
    """``v`` with the entries outside ``masks`` set to zero (flat over ``params``)."""
    import torch

    parts = []
    offset = 0
    for p, m in zip(params, masks):
        part = v[offset: offset + p.numel()]
        if m is not None:
            part = part * torch.as_tensor(m, dtype=v.dtype, device=v.device).reshape(-1)
        parts.append(part)
        offset += p.numel()
    out = torch.cat(parts)
    return out / torch.linalg.vector_norm(out) if normalise else out


def power_iteration(
    loss_fn: Callable[[], Any],
    params: Sequence[Any],
    *,
    tol: float = 1e-4,
    max_hvp: int = 200,
    seed: int = 0,
) -> SharpnessResult:
    """Power iteration as hessian-eigenthings runs it (the authors' tool), for comparison.

    ``v <- H v / ||H v||``, ``lambda = v^T H v``, stopping when the relative change of
    ``lambda`` is below ``tol``. It converges to the eigenvalue of largest *magnitude*
    (wrong at saddles) at the rate ``|lambda_2 / lambda_1|``.

    Example:
        >>> import torch
        >>> w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        >>> res = power_iteration(lambda: 0.5 * (3 * w[0] ** 2 + w[1] ** 2), [w])
        >>> round(res.eigenvalue, 3)
        3.0
    """
    import torch

    tol = check_positive(tol, "tol")
    max_hvp = check_int(max_hvp, "max_hvp", 1)
    seed = check_seed(seed)
    start_time = time.perf_counter()
    hvp, dim = hessian_vector_product(loss_fn, params)
    v = _start(dim, seed, params[0].detach())
    lam, prev, n_hvp, residual = 0.0, math.inf, 0, math.inf
    history: list[float] = []
    hv = v
    for _ in range(max_hvp):
        hv = hvp(v)
        n_hvp += 1
        lam = float(v @ hv)
        history.append(lam)
        residual = float(torch.linalg.vector_norm(hv - lam * v))
        if abs(lam - prev) <= tol * abs(lam):
            break
        prev = lam
        v = hv / torch.linalg.vector_norm(hv)
    eta_star, eos = critical_points(lam)
    return SharpnessResult(eigenvalue=lam, residual=residual, n_hvp=n_hvp, converged=abs(lam - prev) <= tol * abs(lam),
                           eta_star=eta_star, edge_of_stability=eos, method="power", seed=seed,
                           seconds=time.perf_counter() - start_time, eigenvector=v.cpu().numpy(),
                           history=tuple(history))
