#!/usr/bin/env bash
# Deliveries per second over PostgreSQL: the kit with sqlreplay beside a
# hand-written handler (verify; INSERT … ON CONFLICT DO NOTHING and the same
# write in one transaction), in interleaved rounds on one server (kit then
# hand, hand then kit, …); benchstat compares the medians.
#   bash sqlreplay/bench.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-20}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
SQLREPLAY_BENCH_ROUNDS=$rounds go test -run '^$' -bench 'Delivery' -benchmem -benchtime 1s . | grep '^Benchmark' | tee "$bin/bench.txt"
"$bin/benchstat" -col /impl -ignore /round "$bin/bench.txt"
