#!/usr/bin/env bash
# End-to-end timeout: with the daemon stopped, a TokenVault transfer alpha -> beta whose timeout is a few
# seconds ahead is sent; once beta's block time has passed the timeout the daemon starts, and the packet
# ends TIMED_OUT (ferry packets --json): the sender is refunded exactly on alpha, nothing was minted on
# beta, and SIGTERM stops the daemon with exit 0. Polls with deadlines, never fixed sleeps. TAP lines.
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

rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_b=$(jq -r '.chains[1].rpc' "$d")
vault_a=$(jq -r '.chains[0].vault' "$d") vault_b=$(jq -r '.chains[1].vault' "$d")
gw_a=$(jq -r '.chains[0].gateway' "$d") gw_b=$(jq -r '.chains[1].gateway' "$d")
token=$(jq -r '.chains[0].tokens.FTA' "$d")
user=$(jq -r .accounts.user "$d") recipient=$(jq -r .accounts.recipient "$d")
user_key=$(sed -n 's/^(4) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1)
amount=1000000000000000000
bal() { "$cast" call --rpc-url "$1" "$2" "balanceOf(address)(uint256)" "$3" 2>/dev/null | cut -d' ' -f1; }
voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token")
user_before=$(bal "$rpc_a" "$token" "$user")
vault_before=$(bal "$rpc_a" "$token" "$vault_a")

# The approval first, so that the transfer is the only transaction racing the short timeout.
if ! "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" "$token" "approve(address,uint256)" "$vault_a" $amount \
  >"$tmp/approve.log" 2>&1; then
  notok "approve sent with cast" "$(tail -3 "$tmp/approve.log")"
  finish
fi
# A few seconds of slack: on a loaded machine the transfer may land some blocks after `now` was read.
now=$("$cast" block --rpc-url "$rpc_a" latest --field timestamp)
timeout=$((now + 8))
if "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" --json "$vault_a" \
  "transfer(address,uint256,uint64,address,uint64)" "$token" $amount 31338 "$recipient" $timeout \
  >"$tmp/transfer.json" 2>&1 && [ "$(jq -r .status "$tmp/transfer.json")" = 0x1 ]; then
  ok "transfer of 1 FTA alpha -> beta with a timeout 8 s ahead sent while no daemon runs"
else
  notok "transfer sent with cast" "$(tail -3 "$tmp/transfer.json")"
  finish
fi
check "alpha: the user paid 1 FTA into the vault" test "$(bal "$rpc_a" "$token" "$user")" = "$(echo "$user_before - $amount" | bc)"

beta_past() { [ "$("$cast" block --rpc-url "$rpc_b" latest --field timestamp 2>/dev/null || echo 0)" -gt "$timeout" ]; }
if wait_for 30 beta_past; then ok "beta's block time passed the timeout with no daemon running"; else
  notok "beta's block time passes the timeout" "beta at $("$cast" block --rpc-url "$rpc_b" latest --field timestamp), timeout $timeout"
  finish
fi

"$ferry" start --config "$cfg" 2>"$tmp/ferry.log" &
daemon=$!
gone() { ! kill -0 "$daemon" 2>/dev/null; }
wait_for 30 sh -c "curl -sf http://$FERRY_DEVNET_API/healthz >/dev/null 2>&1 || ! kill -0 $daemon 2>/dev/null"
if gone; then
  wait "$daemon"
  rc=$?
  daemon=""
  if grep -q "chain family evm not available" "$tmp/ferry.log"; then
    echo "ok $((n + 1)) - timeout alpha -> beta # SKIP this build has no EVM chain adapter"
    n=$((n + 1))
    finish
  fi
  notok "ferry start serves the API" "exit $rc: $(tail -5 "$tmp/ferry.log")"
  finish
fi
ok "ferry start after the timeout: the API answers"

timed_out() {
  "$ferry" packets --json --config "$cfg" >"$tmp/packets.json" 2>/dev/null &&
    jq -e '.source == "api" and ([.packets[] | select(.src == 31337 and .dst == 31338)] | length == 1 and .[0].state == "TIMED_OUT")' \
      "$tmp/packets.json" >/dev/null
}
t0=$(date +%s)
if wait_for 40 timed_out; then ok "the packet ends TIMED_OUT in ferry packets --json ($(($(date +%s) - t0)) s)"; else
  notok "the packet ends TIMED_OUT" "$(jq -c '[.packets[] | {src, seq, state, reason}]' "$tmp/packets.json" 2>/dev/null); last log: $(tail -2 "$tmp/ferry.log")"
fi
check "alpha: the user is refunded exactly (balance as before the transfer)" test "$(bal "$rpc_a" "$token" "$user")" = "$user_before"
check "alpha: the vault holds exactly what it held before" test "$(bal "$rpc_a" "$token" "$vault_a")" = "$vault_before"
check "alpha: the packet's commitment is cleared" test \
  "$("$cast" call --rpc-url "$rpc_a" "$gw_a" "commitments(uint64)(bytes32)" 1)" = \
  0x0000000000000000000000000000000000000000000000000000000000000000
check "alpha: one PacketTimedOut log, no PacketAcknowledged" test \
  "$("$cast" logs --rpc-url "$rpc_a" --from-block 0 --address "$gw_a" --json 'PacketTimedOut(bytes32 indexed,uint64 indexed,uint64)' | jq length)/$("$cast" logs --rpc-url "$rpc_a" --from-block 0 --address "$gw_a" --json 'PacketAcknowledged(bytes32 indexed,uint64 indexed,bool)' | jq length)" = 1/0
check "beta: the packet was never received" test "$("$cast" call --rpc-url "$rpc_b" "$gw_b" "received(uint64,uint64)(bool)" 31337 1)" = false
check "beta: nothing was minted (the voucher was never deployed)" test "$("$cast" code --rpc-url "$rpc_b" "$voucher")" = 0x

kill -TERM "$daemon"
rc=0
wait_for 15 gone || kill -9 "$daemon"
wait "$daemon" || rc=$?
daemon=""
check "SIGTERM stops the daemon with exit 0" test "$rc" -eq 0
check "... after logging a clean stop" grep -q '"stopped cleanly"' "$tmp/ferry.log"
"$ferry" packets --json --config "$cfg" >"$tmp/after.json" 2>/dev/null
check "with the daemon down, ferry packets reads the TIMED_OUT packet from the store" \
  quiet jq -e '.source == "store" and ([.packets[] | select(.state == "TIMED_OUT")] | length == 1)' "$tmp/after.json"
echo "# wall time $(($(date +%s) - start)) s"
finish
