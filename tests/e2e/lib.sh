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

# e2e_setup: the start every end-to-end script shares (after `cd` to the repository root and sourcing
# this file): $root, $ferry, $cast, a fresh $tmp, the FERRY_* variables that would change the daemon
# cleared, e2e_cleanup on exit, $start (for the wall time). "not ok 1" and exit 1 when ferry, cast or
# curl is missing.
e2e_setup() {
  root=$PWD
  export FERRY_BUILD=${FERRY_BUILD:-build}
  ferry=$root/$FERRY_BUILD/ferry
  cast=$root/scripts/toolchain/node_modules/.bin/cast
  tmp=$(mktemp -d)
  unset FERRY_PASSWORD FERRY_KEYSTORE_DIR FERRY_CRASH_AT
  daemon="" daemon2=""
  trap e2e_cleanup EXIT
  if [ ! -x "$ferry" ] || [ ! -x "$cast" ] || ! command -v curl >/dev/null; then
    echo "not ok 1 - ferry ($ferry), cast ($cast) and curl must be built/installed"
    exit 1
  fi
  start=$(date +%s)
}

# e2e_cleanup: kills $daemon and $daemon2, stops the devnet of $FERRY_DEVNET_DIR (a chain a test froze
# is let run first, so that `down` can stop it; no devnet yet: nothing, `down` would stop the default
# one) and removes $tmp (kept with FERRY_KEEP_TMP set).
e2e_cleanup() {
  local p
  for p in "${daemon:-}" "${daemon2:-}"; do
    [ -n "$p" ] && { kill -9 "$p"; wait "$p"; } 2>/dev/null
  done
  if [ -n "${FERRY_DEVNET_DIR:-}" ]; then
    for p in "$FERRY_DEVNET_DIR"/anvil-*.pid; do [ -f "$p" ] && kill -CONT "$(cat "$p")" 2>/dev/null; done
    scripts/devnet.sh down >/dev/null 2>&1
  fi
  [ -n "${FERRY_KEEP_TMP:-}" ] || rm -rf "$tmp"
}

# e2e_ports COUNT [LOW SPAN]: $base such that COUNT consecutive ports from it are free, in
# LOW..LOW+SPAN (20000-31999 by default); the devnet gets the first four (three chains, the API).
e2e_ports() {
  local count=$1 low=${2:-20000} span=${3:-12000} try i free
  for try in $(seq 1 40); do
    base=$((low + RANDOM % span))
    free=1
    for ((i = 0; i < count; i++)); do port_free $((base + i)) || { free=0; break; }; done
    [ "$free" = 1 ] && break
  done
  export FERRY_DEVNET_PORTS="$base $((base + 1)) $((base + 2))" FERRY_DEVNET_API=127.0.0.1:$((base + 3))
}

# e2e_devnet_up [NOTE]: scripts/devnet.sh up (in $FERRY_DEVNET_DIR, on the ports e2e_ports chose) as one
# TAP line (NOTE appended), finishing the script when it fails; $d (deployments.json) and $cfg (the
# daemon's config).
e2e_devnet_up() {
  if ! scripts/devnet.sh up >"$tmp/up.log" 2>&1; then
    notok "devnet up" "$(tail -5 "$tmp/up.log")"
    finish
  fi
  ok "devnet up on ports $FERRY_DEVNET_PORTS${1:+; $1}"
  d=$FERRY_DEVNET_DIR/deployments.json
  cfg=$FERRY_DEVNET_DIR/ferry.json
}
