"""P2-K (eq. 5) and P2' (eq. 58): continuity_constant, check_/assert_continuity and the
altered versions."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from invariance import (
    AnchoredRule,
    CircleBase,
    FinitaryPermutation,
    FiniteCollection,
    FunctionRule,
    GradientDescent,
    HuberPair,
    IndexBiasedRule,
    InteractionPotential,
    LazyCollection,
    PointwiseRule,
    SphereBase,
    Tolerance,
    centering_rule,
    default_tolerance,
    difference_norm,
)
from invariance import strategies as ist
from invariance.properties import (
    PropertyViolation,
    altered_continuity_constant,
    assert_altered_continuity,
    assert_continuity,
    check_altered_continuity,
    check_continuity,
    continuity_constant,
)

K_VALUES = st.floats(0.1, 10.0, allow_nan=False)


# -- the estimate of K ---------------------------------------------------------------------
@settings(max_examples=40)
@given(ist.finite_collections(min_size=2, max_size=9), K_VALUES)
def test_estimate_for_centering_rule_is_K(X, K):
    rule = centering_rule(K)
    report = continuity_constant(rule, X, n_pairs=16)
    assert report.passed and math.isfinite(report.worst)
    assert report.worst == pytest.approx(K, rel=0.05)
    # and never above K beyond rounding: check_continuity with the true K passes
    assert check_continuity(rule, X, K, n_pairs=16).passed


@settings(max_examples=40)
@given(ist.finite_collections(max_size=8), ist.symmetric_rules())
def test_symmetric_rules_satisfy_their_stated_K(X, rule):
    K = rule.smoothness_constant(X.n)
    assume(K > 0)
    report = check_continuity(rule, X, K, n_pairs=16, power_steps=4)
    assert report.passed, str(report)
    assert report.worst <= report.tolerance
    assert report.details["K"] == K
    # P2-K with K implies P2' with 2K (sup_i <= the norm)
    assert check_altered_continuity(rule, X, 2 * K, n_pairs=16, power_steps=4).passed


@settings(max_examples=20)
@given(ist.lazy_collections(max_overrides=3), ist.symmetric_rules())
def test_mean_field_rules_on_lazy_collections_satisfy_their_K(X, rule):
    K = rule.smoothness_constant(None)
    report = check_continuity(rule, X, K, n_pairs=12, window=8)
    assert report.passed, str(report)
    assert report.details["infinite_ratio_pairs"] == 0
    altered = altered_continuity_constant(rule, X, n_pairs=12, window=8)
    assert altered.details["exact"] is True  # shared bases: the sup over entries is exact
    assert altered.worst <= 2 * K * (1 + 1e-9) + 1e-12


@settings(max_examples=25)
@given(ist.finite_collections(min_size=2, max_size=8, dtype="float32"), K_VALUES)
def test_float32_collections_use_float32_tolerances(X, K):
    report = check_continuity(centering_rule(K), X, K, n_pairs=8)
    tol = default_tolerance(np.float32)
    assert report.details["dtype"] == "float32"
    assert report.tolerance == pytest.approx(K * (1 + tol.rtol) + tol.atol)
    assert report.passed, str(report)
    # perturbations too small for float32 rounding are skipped
    assert min(report.details["relative_sizes_used"]) >= report.details["min_relative_size"]


@settings(max_examples=20)
@given(ist.finite_collections(max_size=6), st.floats(0.5, 4.0))
def test_pointwise_lipschitz_rule(X, c):
    rule = PointwiseRule(lambda x: -c * np.sin(x))  # Lipschitz constant c
    report = continuity_constant(rule, X, n_pairs=16)
    assert report.worst <= c * (1 + 1e-9) + 1e-12
    assert check_continuity(rule, X, c, n_pairs=16).passed


def test_transposition_pairs_of_lemma_4_are_used():
    X = FiniteCollection([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    report = continuity_constant(centering_rule(2.0), X, n_pairs=4, power_steps=0)
    assert report.details["pairs_by_kind"]["transposition"] == 6  # all pairs (i j)
    # for centering, Y = (i j) X gives exactly K: ||U(X) - U(PX)|| = K ||X - PX||
    assert report.worst == pytest.approx(2.0, rel=1e-12)


def test_counterexample_pair_attains_the_estimate():
    X = FiniteCollection(np.random.default_rng(2).normal(size=(6, 2)))
    rule = GradientDescent(InteractionPotential(pair=HuberPair(2.0, 0.3)))
    report = continuity_constant(rule, X)
    cx = report.counterexample
    assert cx["ratio"] == report.worst
    assert cx["||U(X) - U(Y)||"] / cx["||X - Y||"] == pytest.approx(report.worst)
    assert cx["kind"] in ("random", "transposition", "power iteration", "refined")
    assert report.trials >= 64


def test_counterexample_of_a_transposition_can_be_replayed():
    X = FiniteCollection([[0.0], [1.0], [5.0]])
    rule = IndexBiasedRule(centering_rule(1.0), index=0)
    report = continuity_constant(rule, X, n_pairs=4, power_steps=0, scales=(1.0,))
    pairs = report.details["pairs_by_kind"]
    assert pairs["transposition"] == 3
    # replay every transposition: none exceeds the estimate
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        Y = FinitaryPermutation.transposition(i, j).act(X)
        ratio = difference_norm(rule.update(X), rule.update(Y)) / difference_norm(X, Y)
        assert ratio <= report.worst * (1 + 1e-12)


# -- negative controls -------------------------------------------------------------------
@settings(max_examples=20)
@given(ist.finite_collections(min_size=2, max_size=8))
def test_rule_with_larger_K_fails_the_claim(X):
    with pytest.raises(PropertyViolation) as info:
        assert_continuity(centering_rule(3.0), X, K=1.0, n_pairs=8)
    report = info.value.report
    assert not report.passed
    assert report.worst == pytest.approx(3.0, rel=0.05)
    assert report.worst > report.tolerance
    assert report.counterexample["ratio"] > 1.0


def test_check_continuity_fails_for_underclaimed_K():
    X = FiniteCollection([[0.0], [1.0], [4.0], [2.0]])
    report = check_continuity(centering_rule(3.0), X, K=1.0)
    assert not report.passed
    assert report.worst == pytest.approx(3.0, rel=0.05)
    assert "K = 1" in report.property
    assert check_continuity(centering_rule(3.0), X, K=3.0).passed


def _lazy():
    return LazyCollection(CircleBase(1.5), {2: [0.5, 1.0], 7: [-1.0, 0.25]})


def test_lazy_anchored_rule_breaks_p2k_but_has_finite_p2_prime():
    X = _lazy()
    rule = AnchoredRule(centering_rule(1.0, quadrature=128), strength=2.0)
    report = continuity_constant(rule, X, n_pairs=16, window=16)
    # changing x_0 changes the update of every neuron: infinitely many entries differ
    assert report.worst == math.inf and not report.passed
    assert report.details["infinite_ratio_pairs"] > 0
    assert "P2-K fails" in report.details["p2k_fails"]
    assert report.counterexample["shared_base"] is False and 0 in report.counterexample["differing_indices"]
    with pytest.raises(PropertyViolation):
        assert_continuity(rule, X, K=1e6, n_pairs=16, window=16)
    altered = altered_continuity_constant(rule, X, n_pairs=16, window=16)
    assert altered.passed and math.isfinite(altered.worst)
    assert altered.details["exact"] is False  # the sup over infinitely many entries: a window
    assert 2.0 <= altered.worst <= 2 * (1.0 + 2.0) * 1.5  # 2 sup_i ... / ||X - Y|| is about 2c .. 2(K + c)
    assert check_altered_continuity(rule, X, K=10.0, n_pairs=16, window=16).passed
    assert not check_altered_continuity(rule, X, K=1.0, n_pairs=16, window=16).passed


def test_lazy_centering_rule_estimate_is_exact():
    X = LazyCollection(SphereBase(), {1: [0.0, 0.0, 2.0]})
    report = continuity_constant(centering_rule(2.5, quadrature=128), X, n_pairs=16, window=16)
    assert report.worst == pytest.approx(2.5, rel=1e-9)
    assert report.counterexample["shared_base"] is True


# -- assert twins and reproducibility -----------------------------------------------------------
def test_assert_twins_return_or_raise_with_the_report():
    X = FiniteCollection([[0.0], [1.0], [4.0]])
    assert assert_continuity(centering_rule(2.0), X, K=2.0).passed
    assert assert_altered_continuity(centering_rule(2.0), X, K=4.0).passed
    with pytest.raises(PropertyViolation) as info:
        assert_altered_continuity(centering_rule(2.0), X, K=1.0)
    assert info.value.report == check_altered_continuity(centering_rule(2.0), X, K=1.0)
    assert "P2' altered continuity" in str(info.value)


def test_reports_are_reproducible():
    X = FiniteCollection(np.random.default_rng(0).normal(size=(5, 2)))
    rule = GradientDescent(InteractionPotential(pair=HuberPair(1.0, 0.2)))
    assert continuity_constant(rule, X, seed=3) == continuity_constant(rule, X, seed=3)
    assert isinstance(continuity_constant(rule, X, seed=None).seed, int)


def test_explicit_tolerance():
    X = FiniteCollection([[0.0], [1.0], [4.0]])
    report = check_continuity(centering_rule(3.0), X, K=1.0, tolerance=Tolerance(atol=5.0, rtol=0.0))
    assert report.passed and report.tolerance == 6.0


# -- bad input ----------------------------------------------------------------------------
X3 = FiniteCollection([[0.0], [1.0], [3.0]])


@pytest.mark.parametrize("K", [0.0, -1.0, float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize(
    "fn", [check_continuity, assert_continuity, check_altered_continuity, assert_altered_continuity]
)
def test_bad_K_is_refused(fn, K):
    with pytest.raises(ValueError, match="K must be"):
        fn(centering_rule(1.0), X3, K)


@pytest.mark.parametrize("K", ["1", None, True, [1.0]])
def test_non_numeric_K_is_refused(K):
    with pytest.raises(TypeError, match="K must be"):
        check_continuity(centering_rule(1.0), X3, K)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_pairs=0), ValueError, "n_pairs"),
        (dict(power_steps=-1), ValueError, "power_steps"),
        (dict(window=0), ValueError, "window"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(scales=()), ValueError, "scales"),
        (dict(scales=(1.0, -2.0)), ValueError, "scales"),
        (dict(scales=3.0), TypeError, "scales"),
        (dict(tolerance="tight"), TypeError, "tolerance"),
        (dict(t=-2), ValueError, "t must"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        continuity_constant(centering_rule(1.0), X3, **kwargs)


def test_bad_rule_and_collection_are_refused():
    with pytest.raises(TypeError, match="rule"):
        continuity_constant("centering", X3)
    with pytest.raises(TypeError, match="X must be"):
        altered_continuity_constant(centering_rule(1.0), 3.0)
    with pytest.raises(TypeError, match="finite collections only"):
        continuity_constant(FunctionRule(lambda x: -x), _lazy())
