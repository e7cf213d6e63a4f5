"""Extreme eigenvalues by Krylov Rayleigh-Ritz with the gap-based bound (invariance.krylov)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invariance.krylov import extreme_eigenvalue, gap_error_bound


def symmetric(spectrum, seed):
    g = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(g.normal(size=(len(spectrum), len(spectrum))))
    return torch.tensor(Q @ np.diag(spectrum) @ Q.T)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(8, 60))
def test_largest_eigenvalue_and_its_bound(seed, n):
    g = np.random.default_rng(seed)
    spectrum = np.sort(g.normal(size=n) * g.uniform(0.1, 10))
    A = symmetric(spectrum, seed + 1)
    est = extreme_eigenvalue(lambda v: A @ v, n, like=A, tol=1e-8, seed=seed)
    lam = spectrum[-1]
    assert est.value <= lam + 1e-10 * abs(lam) + 1e-12  # Cauchy interlacing: the rigorous side
    if est.converged:
        if est.gap <= spectrum[-1] - spectrum[-2]:  # the estimated gap is safe: Kato-Temple is rigorous
            assert lam - est.value <= est.error_bound + 1e-9 * max(abs(lam), 1e-3)
        assert abs(est.value - lam) <= 1e-6 * max(abs(lam), 1e-3)
    assert est.n_products <= n


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_norm_when_the_bottom_end_dominates(seed):
    g = np.random.default_rng(seed)
    spectrum = np.concatenate([[-40.0], g.uniform(-5, 3, size=20)])
    A = symmetric(spectrum, seed)
    est = extreme_eigenvalue(lambda v: A @ v, 21, like=A, which="magnitude", tol=1e-8, seed=seed)
    assert est.end == "bottom" and est.value == pytest.approx(40.0, rel=1e-6)
    # the largest algebraic eigenvalue of the same operator is not the norm: the negative control
    top = extreme_eigenvalue(lambda v: A @ v, 21, like=A, which="largest", tol=1e-8, seed=seed)
    assert top.value == pytest.approx(spectrum[1:].max(), rel=1e-6) and top.value < 39


def test_warm_start_from_ritz_vectors_needs_few_products():
    spectrum = np.linspace(0, 1, 200) ** 3 * 10
    A = symmetric(spectrum, 0)
    cold = extreme_eigenvalue(lambda v: A @ v, 200, like=A, tol=1e-6, seed=0)
    B = A + symmetric(np.random.default_rng(2).normal(size=200) * 1e-3, 3)
    warm = extreme_eigenvalue(lambda v: B @ v, 200, like=B, tol=1e-6, start=cold.vectors, gap_hint=cold.gap)
    assert warm.converged and warm.n_products < cold.n_products / 2
    assert warm.value == pytest.approx(float(torch.linalg.eigvalsh(B)[-1]), rel=1e-6)


def test_invariant_subspace_and_bad_input():
    A = torch.diag(torch.tensor([1.0, 2.0, 7.0], dtype=torch.float64))
    est = extreme_eigenvalue(lambda v: A @ v, 3, like=A, start=torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    # the start spans an invariant subspace: the value is exact there, and that is all it can see
    assert est.value == pytest.approx(2.0) and est.n_products == 1
    with pytest.raises(ValueError, match="which"):
        extreme_eigenvalue(lambda v: A @ v, 3, like=A, which="smallest")
    with pytest.raises(ValueError, match="start"):
        extreme_eigenvalue(lambda v: A @ v, 3, like=A, start=torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        extreme_eigenvalue(lambda v: A @ v, 3, like=A, start=torch.tensor([np.nan, 1, 1], dtype=torch.float64))
    with pytest.raises(FloatingPointError, match="NaN"):
        extreme_eigenvalue(lambda v: v * np.nan, 3, like=A)
    with pytest.raises(ValueError, match="tol"):
        extreme_eigenvalue(lambda v: A @ v, 3, like=A, tol=-1)
    assert gap_error_bound(0.1, 0.0) == 0.1 and gap_error_bound(0.1, 1.0) == pytest.approx(0.01)
