"""Run directories: what every experiment writes, so that a result says how it was made.

A run directory holds

* ``config.json``: the configuration, the seed, the data description (``Dataset.info``),
  the versions of python, numpy, torch and invariance, the platform, the command line and
  the start time (and, after :meth:`RunDirectory.finish`, the wall time);
* ``metrics.json``: the measured numbers (:meth:`RunDirectory.write_metrics`);
* ``<name>.csv``: tables (:meth:`RunDirectory.write_csv`);
* ``<name>.png``: figures, at paths from :meth:`RunDirectory.figure_path` (matplotlib's
  Agg backend: :func:`figure` / :meth:`RunDirectory.save_figure` close what they open).

Example:
    >>> import tempfile
    >>> run = start_run(tempfile.mkdtemp(), "example", {"eta": 0.1}, seed=0)
    >>> run.write_metrics({"betti_before": [1, 2, 0]}).name
    'metrics.json'
    >>> sorted(p.name for p in run.path.iterdir())
    ['config.json', 'metrics.json']
    >>> run.finish()["seed"]
    0
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ..arguments import check_seed

__all__ = ["RunDirectory", "start_run", "versions", "to_jsonable", "write_csv", "default_run_dir"]


def versions() -> dict[str, str]:
    """Versions of python, numpy, invariance and (when installed) torch, matplotlib, gudhi, giotto-ph."""
    from .. import __version__

    out = {"python": platform.python_version(), "numpy": np.__version__, "invariance": __version__}
    for module, key in (("torch", "torch"), ("matplotlib", "matplotlib"), ("gudhi", "gudhi"), ("gph", "giotto-ph")):
        mod = sys.modules.get(module)
        if mod is None:
            try:
                mod = __import__(module)
            except Exception:  # pragma: no cover - optional
                continue
        out[key] = str(getattr(mod, "__version__", "unknown"))
    return out


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays, tuples, paths and non-finite floats made JSON-safe.

    Non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"`` (JSON has no such numbers).

    Example:
        >>> to_jsonable({"a": np.float64(1.5), "b": (1, 2), "c": float("inf")})
        {'a': 1.5, 'b': [1, 2], 'c': 'inf'}
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "as_dict"):
        return to_jsonable(value.as_dict())
    return str(value)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _check_name(name: object, what: str = "name") -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise ValueError(f"{what} must be a plain file name (letters, digits, '_', '-', '.'), got {name!r}")
    return name


class RunDirectory:
    """The directory of one run; created by :func:`start_run`.

    Attributes:
        path: the directory.
        config: the recorded ``config.json`` contents (a dict; ``config["config"]`` is the
            run's configuration).
    """

    def __init__(self, path: Path, config: dict[str, Any]) -> None:
        self.path = path
        self.config = config
        self._t0 = time.perf_counter()
        self.metrics: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    def _write_json(self, name: str, payload: Any) -> Path:
        target = self.path / name
        target.write_text(json.dumps(to_jsonable(payload), indent=2) + "\n")
        return target

    def record(self, **entries: Any) -> None:
        """Add entries to ``config.json`` (e.g. ``data=dataset.info``) and rewrite it."""
        self.config.update(entries)
        self._write_json("config.json", self.config)

    def write_metrics(self, metrics: Mapping[str, Any]) -> Path:
        """Merge ``metrics`` into ``metrics.json`` (JSON-safe, see :func:`to_jsonable`); returns its path."""
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a mapping, got {type(metrics).__name__}")
        self.metrics.update(metrics)
        return self._write_json("metrics.json", self.metrics)

    def write_csv(self, name: str, rows: Iterable[Mapping[str, Any]]) -> Path:
        """Write ``rows`` (dicts; the union of their keys, in first-seen order, is the header) to ``name.csv``."""
        name = _check_name(name.removesuffix(".csv") if isinstance(name, str) else name)
        return write_csv(self.path / f"{name}.csv", rows)

    def figure_path(self, name: str) -> Path:
        """The path ``<run>/<name>.png`` for a figure (matplotlib's Agg backend is selected)."""
        name = _check_name(name.removesuffix(".png") if isinstance(name, str) else name)
        _use_agg()
        return self.path / f"{name}.png"

    def save_figure(self, fig: Any, name: str, dpi: int = 120) -> Path:
        """Save a matplotlib figure as ``<name>.png`` and close it; returns the path."""
        import matplotlib.pyplot as plt

        target = self.figure_path(name)
        try:
            fig.savefig(target, dpi=dpi, bbox_inches="tight")
        finally:
            plt.close(fig)
        return target

    def finish(self, **entries: Any) -> dict[str, Any]:
        """Record the wall time (and ``entries``) in ``config.json``; returns the recorded config."""
        self.record(wall_seconds=time.perf_counter() - self._t0,
                    finished=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **entries)
        return self.config


def write_csv(target: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` (dicts; the union of their keys, in first-seen order, is the header) to ``target``.

    Values are made JSON-safe (:func:`to_jsonable`); lists and dicts are written as JSON text.
    """
    rows = [to_jsonable(dict(r)) for r in rows]
    header: list[str] = []
    for r in rows:
        header.extend(k for k in r if k not in header)
    with Path(target).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in r.items()})
    return Path(target)


def default_run_dir(kind: str) -> Path:
    """``runs/<kind>-<YYYYmmdd-HHMMSS>``: where a command writes when it is given no ``--out``."""
    return Path("runs") / f"{kind}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _use_agg() -> None:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)


def start_run(out_dir: str | Path, name: str, config: Mapping[str, Any], seed: int,
              data: Mapping[str, Any] | None = None, exist_ok: bool = False) -> RunDirectory:
    """Create the run directory ``out_dir/name`` and write its ``config.json``.

    Args:
        out_dir: parent folder (created if missing).
        name: the run's folder name (a plain file name).
        config: the run's configuration (JSON-serialisable after :func:`to_jsonable`).
        seed: the run's seed (recorded at the top level).
        data: a description of the data (e.g. ``Dataset.info``); can also be added later
            with ``run.record(data=...)``.
        exist_ok: allow writing into an existing run folder (files are overwritten).

    Returns:
        The :class:`RunDirectory`.
    """
    name = _check_name(name, "name")
    seed = check_seed(seed)
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping, got {type(config).__name__}")
    path = Path(out_dir) / name
    if path.exists() and not exist_ok and any(path.iterdir()):
        raise FileExistsError(f"run directory {str(path)!r} already exists and is not empty (pass exist_ok=True)")
    path.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "name": name,
        "config": dict(config),
        "seed": seed,
        "data": dict(data) if data is not None else None,
        "versions": versions(),
        "platform": {"system": platform.platform(), "machine": platform.machine(),
                     "processor": platform.processor()},
        "command": list(sys.argv),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    run = RunDirectory(path, record)
    run._write_json("config.json", record)
    return run
