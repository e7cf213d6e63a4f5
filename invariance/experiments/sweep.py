"""The critical-point sweep (not in the paper): does the topology break where Theorem 1 says it may?

Theorem 1: for an update rule satisfying P2-K, every step with ``eta < eta* = 1/K`` is a
homeomorphism of the neuron cloud (Lemma 2: pairwise distances stay within factors
``1 - eta*K`` and ``1 + eta*K``), so no neurons merge and the Betti numbers cannot change.
Above ``1/K`` the theorem says nothing: neurons *may* merge. For gradient descent the
constant ``K`` is the smoothness constant of the loss, measured here as
``lambda_max`` of the Hessian of the full training loss at the start.

For one low-dimensional setting (:class:`~invariance.experiments.lowdim.LowDimConfig`)
the sweep measures ``K`` at the initial cloud, then trains from that same cloud, with the
same data and batch order, at ``eta = c / K`` for ``c`` on a log grid (default
``0.1 .. 10``), for a fixed number of steps (no early stop), and records per ``eta``
whether any merge or Betti change happened at any check (every ``check_every`` steps),
whether training diverged, the number of neurons lost to merges, the smallest ratio
``||x_i(T) - x_j(T)|| / ||x_i(0) - x_j(0)||`` over pairs, and the final loss. The plot
shows the outcome against ``eta`` with the lines ``eta = 1/K`` and ``eta = 2/K`` (the edge
of stability of gradient descent).

Theorem 1 is a sufficient condition: "no change below ``1/K``" is what it predicts;
where the topology first breaks above ``1/K`` is an empirical question the sweep answers.

**Which constant?** Besides ``eta * lambda_max``, every row records the two constants of
Lemma 4 that do not involve the collective mode: ``K_rel = ||Pi_R J_U Pi_R||`` of the run's own
rule (:func:`invariance.torch.relative_sharpness`; for momentum and Adam the stateless rule's
Jacobian on the particles ``(theta_i, state_i)``), measured on the full training loss after
``probe_step`` steps of that run, and the largest ``K_lb = max ||U_i - U_j|| / ||x_i - x_j||`` that
a :class:`~invariance.torch.TrainingMonitor` read off any step of the run (of the mini-batch rule
``U^(t)``; of the particles for momentum and Adam), with the step where ``eta * K_lb`` first
reached 1.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..arguments import check_int, check_positive
from .lowdim import LowDimConfig, _neurons, build_model, initial_neurons, measure_sharpness, quick_topology, train
from .records import RunDirectory

__all__ = ["SweepConfig", "run_sweep", "min_distance_ratio", "plot_sweep", "OUTCOMES"]

#: Outcomes of one learning rate, in increasing severity.
OUTCOMES = ("preserved", "merged", "betti", "merged+betti", "diverged")


@dataclass(frozen=True)
class SweepConfig:
    """Configuration of :func:`run_sweep`.

    Attributes:
        base: the setting (shape, width, optimizer, data, seed, batch size, merge tolerance,
            scale fraction); its ``lr``, ``tol`` and ``track_every`` are replaced per point.
        eta_k_min, eta_k_max: the range of ``c = eta * K`` (log grid), ``0 < min < max``.
        points: number of learning rates.
        steps: fixed number of steps per learning rate (overrides ``base.steps``).
        check_every: steps between topology checks (overrides ``base.check_every``).
        probe_step: the step after which ``K_rel`` of the run's rule is measured (``>= 1``, and
            ``<= steps``; a stateful rule needs its state).
        constants: measure ``K_rel`` and ``K_lb`` per rate (a monitor on every step).
    """

    base: LowDimConfig = LowDimConfig(width=256, n_data=2000, optimizer="gd")
    eta_k_min: float = 0.1
    eta_k_max: float = 10.0
    points: int = 9
    steps: int = 400
    check_every: int = 50
    probe_step: int = 10
    constants: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.base, LowDimConfig):
            raise TypeError(f"base must be a LowDimConfig, got {type(self.base).__name__}")
        lo = check_positive(self.eta_k_min, "eta_k_min")
        hi = check_positive(self.eta_k_max, "eta_k_max")
        if not lo < hi:
            raise ValueError(f"eta_k_min must be < eta_k_max, got {lo} and {hi}")
        check_int(self.points, "points", 2)
        check_int(self.steps, "steps", 1)
        check_int(self.check_every, "check_every", 1)
        check_int(self.probe_step, "probe_step", 1)
        if self.probe_step > self.steps:
            raise ValueError(f"probe_step must be <= steps ({self.steps}), got {self.probe_step}")

    @property
    def grid(self) -> NDArray[np.float64]:
        """The values ``c = eta * K``: a log grid from ``eta_k_min`` to ``eta_k_max``.

        Example:
            >>> SweepConfig(eta_k_min=0.1, eta_k_max=10.0, points=3).grid.tolist()
            [0.1, 1.0, 10.0]
        """
        return np.round(np.geomspace(self.eta_k_min, self.eta_k_max, self.points), 12)

    @classmethod
    def tiny(cls, **overrides: Any) -> SweepConfig:
        """A sweep that runs in a few seconds: width 64, 400 data points, 5 rates, 100 steps.

        Example:
            >>> SweepConfig.tiny().points
            5
        """
        base: dict[str, Any] = dict(base=LowDimConfig(width=64, n_data=400, optimizer="gd"), points=5, steps=100,
                                    check_every=25)
        base.update(overrides)
        return cls(**base)

    def with_(self, **changes: Any) -> SweepConfig:
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the configuration (with the grid)."""
        d = asdict(self)
        d["base"] = self.base.as_dict()
        d["grid"] = self.grid.tolist()
        return d


def min_distance_ratio(before: NDArray[np.float64], after: NDArray[np.float64]) -> float:
    """``min_{i<j} ||y_i - y_j|| / ||x_i - x_j||`` over pairs with ``x_i != x_j`` (Lemma 2's lower ratio).

    Example:
        >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
        >>> min_distance_ratio(X, 2 * X)
        2.0
    """
    from scipy.spatial.distance import pdist

    A, B = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    if A.shape != B.shape:
        raise ValueError(f"before and after must have the same shape, got {A.shape} and {B.shape}")
    if not np.isfinite(B).all():
        return math.nan
    da, db = pdist(A), pdist(B)
    keep = da > 0
    return float(np.min(db[keep] / da[keep])) if keep.any() else math.nan


def _outcome(merged: bool, betti: bool, diverged: bool) -> str:
    if diverged:
        return "diverged"
    return {(False, False): "preserved", (True, False): "merged", (False, True): "betti",
            (True, True): "merged+betti"}[(merged, betti)]


def plot_sweep(rows: list[dict[str, Any]], K: float, title: str = "") -> Any:
    """Figure: outcome per learning rate (top), distinct neurons lost / min distance ratio (middle)
    and, where the rows have them, ``eta lambda_max``, ``eta K_rel`` (the run's rule) and the run's
    largest ``eta K_lb`` (bottom, with the line ``eta C = 1``), against ``eta`` on a log axis, with
    vertical lines at ``eta = 1/K`` and ``2/K``. The caller saves it."""
    from .records import _use_agg

    _use_agg()
    import matplotlib.pyplot as plt

    etas = np.array([r["eta"] for r in rows])
    level = np.array([OUTCOMES.index(r["outcome"]) for r in rows])
    colours = {"preserved": "tab:green", "merged": "tab:orange", "betti": "tab:purple", "merged+betti": "tab:red",
               "diverged": "black"}
    constants = [(key, label, c) for key, label, c in (("eta_lambda_max", "eta lambda_max (start)", "tab:red"),
                                                       ("eta_K_rel_rule", "eta K_rel (the run's rule)", "tab:blue"),
                                                       ("eta_K_lb_max", "eta K_lb (max over the run)", "tab:green"))
                 if any(isinstance(r.get(key), (int, float)) for r in rows)]
    n_panels = 3 if constants else 2
    fig, axes = plt.subplots(n_panels, 1, figsize=(7.5, 3 * n_panels), sharex=True)
    ax1, ax2 = axes[0], axes[1]
    for name in OUTCOMES:
        sel = [r["outcome"] == name for r in rows]
        if any(sel):
            ax1.scatter(etas[sel], level[sel], c=colours[name], s=60, label=name, zorder=3)
    ax1.set_yticks(range(len(OUTCOMES)))
    ax1.set_yticklabels(OUTCOMES)
    ax1.set_ylim(-0.5, len(OUTCOMES) - 0.5)
    merged = np.array([r["merged"] if r["merged"] is not None else np.nan for r in rows], dtype=float)
    ratio = np.array([r["min_distance_ratio"] for r in rows], dtype=float)
    (h1,) = ax2.plot(etas, merged, "o-", color="tab:orange", label="neurons lost to merges (left)")
    ax2.set_ylabel("neurons lost to merges", color="tab:orange")
    ax2.tick_params(axis="y", colors="tab:orange")
    ax3 = ax2.twinx()
    (h2,) = ax3.plot(etas, ratio, "s--", color="tab:blue", label="min distance ratio, end / start (right)")
    ax3.set_yscale("log")
    ax3.set_ylabel("min distance ratio", color="tab:blue")
    ax3.tick_params(axis="y", colors="tab:blue")
    ax2.legend(handles=[h1, h2], fontsize=8, loc="upper left")
    if constants:
        ax4 = axes[2]
        for key, label, c in constants:
            vals = np.array([r.get(key) if isinstance(r.get(key), (int, float)) else np.nan for r in rows], dtype=float)
            ax4.plot(etas, vals, "o-", color=c, label=label)
        ax4.axhline(1.0, color="k", lw=1, ls="--", label="eta C = 1")
        ax4.set_yscale("log")
        ax4.set_ylabel("eta * C")
        ax4.legend(fontsize=8, loc="upper left")
    for ax in axes:
        ax.axvline(1.0 / K, color="tab:red", ls="-", label="eta = 1/K" if ax is ax1 else None)
        ax.axvline(2.0 / K, color="gray", ls=":", label="eta = 2/K" if ax is ax1 else None)
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=8, loc="upper left")
    axes[-1].set_xlabel("learning rate eta")
    if title:
        ax1.set_title(title)
    fig.tight_layout()
    return fig


class _ConstantsProbe:
    """A monitor on every step (``K_lb``) and ``K_rel`` of the run's rule after ``probe_step`` steps."""

    def __init__(self, model: Any, x: Any, y: Any, optimizer: str, probe_step: int, seed: int) -> None:
        self.model, self.x, self.y = model, x, y
        self.optimizer, self.probe_step, self.seed = optimizer, probe_step, seed
        self.K_lb_max, self.K_lb_step, self.first_critical = 0.0, None, None
        self.K_rel_rule: float | None = None
        self.K_rel_products = 0
        self.monitor: Any = None

    def attach(self, opt: Any) -> None:
        from ..torch.monitor import TrainingMonitor

        self.opt = opt
        self.monitor = TrainingMonitor(self.model, opt, warn=False, augmented=self.optimizer != "gd",
                                       callback=self._on_record)

    def _on_record(self, rec: Any) -> None:
        if rec.K_lower_bound > self.K_lb_max:
            self.K_lb_max, self.K_lb_step = rec.K_lower_bound, rec.step
        if self.first_critical is None and rec.eta_K >= 1:
            self.first_critical = rec.step
        if rec.step + 1 == self.probe_step:
            from ..torch.relative_sharpness import relative_sharpness
            from .lowdim import _full_loss

            rel = relative_sharpness(lambda: _full_loss(self.model, self.x, self.y), self.model, optimizer=self.opt,
                                     tol=1e-3, seed=self.seed, max_products=100, lambda_max=False)
            self.K_rel_rule, self.K_rel_products = rel.K_rel, rel.n_products

    def summary(self, eta: float) -> dict[str, Any]:
        if self.monitor is not None:
            self.monitor.close()
        K = self.K_rel_rule
        return {"K_lb_max": self.K_lb_max, "K_lb_max_step": self.K_lb_step, "eta_K_lb_max": eta * self.K_lb_max,
                "first_step_eta_K_lb_ge_1": self.first_critical, "K_rel_rule": K,
                "eta_K_rel_rule": None if K is None else eta * K, "K_rel_rule_products": self.K_rel_products}


def run_sweep(config: SweepConfig, run_dir: RunDirectory | None = None, progress: bool = True) -> dict[str, Any]:
    """Sweep ``eta`` across ``1/K`` and record where the neuron cloud's topology first changes.

    Args:
        config: a :class:`SweepConfig`.
        run_dir: where to write ``metrics.json``, ``sweep.csv`` and ``sweep.png`` (the caller
            calls ``finish()``); ``None`` writes nothing.
        progress: show a tqdm bar over the learning rates.

    Returns:
        Metrics: ``config``, ``data``, ``K`` (at the start, with ``eta_star``), ``rows`` (one per
        learning rate: ``eta_K``, ``eta``, ``outcome`` (one of :data:`OUTCOMES`), ``merged``,
        ``betti_changed``, ``first_change_step``, ``betti_end``, ``distinct_end``,
        ``min_distance_ratio``, ``loss_end``), ``largest_preserved_eta_K``,
        ``smallest_changed_eta_K`` (``None`` when none), ``consistent_with_theorem1``
        (no change at any ``eta*K < 1``), ``seconds``.

    Example:
        >>> metrics = run_sweep(SweepConfig.tiny(), progress=False)  # doctest: +SKIP
        >>> metrics["consistent_with_theorem1"]  # doctest: +SKIP
        True
    """

    from tqdm.auto import tqdm

    from ..data import teacher_student
    from ..torch.threads import torch_threads

    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a SweepConfig, got {type(config).__name__}")
    if run_dir is not None and not isinstance(run_dir, RunDirectory):
        raise TypeError(f"run_dir must be a RunDirectory (from start_run) or None, got {type(run_dir).__name__}")
    t0 = time.perf_counter()
    base = config.base.with_(steps=config.steps, check_every=config.check_every, tol=1e-300,
                             track_every=config.check_every)
    rows: list[dict[str, Any]] = []
    with torch_threads(base.threads):
        data = teacher_student(n=base.n_data, input_dim=base.input_dim, teacher_width=base.teacher_width,
                               seed=base.data_seed)
        if run_dir is not None:
            run_dir.record(data=data.info)
        x, y = data.tensors()
        X0 = initial_neurons(base)
        k = measure_sharpness(build_model(X0), x, y, seed=base.seed)
        K = float(k["K"])
        if not K > 0:
            raise ValueError(f"the measured sharpness at the start is {K}: no critical point 1/K to sweep across")
        f, tol = base.fraction, base.merge_tolerance
        start = quick_topology(X0, f, tol)
        for c in tqdm(config.grid, desc="sweep", disable=not progress, unit="lr"):
            eta = float(c) / K
            model = build_model(X0)
            probe = _ConstantsProbe(model, x, y, base.optimizer, config.probe_step, base.seed) \
                if config.constants else None
            res = train(model, x, y, base.with_(lr=eta), eta=eta,
                        on_check=lambda step, X: quick_topology(X, f, tol),
                        on_optimizer=None if probe is None else probe.attach)
            X1 = _neurons(model)
            recs = [h for h in res.history if "betti" in h]
            merged_any = any(h["distinct"] < start["distinct"] for h in recs)
            betti_any = any(tuple(h["betti"]) != tuple(start["betti"]) for h in recs)
            first = next((h["step"] for h in recs
                          if h["distinct"] < start["distinct"] or tuple(h["betti"]) != tuple(start["betti"])), None)
            last = recs[-1] if recs and math.isfinite(res.history[-1]["loss"]) and np.isfinite(X1).all() else None
            rows.append({
                "eta_K": float(c), "eta": eta, "outcome": _outcome(merged_any, betti_any, res.diverged),
                "merged": (start["distinct"] - last["distinct"]) if last else None,
                "merged_any": merged_any, "betti_changed": betti_any, "diverged": res.diverged,
                "first_change_step": first, "betti_start": start["betti"],
                "betti_end": last["betti"] if last else None, "distinct_end": last["distinct"] if last else None,
                "min_distance_ratio": min_distance_ratio(X0, X1), "loss_end": res.history[-1]["loss"],
                "steps": res.steps, "eta_lambda_max": eta * K,
                "eta_K_rel_start": eta * float(k["K_rel"]),
                **({} if probe is None else probe.summary(eta)),
            })
    below = [r for r in rows if r["eta_K"] < 1]
    changed = [r for r in rows if r["outcome"] != "preserved"]
    preserved = [r for r in rows if r["outcome"] == "preserved"]
    metrics: dict[str, Any] = {
        "config": config.as_dict(), "data": data.info, "K": k, "distinct_start": start["distinct"],
        "betti_start": start["betti"], "rows": rows,
        "largest_preserved_eta_K": max((r["eta_K"] for r in preserved), default=None),
        "smallest_changed_eta_K": min((r["eta_K"] for r in changed), default=None),
        "consistent_with_theorem1": all(r["outcome"] == "preserved" for r in below),
    }
    metrics["seconds"] = time.perf_counter() - t0
    if run_dir is not None:
        run_dir.write_csv("sweep", rows)
        title = (f"{base.input_dim + 1}D network, {base.optimizer}, width {base.width}, {config.steps} steps; "
                 f"K = {K:.4g}")
        run_dir.save_figure(plot_sweep(rows, K, title), "sweep")
        metrics["figures"] = ["sweep.png"]
        run_dir.write_metrics(metrics)
    return metrics
