"""Low-dimensional networks whose neuron cloud can be seen (Section 6, Figures 3, 4, 6-10; App. B, C.1).

The network is the two-layer sigmoid network of eq. (17), without biases,

    F(z; {(w_i, a_i)}) = sum_{i=1}^h a_i sigma(<w_i, z>),     z in R^d,

so neuron ``i`` is ``x_i = (w_i, a_i) in R^{d+1}``: a point in the plane for ``d = 1``
(the paper's "2D network") and in space for ``d = 2`` ("3D network"). It is trained on
the teacher-student data of App. C.1 (:func:`invariance.data.teacher_student`) with the
mean squared error ``L = (1/B) sum_s (F(z_s) - y_s)^2`` (``torch.nn.MSELoss``; the paper
does not state the loss scale, and this one reproduces its footnote 6: for ``h = 1024``
gradient descent diverges near ``eta = 4e-3``), mini-batches of 128, and gradient
descent, momentum (0.9) or Adam, from neurons placed on a shape of known topology:

* ``"genus2"``: a genus-2 shape, the disk with two holes in the plane
  (:func:`~invariance.topology.samplers.two_holed_region`, Betti ``(1, 2, 0)``) and the
  double torus surface in space (:func:`~invariance.topology.samplers.double_torus`,
  ``(1, 4, 1)``);
* ``"two-genus1"``: two disjoint genus-1 shapes, two thin annuli in the plane
  (:func:`~invariance.topology.samplers.two_annuli` with radii 0.94 and 1, 1.63 apart:
  both the gap and the holes outlive the scale ``diam/4``, whose reading is stable from
  about 0.1 to 0.28 diam, ``(2, 2, 0)``) and two disjoint
  torus surfaces in space (``(2, 4, 2)``: each torus ``(1, 2, 1)``).

Theorem 1 says that below ``eta* = 1/K`` (``K``: the smoothness constant, measured here
as ``lambda_max`` of the Hessian of the full training loss, :func:`invariance.sharpness.sharpness`)
every step is a homeomorphism of the cloud: Betti numbers and the number of distinct
neurons cannot change; above it they may. :func:`run_lowdim` trains, measures ``K``
before and after, reads the topology before and after (:func:`topology_change`: Betti
numbers at the paper's ``diam/4`` and over a band of scales, merges, and the mechanism
of a change), and writes scatter plots of the cloud before and after.

Learning rates: :data:`TABLE1` holds the paper's Table 1 (with the 2D GD large rate
``3e-3``, not the misprinted ``3e3``). Where the paper's rate does not change the
topology in our measurements, that is reported, not tuned away (``results/README.md``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from ..arguments import check_int, check_positive, check_seed
from .records import RunDirectory

__all__ = [
    "TABLE1",
    "SHAPES",
    "OPTIMIZERS",
    "LowDimConfig",
    "initial_neurons",
    "build_model",
    "train",
    "TrainResult",
    "measure_sharpness",
    "initial_sharpness",
    "topology_change",
    "plot_clouds",
    "run_lowdim",
]

#: Table 1 of the paper: ``(optimizer, input_dim d) -> (small lr, large lr)``; d = 1 is the
#: "2D" network, d = 2 the "3D" one. The 2D GD large rate is printed 3e3; footnote 6 shows 3e-3.
TABLE1: dict[tuple[str, int], tuple[float, float]] = {
    ("gd", 1): (2.5e-3, 3e-3),
    ("gd", 2): (8e-4, 9e-4),
    ("adam", 1): (1e-4, 1e-2),
    ("adam", 2): (3e-2, 1e-1),
    ("momentum", 1): (5e-4, 4.5e-3),
    ("momentum", 2): (1e-3, 1.25e-3),
}
SHAPES = ("genus2", "two-genus1")
OPTIMIZERS = ("gd", "momentum", "adam")
#: Known Betti numbers (b0, b1, b2) of the initial shapes, by (shape, input_dim).
KNOWN_BETTI: dict[tuple[str, int], tuple[int, int, int]] = {
    ("genus2", 1): (1, 2, 0), ("two-genus1", 1): (2, 2, 0),
    ("genus2", 2): (1, 4, 1), ("two-genus1", 2): (2, 4, 2),
}
#: Default fraction ``f`` of the diameter at which topology is read: the paper's 1/4 for the
#: planar shapes; 0.15 for the surfaces in space, which read (1, 0, 0) at diam/4 with ~1000
#: points (the holes of the double torus are smaller than a quarter of its diameter).
DEFAULT_FRACTION = {1: 0.25, 2: 0.15}
#: Check intervals over which the loss must stall before training counts as converged.
PATIENCE = 5
#: A pair of neurons counts as contracted when its distance fell below 1/CONTRACTION of its initial value.
CONTRACTION = 0.1
#: Modes of the breakdown diagnostics in :func:`topology_change`.
DIAGNOSTICS = ("full", "fast", "off")
#: Where the filtrations of the ``"full"`` diagnostics stop, as a fraction of each cloud's diameter:
#: the holes of the planar shapes and of the double torus die below it (the significant Betti
#: numbers of the four initial clouds, width 1024, are the same as over the whole filtration),
#: and it makes the subsampling significance affordable on dense clouds (measured in
#: :func:`topology_change`'s docstring).
FULL_MAX_SCALE = 0.5
#: Scale fractions of the Betti curve (the band over which a reading is stable).
CURVE_FRACTIONS = (0.08, 0.1, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3)


@dataclass(frozen=True)
class LowDimConfig:
    """Configuration of one low-dimensional run (defaults: the paper's 2D GD setting, small rate).

    Attributes:
        input_dim: ``d`` = 1 ("2D" network, neurons in R^2) or 2 ("3D", neurons in R^3).
        shape: initial shape of the neuron cloud, one of :data:`SHAPES`.
        width: hidden width ``h`` (the paper does not state it; 1024 matches its footnote 6).
        optimizer: ``"gd"`` (``torch.optim.SGD``), ``"momentum"`` (SGD, momentum 0.9) or ``"adam"``.
        lr: learning rate ``eta``; ``None`` takes Table 1's rate at ``lr_level``.
        lr_level: ``"small"`` or ``"large"`` (used when ``lr`` is ``None``).
        steps: the step budget (mini-batch steps).
        batch_size: mini-batch size (paper: 128).
        momentum: the momentum coefficient of ``"momentum"`` (paper: 0.9).
        seed: seed of the initial cloud and of the batch order.
        data_seed: seed of the teacher-student data.
        n_data, teacher_width: size and teacher width of the data (paper: 5000; ``h*`` unstated).
        shape_scale: the initial cloud is the sampler's shape times this factor.
        check_every: steps between checks of the full training loss (and topology records).
        tol: stop (converged) when the full loss changed by less than ``tol`` (relative) over the
            last :data:`PATIENCE` check intervals.
        merge_tolerance: neurons within ``merge_tolerance * diam`` count as merged.
        scale_fraction: the fraction ``f`` of the diameter at which Betti numbers are read
            (``None``: :data:`DEFAULT_FRACTION`); ``diam/4`` is always reported too.
        diagnostics: ``"full"`` (default), ``"fast"`` or ``"off"``: the breakdown diagnostics of
            :func:`topology_change` (``"full"``: significant Betti numbers by subsampling, filtrations
            up to :data:`FULL_MAX_SCALE`; 7-24 s for the two clouds of a width-1024 run on 2 cores;
            ``"fast"``: a fixed lifetime threshold, 8-13 s on one core).
        track_every: steps between records of Betti numbers and distinct neurons during training
            (a multiple of ``check_every`` is used; 0: only before and after).
        threads: torch CPU threads (1 by default: on a shared 2-core machine more threads are slower).
    """

    input_dim: int = 1
    shape: str = "genus2"
    width: int = 1024
    optimizer: str = "gd"
    lr: float | None = None
    lr_level: str = "small"
    steps: int = 3000
    batch_size: int = 128
    momentum: float = 0.9
    seed: int = 0
    data_seed: int = 0
    n_data: int = 5000
    teacher_width: int = 16
    shape_scale: float = 1.0
    check_every: int = 100
    tol: float = 1e-3
    merge_tolerance: float = 1e-4
    scale_fraction: float | None = None
    diagnostics: str = "full"
    track_every: int = 500
    threads: int = 1

    def __post_init__(self) -> None:
        if self.input_dim not in (1, 2) or isinstance(self.input_dim, bool):
            raise ValueError(f"input_dim must be 1 (2D network) or 2 (3D network), got {self.input_dim!r}")
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {self.shape!r}")
        check_int(self.width, "width", 4)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.lr is not None:
            object.__setattr__(self, "lr", check_positive(self.lr, "lr"))
        if self.lr_level not in ("small", "large"):
            raise ValueError(f"lr_level must be 'small' or 'large', got {self.lr_level!r}")
        check_int(self.steps, "steps", 1)
        check_int(self.batch_size, "batch_size", 1)
        if not 0 <= float(self.momentum) < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        check_seed(self.seed)
        check_seed(self.data_seed)
        check_int(self.n_data, "n_data", 10)
        check_int(self.teacher_width, "teacher_width", 1)
        check_positive(self.shape_scale, "shape_scale")
        check_int(self.check_every, "check_every", 1)
        check_positive(self.tol, "tol")
        check_positive(self.merge_tolerance, "merge_tolerance")
        if self.scale_fraction is not None:
            f = check_positive(self.scale_fraction, "scale_fraction")
            if f >= 1:
                raise ValueError(f"scale_fraction must be in (0, 1), got {self.scale_fraction!r}")
        check_int(self.track_every, "track_every", 0)
        if self.diagnostics not in DIAGNOSTICS:
            raise ValueError(f"diagnostics must be one of {DIAGNOSTICS}, got {self.diagnostics!r}")
        check_int(self.threads, "threads", 1)

    @property
    def eta(self) -> float:
        """The learning rate used: ``lr``, or Table 1's rate for ``(optimizer, input_dim, lr_level)``."""
        if self.lr is not None:
            return float(self.lr)
        small, large = TABLE1[(self.optimizer, self.input_dim)]
        return small if self.lr_level == "small" else large

    @property
    def fraction(self) -> float:
        """The scale fraction ``f`` at which topology is read."""
        return float(self.scale_fraction) if self.scale_fraction is not None else DEFAULT_FRACTION[self.input_dim]

    @property
    def label(self) -> str:
        """A short name, e.g. ``"2d-gd-genus2-lr0.0025"``."""
        return f"{self.input_dim + 1}d-{self.optimizer}-{self.shape}-lr{self.eta:g}"

    @classmethod
    def tiny(cls, **overrides: Any) -> LowDimConfig:
        """A configuration that runs in about a second: width 128, 600 data points, 150 steps.

        Example:
            >>> LowDimConfig.tiny(optimizer="adam").width
            128
        """
        base: dict[str, Any] = dict(width=128, n_data=600, steps=150, check_every=50, tol=1e-9, track_every=50,
                                    diagnostics="off")
        base.update(overrides)
        return cls(**base)

    def with_(self, **changes: Any) -> LowDimConfig:
        """A copy with ``changes`` (validated again).

        Example:
            >>> LowDimConfig().with_(lr_level="large").eta
            0.003
        """
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the configuration, with the resolved ``eta`` and scale fraction."""
        d = asdict(self)
        d["eta"] = self.eta
        d["fraction"] = self.fraction
        return d


def _two_tori(n: int, seed: int) -> NDArray[np.float64]:
    """Two disjoint torus surfaces in R^3 (major 1, minor 0.45, centres 3.5 apart): Betti (2, 4, 2)."""
    rng = np.random.default_rng(seed)
    major, minor = 1.0, 0.45
    out: list[NDArray[np.float64]] = []
    count = 0
    while count < n:
        m = 2 * (n - count) + 64
        u, v = rng.uniform(0, 2 * np.pi, m), rng.uniform(0, 2 * np.pi, m)
        keep = rng.uniform(0, major + minor, m) < major + minor * np.cos(v)  # uniform by area
        cx = np.where(rng.integers(2, size=m) == 0, -1.75, 1.75)
        ring = major + minor * np.cos(v)
        p = np.stack([cx + ring * np.cos(u), ring * np.sin(u), minor * np.sin(v)], axis=1)[keep]
        out.append(p)
        count += p.shape[0]
    return np.concatenate(out)[:n]


def initial_neurons(config: LowDimConfig) -> NDArray[np.float64]:
    """The initial cloud ``(h, d+1)``: rows ``(w_i, a_i)`` sampled on ``config.shape``, seeded by ``config.seed``.

    The last coordinate is the outgoing weight ``a_i``, the first ``d`` the incoming ``w_i``.

    Example:
        >>> initial_neurons(LowDimConfig(width=8)).shape
        (8, 2)
        >>> initial_neurons(LowDimConfig(width=8, input_dim=2, shape="two-genus1")).shape
        (8, 3)
    """
    from ..topology import samplers

    if not isinstance(config, LowDimConfig):
        raise TypeError(f"config must be a LowDimConfig, got {type(config).__name__}")
    n, seed = config.width, config.seed
    if config.input_dim == 1:
        X = (samplers.two_holed_region(n, seed=seed) if config.shape == "genus2"
             else samplers.two_annuli(n, inner=0.94, outer=1.0, gap=1.63, seed=seed))
    else:
        X = samplers.double_torus(n, seed=seed) if config.shape == "genus2" else _two_tori(n, seed)
    return np.ascontiguousarray(X * config.shape_scale, dtype=np.float64)


def build_model(neurons: NDArray[np.float64]) -> Any:
    """The network of eq. (17) with the given neurons: ``Linear(d, h) -> Sigmoid -> Linear(h, 1)``, no biases.

    ``invariance.torch.specs.mlp_spec(model).neurons(model)`` returns the rows ``(w_i, a_i)`` again.

    Example:
        >>> import numpy as np
        >>> from invariance.torch.specs import mlp_spec
        >>> X = np.array([[0.5, 1.0], [-1.0, 2.0], [2.0, -0.5]])
        >>> model = build_model(X)
        >>> bool(np.allclose(mlp_spec(model).neurons(model).points, X))
        True
    """
    import torch

    X = np.asarray(neurons, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"neurons must be an (h, d+1) array with d >= 1, got shape {X.shape}")
    h, d = X.shape[0], X.shape[1] - 1
    first, last = torch.nn.Linear(d, h, bias=False), torch.nn.Linear(h, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.as_tensor(X[:, :d]))
        last.weight.copy_(torch.as_tensor(X[:, d][None, :]))
    return torch.nn.Sequential(first, torch.nn.Sigmoid(), last).to(torch.float64)


def _neurons(model: Any) -> NDArray[np.float64]:
    w = model[0].weight.detach().cpu().numpy()
    a = model[2].weight.detach().cpu().numpy()[0][:, None]
    return np.ascontiguousarray(np.concatenate([w, a], axis=1), dtype=np.float64)


def _full_loss(model: Any, x: Any, y: Any) -> Any:
    return ((model(x) - y) ** 2).mean()


def measure_sharpness(model: Any, x: Any, y: Any, tol: float = 1e-3, seed: int = 0) -> dict[str, Any]:
    """``K = lambda_max`` of the Hessian of the full training loss (all parameters), with ``1/K`` and ``2/K``.

    Args:
        model: the network (float64).
        x, y: the full training set as tensors (``y`` of shape ``(n, 1)``).
        tol: relative accuracy of Lanczos.
        seed: seed of the Lanczos start vector.

    Returns:
        ``{"K", "eta_star" (1/K), "edge_of_stability" (2/K), "residual", "n_hvp", "converged",
        "K_rel", "eta_star_rel", "K_rel_products"}``: ``K_rel = ||Pi_R H Pi_R||`` of the hidden
        layer (:func:`invariance.torch.relative_sharpness`, the constant Lemma 4 needs).
    """
    from ..sharpness import sharpness
    from ..torch.relative_sharpness import relative_sharpness

    res = sharpness(lambda: _full_loss(model, x, y), list(model.parameters()), tol=tol, seed=seed, max_hvp=100)
    rel = relative_sharpness(lambda: _full_loss(model, x, y), model, tol=tol, seed=seed, max_products=100,
                             lambda_max=False)
    return {"K": res.eigenvalue, "eta_star": res.eta_star, "edge_of_stability": res.edge_of_stability,
            "residual": res.residual, "n_hvp": res.n_hvp, "converged": res.converged,
            "K_rel": rel.K_rel, "eta_star_rel": rel.eta_star_rel, "K_rel_products": rel.n_products}


def initial_sharpness(config: LowDimConfig) -> dict[str, Any]:
    """:func:`measure_sharpness` at the initial cloud of ``config`` on its training data (no training).

    Use it to choose learning rates relative to the critical point, ``eta = c / K``.

    Example:
        >>> k = initial_sharpness(LowDimConfig(width=16, n_data=100))
        >>> k["K"] > 0 and abs(k["eta_star"] * k["K"] - 1) < 1e-12
        True
    """

    from ..data import teacher_student
    from ..torch.threads import torch_threads

    if not isinstance(config, LowDimConfig):
        raise TypeError(f"config must be a LowDimConfig, got {type(config).__name__}")
    data = teacher_student(n=config.n_data, input_dim=config.input_dim, teacher_width=config.teacher_width,
                           seed=config.data_seed)
    x, y = data.tensors()
    with torch_threads(config.threads):
        return measure_sharpness(build_model(initial_neurons(config)), x, y, seed=config.seed)


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes:
        steps: steps taken.
        converged: the loss stopped improving (relative change below ``tol`` over ``PATIENCE`` checks).
        diverged: the loss became non-finite or grew 1e6-fold.
        history: one dict per check: ``step``, ``loss`` (full training loss), ``batch_loss``
            and whatever ``on_check`` returned.
        seconds: wall time.
    """

    steps: int
    converged: bool
    diverged: bool
    history: list[dict[str, Any]]
    seconds: float


def _optimizer(config: LowDimConfig, params: Any, eta: float) -> Any:
    import torch

    if config.optimizer == "gd":
        return torch.optim.SGD(params, lr=eta)
    if config.optimizer == "momentum":
        return torch.optim.SGD(params, lr=eta, momentum=config.momentum)
    return torch.optim.Adam(params, lr=eta)


def train(model: Any, x: Any, y: Any, config: LowDimConfig, eta: float | None = None, progress: bool = False,
          on_check: Callable[[int, NDArray[np.float64]], dict[str, Any]] | None = None,
          desc: str = "train", on_optimizer: Callable[[Any], Any] | None = None) -> TrainResult:
    """Train ``model`` with ``config.optimizer`` at ``eta`` on mini-batches until convergence or ``config.steps``.

    Each epoch is a seeded permutation (``config.seed``) of the training set cut into
    batches of ``config.batch_size``. Every ``config.check_every`` steps (and at step 0
    and the end) the full training loss is recorded and ``on_check(step, neurons)`` is
    called; its dict is merged into the record.

    Args:
        model: from :func:`build_model`.
        x, y: training inputs ``(n, d)`` and targets ``(n, 1)`` (float64 tensors).
        config: the run's :class:`LowDimConfig`.
        eta: learning rate (default ``config.eta``).
        progress: show a tqdm bar.
        on_check: optional callback.
        desc: the progress bar's label.
        on_optimizer: called once with the torch optimizer before the first step (to attach a
            :class:`~invariance.torch.TrainingMonitor`, for instance).

    Returns:
        A :class:`TrainResult`.
    """
    import torch
    from tqdm.auto import tqdm

    eta = config.eta if eta is None else check_positive(eta, "eta")
    opt = _optimizer(config, model.parameters(), eta)
    if on_optimizer is not None:
        on_optimizer(opt)
    gen = torch.Generator().manual_seed(config.seed)
    n = x.shape[0]
    bs = min(config.batch_size, n)
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    converged = diverged = False
    with torch.no_grad():
        loss0 = float(_full_loss(model, x, y))

    def check(step: int, batch_loss: float) -> float:
        with torch.no_grad():
            loss = float(_full_loss(model, x, y))
        rec: dict[str, Any] = {"step": step, "loss": loss, "batch_loss": batch_loss}
        if on_check is not None and math.isfinite(loss):
            rec.update(on_check(step, _neurons(model)))
        history.append(rec)
        return loss

    check(0, loss0)
    order = torch.randperm(n, generator=gen)
    pos = 0
    step = 0
    with tqdm(total=config.steps, desc=desc, disable=not progress, unit="step", leave=False) as bar:
        while step < config.steps:
            if pos + bs > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos: pos + bs]
            pos += bs
            opt.zero_grad()
            batch = _full_loss(model, x[idx], y[idx])
            batch.backward()
            opt.step()
            step += 1
            bar.update(1)
            bl = float(batch.detach())
            if not math.isfinite(bl) or bl > 1e6 * max(loss0, 1e-12):
                diverged = True
                check(step, bl)
                break
            if step % config.check_every == 0 or step == config.steps:
                loss = check(step, bl)
                if not math.isfinite(loss) or loss > 1e6 * max(loss0, 1e-12):
                    diverged = True
                    break
                window = [h["loss"] for h in history[-(PATIENCE + 1):]]
                if len(window) == PATIENCE + 1 and abs(window[0] - loss) < config.tol * window[0]:
                    converged = True
                    break
                bar.set_postfix(loss=f"{loss:.3g}")
    return TrainResult(steps=step, converged=converged, diverged=diverged, history=history,
                       seconds=time.perf_counter() - t0)


def _betti_curve(X: NDArray[np.float64], fractions: tuple[float, ...]) -> list[tuple[int, ...]]:
    from ..topology import RelativeScale, betti_numbers

    max_dim = 2
    return [betti_numbers(X, RelativeScale(f), max_dim=max_dim) for f in fractions]


def _band(fractions: tuple[float, ...], curve: list[tuple[int, ...]], at: float) -> list[float]:
    """The contiguous range of fractions around ``at`` over which the Betti tuple equals the one at ``at``."""
    k = int(np.argmin([abs(f - at) for f in fractions]))
    lo = hi = k
    while lo > 0 and curve[lo - 1] == curve[k]:
        lo -= 1
    while hi < len(curve) - 1 and curve[hi + 1] == curve[k]:
        hi += 1
    return [fractions[lo], fractions[hi]]


def quick_topology(X: NDArray[np.float64], fraction: float, merge_tolerance: float) -> dict[str, Any]:
    """Betti numbers at ``fraction * diam`` and the number of distinct neurons (cheap; for records during training).

    Example:
        >>> from invariance.topology import samplers
        >>> quick_topology(samplers.circle(60, seed=0), 0.25, 1e-3)["betti"]
        (1, 1, 0)
    """
    from ..topology import RelativeScale, betti_numbers, merge_clusters

    return {"betti": betti_numbers(X, RelativeScale(fraction)),
            "distinct": merge_clusters(X, merge_tolerance).n_clusters}


def topology_change(before: NDArray[np.float64], after: NDArray[np.float64], fraction: float = 0.25,
                    merge_tolerance: float = 1e-4, diagnostics: str = "full", eta: float | None = None,
                    K: float | None = None) -> dict[str, Any]:
    """How the topology of the neuron cloud changed between two snapshots, with scale band and mechanism.

    This is the one place where the scale-robust diagnostics plug in:
    :func:`invariance.topology.breakdown_diagnostics` (merging vs spreading, Lemma 2
    violations for ``eta`` and ``K``, significant Betti numbers with their scale bands,
    the normalised bottleneck distance) is added under ``"diagnostics"`` and its
    ``mechanism`` is the one reported. ``diagnostics="full"`` (default): significant Betti
    numbers by subsampling (20 subsamples of half the neurons, confidence 0.95, filtrations up
    to :data:`FULL_MAX_SCALE` of each diameter, both cores); ``"fast"``: a fixed lifetime
    threshold of 0.1 diam over the whole filtration (``H_2`` up to 0.75 diam), one core;
    ``"off"``: not run. Measured on 2 cores for the initial cloud of width 1024 and a copy
    with noise 0.01 (genus-2 / two genus-1 shapes): ``"full"`` 7.3 / 21.8 s in R^2 and
    23.9 / 14.8 s in R^3, ``"fast"`` 13.3 / 11.0 s and 10.1 / 8.0 s; the whole filtration
    with significance took 19-36 s on both cores and gave the same significant Betti numbers.
    Beside it, and as the fallback, this function measures:

    * Betti numbers at the paper's ``diam/4`` and at ``fraction * diam`` (each snapshot at
      its own diameter, the paper's self-adaptive scale), and the Betti curve over
      :data:`CURVE_FRACTIONS` with the band of fractions over which the reading at
      ``fraction`` is stable;
    * merges: clusters of neurons within ``merge_tolerance * diam`` (single linkage); the
      number of distinct neurons before and after;
    * contracted pairs: pairs whose distance shrank by more than the factor
      :data:`CONTRACTION` (10) to below ``0.01 * diam``: neurons collapsing toward each
      other that have not (yet) come within the merge tolerance;
    * the mechanism: ``"merging"`` when the number of distinct neurons fell or pairs contracted,
      ``"spreading"`` when the diameter grew by more than 25% or the cloud's effective
      dimension (participation ratio of the covariance spectrum) rose by more than 25%,
      both, or ``"none"``.

    Args:
        before, after: ``(h, D)`` clouds with the same rows (neuron ``i`` in both).
        fraction: the scale fraction ``f`` in ``(0, 1)`` of the reading.
        merge_tolerance: relative merge tolerance.
        diagnostics: ``"full"``, ``"fast"`` or ``"off"`` (see above).
        eta, K: step size and ``K`` (both or neither) for the Lemma 2 counts of the diagnostics; give
            them only when ``after`` is one step from ``before`` (Lemma 2 bounds a single step).

    Returns:
        A JSON-friendly dict: ``betti_before``/``betti_after`` (at ``fraction``),
        ``betti_quarter_before``/``after`` (at ``diam/4``), ``band_before``/``band_after``,
        ``curve_fractions``, ``curve_before``/``curve_after``, ``distinct_before``/``after``,
        ``merged`` (distinct neurons lost), ``contracted_pairs``, ``diameter_before``/``after``,
        ``betti_changed``, ``changed`` (the Betti numbers at ``fraction`` changed or the number of
        distinct neurons fell; collapsed pairs alone do not count), ``mechanism``.

    Example:
        >>> from invariance.topology import samplers
        >>> X = samplers.circle(80, seed=0)
        >>> r = topology_change(X, 1.1 * X, diagnostics="off")
        >>> r["betti_before"], r["betti_after"], r["changed"], r["mechanism"]
        ((1, 1, 0), (1, 1, 0), False, 'none')
    """
    from ..topology import diameter, merge_clusters

    A = np.asarray(before, dtype=np.float64)
    B = np.asarray(after, dtype=np.float64)
    if A.shape != B.shape or A.ndim != 2:
        raise ValueError(f"before and after must be (h, D) arrays of the same shape, got {A.shape} and {B.shape}")
    f = check_positive(fraction, "fraction")
    if not np.isfinite(B).all():
        return {"betti_before": None, "betti_after": None, "changed": True, "betti_changed": True,
                "mechanism": "diverged", "diverged": True}
    fractions = tuple(sorted(set(CURVE_FRACTIONS) | {f, 0.25}))
    cb, ca = _betti_curve(A, fractions), _betti_curve(B, fractions)
    at = fractions.index(f)
    q = fractions.index(0.25)
    d_before, d_after = merge_clusters(A, merge_tolerance).n_clusters, merge_clusters(B, merge_tolerance).n_clusters
    diam_a, diam_b = diameter(A), diameter(B)

    def eff_dim(X: NDArray[np.float64]) -> float:
        ev = np.clip(np.linalg.eigvalsh(np.cov(X.T)), 0, None)
        return float(ev.sum() ** 2 / max((ev**2).sum(), 1e-300))

    dim_a, dim_b = eff_dim(A), eff_dim(B)
    from scipy.spatial.distance import pdist

    pa, pb = pdist(A), pdist(B)
    contracted = int(np.sum((pb < CONTRACTION * pa) & (pb < 0.01 * diam_b)))
    merging = d_after < d_before or contracted > 0
    spreading = diam_b > 1.25 * diam_a or dim_b > 1.25 * dim_a
    mechanism = "merging+spreading" if merging and spreading else (
        "merging" if merging else ("spreading" if spreading else "none"))
    out: dict[str, Any] = {
        "fraction": f,
        "betti_before": cb[at], "betti_after": ca[at],
        "betti_quarter_before": cb[q], "betti_quarter_after": ca[q],
        "band_before": _band(fractions, cb, f), "band_after": _band(fractions, ca, f),
        "curve_fractions": list(fractions), "curve_before": cb, "curve_after": ca,
        "distinct_before": d_before, "distinct_after": d_after, "merged": d_before - d_after,
        "contracted_pairs": contracted,
        "diameter_before": diam_a, "diameter_after": diam_b,
        "effective_dim_before": dim_a, "effective_dim_after": dim_b,
        "merge_tolerance": merge_tolerance,
    }
    out["betti_changed"] = cb[at] != ca[at]
    out["changed"] = bool(out["betti_changed"] or d_after < d_before)  # collapsed pairs alone are no change
    out["mechanism"] = mechanism
    out["mechanism_source"] = "fallback (merge clusters, diameter, participation ratio)"
    if diagnostics not in DIAGNOSTICS:
        raise ValueError(f"diagnostics must be one of {DIAGNOSTICS}, got {diagnostics!r}")
    report = _diagnostics(A, B, diagnostics, f, merge_tolerance, eta, K)
    if report is not None:
        out["diagnostics"] = report
        out["mechanism_fallback"] = mechanism
        out["mechanism"] = report["mechanism"]
        out["mechanism_source"] = "invariance.topology.breakdown_diagnostics"
        out["persistent_betti_before"], out["persistent_betti_after"] = report["persistent_betti"]
        out["persistent_bands_before"], out["persistent_bands_after"] = report["persistent_bands"]
        out["diagram_distance"] = report["diagram_distance"]
    return out


def _diagnostics(A: NDArray[np.float64], B: NDArray[np.float64], mode: str, fraction: float, tol: float,
                 eta: float | None, K: float | None) -> dict[str, Any] | None:
    """``invariance.topology.breakdown_diagnostics(A, B, ...).as_dict()``, or ``None`` (``mode="off"``
    or the function is missing)."""
    from .. import topology

    fn = getattr(topology, "breakdown_diagnostics", None)
    if fn is None or mode == "off":
        return None
    options: dict[str, Any] = {"tolerance": tol, "scale": topology.RelativeScale(fraction),
                               "significance": mode == "full"}
    if mode == "fast":
        options.update(min_persistence=0.1, threads=1)
    else:  # both cores: the diagram of each cloud, then one subsample per thread
        options.update(max_scale=FULL_MAX_SCALE, threads=2)
    if eta is not None and K is not None and K > 0:  # one step only: Lemma 2 bounds a single step
        options.update(eta=eta, K=K)
    report = fn(A, B, **options)
    result = dict(report.as_dict())
    result["table"] = report.table()
    return result


def plot_clouds(before: NDArray[np.float64], after: NDArray[np.float64], title: str = "",
                labels: tuple[str, str] = ("before", "after")) -> Any:
    """A matplotlib figure: the cloud before and after, coloured by each neuron's initial position.

    2-D clouds: two scatter panels (axes ``w``, ``a``); 3-D clouds: two 3-D views per
    snapshot (elevations 25 and 80 degrees). The caller saves and closes it.
    """
    from .records import _use_agg

    _use_agg()
    import matplotlib.pyplot as plt

    A, B = np.asarray(before), np.asarray(after)
    colour = np.arctan2(A[:, 1] - A[:, 1].mean(), A[:, 0] - A[:, 0].mean())  # angle in the first two coordinates
    sc = None
    if A.shape[1] == 2:
        fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
        for ax, X, lab in zip(axes, (A, B), labels):
            sc = ax.scatter(X[:, 0], X[:, 1], c=colour, cmap="hsv", s=5, vmin=-np.pi, vmax=np.pi)
            ax.set_xlabel("w (incoming weight)")
            ax.set_ylabel("a (outgoing weight)")
            ax.set_title(lab)
            ax.set_aspect("equal", adjustable="datalim")
    else:
        fig = plt.figure(figsize=(10, 8))
        for k, (X, lab) in enumerate(zip((A, B), labels)):
            for j, elev in enumerate((25, 80)):
                ax = fig.add_subplot(2, 2, 2 * k + j + 1, projection="3d")
                sc = ax.scatter(X[:, 0], X[:, 1], X[:, 2], c=colour, cmap="hsv", s=3, vmin=-np.pi, vmax=np.pi)
                ax.view_init(elev=elev, azim=-60)
                if np.isfinite(X).all():
                    ax.set_box_aspect(tuple(np.maximum(np.ptp(X, axis=0), 1e-3 * np.ptp(X).max())))
                ax.set_title(f"{lab} (elevation {elev})")
                ax.set_xlabel("w1")
                ax.set_ylabel("w2")
                ax.set_zlabel("a")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if sc is not None:
        bar = fig.colorbar(sc, ax=fig.axes, shrink=0.8, pad=0.02)
        bar.set_label("initial angle (rad): one colour per neuron")
    return fig


def run_lowdim(config: LowDimConfig, run_dir: RunDirectory | None = None, progress: bool = True,
               figure_name: str = "neurons") -> dict[str, Any]:
    """Train one low-dimensional network and measure whether its topology changed.

    Steps: data (:func:`~invariance.data.teacher_student`, ``d = config.input_dim``), the
    initial cloud (:func:`initial_neurons`), ``K`` at the start (:func:`measure_sharpness`),
    training (:func:`train`), ``K`` at the end, the topology before and after
    (:func:`topology_change`), and a figure (:func:`plot_clouds`).

    Args:
        config: a :class:`LowDimConfig`.
        run_dir: where to write ``metrics.json``, ``history.csv`` and ``<figure_name>.png``
            (the caller calls ``finish()``); ``None`` writes nothing.
        progress: show a tqdm bar.
        figure_name: the figure's file name (without ``.png``).

    Returns:
        Metrics: ``config``, ``data``, ``eta``, ``K_start``/``K_end`` (with ``eta_star``),
        ``eta_K_start``/``eta_K_end`` (``eta * K``; for momentum also the effective step
        ``eta/(1-beta)`` times ``K``), ``topology`` (:func:`topology_change`), training
        (``steps``, ``converged``, ``diverged``, ``loss_start``, ``loss_end``), ``seconds``.

    Example:
        >>> metrics = run_lowdim(LowDimConfig.tiny(), progress=False)  # doctest: +SKIP
        >>> metrics["topology"]["changed"]  # doctest: +SKIP
        False
    """
    import torch

    from ..data import teacher_student
    from ..torch.threads import torch_threads

    if not isinstance(config, LowDimConfig):
        raise TypeError(f"config must be a LowDimConfig, got {type(config).__name__}")
    if run_dir is not None and not isinstance(run_dir, RunDirectory):
        raise TypeError(f"run_dir must be a RunDirectory (from start_run) or None, got {type(run_dir).__name__}")
    t0 = time.perf_counter()
    with torch_threads(config.threads):
        data = teacher_student(n=config.n_data, input_dim=config.input_dim, teacher_width=config.teacher_width,
                               seed=config.data_seed)
        if run_dir is not None:
            run_dir.record(data=data.info)
        x, y = data.tensors()
        X0 = initial_neurons(config)
        model = build_model(X0)
        eta = config.eta
        k_start = measure_sharpness(model, x, y, seed=config.seed)
        f, tol = config.fraction, config.merge_tolerance

        def on_check(step: int, X: NDArray[np.float64]) -> dict[str, Any]:
            every = config.track_every
            if every and (step == 0 or step // config.check_every % max(1, every // config.check_every) == 0):
                return quick_topology(X, f, tol)
            return {}

        result = train(model, x, y, config, eta=eta, progress=progress, on_check=on_check, desc=config.label)
        from tqdm.auto import tqdm

        with tqdm(total=2, desc=f"{config.label}: after training", disable=not progress, leave=False,
                  bar_format="{desc}: {n}/{total} {postfix}") as phase:
            phase.set_postfix_str("sharpness at the end")
            X1 = _neurons(model)
            finite = bool(np.isfinite(X1).all())
            k_end = measure_sharpness(model, x, y, seed=config.seed) if finite else {"K": math.nan}
            phase.update(1)
            phase.set_postfix_str(f"topology before/after, diagnostics {config.diagnostics!r}")
            # before/after span many steps: Lemma 2's one-step bound 1 - eta K does not apply, so no eta, K here
            topo = topology_change(X0, X1, f, tol, diagnostics=config.diagnostics)
            phase.update(1)
        with torch.no_grad():
            test_loss = float(_full_loss(model, *data.tensors(split="test")))
    eff = eta / (1 - config.momentum) if config.optimizer == "momentum" else eta
    metrics: dict[str, Any] = {
        "config": config.as_dict(), "data": data.info, "eta": eta,
        "K_start": k_start, "K_end": k_end,
        "eta_K_start": eta * k_start["K"], "eta_K_end": eta * k_end["K"],
        "one_over_K_start": 1.0 / k_start["K"] if k_start["K"] > 0 else math.inf,
        "effective_eta_K_start": eff * k_start["K"],
        "steps": result.steps, "converged": result.converged, "diverged": result.diverged,
        "loss_start": result.history[0]["loss"], "loss_end": result.history[-1]["loss"], "test_loss_end": test_loss,
        "max_displacement": float(np.max(np.linalg.norm(X1 - X0, axis=1))) if finite else math.inf,
        "topology": topo,
        "topology_changed_during_training": _changed_during(result.history),
        "train_seconds": result.seconds,
    }
    if config.optimizer == "adam":
        metrics["note_K"] = ("Adam's step is eta/(sqrt(v)+eps) per coordinate: eta*K of the loss is not the "
                             "P2-K constant of the stateless Adam rule; it is reported for comparison only")
    if run_dir is not None:
        run_dir.write_csv("history", result.history)
        title = (f"{config.input_dim + 1}D network, {config.optimizer}, eta={eta:g}, eta*K={metrics['eta_K_start']:.3g}"
                 f"\nBetti@{f:g}diam {topo.get('betti_before')} -> {topo.get('betti_after')}, distinct neurons "
                 f"{topo.get('distinct_before')} -> {topo.get('distinct_after')}")
        if finite:
            run_dir.save_figure(plot_clouds(X0, X1, title), figure_name)
            metrics["figures"] = [f"{figure_name}.png"]
        metrics["seconds"] = time.perf_counter() - t0
        run_dir.write_metrics(metrics)
    metrics["seconds"] = time.perf_counter() - t0
    metrics["neurons_before"] = X0
    metrics["neurons_after"] = X1
    return metrics


def _changed_during(history: list[dict[str, Any]]) -> dict[str, Any]:
    """First check at which the recorded Betti numbers or distinct-neuron count differ from step 0."""
    recs = [h for h in history if "betti" in h]
    if not recs:
        return {"tracked": False}
    b0, d0 = recs[0]["betti"], recs[0]["distinct"]
    for h in recs[1:]:
        if h["betti"] != b0 or h["distinct"] < d0:
            return {"tracked": True, "changed": True, "first_step": h["step"], "betti": h["betti"],
                    "distinct": h["distinct"]}
    return {"tracked": True, "changed": False}
