"""lambda_max of the loss Hessian by Lanczos, against the dense Hessian (invariance.sharpness)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invariance.sharpness import critical_points, hessian_vector_product, power_iteration, sharpness


def tiny_net(seed, widths=(3, 4, 2), n=16, act=torch.tanh):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, widths[0], generator=g, dtype=torch.float64)
    y = torch.randn(n, widths[-1], generator=g, dtype=torch.float64)
    params = [(torch.randn(a, b, generator=g, dtype=torch.float64) * 1.5).requires_grad_()
              for a, b in zip(widths[:-1], widths[1:])]

    def forward(ps):
        h = x
        for i, w in enumerate(ps):
            h = h @ w
            if i < len(ps) - 1:
                h = act(h)
        return ((h - y) ** 2).mean()

    return params, forward


def dense_eigenvalues(params, forward):
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    shapes = [p.shape for p in params]

    def f(z):
        parts, offset = [], 0
        for s in shapes:
            k = int(np.prod(s))
            parts.append(z[offset:offset + k].reshape(s))
            offset += k
        return forward(parts)

    H = torch.autograd.functional.hessian(f, flat)
    return torch.linalg.eigvalsh(H).numpy()


@settings(max_examples=15)
@given(st.integers(0, 10_000))
def test_lambda_max_matches_the_dense_hessian(seed):
    params, forward = tiny_net(seed)
    evals = dense_eigenvalues(params, forward)
    res = sharpness(lambda: forward(params), params, tol=1e-6, seed=seed)
    assert res.converged
    assert res.eigenvalue == pytest.approx(evals[-1], rel=1e-4)
    assert res.eigenvalue <= evals[-1] * (1 + 1e-12) + 1e-12  # a Ritz value never exceeds lambda_max
    # Kato-Temple is rigorous when the estimated gap does not exceed the true one (theta_2 <= lambda_2
    # can make it larger: then the bound is an estimate, as documented); the error meets tol either way
    if res.gap <= evals[-1] - evals[-2]:
        assert evals[-1] - res.eigenvalue <= max(res.error_bound, 1e-12 * abs(evals[-1]))
    assert evals[-1] - res.eigenvalue <= 1e-6 * abs(evals[-1])
    assert res.error_bound <= 1e-6 * abs(res.eigenvalue) * 1.01
    assert res.n_hvp <= len(evals) + 1


def test_negative_eigenvalues_of_larger_magnitude():
    g = np.random.default_rng(0)
    Q, _ = np.linalg.qr(g.normal(size=(12, 12)))
    spectrum = np.array([-50.0, -30.0, -7, -1, 0, 0.5, 1, 1.5, 2, 2.5, 2.9, 3.0])
    A = torch.tensor(Q @ np.diag(spectrum) @ Q.T)
    w = torch.tensor(g.normal(size=12), requires_grad=True)
    loss = lambda: 0.5 * w @ A @ w + 0.1 * (w.sum()) ** 1  # noqa: E731
    res = sharpness(loss, [w], tol=1e-8)
    assert res.eigenvalue == pytest.approx(3.0, rel=1e-6)
    assert res.eta_star == pytest.approx(1 / 3) and res.edge_of_stability == pytest.approx(2 / 3)
    # power iteration, as hessian-eigenthings runs it, returns the largest magnitude instead
    assert power_iteration(loss, [w], tol=1e-8, max_hvp=500).eigenvalue == pytest.approx(-50.0, rel=1e-4)


def test_saddle_of_a_tiny_net_with_dense_check():
    params, forward = tiny_net(3, widths=(2, 3, 1), act=torch.sigmoid)
    with torch.no_grad():
        for p in params:
            p.mul_(0.01)  # near the saddle at zero: indefinite Hessian
    evals = dense_eigenvalues(params, forward)
    assert evals[0] < 0
    res = sharpness(lambda: forward(params), params, tol=1e-6)
    assert res.eigenvalue == pytest.approx(evals[-1], rel=1e-4)


def test_neuron_subset_is_the_restricted_hessian():
    params, forward = tiny_net(1)
    mask0 = torch.zeros_like(params[0])
    mask0[:, 1] = 1.0  # the incoming weights of hidden neuron 1
    res = sharpness(lambda: forward(params), params, masks=[mask0, torch.zeros_like(params[1])], tol=1e-8)
    H = torch.autograd.functional.hessian(lambda w: forward([w, params[1].detach()]), params[0].detach())
    block = H[:, 1, :, 1]
    assert res.eigenvalue == pytest.approx(float(torch.linalg.eigvalsh(block)[-1]), rel=1e-6)


def test_deterministic_and_validated():
    params, forward = tiny_net(2)
    a = sharpness(lambda: forward(params), params, seed=5)
    b = sharpness(lambda: forward(params), params, seed=5)
    assert a == b
    with pytest.raises(ValueError, match="tol"):
        sharpness(lambda: forward(params), params, tol=0)
    with pytest.raises(TypeError, match="params"):
        sharpness(lambda: forward(params), [torch.zeros(2)])
    with pytest.raises(ValueError, match="lambda_max"):
        critical_points(float("nan"))
    assert critical_points(-1.0) == (float("inf"), float("inf"))
    hvp, dim = hessian_vector_product(lambda: forward(params), params)
    assert dim == sum(p.numel() for p in params)
