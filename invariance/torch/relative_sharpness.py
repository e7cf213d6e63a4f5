"""Relative sharpness: the continuity constant that Lemma 4 actually needs, from Hessian/Jacobian products.

**The operator.** Fix a layer of ``n`` neurons ``X = (x_1, ..., x_n)``, ``x_i in R^D`` (its tensors'
slices along the neuron axis; the other parameters are held at their values), and a rule
``U`` (gradient descent ``U = -grad L``, or the stateless form of momentum or Adam on the particles
``x_i = (theta_i, state_i)`` of Section 5.2). Split the layer's coordinates into

* the **collective** subspace ``C = {dX : dx_1 = ... = dx_n}`` (every neuron moves alike), and
* the **relative** subspace ``R = C^perp = {dX : sum_i dx_i = 0}``, spanned by the differences
  ``X - P_ij X`` of all transpositions; ``Pi_R`` subtracts the mean over the neurons.

The relative sharpness at ``X`` is the norm of the rule's Jacobian compressed to ``R``:

    K_rel(X) = || Pi_R J_U(X) Pi_R ||,     J_U = -H  for gradient descent,

i.e. ``max |lambda|`` of ``Pi_R H Pi_R`` for GD (one Hessian-vector product per Krylov step), and
the largest singular value of ``Pi_R J Pi_R`` for stateful rules (a Jacobian-vector and a
vector-Jacobian product per step, on ``Pi_R J^T Pi_R J Pi_R``).

**The inequality it proves (constant 1, no sqrt(2)).** Let ``P`` swap ``i`` and ``j``,
``delta = X - PX`` (``d = x_i - x_j`` at ``i``, ``-d`` at ``j``; ``delta in R``, ``||delta|| = sqrt(2)||d||``)
and ``w = U(X) - U(PX) = Jbar delta`` with ``Jbar = int_0^1 J_U(PX + s delta) ds``. By P1,
``w_i = U_i(X) - U_j(X) = -w_j`` (eqs. 21-22), so with ``e = (e_i - e_j)/sqrt(2)``, a unit vector of
``R``: ``sqrt(2) ||U_i - U_j|| = ||e^T w|| <= ||Pi_R w|| = ||Pi_R Jbar Pi_R delta||``. Hence

    ||U_i(X) - U_j(X)|| <= ||Pi_R Jbar Pi_R|| ||x_i - x_j|| <= sup_{s in [0,1]} K_rel(PX + s delta) ||x_i - x_j||:

Lemma 4 (eq. 20) with ``K = K_rel`` on the segment from ``PX`` to ``X``; in particular the monitor's
``K_lb = max ||U_i - U_j|| / ||x_i - x_j||`` is ``<=`` it, and ``K_rel <= ||J_U||`` (``<= lambda_max`` for
GD at a point with ``lambda_max >= |lambda_min|``). ``K_rel(X)`` is the local value: exact for
quadratic losses (``H`` constant) and for pairs of close neurons; for distant pairs the segment's
supremum is what the inequality uses (``property_tests/test_relative_sharpness.py`` checks it with
the segment-averaged operator by Gauss-Legendre quadrature).

**Why it matters.** ``lambda_max`` of the full Hessian is dominated by the collective mode (on the
784-1024-1 MLP 99.9% of its top eigenvector lies in ``C``), which cancels in every ``x_i - x_j``:
``1/lambda_max`` understates the step size at which Lemma 2's lower bound becomes vacuous.
``eta*_rel = 1/K_rel`` is reported beside ``1/lambda_max`` and ``2/lambda_max``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..arguments import check_int, check_positive, check_seed
from ..krylov import RitzEstimate, extreme_eigenvalue
from ..sharpness import SharpnessResult, critical_points, hessian_vector_product, sharpness
from ..tables import format_table
from .rules import _resolve_spec
from .specs import NeuronSpec

__all__ = ["RelativeSharpness", "relative_sharpness", "layer_projectors", "StatelessTorchRule", "stateless_rule"]

#: ``rule(grads, params, state) -> updates``: lists of tensors shaped like the layer's tensors;
#: ``updates`` lists the parameters' updates ``U_theta`` then the state's ``U_state`` (eq. 16 layout).
StatelessTorchRule = Callable[[Sequence[torch.Tensor], Sequence[torch.Tensor], Sequence[torch.Tensor]],
                              Sequence[torch.Tensor]]


def layer_projectors(shapes: Sequence[tuple[int, ...]], axes: Sequence[int]
                     ) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """``(Pi_R, Pi_C)`` on flat vectors over tensors with the given shapes and neuron axes.

    ``Pi_C`` replaces each tensor's slices along its neuron axis by their mean (the collective
    mode: every neuron alike); ``Pi_R = I - Pi_C`` (the relative subspace, ``sum_i dx_i = 0``).

    Example:
        >>> pr, pc = layer_projectors([(2, 3)], [0])
        >>> v = torch.arange(6.0)
        >>> pr(v).tolist(), pc(v).tolist()
        ([-1.5, -1.5, -1.5, 1.5, 1.5, 1.5], [1.5, 2.5, 3.5, 1.5, 2.5, 3.5])
    """
    sizes = [int(np.prod(s)) for s in shapes]

    def collective(v: torch.Tensor) -> torch.Tensor:
        parts = torch.split(v, sizes)
        out = [p.reshape(s).mean(dim=a, keepdim=True).expand(s).reshape(-1) for p, s, a in zip(parts, shapes, axes)]
        return torch.cat(out)

    def relative(v: torch.Tensor) -> torch.Tensor:
        return v - collective(v)

    return relative, collective


# -- the stateless rules, in torch (differentiable in grads, params and state) -----------------------
def _sgd_rule(group: dict[str, Any]) -> StatelessTorchRule:
    wd = float(group.get("weight_decay", 0.0))

    def rule(g: Sequence[torch.Tensor], p: Sequence[torch.Tensor], s: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [-(gi + wd * pi) for gi, pi in zip(g, p)]

    return rule


def _momentum_rule(group: dict[str, Any], first: bool) -> StatelessTorchRule:
    mu, damp, lr = float(group["momentum"]), float(group.get("dampening", 0.0)), float(group["lr"])
    wd, nesterov = float(group.get("weight_decay", 0.0)), bool(group.get("nesterov", False))

    def rule(g: Sequence[torch.Tensor], p: Sequence[torch.Tensor], s: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        gs = [gi + wd * pi for gi, pi in zip(g, p)]
        bs = [gi if first else mu * b + (1 - damp) * gi for gi, b in zip(gs, s)]  # torch: buf = g at step 0
        ut = [-(gi + mu * b) if nesterov else -b for gi, b in zip(gs, bs)]
        return ut + [(b_new - b) / lr for b_new, b in zip(bs, s)]

    return rule


def _adam_rule(group: dict[str, Any], step: int, decoupled: bool) -> StatelessTorchRule:
    b1, b2 = (float(b) for b in group["betas"])
    eps, lr, wd = float(group["eps"]), float(group["lr"]), float(group.get("weight_decay", 0.0))
    c1, c2 = 1 - b1 ** (step + 1), 1 - b2 ** (step + 1)

    def rule(g: Sequence[torch.Tensor], p: Sequence[torch.Tensor], s: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        k = len(g)
        ms, vs = s[:k], s[k:]
        gs = list(g) if decoupled else [gi + wd * pi for gi, pi in zip(g, p)]
        m1 = [b1 * m + (1 - b1) * gi for m, gi in zip(ms, gs)]
        v1 = [b2 * v + (1 - b2) * gi * gi for v, gi in zip(vs, gs)]
        ut = [-(m / c1) / (torch.sqrt(v / c2) + eps) for m, v in zip(m1, v1)]
        if decoupled:
            ut = [u - wd * pi for u, pi in zip(ut, p)]
        return ut + [(a - m) / lr for a, m in zip(m1, ms)] + [(a - v) / lr for a, v in zip(v1, vs)]

    return rule


def _layer_group(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]) -> dict[str, Any]:
    """The param group of the layer's parameters (one set of hyperparameters, or ``ValueError``)."""
    ids = {id(p) for p in params}
    groups = [g for g in optimizer.param_groups if ids & {id(q) for q in g["params"]}]
    if not groups:
        raise ValueError("optimizer does not hold the layer's parameters")
    keys = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "betas", "eps", "amsgrad", "maximize")
    hyper = {tuple((k, str(g.get(k))) for k in keys) for g in groups}
    if len(hyper) > 1:
        raise ValueError("the layer's parameters are in param groups with different hyperparameters; "
                         "pass rule= and state= explicitly")
    return groups[0]


def stateless_rule(optimizer: torch.optim.Optimizer | None, params: Sequence[torch.Tensor]
                   ) -> tuple[str, StatelessTorchRule, list[torch.Tensor]]:
    """``(name, rule, state)``: the stateless form (Sec. 5.2, eq. 16 re-indexed) of ``optimizer`` on ``params``.

    ``None`` or ``SGD`` without momentum is gradient descent (``U = -(g + wd theta)``, no state);
    ``SGD(momentum)`` (also Nesterov, dampening): ``b' = mu b + (1 - dampening) g``, ``U = (-b', (b' - b)/lr)``;
    ``Adam``/``AdamW``: ``m' = b1 m + (1-b1) g``, ``v' = b2 v + (1-b2) g^2``,
    ``U = (-(m'/c1)/(sqrt(v'/c2) + eps) [- wd theta], (m' - m)/lr, (v' - v)/lr)`` with the bias
    corrections ``c_k = 1 - b_k^(t+1)`` of the next step. ``state`` holds the current state tensors
    (zeros before the first step), shaped like ``params``.

    Raises:
        ValueError: an optimizer without a known stateless form here (pass ``rule=`` to
            :func:`relative_sharpness`), ``amsgrad``/``maximize``, or parameters in groups with
            different hyperparameters.

    Example:
        >>> w = torch.nn.Parameter(torch.zeros(3))
        >>> stateless_rule(torch.optim.SGD([w], lr=0.1), [w])[0]
        'gd'
    """
    if optimizer is None:
        return "gd", _sgd_rule({}), []
    group = _layer_group(optimizer, params)
    if group.get("maximize", False) or group.get("amsgrad", False):
        raise ValueError(f"{type(optimizer).__name__} with maximize/amsgrad has no stateless form here; pass rule=")
    state = [optimizer.state.get(p, {}) for p in params]
    if type(optimizer) is torch.optim.SGD:
        if float(group.get("momentum", 0.0)) == 0.0:
            return "gd", _sgd_rule(group), []
        first = any("momentum_buffer" not in st or st["momentum_buffer"] is None for st in state)
        bufs = [torch.zeros_like(p) if first else st["momentum_buffer"].detach().clone()
                for p, st in zip(params, state)]
        return "momentum", _momentum_rule(group, first), bufs
    if type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
        steps = {int(float(st["step"])) if "step" in st else 0 for st in state}
        if len(steps) != 1:
            raise ValueError(f"the layer's parameters are at different Adam steps {sorted(steps)}")
        step = steps.pop()
        ms = [st["exp_avg"].detach().clone() if "exp_avg" in st else torch.zeros_like(p)
              for p, st in zip(params, state)]
        vs = [st["exp_avg_sq"].detach().clone() if "exp_avg_sq" in st else torch.zeros_like(p)
              for p, st in zip(params, state)]
        decoupled = type(optimizer) is torch.optim.AdamW
        return ("adamw" if decoupled else "adam"), _adam_rule(group, step, decoupled), ms + vs
    raise ValueError(f"no stateless form of {type(optimizer).__name__} is known here; pass rule= "
                     "(a function (grads, params, state) -> updates) and state=")


@dataclass(frozen=True)
class RelativeSharpness:
    """``K_rel = ||Pi_R J_U Pi_R||`` of one layer, beside ``lambda_max`` of the full Hessian.

    Attributes:
        K_rel: the estimate (a rigorous lower bound of the local ``K_rel``; ``inf`` where the rule's
            Jacobian is not finite).
        error_bound: ``K_rel <= true <= K_rel + error_bound`` (gap-based, see :mod:`invariance.krylov`).
        residual: the Ritz residual of the operator whose extreme eigenvalue gives ``K_rel``.
        n_products: operator products (GD: Hessian-vector products; stateful rules: one JVP and one VJP each).
        converged: the bound met ``tol``.
        rule: ``"gd"``, ``"momentum"``, ``"adam"``, ``"adamw"`` or ``"custom"``.
        operator: ``"Pi_R H Pi_R"`` (GD, symmetric: the norm is ``max |lambda|``) or
            ``"Pi_R J Pi_R"`` (its largest singular value).
        layer, n_neurons, neuron_dim: the layer and its particles' dimension ``D``.
        eta_star_rel: ``1/K_rel``: Lemma 2's lower bound stays positive for ``eta < eta_star_rel``.
        lambda_max: ``lambda_max`` of the Hessian of all parameters (``None`` if not asked).
        eta_star, edge_of_stability: ``1/lambda_max``, ``2/lambda_max``.
        lambda_n_hvp: products spent on ``lambda_max``.
        K_collective: ``||Pi_C J_U Pi_C||`` (if asked): the collective mode's constant.
        note: why the estimate is incomplete, if it is.
        seed, seconds: the start vector's seed; wall time.
        ritz_vectors: warm start of the next estimate (rows over the layer's flat coordinates).
        gap: the gap used by the bound.
    """

    K_rel: float
    error_bound: float
    residual: float
    n_products: int
    converged: bool
    rule: str
    operator: str
    layer: str
    n_neurons: int
    neuron_dim: int
    eta_star_rel: float
    lambda_max: float | None = None
    eta_star: float | None = None
    edge_of_stability: float | None = None
    lambda_n_hvp: int = 0
    K_collective: float | None = None
    note: str = ""
    seed: int = 0
    seconds: float = field(default=0.0, compare=False)
    gap: float = math.nan
    ritz_vectors: Any = field(default=None, repr=False, compare=False)
    lambda_result: SharpnessResult | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (no vectors)."""
        d = asdict(self)
        d.pop("ritz_vectors")
        d.pop("lambda_result")
        return d

    def table(self) -> str:
        """The constants and their critical step sizes, aligned."""
        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.5g}"

        rows = [[f"K_rel = ||{self.operator}||", f(self.K_rel), f(self.eta_star_rel), f"{self.n_products}",
                 "yes" if self.converged else "no"]]
        if self.lambda_max is not None:
            rows.append(["lambda_max (full Hessian)", f(self.lambda_max), f(self.eta_star), f"{self.lambda_n_hvp}",
                         "yes" if self.lambda_result is None or self.lambda_result.converged else "no"])
            rows.append(["2/lambda_max (edge of stability)", "", f(self.edge_of_stability), "", ""])
        if self.K_collective is not None:
            rows.append(["K_collective = ||Pi_C J Pi_C||", f(self.K_collective), "", "", ""])
        return format_table(["constant", "value", "critical eta", "products", "converged"], rows, left=1)


def _layer_tensors(model: nn.Module, spec: NeuronSpec,
                   layer: int | str) -> tuple[list[str], list[nn.Parameter], list[int]]:
    params = dict(model.named_parameters())
    axes = spec.parameter_axes(layer, model=model)
    names = [ax.name for ax in axes]
    tensors = [params[n] for n in names]
    for n, t in zip(names, tensors):
        if not t.requires_grad:
            raise ValueError(f"parameter {n!r} of the layer does not require grad")
    return names, tensors, [ax.axis for ax in axes]


def _jacobian_products(loss: torch.Tensor, params: Sequence[torch.Tensor], state: Sequence[torch.Tensor],
                       rule: StatelessTorchRule) -> tuple[Callable[[torch.Tensor], torch.Tensor],
                                                          Callable[[torch.Tensor], torch.Tensor]]:
    """``(v -> J v, u -> J^T u)`` of ``X = (params, state) -> U`` on flat vectors (graph built once)."""
    st = [s.detach().clone().requires_grad_(True) for s in state]
    g = torch.autograd.grad(loss, list(params), create_graph=True)
    U = list(rule(g, params, st))
    inputs = list(params) + st
    if len(U) != len(inputs):
        raise ValueError(f"the rule returned {len(U)} updates for {len(params)} parameters and {len(st)} state tensors")
    for u, x in zip(U, inputs):
        if u.shape != x.shape:
            raise ValueError(f"the rule returned an update of shape {tuple(u.shape)} for a tensor of shape "
                             f"{tuple(x.shape)}")
    sizes = [x.numel() for x in inputs]
    dummies = [torch.zeros_like(u, requires_grad=True) for u in U]
    jt_dummy = torch.autograd.grad(U, inputs, grad_outputs=dummies, create_graph=True, allow_unused=True)
    jt_dummy = tuple(torch.zeros_like(x) if j is None else j for j, x in zip(jt_dummy, inputs))

    def split(v: torch.Tensor) -> list[torch.Tensor]:
        return [p.view_as(x) for p, x in zip(torch.split(v, sizes), inputs)]

    def jvp(v: torch.Tensor) -> torch.Tensor:
        out = torch.autograd.grad(jt_dummy, dummies, grad_outputs=split(v), retain_graph=True, allow_unused=True)
        return torch.cat([(torch.zeros_like(d) if o is None else o).reshape(-1) for o, d in zip(out, dummies)]).detach()

    def vjp(u: torch.Tensor) -> torch.Tensor:
        out = torch.autograd.grad(U, inputs, grad_outputs=split(u), retain_graph=True, allow_unused=True)
        return torch.cat([(torch.zeros_like(x) if o is None else o).reshape(-1) for o, x in zip(out, inputs)]).detach()

    return jvp, vjp


def _norm_estimate(kind: str, products: tuple[Callable[[torch.Tensor], torch.Tensor], ...], project: Callable[
        [torch.Tensor], torch.Tensor], dim: int, like: torch.Tensor, tol: float, max_products: int, seed: int,
        start: Any, gap_hint: float | None, min_products: int = 1) -> tuple[float, float, RitzEstimate, int]:
    """``(norm, error_bound, estimate, products)`` of the compression ``Pi A Pi`` (``kind`` "sym" or "gram")."""
    if kind == "sym":
        (A,) = products

        def op(v: torch.Tensor) -> torch.Tensor:
            return project(A(project(v)))

        est = extreme_eigenvalue(op, dim, like=like, which="magnitude", tol=tol, max_products=max_products,
                                 seed=seed, start=start, gap_hint=gap_hint, project=project,
                                 min_products=min_products)
        if est.end == "bottom":  # the warm start of the next estimate leads with the end that gave the norm
            est = dataclasses.replace(est, vectors=est.vectors.flip(0))
        return est.value, est.error_bound, est, est.n_products
    J, JT = products

    def gram(v: torch.Tensor) -> torch.Tensor:
        return project(JT(project(J(project(v)))))

    est = extreme_eigenvalue(gram, dim, like=like, which="largest", tol=tol, max_products=max(1, max_products // 2),
                             seed=seed, start=start, gap_hint=gap_hint, project=project, min_products=min_products)
    sigma = math.sqrt(max(est.value, 0.0))
    return sigma, math.sqrt(max(est.upper, 0.0)) - sigma, est, 2 * est.n_products


def relative_sharpness(
    loss_fn: Callable[[], torch.Tensor],
    model: nn.Module,
    spec: NeuronSpec | None = None,
    *,
    layer: int | str = 0,
    optimizer: torch.optim.Optimizer | None = None,
    rule: StatelessTorchRule | None = None,
    state: Sequence[torch.Tensor] | None = None,
    tol: float = 1e-4,
    max_products: int = 200,
    seed: int = 0,
    start: Any = None,
    gap_hint: float | None = None,
    lambda_max: bool = True,
    collective: bool = False,
    min_products: int = 1,
) -> RelativeSharpness:
    """``K_rel = ||Pi_R J_U Pi_R||``: the neuron-relative constant of Lemma 4 at the current parameters.

    Math (module docstring): ``||U_i(X) - U_j(X)|| <= sup_s K_rel(X_s) ||x_i - x_j||`` on the segment
    from ``P_ij X`` to ``X``, constant 1; ``eta*_rel = 1/K_rel``. For GD ``J_U = -H`` (the Hessian of
    the loss in the layer's parameters) and ``K_rel = max |lambda(Pi_R H Pi_R)|``; for momentum and
    Adam (``optimizer=``, read with its current state) ``J_U`` is the Jacobian of the stateless rule on
    the particles ``(theta_i, state_i)`` and ``K_rel`` its largest relative singular value.

    Args:
        loss_fn: ``() -> scalar tensor``: the full-batch loss at the model's current parameters.
        model: the model (its layer's parameters are differentiated; the rest are held fixed).
        spec: the neuron spec (default :func:`~invariance.torch.neuron_spec`).
        layer: the layer of neurons.
        optimizer: ``None``/``SGD`` (GD, momentum) or ``Adam``/``AdamW``: whose stateless rule.
        rule, state: a custom stateless rule ``(grads, params, state) -> updates`` and its state
            tensors (shaped like the layer's parameters), instead of ``optimizer``.
        tol: relative accuracy ``> 0``.
        max_products: the most operator products.
        seed: seed of the start vector.
        start: warm start (the previous result's ``ritz_vectors``).
        gap_hint: a previous gap estimate (the previous result's ``gap``).
        lambda_max: also compute ``lambda_max`` of the full Hessian (all the model's parameters).
        collective: also compute ``K_collective = ||Pi_C J_U Pi_C||``.
        min_products: do not stop before this many Krylov steps (for warm starts).

    Returns:
        A :class:`RelativeSharpness`. Where the rule's Jacobian is not finite (Adam at ``v = 0``:
        not P2-K there) ``K_rel = inf`` with a ``note``, not an exception.

    Raises:
        ValueError: an optimizer without a stateless form here, a bad ``layer``/``state``/``tol``.

    Example:
        >>> import torch
        >>> torch.manual_seed(0) and None
        >>> m = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
        >>> x, y = torch.randn(32, 2, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
        >>> res = relative_sharpness(lambda: torch.nn.functional.mse_loss(m(x), y), m)
        >>> res.converged, res.K_rel < res.lambda_max
        (True, True)
    """
    tol = check_positive(tol, "tol")
    max_products = check_int(max_products, "max_products", 1)
    seed = check_seed(seed)
    t0 = time.perf_counter()
    spec = _resolve_spec(model, spec)
    la = spec.layer(layer)
    names, params, axes = _layer_tensors(model, spec, layer)
    if rule is not None:
        if optimizer is not None:
            raise ValueError("pass either optimizer= or rule=, not both")
        name, the_rule, st = "custom", rule, [s.detach() for s in (state or [])]
    else:
        if state is not None:
            raise ValueError("state= goes with rule=; with optimizer= the state is read from the optimizer")
        name, the_rule, st = stateless_rule(optimizer, params)
    shapes = [tuple(p.shape) for p in params] + [tuple(s.shape) for s in st]
    for i, s in enumerate(st):
        if s.numel() % la.width:
            raise ValueError(f"state[{i}] of shape {tuple(s.shape)} is not shaped like a parameter of the layer")
    state_axes = [axes[i % len(params)] for i in range(len(st))]
    if any(tuple(s.shape) != tuple(params[i % len(params)].shape) for i, s in enumerate(st)):
        raise ValueError("every state tensor must be shaped like its parameter (Adam: m for each, then v for each)")
    project, project_c = layer_projectors(shapes, axes + state_axes)
    dim = int(sum(int(np.prod(s)) for s in shapes))
    like = params[0].detach()
    neuron_dim = dim // la.width
    note = ""
    if name == "gd":
        wd = 0.0 if optimizer is None else float(_layer_group(optimizer, params).get("weight_decay", 0.0))
        hvp, _ = hessian_vector_product(loss_fn, params)

        def hess(v: torch.Tensor) -> torch.Tensor:
            return hvp(v) + wd * v

        products: tuple[Callable[[torch.Tensor], torch.Tensor], ...] = (hess,)
        kind, operator = "sym", "Pi_R H Pi_R"
    else:
        loss = loss_fn()
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise TypeError("loss_fn must return a scalar tensor")
        products = _jacobian_products(loss, params, st, the_rule)
        kind, operator = "gram", "Pi_R J Pi_R"
    try:
        K, bound, est, n = _norm_estimate(kind, products, project, dim, like, tol, max_products, seed, start, gap_hint,
                                          min_products)
        residual, converged, gap, vectors = est.residual, est.converged, est.gap, est.vectors.cpu().numpy()
    except FloatingPointError as exc:
        K, bound, n, residual, converged, gap, vectors = math.inf, math.nan, 0, math.nan, False, math.nan, None
        note = (f"the rule's Jacobian is not finite at these parameters ({exc}); "
                "the rule is not Lipschitz here (e.g. Adam where v = 0): no finite K")
    K_c = None
    if collective and math.isfinite(K):
        try:
            K_c = _norm_estimate(kind, products, project_c, dim, like, tol, max_products, seed + 1, None, None)[0]
        except FloatingPointError:
            K_c = math.inf
    lam = None
    if lambda_max:
        lam = sharpness(loss_fn, [p for p in model.parameters() if p.requires_grad], tol=tol, seed=seed)
    eta_rel = (1.0 / K if K > 0 else math.inf) if math.isfinite(K) else 0.0
    eta_star, eos = critical_points(lam.eigenvalue) if lam is not None else (None, None)
    return RelativeSharpness(K_rel=K, error_bound=bound, residual=residual, n_products=n, converged=converged,
                             rule=name, operator=operator, layer=la.name, n_neurons=la.width, neuron_dim=neuron_dim,
                             eta_star_rel=eta_rel, lambda_max=None if lam is None else lam.eigenvalue,
                             eta_star=eta_star, edge_of_stability=eos, lambda_n_hvp=0 if lam is None else lam.n_hvp,
                             K_collective=K_c, note=note, seed=seed, seconds=time.perf_counter() - t0, gap=gap,
                             ritz_vectors=vectors, lambda_result=lam)
