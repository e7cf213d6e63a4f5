"""Betti curves: ``r -> (b_0(VR_r), ..., b_k(VR_r))`` over all scales, from one persistence computation.

The paper reads the Betti numbers of the neuron cloud at one scale, ``r = diam(X)/4``
(App. C.2). That reading is fragile: a cloud can read ``(1, 0, 1)`` at one fraction of
the diameter and ``(1, 3, 0)`` at a nearby one, and a thin shape (a figure-eight squashed
10:1) is contractible at ``diam/4`` although its loops are plain at a finer scale. The
*Betti curve* shows every scale at once. From the persistence diagram of the
Vietoris-Rips filtration (bars ``[b, d)``, :mod:`~invariance.topology.persistence`)

    ``b_p(VR_r(X)) = #{bars [b, d) of H_p : b <= r < d}``,

so one diagram gives ``b_p(r)`` at every ``r`` (Edelsbrunner & Harer 2010, VII; the
"Betti curve" of Umeda 2017). The curve is a step function; its maximal intervals of
constancy are the *stable bands*, and a Betti tuple is reported together with the band
on which it holds (``[start, end)`` and its width relative to ``diam(X)``).

The filtration can be stopped at ``max_scale`` (a fraction of the diameter): the
persistence computation then costs about what one fixed-scale computation at that scale
costs (``benchmarks/results/topology_robust.md``). Bars still alive at ``max_scale`` are
reported with ``death = inf`` and the curve is only defined on ``[0, max_scale]``.

References:
    H. Edelsbrunner and J. Harer, *Computational Topology*, AMS 2010.
    Y. Umeda, "Time series classification via topological data analysis", Trans. JSAI 32, 2017.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arguments import check_int, check_positive
from .geometry import as_points, diameter, isometric_coordinates
from .persistence import PersistenceDiagram, persistence_diagram

__all__ = ["StableBand", "BettiCurve", "betti_curve", "stable_bands_of"]


@dataclass(frozen=True)
class StableBand:
    """A maximal interval ``[start, end)`` of scales on which the Betti tuple is constant.

    Attributes:
        betti: ``(b_0, ..., b_k)`` on the band.
        start, end: absolute scales (``end`` is the end of the computed filtration when
            ``truncated``).
        diameter: ``diam(X)``, the unit of :attr:`width`.
        truncated: the band reaches the end of a filtration stopped at ``max_scale``, so
            the true band may be longer.
    """

    betti: tuple[int, ...]
    start: float
    end: float
    diameter: float
    truncated: bool = False

    @property
    def width(self) -> float:
        """``(end - start) / diam(X)``: the band's length relative to the diameter (0 when ``diam(X) = 0``)."""
        return (self.end - self.start) / self.diameter if self.diameter > 0 else 0.0

    @property
    def fractions(self) -> tuple[float, float]:
        """``(start, end) / diam(X)``."""
        d = self.diameter if self.diameter > 0 else 1.0
        return (self.start / d, self.end / d)

    def __str__(self) -> str:
        lo, hi = self.fractions
        more = "+" if self.truncated else ""
        return f"{self.betti} on [{lo:.3g}, {hi:.3g}{more}) x diam (width {self.width:.3g}{more})"


def _counts(diagram: PersistenceDiagram, r: NDArray[np.float64]) -> NDArray[np.int64]:
    """``b_p(r)`` for every scale in ``r`` and every dimension: ``#{b <= r} - #{d <= r}``."""
    out = np.zeros((r.size, diagram.max_dim + 1), dtype=np.int64)
    for p, bars in enumerate(diagram.bars):
        births = np.sort(bars[:, 0])
        deaths = np.sort(bars[:, 1])
        out[:, p] = np.searchsorted(births, r, side="right") - np.searchsorted(deaths, r, side="right")
    return out


def stable_bands_of(diagram: PersistenceDiagram, max_scale: float | None = None,
                    min_persistence: float = 0.0) -> tuple[StableBand, ...]:
    """The maximal intervals of constant Betti tuple of a diagram on ``[0, max_scale]``, in scale order.

    Exact (no grid): the tuple can only change at a birth or a death, so the candidate
    intervals are those between consecutive event values; equal neighbours are merged.

    Args:
        diagram: a :class:`~invariance.topology.persistence.PersistenceDiagram`.
        max_scale: absolute end of the computed filtration; ``None`` for the whole
            filtration (then the last band ends at ``diam(X)``, beyond which ``VR_r`` is a
            simplex).
        min_persistence: ignore bars with ``death - birth < min_persistence * diam(X)``
            (short-lived noise features cut a band into fragments; the persistent Betti
            numbers ``b_p^eps(r)`` count only the bars of lifetime ``>= eps``).

    Returns:
        Bands in increasing scale order (use :meth:`BettiCurve.stable_bands` for them sorted by width).

    Example:
        >>> dgm = PersistenceDiagram((np.array([[0.0, 1.0], [0.0, np.inf]]), np.array([[1.5, 3.0]])), 4.0)
        >>> [(b.betti, b.start, b.end) for b in stable_bands_of(dgm)]
        [((2, 0), 0.0, 1.0), ((1, 0), 1.0, 1.5), ((1, 1), 1.5, 3.0), ((1, 0), 3.0, 4.0)]
    """
    diam = float(diagram.diameter)
    end = diam if max_scale is None else float(max_scale)
    truncated = max_scale is not None and end < diam
    eps = float(min_persistence) * diam
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"min_persistence must be a finite number >= 0, got {min_persistence!r}")
    if eps > 0:
        diagram = PersistenceDiagram(tuple(b[b[:, 1] - b[:, 0] >= eps] for b in diagram.bars), diam,
                                     diagram.resolution)
    values = [np.zeros(1), np.array([end])]
    for bars in diagram.bars:
        flat = bars.ravel()
        values.append(flat[np.isfinite(flat) & (flat >= 0) & (flat < end)])
    events = np.unique(np.concatenate(values))
    if events.size == 1:  # diameter 0 (one point or duplicates)
        tup = tuple(int(v) for v in _counts(diagram, events)[0])
        return (StableBand(tup, 0.0, 0.0, diam, truncated),)
    starts = events[:-1]
    tuples = _counts(diagram, starts)
    change = np.nonzero(np.any(tuples[1:] != tuples[:-1], axis=1))[0] + 1
    first = np.concatenate([[0], change])
    last = np.concatenate([change, [starts.size]])
    return tuple(
        StableBand(tuple(int(v) for v in tuples[a]), float(events[a]), float(events[b]), diam,
                   bool(truncated and b == starts.size))
        for a, b in zip(first, last)
    )


@dataclass(frozen=True)
class BettiCurve:
    """Betti numbers ``b_p(VR_r(X))`` on a grid of scales, and the persistence diagram they come from.

    Attributes:
        scales: the grid of absolute scales ``r`` (increasing).
        betti: ``(num, k + 1)`` int array, ``betti[i, p] = b_p(VR_{scales[i]})``.
        diameter: ``diam(X)``.
        max_scale: absolute end of the computed filtration (``diam(X)`` when it was not stopped).
        diagram: the persistence diagram (bars alive at ``max_scale`` have ``death = inf``).
    """

    scales: NDArray[np.float64]
    betti: NDArray[np.int64]
    diameter: float
    max_scale: float
    diagram: PersistenceDiagram = field(repr=False, compare=False)

    @classmethod
    def from_diagram(cls, diagram: PersistenceDiagram, max_scale: float | None = None, num: int = 201,
                     spacing: str = "linear") -> BettiCurve:
        """The Betti curve of a diagram computed elsewhere, on ``num`` scales from 0 to ``max_scale``.

        ``b_p(r) = #{bars [b, d) of H_p : b <= r < d}`` on the grid; no filtration is computed
        (e.g. the diagram of :func:`~invariance.topology.significant_features`, or of
        :func:`~invariance.topology.breakdown_diagnostics`'s ``significance``).

        Args:
            diagram: a :class:`~invariance.topology.persistence.PersistenceDiagram`.
            max_scale: the absolute scale at which ``diagram``'s filtration was stopped (bars
                alive there have ``death = inf``); ``None``: the whole filtration (``diam``).
                A larger value than the true end would count bars that died beyond it.
            num: grid size (``>= 2``).
            spacing: ``"linear"`` or ``"log"`` (from ``max_scale / 1000``).

        Example:
            >>> dgm = PersistenceDiagram((np.array([[0.0, 1.0], [0.0, np.inf]]), np.array([[0.5, 1.5]])), 4.0)
            >>> BettiCurve.from_diagram(dgm, max_scale=2.0, num=5).betti.tolist()
            [[2, 0], [2, 1], [1, 1], [1, 0], [1, 0]]
        """
        if not isinstance(diagram, PersistenceDiagram):
            raise TypeError(f"diagram must be a PersistenceDiagram, got {type(diagram).__name__}")
        diam = float(diagram.diameter)
        top = diam if max_scale is None else float(max_scale)
        if not np.isfinite(top) or top < 0:
            raise ValueError(f"max_scale must be a finite number >= 0, got {max_scale!r}")
        top = min(top, diam) if diam > 0 else top
        grid = _grid(top, check_int(num, "num", 2), spacing)
        return cls(scales=grid, betti=_counts(diagram, grid), diameter=diam, max_scale=top, diagram=diagram)

    @property
    def fractions(self) -> NDArray[np.float64]:
        """The grid as fractions of the diameter, ``scales / diam(X)``."""
        return self.scales / self.diameter if self.diameter > 0 else np.zeros_like(self.scales)

    @property
    def truncated(self) -> bool:
        """Whether the filtration was stopped before ``diam(X)``."""
        return self.max_scale < self.diameter

    def at(self, scale: float, relative: bool = False) -> tuple[int, ...]:
        """``(b_0, ..., b_k)`` of ``VR_r`` at any ``r`` in ``[0, max_scale]`` (exact, from the diagram).

        Args:
            scale: ``r`` (absolute), or a fraction of ``diam(X)`` when ``relative``.
            relative: interpret ``scale`` as a fraction of the diameter.
        """
        r = float(scale) * (self.diameter if relative else 1.0)
        if not np.isfinite(r) or r < 0:
            raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
        if r > self.max_scale * (1 + 1e-12):
            raise ValueError(f"scale {r:.6g} is beyond the computed filtration (max_scale = {self.max_scale:.6g})")
        return self.diagram.betti_at(r)

    def stable_bands(self, nontrivial: bool = False, min_width: float = 0.0,
                     min_persistence: float = 0.0) -> tuple[StableBand, ...]:
        """Maximal scale intervals of constant Betti tuple, longest first (exact, from the diagram).

        Args:
            nontrivial: drop the band that starts at scale 0 (the discrete cloud, before
                any edge) and the bands whose tuple is ``(1, 0, ..., 0)`` (one contractible
                component, e.g. every large scale).
            min_width: drop bands narrower than this fraction of the diameter.
            min_persistence: ignore bars shorter than this fraction of the diameter (noise
                features that cut a band into fragments); see :func:`stable_bands_of`.

        Returns:
            Bands sorted by width (longest first; ties in scale order).
        """
        bands = stable_bands_of(self.diagram, self.max_scale if self.truncated else None, min_persistence)
        trivial = (1,) + (0,) * self.diagram.max_dim
        keep = [b for b in bands if b.width >= min_width
                and not (nontrivial and (b.start == 0.0 or b.betti == trivial))]
        return tuple(sorted(keep, key=lambda b: -b.width))

    def most_stable(self, nontrivial: bool = True, min_persistence: float = 0.0) -> StableBand | None:
        """The longest stable band (by default the longest non-trivial one); ``None`` when there is none.

        ``min_persistence`` (a fraction of the diameter) ignores short bars, as in :meth:`stable_bands`.
        """
        bands = self.stable_bands(nontrivial=nontrivial, min_persistence=min_persistence)
        return bands[0] if bands else None

    def plot(self, ax: Any = None, mark: float | None = 0.25) -> Any:
        """Step plot of ``b_p`` against ``r / diam(X)``, the most stable non-trivial band shaded.

        Args:
            ax: a matplotlib ``Axes``; a new figure (no pyplot, no GUI backend) when ``None``.
            mark: draw a dotted vertical line at this fraction of the diameter (the paper's 1/4); ``None`` for none.

        Returns:
            The ``Axes``.
        """
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(6, 3.5)).add_subplot()
        x = self.fractions
        for p in range(self.betti.shape[1]):
            ax.step(x, self.betti[:, p], where="post", label=f"$b_{p}$")
        band = self.most_stable()
        if band is not None:
            lo, hi = band.fractions
            ax.axvspan(lo, hi, alpha=0.15, color="grey", label=f"stable {band.betti}")
        if mark is not None:
            ax.axvline(mark, ls=":", color="k", lw=1)
        ax.set_xlabel("scale r / diam(X)")
        ax.set_ylabel("Betti number")
        ax.set_yscale("symlog", linthresh=10)
        ax.legend(fontsize="small")
        return ax

    def save_plot(self, path: str | pathlib.Path, **options: Any) -> pathlib.Path:
        """Write :meth:`plot` to ``path`` (format from the suffix, e.g. ``.png``); returns the path."""
        ax = self.plot(**options)
        out = pathlib.Path(path)
        ax.figure.savefig(out, dpi=120, bbox_inches="tight")
        return out


def _grid(top: float, n: int, spacing: str) -> NDArray[np.float64]:
    """``n`` scales from 0 to ``top``, linear or (``"log"``) geometric from ``top / 1000``."""
    if spacing not in ("linear", "log"):
        raise ValueError(f"spacing must be 'linear' or 'log', got {spacing!r}")
    if spacing == "log" and top > 0:
        return np.concatenate([[0.0], np.geomspace(top / 1000, top, n - 1)])
    return np.linspace(0.0, top, n)


def betti_curve(
    points: ArrayLike,
    max_dim: int = 2,
    scales: ArrayLike | None = None,
    num: int = 201,
    *,
    max_scale: float | None = None,
    relative: bool = True,
    spacing: str = "linear",
    backend: str = "auto",
    threads: int = 2,
) -> BettiCurve:
    """Betti curves ``b_p(VR_r(X))``, ``p = 0..k``, on a grid of scales, from one persistence diagram.

    ``b_p(r) = #{bars [b, d) of H_p : b <= r < d}`` (see the module docstring). The
    diagram is computed once, on the cloud written in an orthonormal basis of its span
    (an isometry, as for :func:`~invariance.topology.betti_numbers`), up to ``max_scale``.

    Args:
        points: ``(n, D)`` cloud (array, FiniteCollection or torch tensor).
        max_dim: ``k >= 0``.
        scales: the grid; fractions of ``diam(X)`` when ``relative`` (default), absolute
            otherwise. Default: ``num`` points from 0 to ``max_scale`` (``spacing`` linear, or
            ``"log"`` from ``max_scale / 1000``).
        num: grid size when ``scales`` is not given.
        max_scale: stop the filtration here (a fraction of the diameter when ``relative``);
            default: the largest grid scale, or the whole filtration (``diam(X)``).
        relative: whether ``scales`` and ``max_scale`` are fractions of the diameter.
        spacing: ``"linear"`` or ``"log"`` for the default grid.
        backend, threads: as for :func:`~invariance.topology.persistence_diagram`.

    Returns:
        A :class:`BettiCurve`.

    Example:
        >>> from invariance.topology import samplers
        >>> curve = betti_curve(samplers.circle(60, seed=0), max_dim=1, num=5)
        >>> np.round(curve.fractions, 3).tolist(), curve.betti[:, 1].tolist()
        ([0.0, 0.25, 0.5, 0.75, 1.0], [0, 1, 1, 1, 0])
        >>> curve.most_stable().betti
        (1, 1)
    """
    X = as_points(points)
    k = check_int(max_dim, "max_dim", 0)
    if spacing not in ("linear", "log"):
        raise ValueError(f"spacing must be 'linear' or 'log', got {spacing!r}")
    Z = isometric_coordinates(X)
    diam = diameter(Z)
    unit = diam if relative else 1.0
    grid: NDArray[np.float64] | None = None
    if scales is not None:
        grid = np.asarray(scales, dtype=np.float64).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError("scales must be a non-empty array of finite numbers >= 0")
        grid = np.sort(grid) * unit
    if max_scale is not None:
        top = check_positive(max_scale, "max_scale") * unit
        if grid is not None and grid[-1] > top * (1 + 1e-12):
            raise ValueError(f"scales go beyond max_scale = {max_scale}")
    elif grid is not None and grid[-1] > 0:
        top = float(grid[-1])
    else:
        top = diam
    full = diam == 0 or top >= diam
    top = diam if full else top
    if grid is None:
        grid = _grid(top, check_int(num, "num", 2), spacing)
    # the collapse backend reads its edge lengths from the coordinates it is given: the user's, so that
    # equal lengths stay equal (centring rounds them apart); the others run on the short coordinates
    collapse = backend == "collapse" or (backend == "auto" and k >= 2)
    dgm = persistence_diagram(X if collapse else Z, k, max_scale=None if full else top, backend=backend,
                              threads=threads)
    dgm = PersistenceDiagram(bars=dgm.bars, diameter=diam, resolution=dgm.resolution)
    return BettiCurve(scales=grid, betti=_counts(dgm, grid), diameter=diam, max_scale=top, diagram=dgm)
