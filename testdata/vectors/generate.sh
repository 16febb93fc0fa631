#!/usr/bin/env bash
# Computes the signature vectors with the vendor's own formulas and checks that
# every available language agrees: identity signatures (sign.*, inputs.json,
# expected.tsv) and webhook signatures (webhook.*, webhook-inputs.json,
# webhook-expected.tsv).
#   generate.sh          writes the expected files (needs node and python3)
#   generate.sh --check  fails unless every available language reproduces them
# Ruby and PHP are used when installed. The Go tests TestSignVectors and
# TestWebhookVectors check the kit against the expected files, so Go is
# compared with all of them.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
run_set() { # script prefix, inputs, expected file
  local prefix=$1 inputs=$2 expected=$3 ran=()
  node "$prefix.js" "$inputs" >"$out/node.tsv"; ran+=(node)
  python3 "$prefix.py" "$inputs" >"$out/python.tsv"; ran+=(python)
  if command -v ruby >/dev/null; then ruby "$prefix.rb" "$inputs" >"$out/ruby.tsv"; ran+=(ruby); fi
  if command -v php >/dev/null; then php "$prefix.php" "$inputs" >"$out/php.tsv"; ran+=(php); fi
  for lang in "${ran[@]}"; do
    cmp -s "$out/node.tsv" "$out/$lang.tsv" || { echo "vectors: $prefix: $lang disagrees with node" >&2; diff "$out/node.tsv" "$out/$lang.tsv" >&2; exit 1; }
  done
  if [[ "$check" == 1 ]]; then
    cmp -s "$out/node.tsv" "$expected" || { echo "vectors: $expected differs from the formulas" >&2; diff "$expected" "$out/node.tsv" >&2; exit 1; }
    echo "vectors: ${ran[*]} agree with $expected ($(wc -l <"$expected") signatures)"
  else
    cp "$out/node.tsv" "$expected"
    echo "vectors: wrote $expected from ${ran[*]}"
  fi
}
check=0; [[ "${1:-}" == "--check" ]] && check=1
run_set sign inputs.json expected.tsv
run_set webhook webhook-inputs.json webhook-expected.tsv
