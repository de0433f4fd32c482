#!/usr/bin/env bash
# Runs every benchmark in build/bench (made by `make bench`) and prints its output. Each prints
# lines of the form `bench <name>: <figure> <unit> (<ratio>x <reference>)`. Figures, not tests:
# the script fails only if a benchmark itself fails.
set -u
cd "$(dirname "$0")/.."
shopt -s nullglob
status=0
benches=("${FERRY_BENCH_BUILD:-build}"/bench/bench_*)
if [ ${#benches[@]} -eq 0 ]; then
  echo "bench: no benchmarks in ${FERRY_BENCH_BUILD:-build}/bench (run make bench)" >&2
  exit 1
fi
for b in "${benches[@]}"; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  if ! "$b"; then
    echo "bench: $b failed" >&2
    status=1
  fi
done
# Benchmarks that need a devnet are scripts (tests/bench/bench_*.sh, e.g. the relay's throughput).
for b in tests/bench/bench_*.sh; do
  echo "== $(basename "$b")"
  if ! FERRY_BUILD=${FERRY_BENCH_BUILD:-build} bash "$b"; then
    echo "bench: $b failed" >&2
    status=1
  fi
done
exit $status
