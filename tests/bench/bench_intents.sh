#!/usr/bin/env bash
# Intent throughput (issue 6), each figure against a reference measured in the same run. Prints
#   bench intents_accepted: X intents/s (R x GET /healthz at Y req/s)
#   bench intents_completed: X intents/s (R x anvil's ceiling of Y tx/s)
# Method:
# - A devnet of its own (free ports in 22000-23999), automine by default (FERRY_BENCH_BLOCK_TIME=0, as
#   bench_relay: the chains' own processing rate is the limit, not a block cadence); the daemon with
#   confirmations 0 and 100 ms polls.
# - N (FERRY_BENCH_INTENTS, 200) distinct sample intents (1 milli-FTA alpha -> beta, swap on beta's
#   pool, FTB beta -> gamma; distinct nonces) are prepared through the API and signed with cast before
#   the clock starts. The owner allows alpha's router for all of them.
# - Accepted: one curl process posts all N to POST /v1/intents, FERRY_BENCH_PARALLEL (8) at a time
#   (curl --parallel), clock from the first request to the last answer; every answer must be 202.
#   Reference: the same curl, the same parallelism, N requests of GET /healthz, just before.
# - Completed: from the first POST until GET /v1/intents?state=COMPLETED lists all N. Each intent
#   needs open and advance on alpha, the delivery to beta, two advances on beta, the delivery to
#   gamma and two acks: measured, about 6.1 transactions an intent from the daemon's submitter (the
#   engine batches deliveries and acks), all from the one submitter key per chain. Reference: the chains' own
#   ceiling, N signed FTA transfers sent straight to alpha's anvil in one JSON-RPC batch, clock until
#   all are mined (as bench_relay).
# A figure, not a test: fails only when the setup fails or the intents do not all complete in time.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
export FERRY_BUILD=${FERRY_BUILD:-build}
ferry=$root/$FERRY_BUILD/ferry
cast=$root/scripts/toolchain/node_modules/.bin/cast
N=${FERRY_BENCH_INTENTS:-200}
P=${FERRY_BENCH_PARALLEL:-8}
bt=${FERRY_BENCH_BLOCK_TIME:-0}
tmp=$(mktemp -d)
unset FERRY_PASSWORD FERRY_KEYSTORE_DIR FERRY_CRASH_AT
die() { echo "bench_intents: $*" >&2; exit 1; }
now() { date +%s.%N; }
rate() { printf '%.1f' "$(echo "scale=4; $1 / ($3 - $2)" | bc)"; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }

. tests/e2e/lib.sh        # port_free, wait_for (its TAP helpers are not used here)
. tests/e2e/intent_lib.sh # devnet_up, daemon_start, intent_3step, sign_id, ...
trap e2e_cleanup EXIT
[ -x "$ferry" ] && [ -x "$cast" ] && command -v curl >/dev/null || die "ferry, cast and curl are needed"

# devnet_up prints a TAP line: keep it out of the figures.
devnet_up "$([ "$bt" = 0 ] && echo 1 || echo "$bt")" >"$tmp/up.tap" || die "devnet up failed: $(cat "$tmp/up.tap"; tail -3 "$tmp/up.log")"
if [ "$bt" = 0 ]; then
  for r in "$rpc_a" "$rpc_b" "$rpc_c"; do
    curl -sf -H 'content-type: application/json' --data '[{"jsonrpc":"2.0","id":1,"method":"evm_setIntervalMining","params":[0]},{"jsonrpc":"2.0","id":2,"method":"evm_setAutomine","params":[true]}]' "$r" >/dev/null || die "automine on $r failed"
  done
fi
ms=$(echo "$bt * 1000 / 1" | bc)
[ "$ms" -ge 100 ] || ms=100
jq --arg bt "${ms}ms" '.chains |= map(.block_time = $bt | .poll_interval = "100ms" | .confirmations = 0)' "$cfg" >"$cfg.new" &&
  mv "$cfg.new" "$cfg"
daemon_start || die "ferry start failed: $(tail -3 "$tmp/ferry.log")"
token=$(cat "$token_file")

# ---- N prepared and signed intents ----
amount=1000000000000000 # 0.001 FTA each: the pool's price barely moves over N swaps
intent_3step $amount 1 >"$tmp/base.json"
mkdir -p "$tmp/in" "$tmp/out"
for ((i = 1; i <= N; i++)); do
  jq --arg n "$((1000000 + i))" '{intent: (.nonce = $n)}' "$tmp/base.json" >"$tmp/in/prep-$i.json"
  curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    --data-binary "@$tmp/in/prep-$i.json" "$api_url/v1/intents/prepare" >"$tmp/in/prepared-$i.json" ||
    die "prepare $i failed: $(curl -s -H "Authorization: Bearer $token" --data-binary "@$tmp/in/prep-$i.json" "$api_url/v1/intents/prepare")"
done
sign_one() {
  local i=$1 id sig
  id=$(jq -r .intent_id "$tmp/in/prepared-$i.json")
  sig=$("$cast" wallet sign --no-hash "$id" --private-key "$owner_key") || return 1
  jq --arg sig "$sig" '{intent: .intent, signature: $sig}' "$tmp/in/prepared-$i.json" >"$tmp/in/body-$i.json"
}
export -f sign_one
export cast tmp owner_key
seq 1 "$N" | xargs -P 2 -I{} bash -c 'sign_one {}' || die "signing failed"
[ "$(jq -s 'map(.intent_id) | unique | length' "$tmp"/in/prepared-*.json)" = "$N" ] || die "the $N intents do not have $N distinct ids"

# curl config files: N requests each, run by one curl with --parallel.
{
  for ((i = 1; i <= N; i++)); do
    echo "url = \"$api_url/healthz\""
    echo "output = \"$tmp/out/health-$i.json\""
    echo 'write-out = "%{http_code}\n"'
    [ "$i" -lt "$N" ] && echo next
  done
} >"$tmp/health.curl"
{
  for ((i = 1; i <= N; i++)); do
    echo "url = \"$api_url/v1/intents\""
    echo "header = \"Authorization: Bearer $token\""
    echo 'header = "content-type: application/json"'
    echo "data-binary = \"@$tmp/in/body-$i.json\""
    echo "output = \"$tmp/out/submit-$i.json\""
    echo 'write-out = "%{http_code}\n"'
    [ "$i" -lt "$N" ] && echo next
  done
} >"$tmp/submit.curl"

# ---- the chains' ceiling: N signed transfers straight to alpha ----
sink=0x000000000000000000000000000000000000dEaD
ckey=$(dev_key 6)
caddr=$("$cast" wallet address --private-key "$ckey")
"$cast" send --rpc-url "$rpc_a" --private-key "$owner_key" "$fta" "transfer(address,uint256)" "$caddr" $((N * 1000)) >/dev/null 2>&1 ||
  die "funding the ceiling's sender failed"
n0=$("$cast" nonce --rpc-url "$rpc_a" "$caddr")
gas=$("$cast" estimate --rpc-url "$rpc_a" --from "$caddr" "$fta" "transfer(address,uint256)" "$sink" 1000)
for ((i = 0; i < N; i++)); do
  "$cast" mktx --rpc-url "$rpc_a" --private-key "$ckey" --nonce $((n0 + i)) --gas-limit $((gas * 13 / 10)) \
    --gas-price 100gwei --chain 31337 "$fta" "transfer(address,uint256)" "$sink" 1000 || echo FAILED
done >"$tmp/ceiling.raw"
! grep -q FAILED "$tmp/ceiling.raw" || die "signing the ceiling's transfers failed"
jq -R -s 'split("\n") | map(select(length > 0)) | to_entries |
  map({jsonrpc: "2.0", id: .key, method: "eth_sendRawTransaction", params: [.value]})' "$tmp/ceiling.raw" >"$tmp/ceiling.json"
c0=$(now)
curl -sf -H 'content-type: application/json' --data-binary "@$tmp/ceiling.json" "$rpc_a" >"$tmp/ceiling.out" &&
  jq -e 'map(select(.error)) | length == 0' "$tmp/ceiling.out" >/dev/null || die "anvil refused the ceiling batch: $(head -c 300 "$tmp/ceiling.out")"
end=$(($(date +%s) + 120))
until [ "$("$cast" nonce --rpc-url "$rpc_a" "$caddr")" -ge $((n0 + N)) ]; do
  [ "$(date +%s)" -le "$end" ] || die "the ceiling's transfers were not all mined in 120 s"
  sleep 0.02
done
c1=$(now)
[ "$(bal "$rpc_a" "$fta" "$sink")" = $((N * 1000)) ] || die "the ceiling's transfers did not all succeed"
ceiling=$(rate "$N" "$c0" "$c1")

# ---- GET /healthz, then the intents ----
h0=$(now)
curl -s -Z --parallel-max "$P" -K "$tmp/health.curl" >"$tmp/health.codes" 2>/dev/null
h1=$(now)
[ "$(grep -c '^200$' "$tmp/health.codes")" = "$N" ] || die "GET /healthz: not all 200: $(sort "$tmp/health.codes" | uniq -c | tr '\n' ' ')"
health=$(rate "$N" "$h0" "$h1")

submitter=$(jq -r '.accounts.submitter // empty' "$d")
[ -n "$submitter" ] || submitter=$("$cast" wallet address --private-key "$(dev_key 1)")
sent() { echo $(($("$cast" nonce --rpc-url "$rpc_a" "$submitter") + $("$cast" nonce --rpc-url "$rpc_b" "$submitter") + $("$cast" nonce --rpc-url "$rpc_c" "$submitter"))); }
tx0=$(sent)
t0=$(now)
curl -s -Z --parallel-max "$P" -K "$tmp/submit.curl" >"$tmp/submit.codes" 2>/dev/null
t1=$(now)
[ "$(grep -c '^202$' "$tmp/submit.codes")" = "$N" ] ||
  die "POST /v1/intents: not all 202: $(sort "$tmp/submit.codes" | uniq -c | tr '\n' ' '); e.g. $(grep -L intent_id "$tmp"/out/submit-*.json | head -1 | xargs cat 2>/dev/null)"
accepted=$(rate "$N" "$t0" "$t1")

completed_n() {
  curl -sf -H "Authorization: Bearer $token" "$api_url/v1/intents?state=COMPLETED&limit=1000" | jq '.intents | length'
}
end=$(($(date +%s) + ${FERRY_BENCH_TIMEOUT:-600}))
until [ "$(completed_n)" = "$N" ]; do
  if [ "$(date +%s)" -gt "$end" ]; then
    die "not all completed in ${FERRY_BENCH_TIMEOUT:-600} s: $(curl -sf -H "Authorization: Bearer $token" "$api_url/v1/intents?limit=1000" |
      jq -c '[.intents[].state] | group_by(.) | map({(.[0]): length}) | add')"
  fi
  sleep 0.2
done
t2=$(now)
done_rate=$(rate "$N" "$t0" "$t2")
txs=$(($(sent) - tx0))
secs() { printf '%.2f' "$(echo "$1 - $2" | bc)"; }
echo "# $N intents, $P at a time, $([ "$bt" = 0 ] && echo automine || echo "blocks every $bt s"): healthz in $(secs "$h1" "$h0") s," \
  "accepted in $(secs "$t1" "$t0") s, all COMPLETED in $(secs "$t2" "$t0") s ($txs transactions from the daemon's submitter," \
  "$(printf '%.1f' "$(echo "scale=2; $txs / $N" | bc)") per intent); ceiling $(secs "$c1" "$c0") s for $N transfers"
echo "bench intents_accepted: $accepted intents/s ($(ratio "$accepted" "$health")x GET /healthz at $health req/s)"
echo "bench intents_completed: $done_rate intents/s ($(ratio "$done_rate" "$ceiling")x anvil's ceiling of $ceiling tx/s)"
daemon_stop
