"""Build the executable lemma notebooks of ``proofs/`` and execute them in place.

Each notebook is written here as Python data (``nbformat.v4`` cells), so that the
notebooks are reviewed as code and regenerated in one command:

    python proofs/_build_notebooks.py              # write and execute every notebook
    python proofs/_build_notebooks.py 02 07        # only the notebooks whose name contains 02 or 07
    python proofs/_build_notebooks.py --no-execute # write the cells only (no outputs)

Execution uses ``nbclient`` with the ``python3`` kernel, the working directory ``proofs/``
and the repository root on ``PYTHONPATH`` (so an uninstalled checkout works too). Outputs
are deterministic: every random draw is seeded and hypothesis runs derandomized
(``derandomize=True, database=None``). ``property_tests/test_notebooks.py`` re-executes the
committed notebooks and checks that their cells match this script.
"""

# ruff: noqa: E501  (the statements are quoted from the paper line by line, LaTeX included)
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

Cells = list  # list of nbformat cells


def md(*parts: str) -> nbformat.NotebookNode:
    """A markdown cell from parts (each dedented on its own), separated by blank lines."""
    return new_markdown_cell("\n\n".join(textwrap.dedent(p).strip("\n") for p in parts))


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(textwrap.dedent(text).strip("\n"))


_REGISTRY: dict[str, Callable[[], Cells]] = {}


def notebook(name: str) -> Callable[[Callable[[], Cells]], Callable[[], Cells]]:
    def register(fn: Callable[[], Cells]) -> Callable[[], Cells]:
        _REGISTRY[name] = fn
        return fn

    return register


# --------------------------------------------------------------------------------------------
# shared text
# --------------------------------------------------------------------------------------------

SETTING = r"""
**Setting (Section 3).** A collection $\mathcal{X}^{(t)} = \{\boldsymbol{x}_i^{(t)}\}_{i \in I} \in (\mathbb{R}^D)^I$
(the neurons, $I$ possibly uncountable) is updated by a rule $U^{(t)} : (\mathbb{R}^D)^I \to (\mathbb{R}^D)^I$ with step size $\eta > 0$:

$$\boldsymbol{x}_{i}^{(t+1)} = \boldsymbol{x}_{i}^{(t)} + \eta U_{i}^{(t)} \left( \mathcal{X} \right). \tag{4}$$

$\mathsf{FSym}(I)$ is the group of permutations of $I$ with finite support, acting by $P\mathcal{X} = \{\boldsymbol{x}_{P(i)}\}_{i\in I}$;
$\|\mathcal{X} - \mathcal{Y}\| = \sqrt{\sum_{i \in I} \|\boldsymbol{x}_i - \boldsymbol{y}_i\|^2}$ if $\mathcal{X}$ and $\mathcal{Y}$ differ in finitely many terms, $+\infty$ otherwise.
"""

P1 = r"""
- **(P1) Equivariance Property:** We say $U^{(t)}$ has equivariance property if for any $t \in \mathbb{N}$, any $\mathcal{X} \in (\mathbb{R}^D)^I$ and $P \in \mathsf{FSym}(I)$, we have $PU^{(t)}(\mathcal{X}) = U^{(t)}(P\mathcal{X})$.
"""

P2K = r"""
- **(P2-K) K-Continuity Property:** For $K > 0$, if for any $t \in \mathbb{N}$ and any $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$,
  $$\left\| U^{(t)} \left( \mathcal{X} \right) - U^{(t)} \left( \mathcal{Y} \right) \right\| \le K \left\| \mathcal{X} - \mathcal{Y} \right\|, \tag{5}$$
  then we say $U^{(t)}$ has K-continuity property.
"""

P3 = r"""
- **(P3) Smoothness Property:** For any $i \in I$ and $t \in \mathbb{N}$, define
  $$\forall \boldsymbol{y}, \boldsymbol{z} \in \mathbb{R}^{D}, g_{i}^{(t)}(\boldsymbol{y}, \boldsymbol{z}) = U_{i}^{(t)} \left( \mathcal{X}^{(t)} + (\boldsymbol{e}_{i} - \boldsymbol{e}_{j}) \cdot \boldsymbol{z} \right), \text{ such that } \boldsymbol{y} = \boldsymbol{x}_{j}^{(t)}, \tag{6}$$
  where $j$ is arbitrarily chosen when multiple $j$-s satisfies the condition, and $\boldsymbol{e}_j$ is set to $\mathbf{0}$ if no $j$
  satisfies the condition. If $g_i^{(t)}$ is $C^1$ on $(\mathbb{R}^D)^2$ for any $i \in I$, we say $U^{(t)}$ has the ($C^1$-)smoothness property.
"""

S_AND_UHAT = r"""
$S^{(t)} = \{\boldsymbol{x}_i^{(t)} \mid i \in I\} \subseteq \mathbb{R}^D$ is the *set* formed by the neurons (relative topology of $\mathbb{R}^D$), and

$$\forall i \in I,\ \widehat{U}^{(t)}\left(\boldsymbol{x}_i^{(t)}\right) = \boldsymbol{x}_i^{(t+1)} \tag{8}$$

defines $\widehat{U}^{(t)} : S^{(t)} \to S^{(t+1)}$. On a computer $S^{(t)}$ is the finite set of *atoms* (groups of examined
neurons that coincide up to a dtype-aware tolerance): `inv.induced_map` builds $\widehat{U}^{(t)}$ on them.
"""

SETUP = """
import math

import numpy as np
import matplotlib.pyplot as plt
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import invariance as inv
from invariance import strategies as ist

%matplotlib inline
np.set_printoptions(precision=6, suppress=True)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})


def cases(n):
    \"\"\"hypothesis settings of this notebook: n generated cases, derandomized (reproducible outputs).\"\"\"
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def min_separation(X):
    \"\"\"Smallest distance between distinct entries of a finite collection, relative to its scale.\"\"\"
    pts = X.points.astype(np.float64)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)[np.triu_indices(X.n, 1)]
    d = d[d > 0]
    return d.min() / (1.0 + np.abs(pts).max()) if d.size else math.inf
"""


def setup_cells(extra: str = "") -> Cells:
    return [
        md("## Setup\n\nOnly the public API: `import invariance as inv`, `invariance.strategies`, "
           "`invariance.symbolic`, `invariance.topology`."),
        code(SETUP + (textwrap.dedent(extra) if extra else "")),
    ]


# --------------------------------------------------------------------------------------------
# 01 Lemma 1
# --------------------------------------------------------------------------------------------


@notebook("01_lemma1_well_definedness")
def nb_lemma1() -> Cells:
    return [
        md(r"""
        # Lemma 1 (Well-definedness)

        *Section 4 of the paper; proof in Appendix A.1.*
        """, SETTING, r"""
        **Hypothesis.**
        """, P1, r"""
        > **Lemma 1** (Well-definedness). The following statement holds when $U^{(t)}$ satisfies P1. For any $i, j \in I$ such
        > that $i \neq j$, if at time $t$ we have $\mathbf{x}_i^{(t)} = \mathbf{x}_j^{(t)}$, then, $\mathbf{x}_i^{(t+1)} = \mathbf{x}_j^{(t+1)}$.

        Coincident neurons stay coincident: this is what makes $\widehat{U}^{(t)}(\boldsymbol{x}_i^{(t)}) = \boldsymbol{x}_i^{(t+1)}$
        (eq. 8) a function on the *set* of neurons. The notebook checks every step of the proof, runs the library's check
        (`inv.well_definedness`) on generated cases, and shows that without P1 the conclusion fails.
        """),
        *setup_cells(),
        md(r"""
        ## The proof, step by step

        A rule satisfying P1: gradient descent $U = -\nabla L$ on the permutation-symmetric loss
        $L(\mathcal{X}) = \sum_i \sum_k \log\cosh x_{ik} + \frac1n \sum_{i<j} e^{-\|\boldsymbol{x}_i - \boldsymbol{x}_j\|^2/2}$
        (Proposition 1 makes it equivariant). Six neurons in $\mathbb{R}^2$, with $\boldsymbol{x}_1 = \boldsymbol{x}_4$.

        **Step 1 (eq. 18).** $P$ switches $i$ and $j$: $P(i) = j$, $P(j) = i$, $P(k) = k$ otherwise. Its support is
        $\{i, j\}$, so $P \in \mathsf{FSym}(I)$; since $\boldsymbol{x}_i^{(t)} = \boldsymbol{x}_j^{(t)}$, $\mathcal{X} = P\mathcal{X}$.
        """),
        code("""
        potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=1.0))
        rule = inv.GradientDescent(potential)

        rng = np.random.default_rng(0)
        pts = rng.normal(size=(6, 2))
        i, j = 1, 4
        pts[j] = pts[i]                                    # x_i = x_j at time t
        X = inv.FiniteCollection(pts)

        P = inv.FinitaryPermutation.transposition(i, j)    # eq. (18)
        assert P.support == (i, j) and P(i) == j and P(j) == i and P(0) == 0
        assert (P @ P).is_identity()                       # a transposition is an involution
        PX = P.act(X)
        assert np.array_equal(PX.points, X.points)         # X = PX
        print("supp(P) =", P.support, "  ||X - PX|| =", inv.difference_norm(X, PX))
        """),
        md(r"""
        **Step 2 (eq. 19).** With $\mathcal{X} = P\mathcal{X}$ and P1,
        $U_i(\mathcal{X}) = U_i(P\mathcal{X}) = (PU(\mathcal{X}))_i = U_{P(i)}(\mathcal{X}) = U_j(\mathcal{X})$.
        Each equality of the chain is checked separately: the first because $\mathcal{X} = P\mathcal{X}$ exactly, the second is P1,
        the third is the definition of the action.
        """),
        code("""
        U = rule.update(X).points
        U_PX = rule.update(PX).points
        PU = P.act(rule.update(X)).points
        chain = [U[i], U_PX[i], PU[i], U[j]]
        assert np.array_equal(chain[0], chain[1])          # X = PX
        assert np.allclose(chain[1], chain[2], rtol=0, atol=1e-14)   # P1 at X
        assert np.array_equal(chain[2], chain[3])          # (P U(X))_i = U_{P(i)}(X) = U_j(X)
        p1 = inv.equivariance_error(rule, X)               # P1 at X, for every transposition and sampled permutations
        assert p1.passed
        print("U_i(X) =", U[i], "  U_j(X) =", U[j])
        print("P1 at X:", p1.passed, "  worst ||(P U(X))_i - U_i(P X)|| =", p1.worst, " over", p1.trials, "permutations")
        """),
        md(r"""
        **Step 3.** $\boldsymbol{x}_i^{(t+1)} = \boldsymbol{x}_i^{(t)} + \eta U_i(\mathcal{X}) = \boldsymbol{x}_j^{(t)} + \eta U_j(\mathcal{X}) = \boldsymbol{x}_j^{(t+1)}$,
        for every step size (Lemma 1 needs no bound on $\eta$).
        """),
        code("""
        for eta in (0.1, 1.0, 10.0):
            Y = rule.step(X, eta)
            assert np.array_equal(Y[i], X[i] + eta * U[i]) and np.array_equal(Y[j], X[j] + eta * U[j])
            assert np.array_equal(Y[i], Y[j])
            print(f"eta = {eta:5}:  x_i^(t+1) = {Y[i]},  ||x_i^(t+1) - x_j^(t+1)|| = {np.linalg.norm(Y[i] - Y[j])}")
        """),
        md(r"""
        **The same proof on an infinite index set.** $I = \mathbb{N}$: infinitely many neurons fill the unit circle densely
        (`CircleBase`), and neuron $0$ is overridden to coincide with neuron $10^{12}$. The transposition $(0\ 10^{12})$ is finitary;
        the mean-field gradient rule acts on the lazy collection, and the two neurons are again equal after the step.
        """),
        code("""
        ring = inv.LazyCollection(inv.CircleBase(radius=1.0))
        far = 10**12
        Xl = ring.with_entries([0], [ring[far]])           # x_0 = x_{10^12}
        Pl = inv.FinitaryPermutation.transposition(0, far)
        assert inv.difference_norm(Pl.act(Xl), Xl) == 0.0  # X = PX on N
        Yl = rule.step(Xl, 0.3)
        assert np.array_equal(Yl[0], Yl[far])
        print("x_0^(t+1) =", Yl[0], "  x_{10^12}^(t+1) =", Yl[far], "  support of X^(t+1):", Yl.support)
        """),
        md(r"""
        ## The library's check on this collection

        `inv.well_definedness` finds every coincident pair among the examined neurons and measures their distance after one step
        (tolerance: dtype-aware, relative to the scale of the collection).
        """),
        code("""
        r = inv.well_definedness(rule, X, eta=0.5)
        print(r)
        assert r.holds and not r.vacuous and r.coincident_pairs == 1 and r.worst_pair == (i, j)
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Finite collections with at least two coincident pairs, equivariant rules (gradient descent on generated symmetric
        potentials, `ist.symmetric_rules()`), and any step size $\eta = f/K$ with $f \in [0.01, 3]$, below and above $\eta^* = 1/K$;
        then lazily infinite collections with a coincident pair. The cell prints the number of cases and the worst separation.
        """),
        code("""
        finite_stats = []

        @cases(60)
        @given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), st.floats(0.01, 3.0))
        def lemma1_finite(X, rule, frac):
            eta = frac / rule.smoothness_constant(X.n)
            r = inv.assert_well_defined(rule, X, eta)          # raises StatementViolation if Lemma 1 fails
            assert not r.vacuous
            finite_stats.append((r.coincident_pairs, r.max_separation, r.tolerance))

        lemma1_finite()
        lazy_stats = []

        @cases(20)
        @given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 3.0))
        def lemma1_lazy(X, rule, frac):
            r = inv.assert_well_defined(rule, X, frac / rule.smoothness_constant(None))
            assert not r.vacuous and not r.exhaustive
            lazy_stats.append((r.coincident_pairs, r.max_separation))

        lemma1_lazy()
        pairs = sum(s[0] for s in finite_stats)
        print(f"finite: {len(finite_stats)} cases, {pairs} coincident pairs, "
              f"largest separation after the step {max(s[1] for s in finite_stats):.3g} "
              f"(largest tolerance {max(s[2] for s in finite_stats):.3g})")
        print(f"lazy:   {len(lazy_stats)} cases, {sum(s[0] for s in lazy_stats)} coincident pairs, "
              f"largest separation {max(s[1] for s in lazy_stats):.3g}")
        assert len(finite_stats) == 60 and len(lazy_stats) == 20
        """),
        md(r"""
        ## Dropping the hypothesis: a rule without P1

        `IndexBiasedRule(rule, index=i)` adds a push $(1, \dots, 1)$ to the update of neuron $i$ only. It is not equivariant
        (the checker returns a transposition moving $i$), and the coincident neurons $i$ and $j$ separate by exactly
        $\eta \|(1,\dots,1)\| = \eta\sqrt{D}$: Lemma 1's conclusion fails.
        """),
        code("""
        biased = inv.IndexBiasedRule(rule, index=i)
        p1 = inv.equivariance_error(biased, X)
        assert not p1.passed and p1.counterexample["moved_indices"] == 2 and i in p1.counterexample["cycles"][0]
        print("P1:", p1.passed, "  counterexample:", p1.counterexample["permutation"], " error", round(p1.worst, 6))

        eta = 0.5
        r = inv.well_definedness(biased, X, eta)
        assert not r.holds and r.worst_pair == (i, j)
        assert math.isclose(r.max_separation, eta * math.sqrt(X.dim), rel_tol=1e-9)
        print("Lemma 1 for the biased rule:", r.holds, "  separation", r.max_separation, "= eta sqrt(D)")
        try:
            inv.assert_well_defined(biased, X, eta)
            raise RuntimeError("expected a StatementViolation")
        except inv.StatementViolation as err:
            print("assert_well_defined raised StatementViolation:", err.result.statement)
        """),
        md(r"""
        P1 is sufficient, not necessary. `AnchoredRule` pulls every neuron towards neuron $0$,
        $U_i = V_i + c(\boldsymbol{x}_0 - \boldsymbol{x}_i)$: it is not equivariant, yet two coincident neurons receive the same pull,
        so Lemma 1's conclusion survives. Only a rule that treats the *labels* of coincident neurons differently breaks it.
        """),
        code("""
        anchored = inv.AnchoredRule(rule, strength=1.0, anchor=0)
        assert not inv.equivariance_error(anchored, X).passed
        assert inv.well_definedness(anchored, X, 0.5).holds
        print("anchored rule: P1", inv.equivariance_error(anchored, X).passed,
              "| Lemma 1's conclusion", inv.well_definedness(anchored, X, 0.5).holds)
        """),
        md(r"""
        ## Figure: ten steps with and without P1

        Left: the equivariant rule; the coincident pair (black) stays one point along the whole trajectory. Right: the
        index-biased rule; the pair splits at the first step.
        """),
        code("""
        fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
        for ax, r_, title in zip(axes, (rule, biased), ("equivariant (P1)", "index-biased (no P1)")):
            traj = np.stack([Z.points for Z in r_.trajectory(X, 0.15, 10)])
            for k in range(X.n):
                style = dict(color="k", lw=2) if k in (i, j) else dict(color="tab:blue", alpha=0.5)
                ax.plot(traj[:, k, 0], traj[:, k, 1], "-o", ms=3, **style)
            sep = np.linalg.norm(traj[:, i] - traj[:, j], axis=1)
            ax.set_title(f"{title}: max ||x_i - x_j|| = {sep.max():.2g}")
            if r_ is rule:
                assert sep.max() == 0.0
            else:
                assert sep[1] > 0
        fig.suptitle("Lemma 1: coincident neurons stay coincident under an equivariant rule")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 02 Lemma 2 with Lemma 4
# --------------------------------------------------------------------------------------------


@notebook("02_lemma2_lemma4_bi_lipschitz")
def nb_lemma2() -> Cells:
    return [
        md(r"""
        # Lemma 2 (No Merging or Splitting), with Lemma 4 (No Splitting)

        *Section 4 of the paper; proofs in Appendix A.2.*
        """, SETTING, r"""
        **Hypotheses.**
        """, P1, P2K, r"""
        > **Lemma 4** (No Splitting). The following statement holds when $U$ has the equivariance property and K-continuity
        > property. For any $t \in \mathbb{N}$ and $i, j \in I$ such that $i \neq j$, we have
        > $$\|U_i(\mathcal{X}^{(t)}) - U_j(\mathcal{X}^{(t)})\| \le K \|\boldsymbol{x}_i^{(t)} - \boldsymbol{x}_j^{(t)}\|. \tag{20}$$

        > **Lemma 2** (No Merging or Splitting). If $U^{(t)}$ satisfies P1 and P2-K, then for any $i, j \in I$ such that $i \neq j$,
        > $$(1 - \eta K) \| \boldsymbol{x}_{i}^{(t)} - \boldsymbol{x}_{j}^{(t)} \| \leq \| \boldsymbol{x}_{i}^{(t+1)} - \boldsymbol{x}_{j}^{(t+1)} \| \leq (1 + \eta K) \| \boldsymbol{x}_{i}^{(t)} - \boldsymbol{x}_{j}^{(t)} \|. \tag{7}$$

        The lower bound becomes vacuous at the topological critical point $\eta^* = 1/K$. Library: `inv.update_difference_ratios`
        (Lemma 4), `inv.bi_lipschitz_ratios` (Lemma 2).
        """),
        *setup_cells("""
        from itertools import combinations

        import sympy as sp
        from invariance.symbolic import hessian_constant, quadratic_loss
        """),
        md(r"""
        ## Proof of Lemma 4, step by step

        Gradient descent on a symmetric potential (log-cosh confinement + Gaussian attraction) satisfies P1 (Proposition 1) and
        P2-K with the Gershgorin constant $K$ of `smoothness_constant(n)` (Proposition 2). Eight neurons in $\mathbb{R}^2$;
        the pair $(i, j) = (2, 5)$ and $P = (i\ j)$.

        **Eqs. (21)-(22).** $U_i(\mathcal{X}) - U_j(\mathcal{X}) = U_i(\mathcal{X}) - (PU(\mathcal{X}))_i = U_i(\mathcal{X}) - U_i(P\mathcal{X})$.
        """),
        code("""
        rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=-2.0, s=0.7)))
        X = inv.FiniteCollection(np.random.default_rng(1).normal(size=(8, 2)))
        K = rule.smoothness_constant(X.n)
        i, j = 2, 5
        P = inv.FinitaryPermutation.transposition(i, j)
        UX, UPX = rule.update(X), rule.update(P.act(X))
        U, Up = UX.points, UPX.points
        assert np.allclose(P.act(UX).points, Up, rtol=0, atol=1e-13)        # P1
        assert np.allclose(U[i] - U[j], U[i] - Up[i], rtol=0, atol=1e-13)   # (21)-(22)
        print("K =", K, "  U_i - U_j =", U[i] - U[j], "  U_i(X) - U_i(PX) =", U[i] - Up[i])
        """),
        md(r"""
        **Eqs. (23)-(27).** $\mathcal{X}$ and $P\mathcal{X}$ differ only in entries $i, j$, so
        $\|\mathcal{X} - P\mathcal{X}\| = \sqrt2\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$ (27), and

        $\sqrt2\|U_i - U_j\| = \sqrt{\|U_i(\mathcal{X}) - U_i(P\mathcal{X})\|^2 + \|U_j(\mathcal{X}) - U_j(P\mathcal{X})\|^2}$ (23-24)
        $\le \|U(\mathcal{X}) - U(P\mathcal{X})\|$ (25) $\le K\|\mathcal{X} - P\mathcal{X}\|$ (26, P2-K) $= \sqrt2 K\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$ (27).
        """),
        code("""
        d = np.linalg.norm(X[i] - X[j])
        du = np.linalg.norm(U[i] - U[j])
        two_terms = math.hypot(np.linalg.norm(U[i] - Up[i]), np.linalg.norm(U[j] - Up[j]))
        full = inv.difference_norm(UX, UPX)
        XPX = inv.difference_norm(X, P.act(X))
        rows = [("(23)-(24)  sqrt2 ||U_i - U_j||", math.sqrt(2) * du), ("           the two terms", two_terms),
                ("(25)       ||U(X) - U(PX)||", full), ("(26)       K ||X - PX||", K * XPX),
                ("(27)       sqrt2 K ||x_i - x_j||", math.sqrt(2) * K * d)]
        for name, value in rows:
            print(f"{name:36s} {value:.6f}")
        assert math.isclose(math.sqrt(2) * du, two_terms, rel_tol=1e-12)
        assert two_terms <= full * (1 + 1e-12)
        assert full <= K * XPX * (1 + 1e-12)
        assert math.isclose(XPX, math.sqrt(2) * d, rel_tol=1e-12)
        assert du <= K * d                                   # (20)
        # P2-K itself, with this K, at X (random sparse perturbations, the pairs X, PX, power iteration)
        p2 = inv.check_continuity(rule, X, K)
        assert p2.passed
        print("P2-K with K =", K, ":", p2.passed, "  largest measured ratio", round(p2.worst, 6))
        """),
        md(r"""
        Over all pairs, `inv.update_difference_ratios` computes $\|U_i - U_j\| / \|\boldsymbol{x}_i - \boldsymbol{x}_j\|$; its maximum
        is a free lower bound of every valid $K$.
        """),
        code("""
        r4 = inv.update_difference_ratios(rule, X, K=K)
        assert r4.holds and r4.max_ratio <= K
        print(r4)
        """),
        md(r"""
        **Symbolically, the bound is attained.** For the quadratic loss
        $L = \frac a2\sum_i x_i^2 + \frac b2\sum_{i<j}(x_i - x_j)^2$ of $n$ symbolic neurons, `hessian_constant` derives
        $K = a + nb$ from the Hessian, and sympy proves $U_i - U_j = -K(x_i - x_j)$ for every pair (Lemma 4 with equality) and
        $x_i^{(t+1)} - x_j^{(t+1)} = (1 - \eta K)(x_i - x_j)$ (Lemma 2's lower bound attained for $\eta K \le 1$).
        """),
        code("""
        n = 4
        loss = quadratic_loss(n)
        Kq = hessian_constant(loss).K
        g = [gi[0] for gi in loss.gradient()]
        x = [p[0] for p in loss.neurons]
        eta_s = sp.Symbol("eta", positive=True)
        for a_, b_ in combinations(range(n), 2):
            assert sp.simplify(-(g[a_] - g[b_]) + Kq * (x[a_] - x[b_])) == 0
            after = (x[a_] - eta_s * g[a_]) - (x[b_] - eta_s * g[b_])
            assert sp.simplify(after - (1 - eta_s * Kq) * (x[a_] - x[b_])) == 0
        print("K =", Kq, "  U_1 - U_2 =", sp.factor(-(g[0] - g[1])))
        """),
        md(r"""
        ## Proof of Lemma 2

        **Eqs. (28)-(29).** $\|\boldsymbol{x}_i^{(t+1)} - \boldsymbol{x}_j^{(t+1)}\| = \|\boldsymbol{x}_i - \boldsymbol{x}_j + \eta(U_i - U_j)\|
        \in \|\boldsymbol{x}_i - \boldsymbol{x}_j\| + [-\eta, \eta]\,\|U_i - U_j\|$ (triangle inequality), and Lemma 4 bounds
        $\|U_i - U_j\|$ by $K\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$. Checked for all 28 pairs at $\eta K = 0.3$.
        """),
        code("""
        eta = 0.3 / K
        Y = rule.step(X, eta)
        iu = np.triu_indices(X.n, 1)
        dx = np.linalg.norm(X.points[:, None] - X.points[None], axis=-1)[iu]
        dy = np.linalg.norm(Y.points[:, None] - Y.points[None], axis=-1)[iu]
        dU = np.linalg.norm(U[:, None] - U[None], axis=-1)[iu]
        tol = 1e-12 * (1 + dx.max())
        assert np.all(dy <= dx + eta * dU + tol) and np.all(dy >= dx - eta * dU - tol)     # (29)
        assert np.all(dU <= K * dx + tol)                                                  # Lemma 4
        assert np.all(dy >= (1 - eta * K) * dx - tol) and np.all(dy <= (1 + eta * K) * dx + tol)   # (7)
        print(f"ratios d'/d in [{(dy / dx).min():.4f}, {(dy / dx).max():.4f}]  within  "
              f"[1 - eta K, 1 + eta K] = [{1 - eta * K:.4f}, {1 + eta * K:.4f}]")
        r2 = inv.bi_lipschitz_ratios(rule, X, eta, K)
        assert r2.holds
        print(r2)
        """),
        md(r"""
        **Tightness.** For the centering rule $U_i = -K(\boldsymbol{x}_i - \overline{\boldsymbol{x}})$ (gradient descent on
        $\frac{K}{2n}\sum_{i<j}\|\boldsymbol{x}_i - \boldsymbol{x}_j\|^2$, exactly P2-K with this $K$) every ratio equals $1 - \eta K$.
        """),
        code("""
        cen = inv.centering_rule(K=2.0)
        rc = inv.bi_lipschitz_ratios(cen, X, eta=0.2, K=2.0)
        assert rc.holds and abs(rc.min_ratio - 0.6) < 1e-12 and abs(rc.max_ratio - 0.6) < 1e-12
        print("centering rule, eta K = 0.4: ratios in", (rc.min_ratio, rc.max_ratio), " lower bound", rc.lower_bound)
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Finite collections (with a coincident pair), generated equivariant rules with their stated $K$, $\eta K \in [0.01, 3]$;
        then lazily infinite collections with $\eta K < 1$. The cell prints the worst slacks
        $\min(\text{ratio}) - (1 - \eta K)$ and $(1 + \eta K) - \max(\text{ratio})$, and the largest $\max\|U_i - U_j\|/(K\|x_i - x_j\|)$.
        """),
        code("""
        stats = []

        @cases(60)
        @given(ist.finite_collections(min_size=2, coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 3.0))
        def lemmas_2_4_finite(X, rule, frac):
            K = rule.smoothness_constant(X.n)
            r4 = inv.assert_update_difference_bound(rule, X, K)
            r2 = inv.assert_bi_lipschitz(rule, X, frac / K, K)
            stats.append((r2.lower_slack, r2.upper_slack, r4.max_ratio / K, r2.lower_bound_vacuous))

        lemmas_2_4_finite()
        lazy = []

        @cases(20)
        @given(ist.lazy_collections(), ist.symmetric_rules(), st.floats(0.01, 0.95))
        def lemma2_lazy(X, rule, frac):
            K = rule.smoothness_constant(None)
            lazy.append(inv.assert_bi_lipschitz(rule, X, frac / K, K).lower_slack)

        lemma2_lazy()
        s = np.array([row[:3] for row in stats], dtype=float)
        print(f"finite: {len(stats)} cases ({sum(row[3] for row in stats)} with eta K >= 1, lower bound vacuous)")
        print(f"  worst lower slack {np.nanmin(s[:, 0]):.3g}, worst upper slack {np.nanmin(s[:, 1]):.3g}, "
              f"largest Lemma-4 ratio / K {s[:, 2].max():.4f}")
        print(f"lazy:   {len(lazy)} cases, worst lower slack {np.nanmin(lazy):.3g}")
        assert np.nanmin(s[:, 0]) > -1e-9 and np.nanmin(s[:, 1]) > -1e-9 and s[:, 2].max() <= 1 + 1e-9
        """),
        md(r"""
        ## Dropping the hypotheses

        **No P1.** `IndexBiasedRule` pushes neuron $0$ only. The push is a constant, so the rule still satisfies P2-K with the same
        $K$ (it cancels in $U(\mathcal{X}) - U(\mathcal{Y})$); but two nearby neurons $0$ and $1$ now receive updates that differ by
        the push: Lemma 4 and Lemma 2 fail (splitting).
        """),
        code("""
        Xn = X.with_entries([1], [X[0] + 1e-3])
        biased = inv.IndexBiasedRule(rule, index=0)
        assert inv.check_continuity(biased, Xn, K).passed and not inv.equivariance_error(biased, Xn).passed
        r4b = inv.update_difference_ratios(biased, Xn, K=K)
        r2b = inv.bi_lipschitz_ratios(biased, Xn, 0.3 / K, K)
        assert not r4b.holds and r4b.worst_pair == (0, 1) and not r2b.holds and r2b.max_pair == (0, 1)
        print(f"no P1: Lemma 4 ratio {r4b.max_ratio:.4g} > K = {K:.4g};  Lemma 2 ratio {r2b.max_ratio:.4g} > 1 + eta K = {r2b.upper_bound}")
        """),
        md(r"""
        **No P2-K.** $U_i = -\operatorname{sign}(\boldsymbol{x}_i)\sqrt{|\boldsymbol{x}_i|}$ (a pointwise rule: P1 holds) is not Lipschitz
        at $0$. Two neurons at $\pm\delta$ have distance ratio $|1 - \eta/\sqrt\delta|$ after the step: for every claimed $K$ a small
        enough $\delta$ breaks Lemma 2 (here $K = 10$).
        """),
        code("""
        sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)), name="-sign(x) sqrt|x|")
        for delta in (1e-2, 1e-4, 1e-6):
            Xs = inv.FiniteCollection([[-delta], [delta], [1.0]])
            assert inv.equivariance_error(sqrt_rule, Xs).passed
            r = inv.bi_lipschitz_ratios(sqrt_rule, Xs, eta=0.1, K=10.0)
            print(f"delta = {delta:.0e}: largest ratio {r.max_ratio:9.3f}, bounds [{r.lower_bound}, {r.upper_bound}], holds: {r.holds}")
        assert not r.holds
        """),
        md(r"""
        **A K claimed too small.** The centering rule with true constant 3 checked against $K = 1$: every ratio is $1 - 3\eta < 1 - \eta$.
        """),
        code("""
        r = inv.bi_lipschitz_ratios(inv.centering_rule(3.0), X, eta=0.1, K=1.0)
        assert not r.holds and abs(r.min_ratio - 0.7) < 1e-9
        print("min ratio", round(r.min_ratio, 9), "< claimed lower bound", r.lower_bound)
        """),
        md(r"""
        ## Figure: the bi-Lipschitz band

        Distance ratios $\|\boldsymbol{x}_i^{(t+1)} - \boldsymbol{x}_j^{(t+1)}\| / \|\boldsymbol{x}_i^{(t)} - \boldsymbol{x}_j^{(t)}\|$ of every pair,
        against $\eta K$, for the gradient rule above (grey dots) and the centering rule (red, $|1 - \eta K|$), with the bounds
        $1 \pm \eta K$ of eq. (7). The lower bound hits zero at $\eta^* = 1/K$.
        """),
        code("""
        ek = np.linspace(0.02, 2.0, 34)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for e in ek:
            r = inv.bi_lipschitz_ratios(rule, X, e / K, K)
            ratios = r.ratios[np.isfinite(r.ratios)]
            assert r.holds and np.all(ratios >= max(0.0, 1 - e) - 1e-9) and np.all(ratios <= 1 + e + 1e-9)
            ax.plot(np.full(ratios.size, e), ratios, ".", color="0.5", ms=3)
            rc = inv.bi_lipschitz_ratios(cen, X, e / 2.0, 2.0)
            ax.plot(e, rc.min_ratio, "o", color="tab:red", ms=4)
        ax.plot(ek, 1 + ek, "k-", label="1 + eta K")
        ax.plot(ek, 1 - ek, "k--", label="1 - eta K")
        ax.axvline(1.0, color="tab:green", lw=1, label="eta* = 1/K")
        ax.plot([], [], ".", color="0.5", label="gradient rule, every pair")
        ax.plot([], [], "o", color="tab:red", label="centering rule, |1 - eta K|")
        ax.set_xlabel("eta K"); ax.set_ylabel("distance ratio"); ax.legend(fontsize=8)
        ax.set_title("Lemma 2: ratios stay in [1 - eta K, 1 + eta K]")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 03 Lemma 3
# --------------------------------------------------------------------------------------------


@notebook("03_lemma3_bijection")
def nb_lemma3() -> Cells:
    return [
        md(r"""
        # Lemma 3 (the induced map is a surjection; a bijection below $\eta^*$)

        *Section 4.1 of the paper; proof in Appendix A.3.*
        """, SETTING, S_AND_UHAT, r"""
        **Hypotheses.**
        """, P1, P2K, r"""
        > **Lemma 3.** If $U^{(t)}$ satisfies P1 and P2-K, then $\widehat{U}^{(t)}$ is well-defined, and is a surjection.
        > If additionally $\eta K < 1$, then $\widehat{U}^{(t)}$ is a bijection.

        Library: `inv.induced_map` (eq. 8 on the atoms), `inv.bijectivity` (Lemma 3).
        """),
        *setup_cells(),
        md(r"""
        ## The proof, step by step

        Nine neurons in $\mathbb{R}^2$ forming six points of $S^{(t)}$: neurons $\{0, 3, 7\}$ coincide and so do $\{1, 5\}$.
        The rule is gradient descent on a symmetric potential, with its $K$; $\eta K = 0.6$.

        **Well-defined (Lemma 1).** If $\boldsymbol{x}_i^{(t)} = \boldsymbol{x}_j^{(t)}$ then $\boldsymbol{x}_i^{(t+1)} = \boldsymbol{x}_j^{(t+1)}$, so every atom of
        $S^{(t)}$ has a single image.
        """),
        code("""
        rule = inv.GradientDescent(inv.InteractionPotential(site=inv.Quadratic(0.5), pair=inv.GaussianPair(c=1.0, s=1.0)))
        pts = np.random.default_rng(2).normal(size=(9, 2))
        pts[[3, 7]] = pts[0]
        pts[5] = pts[1]
        X = inv.FiniteCollection(pts)
        K = rule.smoothness_constant(X.n)
        eta = 0.6 / K
        f = inv.induced_map(rule, X, eta, K=K)
        print("points of S^(t):", f.n_before, "  of S^(t+1):", f.n_after)
        for a in range(f.n_before):
            members = f.members_before(a)
            images = set(f.labels_after[np.isin(f.examined, members)].tolist())
            assert len(images) == 1                              # one image per point of S^(t)
            print(f"atom {a}: neurons {members.tolist()} -> atom {images.pop()} of S^(t+1)")
        assert f.well_defined and f.members_before(0).tolist() == [0, 3, 7] and f.members_before(1).tolist() == [1, 5]
        """),
        md(r"""
        **Surjective.** By definition $S^{(t+1)} = \{\boldsymbol{x}_i^{(t+1)}\} = \{\widehat U(\boldsymbol{x}_i^{(t)})\}$: every point of
        $S^{(t+1)}$ is the image of the point of $S^{(t)}$ holding the same neuron.
        """),
        code("""
        assert set(f.labels_after.tolist()) == set(f.image.tolist()) == set(range(f.n_after))
        assert f.surjective
        print("image of U_hat:", f.image.tolist(), " = all", f.n_after, "points of S^(t+1)")
        """),
        md(r"""
        **Injective when $\eta K < 1$.** For distinct points $a \ne b$ of $S^{(t)}$, Lemma 2's lower bound gives
        $\|\widehat U(a) - \widehat U(b)\| \ge (1 - \eta K)\|a - b\| > 0$.
        """),
        code("""
        iu = np.triu_indices(f.n_before, 1)
        d_before = np.linalg.norm(f.points_before[:, None] - f.points_before[None], axis=-1)[iu]
        img = f.points_after[f.image]
        d_after = np.linalg.norm(img[:, None] - img[None], axis=-1)[iu]
        assert np.all(d_after >= (1 - eta * K) * d_before - 1e-12) and d_after.min() > 0
        assert f.injective and f.bijective
        print(f"min ||U_hat(a) - U_hat(b)|| / ||a - b|| = {(d_after / d_before).min():.4f} >= 1 - eta K = {1 - eta * K:.4f}")
        r = inv.bijectivity(rule, X, eta, K)
        assert r.holds and r.bijective
        print(r)
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Below $\eta^*$ ($\eta K \in [0.01, 0.95]$) the induced map is a bijection (on well-separated collections; nearly coincident
        neurons may be contracted below what float64 resolves, which the check excuses only when consistent with Lemma 2). At any
        step ($\eta K \in [0.01, 3]$) it is a well-defined surjection. The cell prints counts.
        """),
        code("""
        below = []

        @cases(50)
        @given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), st.floats(0.01, 0.95))
        def lemma3_below(X, rule, frac):
            K = rule.smoothness_constant(X.n)
            r = inv.assert_bijective(rule, X, frac / K, K)
            assert r.well_defined and r.surjective and r.n_before < X.n
            if min_separation(X) > 1e-6:
                assert r.bijective and r.n_after == r.n_before
            below.append((r.bijective, r.n_before))

        lemma3_below()
        anywhere = []

        @cases(50)
        @given(ist.finite_collections(min_size=2, coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 3.0))
        def lemma3_any_step(X, rule, frac):
            K = rule.smoothness_constant(X.n)
            r = inv.assert_bijective(rule, X, frac / K, K)
            assert r.surjective and r.well_defined and r.n_after <= r.n_before
            anywhere.append((frac >= 1, r.bijective))

        lemma3_any_step()
        lazy = []

        @cases(15)
        @given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 0.95))
        def lemma3_lazy(X, rule, frac):
            K = rule.smoothness_constant(None)
            lazy.append(inv.assert_bijective(rule, X, frac / K, K).bijective)

        lemma3_lazy()
        print(f"eta K < 1: {len(below)} cases, {sum(b for b, _ in below)} bijective")
        print(f"any eta:   {len(anywhere)} cases ({sum(a for a, _ in anywhere)} with eta K >= 1), all well-defined surjections")
        print(f"lazy, eta K < 1: {len(lazy)} cases, {sum(lazy)} bijective")
        """),
        md(r"""
        ## Dropping the hypotheses

        **No P1** (`IndexBiasedRule`): the coincident neurons $0, 3, 7$ no longer land on one point: $\widehat U$ is not even a function.
        """),
        code("""
        rb = inv.bijectivity(inv.IndexBiasedRule(rule, index=3), X, eta, K)
        assert not rb.holds and not rb.well_defined and any(3 in g for g in rb.split_groups)
        print("well defined:", rb.well_defined, "  split groups:", rb.split_groups)
        """),
        md(r"""
        **$\eta K \ge 1$.** The centering rule $U_i = -K(\boldsymbol{x}_i - \overline{\boldsymbol{x}})$ at $\eta = 1/K$ sends every neuron
        to the mean: $\widehat U$ is still a well-defined surjection (the part of Lemma 3 that needs no $\eta K < 1$), but not injective.
        """),
        code("""
        Kc = 2.0
        rc = inv.bijectivity(inv.centering_rule(Kc), X, 1 / Kc, Kc)
        assert rc.holds and rc.well_defined and rc.surjective and not rc.injective and rc.n_after == 1
        print(f"eta = 1/K: {rc.n_before} points -> {rc.n_after} point; injective: {rc.injective}; merged: {rc.merged_groups}")
        """),
        md(r"""
        **No P2-K.** The equivariant but non-Lipschitz rule $U_i = -\operatorname{sign}(x_i)\sqrt{|x_i|}$ merges the neurons at
        $\pm\eta^2$ at *every* step size $\eta$: whatever $K$ one claims (here $K = 1$, so $\eta K = 0.1 < 1$), injectivity fails.
        """),
        code("""
        sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)))
        eta_s = 0.1
        Xs = inv.FiniteCollection([[-eta_s**2], [eta_s**2], [1.0]])
        rs = inv.bijectivity(sqrt_rule, Xs, eta_s, K=1.0)
        assert inv.equivariance_error(sqrt_rule, Xs).passed and not rs.holds and not rs.injective
        print("merged groups:", rs.merged_groups, " positions after:", sqrt_rule.step(Xs, eta_s).points.ravel())
        """),
        md(r"""
        ## Figure: $\widehat U$ below and at the critical point

        Each point of $S^{(t)}$ (marker size: number of neurons there) is joined to its image in $S^{(t+1)}$. Left: the gradient rule at
        $\eta K = 0.6$, a bijection. Right: the centering rule at $\eta K = 1$, every point is sent to the mean.
        """),
        code("""
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
        for ax, (r_, e_, k_, title) in zip(axes, [(rule, eta, K, "gradient rule, eta K = 0.6"),
                                                  (inv.centering_rule(Kc), 1 / Kc, Kc, "centering rule, eta K = 1")]):
            g = inv.induced_map(r_, X, e_, K=k_)
            sizes = 40 * np.bincount(g.labels_before)
            ax.scatter(*g.points_before.T, s=sizes, color="tab:blue", label="S^(t)", zorder=3)
            ax.scatter(*g.points_after.T, s=40 * np.bincount(g.labels_after), color="tab:red", label="S^(t+1)", zorder=3)
            for a in range(g.n_before):
                ax.annotate("", g.points_after[g.image[a]], g.points_before[a], arrowprops=dict(arrowstyle="->", color="0.4"))
            ax.set_title(f"{title}: {g.n_before} -> {g.n_after} points")
            ax.legend(fontsize=8)
        fig.suptitle("Lemma 3: U_hat is onto; one-to-one when eta K < 1")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 04 Theorem 1
# --------------------------------------------------------------------------------------------


@notebook("04_theorem1_homeomorphism")
def nb_theorem1() -> Cells:
    return [
        md(r"""
        # Theorem 1 (Main): continuity, quotient, homeomorphism, diffeomorphism

        *Section 4.1 of the paper; proof in Appendix A.4.*
        """, SETTING, S_AND_UHAT, r"""
        **Hypotheses.**
        """, P1, P2K, P3, r"""
        > **Theorem 1** (Main). If $U^{(t)}$ satisfies P1 and P2-K, then
        >
        > i. $\widehat{U}^{(t)}$ is a continuous surjection from $S^{(t)}$ to $S^{(t+1)}$;
        >
        > ii. if $S^{(t)}$ is compact, then $S^{(t+1)}$ is also compact, and $\widehat{U}^{(t)}$ is a quotient map;
        >
        > iii. if $\eta K < 1$, then $\widehat{U}^{(t)}$ is a homeomorphism;
        >
        > iv. if $\eta K < 1$, and $U^{(t)}$ also satisfies P3, and $S^{(t)}$ is an open subset of $\mathbb{R}^D$, then $S^{(t+1)}$ is
        > also open, and $\widehat{U}^{(t)}$ is a $C^1$-diffeomorphism.

        Library: `inv.homeomorphism` (eqs. 30, 31 and, with `derivative=True`, eqs. 39-41), `inv.statements.step_jacobian`,
        `inv.smoothness_violation` (P3), `invariance.topology.betti_numbers` (topological invariants of the neuron cloud).
        """),
        *setup_cells("""
        from invariance.statements import step_jacobian
        from invariance.topology import betti_numbers
        """),
        md(r"""
        ## (i) $\widehat U$ is a continuous surjection

        Surjective by Lemma 3. By Lemma 2's upper bound, $\|f(\boldsymbol{x}_i) - f(\boldsymbol{x}_j)\| \le (1 + \eta K)\|\boldsymbol{x}_i - \boldsymbol{x}_j\|$
        (eq. 30): $f = \widehat U$ is $(1 + \eta K)$-Lipschitz, hence continuous. Checked on 40 neurons, with a coincident group, at
        $\eta K = 0.5$ and at $\eta K = 1.5$ (beyond $\eta^*$; (i) needs no bound on $\eta$).
        """),
        code("""
        rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(2.0), pair=inv.GaussianPair(c=-1.0, s=0.8)))
        pts = np.random.default_rng(3).normal(size=(40, 2))
        pts[[10, 20]] = pts[0]
        X = inv.FiniteCollection(pts)
        K = rule.smoothness_constant(X.n)
        for frac in (0.5, 1.5):
            f = inv.induced_map(rule, X, frac / K, K=K)
            iu = np.triu_indices(f.n_before, 1)
            d0 = np.linalg.norm(f.points_before[:, None] - f.points_before[None], axis=-1)[iu]
            img = f.points_after[f.image]
            d1 = np.linalg.norm(img[:, None] - img[None], axis=-1)[iu]
            lip = (d1 / d0).max()
            assert f.well_defined and f.surjective and lip <= 1 + frac + 1e-9           # (30)
            h = inv.homeomorphism(rule, X, frac / K, K)
            assert h.continuous and math.isclose(h.lipschitz, lip, rel_tol=1e-9)
            print(f"eta K = {frac}: Lip(U_hat) = {lip:.4f} <= 1 + eta K = {1 + frac}")
        """),
        md(r"""
        ## (ii) Compactness and the quotient map

        $S^{(t+1)} = f(S^{(t)})$ is the continuous image of a compact set, hence compact; a continuous surjection from a compact
        space onto a Hausdorff (metric) space is closed, hence a quotient map. On a computer a sample is always finite, so what
        can be checked are the ingredients: continuity (i), surjectivity, and boundedness of the image,
        $\operatorname{diam} S^{(t+1)} \le (1 + \eta K)\operatorname{diam} S^{(t)}$. Here $S^{(t)}$ is (a dense sample of) the compact
        unit circle: infinitely many neurons, of which 1000 are examined.
        """),
        code("""
        ring = inv.LazyCollection(inv.CircleBase(radius=1.0))
        Kl = rule.smoothness_constant(None)
        idx = np.arange(1000)
        before = ring.entries(idx)
        diam0 = np.linalg.norm(before[:, None] - before[None], axis=-1).max()
        for frac in (0.5, 1.0, 1.5):
            after = rule.step(ring, frac / Kl).entries(idx)
            diam1 = np.linalg.norm(after[:, None] - after[None], axis=-1).max()
            assert np.all(np.isfinite(after)) and diam1 <= (1 + frac) * diam0 + 1e-12
            print(f"eta K = {frac}: diam S^(t) = {diam0:.4f}, diam S^(t+1) = {diam1:.4f} <= {(1 + frac) * diam0:.4f}")
        hl = inv.homeomorphism(rule, ring, 1.5 / Kl, Kl, window=128)
        assert hl.continuous and hl.well_defined
        """),
        md(r"""
        ## (iii) Homeomorphism when $\eta K < 1$

        $f$ is a bijection (Lemma 3) and its inverse $g$ satisfies $\|g(\boldsymbol{x}_i^{(t+1)}) - g(\boldsymbol{x}_j^{(t+1)})\| \le
        \frac{1}{1 - \eta K}\|\boldsymbol{x}_i^{(t+1)} - \boldsymbol{x}_j^{(t+1)}\|$ (eq. 31, Lemma 2's lower bound), so $g$ is continuous.
        """),
        code("""
        eta = 0.5 / K
        h = inv.homeomorphism(rule, X, eta, K)
        assert h.holds and h.homeomorphism and h.inverse_continuous
        assert h.inverse_lipschitz <= h.inverse_lipschitz_bound * (1 + 1e-9)
        print(f"Lip(U_hat) = {h.lipschitz:.4f} <= {h.lipschitz_bound:.4f};  "
              f"Lip(U_hat^-1) = {h.inverse_lipschitz:.4f} <= 1/(1 - eta K) = {h.inverse_lipschitz_bound:.4f}")
        """),
        md(r"""
        A homeomorphism preserves every topological invariant. Infinitely many neurons on the circle of radius 2, gradient descent on
        log-cosh confinement plus Gaussian repulsion: over six steps at $\eta K = 0.5$ the circle is deformed towards a rounded
        square, and the Betti numbers $(b_0, b_1, b_2)$ of 300 of its neurons (Vietoris-Rips at scale $\operatorname{diam}/4$, as in
        the paper's experiments) stay $(1, 1, 0)$.
        """),
        code("""
        ring2 = inv.LazyCollection(inv.CircleBase(radius=2.0))
        shape_rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=0.5)))
        K2 = shape_rule.smoothness_constant(None)
        traj = shape_rule.trajectory(ring2, 0.5 / K2, 6)
        circle_betti = [betti_numbers(Z.entries(np.arange(300))) for Z in traj]
        print("Betti numbers along the trajectory:", sorted(set(circle_betti)))
        assert all(b == (1, 1, 0) for b in circle_betti)
        """),
        md(r"""
        ## (iv) $C^1$-diffeomorphism under P3

        Eqs. (32)-(38) write $f(\boldsymbol{x}_i + \boldsymbol{\Delta}) = g_i(\boldsymbol{\Delta}, \boldsymbol{x}_i + \boldsymbol{\Delta})$, which is $C^1$ by P3
        (checked below with `inv.smoothness_violation`, which finds no kink). By Lemma 2 every directional difference quotient
        lies in $[\alpha, \beta] = [1 - \eta K, 1 + \eta K]$ (eq. 40), so the derivative $G$ has all singular values in
        $[\alpha, \beta]$ (eq. 41) and is invertible; the inverse function theorem makes $f^{-1}$ $C^1$.

        `step_jacobian` computes the block $G_i = I + \eta\, \partial U_i / \partial \boldsymbol{x}_i$ by central differences. For the
        centering rule it is exact: $G_i = (1 - \eta K(1 - 1/n)) I$ on $n$ neurons, and $(1 - \eta K) I$ on the infinite
        collection (the mean field does not move when one neuron does).
        """),
        code("""
        p3 = inv.smoothness_violation(rule, X)
        assert p3.passed
        hd = inv.homeomorphism(rule, X, eta, K, derivative=True)
        assert hd.holds and hd.derivative_holds
        assert 1 - eta * K - hd.derivative_tolerance <= hd.singular_value_min <= hd.singular_value_max <= 1 + eta * K + hd.derivative_tolerance
        print(f"P3: {p3.passed};  singular values of G_i in [{hd.singular_value_min:.4f}, {hd.singular_value_max:.4f}] "
              f"within [{1 - eta * K}, {1 + eta * K}]")
        Kc, n = 2.0, 5
        Xc = inv.FiniteCollection(np.random.default_rng(4).normal(size=(n, 2)))
        G = step_jacobian(inv.centering_rule(Kc), Xc, 2, 0.3)
        assert np.allclose(G, (1 - 0.3 * Kc * (1 - 1 / n)) * np.eye(2), atol=1e-8)
        Gl = step_jacobian(inv.centering_rule(Kc), inv.LazyCollection(inv.CircleBase(), {1: [0.3, 0.1]}), 1, 0.3)
        assert np.allclose(Gl, (1 - 0.3 * Kc) * np.eye(2), atol=1e-8)
        print("centering rule: G_i =", np.round(np.diag(G), 8), "(finite),", np.round(np.diag(Gl), 8), "(infinite)")
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Finite collections of at most six neurons (with a coincident pair), generated rules with their $K$, $\eta K < 1$: (i), (iii)
        and the derivative bound of (iv) with `derivative=True`. The cell prints the extreme Lipschitz constants and singular values
        relative to their bounds.
        """),
        code("""
        stats = []

        @cases(40)
        @given(ist.finite_collections(min_size=2, max_size=6, coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 0.95))
        def theorem1(X, rule, frac):
            K = rule.smoothness_constant(X.n)
            r = inv.assert_homeomorphism(rule, X, frac / K, K, derivative=True)
            assert r.premise and r.continuous and r.inverse_continuous and r.derivative_holds
            stats.append((r.lipschitz / r.lipschitz_bound, r.inverse_lipschitz / r.inverse_lipschitz_bound,
                          (r.singular_value_min - (1 - frac)), (1 + frac) - r.singular_value_max))

        theorem1()
        s = np.array(stats)
        finite = np.isfinite(s[:, 1])
        print(f"{len(stats)} cases: max Lip/bound {s[:, 0].max():.4f}, max Lip(inv)/bound {s[finite, 1].max():.4f}, "
              f"min singular-value slacks {s[:, 2].min():.2e} (lower), {s[:, 3].min():.2e} (upper)")
        """),
        md(r"""
        ## Dropping the hypotheses

        **No P1.** With `IndexBiasedRule` the coincident neurons $0, 10, 20$ separate: $\widehat U$ is not a function, and nothing of
        Theorem 1 can hold.
        """),
        code("""
        hb = inv.homeomorphism(inv.IndexBiasedRule(rule, index=10), X, eta, K)
        assert not hb.holds and not hb.well_defined
        print("well defined:", hb.well_defined, " holds:", hb.holds)
        """),
        md(r"""
        **$\eta K \ge 1$.** The centering rule at $\eta = 1/K$ collapses the circle to a point: (i) and (ii) survive (a constant map is
        continuous and a quotient map onto a point), (iii) fails: the inverse is not even defined, and the Betti numbers change
        from $(1, 1, 0)$ to $(1, 0, 0)$.
        """),
        code("""
        cen = inv.centering_rule(Kc)
        hc = inv.homeomorphism(cen, ring, 1 / Kc, Kc, window=128)
        assert hc.continuous and not hc.homeomorphism and math.isinf(hc.inverse_lipschitz)
        collapsed = cen.step(ring, 1 / Kc).entries(np.arange(300))
        print("homeomorphism:", hc.homeomorphism, " Lip(U_hat) =", hc.lipschitz,
              " Betti before", betti_numbers(ring.entries(np.arange(300))), "after", betti_numbers(collapsed))
        assert betti_numbers(collapsed) == (1, 0, 0)
        """),
        md(r"""
        **No P3.** $U_i = -c|\boldsymbol{x}_i|$ (elementwise) is equivariant and P2-K with $K = c$, so (i)-(iii) hold at $\eta c < 1$,
        but it is not smooth: the map $x \mapsto x - \eta c|x|$ has one-sided derivatives $1 - \eta c$ and $1 + \eta c$ at $0$. It is a
        homeomorphism but not a $C^1$-diffeomorphism: the conclusion of (iv) fails. Gradient descent on a Huber pair potential
        (Lipschitz gradient, kinked Hessian) fails P3 the same way.
        """),
        code("""
        c = 1.0
        kink = inv.PointwiseRule(lambda x: -c * np.abs(x), name="-c|x|")
        Xk = inv.FiniteCollection([[0.5], [2.0], [-1.0]])
        assert inv.equivariance_error(kink, Xk).passed and inv.check_continuity(kink, Xk, c).passed
        assert inv.homeomorphism(kink, Xk, 0.5, c).holds
        p3k = inv.smoothness_violation(kink, Xk)
        assert not p3k.passed
        hstep = 1e-3
        G_right = step_jacobian(kink, inv.FiniteCollection([[hstep], [2.0]]), 0, 0.5)[0, 0]
        G_left = step_jacobian(kink, inv.FiniteCollection([[-hstep], [2.0]]), 0, 0.5)[0, 0]
        assert math.isclose(G_right, 1 - 0.5 * c) and math.isclose(G_left, 1 + 0.5 * c)
        print(f"P3: {p3k.passed} (slope jump {p3k.worst:.3f});  derivative of U_hat right of 0: {G_right}, left of 0: {G_left}")
        huber = inv.GradientDescent(inv.InteractionPotential(pair=inv.HuberPair(1.0, 0.3)))
        assert not inv.smoothness_violation(huber, X).passed
        print("Huber pair potential, P3:", inv.smoothness_violation(huber, X).passed)
        """),
        md(r"""
        ## Figure

        Left: the measured $\operatorname{Lip}(\widehat U)$ and $\operatorname{Lip}(\widehat U^{-1})$ of the gradient rule against the bounds
        $1 + \eta K$ and $1/(1 - \eta K)$ of eqs. (30)-(31). Right: the circle of radius 2 before and after six steps at $\eta K = 0.5$
        (deformed, same topology) and the unit circle after one step of the centering rule at $\eta K = 1$ (collapsed to a point).
        """),
        code("""
        ek = np.linspace(0.05, 0.95, 19)
        lips, inv_lips = [], []
        for e in ek:
            r = inv.homeomorphism(rule, X, e / K, K)
            assert r.holds
            lips.append(r.lipschitz); inv_lips.append(r.inverse_lipschitz)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
        ax = axes[0]
        ax.plot(ek, lips, "o", color="tab:blue", label="Lip(U_hat), measured")
        ax.plot(ek, 1 + ek, "-", color="tab:blue", label="1 + eta K")
        ax.plot(ek, inv_lips, "s", color="tab:red", label="Lip(U_hat^-1), measured")
        ax.plot(ek, 1 / (1 - ek), "-", color="tab:red", label="1 / (1 - eta K)")
        ax.set_yscale("log"); ax.set_xlabel("eta K"); ax.legend(fontsize=8); ax.set_title("eqs. (30), (31)")
        ax = axes[1]
        b0, b1 = traj[0].entries(np.arange(300)), traj[-1].entries(np.arange(300))
        ax.plot(*b0.T, ".", ms=3, label=f"S^(0), Betti {betti_numbers(b0)}")
        ax.plot(*b1.T, ".", ms=3, label=f"S^(6) at eta K = 0.5, Betti {betti_numbers(b1)}")
        ax.plot(*collapsed[:1].T, "k*", ms=12, label=f"one step at eta K = 1, Betti {betti_numbers(collapsed)}")
        ax.set_aspect("equal"); ax.legend(fontsize=8, loc="lower left"); ax.set_title("neurons on a circle")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 05 Theorem 2
# --------------------------------------------------------------------------------------------


@notebook("05_theorem2_measure")
def nb_theorem2() -> Cells:
    return [
        md(r"""
        # Theorem 2 (Measure invariance)

        *Section 4.2 of the paper; proof in Appendix A.5.*
        """, SETTING, S_AND_UHAT, r"""
        **Measures (eq. 9).** A $\sigma$-algebra $\mathcal{F}$ and a probability measure $m : \mathcal{F} \to [0, 1]$ on $I$;
        $r^{(t)} : i \mapsto \boldsymbol{x}_i^{(t)}$ is measurable, and $\mu^{(t)}$ is the push-forward of $m$:
        $$\forall \text{ open set } A \text{ on } S^{(t)},\ \mu^{(t)}(A) = m\left(r^{(t)^{-1}}(A)\right). \tag{9}$$

        **Hypotheses.**
        """, P1, P2K, r"""
        > **Theorem 2.** Suppose $U^{(t)}$ satisfies P1 and P2-K, and suppose $\eta K < 1$, then $\widehat{U}^{(t)}$ is a probability
        > isomorphism between $(S^{(t)}, \mu^{(t)})$ and $(S^{(t+1)}, \mu^{(t+1)})$, i.e. $\widehat{U}^{(t)}$ and $\widehat{U}^{(t)}$
        > are both measure-preserving bijections.

        (The second $\widehat{U}^{(t)}$ is the inverse $\widehat{U}^{(t)^{-1}}$, as the proof in Appendix A.5 shows: a typo.)
        On a finite sample, $\mu^{(t)}$ gives each point of $S^{(t)}$ the total weight of the neurons sitting there.
        Library: `inv.measure_preservation`.
        """),
        *setup_cells(),
        md(r"""
        ## The proof, step by step (eqs. 42-46)

        Twelve neurons with random weights $m_i$; neurons $\{0, 4, 9\}$ coincide, as do $\{2, 7\}$, so $\mu^{(t)}$ stacks their mass.
        For every point $A$ of $S^{(t+1)}$ and 50 random unions of points (every subset of a finite set is open),

        $\mu^{(t+1)}(A) = m\{i \mid \boldsymbol{x}_i^{(t+1)} \in A\}$ (42-43) $= m\{i \mid f(\boldsymbol{x}_i^{(t)}) \in A\}$ (44)
        $= m\{i \mid \boldsymbol{x}_i^{(t)} \in f^{-1}(A)\}$ (45) $= \mu^{(t)}(f^{-1}(A))$ (46).
        """),
        code("""
        rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=0.5)))
        rng = np.random.default_rng(5)
        pts = rng.normal(size=(12, 2))
        pts[[4, 9]] = pts[0]
        pts[7] = pts[2]
        X = inv.FiniteCollection(pts)
        m = rng.uniform(0.1, 1.0, size=X.n)
        m /= m.sum()                                               # a probability measure on I
        K = rule.smoothness_constant(X.n)
        eta = 0.7 / K
        f = inv.induced_map(rule, X, eta, K=K)
        mu_t = np.bincount(f.labels_before, weights=m, minlength=f.n_before)      # eq. (9) at t
        mu_t1 = np.bincount(f.labels_after, weights=m, minlength=f.n_after)       # eq. (9) at t+1
        sets = [np.arange(f.n_after) == b for b in range(f.n_after)]
        sets += [rng.random(f.n_after) < 0.5 for _ in range(50)]
        for A in sets:
            s42 = mu_t1[A].sum()
            s43 = m[A[f.labels_after]].sum()                        # m{i : x_i^(t+1) in A}
            s44 = m[A[f.image[f.labels_before]]].sum()              # m{i : f(x_i^(t)) in A}
            preimage = A[f.image]                                   # f^{-1}(A), a set of points of S^(t)
            s45 = m[preimage[f.labels_before]].sum()                # m{i : x_i^(t) in f^{-1}(A)}
            s46 = mu_t[preimage].sum()                              # mu^(t)(f^{-1}(A))
            assert np.allclose([s43, s44, s45, s46], s42, rtol=0, atol=1e-15)
        print(f"{len(sets)} sets A: mu^(t+1)(A) = mu^(t)(U_hat^-1(A)) for all of them;  "
              f"masses of S^(t): {np.round(mu_t, 4)}")
        """),
        md(r"""
        **The inverse is measure preserving too.** Since $f$ is a bijection ($\eta K < 1$, Lemma 3), $f^{-1}(f(B)) = B$ and the same
        chain with $A = f(B)$ gives $\mu^{(t)}(B) = \mu^{(t+1)}(f(B))$.
        """),
        code("""
        assert f.bijective
        for B in [np.arange(f.n_before) == a for a in range(f.n_before)] + [rng.random(f.n_before) < 0.5 for _ in range(50)]:
            image = np.zeros(f.n_after, dtype=bool)
            image[f.image[B]] = True
            assert abs(mu_t[B].sum() - mu_t1[image].sum()) <= 1e-15
        r = inv.measure_preservation(rule, X, eta, K, weights=m)
        assert r.holds and r.bijective
        print(r)
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Finite collections with coincident neurons, random positive weights, generated rules, $\eta K \in [0.01, 0.95]$; lazily
        infinite collections with uniform weights on the examined neurons. The push-forward identity (46) holds whenever
        $\widehat U$ is a function; with positive weights the inverse identity holds exactly when nothing merged.
        """),
        code("""
        stats = []

        @cases(50)
        @given(ist.finite_collections(min_size=2, coincident_pairs=2), ist.symmetric_rules(), st.floats(0.01, 0.95), st.data())
        def theorem2(X, rule, frac, data):
            K = rule.smoothness_constant(X.n)
            w = data.draw(st.lists(st.floats(0.01, 5.0), min_size=X.n, max_size=X.n))
            r = inv.measure_preservation(rule, X, frac / K, K, weights=w)
            assert r.premise and r.well_defined and r.pushforward_discrepancy <= r.tolerance
            assert r.holds == r.bijective
            if min_separation(X) > 1e-6:
                assert r.holds
            stats.append((r.holds, r.max_discrepancy, r.sets_tested))

        theorem2()
        lazy = []

        @cases(15)
        @given(ist.lazy_collections(coincident_pairs=1), ist.symmetric_rules(), st.floats(0.01, 0.95))
        def theorem2_lazy(X, rule, frac):
            K = rule.smoothness_constant(None)
            lazy.append(inv.assert_measure_preserving(rule, X, frac / K, K).max_discrepancy)

        theorem2_lazy()
        print(f"finite: {len(stats)} cases, {sum(s[0] for s in stats)} measure-preserving bijections, "
              f"{sum(s[2] for s in stats)} sets tested, largest discrepancy on those {max(s[1] for s in stats if s[0]):.2e}")
        print(f"lazy:   {len(lazy)} cases, largest discrepancy {max(lazy):.2e}")
        """),
        md(r"""
        ## Dropping the hypotheses

        **$\eta K \ge 1$.** The centering rule at $\eta = 1/K$ merges all points: (46) still holds (the whole mass lands on the one
        point), but $\widehat U^{-1}$ is not measure preserving: a single point $B$ of $S^{(t)}$ is sent to a point carrying mass 1.
        """),
        code("""
        Kc = 2.0
        rc = inv.measure_preservation(inv.centering_rule(Kc), X, 1 / Kc, Kc, weights=m)
        assert not rc.holds and rc.pushforward_discrepancy <= rc.tolerance and rc.worst_identity == "inverse"
        print(f"eta K = 1: push-forward discrepancy {rc.pushforward_discrepancy:.1e}, inverse discrepancy {rc.inverse_discrepancy:.4f}")
        """),
        md(r"""
        **No P1.** With `IndexBiasedRule` the neuron $4$ leaves the point it shares with $0$ and $9$: $\widehat U$ is not a function and
        the masses are not matched.
        """),
        code("""
        rb = inv.measure_preservation(inv.IndexBiasedRule(rule, index=4), X, eta, K, weights=m)
        assert not rb.holds and not rb.well_defined
        print(f"no P1: well defined {rb.well_defined}, largest discrepancy {rb.max_discrepancy:.4f} ({rb.worst_identity})")"""),
        md(r"""
        **No P2-K.** The equivariant, non-Lipschitz rule $U_i = -\operatorname{sign}(x_i)\sqrt{|x_i|}$ merges the neurons at $\pm\eta^2$
        at any step size: with the claimed $K = 1$ and $\eta = 0.1$ ($\eta K < 1$) the inverse of $\widehat U$ is not measure preserving.
        """),
        code("""
        sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)))
        Xs = inv.FiniteCollection([[-0.01], [0.01], [1.0]])
        rs = inv.measure_preservation(sqrt_rule, Xs, 0.1, K=1.0, weights=[0.2, 0.3, 0.5])
        assert rs.premise and not rs.holds and not rs.bijective
        print(f"no P2-K: eta K = 0.1 < 1, bijective {rs.bijective}, inverse discrepancy {rs.inverse_discrepancy:.2f}")
        """),
        md(r"""
        ## Figure: the masses before and after

        Marker area proportional to $\mu$ of each point. Left: $\eta K = 0.7$, each point carries its mass to its image. Right: the
        centering rule at $\eta K = 1$, all mass lands on one point.
        """),
        code("""
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
        for ax, (r_, e_, k_, title) in zip(axes, [(rule, eta, K, "eta K = 0.7"), (inv.centering_rule(Kc), 1 / Kc, Kc, "eta K = 1")]):
            res = inv.measure_preservation(r_, X, e_, k_, weights=m)
            g = res.induced
            ax.scatter(*g.points_before.T, s=2000 * res.masses_before, alpha=0.5, color="tab:blue", label="mu^(t)")
            ax.scatter(*g.points_after.T, s=2000 * res.masses_after, alpha=0.5, color="tab:red", label="mu^(t+1)")
            ax.set_title(f"{title}: measure preserving bijection: {res.holds}")
            ax.legend(fontsize=8, markerscale=0.3)
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 06 Propositions 1 and 2
# --------------------------------------------------------------------------------------------


@notebook("06_propositions_1_2_gradient_descent")
def nb_props12() -> Cells:
    return [
        md(r"""
        # Propositions 1 and 2 (gradient descent satisfies P1 and P2-K)

        *Section 5.1 of the paper; proofs in Appendices A.6 and A.7.*

        A loss $L : (\mathbb{R}^D)^I \to \mathbb{R}$ and the gradient descent update
        $$U^{(t)}(\mathcal{X}) = -\nabla L(\mathcal{X}). \tag{10}$$

        > **Proposition 1.** If $L$ has $\mathsf{FSym}(I)$-symmetry, i.e.
        > $$\forall \mathcal{X} \in (\mathbb{R}^D)^I, \forall P \in \mathsf{FSym}(I), L(\mathcal{X}) = L(P\mathcal{X}), \tag{11}$$
        > then $U^{(t)}$ defined in (10) satisfies P1.

        > **Proposition 2.** If there exists a constant $K > 0$, such that for any $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$ and any
        > $i \in I$, we have
        > $$\|\nabla L(\mathcal{X}) - \nabla L(\mathcal{Y})\| \le K \|\mathcal{X} - \mathcal{Y}\|, \tag{12}$$
        > then $U^{(t)}$ defined in (10) satisfies P2-K.

        Library: symbolically `invariance.symbolic.symbolic_equivariance` (every transposition of $n$ symbolic neurons) and
        `hessian_constant` / `sigmoid_pair_constant` ($K$ from the Hessian); numerically `inv.GradientDescent` with
        `inv.equivariance_error` and `inv.check_continuity`, and `InteractionPotential.smoothness_constant`.
        """),
        *setup_cells("""
        import sympy as sp
        from invariance.symbolic import (gradient_descent, hessian_constant, interaction_loss, ordered_pair_loss,
                                         power_sum_loss, quadratic_loss, sigmoid_pair_constant, sigmoid_pair_loss,
                                         stateless_form, symbolic_equivariance, weighted_loss)
        """),
        md(r"""
        ## Proof of Proposition 1, symbolically (eqs. 47-51)

        It suffices to show $P\nabla L(\mathcal{X}) = \nabla L(P\mathcal{X})$ (47). $P$ has finite support $J$ (48); $L_J$ is $L$ as a
        function of the entries in $J$ (49), and the symmetry reads $L_J(\mathcal{Y}) = L_J(P_J\mathcal{Y})$ (50). Differentiating gives
        $\nabla L_J(\mathcal{Y}) = P_J^{\mathsf T}\nabla L_J(P_J\mathcal{Y})$ (51).

        Take the most general symmetric two-body loss of three scalar neurons,
        $L = \sum_i f(x_i) + \sum_{i<j}[g(x_i, x_j) + g(x_j, x_i)]$ with *undefined* functions $f, g$, and $P = (1\ 2)$.
        """),
        code("""
        loss = interaction_loss(3)
        x1, x2, x3 = (p[0] for p in loss.neurons)
        swap = {x1: x2, x2: x1}                                   # evaluating at P X
        assert sp.simplify(loss.expr.xreplace(swap) - loss.expr) == 0           # (50): L(PX) = L(X)
        grad = [g[0] for g in loss.gradient()]
        perm = {0: 1, 1: 0, 2: 2}
        for i in range(3):                                        # (47)/(51): grad_i L(PX) = grad_{P(i)} L(X)
            assert sp.simplify(grad[i].xreplace(swap) - grad[perm[i]]) == 0
        print("L =", loss.expr)
        print("dL/dx1 =", grad[0])
        """),
        md(r"""
        `symbolic_equivariance` runs this for every transposition (transpositions generate the symmetric group) and every row of the
        stateless form of gradient descent, on the general two-body loss, a loss in power sums, and two-dimensional neurons.
        """),
        code("""
        U_gd = stateless_form(gradient_descent())
        for L in (interaction_loss(3), power_sum_loss(4), interaction_loss(2, d=2)):
            r = symbolic_equivariance(U_gd, L)
            assert r.holds and r.transpositions == L.n * (L.n - 1) // 2
            print(f"{L.name:40s} n = {L.n}: {r.checked} residuals simplified to 0")
        """),
        md(r"""
        Numerically: gradient descent on an interaction potential, on eight neurons and on infinitely many neurons filling a torus,
        with a permutation moving index $10^9$.
        """),
        code("""
        potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=1.0))
        rule = inv.GradientDescent(potential)
        X = inv.FiniteCollection(np.random.default_rng(6).normal(size=(8, 3)))
        r = inv.equivariance_error(rule, X)
        assert r.passed
        print(f"finite: P1 holds, worst error {r.worst:.1e} over {r.trials} permutations ({r.details['mode']})")
        torus = inv.LazyCollection(inv.TorusBase(), {3: [0.5, 0.2, 0.1]})
        rl = inv.equivariance_error(rule, torus, permutations=[inv.FinitaryPermutation.from_cycles((3, 7, 10**9))])
        assert rl.passed
        print(f"lazy:   P1 holds for the cycle (3 7 10^9), worst error {rl.worst:.1e}")
        """),
        md(r"""
        ### Generated cases (hypothesis)

        Generated symmetric potentials on finite and lazily infinite collections.
        """),
        code("""
        worst = []

        @cases(30)
        @given(ist.collections(), ist.symmetric_rules())
        def proposition1(X, rule):
            worst.append(inv.assert_equivariant(rule, X).worst)

        proposition1()
        print(f"{len(worst)} cases, worst equivariance error {max(worst):.2e}")
        """),
        md(r"""
        ### Dropping the hypothesis: a loss without symmetry (11)

        $L = \sum_{i<j} g(x_i, x_j)$ with a generic $g$, and $L = \sum_i i\, x_i^2$: the symbolic check returns a transposition and a
        residual that is not zero. Numerically, gradient descent on $\sum_i (i + 1)\|\boldsymbol{x}_i\|^2/2$ fails P1, and coincident
        neurons separate (Lemma 1's conclusion fails).
        """),
        code("""
        for L in (ordered_pair_loss(3), weighted_loss(3)):
            r = symbolic_equivariance(U_gd, L)
            assert not r.holds and r.counterexample["residual"] != 0
            print(f"{L.name}: transposition {r.counterexample['transposition']}, residual {r.counterexample['residual']}")


        class WeightedLoss:
            \"\"\"sum_i (i + 1) ||x_i||^2 / 2: neuron i weighted by its label (not FSym-symmetric).\"\"\"

            def gradient(self, points):
                return (np.arange(points.shape[0])[:, None] + 1.0) * points


        weighted = inv.GradientDescent(WeightedLoss())
        rw = inv.equivariance_error(weighted, X)
        Xc = X.with_entries([1], [X[0]])
        lw = inv.well_definedness(weighted, Xc, 0.1)
        assert not rw.passed and not lw.holds
        print(f"numeric: P1 fails (counterexample {rw.counterexample['permutation']}), "
              f"coincident neurons 0, 1 separate by {lw.max_separation:.3f}")
        """),
        md(r"""
        ## Proof of Proposition 2 (eq. 52)

        $\|U(\mathcal{X}) - U(\mathcal{Y})\| = \|\nabla L(\mathcal{Y}) - \nabla L(\mathcal{X})\| \le K\|\mathcal{Y} - \mathcal{X}\|$: the identity, then (12).

        **$K$ from the Hessian, symbolically.** For $L = \frac a2\sum_i x_i^2 + \frac b2\sum_{i<j}(x_i - x_j)^2$ the Hessian is constant
        with eigenvalues $a$ and $a + nb$, so the best $K$ in (12) is $a + nb$ (`hessian_constant`); the library's numeric constant
        for the same potential agrees.
        """),
        code("""
        a, b = sp.symbols("a b", positive=True)
        for n in (2, 3, 4):
            res = hessian_constant(quadratic_loss(n))
            assert res.exact and sp.simplify(res.K - (a + n * b)) == 0
            numeric = inv.InteractionPotential(inv.Quadratic(1.5), inv.HarmonicPair(0.5), scaling="sum").smoothness_constant(n)
            assert math.isclose(float(res.K.subs({a: 1.5, b: 0.5})), numeric)
            print(f"n = {n}: K = {res.K}, eta* = {res.eta_star};  numeric K(a=1.5, b=0.5) = {numeric}")
        """),
        md(r"""
        For the two-neuron sigmoid model $L = (\sigma(w_1x) + \sigma(w_2x) - y)^2/2$ (the paper's network with two scalar neurons),
        `sigmoid_pair_constant` derives $K = x^2(1/8 + \frac{\sqrt3}{18}\max(|y|, |2 - y|))$ by Gershgorin with exact suprema. The cell
        checks it against the spectral norm of the Hessian at 2000 random points.
        """),
        code("""
        res = sigmoid_pair_constant()
        sl = sigmoid_pair_loss()
        (w1,), (w2,) = sl.neurons
        xs, ys = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
        H = sp.lambdify((w1, w2, xs, ys), sp.hessian(sl.expr, (w1, w2)), "numpy")
        Kf = sp.lambdify((xs, ys), res.K, "numpy")
        rng = np.random.default_rng(0)
        ratios = []
        for _ in range(2000):
            w, xx, yy = rng.normal(scale=3, size=2), rng.normal(scale=2), rng.normal(scale=2)
            ratios.append(np.linalg.norm(np.array(H(*w, xx, yy), dtype=float), 2) / Kf(xx, yy))
        assert max(ratios) <= 1 + 1e-12
        print("K =", res.K, f";  largest ||Hess L|| / K over 2000 points: {max(ratios):.3f}")
        """),
        md(r"""
        **Numerically.** Eq. (52) on random pairs, and the P2-K check with the potential's $K$ (Gershgorin bound, exact for quadratics):
        for the quadratic potential the measured constant reaches $K$ (power iteration finds the top eigenvector).
        """),
        code("""
        K = rule.smoothness_constant(X.n)
        rng = np.random.default_rng(7)
        for _ in range(20):
            Y = inv.FiniteCollection(X.points + rng.normal(scale=0.3, size=X.points.shape))
            lhs = inv.difference_norm(rule.update(X), rule.update(Y))
            grad_diff = np.linalg.norm(potential.gradient(Y.points) - potential.gradient(X.points))
            assert math.isclose(lhs, grad_diff, rel_tol=1e-12) and lhs <= K * inv.difference_norm(X, Y)
        assert inv.check_continuity(rule, X, K).passed
        quad = inv.GradientDescent(inv.InteractionPotential(inv.Quadratic(1.5), inv.HarmonicPair(0.5)))
        Kq = quad.smoothness_constant(X.n)
        est = inv.continuity_constant(quad, X).worst
        assert est <= Kq * (1 + 1e-9) and est >= 0.999 * Kq
        print(f"log-cosh + Gaussian: K = {K}, measured {inv.continuity_constant(rule, X).worst:.4f};  "
              f"quadratic: K = {Kq}, measured {est:.6f}")
        """),
        md(r"""
        ### Generated cases (hypothesis)

        Generated potentials with their stated $K$: the P2-K check (random sparse perturbations, transposition pairs, power
        iteration) never finds a ratio above $K$.
        """),
        code("""
        ratios = []

        @cases(40)
        @given(ist.finite_collections(min_size=2), ist.symmetric_rules())
        def proposition2(X, rule):
            K = rule.smoothness_constant(X.n)
            r = inv.assert_continuity(rule, X, K, n_pairs=16, power_steps=4)
            ratios.append(r.worst / K)

        proposition2()
        print(f"{len(ratios)} cases, largest measured constant / K = {max(ratios):.4f}")
        """),
        md(r"""
        ### Dropping the hypothesis: a gradient that is not Lipschitz (12)

        $L = \frac23\sum_i |x_i|^{3/2}$ is symmetric, so P1 holds, but its gradient $\operatorname{sign}(x)\sqrt{|x|}$ is not Lipschitz at 0:
        for two neurons at $\pm\delta$ the measured continuity constant grows like $\delta^{-1/2}$ (the transposition pair of
        Lemma 4's proof gives exactly $1/\sqrt\delta$), and no $K$ works.
        """),
        code("""
        sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)), name="GD on 2/3 |x|^(3/2)")
        distances = np.logspace(-1, -5, 9)
        estimates = []
        for dist in distances:
            Xs = inv.FiniteCollection([[-dist], [dist], [1.0]])
            assert inv.equivariance_error(sqrt_rule, Xs).passed
            # refine_budget=0: the constant seen by pairs at X's own scale (the bisection would walk
            # toward 0, where sqrt is not Lipschitz, and report a large ratio at every distance)
            estimates.append(inv.continuity_constant(sqrt_rule, Xs, refine_budget=0).worst)
        assert all(b > a for a, b in zip(estimates, estimates[1:]))
        assert all(est >= 1 / math.sqrt(dd) * (1 - 1e-9) for dd, est in zip(distances, estimates))
        assert not inv.check_continuity(sqrt_rule, inv.FiniteCollection([[-1e-5], [1e-5], [1.0]]), 100.0).passed
        for dist, est in zip(distances, estimates):
            print(f"neurons at +-{dist:.0e}: measured K >= {est:8.1f}   (1/sqrt(delta) = {1 / math.sqrt(dist):8.1f})")
        """),
        md(r"""
        ## Figure: the continuity constant with and without (12)

        The measured constant of P2-K at collections with two neurons at $\pm\delta$: bounded by $K$ for the smooth
        potential (log-cosh, $K = 1$), growing like $\delta^{-1/2}$ when (12) fails.
        """),
        code("""
        smooth = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0)))
        smooth_est = [inv.continuity_constant(smooth, inv.FiniteCollection([[-dd], [dd], [1.0]])).worst for dd in distances]
        assert max(smooth_est) <= 1.0 + 1e-9
        fig, ax = plt.subplots(figsize=(6.5, 4))
        ax.loglog(distances, estimates, "o-", label="GD on (2/3)|x|^(3/2): gradient not Lipschitz")
        ax.loglog(distances, smooth_est, "s-", label="GD on log cosh: K = 1")
        ax.loglog(distances, 1 / np.sqrt(distances), "k:", label="delta^(-1/2)")
        ax.set_xlabel("neurons at +-delta"); ax.set_ylabel("measured continuity constant")
        ax.invert_xaxis(); ax.legend(fontsize=8); ax.set_title("Proposition 2 needs a Lipschitz gradient (12)")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 07 Proposition 3, Adam
# --------------------------------------------------------------------------------------------


@notebook("07_proposition3_adam")
def nb_prop3() -> Cells:
    return [
        md(r"""
        # Proposition 3 (Adam in stateless form is equivariant), and the finding about eq. (16)

        *Section 5.2 of the paper; proof in Appendix A.8.*

        The particles are $\mathcal{X}^{(t)} = \{(\boldsymbol{\theta}_i^{(t)}, \boldsymbol{m}_i^{(t)}, \boldsymbol{v}_i^{(t)})\}_{i \in I}$ (parameters and
        Adam's moment estimators), and the paper defines

        $$U^{(t)}: \left\{ \begin{pmatrix} \boldsymbol{\theta}_i \\ \boldsymbol{m}_i \\ \boldsymbol{v}_i \end{pmatrix} \right\}_{i \in I} \mapsto \left\{ \begin{pmatrix} -\frac{\boldsymbol{m}_i/(1-\beta_1^t)}{\epsilon + \sqrt{\boldsymbol{v}_i/(1-\beta_2^t)}} \\ \frac{1-\beta_1}{\eta} \left[ \nabla_i L(\Theta) - \boldsymbol{m}_i \right] \\ \frac{1-\beta_2}{\eta} \left[ \nabla_i L(\Theta)^2 - \boldsymbol{v}_i \right] \end{pmatrix} \right\}_{i \in I}, \tag{16}$$

        with $\Theta = \{\boldsymbol\theta_i\}_{i \in I}$ and elementwise operations; the paper states that "the neuron update in (16) is
        equivalent to the standard Adam rule".

        > **Proposition 3.** If $L$ has $\mathsf{FSym}(I)$-symmetry ((11)), then $U^{(t)}$ defined in (16) satisfies P1.

        **Finding.** Eq. (16) as printed is *not* `torch.optim.Adam`: its first row uses the *old* moments with exponent $t$ (it is
        $0/0$ at $t = 0$ and moves the parameter by the previous step's moments, Adam one step late). It is Adam after re-indexing
        ($t$ counted from 1, and $\boldsymbol m_i, \boldsymbol v_i$ in the first row read as the moments after this step's update).
        Proposition 3 holds for eq. (16) and for exact Adam alike. Library: `invariance.symbolic` (`adam`, `stateless_form`,
        `check_equivalence`, `printed_eq16`, `eq16_finding`, `symbolic_equivariance`, `lambdify_form`), `inv.StatelessOptimizer`.
        """),
        *setup_cells("""
        import sympy as sp
        import torch
        from invariance.symbolic import (ETA, GRAD, THETA, T, adam, check_equivalence, eq16_finding, interaction_loss,
                                         lambdify_form, ordered_pair_loss, power_sum_loss, printed_eq16, stateless_form,
                                         symbolic_equivariance, weighted_loss)
        """),
        md(r"""
        ## Step 1: Adam as update equations

        Adam (Kingma & Ba; `torch.optim.Adam`, $t = 0$ at the first step) on one coordinate of one neuron:
        $m' = \beta_1 m + (1-\beta_1)g$, $v' = \beta_2 v + (1-\beta_2)g^2$,
        $\theta' = \theta - \eta\,\frac{m'/(1-\beta_1^{t+1})}{\sqrt{v'/(1-\beta_2^{t+1})} + \epsilon}$.
        """),
        code("""
        opt = adam()
        print("state:", opt.state)
        print("new state:", opt.new_state)
        print("new theta:", opt.new_theta)
        m, v = opt.state
        b1, b2, eps = (s for s in opt.hyper)
        assert sp.simplify(opt.new_state[0] - (b1 * m + (1 - b1) * GRAD)) == 0
        assert sp.simplify(opt.new_state[1] - (b2 * v + (1 - b2) * GRAD**2)) == 0
        """),
        md(r"""
        ## Step 2: the stateless form, derived and proved

        $U_\theta = (\theta' - \theta)/\eta$, $U_m = (m' - m)/\eta$, $U_v = (v' - v)/\eta$, so that
        $x^{(t+1)} = x^{(t)} + \eta U^{(t)}(\mathcal{X})$ is one Adam step. `check_equivalence` proves it by induction: the induction step
        simplifies to zero at a *symbolic* $t$, and the first three steps are unrolled with a generic gradient oracle $G(\theta)$.
        """),
        code("""
        U = stateless_form(opt)
        for name, row in zip(("U_theta", "U_m", "U_v"), U.components):
            print(f"{name} =", row)
        eq = check_equivalence(opt, U, steps=3)
        assert eq.holds and all(r == 0 for r in eq.induction_residuals) and eq.first_failure is None
        print("derived form is Adam:", eq.holds, "  induction residuals:", eq.induction_residuals)
        """),
        md(r"""
        ## Step 3: eq. (16) as printed, decided against Adam

        `eq16_finding` shows: the $m, v$ rows of eq. (16) are Adam's; the $\theta$ row does not depend on the current gradient $g$
        (old moments), is undefined at $t = 0$, and differs from Adam's; evaluated at $t + 1$ on the updated moments it *is* Adam's
        $\theta$ row. The printed $P\boldsymbol v_{P(i)}$ of eqs. (53)-(55) is a typo: read literally, (53) differs from
        $U(P\mathcal X)_i$; with $\boldsymbol v_{P(i)}$ the chain is an identity.
        """),
        code("""
        paper = printed_eq16()
        print("eq. (16), first row:", paper.components[0])
        finding = eq16_finding()
        assert not finding.equals_adam and finding.state_rows_agree
        assert not finding.uses_current_gradient and finding.undefined_at_first_step
        assert finding.reindexed_equals_adam
        assert finding.equivalence.first_failure == 0
        assert finding.p_v_literal_residual != 0 and finding.p_v_corrected_residual == 0
        print("equals Adam:", finding.equals_adam, "| m, v rows agree:", finding.state_rows_agree,
              "| sees the current gradient:", finding.uses_current_gradient,
              "| undefined at t = 0:", finding.undefined_at_first_step,
              "| Adam after re-indexing:", finding.reindexed_equals_adam)
        print("P v_{P(i)} read literally, residual:", finding.p_v_literal_residual)
        """),
        md(r"""
        A concrete point where they differ: $t = 3$, $m = v = 0$, $g = 1$, $\epsilon = 10^{-8}$: eq. (16) does not move ($m = 0$), Adam
        moves by $-\frac{0.1/(1 - 0.9^4)}{\epsilon + \sqrt{0.001/(1 - 0.999^4)}}$ (its first row sees $g$ through the updated moments).
        """),
        code("""
        point = {b1: sp.Rational(9, 10), b2: sp.Rational(999, 1000), eps: sp.Rational(1, 10**8), m: 0, v: 0, T: 3, GRAD: 1}
        u16 = paper.components[0].xreplace(point)
        uadam = sp.simplify(U.components[0].xreplace(point))
        expected = -(sp.Rational(1, 10) / (1 - sp.Rational(9, 10) ** 4)) / (
            sp.Rational(1, 10**8) + sp.sqrt(sp.Rational(1, 1000) / (1 - sp.Rational(999, 1000) ** 4)))
        assert u16 == 0 and sp.simplify(uadam - expected) == 0 and uadam != 0
        print("eq. (16):", u16, "  Adam:", uadam, "=", sp.N(uadam, 8))
        """),
        md(r"""
        **Numerically, against `torch.optim.Adam`.** The lambdified derived form and `StatelessOptimizer(loss, adam(), lr)` follow
        torch's Adam to rounding; eq. (16) (run from $t = 1$, since it is undefined at $t = 0$) drifts away.
        """),
        code("""
        potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=1.0, s=1.0))
        theta0 = np.random.default_rng(8).normal(size=(6, 2))
        lr, steps = 0.05, 30

        p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        torch_opt = torch.optim.Adam([p], lr=lr)
        reference = []
        for _ in range(steps):
            torch_opt.zero_grad()
            p.grad = torch.from_numpy(potential.gradient(p.detach().numpy().copy()))
            torch_opt.step()
            reference.append(p.detach().numpy().copy())
        reference = np.array(reference)

        derived = np.array(lambdify_form(U).run(potential.gradient, theta0, lr, steps))
        rule = inv.StatelessOptimizer(potential, inv.adam(), learning_rate=lr)
        Z = rule.augment(theta0)
        library = []
        for t in range(steps):
            Z = rule.step(Z, lr, t)
            library.append(rule.parameters(Z).points)
        library = np.array(library)

        f16 = lambdify_form(paper)
        theta, state, printed = theta0, [np.zeros_like(theta0), np.zeros_like(theta0)], []
        for t in range(1, steps + 1):                   # eq. (16) from t = 1
            theta, *state = f16.step(theta, state, potential.gradient(theta), t, lr)
            printed.append(theta)
        printed = np.array(printed)

        err_derived = np.abs(derived - reference).max(axis=(1, 2))
        err_library = np.abs(library - reference).max(axis=(1, 2))
        err_printed = np.abs(printed - reference).max(axis=(1, 2))
        assert err_derived.max() < 1e-12 and err_library.max() < 1e-12 and err_printed.max() > 1e-3
        print(f"max |derived - torch| = {err_derived.max():.1e}, max |StatelessOptimizer - torch| = {err_library.max():.1e}, "
              f"max |eq. (16) - torch| = {err_printed.max():.3f}")

        # one step late: eq. (16)'s theta row at t+1, on Adam's particles after step t, is Adam's step t
        paper_rule = inv.StatelessOptimizer(potential, inv.adam(variant="paper"), learning_rate=lr)
        Z = rule.augment(theta0)
        try:
            paper_rule.update(Z, t=0)
            raise RuntimeError("eq. (16) should be undefined at t = 0")
        except ValueError as err:
            print("eq. (16) at t = 0:", err)
        lag = []
        for t in range(steps):
            Z_next = rule.step(Z, lr, t)
            adam_step = rule.parameters(Z_next).points - rule.parameters(Z).points
            late = lr * paper_rule.update(Z_next, t=t + 1).points[:, :2]
            lag.append(np.abs(late - adam_step).max())
            assert not np.allclose(late, lr * rule.update(Z_next, t=t + 1).points[:, :2])
            Z = Z_next
        assert max(lag) < 1e-12
        print(f"eq. (16) at t+1 on Adam's state after step t = Adam's step t, to {max(lag):.1e}: Adam one step late")
        """),
        md(r"""
        ## Step 4: the proof of Proposition 3 (eqs. 53-56), symbolically

        $U$ depends on $\mathcal X$ only through $\nabla_i L(\Theta)$, which is equivariant by (47); each row acts on one particle.
        `symbolic_equivariance` checks $U_i(P\mathcal X) = U_{P(i)}(\mathcal X)$ for every transposition and every row, on symmetric losses
        of symbolic neurons (general two-body loss with undefined $f, g$; power sums; 2-dimensional neurons), for exact Adam and for
        eq. (16).
        """),
        code("""
        for form in (U, paper):
            for L in (interaction_loss(3), power_sum_loss(3), interaction_loss(2, d=2)):
                r = symbolic_equivariance(form, L)
                assert r.holds
                print(f"{form.name:22s} on {L.name:40s}: {r.transpositions} transpositions, {r.checked} residuals = 0")
        """),
        md(r"""
        Numerically: the stateless Adam rule on augmented particles, after a few steps (nonzero moments), on a finite and an
        infinite collection; Lemma 1 then holds for Adam too.
        """),
        code("""
        r = inv.equivariance_error(rule, Z, t=steps)
        assert r.passed
        ring = rule.augment(inv.LazyCollection(inv.CircleBase(), {2: [0.5, -0.5]}))
        Zl = ring
        for t in range(3):
            Zl = rule.step(Zl, lr, t)
        rl = inv.equivariance_error(rule, Zl, t=3, window=16, n_samples=8)
        assert rl.passed
        Zc = rule.augment(inv.FiniteCollection([[1.0, 2.0], [1.0, 2.0], [-1.0, 0.5]]))
        assert inv.assert_well_defined(rule, Zc, lr).holds
        print(f"P1 of stateless Adam: finite worst {r.worst:.1e}, lazy worst {rl.worst:.1e}; Lemma 1 holds on particles")
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Generated symmetric potentials, collections and optimizers (Adam, heavy-ball momentum, SGD, and eq. (16) at $t \ge 1$), a
        few steps from the zero state, then P1 at the current particles.
        """),
        code("""
        worst = []
        transforms = st.sampled_from([("adam", inv.adam()), ("momentum", inv.momentum(0.9)), ("sgd", inv.sgd()),
                                      ("eq. (16)", inv.adam(variant="paper"))])

        @cases(25)
        @given(ist.finite_collections(min_size=2, max_size=6), ist.interaction_potentials(), transforms,
               st.integers(1, 4), st.floats(0.001, 0.1))
        def proposition3(X, potential, transform, n_steps, lr):
            name, tr = transform
            rule = inv.StatelessOptimizer(potential, tr, learning_rate=lr)
            Z = rule.augment(X)
            t0 = 1 if name == "eq. (16)" else 0
            for t in range(t0, t0 + n_steps):
                Z = rule.step(Z, lr, t)
            worst.append((name, inv.assert_equivariant(rule, Z, t=t0 + n_steps).worst))

        proposition3()
        for name in ("adam", "momentum", "sgd", "eq. (16)"):
            w = [e for nm, e in worst if nm == name]
            print(f"{name:9s}: {len(w):2d} cases, worst equivariance error {max(w) if w else float('nan'):.1e}")
        """),
        md(r"""
        ## Dropping the hypothesis: a loss without symmetry

        On $\sum_{i<j} g(x_i, x_j)$ (generic $g$) and $\sum_i i\,x_i^2$ the symbolic check fails for Adam and for eq. (16), and
        numerically the stateless Adam on a label-weighted loss fails P1.
        """),
        code("""
        for form in (U, paper):
            for L in (ordered_pair_loss(3), weighted_loss(3)):
                r = symbolic_equivariance(form, L)
                assert not r.holds and r.counterexample["residual"] != 0
                print(f"{form.name:22s} on {L.name:45s}: fails at transposition {r.counterexample['transposition']}")


        class WeightedLoss:
            def gradient(self, points):
                return (np.arange(points.shape[0])[:, None] + 1.0) * points


        bad = inv.StatelessOptimizer(WeightedLoss(), inv.adam(), learning_rate=lr)
        rb = inv.equivariance_error(bad, bad.augment(theta0))
        assert not rb.passed
        print("numeric, label-weighted loss: P1", rb.passed, " counterexample", rb.counterexample["permutation"])
        """),
        md(r"""
        ## P1 is proved, P2-K is not: the continuity constant of stateless Adam

        Proposition 3 gives P1 only. The rule divides by $\sqrt{\hat v} + \epsilon$: $\partial U/\partial m = 1/(\sqrt{\hat v}+\epsilon)$
        grows to $1/\epsilon$, and the $v$-derivative $\hat m / (2\sqrt{\hat v}(\sqrt{\hat v}+\epsilon)^2)$ is unbounded as $v \to 0$.
        `continuity_constant` perturbs inside the particle's domain ($v \ge 0$, declared by the rule) and measures it.
        """),
        code("""
        from invariance.potentials import GaussianPair

        adam_rule = inv.StatelessOptimizer(inv.InteractionPotential(pair=GaussianPair(1.0, 0.5)), inv.adam(), 0.01)
        print("domain:", adam_rule.domain(6).describe())
        rng_k = np.random.default_rng(0)
        theta_k, m_k = rng_k.normal(size=(8, 2)), 0.1 * rng_k.normal(size=(8, 2))
        K_of_v = {}
        for v in (1.0, 1e-4, 1e-8, 1e-12):
            Zv = inv.FiniteCollection(np.concatenate([theta_k, m_k, np.full((8, 2), v)], axis=1))
            K_of_v[v] = inv.continuity_constant(adam_rule, Zv).worst
            print(f"v = {v:7.0e}: K_hat = {K_of_v[v]:.3g}")
        assert K_of_v[1e-12] >= 100 * K_of_v[1.0]
        at_rest = np.tile([[0.3, -0.2]], (8, 1))  # a stationary point: g = 0
        for eps in (1e-8, 1e-4):
            rule_eps = inv.StatelessOptimizer(adam_rule.loss, inv.adam(eps=eps), 0.01)
            Z0 = inv.FiniteCollection(np.concatenate([at_rest, m_k, np.zeros((8, 2))], axis=1))
            K0 = inv.continuity_constant(rule_eps, Z0).worst
            assert K0 * eps > 1.0  # K >= 1/eps at v = 0
            print(f"g = 0, v = 0, eps = {eps:.0e}: K_hat = {K0:.3g}")
        """),
        md(r"""
        ## Figure: eq. (16) is Adam one step late

        Distance of each trajectory from `torch.optim.Adam` (same loss, same $\eta$): the derived stateless form and the library's
        `StatelessOptimizer` agree to rounding; the printed eq. (16), run on its own from $t = 1$, drifts away (its parameter row
        moves by the previous step's moments, with the bias correction of the current step).
        """),
        code("""
        fig, ax = plt.subplots(figsize=(7, 4))
        steps_axis = np.arange(1, steps + 1)
        floor = 1e-18
        ax.semilogy(steps_axis, np.maximum(err_derived, floor), "o-", label="derived stateless form (lambdified)")
        ax.semilogy(steps_axis, np.maximum(err_library, floor), "s--", label="inv.StatelessOptimizer(adam())")
        ax.semilogy(steps_axis, err_printed, "^-", label="eq. (16) as printed (from t = 1)")
        ax.set_xlabel("step"); ax.set_ylabel("max |theta - theta_torch|"); ax.legend(fontsize=8)
        ax.set_title("against torch.optim.Adam (zeros shown at 1e-18)")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 08 Lemma 5, P2'
# --------------------------------------------------------------------------------------------


@notebook("08_lemma5_altered_continuity")
def nb_lemma5() -> Cells:
    return [
        md(r"""
        # Lemma 5 (Altered - No Splitting) and the altered continuity property P2'

        *Appendix D of the paper.*
        """, SETTING, r"""
        When $I$ is infinite, (5) implicitly requires that $U(\mathcal X)$ and $U(\mathcal Y)$ differ in finitely many entries. Appendix D
        relaxes it to an entrywise bound:

        - **(P2') Altered $K$-Continuity Property:** if there exists a constant $K > 0$, such that for any $t \in \mathbb{N}$,
          $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$ and $i \in I$, we have
          $$\sup_{i \in I} \left\| U_i^{(t)}(\mathcal{X}) - U_i^{(t)}(\mathcal{Y}) \right\| \le \frac{K}{2} \left\| \mathcal{X} - \mathcal{Y} \right\|, \tag{58}$$
          then we say $U^{(t)}$ has altered $K$-continuity property.

        > **Lemma 5** (Altered - No Splitting). The following statement holds when $U$ has the equivariance property and altered
        > $K$-continuity property. For any $t \in \mathbb{N}$ and $i, j \in I$ such that $i \neq j$, we have
        > $$\|U_i(\mathcal{X}^{(t)}) - U_j(\mathcal{X}^{(t)})\| \le K \|\boldsymbol{x}_i^{(t)} - \boldsymbol{x}_j^{(t)}\|. \tag{59}$$

        "In all the presented theories, the $K$-continuity property can be replaced by the altered $K$-continuity property. The proofs
        directly apply by replacing Lemma 4 with Lemma 5." Library: `inv.altered_continuity_constant`,
        `inv.check_altered_continuity`, `inv.update_difference_ratios` (Lemmas 4 and 5 bound the same quantity).
        """),
        *setup_cells(),
        md(r"""
        ## The proof, step by step (eqs. 60-63)

        Gradient descent on a symmetric potential, ten neurons, the pair $(i, j) = (3, 8)$, $P = (i\ j)$.

        **(60)** $U_i(\mathcal X) - U_j(\mathcal X) = U_i(\mathcal X) - (PU(\mathcal X))_i = U_i(\mathcal X) - U_i(P\mathcal X)$.

        **(61)-(63)** $\|U_i(\mathcal X) - U_i(P\mathcal X)\| \le \sup_k\|U_k(\mathcal X) - U_k(P\mathcal X)\| \le \frac K2\|\mathcal X - P\mathcal X\|
        = \frac{K}{\sqrt2}\|\boldsymbol x_i - \boldsymbol x_j\| \le K\|\boldsymbol x_i - \boldsymbol x_j\|$, since $\mathcal X$ and $P\mathcal X$ differ
        only in entries $i, j$. (The proof gives the sharper constant $K/\sqrt2$.)

        $K$ here is a P2' constant. P2-K with constant $K_2$ implies P2' with $K = 2K_2$ (a supremum over entries is at most the
        norm of all of them), so the potential's $K_2$ gives a valid $K = 2K_2$; `altered_continuity_constant` measures a lower
        estimate of the best one.
        """),
        code("""
        rule = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=-1.5, s=0.8)))
        X = inv.FiniteCollection(np.random.default_rng(9).normal(size=(10, 2)))
        K2 = rule.smoothness_constant(X.n)          # P2-K constant
        Kp = 2 * K2                                 # a valid P2' constant
        est2 = inv.continuity_constant(rule, X).worst
        estp = inv.altered_continuity_constant(rule, X).worst
        assert inv.check_altered_continuity(rule, X, Kp).passed and estp <= 2 * est2 * (1 + 1e-9)
        print(f"P2-K: K2 = {K2:.4f} (measured >= {est2:.4f});  P2': K = 2 K2 = {Kp:.4f} (measured >= {estp:.4f})")

        i, j = 3, 8
        P = inv.FinitaryPermutation.transposition(i, j)
        U, UPX = rule.update(X).points, rule.update(P.act(X)).points
        lhs = np.linalg.norm(U[i] - U[j])
        assert np.allclose(U[i] - U[j], U[i] - UPX[i], rtol=0, atol=1e-13)              # (60)
        sup_k = np.linalg.norm(U - UPX, axis=1).max()
        dist = inv.difference_norm(X, P.act(X))
        d = np.linalg.norm(X[i] - X[j])
        chain = [("(61) ||U_i(X) - U_i(PX)||", np.linalg.norm(U[i] - UPX[i])), ("     sup_k ||U_k(X) - U_k(PX)||", sup_k),
                 ("(62) K/2 ||X - PX||", Kp / 2 * dist), ("     K/sqrt2 ||x_i - x_j||", Kp / math.sqrt(2) * d),
                 ("(63) K ||x_i - x_j||", Kp * d)]
        for name, value in chain:
            print(f"{name:34s} {value:.6f}")
        values = [c[1] for c in chain]
        assert all(a <= b * (1 + 1e-12) for a, b in zip(values, values[1:]))
        assert math.isclose(dist, math.sqrt(2) * d, rel_tol=1e-12)
        r5 = inv.update_difference_ratios(rule, X, K=Kp / math.sqrt(2))
        assert r5.holds
        print(f"all pairs: max ||U_i - U_j|| / ||x_i - x_j|| = {r5.max_ratio:.4f} <= K/sqrt2 = {Kp / math.sqrt(2):.4f}")
        """),
        md(r"""
        The measured P2' constant also bounds the ratios: the measurement includes the transposition pairs $(\mathcal X, P\mathcal X)$
        of the proof, so its estimate is at least $\sqrt2\max\|U_i - U_j\|/\|\boldsymbol x_i - \boldsymbol x_j\|$.
        """),
        code("""
        assert r5.max_ratio <= estp / math.sqrt(2) * (1 + 1e-9)
        print(f"measured P2' constant / sqrt2 = {estp / math.sqrt(2):.4f} >= max ratio {r5.max_ratio:.4f}")
        """),
        md(r"""
        ## Where P2' is strictly weaker: a rule on infinitely many neurons

        $U_i(\mathcal X) = -c\,(\boldsymbol x_i - \boldsymbol s(\mathcal X))$, with $\boldsymbol s(\mathcal X)$ the coordinatewise supremum over *all*
        neurons, pulls every neuron towards the corner of the cloud. It is equivariant ($\boldsymbol s$ does not depend on labels).
        On infinitely many neurons filling the unit circle, moving one neuron beyond the circle changes $\boldsymbol s$, hence the
        update of *every* neuron: $U(\mathcal X)$ and $U(\mathcal Y)$ differ in infinitely many entries, $\|U(\mathcal X) - U(\mathcal Y)\| = \infty$
        while $\|\mathcal X - \mathcal Y\| < \infty$, and P2-K fails for every $K$. But $|s_k(\mathcal X) - s_k(\mathcal Y)| \le \|\mathcal X - \mathcal Y\|$, so
        $\sup_i\|U_i(\mathcal X) - U_i(\mathcal Y)\| \le c(1 + \sqrt D)\|\mathcal X - \mathcal Y\|$: P2' holds with $K = 2c(1 + \sqrt D)$.

        The rule is written here with the public `inv.UpdateRule` interface (a finite version, and the lazy hooks: the context of
        an update is $\boldsymbol s$, which on the dense circle of radius $r$ is $\max(r, \text{overrides})$ coordinatewise).
        """),
        code("""
        class SupPullRule(inv.UpdateRule):
            \"\"\"U_i = -c (x_i - s(X)), s = coordinatewise sup over all neurons (equivariant; P2' but not P2-K on I = N).\"\"\"

            def __init__(self, c):
                self.c, self.name = c, f"sup-pull(c={c:g})"

            def update_points(self, points, t):
                return -self.c * (points - points.max(axis=0))

            def lazy_context(self, X, t):                 # s(X): dense circle of radius r, plus the overrides
                s = np.full(X.dim, X.base.radius)
                if X.support:
                    s = np.maximum(s, X.entries(list(X.support)).max(axis=0))
                return tuple(float(v) for v in s)

            def pointwise(self, indices, rows, context, t):
                return -self.c * (rows - np.asarray(context))


        c = 1.0
        sup_rule = SupPullRule(c)
        Xl = inv.LazyCollection(inv.CircleBase(1.0), {2: [0.5, 1.0], 7: [-1.0, 0.25]})
        K_alt = 2 * c * (1 + math.sqrt(Xl.dim))
        p1 = inv.equivariance_error(sup_rule, Xl)
        p2 = inv.continuity_constant(sup_rule, Xl, n_pairs=16, window=16)
        pa = inv.altered_continuity_constant(sup_rule, Xl, n_pairs=16, window=16)
        assert p1.passed and not p2.passed and math.isinf(p2.worst) and pa.passed and pa.worst <= K_alt
        print("P1:", p1.passed)
        print("P2-K:", p2.passed, "-", p2.details["p2k_fails"])
        print(f"P2': measured constant {pa.worst:.4f} <= proved K = 2c(1 + sqrt D) = {K_alt:.4f}")
        assert inv.check_altered_continuity(sup_rule, Xl, K_alt, n_pairs=16, window=16).passed
        """),
        md(r"""
        Lemma 5 applies where Lemma 4 cannot, and with it Lemma 2 and Lemma 3 (the proofs "directly apply by replacing Lemma 4 with
        Lemma 5"): on 64 base neurons plus the overrides, $\|U_i - U_j\| \le K\|\boldsymbol x_i - \boldsymbol x_j\|$, the distance ratios stay in
        $[1 - \eta K, 1 + \eta K]$ and $\widehat U$ is a bijection for $\eta K < 1$.
        """),
        code("""
        r5 = inv.assert_update_difference_bound(sup_rule, Xl, K_alt)
        eta = 0.5 / K_alt
        r2 = inv.assert_bi_lipschitz(sup_rule, Xl, eta, K_alt)
        r3 = inv.assert_bijective(sup_rule, Xl, eta, K_alt)
        assert r5.max_ratio <= K_alt / math.sqrt(2) and r3.bijective
        print(f"Lemma 5: max ratio {r5.max_ratio:.4f} <= K/sqrt2 = {K_alt / math.sqrt(2):.4f} over {r5.n_examined} neurons")
        print(f"Lemma 2 with K': ratios in [{r2.min_ratio:.4f}, {r2.max_ratio:.4f}] within [{r2.lower_bound:.4f}, {r2.upper_bound:.4f}]")
        print("Lemma 3 with K': bijective", r3.bijective)
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Generated symmetric rules on finite and lazily infinite collections: the claimed P2' constant $2K_2$ is never refuted, and
        (59) holds with the sharper constant $K/\sqrt2$ of (62). On finite collections the measured P2' constant is also compared
        with the Lemma 5 ratios (pairs closer than the rounding floor are skipped by the measurement, so only well-separated
        collections are compared).
        """),
        code("""
        stats = []

        @cases(40)
        @given(ist.collections(), ist.symmetric_rules())
        def lemma5(X, rule):
            finite = isinstance(X, inv.FiniteCollection)
            Kp = 2 * rule.smoothness_constant(X.n if finite else None)
            assume(Kp > 0)                          # a single neuron with only a pair term: U = 0
            pa = inv.check_altered_continuity(rule, X, Kp, n_pairs=12, power_steps=2, window=16)
            assert pa.passed, str(pa)
            r5 = inv.assert_update_difference_bound(rule, X, Kp / math.sqrt(2), window=16)
            if finite and min_separation(X) > 1e-6 and r5.max_ratio > 0:
                assert r5.max_ratio <= pa.worst / math.sqrt(2) * (1 + 1e-9)
            stats.append((finite, pa.worst / Kp, r5.max_ratio * math.sqrt(2) / Kp))

        lemma5()
        s = np.array([row[1:] for row in stats])
        print(f"{len(stats)} cases ({sum(r[0] for r in stats)} finite): largest measured P2' constant / K = {s[:, 0].max():.4f}, "
              f"largest sqrt2 ratio / K = {s[:, 1].max():.4f}")
        """),
        md(r"""
        ## Dropping the hypotheses

        **No P1.** `IndexBiasedRule` keeps P2' (the push cancels in $U_i(\mathcal X) - U_i(\mathcal Y)$) but breaks P1, and (59) fails for the
        coincident neurons $0$ and $5$ of an infinite collection: their updates differ by the push.
        """),
        code("""
        base = inv.LazyCollection(inv.CircleBase(), {})
        Xc = base.with_entries([0], [base[5]])
        biased = inv.IndexBiasedRule(inv.centering_rule(1.0), index=0)
        assert inv.check_altered_continuity(biased, Xc, 2.0, n_pairs=16, window=16).passed
        assert not inv.equivariance_error(biased, Xc).passed
        rb = inv.update_difference_ratios(biased, Xc, K=2.0)
        assert not rb.holds and rb.excess_pair == (0, 5)
        print(f"P2' with K = 2 holds, P1 fails; (59) fails at pair {rb.excess_pair}: excess {rb.max_excess:.4f}")
        """),
        md(r"""
        **No P2'.** The equivariant, non-Lipschitz rule $-\operatorname{sign}(x)\sqrt{|x|}$: the measured P2' constant grows without bound
        as two neurons approach $0$ from both sides, and (59) fails for any fixed $K$.
        """),
        code("""
        sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)))
        measured = []
        for delta in (1e-2, 1e-3, 1e-4):
            Xs = inv.FiniteCollection([[-delta], [delta], [1.0]])
            measured.append(inv.altered_continuity_constant(sqrt_rule, Xs, refine_budget=0).worst)  # at X's scale
            r59 = inv.update_difference_ratios(sqrt_rule, Xs, K=50.0)
            print(f"delta = {delta:.0e}: measured P2' constant {measured[-1]:7.1f}, Lemma 5 ratio {r59.max_ratio:6.1f}, "
                  f"(59) with K = 50: {r59.holds}")
        assert measured[0] < measured[1] < measured[2] and not r59.holds
        """),
        md(r"""
        ## Figure: the constants

        For the finite gradient rule and the infinite sup-pull rule: the measured P2-K constant (infinite for the sup-pull rule),
        the measured P2' constant, and $\sqrt2\times$ the largest Lemma 5 ratio, which (62) bounds by the P2' constant.
        """),
        code("""
        rows = {
            "GD, 10 neurons": (est2, estp, math.sqrt(2) * inv.update_difference_ratios(rule, X).max_ratio),
            "sup-pull, I = N": (p2.worst, pa.worst, math.sqrt(2) * inv.update_difference_ratios(sup_rule, Xl).max_ratio),
        }
        fig, ax = plt.subplots(figsize=(7, 4))
        width = 0.25
        top = 1.3 * max(v for vals in rows.values() for v in vals if math.isfinite(v))
        for k, (label, vals) in enumerate(rows.items()):
            for m_, (val, name, color) in enumerate(zip(vals, ("P2-K constant (measured)", "P2' constant (measured)",
                                                              "sqrt2 x max Lemma-5 ratio"), ("tab:blue", "tab:orange", "tab:green"))):
                shown = val if math.isfinite(val) else top
                ax.bar(k + (m_ - 1) * width, shown, width, color=color, label=name if k == 0 else None,
                       hatch="//" if not math.isfinite(val) else None)
                if not math.isfinite(val):
                    ax.text(k + (m_ - 1) * width, shown, "inf", ha="center", va="bottom")
            assert vals[2] <= vals[1] * (1 + 1e-9)
        ax.set_xticks(range(len(rows))); ax.set_xticklabels(list(rows)); ax.legend(fontsize=8)
        ax.set_title("P2' is finite where P2-K is not; it bounds the Lemma 5 ratios")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 09 Remark: eta* = 1/K
# --------------------------------------------------------------------------------------------


@notebook("09_remark_optimal_step")
def nb_remark() -> Cells:
    return [
        md(r"""
        # Remark (Section 5.1): $\eta^* = 1/K$ is the optimal step of the smoothness bound (eqs. 13-15)

        *Section 5.1 of the paper.*

        > **Remark.** As noted in Section 3, the smoothness condition in (12) is precisely the standard smoothness assumption widely
        > used in optimization theory (Bottou et al., 2018). Under this assumption, the topological critical point $\eta^* = \frac{1}{K}$
        > in our theory coincides with the optimal step size suggested by a second-order Taylor expansion of the loss around
        > $\boldsymbol{x}$. Specifically, (12) implies
        > $$L(\boldsymbol{x} - \eta \nabla L(\boldsymbol{x})) \tag{13}$$
        > $$\leq L(\boldsymbol{x}) - \eta \|\nabla L(\boldsymbol{x})\|^2 + \frac{K\eta^2}{2} \|\nabla L(\boldsymbol{x})\|^2 \tag{14}$$
        > $$= L(\boldsymbol{x}) + \left(\frac{K}{2}\eta^2 - \eta\right) \|\nabla L(\boldsymbol{x})\|^2. \tag{15}$$
        > It follows that the optimal decrease in loss occurs at $\eta^* = \frac{1}{K}$, which matches the topological critical point
        > identified in our framework and differs only by a constant factor from the classical upper bound on stable step sizes.

        **Hypothesis:** (12), $\|\nabla L(\mathcal X) - \nabla L(\mathcal Y)\| \le K\|\mathcal X - \mathcal Y\|$.

        Library: `invariance.symbolic.step_sizes` (eqs. 13-15 in sympy), `hessian_constant`, `sigmoid_pair_constant`;
        `InteractionPotential.value`, `.gradient`, `.smoothness_constant` numerically.
        """),
        *setup_cells("""
        import sympy as sp
        from invariance.symbolic import hessian_constant, quadratic_loss, sigmoid_pair_constant, step_sizes
        """),
        md(r"""
        ## Step 1: (12) implies (14)

        $L(\boldsymbol x - \eta\boldsymbol g) - L(\boldsymbol x) + \eta\|\boldsymbol g\|^2 = -\eta\int_0^1 \langle \nabla L(\boldsymbol x - s\eta\boldsymbol g) - \nabla L(\boldsymbol x), \boldsymbol g\rangle\, ds
        \le \eta\int_0^1 K s\eta\|\boldsymbol g\|^2 ds = \frac{K\eta^2}{2}\|\boldsymbol g\|^2$ by Cauchy-Schwarz and (12). Symbolically, for the
        one-dimensional quadratic $L = Kx^2/2$ the bound is an equality (it cannot be improved):
        """),
        code("""
        K_, x_, eta_ = sp.symbols("K x eta", positive=True)
        L = K_ * x_**2 / 2
        g = sp.diff(L, x_)
        lhs = L.subs(x_, x_ - eta_ * g)                              # (13)
        rhs = L - eta_ * g**2 + K_ * eta_**2 / 2 * g**2               # (14)
        assert sp.simplify(lhs - rhs) == 0
        assert sp.simplify(rhs - (L + (K_ / 2 * eta_**2 - eta_) * g**2)) == 0     # (14) = (15)
        print("L(x - eta L'(x)) =", sp.factor(lhs), "  = (14) = (15) for L = K x^2/2")
        """),
        md(r"""
        Numerically, on an interaction potential with its $K$ (Proposition 2): the loss after a gradient step never exceeds the bound
        (14), for 200 step sizes in $(0, 3/K)$.
        """),
        code("""
        potential = inv.InteractionPotential(site=inv.LogCosh(1.0), pair=inv.GaussianPair(c=-1.0, s=0.8))
        X = np.random.default_rng(10).normal(size=(10, 2))
        K = potential.smoothness_constant(len(X))
        Lx, gx = potential.value(X), potential.gradient(X)
        gn2 = float(np.sum(gx * gx))
        etas = np.linspace(0.0, 3.0 / K, 201)[1:]
        actual = np.array([potential.value(X - e * gx) for e in etas])
        bound = Lx + (K / 2 * etas**2 - etas) * gn2
        assert np.all(actual <= bound + 1e-12 * (1 + abs(Lx)))
        print(f"K = {K:.4f}; largest (actual - bound) over the grid: {np.max(actual - bound):.3e} (<= 0)")
        """),
        md(r"""
        ## Step 2: the optimal step of the bound, and the stable range

        `step_sizes` minimises $\phi(\eta) = \frac K2\eta^2 - \eta$ (eq. 15 per $\|\nabla L\|^2$): the minimiser is $\eta^* = 1/K$ with decrease
        $\|\nabla L\|^2/(2K)$; the bound guarantees a decrease exactly for $0 < \eta < 2/K$, and gradient descent on $Kx^2/2$ is stable
        ($|1 - \eta K| < 1$) exactly there: "differs only by a constant factor from the classical upper bound".
        """),
        code("""
        res = step_sizes()
        assert res.holds
        Ks = sp.Symbol("K", positive=True)
        assert sp.simplify(res.eta_star - 1 / Ks) == 0 and sp.simplify(res.optimal_decrease + 1 / (2 * Ks)) == 0
        assert res.decrease_interval == sp.Interval.open(0, 2 / Ks) == res.stability_interval
        print(res)
        """),
        md(r"""
        With the $K$ derived from a Hessian: the quadratic loss of $n = 3$ neurons ($K = a + 3b$) and the two-neuron sigmoid model.
        """),
        code("""
        for K_expr in (hessian_constant(quadratic_loss(3)).K, sigmoid_pair_constant().K):
            r = step_sizes(K_expr)
            assert r.holds and sp.simplify(r.eta_star * r.K - 1) == 0 and sp.simplify(r.stability_bound - 2 * r.eta_star) == 0
            print(f"K = {r.K}:  eta* = {r.eta_star},  2/K = {r.stability_bound}")
        """),
        md(r"""
        ## The optimal step *is* the topological critical point

        For the centering loss $L = \frac{K}{2n}\sum_{i<j}\|\boldsymbol x_i - \boldsymbol x_j\|^2$ (Hessian eigenvalues $0$ and $K$) the exact loss
        after one step is $(1 - \eta K)^2 L$: minimal, zero, at $\eta = 1/K$, the step at which all neurons merge (Lemma 3 fails).
        The loss-optimal step destroys the topology.
        """),
        code("""
        Kc = 2.0
        cen = inv.centering_rule(Kc)
        Xc = inv.FiniteCollection(X)
        loss_c = cen.loss
        L0 = loss_c.value(Xc.points)
        grid = np.linspace(0.0, 2.0 / Kc, 81)[1:]
        after = np.array([loss_c.value(cen.step(Xc, e).points) for e in grid])
        assert np.allclose(after, (1 - grid * Kc) ** 2 * L0, rtol=1e-9, atol=1e-12)
        best = grid[np.argmin(after)]
        assert math.isclose(best, 1 / Kc) and after.min() < 1e-20
        b = inv.bijectivity(cen, Xc, best, Kc)
        assert not b.bijective and b.n_after == 1
        print(f"best step on the grid: {best} = 1/K; loss after it {after.min():.1e}; points after the step: {b.n_after}")
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Generated potentials and collections: the bound (14) holds at 25 step sizes in $(0, 3/K]$, and the bound's minimiser over the
        grid is the grid point nearest $1/K$.
        """),
        code("""
        gaps = []

        @cases(40)
        @given(ist.finite_collections(min_size=1, max_size=8), ist.interaction_potentials())
        def remark(X, potential):
            x = X.points
            K = potential.smoothness_constant(X.n)
            assume(K > 0)                           # a single neuron with only a pair term: L is constant
            L0, g = potential.value(x), potential.gradient(x)
            gn2 = float(np.sum(g * g))
            es = np.linspace(0, 3 / K, 26)[1:]
            bound = L0 + (K / 2 * es**2 - es) * gn2
            actual = np.array([potential.value(x - e * g) for e in es])
            assert np.all(actual <= bound + 1e-9 * (1 + abs(L0) + gn2 / K))
            if gn2 > 0:
                assert math.isclose(es[np.argmin(bound)], es[np.argmin(np.abs(es - 1 / K))])
            gaps.append(float(np.max(actual - bound)))

        remark()
        print(f"{len(gaps)} cases, largest (actual - bound) = {max(gaps):.2e}")
        """),
        md(r"""
        ## Dropping the hypothesis

        **$K$ smaller than the true smoothness constant.** The centering loss has $K = 2$; claiming $K = 1$ makes (14) false at
        $\eta = 1.5$, where the true loss *increases* ($(1 - 3)^2 = 4$ times larger) while the "bound" promises a decrease.
        """),
        code("""
        gc = loss_c.gradient(Xc.points)
        gc2 = float(np.sum(gc * gc))
        e = 1.5
        after_c = loss_c.value(Xc.points - e * gc)
        fake_bound = L0 + (1.0 / 2 * e**2 - e) * gc2
        assert after_c > fake_bound and math.isclose(after_c, (1 - e * Kc) ** 2 * L0, rel_tol=1e-9)
        print(f"eta = {e}: L after = {after_c:.4f} > claimed bound {fake_bound:.4f}  (L before = {L0:.4f})")
        """),
        md(r"""
        **No Lipschitz gradient.** For $L = \frac23|x|^{3/2}$ no $K$ exists; for any $K$ there is an $x$ close to $0$ where (14) fails.
        """),
        code("""
        def L32(x):
            return 2 / 3 * abs(x) ** 1.5

        for K_try in (1.0, 10.0, 100.0):
            x0 = 0.25 / K_try**2                      # where the curvature |x|^(-1/2)/2 exceeds K
            g0 = math.copysign(math.sqrt(abs(x0)), x0)
            e = 1 / K_try
            after32, bound32 = L32(x0 - e * g0), L32(x0) + (K_try / 2 * e**2 - e) * g0**2
            assert after32 > bound32
            print(f"K = {K_try:5}: at x = {x0:.2e}, L(x - g/K) = {after32:.3e} > bound {bound32:.3e}")
        """),
        md(r"""
        ## Figure (cf. the paper's Figure 2)

        The bound (15) per $\|\nabla L\|^2$ and the actual loss change of the interaction potential above, against $\eta K$: the bound is
        minimal at $\eta^* = 1/K$ (the topological critical point) and guarantees a decrease up to $2/K$.
        """),
        code("""
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.plot(etas * K, (bound - Lx) / gn2 * K, "k-", label="bound (15): (K eta^2/2 - eta) ||g||^2")
        ax.plot(etas * K, (actual_grid := np.array([potential.value(X - e_ * gx) for e_ in etas]) - Lx) / gn2 * K, "-",
                color="tab:blue", label="actual L(x - eta g) - L(x)")
        assert np.all(actual_grid <= bound + 1e-12 * (1 + abs(Lx)))
        ax.axvline(1.0, color="tab:green", label="eta* = 1/K (topological critical point)")
        ax.axvline(2.0, color="tab:red", ls="--", label="2/K (stable step sizes end)")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xlabel("eta K"); ax.set_ylabel("loss change x K / ||g||^2"); ax.legend(fontsize=8)
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# 10 Breakdown above eta*
# --------------------------------------------------------------------------------------------


@notebook("10_breakdown_above_eta_star")
def nb_breakdown() -> Cells:
    return [
        md(r"""
        # Topological breakdown above $\eta^* = 1/K$

        *Sections 4 and 4.1 of the paper (after Lemma 2 and Theorem 1).*
        """, SETTING, r"""
        **Hypotheses.**
        """, P1, P2K, r"""
        The statements of the paper about the phase above the topological critical point:

        > Lemma 2 also identifies a critical learning rate $\eta^* = 1/K$, beyond which the lower bound becomes vacuous, which we
        > referred to as topological critical point hereinafter. [...] this marks a phase transition from bijective, homeomorphic
        > dynamics to merely surjective continuous dynamics.

        > At large learning rates, by contrast, homeomorphic evolution breaks down. Merging and more general topological changes
        > become possible [...]. At the same time, the large-learning-rate phase cannot change topology without bound because the
        > upper bound in Lemma 2 always holds, and so neuron splitting remains impossible. This is also topologically characterized
        > by the fact that the induced mapping $\tilde{U}$ is still a quotient map, meaning that it inherits a coarser topology from the previous
        > neuron distribution.

        So for $\eta K \ge 1$: (a) merging *is possible* (not forced): there are rules satisfying P1 and P2-K whose induced map is not
        injective; (b) what survives is Lemma 1, Lemma 2's upper bound (no splitting) and Theorem 1 (i)-(ii) (continuous surjection, a
        quotient map); consequences: the number of distinct neurons and the number of connected components never increase.
        """),
        *setup_cells("""
        from invariance.topology import betti_numbers
        """),
        md(r"""
        ## (a) Merging becomes possible at and above $\eta^*$

        Three rules satisfying P1 and P2-K with an exactly known $K = 2$, on 200 neurons on a circle (angles $2\pi k/200$, symmetric
        about both axes; radius $x_0$, the positive root of $x = 1.5\tanh x$, see below), Betti numbers
        $(b_0, b_1, b_2)$ at scale $\operatorname{diam}/4$ and number of distinct points of $S^{(t+1)}$:

        - the **centering** rule $U_i = -K(\boldsymbol x_i - \overline{\boldsymbol x})$: at $\eta = 1/K$ every neuron lands on the mean;
        - the **projection** rule $U_i = -K(0, y_i)$ (gradient descent on $\frac K2\sum_i y_i^2$): at $\eta = 1/K$ the circle is flattened
          onto a segment, neurons at $(x, \pm y)$ merge, the loop is destroyed;
        - the **log-cosh** rule $U_i = -K\tanh(\boldsymbol x_i)$ (gradient descent on $K\sum\log\cosh$, Hessian in $(0, K]$): at $\eta = 1/K$
          it is still injective (its derivative vanishes only at $0$), while at $\eta = 1.5/K$ the map $x \mapsto x - 1.5\tanh x$ folds:
          the four neurons $(\pm x_0, 0)$, $(0, \pm x_0)$ all land on the origin.
        """),
        code("""
        K = 2.0
        x0 = 1.3
        for _ in range(30):                                    # Newton: x0 = 1.5 tanh(x0), x0 > 0
            x0 -= (x0 - 1.5 * np.tanh(x0)) / (1 - 1.5 / np.cosh(x0) ** 2)
        assert abs(x0 - 1.5 * np.tanh(x0)) < 1e-15
        theta = 2 * np.pi * np.arange(200) / 200
        circle = inv.FiniteCollection(x0 * np.stack([np.cos(theta), np.sin(theta)], axis=1))
        projection = inv.PointwiseRule(lambda x: -K * np.concatenate([np.zeros_like(x[:, :1]), x[:, 1:]], axis=1),
                                       name="projection")
        logcosh = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(K)))
        rules = {"centering": inv.centering_rule(K), "projection": projection, "log-cosh": logcosh}
        for name, r_ in rules.items():
            assert inv.equivariance_error(r_, circle).passed
            assert inv.check_continuity(r_, circle, K).passed
        assert logcosh.smoothness_constant(circle.n) == K
        print("all three rules: P1 holds and P2-K holds with K =", K)
        print(f"{'rule':12s} {'eta K':>6s} {'points after':>13s} {'bijective':>10s} {'Betti after':>12s}")
        results = {}
        for name, r_ in rules.items():
            for frac in (0.5, 1.0, 1.5):
                b = inv.bijectivity(r_, circle, frac / K, K)
                betti = betti_numbers(r_.step(circle, frac / K).points)
                results[name, frac] = (b, betti)
                print(f"{name:12s} {frac:6} {b.n_after:13d} {str(b.bijective):>10s} {str(betti):>12s}")
        """),
        md(r"""
        The cell asserts what the table shows: below $\eta^*$ every rule is a bijection and the circle keeps $(1, 1, 0)$ (Theorem 1);
        at $\eta^* = 1/K$ the centering and projection rules merge neurons and destroy the loop; above $\eta^*$ the log-cosh rule merges
        neurons. (Above $\eta^*$ merging is possible, not forced: at $\eta = 1.5/K$ the centering and projection rules are bijections
        again, $x \mapsto -0.5x$ in the contracted directions.) Every step is still a well-defined surjection (Lemma 3's first part).
        """),
        code("""
        for name in rules:
            b, betti = results[name, 0.5]
            assert b.bijective and betti == (1, 1, 0)
            for frac in (1.0, 1.5):
                b, _ = results[name, frac]
                assert b.holds and b.well_defined and b.surjective and b.n_after <= b.n_before
        assert results["centering", 1.0][0].n_after == 1 and results["centering", 1.0][1] == (1, 0, 0)
        n_columns = np.unique(np.round(circle.points[:, 0], 12)).size     # neurons (x, y) and (x, -y) merge
        assert results["projection", 1.0][0].n_after == n_columns and results["projection", 1.0][1] == (1, 0, 0)
        assert results["log-cosh", 1.0][0].bijective and not results["log-cosh", 1.5][0].bijective
        merged = results["log-cosh", 1.5][0].merged_groups
        assert (0, 50, 100, 150) in merged                                # (x0, 0), (0, x0), (-x0, 0), (0, -x0)
        assert results["centering", 1.5][0].bijective and results["projection", 1.5][0].bijective
        print("merges at eta* (centering, projection) and above it (log-cosh): confirmed")
        """),
        md(r"""
        The fold of the log-cosh rule in one dimension: $x \mapsto x - 1.5\tanh x$ sends $0$ and $\pm x_0$ to the same point: three
        distinct neurons merge.
        """),
        code("""
        line = inv.FiniteCollection([[-x0], [0.0], [x0], [2.5]])
        one = inv.GradientDescent(inv.InteractionPotential(site=inv.LogCosh(1.0)))       # K = 1
        b = inv.bijectivity(one, line, 1.5, 1.0)
        assert not b.bijective and b.merged_groups == ((0, 1, 2),)
        print(f"x0 = {x0:.6f}: positions after the step {one.step(line, 1.5).points.ravel()}, merged {b.merged_groups}")
        """),
        md(r"""
        ## (b) What survives above $\eta^*$: no splitting, a continuous surjection

        For every $\eta$, Lemma 2's upper bound holds (neurons never split), Lemma 1 holds, $\widehat U$ is a $(1+\eta K)$-Lipschitz
        surjection (Theorem 1 (i)) and a quotient map of compact sets (ii). Checked along a 20-step trajectory of the log-cosh rule at
        $\eta K = 1.5$ started from the circle above plus 20 duplicated neurons: at every step the upper bound holds and the number of
        distinct neurons never increases (it drops at the first step, where the fold merges the four neurons on the axes).

        "Coarser" is meant in the sense of quotient topologies, not of Betti numbers: gluing points of a circle creates loops (the
        folded circle in the table above has a larger $b_1$ than the circle; the cell below asserts it). The number of distinct neurons
        is the invariant that can only decrease.
        """),
        code("""
        assert results["log-cosh", 1.5][1][1] > 1                      # gluing points of the circle created loops
        dup = np.concatenate([circle.points, circle.points[::10]])      # 20 duplicated neurons
        Z = inv.FiniteCollection(dup)
        eta = 1.5 / K
        distinct = []
        for t in range(20):
            assert inv.assert_well_defined(logcosh, Z, eta).holds
            r2 = inv.assert_bi_lipschitz(logcosh, Z, eta, K)      # upper bound only: lower bound vacuous
            assert r2.lower_bound_vacuous
            h = inv.homeomorphism(logcosh, Z, eta, K)
            assert h.continuous and h.well_defined
            f = inv.induced_map(logcosh, Z, eta, K=K)
            distinct.append(f.n_before)
            Z = logcosh.step(Z, eta)
        assert all(b <= a for a, b in zip(distinct, distinct[1:])) and distinct[1] < distinct[0] == circle.n
        print(f"{Z.n} neurons; distinct neurons along the trajectory:", distinct)
        """),
        md(r"""
        ## Generated cases (hypothesis)

        Generated equivariant rules with their $K$ and $\eta K \in [1, 3]$, finite and lazily infinite collections with coincident
        neurons: Lemma 1, Lemma 2's upper bound, Theorem 1 (i) and the surjection of Lemma 3 hold; the number of distinct points never
        increases.
        """),
        code("""
        stats = []

        @cases(50)
        @given(ist.collections(coincident_pairs=1), ist.symmetric_rules(), st.floats(1.0, 3.0))
        def above_critical(X, rule, frac):
            finite = isinstance(X, inv.FiniteCollection)
            K = rule.smoothness_constant(X.n if finite else None)
            eta = frac / K
            inv.assert_well_defined(rule, X, eta, K=K, window=32)
            r2 = inv.assert_bi_lipschitz(rule, X, eta, K, window=32)
            h = inv.homeomorphism(rule, X, eta, K, window=32)
            b = inv.assert_bijective(rule, X, eta, K, window=32)
            assert r2.lower_bound <= 1e-12 and h.continuous and b.surjective and b.n_after <= b.n_before
            stats.append((finite, r2.upper_slack, b.n_before - b.n_after))

        above_critical()
        print(f"{len(stats)} cases ({sum(s[0] for s in stats)} finite): worst upper slack {np.nanmin([s[1] for s in stats]):.3g}, "
              f"{sum(s[2] > 0 for s in stats)} cases with merges")
        """),
        md(r"""
        ## Dropping the hypotheses: splitting

        **No P1.** The index-biased rule splits coincident neurons at any $\eta$, above $\eta^*$ too: Lemma 2's upper bound fails.

        **No P2-K.** The equivariant, non-Lipschitz rule $-\operatorname{sign}(x)\sqrt{|x|}$ splits nearly coincident neurons: the distance
        ratio of the neurons at $\pm10^{-8}$ is far above $1 + \eta K$ for the claimed $K$.
        """),
        code("""
        Xd = inv.FiniteCollection(np.concatenate([circle.points[:5], circle.points[:1]]))
        rb = inv.bi_lipschitz_ratios(inv.IndexBiasedRule(logcosh, index=0), Xd, eta, K)
        wb = inv.well_definedness(inv.IndexBiasedRule(logcosh, index=0), Xd, eta)
        assert not rb.holds and not wb.holds and rb.max_upper_violation > rb.tolerance
        sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)))
        rs = inv.bi_lipschitz_ratios(sqrt_rule, inv.FiniteCollection([[-1e-8], [1e-8], [1.0]]), 1.5, K=1.0)
        assert not rs.holds and rs.max_ratio > rs.upper_bound
        print(f"no P1: coincident neurons separate by {wb.max_separation:.3f}; "
              f"no P2-K: ratio {rs.max_ratio:.1f} > 1 + eta K = {rs.upper_bound}")
        """),
        md(r"""
        ## Figure: neuron clouds before and after one step, below and above $\eta^*$

        Rows: the three rules; columns: $\eta K = 0.5$ (homeomorphism, Theorem 1), $\eta K = 1$ (the critical point), $\eta K = 1.5$.
        Grey: $S^{(t)}$ (the circle); colour: $S^{(t+1)}$; titles: Betti numbers and the number of distinct neurons.
        """),
        code("""
        fig, axes = plt.subplots(3, 3, figsize=(10, 10), sharex=True, sharey=True)
        for row, (name, r_) in enumerate(rules.items()):
            for col, frac in enumerate((0.5, 1.0, 1.5)):
                ax = axes[row, col]
                after = r_.step(circle, frac / K).points
                b, betti = results[name, frac]
                ax.plot(*circle.points.T, ".", color="0.8", ms=4)
                ax.scatter(*after.T, c=theta, cmap="hsv", s=8)
                ax.set_title(f"{name}, eta K = {frac}\\nBetti {betti}, {b.n_after} points", fontsize=9)
                ax.set_aspect("equal")
        fig.suptitle("Below eta* the topology is kept; at and above eta* neurons can merge")
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------------
# building and executing
# --------------------------------------------------------------------------------------------

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def build_notebook(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (without outputs)."""
    nb = new_notebook(cells=_REGISTRY[name](), metadata={"kernelspec": dict(KERNELSPEC)})
    return nb


def build_notebooks() -> dict[str, nbformat.NotebookNode]:
    """Every notebook, by file name (``NN_name.ipynb``), without outputs."""
    return {f"{name}.ipynb": build_notebook(name) for name in _REGISTRY}


def kernel_environment(storage: str | None = None) -> None:
    """Prepare the environment the kernel inherits: the repository root on ``PYTHONPATH``, and
    hypothesis' storage (its cache of constants) outside ``proofs/``."""
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    if storage is not None:
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = storage
    elif "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(tempfile.gettempdir(), "invariance-proofs-hypothesis")


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute ``nb`` in place with nbclient (kernel python3, cwd proofs/)."""
    from nbclient import NotebookClient

    kernel_environment()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(HERE)}})
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="build only notebooks whose name contains one of these strings")
    parser.add_argument("--no-execute", action="store_true", help="write the cells without executing them")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    args = parser.parse_args(argv)
    total = 0.0
    for filename, nb in build_notebooks().items():
        if args.only and not any(s in filename for s in args.only):
            continue
        start = time.perf_counter()
        if not args.no_execute:
            execute(nb, args.timeout)
        elapsed = time.perf_counter() - start
        total += elapsed
        nbformat.validate(nb)
        nbformat.write(nb, HERE / filename)
        print(f"{filename:45s} {elapsed:6.1f} s", flush=True)
    print(f"{'total':45s} {total:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
