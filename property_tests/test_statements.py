"""The paper's statements (Lemmas 1-5, Theorems 1-2) as executable checks.

Positive side: on generated equivariant rules (gradient descent on symmetric interaction
potentials, with the stated K) and generated collections, finite and lazy, every
statement holds, with eta drawn so that eta K < 1 where the statement needs it.

Negative side: an index-biased rule breaks Lemma 1; the centering rule
``U_i = -K (x_i - mean X)`` makes Lemma 2's lower bound tight and merges every neuron at
eta = 1/K, where Lemma 3's bijection, Theorem 1 (iii) and Theorem 2 fail, while just
below 1/K they hold; a K claimed too small violates Lemmas 2 and 4.
"""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from invariance import (
    CircleBase,
    FiniteCollection,
    FunctionRule,
    IndexBiasedRule,
    InteractionPotential,
    LazyCollection,
    PointwiseRule,
    Quadratic,
    SphereBase,
    StatelessOptimizer,
    adam,
    centering_rule,
    default_tolerance,
)
from invariance import strategies as ist
from invariance.statements import (
    StatementViolation,
    assert_bi_lipschitz,
    assert_bijective,
    assert_homeomorphism,
    assert_measure_preserving,
    assert_update_difference_bound,
    assert_well_defined,
    bi_lipschitz_ratios,
    bijectivity,
    continuity_lower_bound,
    homeomorphism,
    induced_map,
    measure_preservation,
    step_jacobian,
    update_difference_ratios,
    well_definedness,
)

# eta = frac / K: below the topological critical point eta* = 1/K ...
below_critical = st.floats(0.01, 0.95)
# ... and anywhere (Lemmas 1, 2, 4 and the surjection of Lemma 3 need no eta K < 1)
any_fraction = st.floats(0.01, 3.0)


def finite_K(rule, X):
    return rule.smoothness_constant(X.n)


def lazy_K(rule):
    return rule.smoothness_constant(None)


def min_separation(X):
    """Smallest distance between distinct examined entries, relative to the scale."""
    pts = X.points.astype(np.float64)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)[np.triu_indices(X.n, 1)]
    d = d[d > 0]
    scale = 1.0 + np.abs(pts).max()
    return (d.min() / scale) if d.size else math.inf


def well_separated(X):
    """At least two distinct entries, and distinct entries are not nearly coincident."""
    return 1e-6 < min_separation(X) < math.inf


# --------------------------------------------------------------------------- Lemma 1
@settings(max_examples=200)  # a central claim: more examples than the profile's default
@given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), any_fraction)
def test_lemma1_coincident_neurons_stay_coincident_finite(X, rule, frac):
    eta = frac / finite_K(rule, X)
    r = well_definedness(rule, X, eta)
    assert r.holds and bool(r) and not r.vacuous
    assert r.coincident_pairs >= 1 and r.exhaustive and r.n_examined == X.n
    assert r.max_separation <= r.tolerance + r.growth * r.coincidence_tolerance


@given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), any_fraction)
def test_lemma1_coincident_neurons_stay_coincident_lazy(X, rule, frac):
    r = assert_well_defined(rule, X, frac / lazy_K(rule))
    assert not r.vacuous and not r.exhaustive
    assert set(X.support) <= set(r.examined.tolist()) and set(range(64)) <= set(r.examined.tolist())


@given(ist.finite_collections(min_size=2, coincident_pairs=1, dtype="float32"), ist.symmetric_rules(), any_fraction)
def test_lemma1_in_float32_uses_float32_tolerances(X, rule, frac):
    r = assert_well_defined(rule, X, frac / finite_K(rule, X))
    assert r.tolerance >= default_tolerance("float32").atol


def test_lemma1_is_vacuous_without_coincident_neurons():
    r = well_definedness(centering_rule(1.0), FiniteCollection([[0.0], [1.0]]), 0.5)
    assert r.holds and r.vacuous and r.worst_pair is None and r.coincident_pairs == 0


def test_lemma1_holds_for_stateless_adam_on_augmented_particles():
    opt = StatelessOptimizer(InteractionPotential(Quadratic(1.0)), adam(), learning_rate=0.1)
    X = opt.augment(FiniteCollection([[1.0, 2.0], [1.0, 2.0], [-1.0, 0.5]]))
    r = assert_well_defined(opt, X, 0.1, t=0)
    assert r.pairs.tolist() == [[0, 1]]


@settings(max_examples=200)  # a central claim: more examples than the profile's default
@given(ist.finite_collections(min_size=2), ist.symmetric_rules(), st.data(), any_fraction)
def test_negative_control_index_biased_rule_breaks_lemma1(X, rule, data, frac):
    j = data.draw(st.integers(1, X.n - 1))
    X = X.with_entries([j], X.points[:1])  # x_j = x_0
    biased = IndexBiasedRule(rule, index=0)
    eta = frac / finite_K(rule, X)
    r = well_definedness(biased, X, eta)
    assert not r.holds and not r.vacuous
    assert 0 in r.worst_pair
    assert r.max_separation == pytest.approx(eta * math.sqrt(X.dim), rel=1e-6)
    with pytest.raises(StatementViolation, match="Lemma 1") as err:
        assert_well_defined(biased, X, eta)
    assert err.value.result.worst_pair == r.worst_pair and isinstance(err.value, AssertionError)
    # U_hat is then not well defined (Lemma 3), and the push-forward identity (46) fails
    b = bijectivity(biased, X, eta, finite_K(rule, X))
    assert not b.holds and not b.well_defined and any(0 in g for g in b.split_groups)
    assert not measure_preservation(biased, X, eta).holds


def test_negative_control_index_biased_rule_breaks_lemma1_on_a_lazy_collection():
    rule = centering_rule(1.0)
    X = LazyCollection(CircleBase(), {})
    X = X.with_entries([0], [X[5]])
    r = well_definedness(IndexBiasedRule(rule, index=0), X, 0.1)
    assert not r.holds and r.worst_pair == (0, 5)
    assert well_definedness(rule, X, 0.1).holds


# --------------------------------------------------------------------------- Lemma 4 / 5
@given(ist.finite_collections(min_size=2, coincident_pairs=1), ist.symmetric_rules())
def test_lemma4_update_differences_are_bounded_by_K_finite(X, rule):
    K = finite_K(rule, X)
    r = assert_update_difference_bound(rule, X, K)
    assert r.max_excess <= r.tolerance
    if well_separated(X):
        assert r.max_ratio <= K * (1 + 1e-9) and r.slack >= -1e-9 * K
    assert continuity_lower_bound(rule, X) == r.max_ratio == r.K_lower_bound
    assert r.ratios.shape == (X.n * (X.n - 1) // 2,) and r.pairs().shape == (r.ratios.size, 2)


@given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules())
def test_lemma4_and_lemma5_bound_on_lazy_collections(X, rule):
    # mean-field rules satisfy P2-K and P2' with K = Lip_x(F): Lemma 4 and Lemma 5 give the same bound
    r = assert_update_difference_bound(rule, X, lazy_K(rule), window=32)
    assert not r.exhaustive and r.n_examined >= 32


def test_lemma4_ratio_is_exact_for_the_centering_rule_and_measures_without_K():
    X = FiniteCollection(np.random.default_rng(1).normal(size=(12, 3)))
    r = update_difference_ratios(centering_rule(2.5), X)
    assert r.holds and r.K is None and math.isinf(r.slack)
    assert np.allclose(r.ratios, 2.5)
    assert r.max_ratio == pytest.approx(2.5, rel=1e-12)


# --------------------------------------------------------------------------- Lemma 2
@settings(max_examples=200)  # a central claim: more examples than the profile's default
@given(ist.finite_collections(min_size=2, coincident_pairs=1), ist.symmetric_rules(), any_fraction)
def test_lemma2_distance_ratios_lie_in_the_bi_lipschitz_band_finite(X, rule, frac):
    K = finite_K(rule, X)
    eta = frac / K
    r = assert_bi_lipschitz(rule, X, eta, K)
    assert r.lower_bound == pytest.approx(1 - frac) and r.upper_bound == pytest.approx(1 + frac)
    assert r.lower_bound_vacuous == (r.lower_bound <= 0)
    assert r.max_upper_violation <= r.tolerance and r.max_lower_violation <= r.tolerance


@given(ist.lazy_collections(), ist.symmetric_rules(), below_critical)
def test_lemma2_on_lazy_collections(X, rule, frac):
    K = lazy_K(rule)
    r = assert_bi_lipschitz(rule, X, frac / K, K)
    assert not r.vacuous and r.min_pair is not None


@given(ist.finite_collections(min_size=2, dtype="float32"), ist.symmetric_rules(), below_critical)
def test_lemma2_in_float32(X, rule, frac):
    K = finite_K(rule, X)
    assert bi_lipschitz_ratios(rule, X, frac / K, K).holds


@given(ist.finite_collections(min_size=2), st.floats(0.1, 10.0), below_critical)
def test_centering_rule_makes_lemma2_lower_bound_tight(X, K, frac):
    r = bi_lipschitz_ratios(centering_rule(K), X, frac / K, K)
    assume(not r.vacuous)
    assert r.holds
    # every pair is contracted by exactly 1 - eta K: the lower bound is attained
    assert abs(r.max_lower_violation) <= r.tolerance
    if min_separation(X) > 1e-6:
        assert r.min_ratio == pytest.approx(1 - frac, abs=1e-6)
        assert r.max_ratio == pytest.approx(1 - frac, abs=1e-6)


@given(ist.lazy_collections(), st.floats(0.1, 10.0), below_critical)
def test_centering_rule_makes_lemma2_lower_bound_tight_on_lazy_collections(X, K, frac):
    r = bi_lipschitz_ratios(centering_rule(K, quadrature=256), X, frac / K, K)
    assert r.holds
    assert r.min_ratio == pytest.approx(1 - frac, abs=1e-6) and r.lower_slack == pytest.approx(0, abs=1e-6)


@given(ist.finite_collections(min_size=2), st.floats(0.05, 0.3))
def test_negative_control_K_too_small_violates_lemmas_2_and_4(X, eta):
    assume(well_separated(X))
    rule = centering_rule(3.0)  # its true K is 3
    r4 = update_difference_ratios(rule, X, K=1.0)
    assert not r4.holds and r4.max_ratio == pytest.approx(3.0) and r4.slack == pytest.approx(-2.0)
    r2 = bi_lipschitz_ratios(rule, X, eta, K=1.0)
    assert not r2.holds and r2.max_lower_violation > r2.tolerance
    assert r2.min_ratio == pytest.approx(1 - 3 * eta) and r2.min_ratio < r2.lower_bound
    with pytest.raises(StatementViolation, match="Lemma 2"):
        assert_bi_lipschitz(rule, X, eta, K=1.0)
    with pytest.raises(StatementViolation, match="Lemma 4"):
        assert_update_difference_bound(rule, X, K=1.0)
    # Theorem 1 (iii) then fails too: the inverse is 1/(1 - 3 eta)-, not 1/(1 - eta)-Lipschitz
    h = homeomorphism(rule, X, eta, K=1.0)
    assert not h.holds and h.inverse_continuous is False
    assert h.inverse_lipschitz == pytest.approx(1 / (1 - 3 * eta))
    assert h.inverse_lipschitz > h.inverse_lipschitz_bound


def test_negative_control_an_expanding_rule_violates_the_upper_bound():
    X = FiniteCollection([[0.0], [1.0], [4.0]])
    r = bi_lipschitz_ratios(PointwiseRule(lambda x: 3.0 * x), X, 0.1, K=1.0)
    assert not r.holds and r.max_ratio == pytest.approx(1.3) and r.upper_slack == pytest.approx(-0.2)
    h = homeomorphism(PointwiseRule(lambda x: 3.0 * x), X, 0.1, K=1.0)
    assert not h.continuous and h.lipschitz == pytest.approx(1.3)


# --------------------------------------------------------------------------- Lemma 3
@given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), below_critical)
def test_lemma3_induced_map_is_a_bijection_below_the_critical_point(X, rule, frac):
    K = finite_K(rule, X)
    r = assert_bijective(rule, X, frac / K, K)
    assert r.premise and r.well_defined and r.surjective
    assert len(r.coincident_groups) >= 1 and r.n_before < X.n
    if min_separation(X) > 1e-6:
        assert r.bijective and r.n_after == r.n_before and r.merged_groups == ()


@given(ist.finite_collections(min_size=2, coincident_pairs=1), ist.symmetric_rules(), any_fraction)
def test_lemma3_induced_map_is_a_well_defined_surjection_at_any_step(X, rule, frac):
    K = finite_K(rule, X)
    r = assert_bijective(rule, X, frac / K, K)
    assert r.surjective and r.well_defined and r.n_after <= r.n_before


@given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), below_critical)
def test_lemma3_on_lazy_collections(X, rule, frac):
    K = lazy_K(rule)
    r = assert_bijective(rule, X, frac / K, K)
    assert not r.exhaustive and r.n_before < r.n_examined


def test_induced_map_groups_coincident_neurons():
    X = FiniteCollection([[0.0], [2.0], [0.0], [5.0], [2.0]])
    f = induced_map(centering_rule(1.0), X, 0.5)
    assert f.n_before == 3 and f.members_before(0).tolist() == [0, 2] and f.members_before(1).tolist() == [1, 4]
    assert f.image.tolist() == [0, 1, 2] and f.bijective
    assert np.allclose(f.points_after[:, 0], 0.5 * np.array([0.0, 2.0, 5.0]) + 0.5 * 1.8)


# --------------------------------------------------------------------------- the critical point eta* = 1/K
def _assert_breakdown_at_critical_point(X, K):
    rule = centering_rule(K, quadrature=256)
    eta = 1.0 / K
    b = bijectivity(rule, X, eta, K)
    assert b.holds and not b.bijective and not b.injective and b.n_after == 1
    assert len(b.merged_groups) == 1 and set(b.merged_groups[0]) == set(b.examined.tolist())
    with pytest.raises(StatementViolation):  # measured bijection fails ...
        assert_measure_preserving(rule, X, eta, K)
    h = homeomorphism(rule, X, eta, K)
    assert not h.homeomorphism and math.isinf(h.inverse_lipschitz)
    assert h.continuous and h.lipschitz <= 1e-6  # (i) and the quotient map survive
    m = measure_preservation(rule, X, eta, K)
    assert not m.holds and m.worst_identity == "inverse" and m.pushforward_discrepancy <= m.tolerance
    assert m.n_atoms_after == 1 and m.masses_after.tolist() == pytest.approx([1.0])


def _assert_invariance_below_critical_point(X, K, frac):
    rule = centering_rule(K, quadrature=256)
    eta = frac / K
    b = assert_bijective(rule, X, eta, K)
    assert b.bijective and b.premise and b.n_after == b.n_before
    h = assert_homeomorphism(rule, X, eta, K)
    assert h.homeomorphism and h.inverse_lipschitz == pytest.approx(1 / (1 - frac), rel=1e-6)
    assert h.lipschitz == pytest.approx(1 - frac, rel=1e-6)
    m = assert_measure_preserving(rule, X, eta, K)
    assert m.bijective and m.max_discrepancy <= m.tolerance


@settings(max_examples=200)  # a central claim: more examples than the profile's default
@given(ist.finite_collections(min_size=2, coincident_pairs=1), st.floats(0.1, 10.0))
def test_centering_rule_breaks_down_exactly_at_the_critical_point(X, K):
    assume(well_separated(X))
    _assert_breakdown_at_critical_point(X, K)
    _assert_invariance_below_critical_point(X, K, 0.99)


@pytest.mark.parametrize("K", [0.5, 1.0, 3.0, 49.0])
def test_centering_rule_critical_point_on_random_and_lazy_collections(K):
    X = FiniteCollection(np.random.default_rng(0).normal(size=(30, 3)))
    _assert_breakdown_at_critical_point(X, K)
    _assert_invariance_below_critical_point(X, K, 1 - 1e-3)
    L = LazyCollection(SphereBase(), {3: [2.0, 0.0, 0.0], 70: [0.0, 0.0, 0.5]})
    _assert_breakdown_at_critical_point(L, K)
    _assert_invariance_below_critical_point(L, K, 1 - 1e-3)


# --------------------------------------------------------------------------- Theorem 1
@given(ist.finite_collections(min_size=2, max_size=6, coincident_pairs=1), ist.symmetric_rules(), below_critical)
def test_theorem1_homeomorphism_with_derivative_bounds_finite(X, rule, frac):
    K = finite_K(rule, X)
    eta = frac / K
    r = assert_homeomorphism(rule, X, eta, K, derivative=True)
    assert r.premise and r.continuous and r.inverse_continuous
    assert r.lipschitz <= r.lipschitz_bound + 1e-9 and r.derivative_holds
    assert 1 - frac - r.derivative_tolerance <= r.singular_value_min <= r.singular_value_max
    assert r.singular_value_max <= 1 + frac + r.derivative_tolerance
    assert r.derivative_indices == tuple(range(X.n))
    if min_separation(X) > 1e-6:
        assert r.homeomorphism and r.inverse_lipschitz <= r.inverse_lipschitz_bound * (1 + 1e-6)


@given(ist.lazy_collections(), ist.symmetric_rules(), below_critical)
def test_theorem1_on_lazy_collections(X, rule, frac):
    K = lazy_K(rule)
    keys = list(X.support) or [0]
    r = assert_homeomorphism(rule, X, frac / K, K, derivative=True, derivative_indices=keys[:2])
    assert r.derivative_checked and not r.exhaustive


@given(ist.finite_collections(min_size=2, max_size=6), ist.symmetric_rules(), st.floats(1.001, 3.0))
def test_theorem1_past_the_critical_point_only_i_is_asserted(X, rule, frac):
    K = finite_K(rule, X)
    r = assert_homeomorphism(rule, X, frac / K, K)
    assert not r.premise and r.inverse_continuous is None and math.isinf(r.inverse_lipschitz_bound)


def test_step_jacobian_of_the_centering_rule():
    n, K, eta = 5, 2.0, 0.3
    X = FiniteCollection(np.random.default_rng(3).normal(size=(n, 2)))
    G = step_jacobian(centering_rule(K), X, 2, eta)
    assert np.allclose(G, (1 - eta * K * (1 - 1 / n)) * np.eye(2), atol=1e-8)
    L = LazyCollection(CircleBase(), {1: [0.3, 0.1]})
    assert np.allclose(step_jacobian(centering_rule(K), L, 1, eta), (1 - eta * K) * np.eye(2), atol=1e-8)


# --------------------------------------------------------------------------- Theorem 2
@given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), below_critical, st.data())
def test_theorem2_measure_preservation_finite(X, rule, frac, data):
    K = finite_K(rule, X)
    w = data.draw(st.lists(st.floats(0.01, 5.0), min_size=X.n, max_size=X.n))
    r = measure_preservation(rule, X, frac / K, K, weights=w, seed=data.draw(st.integers(0, 9)))
    assert r.premise and r.well_defined
    assert r.pushforward_discrepancy <= r.tolerance  # eq. (46) holds whenever U_hat is a function
    assert r.holds == r.bijective  # with positive weights the inverse identity holds iff nothing merged
    assert sum(r.masses_before) == pytest.approx(1.0) and sum(r.masses_after) == pytest.approx(1.0)
    assert r.n_atoms_before < X.n  # the coincident neurons stack their mass on one atom
    if min_separation(X) > 1e-6:
        assert r.holds


@given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), below_critical)
def test_theorem2_on_lazy_collections(X, rule, frac):
    K = lazy_K(rule)
    r = assert_measure_preserving(rule, X, frac / K, K)
    assert r.weights.size == r.n_examined and r.weights == pytest.approx(np.full(r.n_examined, 1 / r.n_examined))


def test_theorem2_is_tested_on_null_atoms_too():
    X = FiniteCollection([[0.0], [1.0]])
    r = measure_preservation(centering_rule(1.0), X, 1.0, weights=[1.0, 0.0])
    # U_hat({x_1}) carries mass 1 although {x_1} has mass 0: the inverse is not measure preserving
    assert not r.holds and r.pushforward_discrepancy == 0.0 and r.worst_set == (1,)
    assert r.masses_before.tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------- results and bad inputs
def test_results_are_frozen_truthy_and_printable():
    X = FiniteCollection([[0.0], [0.0], [3.0]])
    results = [
        well_definedness(centering_rule(1.0), X, 0.1),
        update_difference_ratios(centering_rule(1.0), X, 1.0),
        bi_lipschitz_ratios(centering_rule(1.0), X, 0.1, 1.0),
        bijectivity(centering_rule(1.0), X, 0.1, 1.0),
        homeomorphism(centering_rule(1.0), X, 0.1, 1.0, derivative=True),
        measure_preservation(centering_rule(1.0), X, 0.1, 1.0),
    ]
    for r in results:
        assert bool(r) is True and r.holds
        text = str(r)
        assert "HOLDS" in text and r.statement in text and "examined" in text
        assert len(repr(r)) < 2000
        with pytest.raises(dataclasses.FrozenInstanceError):
            r.holds = False  # type: ignore[misc]


def test_examined_indices_on_lazy_collections_and_explicit_indices():
    X = LazyCollection(CircleBase(), {100: [0.0, 0.0], 5: [1.0, 1.0]})
    r = bi_lipschitz_ratios(centering_rule(1.0), X, 0.1, 1.0, window=8)
    assert r.examined.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 100] and not r.exhaustive
    r = bi_lipschitz_ratios(centering_rule(1.0), X, 0.1, 1.0, indices=[100, 5, 7])
    assert r.examined.tolist() == [5, 7, 100] and r.n_examined == 3
    F = FiniteCollection([[0.0], [1.0], [2.0]])
    assert not bi_lipschitz_ratios(centering_rule(1.0), F, 0.1, 1.0, indices=[0, 2]).exhaustive
    single = bi_lipschitz_ratios(centering_rule(1.0), F, 0.1, 1.0, indices=[1])
    assert single.holds and single.vacuous and math.isnan(single.min_ratio)


CHECKS_WITH_ETA = [
    lambda rule, X, eta: well_definedness(rule, X, eta),
    lambda rule, X, eta: bi_lipschitz_ratios(rule, X, eta, 1.0),
    lambda rule, X, eta: bijectivity(rule, X, eta, 1.0),
    lambda rule, X, eta: homeomorphism(rule, X, eta, 1.0),
    lambda rule, X, eta: measure_preservation(rule, X, eta),
    lambda rule, X, eta: induced_map(rule, X, eta),
    lambda rule, X, eta: step_jacobian(rule, X, 0, eta),
]
CHECKS_WITH_K = [
    lambda rule, X, K: update_difference_ratios(rule, X, K),
    lambda rule, X, K: assert_update_difference_bound(rule, X, K),
    lambda rule, X, K: bi_lipschitz_ratios(rule, X, 0.1, K),
    lambda rule, X, K: bijectivity(rule, X, 0.1, K),
    lambda rule, X, K: homeomorphism(rule, X, 0.1, K),
    lambda rule, X, K: measure_preservation(rule, X, 0.1, K),
    lambda rule, X, K: well_definedness(rule, X, 0.1, K=K),
]


@pytest.mark.parametrize("check", CHECKS_WITH_ETA)
@pytest.mark.parametrize("eta", [0.0, -0.5, float("nan"), float("inf")])
def test_bad_eta_is_refused(check, eta):
    with pytest.raises(ValueError, match="eta"):
        check(centering_rule(1.0), FiniteCollection([[0.0], [1.0]]), eta)


@pytest.mark.parametrize("check", CHECKS_WITH_K)
@pytest.mark.parametrize("K", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_K_is_refused(check, K):
    with pytest.raises(ValueError, match="K"):
        check(centering_rule(1.0), FiniteCollection([[0.0], [1.0]]), K)


def test_bad_inputs_name_the_argument():
    rule, X = centering_rule(1.0), FiniteCollection([[0.0], [1.0]])
    with pytest.raises(TypeError, match="K must be a number"):
        bi_lipschitz_ratios(rule, X, 0.1, "big")
    with pytest.raises(TypeError, match="rule"):
        well_definedness(lambda x: x, X, 0.1)
    with pytest.raises(ValueError, match="^X: "):
        well_definedness(rule, np.zeros((0, 2)), 0.1)
    with pytest.raises(ValueError, match="window"):
        bi_lipschitz_ratios(rule, LazyCollection(CircleBase()), 0.1, 1.0, window=0)
    with pytest.raises(ValueError, match="indices"):
        bi_lipschitz_ratios(rule, X, 0.1, 1.0, indices=[])
    with pytest.raises(ValueError, match="indices"):
        bi_lipschitz_ratios(rule, X, 0.1, 1.0, indices=[0, 2])
    with pytest.raises(ValueError, match="indices"):
        bi_lipschitz_ratios(rule, X, 0.1, 1.0, indices=[0, 0])
    with pytest.raises(ValueError, match="t must"):
        bi_lipschitz_ratios(rule, X, 0.1, 1.0, t=-1)
    with pytest.raises(ValueError, match="unions"):
        measure_preservation(rule, X, 0.1, unions=-1)
    with pytest.raises(ValueError, match="step"):
        step_jacobian(rule, X, 0, 0.1, step=0.0)
    with pytest.raises(ValueError, match="i = 5"):
        step_jacobian(rule, X, 5, 0.1)
    with pytest.raises(TypeError, match="finite collections only"):
        well_definedness(FunctionRule(lambda x: -x), LazyCollection(CircleBase()), 0.1)


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0], "2 indices"),
        ([1.0, 2.0, 3.0], "3 entries"),
        ([[1.0, 2.0]], "1-D"),
        ([1.0, -1.0], "nonnegative"),
        ([1.0, float("nan")], "NaN"),
        ([0.0, 0.0], "positive sum"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match="weights") as err:
        measure_preservation(centering_rule(1.0), FiniteCollection([[0.0], [1.0]]), 0.1, weights=weights)
    assert message in str(err.value)
