(** * Theorem 2 for finitely supported measures.

    A measure [m] on the index set [I] with finite support is a list of weighted
    indices [(i_1, w_1); ...; (i_n, w_n)], i.e. [m = sum_k w_k delta_{i_k}] (an index
    may repeat; weights are any reals, so signed measures are covered too).  Its
    push-forward by the collection [X] is the measure [mu^(t)] on [V] of the paper,
    [mu^(t)(A) = m {i | x_i in A}] (eq. 43), evaluated on a set [A] with decidable
    membership ([push m X A decA]).

    [theorem2]: under P1 and P2-K with [eta K < 1], [U_hat] is a bijection of [S^(t)]
    onto [S^(t+1)] that preserves the measures both ways, eqs. (42)-(46):
    [mu^(t+1)(A) = mu^(t)(U_hat^{-1}(A))] and [mu^(t)(B) = mu^(t+1)(U_hat(B))] for
    every such set, where [U_hat^{-1}(A)] (resp. [U_hat(B)]) is any decidable set
    that agrees with the preimage (image) on [S^(t)] (on [S^(t+1)]).
    The first equality needs only P1 (Lemma 1: [U_hat] is well defined), the second
    also injectivity (Lemma 3, [eta K < 1]). *)

From Coq Require Import Reals Lra List.
From Invariance Require Import Setting Lemmas.
Import ListNotations.
Open Scope R_scope.

Section Measure.
Context {V : NormedSpace} {I : Type}.

(** [sum_k w_k delta_{i_k}]: a finitely supported measure on [I]. *)
Definition finite_measure := list (I * R).

(** [mu(A) = m {i | x_i in A}], the push-forward of [m] by [X], on a decidable [A]. *)
Fixpoint push (m : finite_measure) (X : @collection V I) (A : V -> Prop)
    (decA : forall v, {A v} + {~ A v}) : R :=
  match m with
  | [] => 0
  | (i, w) :: m' => (if decA (X i) then w else 0) + push m' X A decA
  end.

(** Two decidable sets that agree at every [x_i] (resp. [y_i]) give the same value. *)
Lemma push_agree (m : finite_measure) (X Y : @collection V I) (A B : V -> Prop)
    (decA : forall v, {A v} + {~ A v}) (decB : forall v, {B v} + {~ B v}) :
  (forall i, B (X i) <-> A (Y i)) -> push m X B decB = push m Y A decA.
Proof.
  intro H. induction m as [|[i w] m IH]; simpl; [reflexivity|].
  rewrite IH. f_equal.
  destruct (decB (X i)) as [HB|HB], (decA (Y i)) as [HA|HA]; try reflexivity.
  - exfalso. exact (HA (proj1 (H i) HB)).
  - exfalso. exact (HB (proj2 (H i) HA)).
Qed.

End Measure.

Section Theorem2.
Context {V : NormedSpace} {I : Type}.
Hypothesis I_eq_dec : forall a b : I, {a = b} + {a <> b}.

Theorem theorem2 (U : @update_rule V I) (K eta : R) (HP1 : P1 U) (HP2 : P2K K U)
    (Heta : 0 <= eta) (HetaK : eta * K < 1) (X : collection) (m : finite_measure) :
  bijection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X) /\
  (forall (A B : V -> Prop) (decA : forall v, {A v} + {~ A v}) (decB : forall v, {B v} + {~ B v}),
     (forall v, neuron_set X v -> (B v <-> exists w, induced U eta X v w /\ A w)) ->
     push m (step U eta X) A decA = push m X B decB) /\
  (forall (A B : V -> Prop) (decA : forall v, {A v} + {~ A v}) (decB : forall v, {B v} + {~ B v}),
     (forall w, neuron_set (step U eta X) w -> (A w <-> exists v, induced U eta X v w /\ B v)) ->
     push m X B decB = push m (step U eta X) A decA).
Proof.
  destruct (theorem1_iii I_eq_dec U K eta HP1 HP2 Heta HetaK X) as [Hb _].
  pose proof Hb as [[_ [_ [Hfun _]]] Hinj].
  assert (Hi : forall i, induced U eta X (X i) (step U eta X i)) by (intro i; exists i; split; reflexivity).
  split; [exact Hb|]. split.
  - intros A B decA decB Hpre. symmetry. apply push_agree. intro i.
    rewrite (Hpre (X i) (ex_intro _ i eq_refl)). split.
    + intros [w [Hw HA]]. rewrite (Hfun _ _ _ (Hi i) Hw). exact HA.
    + intro HA. exists (step U eta X i). split; [apply Hi | exact HA].
  - intros A B decA decB Himg. apply push_agree. intro i.
    rewrite (Himg (step U eta X i) (ex_intro _ i eq_refl)). split.
    + intro HB. exists (X i). split; [apply Hi | exact HB].
    + intros [v [Hv HB]]. rewrite (Hinj _ _ _ (Hi i) Hv). exact HB.
Qed.

End Theorem2.
