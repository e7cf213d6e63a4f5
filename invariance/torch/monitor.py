"""A training monitor: Lemmas 1, 2 and 4 measured on the neuron cloud at every optimizer step.

After a step ``x_i -> x_i' = x_i + eta U_i`` of a torch optimizer (eq. 4), with the update
read off the parameters themselves, ``U = (x' - x)/eta`` (no extra backward pass), the
monitor records, over all pairs ``i < j`` of the neurons of one layer:

* **Lemma 2** (eq. 7): the ratios ``r_ij = ||x_i' - x_j'|| / ||x_i - x_j||``, their min and
  max (and the pairs attaining them), and how many leave ``[1 - eta K, 1 + eta K]``;
* **Lemma 4** (eq. 20): the empirical lower bound of the continuity constant that the
  update itself gives, ``K_lb = max_{i != j} ||U_i - U_j|| / ||x_i - x_j||``: any ``K`` for
  which the rule satisfies P1 and P2-K is ``>= K_lb``, so ``eta K_lb >= 1`` certifies that
  the step is past the topological critical point ``eta* = 1/K`` (Lemma 2's lower bound is
  vacuous, Lemma 3's injectivity is no longer guaranteed) and a :class:`CriticalStepWarning`
  is issued when ``eta K_lb`` crosses 1;
* ``K_lemma2 = max |r_ij - 1| / eta``: the smallest ``K`` for which eq. (7) holds at this
  step (``<= K_lb`` by the triangle inequality, eqs. 28-29);
* **Lemma 1**: pairs with ``x_i = x_j`` (within the float64 coincidence tolerance
  ``1e-12 + 1e-9 max ||x_i||`` of :mod:`invariance.statements`) have no ratio; they are
  counted, and those that the step separates (``coincident_split``, impossible under P1)
  with the largest ``||U_i - U_j||`` among them;
* **merges** (Lemma 3, Theorem 1): pairs with ``||x_i' - x_j'|| <= merge_tolerance * diam(X')``
  and the number of distinct neurons (connected components of that graph, single
  linkage, as :func:`invariance.topology.merge_clusters`).

Without a claimed ``K`` the band is ``[1 - eta K_lb, 1 + eta K_lb]``, which every ratio
satisfies in exact arithmetic (``|r_ij - 1| <= eta ||U_i - U_j|| / ||x_i - x_j|| <= eta K_lb``):
the count is then a consistency check, 0 up to round-off. With ``K`` (e.g. ``lambda_max``
of the Hessian, :func:`invariance.sharpness.sharpness`) it tests Lemma 2 for that ``K``.

**Blockwise.** Distances are computed in tiles of the upper triangle, never as the full
``n x n`` matrix: ``block_size`` rows (default 256) against ``DEFAULT_TILE_PAIRS // block_size``
columns at a time, tiles that stay in cache, so memory is ``O(block_size * n + n D)``.
Squared distances come from Gram matrices of the centred clouds, ``||a||^2 + ||b||^2 - 2 a.b``,
in float64 on the parameters' device; pairs where that formula loses accuracy
(``d^2 < 1e-6 (||a||^2 + ||b||^2)``: pairs close or coincident before or after the step) are
recomputed from the differences, so every distance is accurate to about ``1e-8`` relative and exact zeros stay
zeros. For 65,536 neurons in R^3 a pass (2.1e9 pairs) holds under 200 MB above the baseline,
where the dense matrix would take 32 GB (``benchmarks/results/monitor.md``).

**Every step.** A pass costs three Gram products (``X``, ``X'``, ``X' - X``). When the monitor
records every step and ``2 n^2`` float64 fit in :data:`CACHE_BYTES` (256 MB: ``n <= 4096``), it
keeps the previous step's ``d'^2`` and uses it as this step's ``d^2`` (the cloud before this step
is checked to equal, bit for bit, the cloud after the last one): two products instead of three.
The pass still costs about as many multiply-adds as one GEMM of the layer's size, so on a CPU
where the training step is itself a few such GEMMs it is not negligible: record every ``k``
steps (``every=k``), or run the pass on a worker thread (``background=True``: the hooks only
copy the clouds, records arrive in step order a step or two later) where a core is idle
(measured in ``benchmarks/results/monitor.md``).

**Stateful optimizers.** By default the cloud is the neurons' parameters ``theta_i``; with
``augmented=True`` it is the particles of Section 5.2, ``(theta_i, state_i)``, with every
optimizer state tensor shaped like its parameter (``momentum_buffer``; ``exp_avg``,
``exp_avg_sq``; ...) and ``U_state = (state' - state)/eta`` as in eq. (16): that is the
cloud the paper's lemmas speak of for Adam.

**Topology every k steps.** ``diagnose_every=k`` calls
``invariance.topology.breakdown_diagnostics(before, after, **diagnose_options)`` on the
numpy clouds of every k-th recorded step and stores its result in the record's
``diagnostics``. Its defaults are the scale-robust readings (subsampling significance of
``H_0..H_2`` of both clouds with scale bands, merging against spreading; one
``significant_features`` of 1000 neurons in R^785 takes about 22 s on 2 cores);
``diagnose_options={"significance": False}`` reads a fixed lifetime threshold instead. If that
function is not available in the installed version, asking for it raises
``NotImplementedError`` (the hook point is :meth:`TrainingMonitor._diagnose`).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from ..arguments import check_int, check_positive
from ..tables import format_table
from ..tolerances import default_tolerance
from .rules import _resolve_spec, layer_rows
from .specs import NeuronSpec

__all__ = ["CriticalStepWarning", "MonitorRecord", "TrainingMonitor", "step_statistics", "DEFAULT_TILE_PAIRS"]

#: Pairs per tile of the blockwise pass (``block_size`` rows by ``DEFAULT_TILE_PAIRS // block_size`` columns).
DEFAULT_TILE_PAIRS = 2**18

#: Memory the monitor may keep between steps for the previous step's ``n x n`` distances (two buffers).
CACHE_BYTES = 2**28
#: Pairs whose Gram-formula ``d^2`` is below this fraction of ``||a||^2 + ||b||^2`` are recomputed exactly.
_RELIABLE = 1e-6
#: Relative slack of the band check on distances (the accuracy of the blockwise distances).
_BAND_RTOL = 1e-7


class CriticalStepWarning(UserWarning):
    """``eta * K_lb >= 1``: the step is past the topological critical point ``eta* = 1/K`` (Lemma 2, 3)."""


@dataclass(frozen=True)
class MonitorRecord:
    """What one step did to the neuron cloud (Lemmas 1, 2, 4; merges).

    Attributes:
        step: index of the optimizer step (0 for the first step the monitor saw).
        eta: the step size ``eta`` used for ``U = (x' - x)/eta``.
        n_neurons, dim: ``n`` and ``D`` of the cloud.
        pairs: ``n(n-1)/2``; distinct_pairs: pairs with ``x_i != x_j`` (those with a ratio).
        K_lower_bound: ``K_lb = max ||U_i - U_j|| / ||x_i - x_j||`` (Lemma 4, eq. 20); 0 without pairs.
        K_pair: the pair ``(i, j)`` attaining it.
        eta_K: ``eta * K_lb``; critical: ``eta_K >= 1`` (past ``eta* = 1/K``).
        K_lemma2: ``max |r_ij - 1| / eta``, the smallest K satisfying eq. (7) at this step.
        min_ratio, min_pair, max_ratio, max_pair: extreme Lemma 2 ratios ``r_ij`` (NaN without distinct pairs).
        K: the claimed constant of the band (``None``: the band uses ``K_lb``).
        lower_bound, upper_bound: ``1 - eta K``, ``1 + eta K`` (``K_lb`` when ``K`` is ``None``).
        ratios_outside: distinct pairs with ``r_ij`` outside the band (beyond ``1e-7`` relative slack).
        coincident_pairs: pairs with ``x_i = x_j`` before the step (Lemma 1; no ratio; merged).
        coincident_split: of those, pairs apart after the step (a violation of Lemma 1, so of P1).
        coincident_update_gap: the largest ``||U_i - U_j||`` over coincident pairs (0 under P1).
        merged_pairs: pairs with ``||x_i' - x_j'|| <= merge_threshold`` after the step.
        n_distinct: the number of distinct neurons after the step (clusters of merged pairs).
        merge_threshold: ``merge_tolerance * diameter_after``.
        diameter_before, diameter_after: ``diam(X)``, ``diam(X')``.
        seconds: wall time of the blockwise pass.
        diagnostics: the result of ``breakdown_diagnostics`` on this step, if requested.
        sharpness: the :class:`~invariance.torch.sharpness_tracker.SharpnessRecord` of this step
            (``lambda_max``, ``K_rel``, their products), if ``sharpness_every`` asked for one here.
    """

    step: int
    eta: float
    n_neurons: int
    dim: int
    pairs: int
    distinct_pairs: int
    K_lower_bound: float
    K_pair: tuple[int, int] | None
    eta_K: float
    critical: bool
    K_lemma2: float
    min_ratio: float
    min_pair: tuple[int, int] | None
    max_ratio: float
    max_pair: tuple[int, int] | None
    K: float | None
    lower_bound: float
    upper_bound: float
    ratios_outside: int
    coincident_pairs: int
    coincident_split: int
    coincident_update_gap: float
    merged_pairs: int
    n_distinct: int
    merge_threshold: float
    diameter_before: float
    diameter_after: float
    seconds: float = dataclasses.field(compare=False)
    diagnostics: Any = dataclasses.field(default=None, compare=False, repr=False)
    sharpness: Any = dataclasses.field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN and inf become ``None``, pairs become lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            out[f.name] = _jsonable(getattr(self, f.name))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    for attr in ("as_dict", "to_dict"):
        fn = getattr(value, attr, None)
        if callable(fn):
            return _jsonable(fn())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return repr(value)


# -- the blockwise pass ----------------------------------------------------------------
def _as_cloud(x: torch.Tensor | ArrayLike, name: str) -> torch.Tensor:
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.array(x, dtype=np.float64))
    t = t.to(torch.float64)
    if t.ndim != 2:
        raise ValueError(f"{name} must be an (n, D) array of neurons, got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return t


class _Forest:
    """Union of merge edges as a spanning forest (``i -> representative``), at most ``n`` edges."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rows = np.zeros(0, dtype=np.int64)
        self.cols = np.zeros(0, dtype=np.int64)

    def add(self, rows: np.ndarray, cols: np.ndarray) -> None:
        if rows.size == 0:
            return
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        r = np.concatenate([self.rows, rows])
        c = np.concatenate([self.cols, cols])
        graph = coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(self.n, self.n))
        _, labels = connected_components(graph, directed=False)
        rep = np.full(labels.max() + 1, self.n, dtype=np.int64)
        np.minimum.at(rep, labels, np.arange(self.n))
        root = rep[labels]
        keep = root != np.arange(self.n)
        self.rows, self.cols = np.nonzero(keep)[0].astype(np.int64), root[keep]

    def components(self) -> int:
        return self.n - int(self.rows.size)


def _gram(a: torch.Tensor, na: torch.Tensor, b: torch.Tensor, nb: torch.Tensor) -> torch.Tensor:
    """``||a_i - b_j||^2 = ||a_i||^2 + ||b_j||^2 - 2 a_i.b_j`` for a block of rows (accurate unless close)."""
    return torch.addmm(nb.unsqueeze(0), a, b.T, alpha=-2.0).add_(na.unsqueeze(1)).clamp_min_(0.0)


def _fix_close_pairs(mats: Sequence[torch.Tensor], clouds: Sequence[torch.Tensor], norms: Sequence[torch.Tensor],
                     r0: int, c0: int) -> None:
    """Recompute, from differences, every entry whose pair is close before *or after* the step, in place.

    The Gram formula has absolute error about ``eps (||a||^2 + ||b||^2)``; that is relative
    error ``<= 1e-10`` on ``d^2`` unless ``d^2 < 1e-6 (||a||^2 + ||b||^2)``. Those pairs (close
    or coincident neurons, in ``X`` or in ``X'``: the only ones where ratios ``d'/d`` and
    ``||dU||/d`` could be spoiled) are recomputed exactly in all the matrices: coincident pairs
    stay exactly 0.
    """
    rows, cols = int(mats[0].shape[0]), int(mats[0].shape[1])
    close: torch.Tensor | None = None
    for M, q in zip(mats[:2], norms[:2]):
        na, nb = q[r0:r0 + rows], q[c0:c0 + cols]
        if float(M.min()) >= _RELIABLE * (float(na.max()) + float(nb.max())):  # cheap pre-filter
            continue
        here = M < _RELIABLE * (na.unsqueeze(1) + nb.unsqueeze(0))
        close = here if close is None else close | here
    if close is None:
        return
    ii, jj = torch.nonzero(close, as_tuple=True)
    chunk = max(1, 2**22 // max(1, int(clouds[0].shape[1])))
    for s in range(0, int(ii.numel()), chunk):
        i, j = ii[s:s + chunk], jj[s:s + chunk]
        for M, c in zip(mats, clouds):
            diff = c[r0 + i] - c[c0 + j]
            M[i, j] = (diff * diff).sum(dim=1)


class _Accumulator:
    """Running extremes and counts of the blockwise pass (squared distances throughout)."""

    def __init__(self, n: int, eta: float, K: float | None, coincide: float, sure_merge: float,
                 maybe_merge: float) -> None:
        self.eta, self.K = eta, K
        self.c2 = coincide * coincide
        self.coincide = coincide
        self.sure2, self.maybe2 = sure_merge * sure_merge, maybe_merge * maybe_merge
        self.lo, self.hi = (1.0 - eta * K, 1.0 + eta * K) if K is not None else (math.nan, math.nan)
        self.K2 = 0.0  # max ||D_i - D_j||^2 / d_ij^2 with D = x' - x = eta U (K_lb = sqrt(K2) / eta)
        self.K_pair: tuple[int, int] | None = None
        self.rmin2, self.rmax2 = math.inf, -math.inf
        self.pmin: tuple[int, int] | None = None
        self.pmax: tuple[int, int] | None = None
        self.distinct = self.coincident = self.split = self.outside = self.sure = 0
        self.gap2 = self.diam0_2 = self.diam1_2 = 0.0
        self.forest = _Forest(n)
        self.candidates: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, d2: torch.Tensor, d12: torch.Tensor, du2: torch.Tensor, r0: int, c0: int,
            valid: torch.Tensor | None) -> None:
        """Fold in a block of pairs ``(r0 + a, c0 + b)``; ``valid`` masks pairs ``i < j`` (``None``: all)."""
        if d2.numel() == 0:
            return
        m = int(d2.shape[1])

        def pair(flat: int) -> tuple[int, int]:
            a, b = divmod(int(flat), m)
            return r0 + a, c0 + b

        near_min = math.inf
        if valid is None:
            lo0, hi0 = torch.aminmax(d2)
            lo1, hi1 = torch.aminmax(d12)
            self.diam0_2 = max(self.diam0_2, float(hi0))
            self.diam1_2 = max(self.diam1_2, float(hi1))
            fast = float(lo0) > self.c2
            near_min = float(lo1)
        else:
            if not bool(valid.any()):
                return
            self.diam0_2 = max(self.diam0_2, float(torch.where(valid, d2, 0.0).max()))
            self.diam1_2 = max(self.diam1_2, float(torch.where(valid, d12, 0.0).max()))
            fast = False
        if valid is not None or near_min <= self.maybe2:
            self._merges(d12, r0, c0, valid)
        if fast:  # every pair valid and distinct: no masks, ratios computed in place
            self.distinct += d2.numel()
            if self.K is not None:
                self._band(d2, d12, None)
            r2 = d12.div_(d2)
            k2 = du2.div_(d2)
            self._extremes(r2, r2, k2, pair)
            return
        ok = valid if valid is not None else torch.ones_like(d2, dtype=torch.bool)
        apart = d2 > self.c2
        dist = ok & apart
        same = ok & ~apart
        n_same = int(same.sum())
        if n_same:
            self.coincident += n_same
            self.split += int((same & (d12 > self.c2)).sum())
            self.gap2 = max(self.gap2, float(torch.where(same, du2, 0.0).max()))
        n_dist = int(dist.sum())
        self.distinct += n_dist
        if n_dist:
            if self.K is not None:
                self._band(d2, d12, dist)
            safe = torch.where(dist, d2, 1.0)
            r2 = d12 / safe
            self._extremes(torch.where(dist, r2, math.inf), torch.where(dist, r2, -math.inf),
                           torch.where(dist, du2 / safe, -1.0), pair)

    def _extremes(self, lo_r: torch.Tensor, hi_r: torch.Tensor, k2: torch.Tensor,
                  pair: Callable[[int], tuple[int, int]]) -> None:
        m = int(lo_r.shape[1])

        def at(t: torch.Tensor, k: int) -> float:
            return float(t[k // m, k % m])

        k = int(torch.argmin(lo_r))
        v = at(lo_r, k)
        if v < self.rmin2:
            self.rmin2, self.pmin = v, pair(k)
        k = int(torch.argmax(hi_r))
        v = at(hi_r, k)
        if v > self.rmax2:
            self.rmax2, self.pmax = v, pair(k)
        k = int(torch.argmax(k2))
        v = at(k2, k)
        if v > self.K2:
            self.K2, self.K_pair = v, pair(k)

    def _band(self, d2: torch.Tensor, d12: torch.Tensor, dist: torch.Tensor | None) -> None:
        d, d1 = d2.sqrt(), d12.sqrt()
        slack = _BAND_RTOL * (d + d1) + self.coincide
        out = (d1 < self.lo * d - slack) | (d1 > self.hi * d + slack)
        self.outside += int((out if dist is None else out & dist).sum())

    def _merges(self, d12: torch.Tensor, r0: int, c0: int, valid: torch.Tensor | None) -> None:
        near = d12 <= self.maybe2
        if valid is not None:
            near &= valid
        if not bool(near.any()):
            return
        ii, jj = torch.nonzero(near, as_tuple=True)
        vals = d12[ii, jj]
        sure = vals <= self.sure2
        self.sure += int(sure.sum())
        self.forest.add((ii[sure] + r0).cpu().numpy(), (jj[sure] + c0).cpu().numpy())
        rest = ~sure
        if bool(rest.any()):
            self.candidates.append(((ii[rest] + r0).cpu().numpy(), (jj[rest] + c0).cpu().numpy(),
                                    vals[rest].cpu().numpy()))


def _blocks(clouds: Sequence[torch.Tensor], norms: Sequence[torch.Tensor], rows: int, cols: int,
            d2_before: torch.Tensor | None = None, d2_after: torch.Tensor | None = None,
            ) -> Iterator[tuple[int, int, list[torch.Tensor], torch.Tensor | None]]:
    """Tiles of the upper triangle: ``(r0, c0, [d2, d'2, dD2], mask)``, exact where pairs are close.

    Rows ``s..e`` against columns ``s..e`` (the diagonal square, masked to ``i < j``), then
    against columns ``e..n`` in tiles of ``cols`` columns (no mask needed): tiles small enough
    to stay in cache, large enough for an efficient GEMM.

    ``d2_before``: the squared distances of ``clouds[0]`` (an ``n x n`` matrix of which the upper
    triangle is read, e.g. the previous step's ``d2_after``), instead of its Gram product.
    ``d2_after``: an ``n x n`` matrix that receives ``d'^2`` of every tile (upper triangle).
    """
    n = int(clouds[0].shape[0])
    size = min(rows, n)
    tri = torch.ones(size, size, dtype=torch.bool, device=clouds[0].device).triu_(1)
    for s in range(0, n - 1, rows):
        e = min(n, s + rows)
        spans = [(s, e, tri[: e - s, : e - s])] + [(c, min(n, c + cols), None) for c in range(e, n, cols)]
        for c0, c1, mask in spans:
            mats = [_gram(c[s:e], q[s:e], c[c0:c1], q[c0:c1]) for c, q in zip(clouds, norms)
                    if d2_before is None or c is not clouds[0]]
            if d2_before is not None:
                mats.insert(0, d2_before[s:e, c0:c1])
            _fix_close_pairs(mats, clouds, norms, s, c0)
            if d2_after is not None:
                d2_after[s:e, c0:c1] = mats[1]
            yield s, c0, mats, mask


def _tiling(n: int, block_size: int | None) -> tuple[int, int]:
    """Rows and columns per tile: ``block_size`` rows (default 256) by ``DEFAULT_TILE_PAIRS // rows`` columns."""
    rows = min(n, 256) if block_size is None else min(n, check_int(block_size, "block_size", 1))
    return rows, max(rows, DEFAULT_TILE_PAIRS // rows)


def step_statistics(before: torch.Tensor | ArrayLike, after: torch.Tensor | ArrayLike, eta: float, *,
                    K: float | None = None, merge_tolerance: float = 1e-3, block_size: int | None = None,
                    step: int = 0) -> MonitorRecord:
    """Lemma 2 ratios, Lemma 4's ``K_lb``, Lemma 1 and merges of one step ``X -> X'``, blockwise.

    With ``U = (X' - X)/eta`` and ``d_ij = ||x_i - x_j||``, ``d'_ij = ||x_i' - x_j'||``:
    ``r_ij = d'_ij / d_ij`` (eq. 7), ``K_lb = max ||U_i - U_j|| / d_ij`` (eq. 20), over all
    pairs ``i < j`` with ``d_ij > 0``, ``block_size`` rows at a time against the columns to
    their right (the diagonal square of each block is masked, the rest needs no mask).

    Args:
        before, after: the clouds ``X``, ``X'`` (``n x D``, tensors or arrays; computed in float64).
        eta: the step size ``> 0``.
        K: a claimed constant for the Lemma 2 band (default: ``K_lb``).
        merge_tolerance: merges are pairs within ``merge_tolerance * diam(X')``, ``> 0``.
        block_size: rows per tile (default 256; each tile has ``DEFAULT_TILE_PAIRS // block_size`` columns).
        step: the step index stored in the record.

    Returns:
        A :class:`MonitorRecord`.

    Raises:
        ValueError: NaN/inf or mismatched shapes, empty clouds, ``eta``/``K``/``merge_tolerance`` not ``> 0``.

    Example:
        >>> X = np.array([[0.0], [1.0], [3.0]])
        >>> rec = step_statistics(X, 0.5 * X, eta=0.25)      # U = -2 X: every distance halves, K_lb = 2
        >>> rec.K_lower_bound, rec.eta_K, rec.min_ratio, rec.max_ratio, rec.ratios_outside
        (2.0, 0.5, 0.5, 0.5, 0)
    """
    x = _as_cloud(before, "before")
    x1 = _as_cloud(after, "after").to(x.device)
    if x.shape != x1.shape:
        raise ValueError(f"before and after must have the same shape, got {tuple(x.shape)} and {tuple(x1.shape)}")
    eta = check_positive(eta, "eta", "a finite step size > 0")
    if K is not None:
        K = check_positive(K, "K", "a finite constant > 0 (P2-K)")
    merge_tolerance = check_positive(merge_tolerance, "merge_tolerance")
    rows, cols = _tiling(int(x.shape[0]), block_size)
    return _statistics(x, x1, eta, K, merge_tolerance, rows, cols, int(step))


def _statistics(x: torch.Tensor, x1: torch.Tensor, eta: float, K: float | None, merge_tolerance: float, rows: int,
                cols: int, step: int, d2_before: torch.Tensor | None = None,
                d2_after: torch.Tensor | None = None) -> MonitorRecord:
    """:func:`step_statistics` on checked float64 clouds; ``d2_before``/``d2_after`` as in :func:`_blocks`."""
    start = time.perf_counter()
    n, D = int(x.shape[0]), int(x.shape[1])
    coincide = default_tolerance(np.float64).bound(float(torch.linalg.vector_norm(x, dim=1).max()))
    clouds = [c - c.mean(dim=0) for c in (x, x1, x1 - x)]
    norms = [(c * c).sum(dim=1) for c in clouds]
    radius_after = float(norms[1].max().sqrt())
    sure_merge = merge_tolerance * radius_after  # diam(X') is in [radius, 2 radius] (radius about the mean)
    acc = _Accumulator(n, eta, K, coincide, sure_merge, 2.0 * sure_merge)
    for r0, c0, (d2, d12, du2), mask in _blocks(clouds, norms, rows, cols, d2_before, d2_after):
        acc.add(d2, d12, du2, r0, c0, mask)
    diam0, diam1 = math.sqrt(acc.diam0_2), math.sqrt(acc.diam1_2)
    threshold = merge_tolerance * diam1
    merged = acc.sure
    for ii, jj, vals in acc.candidates:
        keep = vals <= threshold * threshold
        merged += int(keep.sum())
        acc.forest.add(ii[keep], jj[keep])
    K_lb = math.sqrt(acc.K2) / eta if acc.K_pair is not None else 0.0
    if acc.distinct:
        rmin, rmax = math.sqrt(acc.rmin2), math.sqrt(acc.rmax2)
        K2 = max(rmax - 1.0, 1.0 - rmin, 0.0) / eta
    else:
        rmin = rmax = math.nan
        K2 = 0.0
    outside = acc.outside
    if K is None:
        lo, hi = 1.0 - eta * K_lb, 1.0 + eta * K_lb
        if K2 > K_lb * (1.0 + 1e-6) + 1e-12:  # only round-off can put a ratio outside K_lb's band: count them
            outside = _count_outside(clouds, norms, lo, hi, coincide, rows, cols)
    else:
        lo, hi = acc.lo, acc.hi
    return MonitorRecord(
        step=step, eta=eta, n_neurons=n, dim=D, pairs=n * (n - 1) // 2, distinct_pairs=acc.distinct,
        K_lower_bound=K_lb, K_pair=acc.K_pair, eta_K=eta * K_lb, critical=eta * K_lb >= 1.0, K_lemma2=K2,
        min_ratio=rmin, min_pair=acc.pmin, max_ratio=rmax, max_pair=acc.pmax, K=K, lower_bound=lo, upper_bound=hi,
        ratios_outside=outside, coincident_pairs=acc.coincident, coincident_split=acc.split,
        coincident_update_gap=math.sqrt(acc.gap2) / eta, merged_pairs=merged, n_distinct=acc.forest.components(),
        merge_threshold=threshold, diameter_before=diam0, diameter_after=diam1, seconds=time.perf_counter() - start,
    )


def _count_outside(clouds: Sequence[torch.Tensor], norms: Sequence[torch.Tensor], lo: float, hi: float,
                   coincide: float, rows: int, cols: int) -> int:
    count = 0
    for _, _, (d2, d12), mask in _blocks(clouds[:2], norms[:2], rows, cols):
        d, d1 = d2.sqrt(), d12.sqrt()
        slack = _BAND_RTOL * (d + d1) + coincide
        out = (d > coincide) & ((d1 < lo * d - slack) | (d1 > hi * d + slack))
        count += int((out if mask is None else out & mask).sum())
    return count


# -- the monitor -----------------------------------------------------------------------
class TrainingMonitor:
    """Hooks on a torch optimizer that record a :class:`MonitorRecord` after every ``every``-th step.

    Uses ``Optimizer.register_step_pre_hook`` (the cloud before) and
    ``register_step_post_hook`` (after; the statistics of :func:`step_statistics`). No
    extra forward or backward pass: ``U = (x' - x)/eta`` comes from the parameters.

    Args:
        model: the model being trained.
        optimizer: its ``torch.optim.Optimizer`` (any: SGD, Adam, LBFGS, your own).
        spec: the neuron spec (default :func:`~invariance.torch.neuron_spec`).
        layer: the layer of neurons watched.
        lr: ``eta`` for ``U = (x' - x)/eta``; default: the ``lr`` of the param group(s) of the
            layer, read at every step (so schedulers are followed).
        every: record every ``every``-th step (``>= 1``).
        merge_tolerance: relative merge tolerance (a fraction of the diameter), ``> 0``.
        block_size: rows per tile of the pairwise pass (default 256).
        warn: issue :class:`CriticalStepWarning` when ``eta K_lb`` crosses 1 upwards.
        K: a claimed constant for the Lemma 2 band (default ``K_lb`` of each step).
        augmented: watch the particles ``(theta_i, state_i)`` of Section 5.2 instead of ``theta_i``.
        diagnose_every: every k-th record, run ``invariance.topology.breakdown_diagnostics``.
        diagnose_options: keyword arguments for it.
        callback: called with each new record.
        sharpness_every: every k-th step, re-estimate ``lambda_max`` and ``K_rel`` (warm-started,
            :class:`~invariance.torch.sharpness_tracker.SharpnessTracker`, after the step) and attach
            the estimate to that step's record; needs ``loss_fn``.
        loss_fn: ``() -> scalar tensor``, the full-batch loss at the current parameters.
        sharpness_options: keyword arguments of the tracker (``relative``, ``tol``, ``block``, ``seed``).
        background: run each step's pairwise pass on a worker thread while training goes on (the
            hooks only copy the two clouds). Records, warnings and callbacks still arrive in step
            order on the training thread: at a later step, or when :attr:`records`, :meth:`wait`,
            :meth:`table`, :meth:`as_dict` or :meth:`close` is called. It pays where a core (or the
            CPU beside a GPU) is idle; on a machine whose cores all train, it only moves the cost.
        max_pending: in the background, at most this many passes wait; a step beyond that waits for
            the oldest (memory stays bounded when the pass is slower than a step).

    Raises:
        ValueError: the optimizer does not hold the layer's parameters; their groups have
            different ``lr`` and none was given; bad ``every``, ``lr``, ``merge_tolerance``.
        NotImplementedError: ``diagnose_every`` without ``breakdown_diagnostics`` available.

    Example:
        >>> import torch
        >>> from invariance.torch import TrainingMonitor
        >>> torch.manual_seed(0) and None
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> X, y = torch.randn(32, 2, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
        >>> with TrainingMonitor(model, opt) as mon:
        ...     for _ in range(3):
        ...         opt.zero_grad(); torch.nn.functional.mse_loss(model(X), y).backward(); opt.step()
        >>> len(mon.records), mon.records[0].n_neurons, mon.records[-1].critical
        (3, 8, False)
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, spec: NeuronSpec | None = None,
                 layer: int | str = 0, lr: float | None = None, every: int = 1, merge_tolerance: float = 1e-3,
                 block_size: int | None = None, warn: bool = True, *, K: float | None = None,
                 augmented: bool = False, diagnose_every: int | None = None,
                 diagnose_options: dict[str, Any] | None = None,
                 callback: Callable[[MonitorRecord], None] | None = None,
                 sharpness_every: int | None = None, loss_fn: Callable[[], torch.Tensor] | None = None,
                 sharpness_options: dict[str, Any] | None = None, background: bool = False,
                 max_pending: int = 2) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        self.spec = _resolve_spec(model, spec)
        self.model = model
        self.optimizer = optimizer
        self.layer = layer
        self.lr = None if lr is None else check_positive(lr, "lr", "a finite learning rate > 0")
        self.every = check_int(every, "every", 1)
        self.merge_tolerance = check_positive(merge_tolerance, "merge_tolerance")
        self.block_size = None if block_size is None else check_int(block_size, "block_size", 1)
        self.K = None if K is None else check_positive(K, "K", "a finite constant > 0 (P2-K)")
        self.warn = bool(warn)
        self.augmented = bool(augmented)
        self.callback = callback
        self.diagnose_every = None if diagnose_every is None else check_int(diagnose_every, "diagnose_every", 1)
        self.diagnose_options = dict(diagnose_options or {})
        self._diagnose_fn: Callable[..., Any] | None = None
        if self.diagnose_every is not None:
            from .. import topology

            fn = getattr(topology, "breakdown_diagnostics", None)
            if fn is None:
                raise NotImplementedError(
                    "diagnose_every needs invariance.topology.breakdown_diagnostics, which this version does not have"
                )
            self._diagnose_fn = fn
        self.tracker: Any = None
        if sharpness_every is not None:
            if loss_fn is None:
                raise ValueError("sharpness_every needs loss_fn (the full-batch loss at the current parameters)")
            from .sharpness_tracker import SharpnessTracker

            self.tracker = SharpnessTracker(loss_fn, model, self.spec, layer=layer, optimizer=optimizer,
                                            every=check_int(sharpness_every, "sharpness_every", 1),
                                            **dict(sharpness_options or {}))
        params = dict(model.named_parameters())
        self._names = [ax.name for ax in self.spec.parameter_axes(layer, model=model)]
        self._params = [params[n] for n in self._names]
        ids = {id(p) for p in self._params}
        self._groups = [g for g in optimizer.param_groups if ids & {id(p) for p in g["params"]}]
        held = {id(p) for g in self._groups for p in g["params"]} & ids
        if held != ids:
            missing = [n for n, p in zip(self._names, self._params) if id(p) not in held]
            raise ValueError(f"the optimizer does not update parameters {missing} of the watched layer")
        if self.lr is None:
            self._group_lr()
        self._records: list[MonitorRecord] = []
        self._step = 0
        self._before: torch.Tensor | None = None
        self._before_state: dict[str, torch.Tensor] = {}
        self._eta = math.nan
        self._was_critical = False
        self._distances: tuple[torch.Tensor, torch.Tensor] | None = None  # (cloud after, its d^2 upper triangle)
        self._spare: torch.Tensor | None = None
        #: How many recorded steps reused the previous step's distances.
        self.reused = 0
        self.background = bool(background)
        self.max_pending = check_int(max_pending, "max_pending", 1)
        self._pending: collections.deque[concurrent.futures.Future[MonitorRecord]] = collections.deque()
        self._executor = (concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="invariance-monitor")
                          if self.background else None)
        self._submitted = 0
        self._handles = [optimizer.register_step_pre_hook(self._pre_hook),
                         optimizer.register_step_post_hook(self._post_hook)]

    # -- hooks ---------------------------------------------------------------------------
    def _group_lr(self) -> float:
        lrs = {float(g["lr"]) for g in self._groups}
        if len(lrs) != 1:
            raise ValueError(f"the watched layer's parameters are in param groups with different lr {sorted(lrs)}; "
                             "pass lr= explicitly")
        return check_positive(lrs.pop(), "lr", "a finite learning rate > 0")

    def _theta(self) -> torch.Tensor:
        named = dict(zip(self._names, self._params))
        return layer_rows(self.spec, self.model, self.layer, named).to(torch.float64).clone()

    def _state(self) -> dict[str, torch.Tensor]:
        """Rows of every optimizer state entry shaped like the layer's parameters."""
        keys: set[str] | None = None
        for p in self._params:
            st = self.optimizer.state.get(p, {})
            ks = {k for k, v in st.items() if isinstance(v, torch.Tensor) and v.shape == p.shape}
            keys = ks if keys is None else keys & ks
        out = {}
        for key in sorted(keys or ()):
            named = {n: self.optimizer.state[p][key] for n, p in zip(self._names, self._params)}
            out[key] = layer_rows(self.spec, self.model, self.layer, named).to(torch.float64).clone()
        return out

    def _pre_hook(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._step % self.every:
            return
        self._eta = self.lr if self.lr is not None else self._group_lr()
        self._before = self._theta()
        self._before_state = self._state() if self.augmented else {}

    def _post_hook(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        step = self._step
        self._step += 1
        tracked = self.tracker.update(step) if self.tracker is not None else None
        if self._before is None:
            return
        before, after = self._before, self._theta()
        if self.augmented:
            state_after = self._state()
            keys = sorted(set(state_after) | set(self._before_state))
            zeros = torch.zeros_like(before)
            before = torch.cat([before] + [self._before_state.get(k, zeros) for k in keys], dim=1)
            after = torch.cat([after] + [state_after.get(k, zeros) for k in keys], dim=1)
        self._before, self._before_state = None, {}
        if not (bool(torch.isfinite(before).all()) and bool(torch.isfinite(after).all())):
            warnings.warn(f"step {step}: the watched neurons are not finite (the run diverged); step not recorded",
                          UserWarning, stacklevel=3)
            return
        index, self._submitted = self._submitted, self._submitted + 1
        every = self.diagnose_every
        diagnose = self._diagnose_fn is not None and every is not None and index % every == 0
        if self._executor is None:
            self._deliver(self._record(before, after, step, self._eta, diagnose, tracked))
            return
        self._drain(block=False)
        self._pending.append(self._executor.submit(self._record, before, after, step, self._eta, diagnose, tracked))
        while len(self._pending) > self.max_pending:
            self._deliver(self._pending.popleft().result())

    def _record(self, before: torch.Tensor, after: torch.Tensor, step: int, eta: float, diagnose: bool,
                tracked: Any) -> MonitorRecord:
        """The record of one step (on the worker thread in the background)."""
        rec = self._statistics(before, after, step, eta)
        if diagnose:
            rec = dataclasses.replace(rec, diagnostics=self._diagnose(before, after))
        if tracked is not None:
            rec = dataclasses.replace(rec, sharpness=tracked)
        return rec

    def _drain(self, block: bool) -> None:
        """Deliver finished background records in step order (all of them if ``block``)."""
        while self._pending and (block or self._pending[0].done()):
            self._deliver(self._pending.popleft().result())

    def wait(self) -> None:
        """Block until every background pass is done and its record delivered (no-op otherwise)."""
        self._drain(block=True)

    def _deliver(self, rec: MonitorRecord) -> None:
        step = rec.step
        self._records.append(rec)
        if self.warn and rec.critical and not self._was_critical:
            warnings.warn(CriticalStepWarning(
                f"step {step}: eta * K_lb = {rec.eta_K:.3g} >= 1 (eta = {rec.eta:.3g}, K_lb = {rec.K_lower_bound:.3g} "
                f"from neurons {rec.K_pair}): past the topological critical point eta* = 1/K, neurons may merge "
                f"(Lemma 2's lower bound is vacuous)"), stacklevel=3)
        self._was_critical = rec.critical
        if self.callback is not None:
            self.callback(rec)

    def _statistics(self, before: torch.Tensor, after: torch.Tensor, step: int, eta: float) -> MonitorRecord:
        """:func:`step_statistics`, reusing the previous step's ``d'^2`` as this step's ``d^2`` when the
        cloud before this step is, bit for bit, the cloud after the previous recorded one (every step
        recorded): one Gram product of three saved. The ``n x n`` matrices are kept only while
        ``2 n^2`` float64 fit in :data:`CACHE_BYTES`."""
        n = int(before.shape[0])
        rows, cols = _tiling(n, self.block_size)
        prev = self._distances
        d2_before = prev[1] if prev is not None and prev[0].shape == before.shape and torch.equal(prev[0], before) \
            else None
        keep = self.every == 1 and 2 * n * n * 8 <= CACHE_BYTES
        d2_after = None
        if keep:
            spare = self._spare
            d2_after = spare if spare is not None and spare.shape == (n, n) and spare.device == before.device \
                else torch.empty(n, n, dtype=torch.float64, device=before.device)
        rec = _statistics(before, after, eta, self.K, self.merge_tolerance, rows, cols, step, d2_before, d2_after)
        self._spare = prev[1] if prev is not None else None
        self._distances = (after, d2_after) if d2_after is not None else None
        self.reused += d2_before is not None
        return rec

    def _diagnose(self, before: torch.Tensor, after: torch.Tensor) -> Any:
        """Hook point: ``breakdown_diagnostics(before, after, **diagnose_options)`` on numpy clouds."""
        assert self._diagnose_fn is not None
        return self._diagnose_fn(before.cpu().numpy(), after.cpu().numpy(), **self.diagnose_options)

    # -- results ---------------------------------------------------------------------------
    @property
    def records(self) -> tuple[MonitorRecord, ...]:
        """The records so far, oldest first (background passes are waited for)."""
        self._drain(block=True)
        return tuple(self._records)

    @property
    def steps_seen(self) -> int:
        """Optimizer steps since the monitor was attached."""
        return self._step

    def as_dict(self) -> dict[str, Any]:
        """Configuration and records as a JSON-ready dict."""
        self._drain(block=True)
        return {
            "layer": self.spec.layer(self.layer).name,
            "every": self.every,
            "lr": self.lr,
            "K": self.K,
            "merge_tolerance": self.merge_tolerance,
            "augmented": self.augmented,
            "steps_seen": self._step,
            "sharpness": None if self.tracker is None else self.tracker.as_dict(),
            "records": [r.as_dict() for r in self._records],
        }

    def to_json(self, path: str | None = None) -> str:
        """The JSON of :meth:`as_dict`, also written to ``path`` if given."""
        text = json.dumps(self.as_dict(), indent=2)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text + "\n")
        return text

    def table(self, columns: Sequence[str] = ("step", "eta", "K_lower_bound", "eta_K", "min_ratio", "max_ratio",
                                              "ratios_outside", "merged_pairs", "n_distinct")) -> str:
        """The records as an aligned text table."""
        names = [f.name for f in dataclasses.fields(MonitorRecord)]
        for c in columns:
            if c not in names:
                raise ValueError(f"unknown column {c!r}; columns: {names}")

        def fmt(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.4g}"
            return str(v)

        return format_table(columns, [[fmt(getattr(r, c)) for c in columns] for r in self.records], left=0)

    def close(self) -> None:
        """Remove the hooks (records are kept). Idempotent."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self._drain(block=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._distances = self._spare = None

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if not self._handles else "attached"
        return f"<TrainingMonitor {state}: layer {self.spec.layer(self.layer).name!r}, {len(self._records)} records>"
