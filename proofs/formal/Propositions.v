(** * Propositions 1 and 3: gradient descent and Adam (stateless form) are P1.

    - The gradient.  For a loss [L : (V)^I -> R], [G] is a gradient of [L] for the
      pairing [pair : V -> V -> R] (the inner product of [R^D] in the paper; here any
      pairing that separates points, [nondegenerate]) when, for every collection
      [X], neuron [i] and direction [h], the derivative at [s = 0] of
      [s |-> L(X + s h e_i)] ([bump X i (s h)]: only neuron [i] moves) is
      [pair (G X i) h] ([is_gradient]).  This is what [nabla_i L(X)] means in eq. (10),
      with the derivative of Coq's standard library ([derivable_pt_lim]).
    - [proposition1]: if [L] is FSym-symmetric ([L(PX) = L(X)]), gradient descent
      [U(X) = - G(X)] (eq. 10) satisfies P1.
    - [proposition3]: Adam in the stateless form of Section 5.2, on particles
      [(theta_i, m_i, v_i)] of real neurons, with eq. (16) re-indexed as
      [torch.optim.Adam] computes it (new moments [m' = b1 m + (1 - b1) g],
      [v' = b2 v + (1 - b2) g^2], bias corrections with exponent [t + 1]), is P1
      whenever the gradient field is P1, hence ([proposition3_symmetric]) whenever
      the loss is symmetric.  The state's update is [U_m = (m' - m) / lr],
      [U_v = (v' - v) / lr] (so that [x + lr U] is the new particle).
    P1 involves no norm, so for particles (which are not elements of a normed space
    here) it is stated for collections of any type ([equivariant]); for a normed
    space it is [P1] itself ([P1_equivariant]). *)

From Coq Require Import Reals Lra FunctionalExtensionality.
From Invariance Require Import Setting Examples.
Open Scope R_scope.

Section Equivariance.
Context {I : Type}.

(** P1 for collections [I -> A] of any type [A]: [(U X)_{p(i)} = (U (P X))_i]. *)
Definition equivariant {A : Type} (U : (I -> A) -> (I -> A)) : Prop :=
  forall p X, finitary_permutation p -> forall i, U X (p i) = U (fun k => X (p k)) i.

Lemma P1_equivariant {V : NormedSpace} (U : @update_rule V I) : P1 U <-> equivariant U.
Proof. split; intros H p X Hp i; exact (H p X Hp i). Qed.

End Equivariance.

Section Proposition1.
Context {V : NormedSpace} {I : Type}.
Hypothesis I_eq_dec : forall a b : I, {a = b} + {a <> b}.

(** [X + u e_i]: neuron [i] moved by [u], the others kept. *)
Definition bump (X : @collection V I) (i : I) (u : V) : collection :=
  fun k => if I_eq_dec k i then vadd (X k) u else X k.

Definition nondegenerate (pair : V -> V -> R) : Prop :=
  forall a b, (forall h, pair a h = pair b h) -> a = b.

Definition is_gradient (pair : V -> V -> R) (L : @collection V I -> R) (G : @update_rule V I) : Prop :=
  forall X i h, derivable_pt_lim (fun s => L (bump X i (vscal s h))) 0 (pair (G X i) h).

Definition symmetric_loss (L : @collection V I -> R) : Prop :=
  forall p X, finitary_permutation p -> L (perm_act p X) = L X.

(** Gradient descent, eq. (10): [U(X) = - nabla L(X)]. *)
Definition gradient_descent (G : @update_rule V I) : update_rule := fun X k => vopp (G X k).

(** Moving neuron [p(i)] of [X] and permuting is moving neuron [i] of [P X]. *)
Lemma bump_perm (p : I -> I) (X : collection) (i : I) (u : V) :
  finitary_permutation p -> bump (perm_act p X) i u = perm_act p (bump X (p i) u).
Proof.
  intros [[q [Hqp _]] _]. apply functional_extensionality. intro k.
  unfold bump, perm_act.
  destruct (I_eq_dec k i) as [Hk|Hk], (I_eq_dec (p k) (p i)) as [Hpk|Hpk].
  - reflexivity.
  - exfalso. apply Hpk. rewrite Hk. reflexivity.
  - exfalso. apply Hk. rewrite <- (Hqp k), <- (Hqp i), Hpk. reflexivity.
  - reflexivity.
Qed.

(** The gradient of a symmetric loss is equivariant: [nabla_{p(i)} L(X) = nabla_i L(PX)]. *)
Lemma gradient_equivariant (pair : V -> V -> R) (L : collection -> R) (G : update_rule) :
  nondegenerate pair -> symmetric_loss L -> is_gradient pair L G -> P1 G.
Proof.
  intros Hnd Hsym Hgrad p X Hp i. unfold perm_act at 1.
  apply Hnd. intro h.
  apply (uniqueness_limite (fun s => L (bump X (p i) (vscal s h))) 0).
  - apply Hgrad.
  - assert (Hf : (fun s => L (bump (perm_act p X) i (vscal s h))) = (fun s => L (bump X (p i) (vscal s h)))).
    { apply functional_extensionality. intro s. rewrite bump_perm by exact Hp. apply Hsym. exact Hp. }
    rewrite <- Hf. apply Hgrad.
Qed.

(** Proposition 1: gradient descent on a symmetric loss satisfies P1. *)
Theorem proposition1 (pair : V -> V -> R) (L : collection -> R) (G : update_rule) :
  nondegenerate pair -> symmetric_loss L -> is_gradient pair L G -> P1 (gradient_descent G).
Proof.
  intros Hnd Hsym Hgrad p X Hp i. unfold gradient_descent, perm_act.
  f_equal. exact (gradient_equivariant pair L G Hnd Hsym Hgrad p X Hp i).
Qed.

End Proposition1.

Section Proposition3.
Context {I : Type}.

(** A particle [(theta, m, v)] of a real neuron. *)
Definition particle : Type := (R * R * R)%type.
Definition theta_of (z : particle) : R := fst (fst z).

(** One Adam step on one particle, as [torch.optim.Adam] (eq. 16 re-indexed): with
    the gradient [g], new moments, bias corrections with exponent [t + 1], and the
    update [U] such that [z + lr U] is the new particle. *)
Definition adam_update (b1 b2 eps lr : R) (t : nat) (g : R) (z : particle) : particle :=
  let '(th, m, v) := z in
  let m' := b1 * m + (1 - b1) * g in
  let v' := b2 * v + (1 - b2) * g * g in
  let mhat := m' / (1 - b1 ^ S t) in
  let vhat := v' / (1 - b2 ^ S t) in
  (- (mhat / (sqrt vhat + eps)), (m' - m) / lr, (v' - v) / lr).

(** Adam in stateless form (Section 5.2) for the gradient field [G] on the parameters. *)
Definition stateless_adam (b1 b2 eps lr : R) (t : nat) (G : @update_rule R_space I) : (I -> particle) -> I -> particle :=
  fun Z k => adam_update b1 b2 eps lr t (G (fun j => theta_of (Z j)) k) (Z k).

(** Proposition 3: Adam's stateless form is P1 on the particles when the gradient field is. *)
Theorem proposition3 (b1 b2 eps lr : R) (t : nat) (G : @update_rule R_space I) :
  P1 G -> equivariant (stateless_adam b1 b2 eps lr t G).
Proof.
  intros HG p Z Hp i. unfold stateless_adam. f_equal.
  exact (HG p (fun j => theta_of (Z j)) Hp i).
Qed.

(** With Proposition 1: Adam on a symmetric loss is P1. *)
Corollary proposition3_symmetric (I_eq_dec : forall a b : I, {a = b} + {a <> b})
    (pair : R_space -> R_space -> R) (L : @collection R_space I -> R) (G : @update_rule R_space I)
    (b1 b2 eps lr : R) (t : nat) :
  @nondegenerate R_space pair -> symmetric_loss L -> is_gradient I_eq_dec pair L G ->
  equivariant (stateless_adam b1 b2 eps lr t G).
Proof.
  intros Hnd Hsym Hgrad. apply proposition3.
  exact (gradient_equivariant I_eq_dec pair L G Hnd Hsym Hgrad).
Qed.

End Proposition3.

(** ** The hypotheses of Proposition 1 hold, and are needed

    Two real neurons ([I = bool]), the pairing [pair a h = a h] of [R]:
    - [proposition1_instance]: the symmetric loss [L(X) = x_1^2 + x_2^2] has the
      gradient [G(X)_i = 2 x_i], and gradient descent on it is P1;
    - [asymmetric_gradient_descent_not_P1]: the loss [L(X) = x_1^2], which is not
      symmetric, has the gradient [(2 x_1, 0)], and gradient descent on it is not P1. *)
Section Proposition1Examples.

Definition rpair : R_space -> R_space -> R := Rmult.

Lemma rpair_nondegenerate : @nondegenerate R_space rpair.
Proof. intros a b H. pose proof (H 1) as H1. unfold rpair in H1. simpl in H1. lra. Qed.

Definition two_sq_loss (X : @collection R_space bool) : R := X true * X true + X false * X false.
Definition two_sq_gradient : @update_rule R_space bool := fun X k => 2 * X k.

Definition one_sq_loss (X : @collection R_space bool) : R := X true * X true.
Definition one_sq_gradient : @update_rule R_space bool := fun X k => if k then 2 * X k else 0.

(** [s |-> (a + s h)^2] has derivative [2 a h] at 0. *)
Lemma derive_square_shift (a h : R) : derivable_pt_lim (fun s => (a + s * h) * (a + s * h)) 0 (2 * a * h).
Proof.
  assert (Hsh := derivable_pt_lim_scal_right id 0 1 h (derivable_pt_lim_id 0)).
  rewrite Rmult_1_l in Hsh.
  assert (Hl := derivable_pt_lim_plus (fun _ => a) (fun s => id s * h) 0 0 h (derivable_pt_lim_const a 0) Hsh).
  rewrite Rplus_0_l in Hl.
  replace (2 * a * h) with (h * (a + 0 * h) + (a + 0 * h) * h) by ring.
  apply (derivable_pt_lim_mult (fun s => a + s * h) (fun s => a + s * h)); exact Hl.
Qed.

Lemma two_sq_is_gradient : is_gradient Bool.bool_dec rpair two_sq_loss two_sq_gradient.
Proof.
  intros X i h. unfold two_sq_loss, two_sq_gradient, rpair, bump. simpl.
  destruct i; simpl.
  - replace (2 * X true * h) with (2 * X true * h + 0) by ring.
    apply (derivable_pt_lim_plus (fun s => (X true + s * h) * (X true + s * h)) (fun _ => X false * X false)).
    + apply derive_square_shift.
    + apply derivable_pt_lim_const.
  - replace (2 * X false * h) with (0 + 2 * X false * h) by ring.
    apply (derivable_pt_lim_plus (fun _ => X true * X true) (fun s => (X false + s * h) * (X false + s * h))).
    + apply derivable_pt_lim_const.
    + apply derive_square_shift.
Qed.

Lemma two_sq_symmetric : @symmetric_loss R_space bool two_sq_loss.
Proof.
  intros p X [[q [Hqp _]] _]. unfold two_sq_loss, perm_act.
  destruct (p true) eqn:Ht, (p false) eqn:Hf.
  - exfalso. pose proof (Hqp true) as A. pose proof (Hqp false) as B. rewrite Ht in A. rewrite Hf in B. congruence.
  - reflexivity.
  - ring.
  - exfalso. pose proof (Hqp true) as A. pose proof (Hqp false) as B. rewrite Ht in A. rewrite Hf in B. congruence.
Qed.

Theorem proposition1_instance : P1 (gradient_descent two_sq_gradient).
Proof.
  exact (proposition1 Bool.bool_dec rpair two_sq_loss two_sq_gradient
           rpair_nondegenerate two_sq_symmetric two_sq_is_gradient).
Qed.

Lemma one_sq_is_gradient : is_gradient Bool.bool_dec rpair one_sq_loss one_sq_gradient.
Proof.
  intros X i h. unfold one_sq_loss, one_sq_gradient, rpair, bump. simpl.
  destruct i; simpl.
  - apply derive_square_shift.
  - replace (0 * h) with 0 by ring. apply derivable_pt_lim_const.
Qed.

Lemma swap_bool_finitary : finitary_permutation negb.
Proof.
  split.
  - exists negb. split; intro k; destruct k; reflexivity.
  - exists (cons true (cons false nil)). intros k _. destruct k; simpl; auto.
Qed.

Theorem asymmetric_gradient_descent_not_P1 :
  ~ @symmetric_loss R_space bool one_sq_loss /\ ~ P1 (gradient_descent one_sq_gradient).
Proof.
  split.
  - intro H. pose proof (H negb (fun k => if k then 1 else 0) swap_bool_finitary) as E.
    unfold one_sq_loss, perm_act in E. simpl in E. lra.
  - intro H. pose proof (H negb (fun k => if k then 1 else 0) swap_bool_finitary false) as E.
    unfold gradient_descent, one_sq_gradient, perm_act in E. simpl in E. lra.
Qed.

End Proposition1Examples.
