"""The Coq proofs in proofs/formal/ compile, use no Admitted/axiom, and rely only on Reals' axioms.

The development is copied to a temporary directory and built there with its own
``build.sh`` (coqc, files in ``_CoqProject`` order), which writes the ``Check`` and
``Print Assumptions`` output of every main theorem to ``assumptions.txt``. The tests then:

- require the build to succeed (any proof that fails to compile fails it);
- scan the ``.v`` files, comments stripped, for ``Admitted``, ``admit``, ``Axiom``,
  ``Parameter``, ... and for ``Variable``/``Hypothesis``/``Context`` outside a ``Section``
  (where they would declare global axioms);
- parse ``Print Assumptions``: every listed assumption must be on the allow-list, the
  axioms Coq's Reals library itself brings (Coq 8.16);
- compare the printed statements of the main theorems with the ones the README documents.

Each checker has a negative control: a synthetic text or file it must reject.

Without ``coqc`` the tests skip, unless the environment variable ``CI`` is set: then they fail.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORMAL = ROOT / "proofs" / "formal"

# The axioms Coq 8.16's Reals library brings (Print Assumptions of e.g. sqrt_pos or Rle_dec).
ALLOWED_AXIOMS = frozenset(
    {
        "ClassicalDedekindReals.sig_forall_dec",
        "ClassicalDedekindReals.sig_not_dec",
        "FunctionalExtensionality.functional_extensionality_dep",
    }
)

# Theorems whose Print Assumptions output Assumptions.v records.
MAIN_THEOREMS = (
    "coll_norm_diff_unique",
    "lemma1",
    "lemma4",
    "lemma5",
    "lemma2",
    "lemma2_altered",
    "lemma3",
    "theorem1_i",
    "theorem1_iii",
    "theorem1_iii_altered",
    "theorem1_iii_instance",
    "critical_step_merges",
    "theorem1_iii_euclidean",
    "theorem1_i_topological",
    "theorem1_homeomorphism",
    "theorem2",
    "proposition1",
    "proposition3",
    "proposition3_symmetric",
    "proposition1_instance",
    "asymmetric_gradient_descent_not_P1",
)

_SETTING = "forall (V : NormedSpace) (I : Type), (forall a b : I, {a = b} + {a <> b}) -> "
_LIP = "lipschitz (1 + eta * K) (induced U eta X)"
_LIP_INV = "lipschitz (1 / (1 - eta * K)) (inverse (induced U eta X))"
_BIJ = "bijection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X)"
_SURJ = "surjection (neuron_set X) (neuron_set (step U eta X)) (induced U eta X)"
_LEMMA2 = (
    "(1 - eta * K) * vnorm (vsub (X i) (X j)) <= vnorm (vsub (step U eta X i) (step U eta X j))"
    " <= (1 + eta * K) * vnorm (vsub (X i) (X j))"
)
_NO_SPLIT = "vnorm (vsub (U X i) (U X j)) <= K * vnorm (vsub (X i) (X j))"

# The statements as Coq prints them (whitespace normalised); proofs/formal/README.md quotes them.
EXPECTED_STATEMENTS = {
    "coll_norm_diff_unique": _SETTING
    + "forall (X Y : collection) (r s : R), coll_norm_diff X Y r -> coll_norm_diff X Y s -> r = s",
    "lemma1": _SETTING + "forall U : update_rule, P1 U -> forall (eta : R) (X : collection) (i j : I), "
    "i <> j -> X i = X j -> step U eta X i = step U eta X j",
    "equal_updates": _SETTING + "forall U : update_rule, P1 U -> forall (X : I -> V) (i j : I), "
    "X i = X j -> U X i = U X j",
    "lemma4": _SETTING + "forall (U : update_rule) (K : R), P1 U -> P2K K U -> forall (X : collection) (i j : I), "
    "i <> j -> " + _NO_SPLIT,
    "lemma5": _SETTING + "forall (U : update_rule) (K : R), P1 U -> P2' K U -> forall (X : collection) (i j : I), "
    "i <> j -> " + _NO_SPLIT,
    "lemma2": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> "
    "forall (X : collection) (i j : I), i <> j -> " + _LEMMA2,
    "lemma2_altered": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2' K U -> 0 <= eta -> "
    "forall (X : collection) (i j : I), i <> j -> " + _LEMMA2,
    "lemma3": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> "
    f"forall X : collection, {_SURJ} /\\ (eta * K < 1 -> {_BIJ})",
    "theorem1_i": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> "
    f"forall X : collection, {_SURJ} /\\ {_LIP} /\\ uniformly_continuous (induced U eta X)",
    "theorem1_iii": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> "
    f"eta * K < 1 -> forall X : collection, {_BIJ} /\\ {_LIP} /\\ {_LIP_INV} /\\ "
    "uniformly_continuous (induced U eta X) /\\ uniformly_continuous (inverse (induced U eta X))",
    "theorem1_iii_altered": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2' K U -> 0 <= eta -> "
    f"eta * K < 1 -> forall X : collection, {_BIJ} /\\ {_LIP} /\\ {_LIP_INV}",
    "theorem1_iii_euclidean": "forall (D : nat) (I : Type), (forall a b : I, {a = b} + {a <> b}) -> "
    "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> eta * K < 1 -> "
    f"forall X : collection, {_BIJ} /\\ {_LIP} /\\ {_LIP_INV} /\\ "
    "uniformly_continuous (induced U eta X) /\\ uniformly_continuous (inverse (induced U eta X))",
    "scaling_P2K": "forall (V : NormedSpace) (I : Type) (c : R), P2K (Rabs c) (scaling c)",
    "uniformly_continuous_continuous": "forall (V : NormedSpace) (S S' : V -> Prop) (Rel : V -> V -> Prop), "
    "maps_into S S' Rel -> total_on S Rel -> uniformly_continuous Rel -> continuous_map S S' Rel",
    "theorem1_i_topological": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> "
    f"forall X : collection, {_SURJ} /\\ "
    "continuous_map (neuron_set X) (neuron_set (step U eta X)) (induced U eta X)",
    "theorem1_homeomorphism": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> "
    "eta * K < 1 -> forall X : collection, "
    "homeomorphism (neuron_set X) (neuron_set (step U eta X)) (induced U eta X)",
    "theorem2": _SETTING + "forall (U : update_rule) (K eta : R), P1 U -> P2K K U -> 0 <= eta -> eta * K < 1 -> "
    f"forall (X : collection) (m : finite_measure), {_BIJ} /\\ "
    "(forall (A B : V -> Prop) (decA : forall v : V, {A v} + {~ A v}) (decB : forall v : V, {B v} + {~ B v}), "
    "(forall v : V, neuron_set X v -> B v <-> (exists w : V, induced U eta X v w /\\ A w)) -> "
    "push m (step U eta X) A decA = push m X B decB) /\\ "
    "(forall (A B : V -> Prop) (decA : forall v : V, {A v} + {~ A v}) (decB : forall v : V, {B v} + {~ B v}), "
    "(forall w : V, neuron_set (step U eta X) w -> A w <-> (exists v : V, induced U eta X v w /\\ B v)) -> "
    "push m X B decB = push m (step U eta X) A decA)",
    "proposition1": "forall (V : NormedSpace) (I : Type) (I_eq_dec : forall a b : I, {a = b} + {a <> b}) "
    "(pair : V -> V -> R) (L : collection -> R) (G : update_rule), nondegenerate pair -> symmetric_loss L -> "
    "is_gradient I_eq_dec pair L G -> P1 (gradient_descent G)",
    "proposition3": "forall (I : Type) (b1 b2 eps lr : R) (t : nat) (G : update_rule), P1 G -> "
    "equivariant (stateless_adam b1 b2 eps lr t G)",
    "proposition1_instance": "P1 (gradient_descent two_sq_gradient)",
    "asymmetric_gradient_descent_not_P1": "~ symmetric_loss one_sq_loss /\\ ~ P1 (gradient_descent one_sq_gradient)",
    "critical_step_merges": "let U := scaling (-1) in let X := INR in "
    "P1 U /\\ P2K 1 U /\\ 1 * 1 = 1 /\\ ~ injective (induced U 1 X)",
}

# Vernacular that proves nothing or adds axioms; Admit covers "Admit Obligations".
FORBIDDEN_WORDS = frozenset(
    {"Admitted", "admit", "Admit", "give_up", "Axiom", "Axioms", "Parameter", "Parameters", "Conjecture"}
)
# Section-variable style: allowed inside a Section only (outside one they declare axioms).
SECTION_ONLY_WORDS = frozenset({"Variable", "Variables", "Hypothesis", "Hypotheses", "Context"})
FORBIDDEN_PATTERNS = (
    r"Unset\s+Guard\s+Checking",
    r"Unset\s+Positivity\s+Checking",
    r"Unset\s+Universe\s+Checking",
    r"bypass_check",
    r"Typing\s+Flags",
)


# ---------------------------------------------------------------------------------------------
# checkers


def strip_comments(text: str) -> str:
    """Blank out (possibly nested) Coq comments and string literals, keeping line breaks."""
    out = []
    depth = 0
    i = 0
    in_string = False
    while i < len(text):
        two = text[i : i + 2]
        ch = text[i]
        if in_string:
            if two == '""':
                out.append("  ")
                i += 2
                continue
            if ch == '"':
                in_string = False
            out.append("\n" if ch == "\n" else " ")
            i += 1
        elif two == "(*":
            depth += 1
            out.append("  ")
            i += 2
        elif depth and two == "*)":
            depth -= 1
            out.append("  ")
            i += 2
        elif depth:
            out.append("\n" if ch == "\n" else " ")
            i += 1
        elif ch == '"':
            in_string = True
            out.append(" ")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def forbidden_uses(text: str, filename: str = "<text>") -> list[str]:
    """Lines of a .v file that use Admitted/admit/Axiom/... or declare variables outside a Section."""
    code = strip_comments(text)
    problems = []
    sections: list[str] = []
    tokens = list(re.finditer(r"[A-Za-z_][A-Za-z0-9_']*", code))
    for k, match in enumerate(tokens):
        word = match.group(0)
        line = code.count("\n", 0, match.start()) + 1
        following = tokens[k + 1].group(0) if k + 1 < len(tokens) else ""
        if word == "Section" and following:
            sections.append(following)
        elif word == "End" and sections and following == sections[-1]:
            sections.pop()
        elif word in FORBIDDEN_WORDS:
            problems.append(f"{filename}:{line}: forbidden '{word}'")
        elif word in SECTION_ONLY_WORDS and not sections:
            problems.append(f"{filename}:{line}: '{word}' outside a Section declares an axiom")
    for pattern in FORBIDDEN_PATTERNS:
        for match in re.finditer(pattern, code):
            line = code.count("\n", 0, match.start()) + 1
            problems.append(f"{filename}:{line}: forbidden '{match.group(0)}'")
    return problems


_MARKER = re.compile(r'^"([\w\']+)"(?:%string)?$')


def parse_coq_output(text: str) -> dict[str, dict]:
    """Split Assumptions.v's output into one block per theorem.

    Each block starts with the marker ``"name"%string`` (printed by ``Check "name"%string``,
    which no assumption listed by ``Print Assumptions`` can look like), then the marker's
    type ``: string``, then ``Check @name``: ``@name`` (or ``name``) alone at column 0 and
    the statement on indented lines, then, when ``Print Assumptions`` ran, either ``Closed
    under the global context`` or a header such as ``Axioms:`` followed by the assumptions,
    one per column-0 line (``Name : type``, or ``Name`` with the type indented below). Any
    other column-0 line in a block counts as an assumption.
    """
    blocks: dict[str, dict] = {}
    current = None
    name = ""
    phase = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        marker = _MARKER.match(line)
        if marker:
            name = marker.group(1)
            current = {"statement": [], "closed": False, "headers": [], "assumptions": []}
            blocks[name] = current
            phase = "marker"
            continue
        if current is None:
            continue
        stripped = line.strip()
        if line[0].isspace():
            if phase == "statement":
                current["statement"].append(stripped)
            continue
        if phase == "marker" and stripped.lstrip("@") == name:
            phase = "statement"
        elif stripped == "Closed under the global context":
            current["closed"] = True
            phase = "assumptions"
        elif stripped.endswith(":") and " : " not in stripped:
            current["headers"].append(stripped)
            phase = "assumptions"
        else:
            current["assumptions"].append(stripped.split(" : ")[0].strip())
            phase = "assumptions"
    for block in blocks.values():
        statement = " ".join(block.pop("statement"))
        block["statement"] = " ".join(statement.removeprefix(":").split())
    return blocks


def _normalise_axiom(name: str) -> str:
    # "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" and "ClassicalDedekindReals.sig_forall_dec" are one axiom.
    return ".".join(name.split(".")[-2:])


def assumption_violations(text: str, names=MAIN_THEOREMS, allowed=ALLOWED_AXIOMS) -> list[str]:
    """Everything in the Print Assumptions output of ``names`` that is not on the allow-list."""
    blocks = parse_coq_output(text)
    allowed = {_normalise_axiom(a) for a in allowed}
    problems = []
    for name in names:
        block = blocks.get(name)
        if block is None:
            problems.append(f"{name}: no output")
            continue
        if not block["closed"] and not block["headers"]:
            problems.append(f"{name}: no Print Assumptions output")
        for header in block["headers"]:
            if header != "Axioms:":
                problems.append(f"{name}: unexpected section '{header}'")
        if block["closed"] and (block["headers"] or block["assumptions"]):
            problems.append(f"{name}: both closed and with assumptions")
        for axiom in block["assumptions"]:
            if _normalise_axiom(axiom) not in allowed:
                problems.append(f"{name}: assumption '{axiom}' is not allow-listed")
    return problems


# ---------------------------------------------------------------------------------------------
# the build


def _require_coqc() -> str:
    coqc = shutil.which("coqc")
    if coqc is None:
        if os.environ.get("CI"):
            pytest.fail("coqc is not installed but CI is set: .ci/run must install Coq (apt-get install coq)")
        pytest.skip("coqc is not installed (apt-get install -y --no-install-recommends coq); CI is not set")
    return coqc


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    _require_coqc()
    work = tmp_path_factory.mktemp("formal")
    for path in FORMAL.iterdir():
        if path.suffix == ".v" or path.name in ("_CoqProject", "build.sh"):
            shutil.copy2(path, work / path.name)
    proc = subprocess.run(["bash", str(work / "build.sh")], capture_output=True, text=True, timeout=300)
    output = (work / "assumptions.txt").read_text() if (work / "assumptions.txt").exists() else ""
    return proc, work, output


def _checked_names() -> list[str]:
    """The names Assumptions.v prints with ``Check``."""
    return re.findall(r"^Check @?([\w']+)\.", (FORMAL / "Assumptions.v").read_text(), flags=re.M)


def _printed_assumptions() -> list[str]:
    return re.findall(r"^Print Assumptions ([\w']+)\.", (FORMAL / "Assumptions.v").read_text(), flags=re.M)


def _project_files() -> list[str]:
    lines = (FORMAL / "_CoqProject").read_text().splitlines()
    return [line.strip() for line in lines if line.strip().endswith(".v")]


def test_project_lists_every_v_file():
    listed = set(_project_files())
    present = {p.name for p in FORMAL.glob("*.v")}
    assert listed == present, f"_CoqProject lists {sorted(listed)}, directory has {sorted(present)}"
    assert _project_files()[-1] == "Assumptions.v"


def test_assumptions_file_covers_main_theorems():
    assert set(_printed_assumptions()) == set(MAIN_THEOREMS)
    assert set(MAIN_THEOREMS) | set(EXPECTED_STATEMENTS) <= set(_checked_names())


def test_build_succeeds(build):
    proc, work, output = build
    assert proc.returncode == 0, f"build.sh failed:\n{proc.stdout}\n{proc.stderr}"
    for name in _project_files():
        assert (work / name).with_suffix(".vo").exists(), f"{name} was not compiled"
    assert "Axioms:" in output or "Closed under the global context" in output


def test_no_admitted_or_axioms_in_sources():
    problems = []
    for name in _project_files():
        problems += forbidden_uses((FORMAL / name).read_text(), name)
    assert not problems, "\n".join(problems)


def test_print_assumptions_only_allow_listed(build):
    proc, _, output = build
    assert proc.returncode == 0, proc.stderr
    problems = assumption_violations(output)
    assert not problems, "\n".join(problems)
    blocks = parse_coq_output(output)
    # The deepest statements do use the Reals axioms: the parser really sees them.
    assert "ClassicalDedekindReals.sig_forall_dec" in blocks["theorem1_iii"]["assumptions"]


def test_statements_match_readme(build):
    proc, _, output = build
    assert proc.returncode == 0, proc.stderr
    blocks = parse_coq_output(output)
    for name, expected in EXPECTED_STATEMENTS.items():
        assert name in blocks, f"{name}: not printed by Assumptions.v"
        assert blocks[name]["statement"] == expected, f"{name}:\n{blocks[name]['statement']}\n!=\n{expected}"


# ---------------------------------------------------------------------------------------------
# negative controls

_SYNTHETIC_OK = """\
"lemma1"%string
     : string
@lemma1
     : forall (V : NormedSpace) (I : Type), P1 U -> True
Axioms:
ClassicalDedekindReals.sig_forall_dec
  : forall P : nat -> Prop,
    (forall n : nat, {P n} + {~ P n}) -> {n : nat | ~ P n} + {forall n : nat, P n}
FunctionalExtensionality.functional_extensionality_dep
  : forall (A : Type) (B : A -> Type) (f g : forall x : A, B x), (forall x : A, f x = g x) -> f = g
"lemma4"%string
     : string
@lemma4
     : True
Closed under the global context
"""


def test_checker_accepts_allow_listed_and_closed():
    assert assumption_violations(_SYNTHETIC_OK, names=("lemma1", "lemma4")) == []
    blocks = parse_coq_output(_SYNTHETIC_OK)
    assert blocks["lemma1"]["statement"] == "forall (V : NormedSpace) (I : Type), P1 U -> True"
    assert blocks["lemma4"]["closed"]


def test_checker_rejects_extra_axiom():
    text = _SYNTHETIC_OK.replace(
        "FunctionalExtensionality.functional_extensionality_dep\n",
        "Classical_Prop.classic : forall P : Prop, P \\/ ~ P\nFunctionalExtensionality.functional_extensionality_dep\n",
    )
    problems = assumption_violations(text, names=("lemma1", "lemma4"))
    assert problems == ["lemma1: assumption 'Classical_Prop.classic' is not allow-listed"]


def test_checker_rejects_a_theorem_name_among_the_assumptions():
    # An admitted lemma4 listed (name alone, type below) in lemma1's assumptions is not a new block.
    text = _SYNTHETIC_OK.replace(
        "FunctionalExtensionality.functional_extensionality_dep\n",
        "lemma4\n  : True\nFunctionalExtensionality.functional_extensionality_dep\n",
    )
    problems = assumption_violations(text, names=("lemma1", "lemma4"))
    assert problems == ["lemma1: assumption 'lemma4' is not allow-listed"]


def test_checker_rejects_missing_output_and_other_sections():
    assert assumption_violations(_SYNTHETIC_OK, names=("lemma1", "lemma4", "lemma5")) == ["lemma5: no output"]
    text = _SYNTHETIC_OK.replace("Closed under the global context", "Section Variables:\nHK : no_splitting K")
    problems = assumption_violations(text, names=("lemma1", "lemma4"))
    assert "lemma4: unexpected section 'Section Variables:'" in problems
    assert "lemma4: assumption 'HK' is not allow-listed" in problems
    no_print = '"lemma4"%string\n     : string\n@lemma4\n     : True\n'
    assert assumption_violations(no_print, names=("lemma4",)) == ["lemma4: no Print Assumptions output"]


def test_grep_flags_admitted_and_axioms():
    bad = (
        "Section S.\n"
        "Variable n : nat.\n"
        "Lemma a : n = n.\nProof. Admitted.\n"
        "End S.\n"
        "Axiom ax : False.\n"
        "Variable outside : nat.\n"
        "Lemma b : 1 = 1.\nProof. admit. Qed.\n"
        "Local Unset Guard Checking.\n"
    )
    problems = forbidden_uses(bad, "Bad.v")
    assert problems == [
        "Bad.v:4: forbidden 'Admitted'",
        "Bad.v:6: forbidden 'Axiom'",
        "Bad.v:7: 'Variable' outside a Section declares an axiom",
        "Bad.v:9: forbidden 'admit'",
        "Bad.v:10: forbidden 'Unset Guard Checking'",
    ]
    assert forbidden_uses("Lemma c : True.\nProof. exact I. Qed.\n") == []
    # Comments (nested) and strings are ignored; section variables are fine.
    ok = "(* Admitted (* Axiom *) admit *)\nSection T.\nContext {V : Type}.\nHypothesis h : True.\nEnd T.\n"
    ok += 'Notation x := "Admitted".\n'
    assert forbidden_uses(ok) == []


def test_coqc_rejects_a_wrong_proof(tmp_path):
    coqc = _require_coqc()
    (tmp_path / "Wrong.v").write_text("Lemma wrong : 1 = 2.\nProof. reflexivity. Qed.\n")
    proc = subprocess.run([coqc, "Wrong.v"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0


def test_admitted_lemma_shows_in_print_assumptions(tmp_path):
    coqc = _require_coqc()
    source = (
        "Lemma hole : False.\nAdmitted.\n"
        "Lemma uses_hole : 0 = 1.\nProof. destruct hole. Qed.\n"
        'Require Import String.\nCheck "uses_hole"%string.\nCheck @uses_hole.\nPrint Assumptions uses_hole.\n'
    )
    (tmp_path / "Hole.v").write_text(source)
    assert forbidden_uses(source, "Hole.v") == ["Hole.v:2: forbidden 'Admitted'"]
    proc = subprocess.run([coqc, "Hole.v"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    problems = assumption_violations(proc.stdout, names=("uses_hole",))
    assert len(problems) == 1 and "hole" in problems[0] and "not allow-listed" in problems[0], proc.stdout
