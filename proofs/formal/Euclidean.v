(** * The paper's own setting: [R^D] with the Euclidean norm

    [RD D] is [R^D] (nested pairs [R * (R * ... unit)]), with the Euclidean
    norm [||v|| = sqrt (v_1^2 + ... + v_D^2)].  [Euclidean D] proves that it
    is a [NormedSpace] (the triangle inequality through Cauchy-Schwarz), so
    every theorem of [Lemmas.v] holds verbatim for collections
    [X in (R^D)^I]; the [*_euclidean] corollaries spell this out for
    Lemmas 2 and 4 and Theorem 1 (iii). *)

From Coq Require Import Reals Lra Psatz.
From Invariance Require Import Setting Lemmas.
Open Scope R_scope.

Fixpoint RD (D : nat) : Type :=
  match D with O => unit | S n => (R * RD n)%type end.

Fixpoint rd_zero (D : nat) : RD D :=
  match D return RD D with O => tt | S n => (0, rd_zero n) end.

Fixpoint rd_add (D : nat) : RD D -> RD D -> RD D :=
  match D return RD D -> RD D -> RD D with
  | O => fun _ _ => tt
  | S n => fun u v => (fst u + fst v, rd_add n (snd u) (snd v))
  end.

Fixpoint rd_opp (D : nat) : RD D -> RD D :=
  match D return RD D -> RD D with
  | O => fun _ => tt
  | S n => fun u => (- fst u, rd_opp n (snd u))
  end.

Fixpoint rd_scal (D : nat) (c : R) : RD D -> RD D :=
  match D return RD D -> RD D with
  | O => fun _ => tt
  | S n => fun u => (c * fst u, rd_scal n c (snd u))
  end.

(** [v_1^2 + ... + v_D^2] and [u . v]. *)
Fixpoint rd_sumsq (D : nat) : RD D -> R :=
  match D return RD D -> R with
  | O => fun _ => 0
  | S n => fun u => Rsqr (fst u) + rd_sumsq n (snd u)
  end.

Fixpoint rd_dot (D : nat) : RD D -> RD D -> R :=
  match D return RD D -> RD D -> R with
  | O => fun _ _ => 0
  | S n => fun u v => fst u * fst v + rd_dot n (snd u) (snd v)
  end.

(** The Euclidean norm. *)
Definition rd_norm (D : nat) (u : RD D) : R := sqrt (rd_sumsq D u).

Lemma rd_add_assoc (D : nat) u v w : rd_add D u (rd_add D v w) = rd_add D (rd_add D u v) w.
Proof.
  induction D as [|n IH]; simpl; [reflexivity|].
  destruct u, v, w; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_add_comm (D : nat) u v : rd_add D u v = rd_add D v u.
Proof.
  induction D as [|n IH]; simpl; [reflexivity|].
  destruct u, v; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_add_zero_r (D : nat) u : rd_add D u (rd_zero D) = u.
Proof.
  induction D as [|n IH]; simpl; [destruct u; reflexivity|].
  destruct u; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_add_opp_r (D : nat) u : rd_add D u (rd_opp D u) = rd_zero D.
Proof.
  induction D as [|n IH]; simpl; [reflexivity|].
  destruct u; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_scal_one (D : nat) u : rd_scal D 1 u = u.
Proof.
  induction D as [|n IH]; simpl; [destruct u; reflexivity|].
  destruct u; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_scal_assoc (D : nat) a b u : rd_scal D a (rd_scal D b u) = rd_scal D (a * b) u.
Proof.
  induction D as [|n IH]; simpl; [reflexivity|].
  destruct u; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_scal_distr_vec (D : nat) a u v : rd_scal D a (rd_add D u v) = rd_add D (rd_scal D a u) (rd_scal D a v).
Proof.
  induction D as [|n IH]; simpl; [reflexivity|].
  destruct u, v; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_scal_distr_scal (D : nat) a b u : rd_scal D (a + b) u = rd_add D (rd_scal D a u) (rd_scal D b u).
Proof.
  induction D as [|n IH]; simpl; [reflexivity|].
  destruct u; simpl. f_equal; [ring | apply IH].
Qed.

Lemma rd_sumsq_nonneg (D : nat) u : 0 <= rd_sumsq D u.
Proof.
  induction D as [|n IH]; simpl; [lra|].
  destruct u; simpl. pose proof (Rle_0_sqr r). pose proof (IH r0). lra.
Qed.

Lemma rd_sumsq_add (D : nat) u v :
  rd_sumsq D (rd_add D u v) = rd_sumsq D u + 2 * rd_dot D u v + rd_sumsq D v.
Proof.
  induction D as [|n IH]; simpl; [ring|].
  destruct u, v; simpl. rewrite IH. unfold Rsqr. ring.
Qed.

Lemma rd_sumsq_scal (D : nat) c u : rd_sumsq D (rd_scal D c u) = Rsqr c * rd_sumsq D u.
Proof.
  induction D as [|n IH]; simpl; [ring|].
  destruct u; simpl. rewrite IH. unfold Rsqr. ring.
Qed.

(** Cauchy-Schwarz: [(u . v)^2 <= ||u||^2 ||v||^2]. *)
Lemma rd_cauchy_schwarz (D : nat) u v : Rsqr (rd_dot D u v) <= rd_sumsq D u * rd_sumsq D v.
Proof.
  induction D as [|n IH]; simpl; [unfold Rsqr; lra|].
  destruct u as [a u], v as [b v]; simpl.
  specialize (IH u v).
  pose proof (rd_sumsq_nonneg n u) as HA. pose proof (rd_sumsq_nonneg n v) as HB.
  set (A := rd_sumsq n u) in *. set (B := rd_sumsq n v) in *. set (d := rd_dot n u v) in *.
  unfold Rsqr in *.
  (* 2 a b d <= a^2 B + A b^2, since (2abd)^2 <= 4 a^2 b^2 A B <= (a^2 B + A b^2)^2 *)
  assert (Hsq : (2 * a * b * d) * (2 * a * b * d) <= (a * a * B + A * b * b) * (a * a * B + A * b * b)).
  { assert (H1 : (2 * a * b * d) * (2 * a * b * d) <= 4 * (a * a * b * b) * (A * B)).
    { replace ((2 * a * b * d) * (2 * a * b * d)) with (4 * (a * a * b * b) * (d * d)) by ring.
      apply Rmult_le_compat_l; [nra | exact IH]. }
    assert (E : (a * a * B + A * b * b) * (a * a * B + A * b * b)
                = (a * a * B - A * b * b) * (a * a * B - A * b * b) + 4 * (a * a * b * b) * (A * B))
      by ring.
    pose proof (Rle_0_sqr (a * a * B - A * b * b)) as Hs. unfold Rsqr in Hs. lra. }
  assert (Hpos : 0 <= a * a * B + A * b * b) by nra.
  assert (Hcross : 2 * a * b * d <= a * a * B + A * b * b).
  { destruct (Rle_or_lt (2 * a * b * d) 0) as [H|H]; [lra|].
    apply Rsqr_incr_0_var; [unfold Rsqr; exact Hsq | exact Hpos]. }
  nra.
Qed.

Lemma rd_dot_le (D : nat) u v : rd_dot D u v <= rd_norm D u * rd_norm D v.
Proof.
  unfold rd_norm. rewrite <- sqrt_mult by apply rd_sumsq_nonneg.
  eapply Rle_trans; [apply Rle_abs|].
  rewrite <- sqrt_Rsqr_abs. apply sqrt_le_1_alt. apply rd_cauchy_schwarz.
Qed.

Lemma rd_norm_nonneg (D : nat) u : 0 <= rd_norm D u.
Proof. apply sqrt_pos. Qed.

Lemma rd_norm_triangle (D : nat) u v : rd_norm D (rd_add D u v) <= rd_norm D u + rd_norm D v.
Proof.
  pose proof (rd_norm_nonneg D u). pose proof (rd_norm_nonneg D v).
  rewrite <- (sqrt_Rsqr (rd_norm D u + rd_norm D v)) by lra.
  unfold rd_norm at 1. apply sqrt_le_1_alt.
  rewrite rd_sumsq_add. pose proof (rd_dot_le D u v).
  assert (Hu : Rsqr (rd_norm D u) = rd_sumsq D u)
    by (unfold rd_norm; apply Rsqr_sqrt, rd_sumsq_nonneg).
  assert (Hv : Rsqr (rd_norm D v) = rd_sumsq D v)
    by (unfold rd_norm; apply Rsqr_sqrt, rd_sumsq_nonneg).
  rewrite Rsqr_plus, Hu, Hv. lra.
Qed.

Lemma rd_norm_scal (D : nat) c u : rd_norm D (rd_scal D c u) = Rabs c * rd_norm D u.
Proof.
  unfold rd_norm. rewrite rd_sumsq_scal, sqrt_mult by (apply Rle_0_sqr || apply rd_sumsq_nonneg).
  rewrite sqrt_Rsqr_abs. reflexivity.
Qed.

Lemma rd_sumsq_zero (D : nat) u : rd_sumsq D u = 0 -> u = rd_zero D.
Proof.
  induction D as [|n IH]; simpl; [destruct u; reflexivity|].
  destruct u as [a u]; simpl. intro H.
  pose proof (Rle_0_sqr a). pose proof (rd_sumsq_nonneg n u).
  f_equal.
  - apply Rsqr_0_uniq. lra.
  - apply IH. lra.
Qed.

Lemma rd_norm_definite (D : nat) u : rd_norm D u = 0 -> u = rd_zero D.
Proof.
  unfold rd_norm. intro H. apply rd_sumsq_zero.
  apply sqrt_eq_0; [apply rd_sumsq_nonneg | exact H].
Qed.

(** [R^D] with the Euclidean norm is a real normed space. *)
Definition Euclidean (D : nat) : NormedSpace := {|
  vec := RD D; vzero := rd_zero D; vadd := rd_add D; vopp := rd_opp D;
  vscal := rd_scal D; vnorm := rd_norm D;
  vadd_assoc := rd_add_assoc D;
  vadd_comm := rd_add_comm D;
  vadd_zero_r := rd_add_zero_r D;
  vadd_opp_r := rd_add_opp_r D;
  vscal_one := rd_scal_one D;
  vscal_assoc := rd_scal_assoc D;
  vscal_distr_vec := rd_scal_distr_vec D;
  vscal_distr_scal := rd_scal_distr_scal D;
  vnorm_triangle := rd_norm_triangle D;
  vnorm_scal := rd_norm_scal D;
  vnorm_definite := rd_norm_definite D
|}.

(** The main statements in the paper's setting [(R^D)^I], Euclidean norm. *)
Corollary lemma4_euclidean (D : nat) (I : Type) (I_eq_dec : forall a b : I, {a = b} + {a <> b})
    (U : @update_rule (Euclidean D) I) (K : R) :
  P1 U -> P2K K U -> forall (X : @collection (Euclidean D) I) (i j : I),
  i <> j -> rd_norm D (vsub (U X i) (U X j)) <= K * rd_norm D (vsub (X i) (X j)).
Proof. exact (lemma4 I_eq_dec U K). Qed.

Corollary lemma2_euclidean (D : nat) (I : Type) (I_eq_dec : forall a b : I, {a = b} + {a <> b})
    (U : @update_rule (Euclidean D) I) (K eta : R) :
  P1 U -> P2K K U -> 0 <= eta -> forall (X : @collection (Euclidean D) I) (i j : I), i <> j ->
  (1 - eta * K) * rd_norm D (vsub (X i) (X j)) <= rd_norm D (vsub (step U eta X i) (step U eta X j)) <=
  (1 + eta * K) * rd_norm D (vsub (X i) (X j)).
Proof. exact (lemma2 I_eq_dec U K eta). Qed.

Corollary theorem1_iii_euclidean (D : nat) (I : Type) (I_eq_dec : forall a b : I, {a = b} + {a <> b})
    (U : @update_rule (Euclidean D) I) (K eta : R) :
  P1 U -> P2K K U -> 0 <= eta -> eta * K < 1 -> forall X : @collection (Euclidean D) I,
  bijection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X) /\
  lipschitz (1 + eta * K) (induced U eta X) /\
  lipschitz (1 / (1 - eta * K)) (inverse (induced U eta X)) /\
  uniformly_continuous (induced U eta X) /\
  uniformly_continuous (inverse (induced U eta X)).
Proof. exact (theorem1_iii I_eq_dec U K eta). Qed.
