#!/usr/bin/env bash
# Reproduces BENCHMARKS.md: every benchmark COUNT times (default 8), summarised
# by benchstat.
#   bash bench/run.sh            # writes bench/results/*.txt and prints the tables
# Needs benchstat: go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
#
# `go test -count N` runs each benchmark N times in a row before the next one,
# so a VM that slows down halfway skews every ratio. Instead each test binary
# runs N times with -count 1: the benchmarks compared in a ratio alternate.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-8}
out=bench/results
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
mkdir -p "$out"
benchstat=${BENCHSTAT:-$(go env GOPATH)/bin/benchstat}
go test -c -o "$bin/kit.test" .
(cd bench && go test -c -o "$bin/bench.test" .)
: >"$out/kit.txt"
: >"$out/peers.txt"
: >"$out/loopback.txt"
: >"$out/page.txt"
for _ in $(seq "$count"); do
  "$bin/kit.test" -test.run '^$' -test.bench . -test.benchmem >>"$out/kit.txt"
  (cd bench && "$bin/bench.test" -test.run '^$' -test.bench 'PeersAlone|Peers$' -test.benchmem) >>"$out/peers.txt"
  (cd bench && "$bin/bench.test" -test.run '^$' -test.bench 'Loopback|AppInProcess' -test.benchmem -test.benchtime 20000x) >>"$out/loopback.txt"
  (cd bench && "$bin/bench.test" -test.run '^$' -test.bench 'Page' -test.benchmem -test.benchtime 4000x) >>"$out/page.txt"
done
for f in kit peers loopback page; do
  echo "## $f"
  "$benchstat" "$out/$f.txt"
done
