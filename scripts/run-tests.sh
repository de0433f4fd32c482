#!/usr/bin/env bash
# Runs Ferry's whole suite and ends with the plain line "N passed, N failed".
#   scripts/run-tests.sh              unit tests, contract tests (forge), end-to-end tests
#   scripts/run-tests.sh --unit-only  unit tests only (make asan uses this)
# Every section reports TAP-style lines; a section that crashes counts as a failure.
# Exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
build=${FERRY_TEST_BUILD:-build}
only=${1:-all}
passed=0 failed=0 skipped=0
failures=()
log_dir=$build/test-logs
mkdir -p "$log_dir"

# count NAME LOGFILE RC: adds the ok / not ok lines of a TAP log to the totals.
count() {
  local name=$1 log=$2 rc=$3 ok notok skip
  # A skipped test ("ok 3 # SKIP ..." or cmocka's "not ok 3 # SKIP") is neither passed nor failed.
  skip=$(grep -cE '^(not )?ok [0-9]+.*# SKIP' "$log")
  ok=$(grep -E '^ok [0-9]+' "$log" | grep -cv '# SKIP')
  notok=$(grep -E '^not ok [0-9]+' "$log" | grep -cv '# SKIP')
  skipped=$((skipped + skip))
  passed=$((passed + ok))
  failed=$((failed + notok))
  if [ "$notok" -gt 0 ]; then
    failures+=("$name: $(grep -E '^not ok' "$log" | grep -v '# SKIP' | sed 's/^not ok [0-9]* - //' | tr '\n' ' ')")
  fi
  if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
    # The program died or reported failure without a TAP line saying so: that is a failure too.
    failed=$((failed + 1))
    failures+=("$name: exited with status $rc (see $log)")
  fi
  printf '  %-28s %3d passed, %d failed%s%s\n' "$name" "$ok" "$notok" "$([ "$skip" -gt 0 ] && echo ", $skip skipped")" \
    "$([ "$rc" -ne 0 ] && echo " (exit $rc)")"
}

echo "== unit tests ($build/tests)"
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  n=$(basename "$t")
  CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log_dir/$n.log" 2>&1
  count "$n" "$log_dir/$n.log" $?
done

if [ "$only" = all ]; then
  if [ -x scripts/contracts.sh ] && [ -f contracts/foundry.toml ]; then
    echo "== contract tests (forge)"
    scripts/contracts.sh test-tap >"$log_dir/forge.log" 2>&1
    count forge "$log_dir/forge.log" $?
  fi
  if compgen -G "tests/e2e/e2e_*.sh" >/dev/null; then
    echo "== end-to-end tests"
    for t in tests/e2e/e2e_*.sh; do
      n=$(basename "$t" .sh)
      FERRY_BUILD=$build bash "$t" >"$log_dir/$n.log" 2>&1
      count "$n" "$log_dir/$n.log" $?
    done
  fi
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo "== failures (logs in $log_dir)"
  printf '  %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
