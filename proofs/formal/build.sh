#!/usr/bin/env bash
# Compile the Coq development (files in the order _CoqProject lists them) with coqc,
# and write the statement (Check) and the axioms (Print Assumptions) of every main
# theorem to assumptions.txt.  Exits non-zero if coqc is missing or any file fails.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v coqc >/dev/null; then
    echo "build.sh: coqc not found (install Coq: apt-get install -y --no-install-recommends coq)" >&2
    exit 127
fi
# -R/-Q options from _CoqProject, then the .v files in dependency order.
mapfile -t opts < <(grep -E '^-[RQ] ' _CoqProject | tr ' ' '\n')
mapfile -t files < <(grep -E '\.v$' _CoqProject)
for f in "${files[@]}"; do
    echo "coqc $f" >&2
    if [ "$f" = "Assumptions.v" ]; then
        coqc "${opts[@]}" "$f" > assumptions.txt
    else
        coqc "${opts[@]}" "$f"
    fi
done
echo "build.sh: ok; Print Assumptions output in $(pwd)/assumptions.txt" >&2
