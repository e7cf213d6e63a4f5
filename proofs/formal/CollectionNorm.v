(** * The collection norm and the transposition [(i j)]

    Facts about the collection norm [||X - Y||] of Section 3 used by
    Appendix A.2 and Appendix D:
    - [coll_norm_diff_unique]: the value does not depend on the finite list
      used to compute it (the norm is well defined);
    - [sqsum_ge_two_terms], [coll_norm_diff_entry]: a partial sum of the
      squared entries is at most the full sum (eqs. 24-25);
    - [transposition_dist]: for the transposition [P = (i j)] of eq. (18),
      [||X - P X|| = sqrt 2 ||x_i - x_j||] (eqs. 26-27). *)

From Coq Require Import Reals Lra List Sorting.Permutation FunctionalExtensionality.
From Invariance Require Import Setting.
Import ListNotations.
Open Scope R_scope.

Section CollectionNorm.
Context {V : NormedSpace} {I : Type}.
Implicit Types X Y : @collection V I.

Lemma Rsqr_vnorm_nonneg (u : V) : 0 <= Rsqr (vnorm u).
Proof. apply Rle_0_sqr. Qed.

Lemma sqsum_cons X Y k L :
  sqsum X Y (k :: L) = Rsqr (vnorm (vsub (X k) (Y k))) + sqsum X Y L.
Proof. reflexivity. Qed.

Lemma sqsum_nonneg X Y L : 0 <= sqsum X Y L.
Proof.
  induction L as [|k L IH]; simpl; [lra|].
  pose proof (Rsqr_vnorm_nonneg (vsub (X k) (Y k))). lra.
Qed.

Lemma sqsum_ge_term X Y L i :
  In i L -> Rsqr (vnorm (vsub (X i) (Y i))) <= sqsum X Y L.
Proof.
  induction L as [|k L IH]; simpl; [tauto|].
  intros [->|Hi].
  - pose proof (sqsum_nonneg X Y L). lra.
  - pose proof (IH Hi). pose proof (Rsqr_vnorm_nonneg (vsub (X k) (Y k))). lra.
Qed.

(** Two distinct entries of a (possibly infinite) sum of nonnegative terms
    add up to at most the sum: the step (24) -> (25) of Appendix A.2. *)
Lemma sqsum_ge_two_terms X Y L i j :
  i <> j -> In i L -> In j L ->
  Rsqr (vnorm (vsub (X i) (Y i))) + Rsqr (vnorm (vsub (X j) (Y j))) <= sqsum X Y L.
Proof.
  intro Hij. induction L as [|k L IH]; simpl; [tauto|].
  intros [->|Hi] [Hkj|Hj].
  - congruence.
  - pose proof (sqsum_ge_term X Y L j Hj). lra.
  - subst k. pose proof (sqsum_ge_term X Y L i Hi). lra.
  - pose proof (IH Hi Hj). pose proof (Rsqr_vnorm_nonneg (vsub (X k) (Y k))). lra.
Qed.

Lemma vnorm_vsub_zero_of_eq (u v : V) : u = v -> vnorm (vsub u v) = 0.
Proof. intros ->. rewrite vsub_self. apply vnorm_zero. Qed.

(** Every entry is bounded by the collection norm: [||x_i - y_i|| <= ||X - Y||]. *)
Lemma coll_norm_diff_entry X Y r i :
  coll_norm_diff X Y r -> vnorm (vsub (X i) (Y i)) <= r.
Proof.
  intros (L & _ & Hcov & ->).
  destruct (Req_dec (vnorm (vsub (X i) (Y i))) 0) as [H0|H0].
  - rewrite H0. apply sqrt_pos.
  - assert (Hin : In i L).
    { apply Hcov. intro Heq. apply H0. apply vnorm_vsub_zero_of_eq. exact Heq. }
    rewrite <- (sqrt_Rsqr (vnorm (vsub (X i) (Y i)))) by apply vnorm_nonneg.
    apply sqrt_le_1_alt. apply sqsum_ge_term. exact Hin.
Qed.

Lemma coll_norm_diff_nonneg X Y r : coll_norm_diff X Y r -> 0 <= r.
Proof. intros (L & _ & _ & ->). apply sqrt_pos. Qed.

(** ** The collection norm is well defined *)

Lemma sqsum_perm X Y L L' : Permutation L L' -> sqsum X Y L = sqsum X Y L'.
Proof. induction 1; simpl; lra. Qed.

Lemma sqsum_filter X Y (f : I -> bool) L :
  sqsum X Y L = sqsum X Y (filter f L) + sqsum X Y (filter (fun k => negb (f k)) L).
Proof.
  induction L as [|k L IH]; simpl; [lra|].
  destruct (f k); simpl; lra.
Qed.

Lemma sqsum_zero X Y L :
  (forall k, In k L -> X k = Y k) -> sqsum X Y L = 0.
Proof.
  induction L as [|k L IH]; simpl; intro H; [reflexivity|].
  rewrite IH by auto. rewrite (vnorm_vsub_zero_of_eq _ _ (H k (or_introl eq_refl))).
  unfold Rsqr. ring.
Qed.

Section WithDecidableIndex.
Variable I_eq_dec : forall a b : I, {a = b} + {a <> b}.

Let memb (L : list I) (k : I) : bool := if in_dec I_eq_dec k L then true else false.

Lemma memb_true L k : memb L k = true <-> In k L.
Proof. unfold memb. destruct (in_dec I_eq_dec k L); split; congruence || tauto. Qed.

(** An entry that lies outside a list covering the differences contributes
    nothing. *)
Lemma sqsum_outside X Y L1 L2 :
  differ_only_on X Y L2 ->
  sqsum X Y (filter (fun k => negb (memb L2 k)) L1) = 0.
Proof.
  intro Hcov.
  induction L1 as [|k L1 IH]; simpl; [reflexivity|].
  destruct (memb L2 k) eqn:Hm; simpl; [exact IH|].
  rewrite IH.
  destruct (Req_dec (vnorm (vsub (X k) (Y k))) 0) as [H0|H0].
  - rewrite H0. unfold Rsqr. ring.
  - exfalso. assert (Hin : In k L2).
    { apply Hcov. intro Heq. apply H0. apply vnorm_vsub_zero_of_eq. exact Heq. }
    apply memb_true in Hin. congruence.
Qed.

Lemma sqsum_cover_independent X Y L1 L2 :
  NoDup L1 -> NoDup L2 -> differ_only_on X Y L1 -> differ_only_on X Y L2 ->
  sqsum X Y L1 = sqsum X Y L2.
Proof.
  intros N1 N2 C1 C2.
  rewrite (sqsum_filter X Y (memb L2) L1), (sqsum_filter X Y (memb L1) L2).
  rewrite (sqsum_outside X Y L1 L2 C2), (sqsum_outside X Y L2 L1 C1).
  rewrite !Rplus_0_r. apply sqsum_perm.
  apply NoDup_Permutation; try (apply NoDup_filter; assumption).
  intro k. rewrite !filter_In, !memb_true. tauto.
Qed.

(** [||X - Y||] does not depend on the list used to compute it. *)
Theorem coll_norm_diff_unique X Y r s :
  coll_norm_diff X Y r -> coll_norm_diff X Y s -> r = s.
Proof.
  intros (L1 & N1 & C1 & ->) (L2 & N2 & C2 & ->).
  f_equal. apply sqsum_cover_independent; assumption.
Qed.

(** ** The transposition (i j), eq. (18) *)

Definition swap (i j k : I) : I :=
  if I_eq_dec k i then j else if I_eq_dec k j then i else k.

Lemma swap_l i j : swap i j i = j.
Proof. unfold swap. destruct (I_eq_dec i i); congruence. Qed.

Lemma swap_r i j : swap i j j = i.
Proof.
  unfold swap. destruct (I_eq_dec j i); [congruence|].
  destruct (I_eq_dec j j); congruence.
Qed.

Lemma swap_other i j k : k <> i -> k <> j -> swap i j k = k.
Proof.
  intros Hi Hj. unfold swap.
  destruct (I_eq_dec k i); [congruence|]. destruct (I_eq_dec k j); congruence.
Qed.

Lemma swap_cases i j k :
  (k = i /\ swap i j k = j) \/ (k = j /\ swap i j k = i) \/ (k <> i /\ k <> j /\ swap i j k = k).
Proof.
  destruct (I_eq_dec k i) as [->|Hi]; [left; split; [reflexivity | apply swap_l]|].
  destruct (I_eq_dec k j) as [->|Hj]; [right; left; split; [reflexivity | apply swap_r]|].
  right; right. repeat split; try assumption. apply swap_other; assumption.
Qed.

Lemma swap_involutive i j k : swap i j (swap i j k) = k.
Proof.
  destruct (swap_cases i j k) as [[-> ->]|[[-> ->]|(Hi & Hj & ->)]].
  - apply swap_r.
  - apply swap_l.
  - apply swap_other; assumption.
Qed.

(** [(i j)] is in [FSym(I)]. *)
Lemma swap_finitary i j : finitary_permutation (swap i j).
Proof.
  split.
  - exists (swap i j). split; intro k; apply swap_involutive.
  - exists [i; j]. intros k Hk. simpl.
    destruct (swap_cases i j k) as [[-> _]|[[-> _]|(_ & _ & Hs)]]; [tauto | tauto | congruence].
Qed.

(** If [x_i = x_j] then [P X = X] for [P = (i j)] (Appendix A.1). *)
Lemma swap_fixes X i j : X i = X j -> perm_act (swap i j) X = X.
Proof.
  intro Hx. apply functional_extensionality. intro k. unfold perm_act.
  destruct (swap_cases i j k) as [[-> ->]|[[-> ->]|(_ & _ & ->)]]; congruence.
Qed.

Lemma sqrt_2_Rsqr (a : R) : 0 <= a -> sqrt (Rsqr a + Rsqr a) = sqrt 2 * a.
Proof.
  intro Ha. replace (Rsqr a + Rsqr a) with (2 * Rsqr a) by ring.
  rewrite sqrt_mult by (lra || apply Rle_0_sqr). rewrite sqrt_Rsqr by exact Ha.
  reflexivity.
Qed.

(** [X] and [P X] differ only in the entries [i] and [j], and
    [||X - P X|| = sqrt 2 ||x_i - x_j||] (eqs. 26-27). *)
Lemma transposition_dist X i j :
  i <> j ->
  coll_norm_diff X (perm_act (swap i j) X) (sqrt 2 * vnorm (vsub (X i) (X j))).
Proof.
  intro Hij. exists [i; j]. repeat split.
  - constructor; [simpl; intuition congruence|]. constructor; [simpl; tauto|constructor].
  - intros k Hk. unfold perm_act in Hk. simpl.
    destruct (swap_cases i j k) as [[-> _]|[[-> _]|(_ & _ & Hs)]]; [tauto | tauto |].
    rewrite Hs in Hk. congruence.
  - unfold sqsum, perm_act. simpl. rewrite swap_l, swap_r, Rplus_0_r.
    rewrite (vnorm_vsub_sym (X j) (X i)).
    symmetry. apply sqrt_2_Rsqr. apply vnorm_nonneg.
Qed.

End WithDecidableIndex.
End CollectionNorm.
