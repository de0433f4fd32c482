# Shared helpers of the end-to-end scripts (sourced after `cd` to the repository root).
# TAP output: every check prints "ok N - what" or "not ok N - what" (+ "# detail"); finish prints
# the plan and exits non-zero when anything failed. The runner (scripts/run-tests.sh) counts the lines.
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
quiet() { "$@" >/dev/null 2>&1; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

# port_free PORT: nothing listens on 127.0.0.1:PORT. Tests pick ports in 20000-31999, below the
# ephemeral range (32768-), so that no client socket takes a chosen port before the server binds it.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS COMMAND...: true once the command succeeds, false at the deadline.
wait_for() {
  local end=$(($(date +%s) + $1))
  shift
  while [ "$(date +%s)" -le "$end" ]; do
    "$@" && return 0
    sleep 0.3
  done
  return 1
}
