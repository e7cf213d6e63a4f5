"""lambda_max and K_rel tracked through training, warm-started (invariance.torch.sharpness_tracker)."""

import json

import pytest
import torch

from invariance.sharpness import sharpness
from invariance.torch import TrainingMonitor
from invariance.torch.relative_sharpness import relative_sharpness
from invariance.torch.sharpness_tracker import SharpnessTracker


def problem(seed=0, width=32):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.Sigmoid(), torch.nn.Linear(width, 3)).double()
    x = torch.randn(200, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (200,))
    return model, lambda: torch.nn.functional.cross_entropy(model(x), y)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_warm_estimates_agree_with_cold_ones_and_cost_less(opt_name):
    model, loss = problem()
    opt = (torch.optim.SGD(model.parameters(), lr=0.5) if opt_name == "sgd"
           else torch.optim.Adam(model.parameters(), lr=1e-2))
    tracker = SharpnessTracker(loss, model, optimizer=opt, every=5, tol=1e-6)
    for t in range(40):
        opt.zero_grad()
        loss().backward()
        opt.step()
        rec = tracker.update(t)
        if rec is None:
            continue
        cold = sharpness(loss, list(model.parameters()), tol=1e-10, seed=7)
        assert abs(rec.lambda_max - cold.eigenvalue) <= 1e-5 * abs(cold.eigenvalue)
        assert rec.lambda_max <= cold.eigenvalue * (1 + 1e-12)  # Ritz values never overshoot
        rel = relative_sharpness(loss, model, optimizer=opt, tol=1e-10, seed=7, lambda_max=False)
        assert abs(rec.K_rel - rel.K_rel) <= 1e-4 * rel.K_rel
    recs = tracker.records
    assert len(recs) == 8 and not recs[0].warm and all(r.warm for r in recs[1:])
    cold_cost = recs[0].lambda_products
    warm_cost = sum(r.lambda_products for r in recs[1:]) / (len(recs) - 1)
    assert warm_cost < cold_cost
    assert tracker.products == sum(r.lambda_products + r.K_rel_products for r in recs)
    json.dumps(tracker.as_dict())
    assert "lambda_max" in tracker.table()


def test_monitor_attaches_tracked_sharpness():
    model, loss = problem(1, width=16)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with TrainingMonitor(model, opt, sharpness_every=3, loss_fn=loss, warn=False) as mon:
        for _ in range(7):
            opt.zero_grad()
            loss().backward()
            opt.step()
    with_sharpness = [r for r in mon.records if r.sharpness is not None]
    assert [r.step for r in with_sharpness] == [0, 3, 6]
    for r in with_sharpness:
        assert r.sharpness.eta == pytest.approx(0.1)
        assert r.sharpness.eta_K_rel == pytest.approx(0.1 * r.sharpness.K_rel)
        # Lemma 4 with the relative constant: K_lb of the step is of K_rel's size, not lambda_max's
        assert r.sharpness.K_rel < r.sharpness.lambda_max
    d = json.loads(mon.to_json())
    assert d["sharpness"]["records"][0]["step"] == 0 and d["records"][0]["sharpness"]["K_rel"] > 0


def test_bad_input():
    model, loss = problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="loss_fn"):
        TrainingMonitor(model, opt, sharpness_every=2)
    with pytest.raises(ValueError, match="sharpness_every"):
        TrainingMonitor(model, opt, sharpness_every=0, loss_fn=loss)
    with pytest.raises(ValueError, match="every"):
        SharpnessTracker(loss, model, every=0)
    with pytest.raises(TypeError, match="loss_fn"):
        SharpnessTracker(3, model)
