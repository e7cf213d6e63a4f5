"""P3 (smoothness, eq. 6): smoothness_violation / check_smoothness / assert_smooth."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invariance import (
    AnchoredRule,
    CircleBase,
    FiniteCollection,
    FunctionRule,
    GaussianPair,
    GradientDescent,
    HarmonicPair,
    HuberPair,
    InteractionPotential,
    LazyCollection,
    LogCosh,
    PointwiseRule,
    Quadratic,
    TorusBase,
    centering_rule,
)
from invariance import strategies as ist
from invariance.properties import PropertyViolation, assert_smooth, check_smoothness, smoothness_violation


def huber_rules():
    """GD on a Huber pair potential (gradient Lipschitz but kinked), with or without a quadratic site."""
    pair = st.builds(HuberPair, st.floats(0.2, 3.0), st.floats(0.1, 1.0))
    site = st.none() | st.builds(Quadratic, st.floats(0.1, 3.0))
    return st.builds(lambda p, s: GradientDescent(InteractionPotential(site=s, pair=p)), pair, site)


SMOOTH_POTENTIALS = [
    InteractionPotential(pair=GaussianPair(2.0, 0.7)),
    InteractionPotential(pair=HarmonicPair(1.5)),
    InteractionPotential(site=LogCosh(2.0)),
    InteractionPotential(site=LogCosh(3.0), pair=GaussianPair(3.0, 0.5)),
    InteractionPotential(site=Quadratic(1.0), pair=HarmonicPair(2.0)),
]
KINKED_POINTWISE = {
    "abs": lambda x: -np.abs(x),
    "relu": lambda x: np.maximum(x, 0.0),
    "clip": lambda x: -np.clip(x, -0.5, 0.5),
}


# -- smooth rules pass -----------------------------------------------------------------------
@settings(max_examples=40)
@given(ist.finite_collections(max_size=6), ist.symmetric_rules(smooth=True))
def test_smooth_symmetric_rules_pass(X, rule):
    report = smoothness_violation(rule, X, n_lines=8)
    assert report.passed, str(report)
    assert report.property == "P3 smoothness"
    assert report.worst <= report.tolerance


@settings(max_examples=10)
@given(ist.lazy_collections(max_overrides=3), ist.symmetric_rules(smooth=True))
def test_smooth_mean_field_rules_pass_on_lazy_collections(X, rule):
    assert smoothness_violation(rule, X, n_lines=6).passed


@pytest.mark.parametrize("potential", SMOOTH_POTENTIALS, ids=repr)
def test_c2_potentials_pass(potential):
    X = FiniteCollection(np.random.default_rng(4).uniform(-5, 5, size=(10, 2)))
    report = smoothness_violation(GradientDescent(potential), X)
    assert report.passed, str(report)
    # cheap: a few hundred evaluations for n = 10
    assert report.trials <= 16 * 22 + 4 * 70


def test_centering_and_tanh_pass_finite_and_lazy():
    X = FiniteCollection([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5], [-3.0, 2.0]])
    assert assert_smooth(centering_rule(2.0), X).passed
    assert check_smoothness(PointwiseRule(lambda x: -np.tanh(x)), X).passed
    L = LazyCollection(CircleBase(), {2: [0.3, 0.1]})
    assert assert_smooth(centering_rule(2.0, quadrature=64), L).passed


# -- kinked rules fail -----------------------------------------------------------------------
@settings(max_examples=40)
@given(ist.finite_collections(min_size=2, max_size=6), huber_rules())
def test_gd_on_huber_pair_fails(X, rule):
    report = smoothness_violation(rule, X)
    assert not report.passed, str(report)
    cx = report.counterexample
    assert {"i", "j", "direction_i", "s0", "jump", "left_slope", "right_slope"} <= set(cx)
    # the jump does not shrink to zero as the one-sided slopes are taken closer to s0 (a
    # C^1 response would give J(w) = J(4w) / 4 -> 0). J(4w) may exceed J(w) when a second
    # kink lies within 4w of s0 (two Huber kinks at once), so compare with the tolerance.
    eps = sorted(cx["jumps_by_eps"])
    assert cx["jumps_by_eps"][eps[0]] > report.tolerance
    assert report.worst > report.tolerance


@settings(max_examples=20)
@given(ist.finite_collections(max_size=6), st.sampled_from(sorted(KINKED_POINTWISE)))
def test_kinked_pointwise_rules_fail(X, name):
    report = smoothness_violation(PointwiseRule(KINKED_POINTWISE[name]), X)
    assert not report.passed, str(report)
    assert report.counterexample["jump"] > 0.1


def test_abs_kink_is_located_and_measured():
    X = FiniteCollection([[0.5], [2.0], [-1.0]])
    report = smoothness_violation(PointwiseRule(lambda x: -np.abs(x)), X)
    assert not report.passed
    cx = report.counterexample
    # a coordinate line through entry i crosses x_i = 0 at s0 = -x_i / a; slope jumps by 2|a|
    i, a = cx["i"], cx["direction_i"][0]
    assert X.points[i, 0] + cx["s0"] * a == pytest.approx(0.0, abs=1e-6)
    assert cx["jump"] == pytest.approx(2 * abs(a), rel=1e-4)


def test_kinks_are_found_on_lazy_collections():
    L = LazyCollection(TorusBase(), {1: [0.5, -0.2, 0.1]})
    assert not smoothness_violation(PointwiseRule(lambda x: -np.abs(x)), L).passed
    assert not smoothness_violation(GradientDescent(InteractionPotential(pair=HuberPair(1.0, 0.3)), quadrature=64),
                                    L).passed
    # the anchored control is smooth (only P1 breaks)
    assert smoothness_violation(AnchoredRule(centering_rule(1.0, quadrature=64)), L).passed


def test_float32_collections_are_probed_in_float64():
    X = FiniteCollection(np.random.default_rng(1).uniform(-3, 3, size=(6, 2)).astype(np.float32))
    report = smoothness_violation(GradientDescent(InteractionPotential(pair=GaussianPair(1.0, 1.0))), X)
    assert report.passed and report.details["probe_dtype"] == "float64" and report.details["dtype"] == "float32"
    assert not smoothness_violation(PointwiseRule(lambda x: -np.abs(x)), X).passed
    # without promotion the float32 probe stops at sqrt(eps32) and still separates the two
    raw = smoothness_violation(GradientDescent(InteractionPotential(pair=GaussianPair(1.0, 1.0))), X, promote=False)
    assert raw.details["probe_dtype"] == "float32"
    assert raw.passed, str(raw)
    assert not smoothness_violation(PointwiseRule(lambda x: -np.abs(x)), X, promote=False).passed


def test_assert_smooth_raises_with_the_report():
    X = FiniteCollection([[0.5], [2.0], [-1.0]])
    rule = PointwiseRule(lambda x: np.maximum(x, 0.0))
    with pytest.raises(PropertyViolation) as info:
        assert_smooth(rule, X)
    assert info.value.report == smoothness_violation(rule, X)
    assert "P3 smoothness: FAILED" in str(info.value)
    assert check_smoothness(rule, X) == smoothness_violation(rule, X)


def test_reproducible_and_seeded():
    X = FiniteCollection(np.random.default_rng(0).normal(size=(5, 2)))
    rule = GradientDescent(InteractionPotential(pair=HuberPair(1.0, 0.2)))
    assert smoothness_violation(rule, X, seed=4) == smoothness_violation(rule, X, seed=4)
    assert isinstance(smoothness_violation(rule, X, seed=None).seed, int)


# -- bad input ----------------------------------------------------------------------------
X3 = FiniteCollection([[0.0], [1.0], [3.0]])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_lines=0), ValueError, "n_lines"),
        (dict(grid=4), ValueError, "grid"),
        (dict(n_zoom=0), ValueError, "n_zoom"),
        (dict(span=0.0), ValueError, "span"),
        (dict(span="wide"), TypeError, "span"),
        (dict(jump_rtol=float("nan")), ValueError, "jump_rtol"),
        (dict(promote="yes"), TypeError, "promote"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(t=1.5), ValueError, "t must"),
        (dict(tolerance=0.1), TypeError, "tolerance"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        smoothness_violation(centering_rule(1.0), X3, **kwargs)


def test_bad_rule_and_collection_are_refused():
    with pytest.raises(TypeError, match="rule"):
        smoothness_violation(np.abs, X3)
    with pytest.raises(TypeError, match="X must be"):
        smoothness_violation(centering_rule(1.0), "X")
    with pytest.raises(TypeError, match="finite collections only"):
        smoothness_violation(FunctionRule(lambda x: -x), LazyCollection(CircleBase()))
