#!/usr/bin/env bash
# Relay throughput alpha -> beta on anvil (issue 5), against the chains' own rate in the same run.
# Prints (a packet is "relayed" when ACKED on alpha; "delivered" when its voucher is minted on beta)
#   bench relay_packets: X packets/s (R x the chains' own rate for the same transactions, Y packets/s)
#   bench relay_delivered: X packets/s (R x ... )
#   bench relay_packets_vs_causal_replay: X packets/s (R x the same transactions replayed hop after hop, Y packets/s)
#   bench relay_packets_vs_transfers: X packets/s (R x anvil's ceiling of Z plain token transfers/s)
#   bench relay_delivered_vs_transfers: X packets/s (R x ...)
#   bench relay_bound_vs_transfers, relay_bound_causal: what the references leave to any relayer
# Method, and why it is fair:
# - A devnet of its own (ports 24000-24999). By default all three anvils automine
#   (FERRY_BENCH_BLOCK_TIME=0): every transaction is mined the moment it arrives, so the chains'
#   rates are anvil's own processing rates and no figure waits for a block cadence. With interval
#   mining the ceilings are "the next block" for any N that fits in one block (block phase, not
#   throughput); set FERRY_BENCH_BLOCK_TIME=0.2 (seconds, fractions allowed) to see that mode
#   anyway. The daemon's config is set to match: confirmations 0 (anvil never reorgs), a poll
#   interval of FERRY_BENCH_POLL (default 25ms: each hop waits up to one poll to be seen, and with
#   100ms the hops, not the chains, paced the relay), block_time; chains[].max_in_flight from
#   FERRY_BENCH_INFLIGHT (default 8); chains[].max_batch from
#   FERRY_BENCH_MAX_BATCH (default 32: the most the engine's default gas estimate puts in one
#   delivery) and a gas cap of 8M per transaction (config/example.json's for such batches).
# - N (FERRY_BENCH_N, 200) transactions are signed beforehand (tests/bench/relay_sign.c, built
#   here against libferry.a; the ceiling's from two funded accounts, the relay's from one) and sent in one JSON-RPC batch: the clock measures the chains and the relayer, not cast.
# - Relay: N TokenVault.transfer calls alpha -> beta, from the first send until the daemon has
#   moved N packets ACKING -> ACKED (its /metrics; `ferry packets` confirms this run's N packets
#   ACKED afterwards), and, separately, until the recipient's voucher balance on beta is N units. The relay's transactions are the N transfers and N acks on alpha and the deliveries
#   (N / max_batch) on beta.
# - The chains' own rate for the same transactions (the reference the ratio is honest against):
#   both chains are snapshotted before the relay; afterwards every transaction the relay mined
#   (the N transfers, the deliveries, the acks, signed as they were) is read back, both chains
#   are reverted, and the transactions are sent again, one batch per chain, both at once; the
#   clock runs until all are mined, and each must succeed with the same gas as in the relay. This
#   is N / (the time the chains need for the relay's work with no relayer in the way).
# - The same transactions hop after hop (bench relay_packets_vs_causal_replay): reverted again and
#   sent in causal order, the transfers, then (once mined) the deliveries, then the acks. The
#   replay above lets beta deliver while alpha is still mining the transfers, which no relayer can
#   (a delivery needs its transfer mined and seen); this one shows how much of the gap is the
#   protocol's own dependency and how much is the relayer. A relayer that overlaps the hops can beat it.
# - Plain token transfers (the issue's first reference, kept for comparison): N signed ERC-20
#   transfers on alpha, from the first send until both accounts' nonces show every one mined.
#   A relayed packet costs alpha two transactions (its transfer and its ack, each heavier than
#   an ERC-20 transfer) and beta a share of a delivery, so this ratio cannot reach 1 even with
#   a relayer that costs nothing; see README, Benchmarks.
# - Every phase is timed by tests/bench/relay_clock.c (one process polling every 5 ms on kept-alive
#   connections), so relay, ceiling and replay are measured alike; the CPU seconds the anvils (and
#   the daemon) used in the relay and in the replay are printed too.
# FERRY_BENCH_LOG=FILE keeps the daemon's log (where the time goes; FERRY_BENCH_LOG_LEVEL=debug for
# more), FERRY_BENCH_METRICS=FILE its /metrics at the end of the relay; FERRY_BENCH_WRAP runs the
# daemon under a profiler, e.g. "perf record -g -o /tmp/ferry.perf" or "strace -f -tt -o /tmp/ferry.st".
# A figure, not a test: fails only when the setup fails or the relay does not finish in time.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
export FERRY_BUILD=${FERRY_BUILD:-build}
ferry=$root/$FERRY_BUILD/ferry
cast=$root/scripts/toolchain/node_modules/.bin/cast
N=${FERRY_BENCH_N:-200}
bt=${FERRY_BENCH_BLOCK_TIME:-0}
export FERRY_DEVNET_BLOCK_TIME=$bt
[ "$bt" = 0 ] && FERRY_DEVNET_BLOCK_TIME=1 # automine: set once the contracts are deployed
tmp=$(mktemp -d)
export FERRY_DEVNET_DIR=$tmp/devnet
unset FERRY_PASSWORD FERRY_KEYSTORE_DIR FERRY_CRASH_AT
die() { echo "bench_relay: $*" >&2; exit 1; }
# cpu PID...: CPU seconds (user + system) the processes have used so far
cpu() { local p t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "scale=2; $t / $(getconf CLK_TCK)" | bc; }
now() { date +%s.%N; }

. tests/e2e/lib.sh # e2e_ports (its TAP helpers are not used here)
e2e_ports 4 24000 996 # 24000-24999: below the ephemeral range, and the range kept for this benchmark
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
  [ -n "${FERRY_BENCH_LOG:-}" ] && cp "$tmp/ferry.log" "$FERRY_BENCH_LOG" 2>/dev/null
  scripts/devnet.sh down >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
[ -x "$ferry" ] && [ -x "$cast" ] && command -v curl >/dev/null || die "ferry, cast and curl are needed"
scripts/devnet.sh up >"$tmp/up.log" 2>&1 || die "devnet up failed: $(tail -3 "$tmp/up.log")"
d=$FERRY_DEVNET_DIR/deployments.json
cfg=$FERRY_DEVNET_DIR/ferry.json
ms=$(echo "$bt * 1000 / 1" | bc)
[ "$ms" -ge 100 ] || ms=100
if [ "$bt" = 0 ]; then
  for r in $(jq -r '.chains[].rpc' "$FERRY_DEVNET_DIR/deployments.json"); do
    curl -sf -H 'content-type: application/json' --data '[{"jsonrpc":"2.0","id":1,"method":"evm_setIntervalMining","params":[0]},{"jsonrpc":"2.0","id":2,"method":"evm_setAutomine","params":[true]},{"jsonrpc":"2.0","id":3,"method":"anvil_setBlockGasLimit","params":["0x3b9aca00"]}]' "$r" >/dev/null || die "automine on $r failed"
  done
fi
jq --arg bt "${ms}ms" --argjson mb "${FERRY_BENCH_MAX_BATCH:-32}" \
  '.chains |= map(.block_time = $bt | .poll_interval = (env.FERRY_BENCH_POLL // "25ms") | .max_in_flight = ((env.FERRY_BENCH_INFLIGHT // "8") | tonumber) | .confirmations = 0 | .max_batch = $mb | .gas_limit = 8000000)' \
  "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"
[ -n "${FERRY_BENCH_LOG_LEVEL:-}" ] && jq --arg l "$FERRY_BENCH_LOG_LEVEL" ".log_level = \$l" "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"

rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_b=$(jq -r '.chains[1].rpc' "$d")
vault_a=$(jq -r '.chains[0].vault' "$d") vault_b=$(jq -r '.chains[1].vault' "$d")
token=$(jq -r '.chains[0].tokens.FTA' "$d")
recipient=$(jq -r .accounts.recipient "$d")
sink=0x000000000000000000000000000000000000dEaD # the ceiling's transfers go here
keys=()
for i in 4 5; do
  keys+=("$(sed -n "s/^($i) \(0x[0-9a-fA-F]\{64\}\)\$/\1/p" "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1)")
done
amount=1000
for k in "${keys[@]}"; do
  "$cast" send --rpc-url "$rpc_a" --private-key "$k" "$token" "approve(address,uint256)" "$vault_a" \
    $((amount * N)) >/dev/null 2>&1 || die "approve failed"
done
deadline=$(($("$cast" block --rpc-url "$rpc_a" latest --field timestamp) + 3600))
addr0=$("$cast" wallet address "${keys[0]}")
gas_t=$("$cast" estimate --rpc-url "$rpc_a" --from "$addr0" "$token" "transfer(address,uint256)" "$sink" $amount)
gas_v=$("$cast" estimate --rpc-url "$rpc_a" --from "$addr0" "$vault_a" \
  "transfer(address,uint256,uint64,address,uint64)" "$token" $amount 31338 "$recipient" $deadline)
[ -n "$gas_t" ] && [ -n "$gas_v" ] || die "gas estimates failed"

# sign KIND FIRST_NONCE...: N raw txs, one per line (the ceiling's alternate between the accounts;
# nonces[0] takes the even ones, nonces[1] the odd ones, interleaved so the chain sees both senders).
# The relay's transfers come from one account: anvil runs a batch's calls concurrently, and with
# one sender the nonces fix the order, hence every packet's sequence, in the relay and in its
# replay alike (an ack replayed for a packet that got another sequence would revert).
# tests/bench/relay_sign.c signs them (libferry's tx_sign; cast mktx took ~0.3 s a transaction).
sign() {
  local kind=$1
  shift
  if [ "$kind" = ceiling ]; then
    local half=$(((N + 1) / 2))
    "$signer" 31337 "${keys[0]}" "$1" "$half" $((gas_t * 13 / 10)) 100000000000 "$token" "$data_t" >"$tmp/c0" &&
      "$signer" 31337 "${keys[1]}" "$2" $((N - half)) $((gas_t * 13 / 10)) 100000000000 "$token" "$data_t" >"$tmp/c1" &&
      paste -d '\n' "$tmp/c0" "$tmp/c1" | grep . || echo FAILED
  else
    "$signer" 31337 "${keys[0]}" "$1" "$N" $((gas_v * 13 / 10)) 100000000000 "$vault_a" "$data_v" || echo FAILED
  fi
}
signer=$tmp/relay_sign
pkgs="libsecp256k1 libcurl libcjson libsodium nettle libmicrohttpd"
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -O2 -Iinclude -Ichains $(pkg-config --cflags $pkgs) \
  -o "$signer" tests/bench/relay_sign.c "$FERRY_BUILD/libferry.a" $(pkg-config --libs $pkgs) -lleveldb -lpthread -lm ||
  die "could not build tests/bench/relay_sign.c"
clock=$tmp/relay_clock
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -std=c11 -O2 $(pkg-config --cflags libcurl libcjson) -o "$clock" tests/bench/relay_clock.c \
  $(pkg-config --libs libcurl libcjson) || die "could not build tests/bench/relay_clock.c"
data_t=$("$cast" calldata "transfer(address,uint256)" "$sink" $amount)
data_v=$("$cast" calldata "transfer(address,uint256,uint64,address,uint64)" "$token" $amount 31338 "$recipient" $deadline)
n0=()
for k in "${keys[@]}"; do n0+=("$("$cast" nonce --rpc-url "$rpc_a" "$("$cast" wallet address "$k")")"); done
per=$(((N + ${#keys[@]} - 1) / ${#keys[@]}))
n1=("$((n0[0] + per))" "$((n0[1] + N - per))")
s0=$(now)
sign ceiling "${n0[@]}" >"$tmp/ceiling.raw"
sign relay "${n1[@]}" >"$tmp/relay.raw"
! grep -q FAILED "$tmp/ceiling.raw" "$tmp/relay.raw" || die "signing failed"
[ "$(wc -l <"$tmp/ceiling.raw")" = "$N" ] && [ "$(wc -l <"$tmp/relay.raw")" = "$N" ] || die "signing gave the wrong count"
signing=$(printf '%.2f' "$(echo "$(now) - $s0" | bc)")

batch() {
  jq -R -s 'split("\n") | map(select(length > 0)) | to_entries |
    map({jsonrpc: "2.0", id: .key, method: "eth_sendRawTransaction", params: [.value]})' "$1" >"$1.json"
}
send() {
  curl -sf -H 'content-type: application/json' --data-binary @"$1.json" "$rpc_a" >"$1.out" &&
    jq -e 'map(select(.error)) | length == 0' "$1.out" >/dev/null
}
batch "$tmp/ceiling.raw"
batch "$tmp/relay.raw"
rpc() { curl -sf -H 'content-type: application/json' --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1" | jq -r .result; }
addrs=()
for k in "${keys[@]}"; do addrs+=("$("$cast" wallet address "$k")"); done

# ---- the ceiling ----
rbal_before=$("$cast" call --rpc-url "$rpc_a" "$token" "balanceOf(address)(uint256)" "$sink" | cut -d' ' -f1)
conds=()
for i in "${!addrs[@]}"; do conds+=("nonce:$rpc_a:${addrs[$i]}:${n1[$i]}"); done
"$clock" 120 "${conds[@]}" >"$tmp/ceiling.clock" &
clk=$!
c0=$(now)
send "$tmp/ceiling.raw" || die "anvil refused the ceiling batch: $(head -c 300 "$tmp/ceiling.raw.out")"
wait $clk || die "the ceiling transfers were not all mined in 120 s"
c1=$(sort -n "$tmp/ceiling.clock" | tail -1)
rbal=$("$cast" call --rpc-url "$rpc_a" "$token" "balanceOf(address)(uint256)" "$sink" | cut -d' ' -f1)
[ "$(echo "$rbal - $rbal_before" | bc)" = $((N * amount)) ] || die "the ceiling transfers did not all succeed: the sink got $(echo "$rbal - $rbal_before" | bc), not $((N * amount))"
ceiling=$(printf '%.1f' "$(echo "scale=3; $N / ($c1 - $c0)" | bc)")

# ---- the relay ----
# shellcheck disable=SC2086 # FERRY_BENCH_WRAP is a command line, split on purpose
${FERRY_BENCH_WRAP:-} "$ferry" start --config "$cfg" 2>"$tmp/ferry.log" &
daemon=$!
end=$(($(date +%s) + 30))
until curl -sf "http://$FERRY_DEVNET_API/healthz" >/dev/null 2>&1; do
  kill -0 "$daemon" 2>/dev/null && [ "$(date +%s)" -le "$end" ] || die "ferry start failed: $(tail -3 "$tmp/ferry.log")"
  sleep 0.1
done
voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token")
# The replay below reverts to these snapshots (the relay's own transactions are mined after them).
snap_a=$(rpc "$rpc_a" evm_snapshot '[]') snap_b=$(rpc "$rpc_b" evm_snapshot '[]')
head_a=$(($(rpc "$rpc_a" eth_blockNumber '[]'))) head_b=$(($(rpc "$rpc_b" eth_blockNumber '[]')))
[ -n "$snap_a" ] && [ -n "$snap_b" ] || die "evm_snapshot failed"
# The devnet relays one packet of its own when it seeds beta's pool: count this run's packets
# only, from alpha's next sequence on.
seq0=$(($("$cast" call --rpc-url "$rpc_a" "$(jq -r '.chains[0].gateway' "$d")" "nextSequence()(uint64)" | cut -d' ' -f1)))
[ "$seq0" -ge 1 ] || die "could not read alpha's nextSequence"
acked_count() {
  curl -sf "http://$FERRY_DEVNET_API/metrics" |
    sed -n 's/^ferry_packet_transitions_total{from="ACKING",to="ACKED"} \([0-9]*\)$/\1/p'
}
all_acked() {
  "$ferry" packets --json --config "$cfg" 2>/dev/null |
    jq -e --argjson n "$N" --argjson s "$seq0" \
      '[.packets[] | select(.state == "ACKED" and .src == 31337 and .seq >= $s)] | length == $n' >/dev/null
}
# The devnet's own packet is relayed when the daemon starts: let it settle, so that the daemon's
# counter of ACKING -> ACKED transitions counts this run's packets only from here.
end=$(($(date +%s) + 30))
until [ "$("$ferry" packets --pending --json --config "$cfg" 2>/dev/null | jq '.packets | length')" = 0 ]; do
  [ "$(date +%s)" -le "$end" ] || die "the devnet's own packet was not relayed within 30 s"
  sleep 0.1
done
curl -sf "http://$FERRY_DEVNET_API/metrics" >/dev/null || die "no /metrics from the daemon"
acked0=$(acked_count)
acked0=${acked0:-0} # no line until the first ACKING -> ACKED
bal_data=$("$cast" calldata "balanceOf(address)" "$recipient")
want_bal=$(printf '0x%064x' $((N * amount)))
anvils=$(cat "$FERRY_DEVNET_DIR"/anvil-*.pid)
# The clock (tests/bench/relay_clock.c, polling every 5 ms on kept-alive connections) notes when the
# recipient's voucher balance on beta reaches N units (delivered) and when the daemon's counter has
# moved N more packets ACKING -> ACKED (relayed; asked only once delivered, since every /metrics
# render costs the daemon CPU); the listing then confirms every packet of this run ACKED. It
# starts polling before the clock's t0.
"$clock" 300 "call:$rpc_b:$voucher:$bal_data:$want_bal" \
  "then:metric:http://$FERRY_DEVNET_API/metrics:ferry_packet_transitions_total{from=\"ACKING\",to=\"ACKED\"}:$((acked0 + N))" \
  >"$tmp/relay.clock" &
clk=$!
# shellcheck disable=SC2086 # pid lists
cpu_a0=$(cpu $anvils) cpu_d0=$(cpu $daemon $(pgrep -P "$daemon"))
t0=$(now)
send "$tmp/relay.raw" || die "anvil refused the relay batch: $(head -c 300 "$tmp/relay.raw.out")"
wait $clk || die "not done in 300 s (delivered at $(sed -n 1p "$tmp/relay.clock"), acked at $(sed -n 2p "$tmp/relay.clock")): $(tail -2 "$tmp/ferry.log")"
td=$(sed -n 1p "$tmp/relay.clock") ta=$(sed -n 2p "$tmp/relay.clock")
all_acked || die "the daemon counted $N more acks, but not every packet of this run is ACKED: $("$ferry" packets --pending --config "$cfg" 2>&1 | head -5)"
[ -n "${FERRY_BENCH_METRICS:-}" ] && curl -sf "http://$FERRY_DEVNET_API/metrics" >"$FERRY_BENCH_METRICS"
# shellcheck disable=SC2086
cpu_a1=$(cpu $anvils) cpu_d1=$(cpu $daemon $(pgrep -P "$daemon"))
kill -TERM "$daemon"
wait "$daemon"
daemon=""

# ---- the same transactions, replayed straight to anvil ----
# Every transaction the relay needed (the N transfers and the acks on alpha, the deliveries on
# beta), signed as they were, sent again in one batch per chain after reverting both chains to
# the snapshots: what the chains themselves need for this relay, with no relayer in the way.
# txs RPC FROM TO: "hash from" of every transaction in blocks FROM..TO, in order.
txs() {
  local b
  for ((b = $2; b <= $3; b++)); do printf '{"jsonrpc":"2.0","id":%d,"method":"eth_getBlockByNumber","params":["0x%x",true]}\n' "$b" "$b"; done |
    jq -s . | curl -sf -H 'content-type: application/json' --data-binary @- "$1" |
    jq -r 'sort_by(.id) | .[].result.transactions[] | "\(.hash) \(.from)"'
}
# raws RPC < hashes: a JSON-RPC batch sending every one of them again, in order.
raws() {
  jq -R -s 'split("\n") | map(select(length > 0) | split(" ")[0]) | to_entries |
    map({jsonrpc: "2.0", id: .key, method: "eth_getRawTransactionByHash", params: [.value]})' |
    curl -sf -H 'content-type: application/json' --data-binary @- "$1" |
    jq 'sort_by(.id) | map({jsonrpc: "2.0", id: .id, method: "eth_sendRawTransaction", params: [.result]})'
}
# receipts RPC FILE: the clock's conditions for "every transaction of FILE ("hash from" lines) is
# mined": a receipt for each sender's last one (a sender's transactions are mined in nonce order).
last_hashes() { awk '{ last[$2] = $1 } END { for (a in last) print last[a] }' "$1"; }
receipts() {
  local h
  for h in $(last_hashes "$2"); do printf 'receipt:%s:%s\n' "$1" "$h"; done
}
end_a=$(($(rpc "$rpc_a" eth_blockNumber '[]'))) end_b=$(($(rpc "$rpc_b" eth_blockNumber '[]')))
txs "$rpc_a" $((head_a + 1)) "$end_a" >"$tmp/replay_a.txs"
txs "$rpc_b" $((head_b + 1)) "$end_b" >"$tmp/replay_b.txs"
# anvil runs the calls of one batch concurrently, so an ack could overtake its transfer (another
# sender): alpha's transfers go first, its other transactions (the acks) once they are mined.
senders=$(printf '%s\n' "${addrs[@]}" | tr 'A-F' 'a-f')
awk -v s="$senders" 'BEGIN { n = split(s, a, "\n"); for (i = 1; i <= n; i++) t[a[i]] = 1 } { if (tolower($2) in t) print }' \
  "$tmp/replay_a.txs" >"$tmp/replay_a1.txs"
awk -v s="$senders" 'BEGIN { n = split(s, a, "\n"); for (i = 1; i <= n; i++) t[a[i]] = 1 } { if (!(tolower($2) in t)) print }' \
  "$tmp/replay_a.txs" >"$tmp/replay_a2.txs"
raws "$rpc_a" <"$tmp/replay_a1.txs" >"$tmp/replay_a1.json"
raws "$rpc_a" <"$tmp/replay_a2.txs" >"$tmp/replay_a2.json"
raws "$rpc_b" <"$tmp/replay_b.txs" >"$tmp/replay_b.json"
n_a=$(wc -l <"$tmp/replay_a.txs") n_b=$(wc -l <"$tmp/replay_b.txs")
[ "$(wc -l <"$tmp/replay_a1.txs")" = "$N" ] || die "expected $N transfers on alpha, found $(wc -l <"$tmp/replay_a1.txs")"
jq -e 'map(select(.params[0] == null)) | length == 0' "$tmp/replay_a1.json" "$tmp/replay_a2.json" "$tmp/replay_b.json" >/dev/null ||
  die "eth_getRawTransactionByHash did not return every transaction"
gas_used() { # total gasUsed of the transactions in FILE
  jq -R -s 'split("\n") | map(select(length > 0) | split(" ")[0]) | to_entries |
    map({jsonrpc: "2.0", id: .key, method: "eth_getTransactionReceipt", params: [.value]})' "$2" |
    curl -sf -H 'content-type: application/json' --data-binary @- "$1" |
    jq -c '[.[].result | select(.status == "0x1") | .gasUsed | ltrimstr("0x") | ascii_downcase |
      explode | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end))] | [length, add]'
}
ok_a=$(gas_used "$rpc_a" "$tmp/replay_a.txs") ok_b=$(gas_used "$rpc_b" "$tmp/replay_b.txs")
# back RPC: reverts both chains to the snapshots and takes them again (a snapshot is used up by
# its revert), so that the next replay starts from the same state.
back() {
  [ "$(rpc "$rpc_a" evm_revert "[\"$snap_a\"]")" = true ] && [ "$(rpc "$rpc_b" evm_revert "[\"$snap_b\"]")" = true ] ||
    die "evm_revert failed"
  snap_a=$(rpc "$rpc_a" evm_snapshot '[]') snap_b=$(rpc "$rpc_b" evm_snapshot '[]')
  # A block holds every transaction that is waiting (automine mines one block per arrival: a block
  # gas limit of 30M would leave the rest of a batch waiting for the next arrival); evm_revert
  # does not keep the setting, so it is made again.
  if [ "$bt" = 0 ]; then
    for r in "$rpc_a" "$rpc_b"; do
      [ "$(rpc "$r" anvil_setBlockGasLimit '["0x3b9aca00"]')" = true ] || die "anvil_setBlockGasLimit on $r failed"
    done
  fi
}
back
# shellcheck disable=SC2086
cpu_r0=$(cpu $anvils)
r0=$(now)
curl -sf -H 'content-type: application/json' --data-binary @"$tmp/replay_b.json" "$rpc_b" >"$tmp/replay_b.out" &
pb=$!
curl -sf -H 'content-type: application/json' --data-binary @"$tmp/replay_a1.json" "$rpc_a" >"$tmp/replay_a1.out" ||
  die "replay on alpha refused"
mapfile -t conds < <(receipts "$rpc_a" "$tmp/replay_a1.txs")
"$clock" 120 "${conds[@]}" >/dev/null || die "the replayed transfers were not all mined in 120 s (pool: $(rpc "$rpc_a" txpool_status '[]' | tr -d ' \n'))"
curl -sf -H 'content-type: application/json' --data-binary @"$tmp/replay_a2.json" "$rpc_a" >"$tmp/replay_a2.out" ||
  die "replay of the acks on alpha refused"
wait $pb || die "replay on beta refused"
mapfile -t conds < <(receipts "$rpc_a" "$tmp/replay_a2.txs" && receipts "$rpc_b" "$tmp/replay_b.txs")
"$clock" 120 "${conds[@]}" >"$tmp/replay.clock" ||
  die "the replayed transactions were not all mined in 120 s (pools: alpha $(rpc "$rpc_a" txpool_status '[]' | tr -d ' \n'), beta $(rpc "$rpc_b" txpool_status '[]' | tr -d ' \n'); errors in the replies: $(jq -c '[.[] | select(.error) | .error.message] | group_by(.) | map([.[0], length])' "$tmp/replay_a2.out" "$tmp/replay_b.out" | tr '\n' ' '))"
r1=$(sort -n "$tmp/replay.clock" | tail -1)
blocks_r="$(($(rpc "$rpc_a" eth_blockNumber '[]') - head_a)) + $(($(rpc "$rpc_b" eth_blockNumber '[]') - head_b))"
# shellcheck disable=SC2086
cpu_r1=$(cpu $anvils)
# Same successes, same gas: the replay did the relay's work, no less.
rok_a=$(gas_used "$rpc_a" "$tmp/replay_a.txs") rok_b=$(gas_used "$rpc_b" "$tmp/replay_b.txs")
if [ "$rok_a" != "$ok_a" ] && [ -n "${FERRY_BENCH_DEBUG:-}" ]; then
  while read -r h f; do
    st=$(rpc "$rpc_a" eth_getTransactionReceipt "[\"$h\"]" | jq -r '.status // "none"')
    [ "$st" = 0x1 ] || echo "replay: $h from $f: status $st" >&2
  done <"$tmp/replay_a.txs" | head -5
fi
[ "$rok_a" = "$ok_a" ] && [ "$rok_b" = "$ok_b" ] ||
  die "the replay did not do what the relay did: (successful txs, gas) alpha $rok_a vs $ok_a, beta $rok_b vs $ok_b"
replay=$(printf '%.1f' "$(echo "scale=3; $N / ($r1 - $r0)" | bc)")

# ---- the same transactions in causal order: transfers, then deliveries, then acks ----
# The replay above runs beta's deliveries beside alpha's transfers from the first moment, which
# no relayer can: a delivery needs its transfer mined first. Here each chain's part waits for
# the part before it, as for a relayer with no latency that does not overlap the hops; a relayer
# that starts delivering while transfers are still being mined can beat it (ratio above 1).
back
k0=$(now)
phase() { # RPC JSON TXS: send the batch, wait until all mined
  curl -sf -H 'content-type: application/json' --data-binary @"$2" "$1" >/dev/null || die "causal replay refused by $1"
  mapfile -t conds < <(receipts "$1" "$3")
  "$clock" 120 "${conds[@]}" >"$tmp/causal.clock" || die "the causal replay was not all mined in 120 s"
}
phase "$rpc_a" "$tmp/replay_a1.json" "$tmp/replay_a1.txs"
kt=$(sort -n "$tmp/causal.clock" | tail -1) # the packets' own transfers alone: every relayer needs them mined
phase "$rpc_b" "$tmp/replay_b.json" "$tmp/replay_b.txs"
kd=$(sort -n "$tmp/causal.clock" | tail -1)
phase "$rpc_a" "$tmp/replay_a2.json" "$tmp/replay_a2.txs"
k1=$(sort -n "$tmp/causal.clock" | tail -1)
blocks_k="$(($(rpc "$rpc_a" eth_blockNumber '[]') - head_a)) + $(($(rpc "$rpc_b" eth_blockNumber '[]') - head_b))"
[ "$(gas_used "$rpc_a" "$tmp/replay_a.txs")" = "$ok_a" ] && [ "$(gas_used "$rpc_b" "$tmp/replay_b.txs")" = "$ok_b" ] ||
  die "the causal replay did not do what the relay did"
causal=$(printf '%.1f' "$(echo "scale=3; $N / ($k1 - $k0)" | bc)")
sends=$(printf '%.1f' "$(echo "scale=3; $N / ($kt - $k0)" | bc)")

ack_rate=$(printf '%.1f' "$(echo "scale=3; $N / ($ta - $t0)" | bc)")
del_rate=$(printf '%.1f' "$(echo "scale=3; $N / ($td - $t0)" | bc)")
secs() { printf '%.2f' "$(echo "$1 - $2" | bc)"; }
ratio() { printf '%.2f' "$(echo "scale=3; $1 / $2" | bc)"; }
echo "# $N transfers, $([ "$bt" = 0 ] && echo automine || echo "blocks every $bt s"), max_batch ${FERRY_BENCH_MAX_BATCH:-32} (signed in $signing s):" \
  "ceiling $(secs "$c1" "$c0") s, relay delivered in $(secs "$td" "$t0") s, acked in $(secs "$ta" "$t0") s;" \
  "the relay's $n_a + $n_b transactions (alpha + beta) in $((end_a - head_a)) + $((end_b - head_b)) blocks replayed in $(secs "$r1" "$r0") s ($blocks_r blocks), hop after hop in $(secs "$k1" "$k0") s ($blocks_k blocks: transfers $(secs "$kt" "$k0") s, deliveries $(secs "$kd" "$kt") s, acks $(secs "$k1" "$kd") s);" \
  "successful txs and their gas: alpha $ok_a, beta $ok_b;" \
  "CPU seconds: relay anvils $(echo "$cpu_a1 - $cpu_a0" | bc) + ferry $(echo "$cpu_d1 - $cpu_d0" | bc), replay anvils $(echo "$cpu_r1 - $cpu_r0" | bc)"
echo "bench relay_packets: $ack_rate packets/s ($(ratio "$ack_rate" "$replay")x the chains' own rate for the same transactions, $replay packets/s)"
echo "bench relay_delivered: $del_rate packets/s ($(ratio "$del_rate" "$replay")x the chains' own rate for the same transactions, $replay packets/s)"
echo "bench relay_packets_vs_causal_replay: $ack_rate packets/s ($(ratio "$ack_rate" "$causal")x the same transactions replayed hop after hop, $causal packets/s)"
echo "bench relay_packets_vs_transfers: $ack_rate packets/s ($(ratio "$ack_rate" "$ceiling")x anvil's ceiling of $ceiling plain token transfers/s)"
echo "bench relay_delivered_vs_transfers: $del_rate packets/s ($(ratio "$del_rate" "$ceiling")x anvil's ceiling of $ceiling plain token transfers/s)"
# The bounds, what the references leave to any relayer in this run: a packet's own transfer must be
# mined before anything can be relayed, so N / (the N vault transfers alone, the first phase of the
# hop-after-hop replay) bounds every relayer against the plain-transfer ceiling, however it batches;
# and the hop-after-hop replay (a relayer with no latency that waits for each hop) against the
# headline reference.
echo "bench relay_bound_vs_transfers: $sends packets/s ($(ratio "$sends" "$ceiling")x anvil's ceiling of $ceiling plain token transfers/s: the packets' own transfers alone, which bound any relayer)"
echo "bench relay_bound_causal: $causal packets/s ($(ratio "$causal" "$replay")x the chains' own rate for the same transactions, $replay packets/s: hop after hop with no latency)"
