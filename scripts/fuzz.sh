#!/usr/bin/env bash
# Runs every libFuzzer harness in build/fuzz/bin (made by `make fuzz-build`) for FUZZ_SECONDS each
# (default 30), on a working corpus in build/fuzz/corpus/<name>/ seeded from tests/fuzz/corpus/<name>/
# (inputs found by earlier runs are kept there). Prints one line per harness:
#   <name> <executions> execs <result>
# and exits non-zero if any harness found a crash, a leak, a timeout or ran out of memory.
# Findings are saved in build/fuzz/artifacts/<name>/, full logs in build/fuzz/logs/<name>.log.
# Replay one with: build/fuzz/bin/<name> build/fuzz/artifacts/<name>/crash-...
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-30}
shopt -s nullglob
bins=(build/fuzz/bin/fuzz_*)
if [ ${#bins[@]} -eq 0 ]; then
  echo "fuzz: no harnesses in build/fuzz/bin (run make fuzz-build)" >&2
  exit 1
fi
failed=0
for bin in "${bins[@]}"; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus=build/fuzz/corpus/$name
  artifacts=build/fuzz/artifacts/$name
  log=build/fuzz/logs/$name.log
  mkdir -p "$corpus" "$artifacts" build/fuzz/logs
  seeds=(tests/fuzz/corpus/"$name"/*)
  [ ${#seeds[@]} -gt 0 ] && cp "${seeds[@]}" "$corpus"/
  # halt_on_error: the harnesses are built with recoverable UBSan checks, and undefined behaviour
  # must count as a finding, not scroll past in the log.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    # Without final stats (the run stopped early), the last progress line has the count.
    execs=$(sed -nE 's/^#([0-9]+).*/\1/p' "$log" | tail -n 1)
  fi
  if [ $rc -eq 0 ]; then
    result=ok
  else
    failed=1
    if grep -q 'ERROR: LeakSanitizer' "$log"; then result=LEAK
    elif grep -q 'ERROR: libFuzzer: out-of-memory' "$log"; then result=OUT-OF-MEMORY
    elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then result=TIMEOUT
    elif grep -qE 'ERROR: (AddressSanitizer|libFuzzer: deadly signal)|runtime error:' "$log"; then result=CRASH
    else result="FAILED (exit $rc)"
    fi
    unit=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
    [ -n "$unit" ] && result+=" -> $unit"
    result+=" (log: $log)"
  fi
  printf '  %-20s %12s execs  %s\n' "$name" "${execs:-?}" "$result"
done
exit $failed
