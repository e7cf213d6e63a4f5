"""Relative sharpness K_rel = ||Pi_R J Pi_R|| (invariance.torch.relative_sharpness), against closed forms,
dense matrices and the monitor's Lemma 4 lower bound K_lb, with negative controls."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invariance.krylov import extreme_eigenvalue
from invariance.torch import NeuronLayer, NeuronSpec, ParameterAxis, neuron_spec, step_statistics
from invariance.torch.relative_sharpness import layer_projectors, relative_sharpness, stateless_rule



@pytest.fixture(autouse=True, scope="module")
def _float64_default():
    """float64 for this module's tensors, restored afterwards (other modules build float32 models)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


# -- a symmetric quadratic with known relative and collective spectra ----------------------------------
class Cloud(torch.nn.Module):
    def __init__(self, X):
        super().__init__()
        self.X = torch.nn.Parameter(torch.as_tensor(X, dtype=torch.float64).clone())


def cloud_spec(n):
    return NeuronSpec([NeuronLayer("x", n, (ParameterAxis("X", 0),))])


def quadratic(A, B, n, seed=0):
    """L = 1/2 sum_i x_i^T A x_i + 1/(2n) s^T B s, s = sum_i x_i: H = I (x) A + (1/n) 11^T (x) B.

    On R (sum_i dx_i = 0) H acts as A; on C (all alike) as A + B."""
    X = np.random.default_rng(seed).normal(size=(n, A.shape[0]))
    model = Cloud(X)
    At, Bt = torch.tensor(A), torch.tensor(B)

    def loss():
        s = model.X.sum(0)
        return 0.5 * torch.einsum("id,de,ie->", model.X, At, model.X) + 0.5 * s @ Bt @ s / n

    return model, loss


def sym(spectrum, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(spectrum), len(spectrum))))
    return Q @ np.diag(spectrum) @ Q.T


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 12), st.integers(1, 4))
def test_quadratic_closed_form(seed, n, D):
    g = np.random.default_rng(seed)
    A = sym(g.uniform(-3, 3, size=D), seed)
    B = sym(g.uniform(0, 50, size=D), seed + 1)
    model, loss = quadratic(A, B, n, seed)
    res = relative_sharpness(loss, model, cloud_spec(n), tol=1e-10, collective=True)
    assert res.converged
    assert res.K_rel == pytest.approx(np.abs(np.linalg.eigvalsh(A)).max(), rel=1e-7)
    assert res.K_collective == pytest.approx(np.abs(np.linalg.eigvalsh(A + B)).max(), rel=1e-7)
    lam = max(np.linalg.eigvalsh(A).max(), np.linalg.eigvalsh(A + B).max())
    assert res.lambda_max == pytest.approx(lam, rel=1e-6)
    assert res.eta_star_rel == pytest.approx(1 / res.K_rel)


def test_ordering_flips_with_the_collective_coupling():
    n, D = 8, 3
    A = sym([1.0, 2.0, 5.0], 0)
    # collective mode stiff (as in MLPs: lambda_max lives in C): lambda_max >> K_rel
    model, loss = quadratic(A, sym([400.0, 100.0, 10.0], 1), n)
    stiff = relative_sharpness(loss, model, cloud_spec(n), tol=1e-10, collective=True)
    assert stiff.K_rel == pytest.approx(5.0, rel=1e-7)
    assert stiff.lambda_max > 50 * stiff.K_rel and stiff.K_collective > stiff.K_rel
    # collective mode soft (B = -A + 0.1 I): the relative constant is the large one, lambda_max = K_rel
    model, loss = quadratic(A, -A + 0.1 * np.eye(D), n)
    soft = relative_sharpness(loss, model, cloud_spec(n), tol=1e-10, collective=True)
    assert soft.K_rel == pytest.approx(5.0, rel=1e-7)
    assert soft.K_collective == pytest.approx(0.1, rel=1e-6) and soft.K_collective < soft.K_rel
    assert soft.lambda_max == pytest.approx(soft.K_rel, rel=1e-6)


# -- small MLPs: dense checks ---------------------------------------------------------------------------
def mlp(seed, width=6, d_in=2, act=torch.nn.Tanh, n=24):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(d_in, width), act(), torch.nn.Linear(width, 1))
    x, y = torch.randn(n, d_in), torch.randn(n, 1)

    def loss():
        return torch.nn.functional.mse_loss(model(x), y)

    return model, loss


def warm_adam(model, loss, steps):
    """Adam (lr 1e-2) after ``steps`` full-batch steps: moments in every state entry."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
    return opt


def gd_step_record(model, L, spec, lr):
    """The monitor's record of one GD step of a copy of ``model`` (``model`` itself stays at X)."""
    before = spec.neuron_tensor(model)
    moved = copy.deepcopy(model)
    L(moved).backward()
    torch.optim.SGD(moved.parameters(), lr=lr).step()
    return step_statistics(before, spec.neuron_tensor(moved), lr)


def layer_flat(model, spec):
    named = dict(model.named_parameters())
    axes = spec.parameter_axes(0, model=model)
    return [named[a.name] for a in axes], [a.axis for a in axes]


def dense_relative_norm(J, shapes, axes, symmetric):
    pr, _ = layer_projectors(shapes, axes)
    P = torch.stack([pr(e) for e in torch.eye(J.shape[0])])
    M = P @ J @ P
    if symmetric:
        return float(torch.linalg.eigvalsh(0.5 * (M + M.T)).abs().max())
    return float(torch.linalg.svdvals(M)[0])


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_gd_matches_the_dense_compressed_hessian(seed):
    model, loss = mlp(seed)
    spec = neuron_spec(model)
    params, axes = layer_flat(model, spec)
    values = [p.detach().clone() for p in params]
    sizes = [p.numel() for p in params]

    names = [a.name for a in spec.parameter_axes(0, model=model)]

    def L(z):
        parts = {n: c.view_as(v) for n, c, v in zip(names, torch.split(z, sizes), values)}
        with torch.nn.utils.stateless._reparametrize_module(model, parts):
            return loss()

    H = torch.autograd.functional.hessian(L, torch.cat([v.reshape(-1) for v in values]))
    want = dense_relative_norm(H, [tuple(v.shape) for v in values], axes, True)
    res = relative_sharpness(loss, model, tol=1e-10, lambda_max=False)
    assert res.K_rel == pytest.approx(want, rel=1e-7)
    assert res.K_rel <= want * (1 + 1e-12) + 1e-14  # a Ritz value never overshoots


def test_adam_matches_the_dense_rule_jacobian():
    model, loss = mlp(3, width=5)
    opt = warm_adam(model, loss, steps=4)
    spec = neuron_spec(model)
    params, axes = layer_flat(model, spec)
    name, rule, state = stateless_rule(opt, params)
    assert name == "adam"
    names = [a.name for a in spec.parameter_axes(0, model=model)]
    shapes = [tuple(p.shape) for p in params] + [tuple(s.shape) for s in state]
    sizes = [int(np.prod(s)) for s in shapes]
    k = len(params)

    def U(z):
        parts = [c.view(s) for c, s in zip(torch.split(z, sizes), shapes)]
        with torch.nn.utils.stateless._reparametrize_module(model, dict(zip(names, parts[:k]))):
            g = torch.autograd.grad(loss(), parts[:k], create_graph=True)
        return torch.cat([u.reshape(-1) for u in rule(g, parts[:k], parts[k:])])

    z0 = torch.cat([p.detach().reshape(-1) for p in params] + [s.reshape(-1) for s in state])
    J = torch.autograd.functional.jacobian(U, z0)
    want = dense_relative_norm(J, shapes, axes + axes + axes, False)
    res = relative_sharpness(loss, model, optimizer=opt, tol=1e-10, lambda_max=False)
    assert res.rule == "adam" and res.operator == "Pi_R J Pi_R"
    assert res.K_rel == pytest.approx(want, rel=1e-6)
    # Adam's constant is its own, not the loss's: it is far from the Hessian's
    gd = relative_sharpness(loss, model, tol=1e-10, lambda_max=False)
    assert res.K_rel > 10 * gd.K_rel


# -- K_lb <= K_rel on the segment (Lemma 4 with the relative constant) --------------------------------------
def make(seed, width, extra=None):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.Tanh(), torch.nn.Linear(width, 1))
    x, y = torch.randn(32, 2), torch.randn(32, 1)

    def L(m):
        out = torch.nn.functional.mse_loss(m(x), y)
        if extra is not None:
            out = out + (extra * m[0].weight.sum(1)).sum()  # a term that names the neurons: not symmetric
        return out

    return model, L


def segment_K(model, L, spec, i, j, nodes=6):
    """||Pi_R Hbar Pi_R|| with Hbar = int_0^1 H(PX + s delta) ds by Gauss-Legendre (the operator of the proof)."""
    X = spec.neuron_tensor(model)
    PX = X.clone()
    PX[[i, j]] = X[[j, i]]
    s, w = np.polynomial.legendre.leggauss(nodes)
    s, w = (s + 1) / 2, w / 2
    graphs = []
    for sk in s:
        m = copy.deepcopy(model)
        spec.load_neurons(m, PX + float(sk) * (X - PX))
        params, _ = layer_flat(m, spec)
        graphs.append((params, torch.autograd.grad(L(m), params, create_graph=True)))
    params, axes = layer_flat(model, spec)
    pr, _ = layer_projectors([tuple(p.shape) for p in params], axes)
    sizes = [p.numel() for p in params]

    def op(v):
        out = torch.zeros_like(v)
        for wk, (ps, gs) in zip(w, graphs):
            vs = [c.view_as(p) for c, p in zip(torch.split(pr(v), sizes), ps)]
            hv = torch.autograd.grad(gs, ps, grad_outputs=vs, retain_graph=True)
            out = out + float(wk) * torch.cat([h.reshape(-1) for h in hv])
        return pr(out)

    return extreme_eigenvalue(op, sum(sizes), like=X, which="magnitude", tol=1e-10, project=pr).value


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 10))
def test_lemma4_lower_bound_is_below_the_segment_relative_constant(seed, width):
    model, L = make(seed, width)
    spec = neuron_spec(model)
    rec = gd_step_record(model, L, spec, lr=1e-3)
    i, j = rec.K_pair
    K_seg = segment_K(model, L, spec, i, j)
    assert rec.K_lower_bound <= K_seg * (1 + 1e-6)
    # and the local value of the library (at X) is a lower bound of the full Hessian's norm
    res = relative_sharpness(lambda: L(model), model, tol=1e-8)
    assert res.K_rel <= res.lambda_max * (1 + 1e-6) or res.lambda_max < 0


def test_negative_control_a_rule_that_is_not_p1_breaks_the_bound():
    width = 6
    extra = torch.linspace(-1, 1, width) * 5.0  # neuron i gets a drift 5 (2i/(n-1) - 1): the Hessian is unchanged
    model, L = make(0, width, extra)
    spec = neuron_spec(model)
    rec = gd_step_record(model, L, spec, lr=1e-3)
    i, j = rec.K_pair
    assert rec.K_lower_bound > 2 * segment_K(model, L, spec, i, j)


def test_adam_close_pair_is_below_the_local_relative_constant():
    model, loss = mlp(7, width=5)
    opt = warm_adam(model, loss, steps=3)
    spec = neuron_spec(model)
    # neuron 1 := neuron 0 + a tiny offset, in parameters and in Adam's state (the particle of Sec. 5.2)
    params, axes = layer_flat(model, spec)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p, a in zip(params, axes):
            for t in (p, opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"]):
                src = t.select(a, 0)
                t.select(a, 1).copy_(src + 1e-6 * src.abs() * torch.rand(src.shape, generator=g))
    res = relative_sharpness(loss, model, optimizer=opt, tol=1e-8, lambda_max=False)
    _, rule, state = stateless_rule(opt, params)
    gs = torch.autograd.grad(loss(), params)
    U = rule(gs, [p.detach() for p in params], state)
    k = len(params)

    def rows(ts, ax):
        return torch.cat([t.detach().movedim(a, 0).reshape(t.shape[a], -1) for t, a in zip(ts, ax)], dim=1)

    X = torch.cat([rows(params, axes), rows(state[:k], axes), rows(state[k:], axes)], dim=1)
    UX = torch.cat([rows(U[:k], axes), rows(U[k:2 * k], axes), rows(U[2 * k:], axes)], dim=1)
    ratio = float(torch.linalg.vector_norm(UX[0] - UX[1]) / torch.linalg.vector_norm(X[0] - X[1]))
    assert ratio <= res.K_rel * (1 + 1e-3)


def test_adam_where_v_is_zero_is_a_verdict_not_a_crash():
    model, loss = mlp(1, width=4)
    with torch.no_grad():
        model[2].weight[0, 0] = 0.0  # neuron 0 feeds nothing: its incoming gradient, and so v', is 0
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    res = relative_sharpness(loss, model, optimizer=opt, lambda_max=False)
    assert res.K_rel == float("inf") and not res.converged and "not finite" in res.note


def test_bad_input():
    model, loss = mlp(0)
    with pytest.raises(ValueError, match="stateless form"):
        relative_sharpness(loss, model, optimizer=torch.optim.Adagrad(model.parameters()))
    with pytest.raises(ValueError, match="tol"):
        relative_sharpness(loss, model, tol=0)
    with pytest.raises(ValueError, match="not both"):
        relative_sharpness(loss, model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                           rule=lambda g, p, s: [-x for x in g])
    with pytest.raises(TypeError, match="scalar"):
        relative_sharpness(lambda: torch.zeros(3), model)
