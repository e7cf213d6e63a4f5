(** * Lemmas 1-5 and Theorem 1 (i), (iii) of the paper

    Names follow the paper:
    - [lemma1]          Lemma 1 (well-definedness), from P1 (Appendix A.1);
    - [lemma4]          Lemma 4 (no splitting), from P1 and P2-K (Appendix A.2);
    - [lemma5]          Lemma 5 (altered no splitting), from P1 and P2' (Appendix D);
    - [lemma2]          Lemma 2 (no merging or splitting, both bounds), from Lemma 4;
    - [lemma2_altered]  Lemma 2 under P1 and P2' instead of P2-K, from Lemma 5;
    - [lemma3]          Lemma 3: U_hat is well defined and onto S^(t+1); injective
                        (so a bijection S^(t) -> S^(t+1)) when [eta K < 1];
    - [theorem1_i]      Theorem 1 (i), metric form: U_hat is a (1 + eta K)-Lipschitz
                        (hence continuous) surjection;
    - [theorem1_iii]    Theorem 1 (iii), metric form: when [eta K < 1], U_hat is a
                        bijection, (1 + eta K)-Lipschitz, with a 1/(1 - eta K)-Lipschitz
                        inverse, so both are (uniformly) continuous: a homeomorphism.

    The time [t] is fixed: [U] is [U^(t)], [X] is [X^(t)] and [step U eta X]
    is [X^(t+1)] (eq. 4). *)

From Coq Require Import Reals Lra List.
From Invariance Require Import Setting CollectionNorm.
Import ListNotations.
Open Scope R_scope.

(** ** Properties of relations (the induced map is given by its graph) *)

Section Relations.
Context {A B : Type}.

(** [Rel] is the graph of a function from [SA] onto [SB]. *)
Definition maps_into (SA : A -> Prop) (SB : B -> Prop) (Rel : A -> B -> Prop) : Prop :=
  forall a b, Rel a b -> SA a /\ SB b.
Definition total_on (SA : A -> Prop) (Rel : A -> B -> Prop) : Prop :=
  forall a, SA a -> exists b, Rel a b.
Definition functional (Rel : A -> B -> Prop) : Prop :=
  forall a b1 b2, Rel a b1 -> Rel a b2 -> b1 = b2.
Definition onto (SB : B -> Prop) (Rel : A -> B -> Prop) : Prop :=
  forall b, SB b -> exists a, Rel a b.
Definition injective (Rel : A -> B -> Prop) : Prop :=
  forall a1 a2 b, Rel a1 b -> Rel a2 b -> a1 = a2.

Definition surjection (SA : A -> Prop) (SB : B -> Prop) (Rel : A -> B -> Prop) : Prop :=
  maps_into SA SB Rel /\ total_on SA Rel /\ functional Rel /\ onto SB Rel.
Definition bijection (SA : A -> Prop) (SB : B -> Prop) (Rel : A -> B -> Prop) : Prop :=
  surjection SA SB Rel /\ injective Rel.

Definition inverse (Rel : A -> B -> Prop) : B -> A -> Prop := fun b a => Rel a b.

End Relations.

Section Metric.
Context {V W : NormedSpace}.

(** [||f(v1) - f(v2)|| <= L ||v1 - v2||] for the function with graph [Rel]. *)
Definition lipschitz (L : R) (Rel : V -> W -> Prop) : Prop :=
  forall v1 w1 v2 w2, Rel v1 w1 -> Rel v2 w2 -> vnorm (vsub w1 w2) <= L * vnorm (vsub v1 v2).

(** Uniform continuity of the function with graph [Rel] on its domain (for
    the relative topology of the domain, which is what the paper uses). *)
Definition uniformly_continuous (Rel : V -> W -> Prop) : Prop :=
  forall eps, 0 < eps -> exists delta, 0 < delta /\
    forall v1 w1 v2 w2, Rel v1 w1 -> Rel v2 w2 ->
      vnorm (vsub v1 v2) < delta -> vnorm (vsub w1 w2) < eps.

Lemma lipschitz_uniformly_continuous L Rel :
  lipschitz L Rel -> uniformly_continuous Rel.
Proof.
  intros HL eps Heps.
  assert (Hpos : 0 < Rabs L + 1) by (pose proof (Rabs_pos L); lra).
  exists (eps / (Rabs L + 1)). split.
  - apply Rdiv_lt_0_compat; assumption.
  - intros v1 w1 v2 w2 H1 H2 Hd.
    pose proof (HL v1 w1 v2 w2 H1 H2) as Hb.
    pose proof (vnorm_nonneg (vsub v1 v2)) as Hn.
    assert (HLd : L * vnorm (vsub v1 v2) <= Rabs L * vnorm (vsub v1 v2))
      by (apply Rmult_le_compat_r; [exact Hn | apply Rle_abs]).
    assert (Hdd : Rabs L * vnorm (vsub v1 v2) <= Rabs L * (eps / (Rabs L + 1)))
      by (apply Rmult_le_compat_l; [apply Rabs_pos | lra]).
    assert (Heq : Rabs L * (eps / (Rabs L + 1)) = eps - eps / (Rabs L + 1))
      by (field; lra).
    assert (0 < eps / (Rabs L + 1)) by (apply Rdiv_lt_0_compat; assumption).
    lra.
Qed.

End Metric.

Section Lemmas.
Context {V : NormedSpace} {I : Type}.
(** Equality of indices is decidable: needed to define the transposition
    [(i j)] of eq. (18) as a function [I -> I]. *)
Variable I_eq_dec : forall a b : I, {a = b} + {a <> b}.
Variable U : @update_rule V I.

Notation swap := (swap I_eq_dec).

(** [U_i(P X) = U_j(X)] and [U_j(P X) = U_i(X)] for [P = (i j)] (eqs. 21-22). *)
Lemma update_swap (HP1 : P1 U) X i j :
  U (perm_act (swap i j) X) i = U X j /\ U (perm_act (swap i j) X) j = U X i.
Proof.
  rewrite <- !HP1 by apply swap_finitary. unfold perm_act.
  rewrite swap_l, swap_r. split; reflexivity.
Qed.

(** Lemma 1 at the level of the update: [x_i = x_j -> U_i(X) = U_j(X)]. *)
Lemma equal_updates (HP1 : P1 U) X i j : X i = X j -> U X i = U X j.
Proof.
  intro Hx. destruct (update_swap HP1 X i j) as [Hi _].
  rewrite (swap_fixes I_eq_dec X i j Hx) in Hi. exact Hi.
Qed.

(** Lemma 1 (Well-definedness).  If [U] satisfies P1, then for [i <> j],
    [x_i^(t) = x_j^(t)] implies [x_i^(t+1) = x_j^(t+1)]. *)
Theorem lemma1 (HP1 : P1 U) (eta : R) (X : collection) (i j : I) :
  i <> j -> X i = X j -> step U eta X i = step U eta X j.
Proof.
  intros _ Hx. unfold step. rewrite (equal_updates HP1 X i j Hx), Hx. reflexivity.
Qed.

(** Eqs. (23)-(25): for [P = (i j)], [sqrt 2 ||U_i(X) - U_j(X)|| <= ||U(X) - U(P X)||]
    whenever the latter is finite. *)
Lemma update_transposition_lower_bound (HP1 : P1 U) X i j s :
  i <> j ->
  coll_norm_diff (U X) (U (perm_act (swap i j) X)) s ->
  sqrt 2 * vnorm (vsub (U X i) (U X j)) <= s.
Proof.
  intros Hij (M & _ & HM & ->).
  destruct (update_swap HP1 X i j) as [HUi HUj].
  set (a := vnorm (vsub (U X i) (U X j))).
  assert (Hlow : Rsqr a + Rsqr a <= sqsum (U X) (U (perm_act (swap i j) X)) M).
  { destruct (Req_dec a 0) as [H0|H0].
    - rewrite H0, Rsqr_0, Rplus_0_r. apply sqsum_nonneg.
    - assert (Hne : U X i <> U X j).
      { intro Heq. apply H0. unfold a. apply vnorm_vsub_zero_of_eq. exact Heq. }
      pose proof (sqsum_ge_two_terms (U X) (U (perm_act (swap i j) X)) M i j Hij) as H2.
      rewrite HUi, HUj in H2. rewrite (vnorm_vsub_sym (U X j) (U X i)) in H2.
      apply H2; apply HM; [rewrite HUi | rewrite HUj]; congruence. }
  apply sqrt_le_1_alt in Hlow. rewrite sqrt_2_Rsqr in Hlow by apply vnorm_nonneg.
  exact Hlow.
Qed.

(** Lemma 4 (No Splitting).  If [U] satisfies P1 and P2-K, then for [i <> j],
    [||U_i(X) - U_j(X)|| <= K ||x_i - x_j||]. *)
Theorem lemma4 (K : R) (HP1 : P1 U) (HP2 : P2K K U) (X : collection) (i j : I) :
  i <> j -> vnorm (vsub (U X i) (U X j)) <= K * vnorm (vsub (X i) (X j)).
Proof.
  intro Hij.
  (* ||X - P X|| = sqrt 2 ||x_i - x_j|| (eq. 27), then P2-K (eq. 26) *)
  destruct (HP2 X (perm_act (swap i j) X) (sqrt 2 * vnorm (vsub (X i) (X j)))
              (transposition_dist I_eq_dec X i j Hij)) as (s & Hs & Hle).
  (* sqrt 2 ||U_i(X) - U_j(X)|| <= ||U(X) - U(P X)|| (eqs. 23-25) *)
  pose proof (update_transposition_lower_bound HP1 X i j s Hij Hs) as Hlow.
  assert (Hs2 : 0 < sqrt 2) by (apply sqrt_lt_R0; lra).
  apply (Rmult_le_reg_l (sqrt 2)); [exact Hs2|].
  replace (sqrt 2 * (K * vnorm (vsub (X i) (X j))))
    with (K * (sqrt 2 * vnorm (vsub (X i) (X j)))) by ring.
  lra.
Qed.

Lemma sqrt2_lt_2 : sqrt 2 < 2.
Proof.
  assert (H0 : 0 < sqrt 2) by (apply sqrt_lt_R0; lra).
  pose proof (sqrt_sqrt 2 ltac:(lra)) as H. nra.
Qed.

(** Lemma 5 (Altered - No Splitting).  If [U] satisfies P1 and P2', then for
    [i <> j], [||U_i(X) - U_j(X)|| <= K ||x_i - x_j||]. *)
Theorem lemma5 (K : R) (HP1 : P1 U) (HP2 : P2' K U) (X : collection) (i j : I) :
  i <> j -> vnorm (vsub (U X i) (U X j)) <= K * vnorm (vsub (X i) (X j)).
Proof.
  intro Hij.
  pose proof (HP2 X (perm_act (swap i j) X) _ (transposition_dist I_eq_dec X i j Hij) i) as H.
  destruct (update_swap HP1 X i j) as [HUi _]. rewrite HUi in H.
  pose proof (vnorm_nonneg (vsub (U X i) (U X j))) as Ha.
  pose proof (vnorm_nonneg (vsub (X i) (X j))) as Hd.
  pose proof sqrt2_lt_2 as H2.
  assert (H0 : 0 < sqrt 2) by (apply sqrt_lt_R0; lra).
  set (a := vnorm (vsub (U X i) (U X j))) in *.
  set (d := vnorm (vsub (X i) (X j))) in *.
  destruct (Rle_lt_or_eq_dec 0 d Hd) as [Hdpos|Hd0].
  - (* d > 0 forces K >= 0, then K/2 sqrt 2 d <= K d (eqs. 62-63) *)
    assert (HK : 0 <= K).
    { destruct (Rle_or_lt 0 K) as [HK|HK]; [exact HK|].
      exfalso. assert (K / 2 * (sqrt 2 * d) < 0).
      { assert (0 < sqrt 2 * d) by nra. nra. }
      lra. }
    assert (K / 2 * (sqrt 2 * d) <= K * d).
    { replace (K * d) with (K / 2 * (2 * d)) by field.
      apply Rmult_le_compat_l; [lra | nra]. }
    lra.
  - rewrite <- Hd0 in *. rewrite Rmult_0_r in *. lra.
Qed.

(** Lemma 4 / Lemma 5 for all [i, j] (the case [i = j] is trivial). *)
Definition no_splitting (K : R) : Prop :=
  forall (X : collection) (i j : I), vnorm (vsub (U X i) (U X j)) <= K * vnorm (vsub (X i) (X j)).

Lemma no_splitting_of_distinct K :
  (forall (X : collection) (i j : I), i <> j ->
     vnorm (vsub (U X i) (U X j)) <= K * vnorm (vsub (X i) (X j))) ->
  no_splitting K.
Proof.
  intros H X i j. destruct (I_eq_dec i j) as [->|Hij]; [|apply H; exact Hij].
  rewrite !vsub_self, !vnorm_zero. lra.
Qed.

Corollary lemma4_all K : P1 U -> P2K K U -> no_splitting K.
Proof. intros HP1 HP2. apply no_splitting_of_distinct. intros. apply lemma4; assumption. Qed.

Corollary lemma5_all K : P1 U -> P2' K U -> no_splitting K.
Proof. intros HP1 HP2. apply no_splitting_of_distinct. intros. apply lemma5; assumption. Qed.

(** The proof of Lemma 2 (eqs. 28-29) from the conclusion of Lemma 4. *)
Lemma bounds_of_no_splitting K eta (X : collection) i j :
  no_splitting K -> 0 <= eta ->
  (1 - eta * K) * vnorm (vsub (X i) (X j)) <= vnorm (vsub (step U eta X i) (step U eta X j)) /\
  vnorm (vsub (step U eta X i) (step U eta X j)) <= (1 + eta * K) * vnorm (vsub (X i) (X j)).
Proof.
  intros HK Heta. unfold step. rewrite vsub_step.
  pose proof (HK X i j) as Ha.
  pose proof (vnorm_triangle _ (vsub (X i) (X j)) (vscal eta (vsub (U X i) (U X j)))) as Hup.
  pose proof (vnorm_reverse_triangle (vsub (X i) (X j)) (vscal eta (vsub (U X i) (U X j)))) as Hlo.
  rewrite vnorm_scal, Rabs_pos_eq in Hup, Hlo by exact Heta.
  assert (eta * vnorm (vsub (U X i) (U X j)) <= eta * (K * vnorm (vsub (X i) (X j))))
    by (apply Rmult_le_compat_l; assumption).
  split; nra.
Qed.

(** Lemma 2 (No Merging or Splitting).  If [U] satisfies P1 and P2-K (and
    [eta >= 0]), then for [i <> j]
    [(1 - eta K) ||x_i - x_j|| <= ||x_i' - x_j'|| <= (1 + eta K) ||x_i - x_j||]
    with [x' = step U eta X] (eq. 7). *)
Theorem lemma2 (K eta : R) (HP1 : P1 U) (HP2 : P2K K U) (Heta : 0 <= eta)
    (X : collection) (i j : I) :
  i <> j ->
  (1 - eta * K) * vnorm (vsub (X i) (X j)) <= vnorm (vsub (step U eta X i) (step U eta X j)) /\
  vnorm (vsub (step U eta X i) (step U eta X j)) <= (1 + eta * K) * vnorm (vsub (X i) (X j)).
Proof. intros _. apply bounds_of_no_splitting; [apply lemma4_all|]; assumption. Qed.

(** Lemma 2 with P2' (Appendix D) in place of P2-K. *)
Theorem lemma2_altered (K eta : R) (HP1 : P1 U) (HP2 : P2' K U) (Heta : 0 <= eta)
    (X : collection) (i j : I) :
  i <> j ->
  (1 - eta * K) * vnorm (vsub (X i) (X j)) <= vnorm (vsub (step U eta X i) (step U eta X j)) /\
  vnorm (vsub (step U eta X i) (step U eta X j)) <= (1 + eta * K) * vnorm (vsub (X i) (X j)).
Proof. intros _. apply bounds_of_no_splitting; [apply lemma5_all|]; assumption. Qed.

(** ** Lemma 3 and Theorem 1, from the conclusion of Lemma 4 (or Lemma 5) *)

Section InducedMap.
Variables (K eta : R) (X : @collection V I).
Hypothesis HP1 : P1 U.
Hypothesis HK : no_splitting K.
Hypothesis Heta : 0 <= eta.

Notation S := (neuron_set X).
Notation S' := (neuron_set (step U eta X)).
Notation Uhat := (induced U eta X).

Lemma induced_surjection : surjection S S' Uhat.
Proof.
  split; [|split; [|split]].
  - intros v w (i & Hv & Hw). split; exists i; assumption.
  - intros v (i & Hv). exists (step U eta X i). exists i. split; [exact Hv | reflexivity].
  - intros v w1 w2 (i & Hi & Hw1) (j & Hj & Hw2). subst.
    destruct (I_eq_dec i j) as [->|Hij]; [reflexivity|].
    apply lemma1; [exact HP1 | exact Hij | congruence].
  - intros w (i & Hw). exists (X i), i. split; [reflexivity | exact Hw].
Qed.

Lemma induced_lipschitz : lipschitz (1 + eta * K) Uhat.
Proof.
  intros v1 w1 v2 w2 (i & <- & <-) (j & <- & <-).
  apply bounds_of_no_splitting; assumption.
Qed.

Hypothesis HetaK : eta * K < 1.

Lemma induced_inverse_lipschitz : lipschitz (1 / (1 - eta * K)) (inverse Uhat).
Proof.
  intros w1 v1 w2 v2 (i & <- & <-) (j & <- & <-).
  destruct (bounds_of_no_splitting K eta X i j HK Heta) as [Hlo _].
  assert (Hpos : 0 < 1 - eta * K) by lra.
  apply (Rmult_le_reg_l (1 - eta * K)); [exact Hpos|].
  replace ((1 - eta * K) * (1 / (1 - eta * K) * vnorm (vsub (step U eta X i) (step U eta X j))))
    with (vnorm (vsub (step U eta X i) (step U eta X j))) by (field; lra).
  exact Hlo.
Qed.

Lemma induced_injective : injective Uhat.
Proof.
  intros v1 v2 w H1 H2.
  pose proof (induced_inverse_lipschitz w v1 w v2 H1 H2) as H.
  rewrite vsub_self, vnorm_zero, Rmult_0_r in H.
  apply vsub_eq, vnorm_definite.
  pose proof (vnorm_nonneg (vsub v1 v2)). lra.
Qed.

End InducedMap.

(** Lemma 3.  If [U] satisfies P1 and P2-K (and [eta >= 0]), then
    [U_hat : S^(t) -> S^(t+1)] is well defined and a surjection; if
    additionally [eta K < 1], it is a bijection. *)
Theorem lemma3 (K eta : R) (HP1 : P1 U) (HP2 : P2K K U) (Heta : 0 <= eta) (X : collection) :
  surjection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X) /\
  (eta * K < 1 -> bijection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X)).
Proof.
  pose proof (lemma4_all K HP1 HP2) as HK.
  split; [eapply induced_surjection; eassumption|intro HetaK; split].
  - eapply induced_surjection; eassumption.
  - eapply induced_injective; eassumption.
Qed.

(** Theorem 1 (i), metric form.  If [U] satisfies P1 and P2-K (and
    [eta >= 0]), then [U_hat] is a (1 + eta K)-Lipschitz, hence continuous,
    surjection from [S^(t)] onto [S^(t+1)] (eq. 30). *)
Theorem theorem1_i (K eta : R) (HP1 : P1 U) (HP2 : P2K K U) (Heta : 0 <= eta) (X : collection) :
  surjection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X) /\
  lipschitz (1 + eta * K) (induced U eta X) /\
  uniformly_continuous (induced U eta X).
Proof.
  pose proof (lemma4_all K HP1 HP2) as HK.
  split; [|split].
  - eapply induced_surjection; eassumption.
  - apply induced_lipschitz; assumption.
  - eapply lipschitz_uniformly_continuous. apply induced_lipschitz; eassumption.
Qed.

(** Theorem 1 (iii), metric form.  If [U] satisfies P1 and P2-K, [eta >= 0]
    and [eta K < 1], then [U_hat] is a bijection from [S^(t)] onto [S^(t+1)],
    [U_hat] is (1 + eta K)-Lipschitz (eq. 30), its inverse is
    1/(1 - eta K)-Lipschitz (eq. 31), and so both are continuous: [U_hat] is a
    homeomorphism. *)
Theorem theorem1_iii (K eta : R) (HP1 : P1 U) (HP2 : P2K K U) (Heta : 0 <= eta)
    (HetaK : eta * K < 1) (X : collection) :
  bijection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X) /\
  lipschitz (1 + eta * K) (induced U eta X) /\
  lipschitz (1 / (1 - eta * K)) (inverse (induced U eta X)) /\
  uniformly_continuous (induced U eta X) /\
  uniformly_continuous (inverse (induced U eta X)).
Proof.
  pose proof (lemma4_all K HP1 HP2) as HK.
  assert (Hl : lipschitz (1 + eta * K) (induced U eta X)) by (apply induced_lipschitz; assumption).
  assert (Hi : lipschitz (1 / (1 - eta * K)) (inverse (induced U eta X)))
    by (apply induced_inverse_lipschitz; assumption).
  assert (Hs : surjection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X))
    by (eapply induced_surjection; eassumption).
  assert (Hinj : injective (induced U eta X)) by (eapply induced_injective; eassumption).
  split; [split; assumption|].
  split; [exact Hl|]. split; [exact Hi|]. split.
  - eapply lipschitz_uniformly_continuous; exact Hl.
  - eapply lipschitz_uniformly_continuous; exact Hi.
Qed.

(** Theorem 1 (iii) under P2' (Appendix D) in place of P2-K. *)
Theorem theorem1_iii_altered (K eta : R) (HP1 : P1 U) (HP2 : P2' K U) (Heta : 0 <= eta)
    (HetaK : eta * K < 1) (X : collection) :
  bijection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X) /\
  lipschitz (1 + eta * K) (induced U eta X) /\
  lipschitz (1 / (1 - eta * K)) (inverse (induced U eta X)).
Proof.
  pose proof (lemma5_all K HP1 HP2) as HK.
  split; [split|split].
  - eapply induced_surjection; eassumption.
  - eapply induced_injective; eassumption.
  - apply induced_lipschitz; assumption.
  - apply induced_inverse_lipschitz; assumption.
Qed.

End Lemmas.
