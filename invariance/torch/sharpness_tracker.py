"""``lambda_max`` and ``K_rel`` tracked through training, each estimate warm-started from the previous one.

Every sharpness tool re-estimates ``lambda_max`` from a random vector at each call (10-14 products).
Between two estimates ``k`` optimizer steps apart the top eigenvectors move little, so
:class:`SharpnessTracker` starts each estimate from the previous Ritz vectors (one, or a block of
``block`` of them) and bounds its error with the previous gap (``gap_hint``: the bound uses
``min(theta_1 - theta_2, previous gap)``, so a small gap seen once keeps the bound conservative).
The first estimate starts from the gradient (:func:`invariance.sharpness.sharpness`). Each record
states the products it cost; ``benchmarks/sharpness_benchmark.py`` measures the average.

Example:
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> m = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    >>> x, y = torch.randn(32, 2, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    >>> loss = lambda: torch.nn.functional.mse_loss(m(x), y)
    >>> opt = torch.optim.SGD(m.parameters(), lr=0.1)
    >>> tracker = SharpnessTracker(loss, m, every=5)
    >>> for t in range(20):
    ...     opt.zero_grad(); loss().backward(); opt.step(); _ = tracker.update(t)
    >>> len(tracker.records), tracker.records[-1].warm
    (4, True)
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..arguments import check_int, check_positive, check_seed
from ..sharpness import SharpnessResult, critical_points, sharpness
from ..tables import format_table
from .relative_sharpness import RelativeSharpness, relative_sharpness
from .specs import NeuronSpec

__all__ = ["SharpnessRecord", "SharpnessTracker"]


@dataclass(frozen=True)
class SharpnessRecord:
    """One tracked estimate.

    Attributes:
        step: the optimizer step after which it was taken.
        lambda_max, lambda_error_bound, lambda_products: ``lambda_max`` of the full Hessian, its
            gap-based error bound and Hessian-vector products.
        K_rel, K_rel_error_bound, K_rel_products: the relative sharpness (``nan``/0 when not tracked).
        eta: the learning rate of the optimizer at that step (``nan`` without one).
        eta_lambda, eta_K_rel: ``eta * lambda_max``, ``eta * K_rel``.
        eta_star, edge_of_stability, eta_star_rel: ``1/lambda_max``, ``2/lambda_max``, ``1/K_rel``.
        warm: started from the previous estimate's Ritz vectors.
        converged: both estimates met the tolerance.
        seconds: wall time of the estimate.
        lambda_residual: ``||H v - theta v||`` of the returned Ritz pair of ``lambda_max``.
    """

    step: int
    lambda_max: float
    lambda_error_bound: float
    lambda_products: int
    K_rel: float
    K_rel_error_bound: float
    K_rel_products: int
    eta: float
    eta_lambda: float
    eta_K_rel: float
    eta_star: float
    edge_of_stability: float
    eta_star_rel: float
    warm: bool
    converged: bool
    seconds: float
    lambda_residual: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


class SharpnessTracker:
    """Re-estimate ``lambda_max`` (and ``K_rel``) every ``every`` steps, warm-started.

    Args:
        loss_fn: ``() -> scalar tensor``: the full-batch loss at the current parameters.
        model: the model.
        spec: neuron spec (for ``K_rel``; default :func:`~invariance.torch.neuron_spec`).
        layer: the layer of neurons for ``K_rel``.
        optimizer: whose rule ``K_rel`` measures (``None``/SGD: GD; Adam: its stateless rule), and
            whose ``lr`` gives ``eta``.
        every: estimate at steps ``0, every, 2 every, ...`` (``>= 1``).
        relative: also track ``K_rel``.
        tol: relative accuracy of each estimate.
        block: Ritz vectors carried to the next estimate (``>= 1``; 1 is cheapest, 2 also refreshes
            the gap's other side).
        seed: seed of the first start vector.
        max_products: the most products per estimate.
        min_expansions: Krylov expansions beyond the warm block before a warm estimate may stop
            (default 2): a previous Ritz vector that has become an eigenvector of a *lower*
            eigenvalue has a small residual too, and only expansions let the new top one show.
        noise: weight of a fresh seeded Gaussian added to the lead warm vector (default 0.1):
            without it the Krylov space of a nearly diagonal operator (Adam's Jacobian, whose
            top modes sit on the entries with the smallest ``v``) never reaches a new top mode
            on other entries.
    """

    def __init__(self, loss_fn: Callable[[], torch.Tensor], model: nn.Module, spec: NeuronSpec | None = None, *,
                 layer: int | str = 0, optimizer: torch.optim.Optimizer | None = None, every: int = 10,
                 relative: bool = True, tol: float = 1e-4, block: int = 1, seed: int = 0,
                 max_products: int = 200, min_expansions: int = 2, noise: float = 0.1) -> None:
        if not callable(loss_fn):
            raise TypeError("loss_fn must be a callable () -> scalar tensor")
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.loss_fn, self.model, self.spec, self.layer, self.optimizer = loss_fn, model, spec, layer, optimizer
        self.every = check_int(every, "every", 1)
        self.relative = bool(relative)
        self.tol = check_positive(tol, "tol")
        self.block = check_int(block, "block", 1)
        self.seed = check_seed(seed)
        self.max_products = check_int(max_products, "max_products", 1)
        self.min_expansions = check_int(min_expansions, "min_expansions", 0)
        if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
        self.noise = float(noise)
        self._records: list[SharpnessRecord] = []
        self._last_lambda: SharpnessResult | None = None
        self._last_rel: RelativeSharpness | None = None

    @property
    def records(self) -> tuple[SharpnessRecord, ...]:
        """The estimates so far, oldest first."""
        return tuple(self._records)

    @property
    def products(self) -> int:
        """All operator products spent so far."""
        return sum(r.lambda_products + r.K_rel_products for r in self._records)

    def _warm(self, vectors: Any, n: int) -> np.ndarray:
        """The previous Ritz block, its lead vector mixed with a fresh seeded Gaussian of relative weight ``noise``."""
        block = np.array(np.asarray(vectors)[: self.block], dtype=np.float64)
        if self.noise > 0:
            z = np.random.default_rng([self.seed, n]).standard_normal(block.shape[1])
            block[0] = block[0] / np.linalg.norm(block[0]) + self.noise * z / np.linalg.norm(z)
        return block

    def due(self, step: int) -> bool:
        """Whether :meth:`update` at ``step`` estimates (``step % every == 0``)."""
        return int(step) % self.every == 0

    def _eta(self) -> float:
        if self.optimizer is None:
            return math.nan
        lrs = {float(g["lr"]) for g in self.optimizer.param_groups}
        return lrs.pop() if len(lrs) == 1 else math.nan

    def estimate(self, step: int) -> SharpnessRecord:
        """Estimate now (whatever the step), warm-started from the previous estimate if there is one."""
        t0 = time.perf_counter()
        params = [p for p in self.model.parameters() if p.requires_grad]
        prev = self._last_lambda
        n = len(self._records)
        if prev is None:
            lam = sharpness(self.loss_fn, params, tol=self.tol, seed=self.seed, max_hvp=self.max_products)
        else:
            lam = sharpness(self.loss_fn, params, tol=self.tol, seed=self.seed, max_hvp=self.max_products,
                            start=self._warm(prev.ritz_vectors, n), gap_hint=_positive(prev.gap),
                            min_hvp=self.block + self.min_expansions)
        K, Kb, Kn = math.nan, math.nan, 0
        if self.relative:
            rp = self._last_rel
            warm = rp is not None and rp.ritz_vectors is not None
            rel = relative_sharpness(self.loss_fn, self.model, self.spec, layer=self.layer, optimizer=self.optimizer,
                                     tol=self.tol, seed=self.seed, max_products=self.max_products,
                                     start=self._warm(rp.ritz_vectors, n) if warm and rp else None,
                                     gap_hint=_positive(rp.gap) if warm and rp else None, lambda_max=False,
                                     min_products=self.block + self.min_expansions if warm else 1)
            self._last_rel = rel if rel.ritz_vectors is not None else None
            K, Kb, Kn = rel.K_rel, rel.error_bound, rel.n_products
        self._last_lambda = lam
        eta = self._eta()
        eta_star, eos = critical_points(lam.eigenvalue)
        rec = SharpnessRecord(step=int(step), lambda_max=lam.eigenvalue, lambda_error_bound=lam.error_bound,
                              lambda_products=lam.n_hvp, K_rel=K, K_rel_error_bound=Kb, K_rel_products=Kn, eta=eta,
                              eta_lambda=eta * lam.eigenvalue, eta_K_rel=eta * K, eta_star=eta_star,
                              edge_of_stability=eos,
                              eta_star_rel=(1.0 / K if K > 0 else math.inf) if math.isfinite(K) else math.nan,
                              warm=prev is not None,
                              converged=bool(lam.converged and (not self.relative or math.isfinite(K) and Kb <= self.tol
                                                                * max(abs(K), 1e-300))),
                              seconds=time.perf_counter() - t0, lambda_residual=float(lam.residual))
        self._records.append(rec)
        return rec

    def update(self, step: int) -> SharpnessRecord | None:
        """Call after optimizer step ``step``: estimates when :meth:`due`, else returns ``None``."""
        return self.estimate(step) if self.due(step) else None

    def as_dict(self) -> dict[str, Any]:
        """Configuration and records, JSON-ready."""
        return {"every": self.every, "relative": self.relative, "tol": self.tol, "block": self.block,
                "seed": self.seed, "products": self.products, "records": [r.as_dict() for r in self._records]}

    def table(self) -> str:
        """The records as an aligned table."""
        cols = ["step", "lambda_max", "products", "K_rel", "products ", "eta lambda", "eta K_rel", "warm"]
        rows = [[str(r.step), f"{r.lambda_max:.5g}", str(r.lambda_products), f"{r.K_rel:.5g}", str(r.K_rel_products),
                 f"{r.eta_lambda:.3g}", f"{r.eta_K_rel:.3g}", "yes" if r.warm else "no"] for r in self._records]
        return format_table(cols, rows, left=0)


def _positive(x: float) -> float | None:
    return float(x) if isinstance(x, float) and math.isfinite(x) and x > 0 else None
