"""The training monitor: Lemmas 1, 2 and 4 and merges, blockwise, on real optimizer steps."""

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

from invariance import FunctionRule
from invariance.statements.no_merging import bi_lipschitz_ratios, update_difference_ratios
from invariance.torch import (
    CriticalStepWarning,
    NeuronLayer,
    NeuronSpec,
    ParameterAxis,
    TrainingMonitor,
    step_statistics,
)


class Particles(torch.nn.Module):
    """A bare neuron collection ``W`` (n x D) as a torch module."""

    def __init__(self, W):
        super().__init__()
        self.W = torch.nn.Parameter(torch.as_tensor(np.asarray(W), dtype=torch.float64).clone())

    def spec(self):
        return NeuronSpec([NeuronLayer("w", self.W.shape[0], (ParameterAxis("W", 0),))])


def quadratic(model, A, b=0.0):
    """``L = 1/2 sum_i w_i^T A w_i - b/(2n) ||sum_i w_i||^2``: symmetric, Hessian known."""
    W = model.W
    return 0.5 * torch.einsum("id,de,ie->", W, A, W) - 0.5 * b / W.shape[0] * (W.sum(dim=0) ** 2).sum()


def gd_steps(model, opt, loss, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()


def dense_reference(X, X1, eta):
    """Lemma 4 and Lemma 2 on numpy by the library's dense statements."""
    U = (X1 - X) / eta
    rule = FunctionRule(lambda points: U)
    r4 = update_difference_ratios(rule, X)
    r2 = bi_lipschitz_ratios(rule, X, eta, max(r4.max_ratio, 1e-300))
    return r4, r2


@pytest.mark.parametrize("seed", range(6))
def test_blockwise_statistics_equal_the_dense_reference(seed):
    rng = np.random.default_rng(seed)
    n, D = int(rng.integers(2, 40)), int(rng.integers(1, 6))
    X = rng.normal(size=(n, D))
    if n > 4:
        X[3] = X[1]  # coincident neurons: no ratio
    A = rng.normal(size=(D, D))
    eta = float(rng.uniform(0.01, 0.5))
    X1 = X + eta * (-np.tanh(X @ A) + 0.3 * (X - X.mean(axis=0)))
    r4, r2 = dense_reference(X, X1, eta)
    for block_size in (None, 1, 3):
        rec = step_statistics(X, X1, eta, block_size=block_size)
        assert math.isclose(rec.K_lower_bound, r4.max_ratio, rel_tol=1e-9)
        assert rec.K_pair == r4.worst_pair
        assert rec.coincident_pairs == r4.coincident_pairs
        assert math.isclose(rec.min_ratio, r2.min_ratio, rel_tol=1e-9) and rec.min_pair == r2.min_pair
        assert math.isclose(rec.max_ratio, r2.max_ratio, rel_tol=1e-9) and rec.max_pair == r2.max_pair
        assert rec.distinct_pairs + rec.coincident_pairs == rec.pairs == n * (n - 1) // 2
        assert rec.ratios_outside == 0  # Lemma 2 with K = K_lb holds by the triangle inequality
        assert rec.K_lemma2 <= rec.K_lower_bound * (1 + 1e-12)
        assert math.isclose(rec.diameter_after, float(pdist(X1).max()), rel_tol=1e-9)
        assert rec.coincident_split == 0 and rec.coincident_update_gap == 0.0


def test_blockwise_pass_on_a_larger_cloud_matches_pdist():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 2))
    X1 = X - 0.1 * np.sin(3 * X)
    rec = step_statistics(X, X1, 0.1, block_size=100)
    d, d1, du = pdist(X), pdist(X1), pdist(X1 - X) / 0.1
    assert math.isclose(rec.min_ratio, float((d1 / d).min()), rel_tol=1e-8)
    assert math.isclose(rec.max_ratio, float((d1 / d).max()), rel_tol=1e-8)
    assert math.isclose(rec.K_lower_bound, float((du / d).max()), rel_tol=1e-8)


def test_a_claimed_K_is_tested_against_lemma_2():
    X = np.array([[0.0], [1.0], [3.0]])
    X1 = 0.5 * X  # every ratio is 1/2: U = -2 X, K = 2
    assert step_statistics(X, X1, 0.25, K=2.0).ratios_outside == 0
    rec = step_statistics(X, X1, 0.25, K=1.0)  # band [0.75, 1.25] misses every pair
    assert rec.ratios_outside == 3 and rec.lower_bound == 0.75


def test_gd_lower_bound_is_below_the_true_K_and_an_unequivariant_rule_exceeds_it():
    """Lemma 4: for GD on a symmetric quadratic with known K = 3, K_lb <= K; a rule with a
    per-index learning rate (not P1) produces ||U_i - U_j|| / ||x_i - x_j|| > K."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    A = torch.as_tensor(Q @ np.diag([1.0, 2.0, 3.0]) @ Q.T)
    K = 3.0  # Hessian eigenvalues: those of A, and A - b on the mean direction (b = 0.5)
    model = Particles(rng.normal(size=(20, 3)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with TrainingMonitor(model, opt, spec=model.spec()) as mon:
        gd_steps(model, opt, lambda: quadratic(model, A, 0.5), 5)
    assert all(r.K_lower_bound <= K * (1 + 1e-9) for r in mon.records)
    assert max(r.K_lower_bound for r in mon.records) > 0.5 * K

    class IndexScaledSGD(torch.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    scale = torch.ones(p.shape[0], 1, dtype=p.dtype)
                    scale[0] = 5.0  # neuron 0 learns 5 times faster
                    p.add_(-group["lr"] * scale * p.grad)

    model = Particles(rng.normal(size=(20, 3)))
    opt = IndexScaledSGD(model.parameters(), lr=0.1)
    with TrainingMonitor(model, opt, spec=model.spec(), warn=False) as mon:
        gd_steps(model, opt, lambda: quadratic(model, A, 0.5), 3)
    assert max(r.K_lower_bound for r in mon.records) > K


def test_critical_step_warning_fires_when_eta_crosses_one_over_K():
    K = 2.0
    A = K * torch.eye(2, dtype=torch.float64)  # U_i = -K x_i: K_lb = K for every pair
    model = Particles(np.random.default_rng(3).normal(size=(6, 2)))
    opt = torch.optim.SGD(model.parameters(), lr=0.4 / K)
    schedule = [0.4, 0.99, 1.2, 1.5, 0.9, 1.1]  # eta * K per step: crosses 1 at steps 2 and 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with TrainingMonitor(model, opt, spec=model.spec()) as mon:
            for etaK in schedule:
                opt.param_groups[0]["lr"] = etaK / K
                gd_steps(model, opt, lambda: quadratic(model, A), 1)
    crit = [w for w in caught if issubclass(w.category, CriticalStepWarning)]
    assert [r.step for r in mon.records if r.critical] == [2, 3, 5]
    assert len(crit) == 2 and "step 2" in str(crit[0].message) and "step 5" in str(crit[1].message)
    assert [round(r.eta_K, 9) for r in mon.records] == schedule
    model = Particles(np.ones((3, 1)) * np.arange(3)[:, None])
    opt = torch.optim.SGD(model.parameters(), lr=1.2 / K)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with TrainingMonitor(model, opt, spec=model.spec(), warn=False) as mon:
            gd_steps(model, opt, lambda: quadratic(model, A), 1)
    assert mon.records[0].critical


def test_merges_are_counted_on_a_collapsing_cloud():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [1.0, 3.0], [5.0, 5.0]])
    X1 = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.5, 3.0], [0.5, 3.0], [5.0, 5.0]])
    rec = step_statistics(X, X1, 0.5, merge_tolerance=1e-3)
    assert rec.merged_pairs == 3 + 1 and rec.n_distinct == 3
    assert rec.min_ratio == 0.0 and rec.coincident_pairs == 0
    chain = np.arange(10.0)[:, None] * 1e-4  # single linkage: a chain of close neurons is one cluster
    far = np.vstack([chain, [[1.0]]])
    assert step_statistics(far, far, 1.0, merge_tolerance=2e-4).n_distinct == 2
    # GD at eta = 1/K exactly collapses every neuron to the minimiser
    K = 2.0
    model = Particles(np.random.default_rng(0).normal(size=(7, 2)))
    opt = torch.optim.SGD(model.parameters(), lr=1.0 / K)
    with pytest.warns(CriticalStepWarning):
        with TrainingMonitor(model, opt, spec=model.spec()) as mon:
            gd_steps(model, opt, lambda: quadratic(model, K * torch.eye(2, dtype=torch.float64)), 1)
    rec = mon.records[0]
    assert rec.n_distinct == 1 and rec.merged_pairs == 21 and rec.min_ratio == 0.0


def test_coincident_neurons_have_no_ratio_and_stay_together_under_p1():
    X = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 0.0]])
    X1 = X - 0.1 * X
    rec = step_statistics(X, X1, 0.1)
    assert rec.coincident_pairs == 1 and rec.distinct_pairs == 2 and rec.coincident_split == 0
    assert rec.merged_pairs == 1 and rec.n_distinct == 2
    broken = X1.copy()
    broken[0] += 0.05  # a rule that moves one of two identical neurons: Lemma 1 fails
    rec = step_statistics(X, broken, 0.1)
    assert rec.coincident_split == 1 and math.isclose(rec.coincident_update_gap, 0.5 * math.sqrt(2))
    rec = step_statistics(np.zeros((4, 2)), np.zeros((4, 2)), 0.1)
    assert rec.distinct_pairs == 0 and math.isnan(rec.min_ratio) and rec.K_lower_bound == 0.0 and rec.n_distinct == 1


def test_monitor_on_an_mlp_records_every_k_steps_and_removes_its_hooks():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Sigmoid(), torch.nn.Linear(16, 2)).double()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    X, y = torch.randn(64, 3, dtype=torch.float64), torch.randn(64, 2, dtype=torch.float64)

    def train(steps):
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(X), y).backward()
            opt.step()

    mon = TrainingMonitor(model, opt, every=2)
    train(5)
    assert [r.step for r in mon.records] == [0, 2, 4] and mon.steps_seen == 5
    assert all(r.n_neurons == 16 and r.dim == 3 + 1 + 2 for r in mon.records)
    mon.close()
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    train(2)
    assert len(mon.records) == 3
    mon.close()  # idempotent
    data = json.loads(mon.to_json())
    assert data["records"][0]["K_lower_bound"] == mon.records[0].K_lower_bound and data["every"] == 2
    table = mon.table()
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["step", "eta", "K_lower_bound"] and len(lines) == 5  # header, rule, 3 records
    assert set(lines[1]) == {"-", " "}
    with TrainingMonitor(model, opt, augmented=True) as aug:  # particles (theta, m, v) of Section 5.2
        train(1)
    assert aug.records[0].dim == 3 * 6


def test_monitor_refuses_bad_arguments():
    model = Particles(np.zeros((3, 2)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="every"):
        TrainingMonitor(model, opt, spec=model.spec(), every=0)
    with pytest.raises(ValueError, match="lr"):
        TrainingMonitor(model, opt, spec=model.spec(), lr=-1.0)
    with pytest.raises(ValueError, match="merge_tolerance"):
        TrainingMonitor(model, opt, spec=model.spec(), merge_tolerance=0.0)
    with pytest.raises(TypeError, match="optimizer"):
        TrainingMonitor(model, "sgd", spec=model.spec())
    other = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"does not update parameters \['W'\]"):
        TrainingMonitor(model, other, spec=model.spec())
    if not hasattr(__import__("invariance.topology").topology, "breakdown_diagnostics"):
        with pytest.raises(NotImplementedError, match="breakdown_diagnostics"):
            TrainingMonitor(model, opt, spec=model.spec(), diagnose_every=5)
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="before contains NaN"):
        step_statistics(X * np.nan, X, 0.1)
    with pytest.raises(ValueError, match="same shape"):
        step_statistics(X, X[:2], 0.1)
    with pytest.raises(ValueError, match="eta"):
        step_statistics(X, X, 0.0)
    with pytest.raises(ValueError, match="not be empty"):
        step_statistics(np.zeros((0, 2)), np.zeros((0, 2)), 0.1)
    with pytest.raises(ValueError, match="block_size"):
        step_statistics(X, X, 0.1, block_size=0)


def test_a_diverged_step_is_skipped_with_a_warning():
    model = Particles(np.arange(6.0).reshape(3, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with TrainingMonitor(model, opt, spec=model.spec()) as mon:
        gd_steps(model, opt, lambda: (model.W ** 2).sum(), 1)
        with pytest.warns(UserWarning, match="not finite"):
            gd_steps(model, opt, lambda: (model.W * math.nan).sum(), 1)
    assert [r.step for r in mon.records] == [0] and mon.steps_seen == 2


def test_topology_diagnostics_every_k_records():
    from invariance.topology import samplers

    model = Particles(samplers.circle(60, seed=0))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    options = {"significance": False, "max_dim": 1}
    with TrainingMonitor(model, opt, spec=model.spec(), diagnose_every=2, diagnose_options=options) as mon:
        gd_steps(model, opt, lambda: quadratic(model, torch.eye(2, dtype=torch.float64)), 3)
    first, second, third = mon.records
    assert first.diagnostics is not None and second.diagnostics is None and third.diagnostics is not None
    assert first.diagnostics.mechanism == "none" and first.diagnostics.fixed_betti == ((1, 1), (1, 1))
    assert json.loads(mon.to_json())["records"][0]["diagnostics"]["mechanism"] == "none"


@pytest.mark.parametrize("seed", range(4))
def test_tiles_cover_the_upper_triangle_exactly_once(seed, monkeypatch):
    """Many small tiles (rows x columns) give the dense answers, pair counts and merges included."""
    from invariance.torch import monitor

    monkeypatch.setattr(monitor, "DEFAULT_TILE_PAIRS", 8)
    rng = np.random.default_rng(seed)
    n, D = int(rng.integers(15, 60)), int(rng.integers(1, 5))
    X = rng.normal(size=(n, D))
    X1 = X - 0.2 * np.sin(2 * X)
    X1[5] = X1[2] + 1e-6  # one merge (and the smallest ratio), in whatever tile it falls
    ref = step_statistics(X, X1, 0.2, block_size=n)  # one tile
    d, d1, du = pdist(X), pdist(X1), pdist(X1 - X) / 0.2
    for block_size in (1, 3, 7):
        rec = step_statistics(X, X1, 0.2, block_size=block_size)
        assert rec.distinct_pairs == rec.pairs == d.size
        assert math.isclose(rec.min_ratio, float((d1 / d).min()), rel_tol=1e-9)
        assert math.isclose(rec.max_ratio, float((d1 / d).max()), rel_tol=1e-9)
        assert math.isclose(rec.K_lower_bound, float((du / d).max()), rel_tol=1e-9)
        assert rec.merged_pairs == ref.merged_pairs >= 1 and rec.n_distinct == ref.n_distinct
        assert (rec.K_pair, rec.min_pair, rec.max_pair) == (ref.K_pair, ref.min_pair, ref.max_pair)


def _mlp_run(every, steps=8, tamper=False):
    """A GD run of a 5-40-1 MLP watched by a monitor, with the neuron clouds before/after each step."""
    from invariance.torch import mlp_spec
    from invariance.torch.rules import layer_rows

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 40), torch.nn.Tanh(), torch.nn.Linear(40, 1)).double()
    X, y = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, 1, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    spec = mlp_spec(model)

    def cloud():
        return layer_rows(spec, model, 0, dict(model.named_parameters())).double().clone()

    mon = TrainingMonitor(model, opt, every=every, warn=False, block_size=16)
    pairs = []
    for _ in range(steps):
        before = cloud()
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        opt.step()
        pairs.append((before, cloud()))
        if tamper:  # a change between steps that the optimizer does not make (here: weight clipping)
            with torch.no_grad():
                model[0].weight.clamp_(-0.3, 0.3)
    mon.close()
    return mon, pairs


@pytest.mark.parametrize("tamper", [False, True])
def test_every_step_reuses_the_previous_distances_only_when_the_cloud_is_unchanged(tamper):
    mon, pairs = _mlp_run(every=1, tamper=tamper)
    assert mon.reused == (0 if tamper else len(pairs) - 1)
    fields = ("K_lower_bound", "K_pair", "min_ratio", "min_pair", "max_ratio", "max_pair", "K_lemma2",
              "ratios_outside", "merged_pairs", "diameter_before", "diameter_after")
    for rec, (before, after) in zip(mon.records, pairs):
        fresh = step_statistics(before, after, 0.3, block_size=16)
        for f in fields:
            assert getattr(rec, f) == getattr(fresh, f), f


def test_recording_every_other_step_never_reuses():
    mon, pairs = _mlp_run(every=2)
    assert mon.reused == 0 and len(mon.records) == len(pairs) // 2


def _watched_gd(background, lr=0.3, steps=10, **kw):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 40), torch.nn.Tanh(), torch.nn.Linear(40, 1)).double()
    X, y = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, 1, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    seen = []
    mon = TrainingMonitor(model, opt, background=background, callback=lambda r: seen.append(r.step), **kw)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        opt.step()
    return mon, seen


def test_background_passes_give_the_same_records_in_step_order():
    fg, _ = _watched_gd(False, warn=False)
    bg, seen = _watched_gd(True, warn=False, max_pending=1)
    recs = bg.records  # waits for the worker
    assert [r.step for r in recs] == list(range(10)) and seen == list(range(10))
    for a, b in zip(fg.records, recs):
        assert dataclasses.replace(a, seconds=0.0) == dataclasses.replace(b, seconds=0.0)
    assert bg.reused == fg.reused == 9
    bg.close()
    fg.close()


def test_background_warnings_arrive_on_the_training_thread():
    with pytest.warns(CriticalStepWarning):
        mon, _ = _watched_gd(True, lr=200.0, steps=3)
        mon.wait()
    assert any(r.critical for r in mon.records)
    mon.close()


def test_background_errors_are_raised_not_lost():
    mon, _ = _watched_gd(True, steps=0, warn=False)

    def broken(*args):
        raise RuntimeError("boom in the pass")

    mon._record = broken
    torch.manual_seed(0)
    opt = mon.optimizer
    for p in mon.model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    with pytest.raises(RuntimeError, match="boom in the pass"):
        mon.wait()
    mon.close()
