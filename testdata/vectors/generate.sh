#!/usr/bin/env bash
# Computes the signature vectors with the vendor's own formulas and checks that
# every available language agrees.
#   generate.sh          writes expected.tsv (needs node and python3)
#   generate.sh --check  fails unless every available language reproduces expected.tsv
# Ruby and PHP are used when installed. The Go test TestSignVectors checks Sign
# against expected.tsv, so Go is compared with all of them.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
ran=()
node sign.js inputs.json >"$out/node.tsv"; ran+=(node)
python3 sign.py inputs.json >"$out/python.tsv"; ran+=(python)
if command -v ruby >/dev/null; then ruby sign.rb inputs.json >"$out/ruby.tsv"; ran+=(ruby); fi
if command -v php >/dev/null; then php sign.php inputs.json >"$out/php.tsv"; ran+=(php); fi
for lang in "${ran[@]}"; do
  cmp -s "$out/node.tsv" "$out/$lang.tsv" || { echo "vectors: $lang disagrees with node" >&2; diff "$out/node.tsv" "$out/$lang.tsv" >&2; exit 1; }
done
if [[ "${1:-}" == "--check" ]]; then
  cmp -s "$out/node.tsv" expected.tsv || { echo "vectors: expected.tsv differs from the vendor formulas" >&2; diff expected.tsv "$out/node.tsv" >&2; exit 1; }
  echo "vectors: ${ran[*]} agree with expected.tsv ($(wc -l <expected.tsv) signatures)"
else
  cp "$out/node.tsv" expected.tsv
  echo "vectors: wrote expected.tsv from ${ran[*]}"
fi
