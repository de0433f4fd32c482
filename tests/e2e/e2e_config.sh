#!/usr/bin/env bash
# ferry config check: its output and exit status on good and bad files, as an operator sees them.
# TAP lines; scripts/run-tests.sh counts them. Needs no chain. FERRY_BUILD defaults to build.
set -u
cd "$(dirname "$0")/../.."
ferry=${FERRY_BUILD:-build}/ferry
vec=tests/vectors/config
. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for

# check NAME EXPECTED_STATUS EXPECTED_OUTPUT_FILE -- COMMAND...: the command's stdout and status.
check() {
  local name=$1 want_rc=$2 want=$3
  shift 4
  local got rc
  got=$("$@" 2>/dev/null)
  rc=$?
  n=$((n + 1))
  if [ "$rc" -eq "$want_rc" ] && [ "$got" = "$(cat "$want")" ]; then
    echo "ok $n - $name"
  else
    echo "not ok $n - $name"
    echo "#   status $rc (want $want_rc)"
    diff <(cat "$want") <(echo "$got") | sed 's/^/#   /'
    failed=$((failed + 1))
  fi
}

if [ ! -x "$ferry" ]; then
  echo "not ok 1 - $ferry is not built (make)"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/good.out" <<OUT
config/devnet.template.json: ok
  chains: 3 (alpha 31337, beta 31338, gamma 31339), 3 RPC endpoints
  attesters: 2-of-3, 3 keys held here
  api: 127.0.0.1:7710 (loopback), writes need the token in build/devnet/api-token
  data: build/devnet/data
OUT
check "good file: ok and a summary, exit 0" 0 "$tmp/good.out" -- "$ferry" config check config/devnet.template.json

echo "$vec/bad/url-scheme.json: chains[1].rpc[0]: not a URL (expected http:// or https://, got \"ftp://x\")" >"$tmp/scheme.out"
check "bad URL: the problem with its path, exit 1" 1 "$tmp/scheme.out" -- "$ferry" config check "$vec/bad/url-scheme.json"

sed "s|^|$vec/bad/duplicate-chains.json: |" "$vec/bad/duplicate-chains.expect" >"$tmp/dup.out"
check "duplicate chains: every problem on its own line, exit 1" 1 "$tmp/dup.out" -- "$ferry" config check "$vec/bad/duplicate-chains.json"

sed "s|^|$vec/bad/secrets.json: |" "$vec/bad/secrets.expect" >"$tmp/secrets.out"
check "inline secrets refused, exit 1" 1 "$tmp/secrets.out" -- "$ferry" config check "$vec/bad/secrets.json"

echo "$tmp/missing.json: cannot read the file: No such file or directory" >"$tmp/missing.out"
check "missing file: says so, exit 1" 1 "$tmp/missing.out" -- "$ferry" config check "$tmp/missing.json"

# The example's provider keys come from the environment: unset, the check names them.
env -u FERRY_ALCHEMY_KEY -u FERRY_INFURA_KEY "$ferry" config check config/example.json >"$tmp/env.got"
rc=$?
n=$((n + 1))
if [ $rc -eq 1 ] && grep -q '^config/example.json: chains\[0\].rpc\[0\]: the URL uses ${FERRY_ALCHEMY_KEY} but FERRY_ALCHEMY_KEY is not set' "$tmp/env.got"; then
  echo "ok $n - unset \${VAR} in an RPC URL is a problem"
else
  echo "not ok $n - unset \${VAR} in an RPC URL is a problem (status $rc)"
  sed 's/^/#   /' "$tmp/env.got"
  failed=$((failed + 1))
fi
FERRY_ALCHEMY_KEY=secret-a FERRY_INFURA_KEY=secret-i "$ferry" config check config/example.json >"$tmp/env.got"
rc=$?
n=$((n + 1))
if [ $rc -eq 0 ] && grep -q '^config/example.json: ok$' "$tmp/env.got" && ! grep -q secret- "$tmp/env.got"; then
  echo "ok $n - with the variables set the example is good, and no secret is printed"
else
  echo "not ok $n - with the variables set the example is good (status $rc)"
  sed 's/^/#   /' "$tmp/env.got"
  failed=$((failed + 1))
fi

# Misuse is exit 2 with the usage on stderr.
"$ferry" config check >/dev/null 2>"$tmp/usage.err"
rc=$?
n=$((n + 1))
if [ $rc -eq 2 ] && grep -q '^usage: ferry config check FILE' "$tmp/usage.err"; then
  echo "ok $n - no FILE: usage, exit 2"
else
  echo "not ok $n - no FILE: usage, exit 2 (status $rc)"
  failed=$((failed + 1))
fi

# Every key the parser knows is listed by `ferry config keys`, one per documented row.
keys=$("$ferry" config keys --markdown | grep -c '^| `')
rows=$(grep -c '^| `' docs/config.md)
n=$((n + 1))
if [ "$keys" -gt 30 ] && [ "$keys" -eq "$rows" ]; then
  echo "ok $n - ferry config keys lists $keys keys, docs/config.md has $rows rows"
else
  echo "not ok $n - ferry config keys lists $keys keys, docs/config.md has $rows rows"
  failed=$((failed + 1))
fi

echo "1..$n"
[ "$failed" -eq 0 ]
