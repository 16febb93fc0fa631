#!/usr/bin/env bash
# Reproduces BENCHMARKS.md: every benchmark, -count 8, summarised by benchstat.
#   bash bench/run.sh            # writes bench/results/*.txt and prints the tables
# Needs benchstat: go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-8}
out=bench/results
mkdir -p "$out"
benchstat=${BENCHSTAT:-$(go env GOPATH)/bin/benchstat}
go test -run '^$' -bench . -benchmem -count "$count" . | tee "$out/kit.txt" >/dev/null
(cd bench && go test -run '^$' -bench 'PeersAlone|Peers$' -benchmem -count "$count" .) | tee "$out/peers.txt" >/dev/null
(cd bench && go test -run '^$' -bench 'Loopback|AppInProcess' -benchmem -benchtime 20000x -count "$count" .) | tee "$out/loopback.txt" >/dev/null
for f in kit peers loopback; do
  echo "## $f"
  "$benchstat" "$out/$f.txt"
done
