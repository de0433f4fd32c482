#!/usr/bin/env bash
# Crash recovery (issue 5): for each named point of the packet path the daemon is started with
# FERRY_CRASH_AT=<point> (it SIGKILLs itself there, include/ferry/crash.h), a fresh 1 FTA transfer
# alpha -> beta is made, the daemon must die by SIGKILL (status 137), and is restarted without the
# variable. Then every packet so far is ACKED, the recipient's voucher balance and the voucher
# supply on beta are exactly k FTA after k points (each delivered once) and alpha's vault holds
# exactly k FTA more (each locked once). One devnet and one data dir for all points, one after
# the other. TAP lines; skips without an EVM chain adapter.
#
# `make test` runs three points (a log seen, a state persisted, a broadcast) to stay well under
# 90 s; scripts/soak.sh (`make soak`) runs the full matrix by setting FERRY_CRASH_POINTS:
#   watch.after_logs      a PacketSent log decoded, about to be handed to the engine
#   engine.after_persist  the first batch with the packet's record is durable
#   txmgr.after_sign      the delivery tx is signed, not persisted
#   txmgr.after_persist   the signed delivery tx is persisted, not sent
#   txmgr.after_broadcast the delivery tx is accepted by anvil, no receipt yet
#   txmgr.after_mined     its receipt is seen, MINED not yet written
# A point may carry a count (name#N). The first hit of each of these is on the packet path: the
# daemon makes no transaction and writes no packet record before the transfer.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for, e2e_setup, e2e_ports, e2e_devnet_up
e2e_setup
export FERRY_DEVNET_DIR=$tmp/devnet
# A devnet without the sample intent's voucher pool: its hand-relayed packet would be alpha's sequence 1.
export FERRY_DEVNET_VOUCHER_POOL=0
points=${FERRY_CRASH_POINTS:-watch.after_logs engine.after_persist txmgr.after_broadcast}
e2e_ports 4

e2e_devnet_up
log=$tmp/ferry.log

gone() { ! kill -0 "$daemon" 2>/dev/null; }
# launch [CRASH_AT]: starts the daemon (its log appended to $log) and waits for /healthz.
launch() {
  echo "=== start FERRY_CRASH_AT=${1:-}" >>"$log"
  FERRY_CRASH_AT=${1:-} "$ferry" start --config "$cfg" 2>>"$log" &
  daemon=$!
  wait_for 30 sh -c "curl -sf http://$FERRY_DEVNET_API/healthz >/dev/null 2>&1 || ! kill -0 $daemon 2>/dev/null"
  ! gone
}
if ! launch; then
  wait "$daemon" 2>/dev/null
  daemon=""
  if grep -q "chain family evm not available" "$log"; then
    echo "ok $((n + 1)) - crash recovery # SKIP this build has no EVM chain adapter"
    n=$((n + 1))
    finish
  fi
  notok "ferry start serves the API" "$(tail -5 "$log")"
  finish
fi
kill -TERM "$daemon"
wait_for 15 gone || kill -9 "$daemon"
wait "$daemon" 2>/dev/null
daemon=""

rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_b=$(jq -r '.chains[1].rpc' "$d")
vault_a=$(jq -r '.chains[0].vault' "$d") vault_b=$(jq -r '.chains[1].vault' "$d")
token=$(jq -r '.chains[0].tokens.FTA' "$d")
recipient=$(jq -r .accounts.recipient "$d")
user_key=$(sed -n 's/^(4) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1)
amount=1000000000000000000
bal() { "$cast" call --rpc-url "$1" "$2" "balanceOf(address)(uint256)" "$3" 2>/dev/null | cut -d' ' -f1; }
voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token")
vault_before=$(bal "$rpc_a" "$token" "$vault_a")
if ! "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" "$token" "approve(address,uint256)" "$vault_a" \
  "$(echo "$amount * 100" | bc)" >"$tmp/approve.log" 2>&1; then
  notok "approve the vault" "$(tail -3 "$tmp/approve.log")"
  finish
fi

k=0
for point in $points; do
  k=$((k + 1))
  want=$(echo "$k * $amount" | bc)
  if ! launch "$point"; then
    notok "$point: the daemon starts" "$(tail -5 "$log")"
    finish
  fi
  now=$("$cast" block --rpc-url "$rpc_a" latest --field timestamp)
  if ! "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" --json "$vault_a" \
    "transfer(address,uint256,uint64,address,uint64)" "$token" $amount 31338 "$recipient" $((now + 3600)) \
    >"$tmp/transfer.json" 2>&1 || [ "$(jq -r .status "$tmp/transfer.json" 2>/dev/null)" != 0x1 ]; then
    notok "$point: transfer $k sent" "$(tail -3 "$tmp/transfer.json")"
    finish
  fi
  t0=$(date +%s)
  if wait_for 40 gone; then
    wait "$daemon" 2>/dev/null
    rc=$?
    check "$point: the daemon dies there by SIGKILL (status $rc, $(($(date +%s) - t0)) s after the transfer)" test "$rc" -eq 137
  else
    notok "$point: the daemon dies there by SIGKILL" "still running after 40 s; $(tail -2 "$log")"
    kill -9 "$daemon"
    wait "$daemon" 2>/dev/null
  fi
  daemon=""
  if ! launch; then
    notok "$point: the daemon restarts" "$(tail -5 "$log")"
    finish
  fi
  acked() {
    "$ferry" packets --json --config "$cfg" >"$tmp/packets.json" 2>/dev/null &&
      jq -e --argjson k $k '[.packets[] | select(.src == 31337 and .dst == 31338)] | length == $k and all(.state == "ACKED")' \
        "$tmp/packets.json" >/dev/null
  }
  t0=$(date +%s)
  if wait_for 60 acked; then ok "$point: after the restart all $k packet(s) are ACKED ($(($(date +%s) - t0)) s)"; else
    notok "$point: all $k packet(s) ACKED" "$(jq -c '[.packets[] | {src, seq, state, reason}]' "$tmp/packets.json" 2>/dev/null)"
  fi
  [ "$voucher" != 0x0000000000000000000000000000000000000000 ] ||
    voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token")
  check "$point: beta: the recipient holds exactly $k voucher FTA (delivered once)" test "$(bal "$rpc_b" "$voucher" "$recipient")" = "$want"
  check "$point: beta: the voucher supply is exactly $k FTA" \
    test "$("$cast" call --rpc-url "$rpc_b" "$voucher" "totalSupply()(uint256)" | cut -d' ' -f1)" = "$want"
  check "$point: alpha: the vault holds exactly $k FTA more (locked once)" \
    test "$(bal "$rpc_a" "$token" "$vault_a")" = "$(echo "$vault_before + $want" | bc)"
  kill -TERM "$daemon"
  rc=0
  wait_for 15 gone || kill -9 "$daemon"
  wait "$daemon" || rc=$?
  daemon=""
  check "$point: SIGTERM then stops the recovered daemon with exit 0" test "$rc" -eq 0
done
if [ "$failed" -gt 0 ]; then
  echo "# daemon log tail:"
  tail -15 "$log" | sed 's/^/# /'
fi
echo "# wall time $(($(date +%s) - start)) s"
finish
