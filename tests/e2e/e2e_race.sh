#!/usr/bin/env bash
# End-to-end race: two daemons on the same devnet and route (separate data dirs and API ports, different
# submitter keys so they do not share a nonce line) relay several transfers alpha -> beta. Each packet is
# received on beta exactly once (one PacketReceived per sequence, exact voucher balances), both daemons
# see every packet ACKED, the loser's duplicate is skipped by the Gateway (PacketSkipped, already
# received) or avoided, and both daemons exit 0 on SIGTERM. Polls with deadlines. TAP lines.
# Skips (one "ok # SKIP" line) when this build has no EVM chain adapter.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for, e2e_setup, e2e_ports, e2e_devnet_up
e2e_setup
export FERRY_DEVNET_DIR=$tmp/devnet
# A devnet without the sample intent's voucher pool: its hand-relayed packet would be alpha's sequence 1.
export FERRY_DEVNET_VOUCHER_POOL=0
e2e_ports 5

e2e_devnet_up
cfg2=$FERRY_DEVNET_DIR/ferry2.json
api2=127.0.0.1:$((base + 4))

# The second daemon's submitter: anvil account 2 (account 1 is the first daemon's), imported the way
# scripts/devnet.sh imports the others (cast writes the keystore, ferry imports it under the password).
key2=$(sed -n 's/^(2) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-beta.log" | head -1)
mkdir -p "$tmp/cast-keys"
if "$cast" wallet import dev-submitter-2 --private-key "$key2" --keystore-dir "$tmp/cast-keys" \
  --unsafe-password "$(cat "$FERRY_DEVNET_DIR/keystore-password")" >"$tmp/import.log" 2>&1 &&
  env -u FERRY_PASSWORD "$ferry" keys import "$tmp/cast-keys/dev-submitter-2" dev-submitter-2 \
    --keystore-dir "$FERRY_DEVNET_DIR/keys" --password-file "$FERRY_DEVNET_DIR/keystore-password" >>"$tmp/import.log" 2>&1 &&
  jq --arg dd "$tmp/data2" --arg l "$api2" '.data_dir = $dd | .api.listen = $l | .chains[].submitter = "dev-submitter-2"' \
    "$cfg" >"$cfg2" && "$ferry" config check "$cfg2" >"$tmp/check2.log" 2>&1; then
  ok "second config: own data dir, API $api2, submitter dev-submitter-2 (anvil account 2); ferry config check passes"
else
  notok "second config with its own submitter" "$(tail -3 "$tmp/import.log" "$tmp/check2.log" 2>/dev/null)"
  finish
fi

"$ferry" start --config "$cfg" 2>"$tmp/ferry1.log" &
daemon=$!
"$ferry" start --config "$cfg2" 2>"$tmp/ferry2.log" &
daemon2=$!
gone() { ! kill -0 "$1" 2>/dev/null; }
up_or_gone() { curl -sf "http://$1/healthz" >/dev/null 2>&1 || gone "$2"; }
wait_for 30 up_or_gone "$FERRY_DEVNET_API" "$daemon"
wait_for 30 up_or_gone "$api2" "$daemon2"
if gone "$daemon" || gone "$daemon2"; then
  if grep -q "chain family evm not available" "$tmp/ferry1.log"; then
    echo "ok $((n + 1)) - race alpha -> beta # SKIP this build has no EVM chain adapter"
    n=$((n + 1))
    finish
  fi
  notok "both daemons serve their API" "$(tail -3 "$tmp/ferry1.log" "$tmp/ferry2.log")"
  finish
fi
ok "both daemons started and answer /healthz"

rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_b=$(jq -r '.chains[1].rpc' "$d")
vault_a=$(jq -r '.chains[0].vault' "$d") vault_b=$(jq -r '.chains[1].vault' "$d")
gw_a=$(jq -r '.chains[0].gateway' "$d") gw_b=$(jq -r '.chains[1].gateway' "$d")
token=$(jq -r '.chains[0].tokens.FTA' "$d")
user=$(jq -r .accounts.user "$d") recipient=$(jq -r .accounts.recipient "$d")
user_key=$(sed -n 's/^(4) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-alpha.log" | head -1)
bal() { "$cast" call --rpc-url "$1" "$2" "balanceOf(address)(uint256)" "$3" 2>/dev/null | cut -d' ' -f1; }
voucher=$("$cast" call --rpc-url "$rpc_b" "$vault_b" "voucherOf(uint64,address)(address)" 31337 "$token")
user_before=$(bal "$rpc_a" "$token" "$user")
count=4
amounts=(1000000000000000000 2000000000000000000 3000000000000000000 4000000000000000000)
total=10000000000000000000

now=$("$cast" block --rpc-url "$rpc_a" latest --field timestamp)
sent=0
"$cast" send --rpc-url "$rpc_a" --private-key "$user_key" "$token" "approve(address,uint256)" "$vault_a" $total \
  >"$tmp/approve.log" 2>&1 &&
  for a in "${amounts[@]}"; do
    "$cast" send --rpc-url "$rpc_a" --private-key "$user_key" --json "$vault_a" \
      "transfer(address,uint256,uint64,address,uint64)" "$token" "$a" 31338 "$recipient" $((now + 3600)) \
      >"$tmp/transfer.json" 2>&1 && [ "$(jq -r .status "$tmp/transfer.json")" = 0x1 ] || break
    sent=$((sent + 1))
  done
if [ "$sent" -eq "$count" ]; then ok "$count transfers alpha -> beta (1, 2, 3, 4 FTA) sent with cast"; else
  notok "$count transfers sent" "only $sent: $(tail -3 "$tmp/approve.log" "$tmp/transfer.json")"
  finish
fi

all_acked() {
  "$ferry" packets --json --config "$1" >"$tmp/packets-$2.json" 2>/dev/null &&
    jq -e --argjson c $count '.source == "api" and ([.packets[] | select(.src == 31337 and .dst == 31338 and .state == "ACKED")] | length == $c)' \
      "$tmp/packets-$2.json" >/dev/null
}
t0=$(date +%s)
if wait_for 45 all_acked "$cfg" 1; then ok "daemon 1: all $count packets ACKED ($(($(date +%s) - t0)) s)"; else
  notok "daemon 1: all packets ACKED" "$(jq -c '[.packets[] | {seq, state, reason}]' "$tmp/packets-1.json" 2>/dev/null)"
fi
if wait_for 20 all_acked "$cfg2" 2; then ok "daemon 2: all $count packets ACKED"; else
  notok "daemon 2: all packets ACKED" "$(jq -c '[.packets[] | {seq, state, reason}]' "$tmp/packets-2.json" 2>/dev/null)"
fi

check "beta: the recipient holds exactly 10 FTA of vouchers" test "$(bal "$rpc_b" "$voucher" "$recipient")" = $total
check "beta: the voucher supply is exactly 10 FTA" test "$("$cast" call --rpc-url "$rpc_b" "$voucher" "totalSupply()(uint256)" | cut -d' ' -f1)" = $total
check "alpha: the user paid exactly 10 FTA" test "$(bal "$rpc_a" "$token" "$user")" = "$(echo "$user_before - $total" | bc)"
# Logs on beta: one PacketReceived per sequence 1..4, one TransferReceived per sequence.
"$cast" logs --rpc-url "$rpc_b" --from-block 0 --address "$gw_b" --json \
  'PacketReceived(bytes32 indexed,uint64 indexed,uint64 indexed,bool,bytes)' >"$tmp/received.json" 2>/dev/null
check "beta: exactly $count PacketReceived logs" quiet jq -e --argjson c $count 'length == $c' "$tmp/received.json"
check "... for sequences 1, 2, 3, 4, each once" \
  quiet jq -e '[.[].topics[3]] | sort == ["0x0000000000000000000000000000000000000000000000000000000000000001","0x0000000000000000000000000000000000000000000000000000000000000002","0x0000000000000000000000000000000000000000000000000000000000000003","0x0000000000000000000000000000000000000000000000000000000000000004"]' "$tmp/received.json"
check "alpha: exactly $count PacketAcknowledged, all successful" test \
  "$("$cast" logs --rpc-url "$rpc_a" --from-block 0 --address "$gw_a" --json 'PacketAcknowledged(bytes32 indexed,uint64 indexed,bool)' |
    jq '[.[] | select(.data | endswith("1"))] | length')" = $count
"$cast" logs --rpc-url "$rpc_b" --from-block 0 --address "$gw_b" --json \
  'PacketSkipped(bytes32 indexed,uint64 indexed,uint64 indexed,uint8)' >"$tmp/skipped.json" 2>/dev/null
skips=$(jq '[.[] | select(.data | endswith("1"))] | length' "$tmp/skipped.json")
# Which daemon delivered each packet: the from of each PacketReceived's transaction.
sub1=$("$cast" wallet address "$(sed -n 's/^(1) \(0x[0-9a-fA-F]\{64\}\)$/\1/p' "$FERRY_DEVNET_DIR/anvil-beta.log" | head -1)")
sub2=$("$cast" wallet address "$key2")
by1=0 by2=0
for tx in $(jq -r '.[].transactionHash' "$tmp/received.json"); do
  from=$("$cast" tx --rpc-url "$rpc_b" "$tx" from)
  if [ "${from,,}" = "${sub1,,}" ]; then by1=$((by1 + 1)); elif [ "${from,,}" = "${sub2,,}" ]; then by2=$((by2 + 1)); fi
done
echo "# deliveries by daemon 1: $by1, by daemon 2: $by2; PacketSkipped(already received) on beta: $skips"
check "every delivery came from one of the two daemons' submitters" test $((by1 + by2)) -eq $count
# The loser either sent its delivery and the Gateway skipped it (PacketSkipped reason 1), or saw the
# PacketReceived first and sent nothing: then the number of delivery transactions from the two
# submitters to beta's Gateway is exactly the number of packets plus the skipped ones.
n1=$("$cast" nonce --rpc-url "$rpc_b" "$sub1") n2=$("$cast" nonce --rpc-url "$rpc_b" "$sub2")
echo "# transactions on beta: daemon 1 sent $n1, daemon 2 sent $n2; on alpha (acknowledgements): $("$cast" nonce --rpc-url "$rpc_a" "$sub1"), $("$cast" nonce --rpc-url "$rpc_a" "$sub2")"
check "the losers' attempts were skipped or avoided: no delivery transaction beyond one per packet plus the skipped ones" \
  test $((n1 + n2)) -le $((count + skips))
if [ "$skips" -ge 1 ]; then
  check "the Gateway's skips reached the daemons: 'delivery skipped a packet ... already received' in both logs" \
    sh -c "grep -q 'already received' '$tmp/ferry1.log' && grep -q 'already received' '$tmp/ferry2.log'"
else
  ok "no skip: the loser saw each PacketReceived before sending (no extra delivery transaction, above)"
fi

kill -TERM "$daemon" "$daemon2"
rc1=0 rc2=0
wait_for 15 gone "$daemon" || kill -9 "$daemon"
wait_for 15 gone "$daemon2" || kill -9 "$daemon2"
wait "$daemon" || rc1=$?
wait "$daemon2" || rc2=$?
daemon="" daemon2=""
check "SIGTERM stops both daemons with exit 0" test "$rc1/$rc2" = 0/0
check "... both logged a clean stop" sh -c "grep -q '\"stopped cleanly\"' '$tmp/ferry1.log' && grep -q '\"stopped cleanly\"' '$tmp/ferry2.log'"
echo "# wall time $(($(date +%s) - start)) s"
finish
