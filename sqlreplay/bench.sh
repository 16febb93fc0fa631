#!/usr/bin/env bash
# Deliveries per second over PostgreSQL: the kit with sqlreplay beside a
# hand-written handler (verify; INSERT … ON CONFLICT DO NOTHING and the same
# write in one transaction), in interleaved rounds (kit, hand, hand, kit, …),
# each on a fresh server; benchstat compares the medians.
#   bash sqlreplay/bench.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-8}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/sqlreplay.test" .
GOBIN="$bin" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
out="$bin/bench.txt"
for ((i = 0; i < rounds; i++)); do
  order=(kit hand)
  ((i % 2)) && order=(hand kit)
  for impl in "${order[@]}"; do
    "$bin/sqlreplay.test" -test.run '^$' -test.bench "Delivery/impl=$impl\$" -test.benchmem -test.benchtime 3s 2>/dev/null | grep '^Benchmark' | tee -a "$out"
  done
done
"$bin/benchstat" -col /impl "$out"
