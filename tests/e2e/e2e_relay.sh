#!/usr/bin/env bash
# End-to-end relay: the devnet on ports of its own, `ferry start` in the background, a token transfer
# alpha -> beta made with cast (approve + TokenVault.transfer, docs/protocol.md) arrives on beta as
# the voucher, its acknowledgement returns (ACKED in `ferry packets --json`), every balance is exact,
# and SIGTERM stops the daemon with exit 0. Polls with deadlines, never fixed sleeps. TAP lines.
# Skips (one "ok # SKIP" line) when this build has no EVM chain adapter.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for, e2e_setup, e2e_ports, e2e_devnet_up
e2e_setup
export FERRY_DEVNET_DIR=$tmp/devnet
# A devnet without the sample intent's voucher pool: its hand-relayed packet would be alpha's sequence 1.
export FERRY_DEVNET_VOUCHER_POOL=0
e2e_ports 4

e2e_devnet_up

"$ferry" start --config "$cfg" 2>"$tmp/ferry.log" &
daemon=$!
healthy() { curl -sf "http://$FERRY_DEVNET_API/healthz" >"$tmp/health.json" 2>/dev/null; }
gone() { ! kill -0 "$daemon" 2>/dev/null; }
wait_for 30 sh -c "curl -sf http://$FERRY_DEVNET_API/healthz >/dev/null 2>&1 || ! kill -0 $daemon 2>/dev/null"
if gone; then
  wait "$daemon"
  rc=$?
  daemon=""
  if grep -q "chain family evm not available" "$tmp/ferry.log"; then
    echo "ok $((n + 1)) - relay alpha -> beta # SKIP this build has no EVM chain adapter"
    n=$((n + 1))
    finish
  fi
  notok "ferry start serves the API" "exit $rc: $(tail -5 "$tmp/ferry.log")"
  finish
fi
if healthy; then ok "ferry start: /healthz answers ok"; else notok "ferry start: /healthz answers ok" "$(cat "$tmp/health.json")"; fi
check "/healthz lists alpha, beta and gamma with a head" \
  quiet jq -e '[.chains[] | select(.head > 0) | .name] == ["alpha","beta","gamma"]' "$tmp/health.json"

rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_b=$(jq -r '.chains[1].rpc' "$d")
vault_a=$(jq -r '.chains[0].vault' "$d") vault_b=$(jq -r '.chains[1].vault' "$d")
token=$(jq -r '.chains[0].tokens.FTA' "$d")
user=$(jq -r .accounts.user "$d") recipient=$(jq -r .accounts.recipient "$d")
user_key=$(sed -n 's/^(4) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1)
amount=1000000000000000000
# (the voucher address is known before its first mint deploys it: no code until then)
bal() { "$cast" call --rpc-url "$1" "$2" "balanceOf(address)(uint256)" "$3" 2>/dev/null | cut -d' ' -f1; }
voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token")
user_before=$(bal "$rpc_a" "$token" "$user")
vault_before=$(bal "$rpc_a" "$token" "$vault_a")

now=$("$cast" block --rpc-url "$rpc_a" latest --field timestamp)
if "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" "$token" "approve(address,uint256)" "$vault_a" $amount \
  >"$tmp/approve.log" 2>&1 &&
  "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" --json "$vault_a" \
    "transfer(address,uint256,uint64,address,uint64)" "$token" $amount 31338 "$recipient" $((now + 3600)) \
    >"$tmp/transfer.json" 2>&1 && [ "$(jq -r .status "$tmp/transfer.json")" = 0x1 ]; then
  ok "transfer of 1 FTA alpha -> beta sent with cast"
else
  notok "transfer sent with cast" "$(tail -3 "$tmp/approve.log" "$tmp/transfer.json")"
  finish
fi

arrived() { [ "$voucher" != 0x0000000000000000000000000000000000000000 ] || voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token"); \
  [ "$voucher" != 0x0000000000000000000000000000000000000000 ] && [ "$(bal "$rpc_b" "$voucher" "$recipient")" = $amount ]; }
t0=$(date +%s)
if wait_for 40 arrived; then ok "the voucher arrives on beta: exactly 1 FTA to the recipient ($(($(date +%s) - t0)) s)"; else
  notok "the voucher arrives on beta" "voucher $voucher; $(grep -c . "$tmp/ferry.log") log lines; last: $(tail -2 "$tmp/ferry.log")"
fi
acked() {
  "$ferry" packets --json --config "$cfg" >"$tmp/packets.json" 2>/dev/null &&
    jq -e '.source == "api" and ([.packets[] | select(.src == 31337 and .dst == 31338)] | length == 1 and .[0].state == "ACKED")' \
      "$tmp/packets.json" >/dev/null
}
t0=$(date +%s)
if wait_for 40 acked; then ok "the acknowledgement returns: the packet is ACKED in ferry packets --json ($(($(date +%s) - t0)) s)"; else
  notok "the packet is ACKED" "$(jq -c '[.packets[] | {src, seq, state, reason}]' "$tmp/packets.json" 2>/dev/null)"
fi
check "alpha: the user paid exactly 1 FTA" test "$(bal "$rpc_a" "$token" "$user")" = "$(echo "$user_before - $amount" | bc)"
check "alpha: the vault holds exactly 1 FTA more" test "$(bal "$rpc_a" "$token" "$vault_a")" = "$(echo "$vault_before + $amount" | bc)"
check "beta: the voucher supply is exactly 1 FTA" test "$("$cast" call --rpc-url "$rpc_b" "$voucher" "totalSupply()(uint256)" | cut -d' ' -f1)" = $amount
check "alpha: the packet's commitment is cleared" test \
  "$("$cast" call --rpc-url "$rpc_a" "$(jq -r '.chains[0].gateway' "$d")" "commitments(uint64)(bytes32)" 1)" = \
  0x0000000000000000000000000000000000000000000000000000000000000000

# The adapters' own series reach GET /metrics (the daemon hands them the registry).
curl -sf "http://$FERRY_DEVNET_API/metrics" >"$tmp/metrics.txt" 2>/dev/null
for series in 'ferry_chain_scan_lag_blocks{chain="beta"}' 'ferry_submitter_balance_wei{chain="beta"}' \
  'ferry_evm_transactions_total{chain="beta"' 'ferry_rpc_calls{chain="alpha"' 'ferry_packet_transitions_total{'; do
  check "/metrics has $series" grep -qF "$series" "$tmp/metrics.txt"
done

kill -TERM "$daemon"
rc=0
wait_for 15 gone || kill -9 "$daemon"
wait "$daemon" || rc=$?
daemon=""
check "SIGTERM stops the daemon with exit 0" test "$rc" -eq 0
check "... after logging a clean stop" grep -q '"stopped cleanly"' "$tmp/ferry.log"
"$ferry" packets --json --config "$cfg" >"$tmp/after.json" 2>/dev/null
check "with the daemon down, ferry packets reads the ACKED packet from the store" \
  quiet jq -e '.source == "store" and ([.packets[] | select(.state == "ACKED")] | length == 1)' "$tmp/after.json"
# A reader of the daemon's stderr that goes away (here: after 100 bytes) must not kill it: SIGPIPE
# is ignored, the lost log lines are just lost, and a later SIGTERM still stops it cleanly.
"$ferry" start --config "$cfg" 2> >(head -c 100 >/dev/null) &
daemon=$!
wait_for 30 sh -c "curl -sf http://$FERRY_DEVNET_API/healthz >/dev/null 2>&1 || ! kill -0 $daemon 2>/dev/null"
check "with its stderr reader gone, the daemon still serves /healthz" healthy
kill -TERM "$daemon" 2>/dev/null
rc=0
wait_for 15 gone || kill -9 "$daemon"
wait "$daemon" || rc=$?
daemon=""
check "... and SIGTERM (logged into the closed pipe) still exits 0, not by SIGPIPE" test "$rc" -eq 0
echo "# wall time $(($(date +%s) - start)) s"
finish
