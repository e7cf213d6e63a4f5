(** Prints the statement ([Check]) of the main theorems and of the helper
    lemmas they rest on, and the axioms ([Print Assumptions]) of every main
    theorem (each [Print Assumptions] takes about a second, so the helpers,
    whose axioms are included in those of the theorems that use them, are
    only [Check]ed).  [build.sh] captures this output in [assumptions.txt];
    [property_tests/test_formal.py] checks that every axiom listed is on the
    allow-list (the axioms of Coq's Reals library).  Each block starts with
    the marker [Check "name"%string], which no [Print Assumptions] output can
    imitate. *)

From Coq Require Import Reals String.
From Invariance Require Import Setting CollectionNorm Lemmas Examples Euclidean Topology Measure Propositions.
Open Scope R_scope.

Set Printing Width 100.

Check "coll_norm_diff_unique"%string.
Check @coll_norm_diff_unique.
Print Assumptions coll_norm_diff_unique.
Check "transposition_dist"%string.
Check @transposition_dist.
Check "equal_updates"%string.
Check @equal_updates.
Check "lemma1"%string.
Check @lemma1.
Print Assumptions lemma1.
Check "update_transposition_lower_bound"%string.
Check @update_transposition_lower_bound.
Check "lemma4"%string.
Check @lemma4.
Print Assumptions lemma4.
Check "lemma5"%string.
Check @lemma5.
Print Assumptions lemma5.
Check "lemma2"%string.
Check @lemma2.
Print Assumptions lemma2.
Check "lemma2_altered"%string.
Check @lemma2_altered.
Print Assumptions lemma2_altered.
Check "lemma3"%string.
Check @lemma3.
Print Assumptions lemma3.
Check "theorem1_i"%string.
Check @theorem1_i.
Print Assumptions theorem1_i.
Check "theorem1_iii"%string.
Check @theorem1_iii.
Print Assumptions theorem1_iii.
Check "theorem1_iii_altered"%string.
Check @theorem1_iii_altered.
Print Assumptions theorem1_iii_altered.
Check "scaling_P1"%string.
Check @scaling_P1.
Check "scaling_P2K"%string.
Check @scaling_P2K.
Check "scaling_P2'"%string.
Check @scaling_P2'.
Check "theorem1_iii_instance"%string.
Check @theorem1_iii_instance.
Print Assumptions theorem1_iii_instance.
Check "critical_step_merges"%string.
Check @critical_step_merges.
Print Assumptions critical_step_merges.
Check "lemma4_euclidean"%string.
Check @lemma4_euclidean.
Check "lemma2_euclidean"%string.
Check @lemma2_euclidean.
Check "theorem1_iii_euclidean"%string.
Check @theorem1_iii_euclidean.
Print Assumptions theorem1_iii_euclidean.
Check "uniformly_continuous_continuous"%string.
Check @uniformly_continuous_continuous.
Check "theorem1_i_topological"%string.
Check @theorem1_i_topological.
Print Assumptions theorem1_i_topological.
Check "theorem1_homeomorphism"%string.
Check @theorem1_homeomorphism.
Print Assumptions theorem1_homeomorphism.
Check "theorem2"%string.
Check @theorem2.
Print Assumptions theorem2.
Check "gradient_equivariant"%string.
Check @gradient_equivariant.
Check "proposition1"%string.
Check @proposition1.
Print Assumptions proposition1.
Check "proposition3"%string.
Check @proposition3.
Print Assumptions proposition3.
Check "proposition3_symmetric"%string.
Check @proposition3_symmetric.
Print Assumptions proposition3_symmetric.
Check "proposition1_instance"%string.
Check @proposition1_instance.
Print Assumptions proposition1_instance.
Check "asymmetric_gradient_descent_not_P1"%string.
Check @asymmetric_gradient_descent_not_P1.
Print Assumptions asymmetric_gradient_descent_not_P1.
