"""P1 (equivariance, Section 3): the measure equivariance_error and assert_equivariant."""

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
    IndexBiasedRule,
    LazyCollection,
    PointwiseRule,
    Tolerance,
    centering_rule,
    default_tolerance,
)
from invariance import strategies as ist
from invariance.properties import PropertyReport, PropertyViolation, assert_equivariant, equivariance_error


def _entry_error(rule, X, P, i):
    """||(P U(X))_i - U_i(P X)|| recomputed from scratch."""
    left = rule.update(X).entries([P(i)])[0]
    right = rule.update(P.act(X)).entries([i])[0]
    return float(np.linalg.norm(np.asarray(left, dtype=np.float64) - np.asarray(right, dtype=np.float64)))


def _spread(X):
    pts = np.asarray(X.points, dtype=np.float64)
    return float(np.max(np.linalg.norm(pts - pts[0], axis=1)))


# -- positive cases ------------------------------------------------------------------------
@settings(max_examples=60)
@given(ist.finite_collections(max_size=9), ist.symmetric_rules())
def test_symmetric_rules_are_equivariant_on_finite_collections(X, rule):
    report = equivariance_error(rule, X, n_samples=8)
    assert isinstance(report, PropertyReport)
    assert report.passed, str(report)
    assert report.property == "P1 equivariance"
    assert report.worst <= report.tolerance
    if X.n >= 2:
        # every transposition of a small index set is checked (they generate FSym)
        assert report.details["mode"] == "exhaustive transpositions"
        assert report.details["transpositions_checked"] == X.n * (X.n - 1) // 2


@settings(max_examples=25)
@given(ist.lazy_collections(max_overrides=3), ist.symmetric_rules())
def test_symmetric_rules_are_equivariant_on_lazy_collections(X, rule):
    report = equivariance_error(rule, X, n_samples=8, window=16)
    assert report.passed, str(report)
    # mean-field rules: P U(X) and U(P X) share a base, so outside supp(P) they agree exactly
    assert report.details["bases_equal"] is True
    assert report.details["outside_support_exact"] is True
    assert report.details["worst_outside_support"] == 0.0
    assert set(X.support) <= set(report.details["checked_indices"]["overrides"])


@settings(max_examples=30)
@given(ist.finite_collections(max_size=8, dtype="float32"), ist.symmetric_rules())
def test_float32_collections_use_float32_tolerances(X, rule):
    report = equivariance_error(rule, X, n_samples=4)
    tol = default_tolerance(np.float32)
    assert report.details["dtype"] == "float32"
    assert (report.details["atol"], report.details["rtol"]) == (tol.atol, tol.rtol)
    assert report.tolerance == pytest.approx(tol.bound(report.details["scale"]))
    assert report.passed, str(report)


@settings(max_examples=20)
@given(ist.finite_collections(max_size=6), st.integers(0, 5))
def test_time_dependent_rule_is_checked_at_t(X, t):
    rule = FunctionRule(lambda x, t: -(t + 1.0) * (x - x.mean(axis=0)), time_dependent=True)
    assert equivariance_error(rule, X, t=t, n_samples=4).passed


@settings(max_examples=20)
@given(ist.collections())
def test_pointwise_rules_are_equivariant(X):
    report = equivariance_error(PointwiseRule(lambda x: -np.tanh(x)), X, n_samples=4, window=8)
    assert report.passed, str(report)


def test_large_collection_is_sampled_and_passes():
    X = FiniteCollection(np.random.default_rng(3).normal(size=(40, 2)))
    report = equivariance_error(centering_rule(2.0), X, n_samples=10)
    assert report.passed
    assert report.details["mode"] == "sampled transpositions"
    assert report.details["permutations_checked"] <= 20


def test_identity_and_trivial_index_set():
    X = FiniteCollection([[1.0, 2.0]])
    report = equivariance_error(IndexBiasedRule(centering_rule(1.0)), X)
    assert report.passed  # FSym of one index is trivial: P1 says nothing
    assert equivariance_error(centering_rule(1.0), X, permutations=[FinitaryPermutation.identity()]).passed


# -- negative controls: IndexBiasedRule and AnchoredRule -------------------------------------
@settings(max_examples=40)
@given(ist.finite_collections(min_size=2, max_size=9), ist.symmetric_rules(), st.data())
def test_index_biased_rule_fails_with_a_transposition(X, rule, data):
    index = data.draw(st.integers(0, X.n - 1))
    biased = IndexBiasedRule(rule, index=index)
    report = equivariance_error(biased, X, n_samples=4)
    assert not report.passed
    cx = report.counterexample
    assert cx["moved_indices"] == 2 and len(cx["cycles"]) == 1
    assert index in cx["cycles"][0]
    P = FinitaryPermutation.from_cycles(*cx["cycles"])
    # the reported entries are real: recompute them
    assert _entry_error(biased, X, P, cx["index"]) == pytest.approx(cx["error"])
    assert cx["error"] == pytest.approx(np.sqrt(X.dim), rel=1e-3)  # ||push|| = ||(1, ..., 1)||


@settings(max_examples=40)
@given(ist.finite_collections(min_size=2, max_size=9), ist.symmetric_rules(), st.sampled_from(["float64", "float32"]))
def test_anchored_rule_fails_with_a_transposition(X, rule, dtype):
    X = X.astype(dtype)
    assume(_spread(X) > 1e-2)  # some neuron differs from the anchor
    anchored = AnchoredRule(rule, strength=1.0, anchor=0)
    report = equivariance_error(anchored, X, n_samples=4)
    assert not report.passed
    cx = report.counterexample
    assert cx["moved_indices"] == 2 and 0 in cx["cycles"][0]
    assert report.worst > report.tolerance


def test_sampled_mode_shrinks_a_random_permutation_to_a_transposition():
    X = FiniteCollection(np.random.default_rng(0).normal(size=(30, 2)))
    rule = IndexBiasedRule(centering_rule(1.0), index=17)
    big = FinitaryPermutation.from_cycles(tuple(range(3, 29)))  # a 26-cycle moving 17
    report = equivariance_error(rule, X, permutations=[big])
    assert not report.passed
    cx = report.counterexample
    assert cx["moved_indices"] == 2 and 17 in cx["cycles"][0]
    assert report.details["shrink_evaluations"] >= 1
    # without explicit permutations, the sampled check also ends at a transposition
    report = equivariance_error(rule, X, n_samples=16, seed=5)
    assert not report.passed and report.counterexample["moved_indices"] == 2


def test_explicit_permutations_only_check_those():
    # U_i = x_{(i+1) mod n} - x_i commutes with the rotations but not with FSym
    rule = FunctionRule(lambda x: np.roll(x, -1, axis=0) - x)
    X = FiniteCollection([[0.0], [1.0], [2.0], [3.0]])
    rotation = FinitaryPermutation.from_cycles((0, 1, 2, 3))
    report = equivariance_error(rule, X, permutations=[rotation, rotation @ rotation])
    assert report.passed and report.details["mode"] == "explicit permutations"
    report = equivariance_error(rule, X)
    assert not report.passed and report.counterexample["moved_indices"] == 2


def _lazy():
    return LazyCollection(CircleBase(1.0), {3: [1.0, 2.0], 10: [0.5, -0.5]})


def test_lazy_anchored_rule_fails_outside_the_support():
    X = _lazy()
    report = equivariance_error(AnchoredRule(centering_rule(1.0, quadrature=128)), X, window=16)
    assert not report.passed
    cx = report.counterexample
    assert cx["moved_indices"] == 2 and 0 in cx["cycles"][0]
    # U(P X) has another base: infinitely many updates differ, seen outside supp(P)
    assert cx["bases_equal"] is False
    assert report.details["bases_equal"] is False
    assert report.details["worst_outside_support"] > report.tolerance
    assert cx["outside_support_error"] > report.tolerance
    assert cx["outside_support_index"] not in set(cx["cycles"][0]) | set(X.support)


@settings(max_examples=15)
@given(ist.lazy_collections(max_overrides=3), st.integers(0, 12))
def test_lazy_index_biased_rule_fails_inside_the_support(X, index):
    report = equivariance_error(IndexBiasedRule(centering_rule(1.0, quadrature=64), index=index), X, window=16)
    assert not report.passed
    cx = report.counterexample
    assert cx["moved_indices"] == 2 and index in cx["cycles"][0]
    assert cx["bases_equal"] is True and cx["outside_support_error"] == 0.0
    assert cx["index"] in cx["cycles"][0]


# -- the assert twin ----------------------------------------------------------------------------
def test_assert_equivariant_raises_with_the_report():
    X = FiniteCollection([[0.0], [1.0], [3.0]])
    rule = AnchoredRule(centering_rule(1.0))
    with pytest.raises(PropertyViolation) as info:
        assert_equivariant(rule, X)
    report = info.value.report
    assert isinstance(info.value, AssertionError)
    assert report == equivariance_error(rule, X)
    assert "P1 equivariance: FAILED" in str(info.value)
    assert "counterexample" in str(info.value)
    ok = assert_equivariant(centering_rule(1.0), X)
    assert ok.passed


def test_reports_are_reproducible_from_the_seed():
    X = FiniteCollection(np.random.default_rng(1).normal(size=(20, 2)))
    rule = IndexBiasedRule(centering_rule(1.0), index=4)
    a = equivariance_error(rule, X, seed=7)
    b = equivariance_error(rule, X, seed=7)
    assert a == b and a.seed == 7
    drawn = equivariance_error(rule, X, seed=None)
    assert isinstance(drawn.seed, int)


def test_explicit_tolerance_is_used():
    X = FiniteCollection([[0.0], [1.0], [3.0]])
    report = equivariance_error(AnchoredRule(centering_rule(1.0)), X, tolerance=Tolerance(atol=10.0, rtol=0.0))
    assert report.passed and report.tolerance == 10.0


# -- bad input ------------------------------------------------------------------------------
X3 = FiniteCollection([[0.0], [1.0], [3.0]])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_samples=0), ValueError, "n_samples"),
        (dict(n_samples=1.5), TypeError, "n_samples"),
        (dict(exhaustive_limit=-1), ValueError, "exhaustive_limit"),
        (dict(window=1), ValueError, "window"),
        (dict(seed=-3), ValueError, "seed"),
        (dict(t=-1), ValueError, "t must"),
        (dict(tolerance=1e-3), TypeError, "tolerance"),
        (dict(permutations=[]), ValueError, "permutations"),
        (dict(permutations=3), TypeError, "permutations"),
        (dict(permutations=[FinitaryPermutation.identity(), (0, 1)]), TypeError, r"permutations\[1\]"),
        (dict(permutations=[FinitaryPermutation.transposition(0, 5)]), ValueError, r"permutations\[0\].*n = 3"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        equivariance_error(centering_rule(1.0), X3, **kwargs)


def test_bad_rule_and_collection_are_refused():
    with pytest.raises(TypeError, match="rule"):
        equivariance_error(lambda x: x, X3)
    with pytest.raises(TypeError, match="X must be"):
        equivariance_error(centering_rule(1.0), {"x": 1})
    with pytest.raises(ValueError, match="X:"):
        equivariance_error(centering_rule(1.0), np.zeros(3))
    with pytest.raises(TypeError, match="finite collections only"):
        equivariance_error(FunctionRule(lambda x: -x), _lazy())
    # an array is accepted as a finite collection
    assert equivariance_error(centering_rule(1.0), np.array([[0.0], [2.0]])).passed
