(** * Theorem 1 as stated: a homeomorphism for the subspace topology.

    [Lemmas.v] proves Theorem 1 (iii) in metric form (a bijection, Lipschitz both
    ways, uniformly continuous both ways).  Here the topology is the paper's own:
    [S^(t)] and [S^(t+1)] carry the subspace topology of the norm topology of [V]
    (a set [O] is open in [S] iff [O = S /\ O'] for an open [O'] of [V]), and a
    map is continuous iff the preimage of every open set is open.  We prove that
    every uniformly continuous total map between subsets is continuous in this
    sense, so that
    - [theorem1_i_topological]: for [0 <= eta], [U_hat] is a continuous surjection
      (Theorem 1 (i));
    - [theorem1_homeomorphism]: for [eta K < 1], [U_hat] is a homeomorphism of
      [S^(t)] onto [S^(t+1)] (Theorem 1 (iii), as stated).
    No axiom beyond those of [Reals]; no choice (the open set [O'] is given by an
    explicit predicate). *)

From Coq Require Import Reals Lra.
From Invariance Require Import Setting Lemmas.
Open Scope R_scope.

Section Subspace.
Context {V : NormedSpace}.

(** Open sets of [V] for the norm topology. *)
Definition open_set (O : V -> Prop) : Prop :=
  forall v, O v -> exists e, 0 < e /\ forall w, vnorm (vsub w v) < e -> O w.

(** Open sets of the subspace [S]: traces [S /\ O'] of open sets [O'] of [V]. *)
Definition subspace_open (S O : V -> Prop) : Prop :=
  exists O', open_set O' /\ forall v, O v <-> S v /\ O' v.

(** The preimage of [O] under the function with graph [Rel]. *)
Definition preimage (Rel : V -> V -> Prop) (O : V -> Prop) : V -> Prop :=
  fun v => exists w, Rel v w /\ O w.

(** Continuity from [S] to [S'] (both with the subspace topology): preimages of open
    sets are open. *)
Definition continuous_map (S S' : V -> Prop) (Rel : V -> V -> Prop) : Prop :=
  forall O, subspace_open S' O -> subspace_open S (preimage Rel O).

(** A homeomorphism: a bijection, continuous, with a continuous inverse. *)
Definition homeomorphism (S S' : V -> Prop) (Rel : V -> V -> Prop) : Prop :=
  bijection S S' Rel /\ continuous_map S S' Rel /\ continuous_map S' S (inverse Rel).

Lemma vnorm_sub_triangle (u w v : V) : vnorm (vsub u v) <= vnorm (vsub u w) + vnorm (vsub w v).
Proof.
  replace (vsub u v) with (vadd (vsub u w) (vsub w v)).
  - apply vnorm_triangle.
  - unfold vsub. rewrite <- vadd_assoc. f_equal.
    rewrite vadd_assoc, vadd_opp_l, vadd_zero_l. reflexivity.
Qed.

(** The ball of radius [d] about [v] lies, within [S], in the preimage. *)
Definition preimage_ball (S : V -> Prop) (Rel : V -> V -> Prop) (O : V -> Prop) (u : V) : Prop :=
  exists v d, preimage Rel O v /\ 0 < d /\
    (forall w, S w -> vnorm (vsub w v) < d -> preimage Rel O w) /\ vnorm (vsub u v) < d.

Lemma preimage_ball_open S Rel O : open_set (preimage_ball S Rel O).
Proof.
  intros u [v [d [Hv [Hd [Hball Hu]]]]].
  exists (d - vnorm (vsub u v)). split; [lra|].
  intros w Hw. exists v, d. repeat split; try assumption.
  pose proof (vnorm_sub_triangle w u v). lra.
Qed.

(** A uniformly continuous map defined on all of [S], with values in [S'], is continuous. *)
Lemma uniformly_continuous_continuous (S S' : V -> Prop) (Rel : V -> V -> Prop) :
  maps_into S S' Rel -> total_on S Rel -> uniformly_continuous Rel -> continuous_map S S' Rel.
Proof.
  intros Hinto Htotal Huc O [O' [Hopen HO]].
  exists (preimage_ball S Rel O). split; [apply preimage_ball_open|].
  intro v. split.
  - intros [w [Hvw Hw]]. split; [exact (proj1 (Hinto v w Hvw))|].
    destruct (proj1 (HO w) Hw) as [HS'w HO'w].
    destruct (Hopen w HO'w) as [e [He Hball]].
    destruct (Huc e He) as [d [Hd Hdelta]].
    exists v, d. repeat split; try assumption.
    + exists w. split; assumption.
    + intros w' HSw' Hclose.
      destruct (Htotal w' HSw') as [w2 Hw2].
      exists w2. split; [exact Hw2|].
      apply (proj2 (HO w2)). split; [exact (proj2 (Hinto w' w2 Hw2))|].
      apply Hball. exact (Hdelta w' w2 v w Hw2 Hvw Hclose).
    + rewrite vsub_self, vnorm_zero. exact Hd.
  - intros [HSv [v0 [d [_ [_ [Hball Hv]]]]]]. exact (Hball v HSv Hv).
Qed.

End Subspace.

Section Theorem1.
Context {V : NormedSpace} {I : Type}.
Hypothesis I_eq_dec : forall a b : I, {a = b} + {a <> b}.

(** Theorem 1 (i): for [0 <= eta], [U_hat] is a continuous surjection of [S^(t)] onto
    [S^(t+1)] (subspace topologies). *)
Theorem theorem1_i_topological (U : @update_rule V I) (K eta : R) (HP1 : P1 U) (HP2 : P2K K U)
    (Heta : 0 <= eta) (X : collection) :
  surjection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X) /\
  continuous_map (neuron_set X) (neuron_set (step U eta X)) (induced U eta X).
Proof.
  destruct (theorem1_i I_eq_dec U K eta HP1 HP2 Heta X) as [Hs [_ Huc]].
  split; [exact Hs|].
  destruct Hs as [Hinto [Htotal _]].
  apply uniformly_continuous_continuous; assumption.
Qed.

(** Theorem 1 (iii), as stated: for [eta K < 1], [U_hat] is a homeomorphism of [S^(t)]
    onto [S^(t+1)] (subspace topologies). *)
Theorem theorem1_homeomorphism (U : @update_rule V I) (K eta : R) (HP1 : P1 U) (HP2 : P2K K U)
    (Heta : 0 <= eta) (HetaK : eta * K < 1) (X : collection) :
  homeomorphism (neuron_set X) (neuron_set (step U eta X)) (induced U eta X).
Proof.
  destruct (theorem1_iii I_eq_dec U K eta HP1 HP2 Heta HetaK X) as [Hb [_ [_ [Huc Huci]]]].
  split; [exact Hb|].
  destruct Hb as [[Hinto [Htotal [_ Honto]]] _].
  split.
  - apply uniformly_continuous_continuous; assumption.
  - apply uniformly_continuous_continuous; [| |exact Huci].
    + intros w v Hwv. destruct (Hinto v w Hwv). split; assumption.
    + intros w Hw. destruct (Honto w Hw) as [v Hv]. exists v. exact Hv.
Qed.

End Theorem1.
