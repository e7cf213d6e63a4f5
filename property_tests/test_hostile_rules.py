"""The core checkers on rules written to hide their flaws (issue: P2-K and P3 checkers that find
what a hostile rule hides, and respect the domain of the particle).

* discontinuous rules (rank/sort of the norms, floor/round/sign of a norm or of a pairwise
  distance, thresholds, argmax) are refused by P2-K as "discontinuous" and by P3, with default
  arguments, on generated collections;
* a rule anchored far out in a lazy collection is refused by P1 with default arguments;
* the smooth controls (300 generated symmetric rules) raise no false alarm;
* stateless Adam is perturbed inside its domain (v >= 0): no crash, and its P2-K constant is
  measured to blow up as v -> 0 (the rule divides by sqrt(v) + eps);
* every rule and optimizer the library ships goes through the default checkers without an exception.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import invariance as inv
from invariance import strategies as ist
from invariance.domains import ParticleDomain
from invariance.potentials import GaussianPair
from invariance.properties import (
    altered_continuity_constant,
    check_continuity,
    continuity_constant,
    equivariance_error,
    smoothness_violation,
)


def _norms(x):
    return np.linalg.norm(x, axis=1)


def rank_scaled(c, m=None):
    def f(x):
        r = np.argsort(np.argsort(_norms(x)))
        return -(1 + c * r[:, None] / len(x)) * x
    return f


def sorted_copy(c, m=None):
    return lambda x: -c * x[np.argsort(_norms(x))]


# the levels at which the next rules jump are set among the collection's own norms (m: the median
# norm, or the median pairwise distance), so that a jump lies within reach of the collection
def floor_of_norm(c, m):
    return lambda x: -np.floor(c * _norms(x) / m)[:, None] * x


def round_of_norm(c, m):
    return lambda x: -np.round(c * _norms(x) / m)[:, None] * x


def sign_of_norm(c, m):
    return lambda x: -np.sign(_norms(x) - m)[:, None] * x


def round_of_distance(c, m):
    def f(x):
        d = x[:, None, :] - x[None, :, :]
        return -(np.round(c * np.linalg.norm(d, axis=2) / m)[:, :, None] * d).mean(axis=1)
    return f


def threshold(c, m):
    return lambda x: np.where(_norms(x)[:, None] > m, -x, -0.5 * x)


def argmax_boost(c, m=None):
    def f(x):
        u = -x.copy()
        u[np.argmax(_norms(x))] *= 1 + c
        return u
    return f


HOSTILE = [rank_scaled, sorted_copy, floor_of_norm, round_of_norm, sign_of_norm, round_of_distance, threshold,
           argmax_boost]


@st.composite
def collections_and_constants(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n, D = draw(st.integers(3, 10)), draw(st.integers(1, 3))
    X = inv.FiniteCollection(rng.normal(size=(n, D)))
    return X, draw(st.floats(0.5, 3.0))


@pytest.mark.parametrize("family", HOSTILE, ids=[f.__name__ for f in HOSTILE])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=collections_and_constants())
def test_discontinuous_rules_are_refused_as_discontinuous(family, case):
    X, c = case
    pts = X.points
    m = (np.median(np.linalg.norm(pts[:, None] - pts[None], axis=2)[np.triu_indices(X.n, 1)])
         if family is round_of_distance else np.median(_norms(pts)))
    rule = inv.FunctionRule(family(c, m), name=family.__name__)
    report = check_continuity(rule, X, K=100.0)
    assert not report.passed and report.details["finding"] == "discontinuous", report
    d = report.details["discontinuity"]
    assert d["ratio"] > 1e6 and d["||X - Y||"] < 1e-6 * report.details["collection_scale"]
    assert d["||U(X) - U(Y)||"] > 0 and report.worst == d["ratio"]
    ref = report.details["refinement"]
    assert ref["evaluations"] <= ref["budget"] == 256  # the stated budget, reported
    p3 = smoothness_violation(rule, X)
    assert not p3.passed and p3.details["finding"] == "discontinuous"


def test_a_tie_is_found_where_the_old_search_stopped_near_300():
    # two norms tied to 1e-9: the rank rule jumps there; the old search never tried a pair below 1e-4
    X = inv.FiniteCollection([[1.0, 0.0], [0.0, 1.0 + 1e-9], [2.0, 1.0], [-0.5, 0.3]])
    report = check_continuity(inv.FunctionRule(rank_scaled(1.0)), X, K=50.0)
    assert report.details["finding"] == "discontinuous" and report.worst > 1e10


def test_kinks_are_kinks_and_k_too_small_is_not_a_discontinuity():
    X = inv.FiniteCollection(np.random.default_rng(3).normal(size=(6, 2)))
    p3 = smoothness_violation(inv.PointwiseRule(lambda x: -np.maximum(x, 0.0)), X)
    assert not p3.passed and p3.details["finding"] == "kink" and p3.counterexample["kind"].startswith("kink")
    assert p3.counterexample["s0"] is not None and p3.counterexample["i"] is not None  # where
    small = check_continuity(inv.centering_rule(3.0), X, K=1.0)
    assert not small.passed and small.details["finding"] == "K exceeds the claim"


@pytest.mark.parametrize("anchor", [10**6, 10**9, 10**12 - 1, 999])
def test_an_anchor_far_out_in_a_lazy_collection_is_moved_by_default(anchor):
    X = inv.LazyCollection(inv.CircleBase(), {3: [1.0, 1.0]})
    rule = inv.AnchoredRule(inv.centering_rule(1.0, quadrature=64), anchor=anchor)
    report = equivariance_error(rule, X)
    assert not report.passed, report
    assert anchor in report.counterexample["cycles"][0] or anchor in sum(report.counterexample["cycles"], ())
    assert equivariance_error(inv.centering_rule(1.0, quadrature=64), X).passed  # the control


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=ist.finite_collections(min_size=2, max_size=8), rule=ist.symmetric_rules())
def test_no_false_alarm_on_300_generated_smooth_rules(X, rule):
    K = rule.smoothness_constant(X.n)
    report = check_continuity(rule, X, K) if K > 0 else continuity_constant(rule, X)
    assert report.passed, report
    assert report.details.get("finding") is None


# -- the domain of the particle --------------------------------------------------------------
def _adam_particles(v, theta=None, seed=0):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(8, 2)) if theta is None else theta
    return inv.FiniteCollection(np.concatenate([theta, 0.1 * rng.normal(size=(8, 2)), np.full((8, 2), v)], axis=1))


def test_stateless_adam_declares_v_nonnegative_and_is_checked_inside():
    rule = inv.StatelessOptimizer(inv.InteractionPotential(pair=GaussianPair(1.0, 0.5)), inv.adam(), 0.01)
    dom = rule.domain(6)
    assert isinstance(dom, ParticleDomain) and dom.lower[4:] == (0.0, 0.0) and "v >= 0" in dom.describe()
    assert rule.domain(5) is None and inv.StatelessOptimizer(rule.loss, inv.sgd(), 0.01).domain(2) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sqrt of a negative v anywhere
        for v in (1.0, 1e-12, 0.0):
            X = _adam_particles(v)
            for report in (continuity_constant(rule, X), altered_continuity_constant(rule, X),
                           smoothness_violation(rule, X)):
                assert report.details.get("finding") != "non-finite update inside the domain", report
                assert report.details["domain"].startswith("x[4] >= 0")
    with pytest.raises(ValueError, match="outside the rule's domain"):
        continuity_constant(rule, _adam_particles(-1.0))


def test_the_p2k_constant_of_stateless_adam_blows_up_as_v_goes_to_zero():
    # the rule divides by sqrt(v_hat) + eps: dU/dm = 1/(sqrt(v_hat) + eps) -> 1/eps, and the v-derivative
    # m_hat / (2 sqrt(v_hat) (sqrt(v_hat) + eps)^2) is unbounded; Proposition 3 proves P1, never P2-K
    rule = inv.StatelessOptimizer(inv.InteractionPotential(pair=GaussianPair(1.0, 0.5)), inv.adam(), 0.01)
    k1 = continuity_constant(rule, _adam_particles(1.0)).worst
    k12 = continuity_constant(rule, _adam_particles(1e-12)).worst
    assert k12 >= 100 * k1, (k1, k12)
    # at a stationary point (g = 0: all neurons at one place) the growth is the rule's own, eps and all
    theta = np.tile([[0.3, -0.2]], (8, 1))
    at = {eps: continuity_constant(inv.StatelessOptimizer(rule.loss, inv.adam(eps=eps), 0.01),
                                   _adam_particles(0.0, theta)).worst for eps in (1e-8, 1e-4)}
    assert at[1e-8] >= 1e3 * at[1e-4] and at[1e-8] * 1e-8 > 1.0  # K >= 1/eps: grows as eps shrinks


def test_a_nan_inside_the_domain_is_a_finding_not_a_crash():
    def log_rule(x):
        return -np.log(x)  # -inf at x = 0, a point of the declared domain x >= 0

    dom = ParticleDomain.from_bounds(1, lower={0: 0.0})
    rule = inv.PointwiseRule(log_rule, domain=dom)
    X = inv.FiniteCollection([[0.5], [1.0], [2.0]])
    with np.errstate(divide="ignore"):
        at_zero = continuity_constant(rule, inv.FiniteCollection([[0.0], [1.0]]))
        p3 = smoothness_violation(rule, inv.FiniteCollection([[0.0], [1.0]]))
    for report in (at_zero, p3):
        assert not report.passed and report.details["finding"] == "non-finite update inside the domain"
        assert "NaN or inf" in str(report.counterexample)
    assert smoothness_violation(rule, X).details["domain"] == "x[0] >= 0"


# -- every shipped rule, default arguments --------------------------------------------------
def _shipped_rules():
    pot = inv.InteractionPotential(pair=GaussianPair(1.0, 0.5))
    rules = [("centering", inv.centering_rule(2.0), 2), ("gradient descent", inv.GradientDescent(pot), 2),
             ("pointwise", inv.PointwiseRule(lambda x: -np.tanh(x)), 2),
             ("function", inv.FunctionRule(lambda x: -(x - x.mean(0))), 2),
             ("index biased", inv.IndexBiasedRule(inv.centering_rule(1.0), index=1), 2),
             ("anchored", inv.AnchoredRule(inv.centering_rule(1.0), anchor=0), 2)]
    for name, tr in (("sgd", inv.sgd()), ("momentum", inv.momentum(0.9)), ("nesterov", inv.momentum(0.9, True)),
                     ("adam", inv.adam()), ("eq. (16)", inv.adam(variant="paper"))):
        rules.append((f"stateless {name}", inv.StatelessOptimizer(pot, tr, 0.01), 2 * (1 + tr.n_state)))
    return rules


@pytest.mark.parametrize("name,rule,D", _shipped_rules(), ids=[r[0] for r in _shipped_rules()])
def test_every_shipped_rule_goes_through_the_default_checkers(name, rule, D):
    rng = np.random.default_rng(1)
    points = rng.normal(size=(6, D))
    dom = rule.domain(D)
    if dom is not None:
        points = dom.project(np.abs(points) * (np.asarray(dom.lower) > -math.inf) + points
                             * ~(np.asarray(dom.lower) > -math.inf))
    X = inv.FiniteCollection(points)
    t = 1 if "eq. (16)" in name else 0  # eq. (16) as printed is undefined at t = 0 (it divides by 1 - beta^0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for report in (continuity_constant(rule, X, t=t), smoothness_violation(rule, X, t=t)):
            assert report.trials > 0
            assert report.details.get("finding") != "non-finite update inside the domain"


def test_every_torch_stateless_rule_goes_through_the_default_checkers():
    torch = pytest.importorskip("torch")
    from invariance.torch import torch_rule

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    x, y = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    for opt in ("sgd", "momentum", "nesterov", "adam"):
        rule = torch_rule(model, optimizer=opt, lr=0.01, loss_fn=torch.nn.functional.mse_loss, inputs=x,
                          targets=y, freeze_uncovered=True)
        X = rule.initial()  # the state is zero: Adam's v sits on the boundary of its domain
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for report in (continuity_constant(rule, X), smoothness_violation(rule, X)):
                assert report.trials > 0, (opt, report)
                assert report.details.get("finding") != "non-finite update inside the domain", (opt, report)
