# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lemma 3 (the induced map is a surjection; a bijection below $\eta^*$)
#
# *Section 4.1 of the paper; proof in Appendix A.3.*
#
# **Setting (Section 3).** A collection $\mathcal{X}^{(t)} = \{\boldsymbol{x}_i^{(t)}\}_{i \in I} \in (\mathbb{R}^D)^I$
# (the neurons, $I$ possibly uncountable) is updated by a rule $U^{(t)} : (\mathbb{R}^D)^I \to (\mathbb{R}^D)^I$ with step size $\eta > 0$:
#
# $$\boldsymbol{x}_{i}^{(t+1)} = \boldsymbol{x}_{i}^{(t)} + \eta U_{i}^{(t)} \left( \mathcal{X} \right). \tag{4}$$
#
# $\mathsf{FSym}(I)$ is the group of permutations of $I$ with finite support, acting by $P\mathcal{X} = \{\boldsymbol{x}_{P(i)}\}_{i\in I}$;
# $\|\mathcal{X} - \mathcal{Y}\| = \sqrt{\sum_{i \in I} \|\boldsymbol{x}_i - \boldsymbol{y}_i\|^2}$ if $\mathcal{X}$ and $\mathcal{Y}$ differ in finitely many terms, $+\infty$ otherwise.
#
# $S^{(t)} = \{\boldsymbol{x}_i^{(t)} \mid i \in I\} \subseteq \mathbb{R}^D$ is the *set* formed by the neurons (relative topology of $\mathbb{R}^D$), and
#
# $$\forall i \in I,\ \widehat{U}^{(t)}\left(\boldsymbol{x}_i^{(t)}\right) = \boldsymbol{x}_i^{(t+1)} \tag{8}$$
#
# defines $\widehat{U}^{(t)} : S^{(t)} \to S^{(t+1)}$. On a computer $S^{(t)}$ is the finite set of *atoms* (groups of examined
# neurons that coincide up to a dtype-aware tolerance): `inv.induced_map` builds $\widehat{U}^{(t)}$ on them.
#
# **Hypotheses.**
#
# - **(P1) Equivariance Property:** We say $U^{(t)}$ has equivariance property if for any $t \in \mathbb{N}$, any $\mathcal{X} \in (\mathbb{R}^D)^I$ and $P \in \mathsf{FSym}(I)$, we have $PU^{(t)}(\mathcal{X}) = U^{(t)}(P\mathcal{X})$.
#
# - **(P2-K) K-Continuity Property:** For $K > 0$, if for any $t \in \mathbb{N}$ and any $\mathcal{X}, \mathcal{Y} \in (\mathbb{R}^D)^I$,
#   $$\left\| U^{(t)} \left( \mathcal{X} \right) - U^{(t)} \left( \mathcal{Y} \right) \right\| \le K \left\| \mathcal{X} - \mathcal{Y} \right\|, \tag{5}$$
#   then we say $U^{(t)}$ has K-continuity property.
#
# > **Lemma 3.** If $U^{(t)}$ satisfies P1 and P2-K, then $\widehat{U}^{(t)}$ is well-defined, and is a surjection.
# > If additionally $\eta K < 1$, then $\widehat{U}^{(t)}$ is a bijection.
#
# Library: `inv.induced_map` (eq. 8 on the atoms), `inv.bijectivity` (Lemma 3).

# %% [markdown]
# ## Setup
#
# Only the public API: `import invariance as inv`, `invariance.strategies`, `invariance.symbolic`, `invariance.topology`;
# and `cases(n)` (derandomized hypothesis settings) from `notebook_setup.py` beside the notebooks.

# %%
import numpy as np
import matplotlib.pyplot as plt
from hypothesis import given, strategies as st

import invariance as inv
from invariance import strategies as ist
from notebook_setup import cases, min_separation

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})



# %% [markdown]
# ## The proof, step by step
#
# Nine neurons in $\mathbb{R}^2$ forming six points of $S^{(t)}$: neurons $\{0, 3, 7\}$ coincide and so do $\{1, 5\}$.
# The rule is gradient descent on a symmetric potential, with its $K$; $\eta K = 0.6$.
#
# **Well-defined (Lemma 1).** If $\boldsymbol{x}_i^{(t)} = \boldsymbol{x}_j^{(t)}$ then $\boldsymbol{x}_i^{(t+1)} = \boldsymbol{x}_j^{(t+1)}$, so every atom of
# $S^{(t)}$ has a single image.

# %%
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

# %% [markdown]
# **Surjective.** By definition $S^{(t+1)} = \{\boldsymbol{x}_i^{(t+1)}\} = \{\widehat U(\boldsymbol{x}_i^{(t)})\}$: every point of
# $S^{(t+1)}$ is the image of the point of $S^{(t)}$ holding the same neuron.

# %%
assert set(f.labels_after.tolist()) == set(f.image.tolist()) == set(range(f.n_after))
assert f.surjective
print("image of U_hat:", f.image.tolist(), " = all", f.n_after, "points of S^(t+1)")

# %% [markdown]
# **Injective when $\eta K < 1$.** For distinct points $a \ne b$ of $S^{(t)}$, Lemma 2's lower bound gives
# $\|\widehat U(a) - \widehat U(b)\| \ge (1 - \eta K)\|a - b\| > 0$.

# %%
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

# %% [markdown]
# ## Generated cases (hypothesis)
#
# Below $\eta^*$ ($\eta K \in [0.01, 0.95]$) the induced map is a bijection (on well-separated collections; nearly coincident
# neurons may be contracted below what float64 resolves, which the check excuses only when consistent with Lemma 2). At any
# step ($\eta K \in [0.01, 3]$) it is a well-defined surjection. The cell prints counts.

# %%
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

# %% [markdown]
# ## Dropping the hypotheses
#
# **No P1** (`IndexBiasedRule`): the coincident neurons $0, 3, 7$ no longer land on one point: $\widehat U$ is not even a function.

# %%
rb = inv.bijectivity(inv.IndexBiasedRule(rule, index=3), X, eta, K)
assert not rb.holds and not rb.well_defined and any(3 in g for g in rb.split_groups)
print("well defined:", rb.well_defined, "  split groups:", rb.split_groups)

# %% [markdown]
# **$\eta K \ge 1$.** The centering rule $U_i = -K(\boldsymbol{x}_i - \overline{\boldsymbol{x}})$ at $\eta = 1/K$ sends every neuron
# to the mean: $\widehat U$ is still a well-defined surjection (the part of Lemma 3 that needs no $\eta K < 1$), but not injective.

# %%
Kc = 2.0
rc = inv.bijectivity(inv.centering_rule(Kc), X, 1 / Kc, Kc)
assert rc.holds and rc.well_defined and rc.surjective and not rc.injective and rc.n_after == 1
print(f"eta = 1/K: {rc.n_before} points -> {rc.n_after} point; injective: {rc.injective}; merged: {rc.merged_groups}")

# %% [markdown]
# **No P2-K.** The equivariant but non-Lipschitz rule $U_i = -\operatorname{sign}(x_i)\sqrt{|x_i|}$ merges the neurons at
# $\pm\eta^2$ at *every* step size $\eta$: whatever $K$ one claims (here $K = 1$, so $\eta K = 0.1 < 1$), injectivity fails.

# %%
sqrt_rule = inv.PointwiseRule(lambda x: -np.sign(x) * np.sqrt(np.abs(x)))
eta_s = 0.1
Xs = inv.FiniteCollection([[-eta_s**2], [eta_s**2], [1.0]])
rs = inv.bijectivity(sqrt_rule, Xs, eta_s, K=1.0)
assert inv.equivariance_error(sqrt_rule, Xs).passed and not rs.holds and not rs.injective
print("merged groups:", rs.merged_groups, " positions after:", sqrt_rule.step(Xs, eta_s).points.ravel())

# %% [markdown]
# ## Figure: $\widehat U$ below and at the critical point
#
# Each point of $S^{(t)}$ (marker size: number of neurons there) is joined to its image in $S^{(t+1)}$. Left: the gradient rule at
# $\eta K = 0.6$, a bijection. Right: the centering rule at $\eta K = 1$, every point is sent to the mean.

# %%
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
