(** * The hypotheses are satisfiable, and the threshold eta K < 1 matters

    - [R_space]: the real line with [|.|] is a [NormedSpace] ([R^D] with
      [D = 1]); so the record of hypotheses on [V] is consistent.
    - [scaling c]: the rule [U_i(X) = c x_i] satisfies P1, P2-K with
      [K = |c|] and P2' with [K = 2 |c|], in every normed space; so the
      hypotheses of Lemmas 2-5 and Theorem 1 can all hold at once.
    - [theorem1_iii_instance]: Theorem 1 (iii) applied to a concrete setting
      ([V = R], [I = nat], [U = scaling (-1)], [K = 1], [eta = 1/2]).
    - [critical_step_merges]: at the critical step [eta = 1/K] (here [K = 1],
      [eta = 1], [U_i(X) = -x_i]) the induced map need not be injective: every
      neuron lands on [0]; so [eta K < 1] cannot be dropped from Lemma 3. *)

From Coq Require Import Reals Lra List.
From Invariance Require Import Setting CollectionNorm Lemmas.
Open Scope R_scope.

Lemma Rabs_definite (u : R) : Rabs u = 0 -> u = 0.
Proof.
  intro H. destruct (Req_dec u 0) as [H0|H0]; [exact H0|].
  exfalso. exact (Rabs_no_R0 u H0 H).
Qed.

Definition R_space : NormedSpace := {|
  vec := R; vzero := 0; vadd := Rplus; vopp := Ropp; vscal := Rmult; vnorm := Rabs;
  vadd_assoc := ltac:(intros; ring);
  vadd_comm := ltac:(intros; ring);
  vadd_zero_r := ltac:(intros; ring);
  vadd_opp_r := ltac:(intros; ring);
  vscal_one := ltac:(intros; ring);
  vscal_assoc := ltac:(intros; ring);
  vscal_distr_vec := ltac:(intros; ring);
  vscal_distr_scal := ltac:(intros; ring);
  vnorm_triangle := Rabs_triang;
  vnorm_scal := Rabs_mult;
  vnorm_definite := Rabs_definite
|}.

Section Scaling.
Context {V : NormedSpace} {I : Type}.

Definition scaling (c : R) : @update_rule V I := fun X k => vscal c (X k).

Lemma scaling_P1 c : P1 (scaling c).
Proof. intros p X _ i. reflexivity. Qed.

Lemma vsub_scal c (u v : V) : vsub (vscal c u) (vscal c v) = vscal c (vsub u v).
Proof. unfold vsub. rewrite vscal_distr_vec, vscal_opp. reflexivity. Qed.

Lemma scaling_sqsum c X Y L :
  sqsum (scaling c X) (scaling c Y) L = Rsqr c * sqsum X Y L.
Proof.
  induction L as [|k L IH]; simpl; [ring|].
  change (sqsum (scaling c X) (scaling c Y) L = Rsqr c * sqsum X Y L) in IH.
  change (Rsqr (vnorm (vsub (vscal c (X k)) (vscal c (Y k)))) + sqsum (scaling c X) (scaling c Y) L
          = Rsqr c * (Rsqr (vnorm (vsub (X k) (Y k))) + sqsum X Y L)).
  rewrite IH, vsub_scal, vnorm_scal, Rsqr_mult, <- Rsqr_abs. ring.
Qed.

Lemma scaling_P2K c : P2K (Rabs c) (scaling c).
Proof.
  intros X Y r (L & HN & HC & ->).
  exists (Rabs c * sqrt (sqsum X Y L)). split; [|right; reflexivity].
  exists L. split; [exact HN|split].
  - intros k Hk. apply HC. intro E. apply Hk. unfold scaling. rewrite E. reflexivity.
  - rewrite scaling_sqsum, sqrt_mult by (apply Rle_0_sqr || apply sqsum_nonneg).
    rewrite sqrt_Rsqr_abs. reflexivity.
Qed.

Lemma scaling_P2' c : P2' (2 * Rabs c) (scaling c).
Proof.
  intros X Y r H i. unfold scaling. rewrite vsub_scal, vnorm_scal.
  replace (2 * Rabs c / 2) with (Rabs c) by field.
  apply Rmult_le_compat_l; [apply Rabs_pos|]. eapply coll_norm_diff_entry. exact H.
Qed.

End Scaling.

Theorem theorem1_iii_instance (X : @collection R_space nat) :
  bijection (neuron_set X) (neuron_set (step (scaling (-1)) (1/2) X)) (induced (scaling (-1)) (1/2) X) /\
  lipschitz (1 + 1/2 * Rabs (-1)) (induced (scaling (-1)) (1/2) X) /\
  lipschitz (1 / (1 - 1/2 * Rabs (-1))) (inverse (induced (scaling (-1)) (1/2) X)) /\
  uniformly_continuous (induced (scaling (-1)) (1/2) X) /\
  uniformly_continuous (inverse (induced (scaling (-1)) (1/2) X)).
Proof.
  apply (theorem1_iii Nat.eq_dec).
  - apply scaling_P1.
  - apply scaling_P2K.
  - lra.
  - rewrite Rabs_left by lra. lra.
Qed.

(** At [eta K = 1] (here [K = 1], [eta = 1]) the rule [U_i(X) = -x_i]
    satisfies P1 and P2-K, yet the induced map of [X = (0, 1, 2, ...)] is
    not injective. *)
Theorem critical_step_merges :
  let U : @update_rule R_space nat := scaling (-1) in
  let X : @collection R_space nat := INR in
  P1 U /\ P2K 1 U /\ 1 * 1 = 1 /\ ~ injective (induced U 1 X).
Proof.
  intros U X. split; [apply scaling_P1|split; [|split; [ring|]]].
  - replace 1 with (Rabs (-1)) at 1 by (rewrite Rabs_left by lra; lra). apply scaling_P2K.
  - intro Hinj.
    assert (H : X 0%nat = X 1%nat).
    { apply (Hinj _ _ 0).
      - exists 0%nat. split; [reflexivity|]. unfold step, U, scaling, X. simpl. ring.
      - exists 1%nat. split; [reflexivity|]. unfold step, U, scaling, X. simpl. ring. }
    unfold X in H. simpl in H. lra.
Qed.
