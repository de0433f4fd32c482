#!/usr/bin/env bash
# End-to-end test of the operator commands `ferry chain status` and `ferry tx send` against a private
# anvil (OS-assigned port) with the real contracts deployed, a generated config and a keystore made by
# cast: status shows the head and the submitter; tx send moves value exactly once (also when sent again
# under the same --id); bad arguments and a store held by another process fail clearly.
# Prints TAP lines; scripts/run-tests.sh counts them.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
ferry=$root/${FERRY_BUILD:-build}/ferry
tools=$root/scripts/toolchain/node_modules/.bin
cast=$tools/cast anvil=$tools/anvil
tmp=$(mktemp -d)
anvil_pid=
holder_pid=
cleanup() {
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
  [ -n "$anvil_pid" ] && kill "$anvil_pid" 2>/dev/null && wait "$anvil_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
unset FERRY_PASSWORD FERRY_KEYSTORE_DIR

. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d" "$(head -c 600 "$err" 2>/dev/null)"; fi; }

for t in "$ferry" "$cast" "$anvil"; do
  [ -x "$t" ] || { echo "not ok 1 - $t missing (make; scripts/bootstrap.sh)"; exit 1; }
done
command -v jq >/dev/null || { echo "not ok 1 - jq missing"; exit 1; }
if [ ! -f build/contracts/Gateway.json ]; then
  scripts/contracts.sh build >"$tmp/build.log" 2>&1 || { echo "not ok 1 - contracts build"; exit 1; }
fi

out=$tmp/out err=$tmp/err
fr() { "$ferry" "$@" >"$out" 2>"$err"; rc=$?; }
fails_with() { [ "$rc" -eq "$1" ] && grep -qF -- "$2" "$err"; }

# anvil on a port the kernel picks
"$anvil" --port 0 --chain-id 31337 >"$tmp/anvil.log" 2>&1 &
anvil_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/anvil.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "not ok 1 - anvil did not start"; exit 1; }
url=http://127.0.0.1:$port
ok "anvil up at $url"

DEV0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
SUB_KEY=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a # dev key 4
SUB_ADDR=0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65
RCPT=0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc # dev account 5
ATT=0x70997970C51812dc3A010C7d01b50e0d17dc79C8

if scripts/contracts.sh deploy --rpc "$url" --key $DEV0 --chain-id 31337 --out "$tmp/alpha.json" \
  >"$tmp/deploy.log" 2>&1; then ok "contracts deployed"; else notok "contracts deployed" "$(tail -3 "$tmp/deploy.log")"; exit 1; fi
gateway=$(jq -r .gateway "$tmp/alpha.json")

pw='e2e pw'
mkdir -p "$tmp/keys"
"$cast" wallet import sub --private-key $SUB_KEY --keystore-dir "$tmp/keys" --unsafe-password "$pw" >/dev/null 2>&1
check "cast made the submitter keystore" test -f "$tmp/keys/sub"

cat >"$tmp/ferry.json" <<EOF
{
  "data_dir": "$tmp/data",
  "keystore": {"dir": "$tmp/keys"},
  "attesters": {"threshold": 1, "addresses": ["$ATT"], "keys": []},
  "chains": [
    {"name": "alpha", "kind": "evm", "chain_id": 31337, "rpc": ["$url"], "gateway": "$gateway",
     "confirmations": 1, "poll_interval": "200ms", "max_fee_per_gas": "100 gwei", "submitter": "sub"},
    {"name": "beta", "kind": "evm", "chain_id": 31338, "rpc": ["http://127.0.0.1:9"], "gateway": "$gateway",
     "confirmations": 1, "max_fee_per_gas": "100 gwei", "submitter": "sub"}
  ]
}
EOF
fr config check "$tmp/ferry.json"
check "the generated config checks" test "$rc" -eq 0

# ---- ferry chain status ----
export FERRY_PASSWORD=$pw
head_now=$("$cast" block-number --rpc-url "$url")
fr chain status alpha --config "$tmp/ferry.json"
check "chain status succeeds" test "$rc" -eq 0
shown=$(sed -n 's/^head: \([0-9]*\).*/\1/p' "$out")
check "chain status shows the head ($head_now)" test -n "$shown" -a "${shown:-0}" -ge "$head_now"
check "chain status shows the submitter" grep -q "^submitter: sub $SUB_ADDR\$" "$out"
check "chain status shows the endpoint healthy" grep -q "^endpoint: http://127.0.0.1:$port healthy" "$out"
check "chain status shows nonce and balance" grep -qE '^balance: [0-9]+ wei \([0-9.]+ ether\)$' "$out"
check "chain status shows the cursor" grep -q '^cursor: ' "$out"
fr chain status alpha --config "$tmp/ferry.json" --json
check "chain status --json parses" bash -c "jq -e . '$out' >/dev/null"
check "--json: head and submitter" test "$(jq -r '.head.number >= '"$head_now"' and .submitter.address == "'$SUB_ADDR'"' "$out")" = true
check "--json: endpoints, cursor, nonce, balance" \
  test "$(jq -r '(.endpoints[0].healthy) and (.cursor.next_block|type=="number") and (.submitter.nonce|type=="number") and (.submitter.balance_wei|type=="string")' "$out")" = true

# ---- ferry tx send ----
before=$("$cast" balance --rpc-url "$url" $RCPT)
fr tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --value 12345 --id op-1
check "tx send succeeds" test "$rc" -eq 0
hash=$(sed -n 's/^tx: //p' "$out")
check "tx send prints the hash and the status" test -n "$hash" -a "$(sed -n 's/^status: //p' "$out" | cut -d' ' -f1)" = confirmed
check "the receipt on chain says success" test "$("$cast" receipt --rpc-url "$url" "$hash" --json 2>/dev/null | jq -r .status)" = 0x1
after=$("$cast" balance --rpc-url "$url" $RCPT)
check "the recipient got exactly 12345 wei" test "$(echo "$after - $before" | bc)" = 12345
fr tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --value 12345 --id op-1
check "the same --id again reports the same transaction" test "$rc" -eq 0 -a "$(sed -n 's/^tx: //p' "$out")" = "$hash"
again=$("$cast" balance --rpc-url "$url" $RCPT)
check "and moves nothing twice" test "$again" = "$after"
check "the submitter's nonce moved once" test "$("$cast" nonce --rpc-url "$url" $SUB_ADDR)" = 1
fr tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --data 0xdeadbeef
check "tx send with --data and a fresh id" test "$rc" -eq 0 -a "$("$cast" nonce --rpc-url "$url" $SUB_ADDR)" = 2
fr chain status alpha --config "$tmp/ferry.json"
check "status shows the new nonce" grep -q '^nonce: 2$' "$out"

# ---- bad arguments ----
fr tx send --config "$tmp/ferry.json" --chain alpha
check "no --to: usage error" fails_with 2 "--to ADDR is required"
fr tx send --config "$tmp/ferry.json" --chain alpha --to 0x1234
check "a bad address: usage error" fails_with 2 "--to: not an address"
fr tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --value 1.5
check "a bad value: usage error" fails_with 2 "--value: expected a whole number of wei"
fr tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --data 0xzz
check "bad calldata: usage error" fails_with 2 "--data: expected 0x-prefixed hex"
fr tx send --config "$tmp/ferry.json" --chain nope --to $RCPT
check "an unknown chain names the chains" fails_with 2 'no chain "nope"'
fr tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --bogus 1
check "an unknown option: usage error" fails_with 2 "--bogus: unknown option"
fr chain status --config "$tmp/ferry.json"
check "chain status without a name: usage error" fails_with 2 "give its NAME"
fr chain status alpha --config "$tmp/missing.json"
check "a missing config fails" test "$rc" -eq 1
FERRY_PASSWORD= fr chain status alpha --config "$tmp/ferry.json"
check "a wrong password fails" test "$rc" -eq 1
(unset FERRY_PASSWORD; "$ferry" tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --value 1 >"$out" 2>"$err")
rc=$?
check "no password source: says where it comes from" fails_with 1 "no keystore password"
check "bad attempts moved nothing" test "$("$cast" balance --rpc-url "$url" $RCPT)" = "$after" -a \
  "$("$cast" nonce --rpc-url "$url" $SUB_ADDR)" = 2

# ---- the daemon holds the store ----
if command -v flock >/dev/null; then
  flock "$tmp/data/ferry.lock" sleep 60 >/dev/null 2>&1 &
  holder_pid=$!
  sleep 0.3
  fr tx send --config "$tmp/ferry.json" --chain alpha --to $RCPT --value 1
  check "tx send refuses while the store is held" fails_with 1 "the daemon is running"
  fr chain status alpha --config "$tmp/ferry.json"
  check "chain status still answers" test "$rc" -eq 0
  check "and says the cursor is the daemon's" grep -q '^cursor: unknown (the store is in use' "$out"
  kill "$holder_pid" 2>/dev/null
  holder_pid=
fi
check "no password in any output" bash -c "! grep -rqF '$pw' '$out' '$err'"

[ "$failed" -eq 0 ]
