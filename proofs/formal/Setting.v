(** * The setting of the paper, Section 3 ("Preliminaries"), made formal.

    - [NormedSpace]: a real normed vector space [V].  The paper works in
      [R^D] with the Euclidean norm; every statement proved here holds in any
      real normed space, and [R^D] with the Euclidean norm is one instance.
      The fields of the record are exactly the hypotheses on [V].
    - collections: functions [I -> V] over an arbitrary index type [I]
      (the paper's [(R^D)^I]).
    - finitary permutations: bijections [p : I -> I] that move only finitely
      many indices (the paper's [FSym(I)]); [P X] is [fun k => X (p k)].
    - the collection norm [||X - Y||]: [sqrt (sum_k ||x_k - y_k||^2)] when [X]
      and [Y] differ in finitely many entries, [+infinity] otherwise; encoded
      as the relation [coll_norm_diff X Y r] ("||X - Y|| is finite and equals
      r"), see the comment on its definition.
    - properties P1 (equivariance), P2-K (K-continuity, eq. 5) and
      P2' (altered K-continuity, Appendix D, eq. 58).
    - one step of the dynamics (eq. 4), the neuron set [S] and the induced map
      [U_hat] on it (eq. 8), the latter as its graph (a functional relation). *)

From Coq Require Import Reals Lra List.
Import ListNotations.
Open Scope R_scope.

(** ** Real normed vector spaces *)

Record NormedSpace := {
  vec :> Type;
  vzero : vec;
  vadd : vec -> vec -> vec;
  vopp : vec -> vec;
  vscal : R -> vec -> vec;
  vnorm : vec -> R;
  (* (vec, vadd, vzero, vopp) is an abelian group *)
  vadd_assoc : forall u v w, vadd u (vadd v w) = vadd (vadd u v) w;
  vadd_comm : forall u v, vadd u v = vadd v u;
  vadd_zero_r : forall u, vadd u vzero = u;
  vadd_opp_r : forall u, vadd u (vopp u) = vzero;
  (* scalar multiplication *)
  vscal_one : forall u, vscal 1 u = u;
  vscal_assoc : forall a b u, vscal a (vscal b u) = vscal (a * b) u;
  vscal_distr_vec : forall a u v, vscal a (vadd u v) = vadd (vscal a u) (vscal a v);
  vscal_distr_scal : forall a b u, vscal (a + b) u = vadd (vscal a u) (vscal b u);
  (* the norm *)
  vnorm_triangle : forall u v, vnorm (vadd u v) <= vnorm u + vnorm v;
  vnorm_scal : forall a u, vnorm (vscal a u) = Rabs a * vnorm u;
  vnorm_definite : forall u, vnorm u = 0 -> u = vzero
}.

Arguments vzero {n}.
Arguments vadd {n}.
Arguments vopp {n}.
Arguments vscal {n}.
Arguments vnorm {n}.

Definition vsub {V : NormedSpace} (u v : V) : V := vadd u (vopp v).

(** ** Elementary consequences of the axioms *)

Section VectorFacts.
Context {V : NormedSpace}.
Implicit Types u v w : V.

Lemma vadd_zero_l u : vadd vzero u = u.
Proof. rewrite vadd_comm. apply vadd_zero_r. Qed.

Lemma vadd_opp_l u : vadd (vopp u) u = vzero.
Proof. rewrite vadd_comm. apply vadd_opp_r. Qed.

Lemma vadd_cancel_r u v w : vadd u w = vadd v w -> u = v.
Proof.
  intro H.
  rewrite <- (vadd_zero_r _ u), <- (vadd_zero_r _ v), <- (vadd_opp_r _ w).
  rewrite !vadd_assoc, H. reflexivity.
Qed.

Lemma vscal_zero u : vscal 0 u = vzero.
Proof.
  apply (vadd_cancel_r _ _ (vscal 0 u)).
  rewrite <- vscal_distr_scal, Rplus_0_r, vadd_zero_l. reflexivity.
Qed.

Lemma vopp_unique u v : vadd u v = vzero -> v = vopp u.
Proof.
  intro H. apply (vadd_cancel_r _ _ u).
  rewrite vadd_opp_l, vadd_comm. exact H.
Qed.

Lemma vopp_scal u : vopp u = vscal (-1) u.
Proof.
  symmetry. apply vopp_unique.
  rewrite <- (vscal_one _ u) at 1.
  rewrite <- vscal_distr_scal, Rplus_opp_r. apply vscal_zero.
Qed.

Lemma vnorm_zero : vnorm (@vzero V) = 0.
Proof.
  rewrite <- (vscal_zero vzero), vnorm_scal, Rabs_R0. ring.
Qed.

Lemma vnorm_opp u : vnorm (vopp u) = vnorm u.
Proof.
  rewrite vopp_scal, vnorm_scal, Rabs_left by lra. ring.
Qed.

Lemma vnorm_nonneg u : 0 <= vnorm u.
Proof.
  pose proof (vnorm_triangle _ u (vopp u)) as H.
  rewrite vadd_opp_r, vnorm_zero, vnorm_opp in H. lra.
Qed.

Lemma vsub_self u : vsub u u = vzero.
Proof. apply vadd_opp_r. Qed.

Lemma vsub_eq u v : vsub u v = vzero -> u = v.
Proof.
  unfold vsub. intro H. apply (vadd_cancel_r _ _ (vopp v)).
  rewrite H, vadd_opp_r. reflexivity.
Qed.

Lemma vopp_add u v : vopp (vadd u v) = vadd (vopp u) (vopp v).
Proof. rewrite !vopp_scal. apply vscal_distr_vec. Qed.

Lemma vopp_opp u : vopp (vopp u) = u.
Proof. rewrite !vopp_scal, vscal_assoc. replace (-1 * -1) with 1 by ring. apply vscal_one. Qed.

Lemma vscal_opp a u : vscal a (vopp u) = vopp (vscal a u).
Proof. rewrite !vopp_scal, !vscal_assoc, Rmult_comm. reflexivity. Qed.

Lemma vsub_opp u v : vopp (vsub u v) = vsub v u.
Proof. unfold vsub. rewrite vopp_add, vopp_opp, vadd_comm. reflexivity. Qed.

Lemma vnorm_vsub_sym u v : vnorm (vsub u v) = vnorm (vsub v u).
Proof. rewrite <- vsub_opp, vnorm_opp. reflexivity. Qed.

Lemma vadd_swap_middle u v w z : vadd (vadd u v) (vadd w z) = vadd (vadd u w) (vadd v z).
Proof.
  rewrite <- !vadd_assoc. f_equal. rewrite !vadd_assoc. f_equal. apply vadd_comm.
Qed.

(** The difference of two updated neurons (used for eq. 28). *)
Lemma vsub_step (a a' b b' : V) (c : R) :
  vsub (vadd a (vscal c b)) (vadd a' (vscal c b')) = vadd (vsub a a') (vscal c (vsub b b')).
Proof.
  unfold vsub. rewrite vopp_add, vscal_distr_vec, vscal_opp. apply vadd_swap_middle.
Qed.

(** Reverse triangle inequality. *)
Lemma vnorm_reverse_triangle u w : vnorm u - vnorm w <= vnorm (vadd u w).
Proof.
  pose proof (vnorm_triangle _ (vadd u w) (vopp w)) as H.
  rewrite <- vadd_assoc, vadd_opp_r, vadd_zero_r, vnorm_opp in H. lra.
Qed.

End VectorFacts.

(** ** Collections, finitary permutations, the collection norm, P1, P2-K, P2' *)

Section Collections.
Context {V : NormedSpace} {I : Type}.

(** A collection [X = {x_i}_{i in I}] is a function [I -> V]; an update rule
    [U : (V)^I -> (V)^I] a function on collections, [U_i(X) = U X i]. *)
Definition collection := I -> V.
Definition update_rule := collection -> collection.

(** [FSym(I)]: the permutations of [I] with finite support. *)
Definition bijective (p : I -> I) : Prop :=
  exists q : I -> I, (forall k, q (p k) = k) /\ (forall k, p (q k) = k).
Definition finite_support (p : I -> I) : Prop :=
  exists L : list I, forall k, p k <> k -> In k L.
Definition finitary_permutation (p : I -> I) : Prop :=
  bijective p /\ finite_support p.

(** [(P X)_i = x_{P(i)}]. *)
Definition perm_act (p : I -> I) (X : collection) : collection := fun k => X (p k).

(** [sqsum X Y L = sum_{k in L} ||x_k - y_k||^2]. *)
Definition sqsum (X Y : collection) (L : list I) : R :=
  fold_right (fun k acc => Rsqr (vnorm (vsub (X k) (Y k))) + acc) 0 L.

(** [X] and [Y] agree outside the list [L]. *)
Definition differ_only_on (X Y : collection) (L : list I) : Prop :=
  forall k, X k <> Y k -> In k L.

(** The collection norm of the paper: [||X - Y|| = sqrt (sum_{i in I} ||x_i - y_i||^2)]
    if [X] and [Y] differ in finitely many entries, [+infinity] otherwise.
    [coll_norm_diff X Y r] says "[||X - Y||] is finite and equals [r]": some
    duplicate-free finite list [L] contains every index where [X] and [Y]
    differ, and [r] is the square root of the sum over [L] (entries of [L]
    where [X] and [Y] agree contribute [0]; by [coll_norm_diff_unique] below
    [r] does not depend on the choice of [L]).  [||X - Y|| = +infinity] is the
    case where no [r] satisfies [coll_norm_diff X Y r]. *)
Definition coll_norm_diff (X Y : collection) (r : R) : Prop :=
  exists L : list I, NoDup L /\ differ_only_on X Y L /\ r = sqrt (sqsum X Y L).

(** (P1) Equivariance: [P U(X) = U(P X)] for every [X] and [P in FSym(I)],
    stated entrywise: [(P U(X))_i = U_i(P X)]. *)
Definition P1 (U : update_rule) : Prop :=
  forall (p : I -> I) (X : collection), finitary_permutation p ->
    forall i, perm_act p (U X) i = U (perm_act p X) i.

(** (P2-K) K-continuity, eq. (5): [||U(X) - U(Y)|| <= K ||X - Y||].  When
    [||X - Y|| = +infinity] the inequality holds trivially; when
    [||X - Y|| = r] is finite, [||U(X) - U(Y)||] must be finite, [= s], with
    [s <= K r].  (The paper also asks [K > 0]; no statement below needs it.) *)
Definition P2K (K : R) (U : update_rule) : Prop :=
  forall X Y r, coll_norm_diff X Y r ->
    exists s, coll_norm_diff (U X) (U Y) s /\ s <= K * r.

(** (P2') altered K-continuity, Appendix D, eq. (58):
    [sup_i ||U_i(X) - U_i(Y)|| <= K/2 ||X - Y||], i.e. the bound for every [i]
    (trivial when [||X - Y|| = +infinity]). *)
Definition P2' (K : R) (U : update_rule) : Prop :=
  forall X Y r, coll_norm_diff X Y r ->
    forall i, vnorm (vsub (U X i) (U Y i)) <= K / 2 * r.

(** One step of the dynamics, eq. (4): [x_i^(t+1) = x_i^(t) + eta U_i(X^(t))].
    The time [t] is fixed throughout: [U] stands for [U^(t)], [X] for [X^(t)]
    and [step U eta X] for [X^(t+1)]. *)
Definition step (U : update_rule) (eta : R) (X : collection) : collection :=
  fun k => vadd (X k) (vscal eta (U X k)).

(** The neuron set [S = {x_i | i in I}] (Section 4.1), as a predicate on [V]. *)
Definition neuron_set (X : collection) (v : V) : Prop := exists i, X i = v.

(** The induced map [U_hat : S^(t) -> S^(t+1)], [U_hat(x_i^(t)) = x_i^(t+1)]
    (eq. 8), given by its graph: [induced U eta X v w] iff [v = x_i^(t)] and
    [w = x_i^(t+1)] for some [i].  "U_hat is well defined" is the statement
    that this relation is functional. *)
Definition induced (U : update_rule) (eta : R) (X : collection) (v w : V) : Prop :=
  exists i, X i = v /\ step U eta X i = w.

End Collections.
