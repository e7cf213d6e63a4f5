"""invariance.symbolic: stateless forms, equivalence, eq. (16), Propositions 1-3 and the Remark, by sympy."""

import numpy as np
import pytest
import sympy as sp

from invariance.statements import StatementViolation
from invariance.symbolic import (
    ETA,
    GRAD,
    THETA,
    StatelessForm,
    T,
    adam,
    assert_equivalent,
    assert_symbolic_equivariance,
    check_equivalence,
    eq16_finding,
    gradient_descent,
    heavy_ball,
    hessian_constant,
    interaction_loss,
    nesterov,
    ordered_pair_loss,
    power_sum_loss,
    printed_eq16,
    quadratic_loss,
    rmsprop,
    sigmoid_pair_constant,
    sigmoid_pair_loss,
    stateless_form,
    step_sizes,
    symbolic_equivariance,
    weighted_loss,
)

OPTIMIZERS = [gradient_descent, heavy_ball, nesterov, rmsprop, adam]
IDS = [f.__name__ for f in OPTIMIZERS]


# --- 1, 2: derived stateless forms are the optimizers (induction step + unrolled steps) ----------


@pytest.mark.parametrize("make", OPTIMIZERS, ids=IDS)
def test_derived_stateless_form_is_the_optimizer(make):
    opt = make()
    result = assert_equivalent(opt, stateless_form(opt), steps=3)
    assert result.induction_holds and result.first_failure is None
    assert all(r == 0 for r in result.induction_residuals)


def _wrong(form: StatelessForm, row: int, expr) -> StatelessForm:
    rows = list(form.components)
    rows[row] = expr
    return StatelessForm("deliberately wrong", form.particle, tuple(rows), form.hyper)


WRONG = {
    # (optimizer, wrong form): a dropped term, a wrong sign, a wrong bias-correction exponent
    "gd: ascent": (gradient_descent, lambda f: _wrong(f, 0, GRAD)),
    "heavy ball as nesterov": (nesterov, lambda f: stateless_form(heavy_ball())),
    "rmsprop: no decay": (rmsprop, lambda f: _wrong(f, 1, (GRAD**2 - f.particle[1]) / ETA)),
    "adam: exponent t": (adam, lambda f: _wrong(f, 0, f.components[0].xreplace({T + 1: T + 2}))),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_wrong_stateless_form_is_rejected(case):
    make, wrong = WRONG[case]
    opt = make()
    result = check_equivalence(opt, wrong(stateless_form(opt)), steps=2)
    assert not result.holds and not result.induction_holds
    assert result.witness is not None  # a numeric point where the residual is nonzero
    with pytest.raises(StatementViolation):
        assert_equivalent(opt, wrong(stateless_form(opt)), steps=1)


def test_adam_stateless_form_rows():
    U = stateless_form(adam())
    b1, b2, eps = sp.symbols("beta1 beta2 epsilon", positive=True)
    m, v = sp.Symbol("m", real=True), sp.Symbol("v", real=True)
    m1, v1 = b1 * m + (1 - b1) * GRAD, b2 * v + (1 - b2) * GRAD**2
    exact = -(m1 / (1 - b1 ** (T + 1))) / (eps + sp.sqrt(v1 / (1 - b2 ** (T + 1))))
    assert U.particle == (THETA, m, v)
    assert sp.simplify(U.components[0] - exact) == 0
    assert sp.simplify(U.components[1] - (1 - b1) * (GRAD - m) / ETA) == 0
    assert sp.simplify(U.components[2] - (1 - b2) * (GRAD**2 - v) / ETA) == 0


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="optimizer"):
        check_equivalence("adam", stateless_form(adam()))
    with pytest.raises(ValueError, match="steps"):
        check_equivalence(adam(), stateless_form(adam()), steps=-1)
    with pytest.raises(ValueError, match="state rows"):
        check_equivalence(adam(), stateless_form(heavy_ball()))
    with pytest.raises(TypeError, match="loss"):
        symbolic_equivariance(stateless_form(adam()), "L")
    with pytest.raises(ValueError, match="n >= 2"):
        symbolic_equivariance(stateless_form(adam()), power_sum_loss(1))


# --- 2: eq. (16) as printed ------------------------------------------------------------------------


def test_printed_eq16_is_not_adam_and_is_adam_after_reindexing():
    f = eq16_finding()
    assert not f.holds and not f.equals_adam
    assert f.state_rows_agree  # the m, v rows are Adam's
    assert not f.uses_current_gradient  # old moments: the parameter row does not see g
    assert f.undefined_at_first_step  # 1 - beta1^0 = 0
    assert f.reindexed_equals_adam  # t -> t + 1 and the updated moments: Adam
    assert f.parameter_residual != 0
    assert f.equivalence.first_failure == 0
    b1, b2, eps = sp.symbols("beta1 beta2 epsilon", positive=True)
    # a concrete point where eq. (16) and Adam differ (t = 3, m = v = 0, g = 1)
    point = {b1: sp.Rational(9, 10), b2: sp.Rational(999, 1000), eps: 0, sp.Symbol("m", real=True): 0}
    point[sp.Symbol("v", real=True)] = 0
    value = f.parameter_residual.xreplace({**point, T: 3, GRAD: 1})
    assert sp.simplify(value) != 0


def test_printed_eq16_p_v_terms_are_a_typo():
    f = eq16_finding()
    assert f.p_v_corrected_residual == 0
    assert f.p_v_literal_residual != 0


# --- 3: Propositions 1 and 3, with non-symmetric negative controls -------------------------------

FORMS = [stateless_form(make()) for make in OPTIMIZERS] + [printed_eq16()]
FORM_IDS = [*IDS, "eq16"]


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("loss", [interaction_loss(3), power_sum_loss(3), interaction_loss(2, d=2)], ids=str)
def test_propositions_1_and_3_symbolically(form, loss):
    result = assert_symbolic_equivariance(form, loss)
    assert result.transpositions == loss.n * (loss.n - 1) // 2
    assert result.checked == result.transpositions * loss.n * len(loss.neurons[0]) * len(form.particle)


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("loss", [ordered_pair_loss(3), weighted_loss(3)], ids=str)
def test_equivariance_fails_on_a_non_symmetric_loss(form, loss):
    result = symbolic_equivariance(form, loss)
    assert not result.holds
    assert result.counterexample["residual"] != 0
    with pytest.raises(StatementViolation):
        assert_symbolic_equivariance(form, weighted_loss(2))


# --- 4: Proposition 2 and the Remark -------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4])
def test_quadratic_K_is_exact_and_matches_the_library(n):
    from invariance import HarmonicPair, InteractionPotential, Quadratic

    r = hessian_constant(quadratic_loss(n))
    a, b = sp.symbols("a b", positive=True)
    assert r.exact and sp.simplify(r.K - (a + n * b)) == 0
    assert sp.simplify(r.eta_star - 1 / (a + n * b)) == 0
    numeric = InteractionPotential(Quadratic(1.5), HarmonicPair(0.5), scaling="sum").smoothness_constant(n)
    assert np.isclose(float(r.K.subs({a: 1.5, b: 0.5})), numeric)


def test_hessian_constant_refuses_a_non_quadratic_loss():
    with pytest.raises(ValueError, match="not quadratic"):
        hessian_constant(power_sum_loss(2))


def test_sigmoid_pair_K_bounds_the_hessian_and_is_nearly_tight():
    r = sigmoid_pair_constant()
    loss = sigmoid_pair_loss()
    (w1,), (w2,) = loss.neurons
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    H = sp.lambdify((w1, w2, x, y), sp.hessian(loss.expr, (w1, w2)), "numpy")
    K = sp.lambdify((x, y), r.K, "numpy")
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(2000):
        w, xx, yy = rng.normal(scale=3, size=2), rng.normal(scale=2), rng.normal(scale=2)
        ratio = np.linalg.norm(np.array(H(*w, xx, yy), dtype=float), 2) / K(xx, yy)
        worst = max(worst, ratio)
    assert worst <= 1 + 1e-12
    assert worst > 0.3  # the bound is not vacuous
    assert sp.simplify(r.K.subs(y, 1) - x**2 * (sp.Rational(1, 8) + sp.sqrt(3) / 18)) == 0


@pytest.mark.parametrize("K", [None, sp.Integer(4), "quadratic", "sigmoid"])
def test_remark_eta_star_and_stability_bound(K):
    if K == "quadratic":
        K = hessian_constant(quadratic_loss(3)).K
    elif K == "sigmoid":
        K = sigmoid_pair_constant().K
    r = step_sizes(K)
    assert r.holds
    assert sp.simplify(r.eta_star * r.K - 1) == 0
    assert sp.simplify(r.stability_bound - 2 * r.eta_star) == 0
    assert sp.simplify(r.optimal_decrease + r.eta_star / 2) == 0


def test_remark_bound_is_tight_on_the_quadratic():
    """eq. (13) = eq. (14) for L = K x^2 / 2: the Taylor bound is an equality there."""
    K, x, eta = sp.symbols("K x eta", positive=True)
    L = K * x**2 / 2
    g = sp.diff(L, x)
    lhs = L.subs(x, x - eta * g)
    rhs = L - eta * g**2 + K * eta**2 / 2 * g**2
    assert sp.simplify(lhs - rhs) == 0


def test_step_sizes_refuses_nonpositive_K():
    with pytest.raises(ValueError, match="K"):
        step_sizes(sp.Integer(-1))
