"""Equivariance in distribution: the law of ``P step(X)`` against the law of ``step(P X)``.

A random optimizer (random masks, probes, noise) cannot satisfy ``P step(X) = step(P X)``
draw by draw; what the theory needs of it is the statement in law,

    P U(X) ~ U(P X),

which is what makes the push-forward of the neuron distribution equivariant (Theorem 2
reads the update as a map of measures). :func:`two_sample_test` tests it from ``S`` runs
of each side, each with its own global torch seed: ``a_s = P A_s`` (run A, then permuted)
and ``b_s = B_s`` (the model permuted before the first step). Per entry ``j`` of the
parameters it forms the standardised difference of means and of log-variances,

    z_mean_j = (mean a_j - mean b_j) / sqrt((var a_j + var b_j) / S + r_j^2),
    z_var_j  = (log(var a_j + r_j^2) - log(var b_j + r_j^2)) / sqrt(4 / (S - 1)),

``r_j`` the calibrated round-off bound of the entry (differences below it do not count),
and two statistics, ``T_sum = mean_j (z_mean_j^2 + z_var_j^2)`` (diffuse differences) and
``T_max = max_j (z_mean_j^2 + z_var_j^2)`` (a few entries). Their null distribution comes
from relabelling: under the hypothesis the ``2 S`` samples are exchangeable, so the
p-value of each, ``(1 + #{T(relabelled) >= T}) / (1 + R)`` over ``R`` random relabellings,
is exact; the test's p-value is ``min(1, 2 min(p_sum, p_max))`` (Bonferroni), and it
rejects at ``level``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["DistributionTest", "two_sample_test", "LEVEL", "SEEDS", "RELABELINGS"]

#: The level of the test: "not equivariant in distribution" when p < LEVEL.
LEVEL = 0.01
#: Runs per side.
SEEDS = 48
#: Random relabellings of the permutation test (the smallest p-value is 1 / (1 + RELABELINGS)).
RELABELINGS = 399


@dataclass(frozen=True)
class DistributionTest:
    """The outcome of :func:`two_sample_test`."""

    p_value: float
    level: float
    seeds: int
    relabelings: int
    statistic: dict[str, float]
    worst_entries: list[dict[str, Any]]

    @property
    def rejected(self) -> bool:
        """Whether the laws differ at the level."""
        return self.p_value < self.level

    def as_dict(self) -> dict[str, Any]:
        return {"p_value": self.p_value, "level": self.level, "seeds": self.seeds, "relabelings": self.relabelings,
                "statistic": dict(self.statistic), "worst_entries": list(self.worst_entries),
                "test": "two-sample relabelling test of per-entry means and log-variances"}


def _stats(a: np.ndarray, b: np.ndarray, r2: np.ndarray) -> tuple[float, float, np.ndarray]:
    s = a.shape[0]
    ma, mb = a.mean(0), b.mean(0)
    va, vb = a.var(0, ddof=1), b.var(0, ddof=1)
    zm = (ma - mb) / np.sqrt((va + vb) / s + r2)
    zv = (np.log(va + r2) - np.log(vb + r2)) / np.sqrt(4.0 / (s - 1))
    z = zm**2 + zv**2
    return float(z.mean()), float(z.max()), z


def two_sample_test(a: np.ndarray, b: np.ndarray, roundoff: np.ndarray, *, level: float = LEVEL,
                    relabelings: int = RELABELINGS, seed: int = 0, labels: Sequence[str] | None = None
                    ) -> DistributionTest:
    """Test ``law(a) = law(b)`` for samples ``a, b`` of shape ``(S, m)`` (module docstring).

    Args:
        a, b: ``S >= 4`` samples of ``m`` entries each (``P A_s`` and ``B_s``).
        roundoff: ``(m,)`` the round-off bound of each entry.
        level: the level; relabelings: ``R``; seed: of the relabellings.
        labels: a name for each entry (for the report of the worst ones).

    Returns:
        A :class:`DistributionTest`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> t = two_sample_test(rng.normal(size=(32, 5)), rng.normal(size=(32, 5)), np.zeros(5))
        >>> t.rejected
        False
        >>> two_sample_test(rng.normal(size=(32, 5)), 3 * rng.normal(size=(32, 5)), np.zeros(5)).rejected
        True
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] < 4:
        raise ValueError(f"a and b must have the same shape (S, m) with S >= 4, got {a.shape} and {b.shape}")
    r2 = np.maximum(np.asarray(roundoff, dtype=np.float64), 1e-300) ** 2
    t_sum, t_max, z = _stats(a, b, r2)
    pooled = np.concatenate([a, b])
    s = a.shape[0]
    rng = np.random.default_rng(seed)
    ge_sum = ge_max = 0
    for _ in range(relabelings):
        order = rng.permutation(2 * s)
        u_sum, u_max, _ = _stats(pooled[order[:s]], pooled[order[s:]], r2)
        ge_sum += u_sum >= t_sum
        ge_max += u_max >= t_max
    p_sum, p_max = (1 + ge_sum) / (1 + relabelings), (1 + ge_max) / (1 + relabelings)
    worst = []
    for j in np.argsort(-z)[:5].tolist():
        worst.append({"entry": labels[j] if labels is not None else j, "z2": float(z[j]),
                      "mean P A": float(a[:, j].mean()), "mean B": float(b[:, j].mean()),
                      "std P A": float(a[:, j].std(ddof=1)), "std B": float(b[:, j].std(ddof=1))})
    return DistributionTest(min(1.0, 2 * min(p_sum, p_max)), level, s, relabelings,
                            {"T_sum": t_sum, "T_max": t_max, "p_sum": p_sum, "p_max": p_max}, worst)
