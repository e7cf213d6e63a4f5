"""Grids of runs (settings x learning rates x seeds) on a Dask cluster, resumable cell by cell.

The paper's experiments are grids. :func:`run_grid` runs one on ``dask.distributed``: by
default on an embedded ``LocalCluster`` (processes, one torch thread each, as many workers as
cores), or on any cluster a :class:`distributed.Client` is connected to (``--scheduler
ADDRESS`` on the command line; SLURM/PBS through ``dask-jobqueue``, see the README).

* **Cells.** Each cell is one low-dimensional run (:func:`~invariance.experiments.lowdim.run_lowdim`)
  in its own run directory ``OUT/<setting>-etaK<c>-seed<s>/`` (``config.json`` with seed and
  versions, ``metrics.json``, ``neurons.png``), exactly as ``invariance experiment lowdim``
  writes it. Rates are given as ``eta K`` (``c``; ``eta = c / K``, ``K = lambda_max`` of the
  Hessian at the cell's start, as the sweep does) or as plain learning rates.
* **Resume.** A cell whose ``config.json`` records ``finished`` and whose ``metrics.json``
  exists is not run again: rerunning a grid computes only what is missing. A cell cut off
  (a killed worker, a crash) has no ``finished`` mark and is run again; Dask itself reschedules
  the tasks of a lost worker on the others.
* **Failures.** A cell that raises is reported (``failed`` in the summary, with the error) and
  the other cells go on.
* **Summary.** ``OUT/grid.json`` (every cell's row, the config, the seeds), ``OUT/grid.csv``,
  and ``OUT/grid.png``: the fraction of seeds whose topology changed, and the neurons lost,
  against ``eta K`` per setting, with the spread over seeds as a band.

Example:
    >>> cfg = GridConfig(base={"width": 16, "steps": 20, "n_data": 100}, settings=[{"optimizer": "gd"}],
    ...                  eta_K=[0.5], seeds=[0])
    >>> [c.name for c in cfg.cells()]
    ['2d-gd-genus2-etaK0.5-seed0']
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["GridConfig", "GridCell", "run_grid", "run_cell", "cell_finished", "load_grid_config"]


@dataclass(frozen=True)
class GridCell:
    """One cell of a grid: a setting, a rate and a seed."""

    name: str
    setting: str  # the setting's label, e.g. 2d-gd-genus2
    rate: str  # the rate's label, e.g. etaK0.5 or lr0.001
    config: dict[str, Any]  # LowDimConfig fields (without lr)
    eta_K: float | None  # the rate as eta K (eta = eta_K / K at the start), or
    lr: float | None  # a plain learning rate
    seed: int


@dataclass(frozen=True)
class GridConfig:
    """A grid: ``settings`` x rates x ``seeds`` over a common ``base``.

    Args:
        base: :class:`~invariance.experiments.lowdim.LowDimConfig` fields shared by every cell
            (e.g. ``{"width": 256, "steps": 400}``).
        settings: one dict of ``LowDimConfig`` fields per setting (e.g. ``{"optimizer": "adam"}``).
        eta_K: rates as multiples ``c`` of ``1/K`` (``eta = c / K``), or
        lr: plain learning rates (give exactly one of ``eta_K`` and ``lr``).
        seeds: the seeds (distinct, ``>= 0``).

    Raises:
        ValueError: empty settings, rates or seeds; both or neither of ``eta_K`` and ``lr``;
            rates not finite and ``> 0``; repeated seeds; a field ``LowDimConfig`` rejects.
    """

    base: Mapping[str, Any] = field(default_factory=dict)
    settings: Sequence[Mapping[str, Any]] = field(default_factory=lambda: [{}])
    eta_K: Sequence[float] | None = None
    lr: Sequence[float] | None = None
    seeds: Sequence[int] = (0,)

    def __post_init__(self) -> None:
        from .lowdim import LowDimConfig

        if not isinstance(self.base, Mapping):
            raise ValueError(f"base must be a mapping of LowDimConfig fields, got {type(self.base).__name__}")
        if not self.settings or not all(isinstance(s, Mapping) for s in self.settings):
            raise ValueError("settings must be a non-empty list of mappings of LowDimConfig fields")
        if (self.eta_K is None) == (self.lr is None):
            raise ValueError("give exactly one of eta_K (rates as multiples of 1/K) and lr (plain learning rates)")
        rates = list(self.eta_K if self.eta_K is not None else self.lr or [])
        name = "eta_K" if self.eta_K is not None else "lr"
        if not rates or not all(isinstance(r, (int, float)) and math.isfinite(r) and r > 0 for r in rates):
            raise ValueError(f"{name} must be a non-empty list of finite numbers > 0, got {rates!r}")
        seeds = list(self.seeds)
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds) \
                or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be a non-empty list of distinct integers >= 0, got {seeds!r}")
        for key in ("lr", "seed"):
            if key in self.base or any(key in s for s in self.settings):
                raise ValueError(f"{key!r} is set by the grid, not by base or settings")
        for s in self.settings:  # every setting must be a valid LowDimConfig
            try:
                LowDimConfig(**{**self.base, **s, "lr": 1e-3})
            except TypeError as err:
                raise ValueError(f"setting {dict(s)}: {err}") from None
        names = [self._label(s) for s in self.settings]
        if len(set(names)) != len(names):
            raise ValueError(f"two settings have the same label {names}: they must differ in dim, optimizer or shape")

    def _label(self, setting: Mapping[str, Any]) -> str:
        from .lowdim import LowDimConfig

        cfg = LowDimConfig(**{**self.base, **setting, "lr": 1e-3})
        extra = "".join(f"-{k}{v}" for k, v in sorted(setting.items())
                        if k not in ("input_dim", "optimizer", "shape"))
        return f"{cfg.input_dim + 1}d-{cfg.optimizer}-{cfg.shape}{extra}"

    def cells(self) -> list[GridCell]:
        """Every cell, settings first, then rates, then seeds."""
        out = []
        rates = list(self.eta_K if self.eta_K is not None else self.lr or [])
        for setting in self.settings:
            label = self._label(setting)
            for r in rates:
                for s in self.seeds:
                    tag = f"etaK{r:g}" if self.eta_K is not None else f"lr{r:g}"
                    out.append(GridCell(name=f"{label}-{tag}-seed{s}", setting=label, rate=tag,
                                        config={**self.base, **setting},
                                        eta_K=float(r) if self.eta_K is not None else None,
                                        lr=float(r) if self.lr is not None else None, seed=int(s)))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"base": dict(self.base), "settings": [dict(s) for s in self.settings],
                "eta_K": None if self.eta_K is None else list(self.eta_K),
                "lr": None if self.lr is None else list(self.lr), "seeds": list(self.seeds)}


def load_grid_config(path: str | os.PathLike[str]) -> GridConfig:
    """A :class:`GridConfig` from a JSON or TOML file (keys ``base``, ``settings``, ``eta_K`` or ``lr``, ``seeds``).

    Raises:
        ValueError: the file cannot be read or parsed, or its content is not a valid grid.
    """
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read the grid config {str(p)!r}: {err.strerror}") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text.decode())
        else:
            data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"the grid config {str(p)!r} is not valid {p.suffix.lstrip('.') or 'JSON'}: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the grid config {str(p)!r} must be an object with base, settings, eta_K or lr, seeds")
    unknown = set(data) - {"base", "settings", "eta_K", "lr", "seeds"}
    if unknown:
        raise ValueError(f"unknown keys in the grid config {str(p)!r}: {sorted(unknown)}")
    return GridConfig(**data)


def cell_finished(cell_dir: str | os.PathLike[str]) -> bool:
    """Whether a cell's run directory holds a finished run (``config.json`` with ``finished``, and ``metrics.json``)."""
    d = Path(cell_dir)
    try:
        config = json.loads((d / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return "finished" in config and (d / "metrics.json").exists()


def _row(cell: GridCell, metrics: Mapping[str, Any], status: str, seconds: float) -> dict[str, Any]:
    tp = metrics.get("topology", {})
    return {"cell": cell.name, "setting": cell.setting, "rate": cell.rate, "seed": cell.seed,
            "optimizer": metrics.get("config", {}).get("optimizer", cell.config.get("optimizer", "gd")),
            "eta_K": metrics.get("eta_K_start", cell.eta_K), "eta": metrics.get("eta"),
            "K": metrics.get("K_start", {}).get("K"), "changed": tp.get("changed"), "merged": tp.get("merged"),
            "distinct_before": tp.get("distinct_before"), "distinct_after": tp.get("distinct_after"),
            "betti_before": tp.get("betti_before"), "betti_after": tp.get("betti_after"),
            "mechanism": tp.get("mechanism"), "loss_end": metrics.get("loss_end"), "status": status,
            "seconds": seconds}


def run_cell(cell: GridCell, out: str) -> dict[str, Any]:
    """Run one cell into ``out/<cell.name>/`` (or read it back if finished); returns its summary row.

    This is the function the Dask workers call; it can be called directly too.
    """
    import torch

    from .lowdim import LowDimConfig, initial_sharpness, run_lowdim
    from .records import start_run

    t0 = time.perf_counter()
    cell_dir = Path(out) / cell.name
    if cell_finished(cell_dir):
        return _row(cell, json.loads((cell_dir / "metrics.json").read_text()), "skipped (finished before)", 0.0)
    torch.set_num_threads(1)
    _tune_malloc()  # also on clusters this module did not start (--scheduler)
    cfg = LowDimConfig(**{**cell.config, "lr": 1e-3, "seed": cell.seed})
    if cell.eta_K is not None:
        K = float(initial_sharpness(cfg)["K"])
        if not K > 0:
            raise ValueError(f"{cell.name}: the sharpness at the start is {K}: no rate eta*K to set")
        cfg = cfg.with_(lr=cell.eta_K / K)
    else:
        cfg = cfg.with_(lr=cell.lr)
    run = start_run(Path(out), cell.name, {**cfg.as_dict(), "grid_cell": {"eta_K": cell.eta_K, "lr": cell.lr}},
                    seed=cell.seed, exist_ok=True)
    metrics = run_lowdim(cfg, run, progress=False)
    run.finish()
    return _row(cell, metrics, "done", time.perf_counter() - t0)


#: glibc malloc settings for the workers. Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536,
#: which also freezes the mmap threshold at 128 KB: every tensor of the training loop is then a fresh
#: mmap, page-faulted on first touch, and the cells ran 2-2.5x slower than in a plain process
#: (benchmarks/results/grid.md). These keep tensors up to 32 MB on the heap and trim above 256 MB.
_TRIM, _MMAP = 2**28, 2**25


def _tune_malloc() -> None:
    """Apply :data:`_TRIM` and :data:`_MMAP` in this process (glibc only; a no-op elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-1, _TRIM)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, _MMAP)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _local_client(workers: int | None) -> Any:
    import dask
    from distributed import Client, LocalCluster

    n = workers or os.cpu_count() or 1
    pre = "distributed.nanny.pre-spawn-environ"  # the environment each worker process starts with
    spawn = {f"{pre}.{v}": 1 for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    spawn.update({f"{pre}.MALLOC_TRIM_THRESHOLD_": _TRIM, f"{pre}.MALLOC_MMAP_THRESHOLD_": _MMAP})
    with dask.config.set({"distributed.worker.profile.enabled": False, **spawn}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
    return Client(cluster)


def run_grid(config: GridConfig, out: str | os.PathLike[str], *, client: Any = None, scheduler: str | None = None,
             workers: int | None = None, progress: bool = True,
             on_result: Callable[[dict[str, Any]], None] | None = None,
             cell_fn: Callable[[GridCell, str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run every cell of ``config`` on Dask and write the grid's summary into ``out``.

    Args:
        config: the grid.
        out: the grid's folder (one run directory per cell, and ``grid.json|csv|png``).
        client: a connected ``distributed.Client`` (then ``scheduler``/``workers`` are unused), or
        scheduler: the address of a running scheduler (``tcp://host:8786``), or neither: an
            embedded ``LocalCluster`` of ``workers`` processes (default: the number of cores),
            one thread each, closed at the end.
        progress: a progress bar over cells.
        on_result: called with each cell's row as it arrives (in completion order).
        cell_fn: what a worker runs for a cell, ``cell_fn(cell, out) -> row`` (default :func:`run_cell`;
            a row needs the keys of :func:`run_cell`'s). It must be importable by the workers.

    Returns:
        ``{"config", "rows", "failed", "done", "skipped", "seconds", "summary", "figures"}``; ``rows``
        in cell order, a failed cell's row has ``status`` ``"failed: <error>"``.

    Raises:
        ImportError: ``dask.distributed`` is not installed.
    """
    from distributed import Client, as_completed
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    out_path = Path(out)
    out_path.mkdir(parents=True, exist_ok=True)
    cells = config.cells()
    own = client is None
    if own:
        client = Client(scheduler) if scheduler else _local_client(workers)
    rows: dict[str, dict[str, Any]] = {}
    try:
        fn = run_cell if cell_fn is None else cell_fn
        run_id = uuid.uuid4().hex[:8]  # unique keys: Dask would return a previous run's results for the same key
        futures = {client.submit(fn, cell, str(out_path), key=f"invariance-grid-{cell.name}-{run_id}", pure=False): cell
                   for cell in cells}
        with tqdm(total=len(cells), desc="grid", unit="cell", disable=not progress) as bar:
            for future in as_completed(futures):
                cell = futures[future]
                try:
                    row = future.result()
                except Exception as err:  # a failed cell is reported, the others go on
                    row = {**_row(cell, {}, f"failed: {type(err).__name__}: {err}", 0.0)}
                rows[cell.name] = row
                if on_result is not None:
                    on_result(row)
                bar.update(1)
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and not scheduler:
                cluster.close()
    ordered = [rows[c.name] for c in cells]
    result = {"config": config.as_dict(), "rows": ordered, "seconds": time.perf_counter() - t0,
              "done": sum(r["status"] == "done" for r in ordered),
              "skipped": sum(r["status"].startswith("skipped") for r in ordered),
              "failed": [r["cell"] for r in ordered if r["status"].startswith("failed")],
              "summary": summarise(ordered)}
    _write(out_path, result)
    result["figures"] = [str(out_path / "grid.png")]
    return result


def summarise(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per setting and rate: seeds run, fraction changed, neurons lost (mean, std), mean ``eta K``."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        if r["status"].startswith("failed"):
            continue
        groups.setdefault((r["setting"], r["rate"]), []).append(r)
    out = []
    for (setting, rate), rs in groups.items():
        lost = np.array([(r["distinct_before"] or 0) - (r["distinct_after"] or 0) for r in rs], dtype=float)
        out.append({"setting": setting, "rate": rate, "seeds": len(rs),
                    "eta_K": float(np.mean([r["eta_K"] for r in rs])),
                    "changed_fraction": float(np.mean([bool(r["changed"]) for r in rs])),
                    "neurons_lost_mean": float(lost.mean()), "neurons_lost_std": float(lost.std())})
    return out


def _write(out: Path, result: Mapping[str, Any]) -> None:
    from .records import to_jsonable, write_csv

    (out / "grid.json").write_text(json.dumps(to_jsonable(dict(result)), indent=2) + "\n")
    write_csv(out / "grid.csv", result["rows"])
    import matplotlib.pyplot as plt

    fig = plot_grid(result["summary"])
    try:
        fig.savefig(out / "grid.png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def plot_grid(summary: Sequence[Mapping[str, Any]]) -> Any:
    """Figure: fraction of seeds with a topology change and neurons lost (mean, band = +- std over seeds)
    against ``eta K``, one colour per setting, with the line ``eta K = 1``."""
    from .records import _use_agg

    _use_agg()
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    settings = sorted({s["setting"] for s in summary})
    colours = plt.get_cmap("tab10")
    for k, name in enumerate(settings):
        pts = sorted((s for s in summary if s["setting"] == name), key=lambda s: s["eta_K"])
        x = np.array([p["eta_K"] for p in pts])
        frac = np.array([p["changed_fraction"] for p in pts])
        mean = np.array([p["neurons_lost_mean"] for p in pts])
        std = np.array([p["neurons_lost_std"] for p in pts])
        seeds = max(p["seeds"] for p in pts)
        ax1.plot(x, frac, "o-", color=colours(k), label=f"{name} ({seeds} seeds)")
        ax2.plot(x, mean, "o-", color=colours(k), label=name)
        ax2.fill_between(x, np.maximum(mean - std, 0), mean + std, color=colours(k), alpha=0.2)
    for ax in (ax1, ax2):
        ax.axvline(1.0, color="k", ls="--", lw=1, label="eta K = 1")
        ax.set_xscale("log")
        ax.set_xlabel("eta * K (K = lambda_max at the start)")
        ax.grid(alpha=0.3)
    ax1.set_ylabel("fraction of seeds whose topology changed")
    ax1.set_ylim(-0.05, 1.05)
    ax2.set_ylabel("neurons lost to merges (mean, band: +- std)")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig
