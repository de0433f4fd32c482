#!/usr/bin/env bash
# End-to-end failed acknowledgement: on alpha a sender contract (TestTransferSender) makes a memo transfer
# to a RevertingReceiver on beta, whose hook always reverts: the delivery yields a failed acknowledgement,
# relayed back, and the vault refunds the sender contract in full (onTransferRefunded). In the same run a
# plain transfer alpha -> beta arrives and is ACKED: other packets keep flowing. SIGTERM exit 0. TAP lines.
# Skips (one "ok # SKIP" line) when this build has no EVM chain adapter.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for, e2e_setup, e2e_ports, e2e_devnet_up
e2e_setup
export FERRY_DEVNET_DIR=$tmp/devnet
# A devnet without the sample intent's voucher pool: its hand-relayed packet would be alpha's sequence 1.
export FERRY_DEVNET_VOUCHER_POOL=0
e2e_ports 4

forge=$root/scripts/toolchain/node_modules/.bin/forge
# The test contracts, compiled into the temporary directory (parallel runs share no forge output).
if ! (cd contracts && "$forge" build src/testing/RevertingReceiver.sol --out "$tmp/out" --cache-path "$tmp/cache") \
  >"$tmp/forge.log" 2>&1; then
  notok "forge build src/testing/RevertingReceiver.sol" "$(tail -5 "$tmp/forge.log")"
  finish
fi
e2e_devnet_up "test contracts compiled"

rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_b=$(jq -r '.chains[1].rpc' "$d")
vault_a=$(jq -r '.chains[0].vault' "$d") vault_b=$(jq -r '.chains[1].vault' "$d")
gw_a=$(jq -r '.chains[0].gateway' "$d") gw_b=$(jq -r '.chains[1].gateway' "$d")
token=$(jq -r '.chains[0].tokens.FTA' "$d")
user=$(jq -r .accounts.user "$d") recipient=$(jq -r .accounts.recipient "$d")
user_key=$(sed -n 's/^(4) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1)
# Account 3 deploys the test contracts: the daemon submits with account 1, the user is account 4.
deployer_key=$(sed -n 's/^(3) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1)
create() { # RPC NAME [constructor SIG ARGS...] -> address
  local rpc=$1 name=$2
  shift 2
  "$cast" send --rpc-url "$rpc" --private-key "$deployer_key" --json \
    --create "$(jq -r .bytecode.object "$tmp/out/RevertingReceiver.sol/$name.json")" "$@" >"$tmp/create-$name.json" 2>&1 &&
    [ "$(jq -r .status "$tmp/create-$name.json")" = 0x1 ] && jq -r .contractAddress "$tmp/create-$name.json"
}
if app=$(create "$rpc_a" TestTransferSender "constructor(address)" "$vault_a") &&
  sink=$(create "$rpc_b" RevertingReceiver); then
  ok "deployed TestTransferSender on alpha ($app) and RevertingReceiver on beta ($sink)"
else
  notok "deploy the test contracts" "$(tail -3 "$tmp"/create-*.json)"
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
    echo "ok $((n + 1)) - failed acknowledgement alpha -> beta # SKIP this build has no EVM chain adapter"
    n=$((n + 1))
    finish
  fi
  notok "ferry start serves the API" "exit $rc: $(tail -5 "$tmp/ferry.log")"
  finish
fi
ok "ferry start: the API answers"

amount=1000000000000000000 bad=3000000000000000000
bal() { "$cast" call --rpc-url "$1" "$2" "balanceOf(address)(uint256)" "$3" 2>/dev/null | cut -d' ' -f1; }
num() { "$cast" call --rpc-url "$1" "$2" "$3" 2>/dev/null | cut -d' ' -f1; }
voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token")
user_before=$(bal "$rpc_a" "$token" "$user")
vault_before=$(bal "$rpc_a" "$token" "$vault_a")
now=$("$cast" block --rpc-url "$rpc_a" latest --field timestamp)
# The app gets 3 FTA from the user and sends them to the reverting receiver (sequence 1, a memo so
# that the recipient's hook runs); then the user sends 1 FTA to the recipient (sequence 2).
if "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" "$token" "transfer(address,uint256)" "$app" $bad \
  >"$tmp/fund.log" 2>&1 &&
  "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" --json "$app" \
    "send(address,uint256,uint64,address,uint64,bytes)" "$token" $bad 31338 "$sink" $((now + 3600)) 0x01 \
    >"$tmp/bad.json" 2>&1 && [ "$(jq -r .status "$tmp/bad.json")" = 0x1 ]; then
  ok "the app sent 3 FTA to the RevertingReceiver on beta (transferWithMemo)"
else
  notok "the app's transfer to the RevertingReceiver" "$(tail -3 "$tmp/fund.log" "$tmp/bad.json")"
  finish
fi
check "alpha: the app's 3 FTA are locked in the vault" test "$(bal "$rpc_a" "$token" "$app")" = 0
if "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" "$token" "approve(address,uint256)" "$vault_a" $amount \
  >"$tmp/approve.log" 2>&1 &&
  "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" --json "$vault_a" \
    "transfer(address,uint256,uint64,address,uint64)" "$token" $amount 31338 "$recipient" $((now + 3600)) \
    >"$tmp/transfer.json" 2>&1 && [ "$(jq -r .status "$tmp/transfer.json")" = 0x1 ]; then
  ok "the user sent a plain 1 FTA transfer alpha -> beta"
else
  notok "the plain transfer" "$(tail -3 "$tmp/approve.log" "$tmp/transfer.json")"
  finish
fi

both_acked() {
  "$ferry" packets --json --config "$cfg" >"$tmp/packets.json" 2>/dev/null &&
    jq -e '.source == "api" and ([.packets[] | select(.src == 31337 and .dst == 31338 and .state == "ACKED")] | length == 2)' \
      "$tmp/packets.json" >/dev/null
}
t0=$(date +%s)
if wait_for 45 both_acked; then ok "both packets ACKED in ferry packets --json ($(($(date +%s) - t0)) s)"; else
  notok "both packets ACKED" "$(jq -c '[.packets[] | {seq, state, reason}]' "$tmp/packets.json" 2>/dev/null); last log: $(tail -2 "$tmp/ferry.log")"
fi
# The receipts on beta: sequence 1 failed (the hook reverted), sequence 2 succeeded.
"$cast" logs --rpc-url "$rpc_b" --from-block 0 --address "$gw_b" --json \
  'PacketReceived(bytes32 indexed,uint64 indexed,uint64 indexed,bool,bytes)' >"$tmp/received.json" 2>/dev/null
ack_ok() { # SEQ -> the success flag of its PacketReceived (first data word)
  jq -r --arg s "$(printf '0x%064x' "$1")" '[.[] | select(.topics[3] == $s)] | if length == 1 then .[0].data[2:66] | ltrimstr("000000000000000000000000000000000000000000000000000000000000000") else "count \(length)" end' "$tmp/received.json"
}
check "beta: sequence 1 received once with success = false (the receiver reverted)" test "$(ack_ok 1)" = 0
check "beta: sequence 2 received once with success = true" test "$(ack_ok 2)" = 1
"$cast" logs --rpc-url "$rpc_a" --from-block 0 --address "$gw_a" --json \
  'PacketAcknowledged(bytes32 indexed,uint64 indexed,bool)' >"$tmp/acked.json" 2>/dev/null
check "alpha: the failed acknowledgement of sequence 1 and the successful one of sequence 2 were relayed" \
  quiet jq -e '[.[] | {s: (.topics[2] | .[-1:]), ok: (.data | .[-1:])}] | sort_by(.s) == [{s: "1", ok: "0"}, {s: "2", ok: "1"}]' "$tmp/acked.json"
check "alpha: the app got its 3 FTA back exactly" test "$(bal "$rpc_a" "$token" "$app")" = $bad
check "alpha: the app was told: one refund of 3 FTA, no delivery" test \
  "$(num "$rpc_a" "$app" "refunded()(uint256)")/$(num "$rpc_a" "$app" "refundedAmount()(uint256)")/$(num "$rpc_a" "$app" "delivered()(uint256)")" = "1/$bad/0"
check "alpha: the vault holds exactly 1 FTA more (the plain transfer only)" \
  test "$(bal "$rpc_a" "$token" "$vault_a")" = "$(echo "$vault_before + $amount" | bc)"
check "alpha: the user paid exactly 4 FTA (3 to the app, 1 transferred)" \
  test "$(bal "$rpc_a" "$token" "$user")" = "$(echo "$user_before - $amount - $bad" | bc)"
check "beta: the recipient holds exactly 1 FTA of vouchers, the receiver none, supply 1 FTA" test \
  "$(bal "$rpc_b" "$voucher" "$recipient")/$(bal "$rpc_b" "$voucher" "$sink")/$(num "$rpc_b" "$voucher" "totalSupply()(uint256)")" = "$amount/0/$amount"

kill -TERM "$daemon"
rc=0
wait_for 15 gone || kill -9 "$daemon"
wait "$daemon" || rc=$?
daemon=""
check "SIGTERM stops the daemon with exit 0" test "$rc" -eq 0
check "... after logging a clean stop" grep -q '"stopped cleanly"' "$tmp/ferry.log"
echo "# wall time $(($(date +%s) - start)) s"
finish
