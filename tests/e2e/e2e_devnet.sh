#!/usr/bin/env bash
# End-to-end test of scripts/devnet.sh: `up` on ports of its own (beside any devnet a user runs) makes three
# chains with the contracts deployed and linked, beta's FTA@alpha/FTB pool seeded by a hand-relayed transfer
# (it quotes), a deployments.json and a daemon config that checks; a second
# `up` and a taken port are refused clearly; `down` stops every anvil. TAP lines for scripts/run-tests.sh.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
export FERRY_BUILD=${FERRY_BUILD:-build}
ferry=$root/$FERRY_BUILD/ferry
cast=$root/scripts/toolchain/node_modules/.bin/cast
tmp=$(mktemp -d)
export FERRY_DEVNET_DIR=$tmp/devnet

. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for

# Four consecutive free ports from a random base (three chains and the API).
for try in $(seq 1 20); do
  base=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-): a client socket may take a port up there
  port_free $base && port_free $((base + 1)) && port_free $((base + 2)) && port_free $((base + 3)) && break
done
export FERRY_DEVNET_PORTS="$base $((base + 1)) $((base + 2))" FERRY_DEVNET_API=127.0.0.1:$((base + 3))
trap 'scripts/devnet.sh down >/dev/null 2>&1; rm -rf "$tmp"' EXIT

if [ ! -x "$ferry" ] || [ ! -x "$cast" ]; then
  echo "not ok 1 - ferry ($ferry) and cast ($cast) must be built/installed"
  exit 1
fi

start=$(date +%s)
if scripts/devnet.sh up >"$tmp/up.log" 2>&1; then
  ok "devnet.sh up on ports $FERRY_DEVNET_PORTS ($(($(date +%s) - start)) s)"
else
  notok "devnet.sh up" "$(tail -5 "$tmp/up.log")"
  echo "1..$n"
  exit 1
fi
d=$FERRY_DEVNET_DIR/deployments.json
check "deployments.json names alpha, beta, gamma with their chain ids" \
  test "$(jq -c '[.chains[] | [.name, .chainId]]' "$d")" = '[["alpha",31337],["beta",31338],["gamma",31339]]'
check "deployments.json: each chain has its RPC URL on the ports asked for" \
  test "$(jq -r '[.chains[].rpc] | join(" ")' "$d")" = "http://127.0.0.1:$base http://127.0.0.1:$((base + 1)) http://127.0.0.1:$((base + 2))"
check "deployments.json: gateway, vault, router, tokens FTA/FTB and the FTA/FTB pool are addresses" \
  quiet jq -e '[.chains[] | .gateway, .vault, .router, .tokens.FTA, .tokens.FTB, .pools["FTA/FTB"]] |
    length == 18 and all(test("^0x[0-9a-fA-F]{40}$"))' "$d"

codeless=""
for i in 0 1 2; do
  rpc=$(jq -r ".chains[$i].rpc" "$d")
  for a in $(jq -r ".chains[$i] | .gateway, .vault, .router, .tokens.FTA, .tokens.FTB, .pools[\"FTA/FTB\"]" "$d"); do
    code=$("$cast" code --rpc-url "$rpc" "$a" 2>/dev/null)
    [ ${#code} -gt 2 ] || codeless+=" $i:$a"
  done
done
check "every deployed contract has code on its chain" test -z "$codeless"

# The sample intent's assets: alpha's FTA as a voucher on beta and gamma, and beta's FTA@alpha/FTB pool,
# seeded by a transfer relayed by hand at up.
rpc_b=$(jq -r '.chains[1].rpc' "$d")
want=""
for i in 1 2; do
  want+="$("$cast" call --rpc-url "$(jq -r ".chains[$i].rpc" "$d")" "$(jq -r ".chains[$i].vault" "$d")" \
    "voucherOf(uint64,address)(address)" 31337 "$(jq -r '.chains[0].tokens.FTA' "$d")" 2>/dev/null) "
done
check "deployments.json: vouchers FTA@alpha on beta and gamma are the vaults' voucherOf(31337, FTA)" \
  test "$(jq -r '[.chains[1,2].vouchers["FTA@alpha"]] | join(" ")' "$d") " = "$want"
vpool=$(jq -r '.chains[1].pools["FTA@alpha/FTB"] // ""' "$d")
voucher=$(jq -r '.chains[1].vouchers["FTA@alpha"] // ""' "$d") ftb=$(jq -r '.chains[1].tokens.FTB' "$d")
check "deployments.json: beta has an FTA@alpha/FTB pool with code" \
  test "${#vpool}" -eq 42 -a "$("$cast" code --rpc-url "$rpc_b" "$vpool" 2>/dev/null | wc -c)" -gt 3
check "... pairing the voucher with beta's FTB" \
  test "$("$cast" call --rpc-url "$rpc_b" "$vpool" "token0()(address)" 2>/dev/null) $("$cast" call --rpc-url "$rpc_b" "$vpool" "token1()(address)" 2>/dev/null)" = "$voucher $ftb"
check "... holding 100,000 vouchers and 200,000 FTB" \
  test "$("$cast" call --rpc-url "$rpc_b" "$vpool" "reserve0()(uint256)" 2>/dev/null | cut -d' ' -f1) $("$cast" call --rpc-url "$rpc_b" "$voucher" "balanceOf(address)(uint256)" "$vpool" 2>/dev/null | cut -d' ' -f1) $("$cast" call --rpc-url "$rpc_b" "$vpool" "reserve1()(uint256)" 2>/dev/null | cut -d' ' -f1)" = \
  "100000000000000000000000 100000000000000000000000 200000000000000000000000"
q=$("$cast" call --rpc-url "$rpc_b" "$vpool" "quote(address,uint256,address)(uint256)" "$voucher" 1000000000000000000 "$ftb" 2>/dev/null | cut -d' ' -f1)
# About 2 FTB for 1 voucher (1:2 reserves, 0.3% fee, a little slippage): well inside (1, 2) FTB.
check "the pool quotes 1 voucher -> $q FTB (non-zero, about 2)" \
  test -n "$q" -a "${q:-0}" -gt 1000000000000000000 -a "${q:-0}" -lt 2000000000000000000
seq=$(jq -r .transferSequence "$FERRY_DEVNET_DIR/voucher-pool-beta.json")
check "the hand-relayed transfer (alpha sequence $seq) was received on beta and acknowledged on alpha" \
  test "$("$cast" call --rpc-url "$rpc_b" "$(jq -r '.chains[1].gateway' "$d")" "received(uint64,uint64)(bool)" 31337 "$seq" 2>/dev/null) $("$cast" call --rpc-url "$(jq -r '.chains[0].rpc' "$d")" "$(jq -r '.chains[0].gateway' "$d")" "commitments(uint64)(bytes32)" "$seq" 2>/dev/null)" = \
  "true 0x0000000000000000000000000000000000000000000000000000000000000000"
check "the user (anvil account 4) holds 1,000,000 FTA on alpha (for the sample intent)" test \
  "$("$cast" call --rpc-url "$(jq -r '.chains[0].rpc' "$d")" "$(jq -r '.chains[0].tokens.FTA' "$d")" \
    "balanceOf(address)(uint256)" "$(jq -r .accounts.user "$d")" | cut -d' ' -f1)" = 1000000000000000000000000

# Linked: alpha's vault knows beta's vault, gamma's router knows alpha's router.
rpc_a=$(jq -r '.chains[0].rpc' "$d") rpc_c=$(jq -r '.chains[2].rpc' "$d")
peer=$("$cast" call --rpc-url "$rpc_a" "$(jq -r '.chains[0].vault' "$d")" "peers(uint64)(bytes32)" 31338)
check "alpha's vault has beta's vault as its peer" \
  test "$peer" = "$(printf '0x%064s' "$(jq -r '.chains[1].vault' "$d" | sed 's/^0x//' | tr 'A-F' 'a-f')" | tr ' ' 0)"
peer=$("$cast" call --rpc-url "$rpc_c" "$(jq -r '.chains[2].router' "$d")" "peers(uint64)(address)" 31337)
check "gamma's router has alpha's router as its peer" test "$peer" = "$(jq -r '.chains[0].router' "$d")"
check "the user (anvil account 4) holds 1,000,000 FTA on beta" test \
  "$("$cast" call --rpc-url "$(jq -r '.chains[1].rpc' "$d")" "$(jq -r '.chains[1].tokens.FTA' "$d")" \
    "balanceOf(address)(uint256)" "$(jq -r .accounts.user "$d")" | cut -d' ' -f1)" = 1000000000000000000000000
b1=$("$cast" block-number --rpc-url "$rpc_a")
sleep 2.2
b2=$("$cast" block-number --rpc-url "$rpc_a")
check "alpha mines a block a second after the deployment ($b1 -> $b2)" test "$b2" -ge $((b1 + 1)) -a "$b2" -le $((b1 + 4))

cfg=$FERRY_DEVNET_DIR/ferry.json
if "$ferry" config check "$cfg" >"$tmp/check.log" 2>&1; then ok "ferry config check accepts ferry.json"; else
  notok "ferry config check accepts ferry.json" "$(head -5 "$tmp/check.log")"
fi
check "ferry.json has the deployed gateway of every chain and the API address asked for" \
  test "$(jq -c '[.chains[].gateway], .api.listen' "$cfg")" = "$(jq -c '[.chains[].gateway]' "$d")
\"$FERRY_DEVNET_API\""
check "api-token and keystore-password are mode 600" \
  test "$(stat -c %a "$FERRY_DEVNET_DIR/api-token") $(stat -c %a "$FERRY_DEVNET_DIR/keystore-password")" = "600 600"
"$ferry" keys list --keystore-dir "$FERRY_DEVNET_DIR/keys" >"$tmp/keys.log" 2>&1
check "the keystore holds dev-submitter and dev-attester-7/8/9" \
  test "$(awk '{print $1}' "$tmp/keys.log" | grep '^dev-' | sort | tr '\n' ' ')" = "dev-attester-7 dev-attester-8 dev-attester-9 dev-submitter "
check "dev-attester-7 is the first attester of the config" \
  grep -qi "$(jq -r '.attesters.addresses[0]' "$cfg")" "$tmp/keys.log"

scripts/devnet.sh up >"$tmp/up2.log" 2>&1
rc=$?
check "a second up on the same directory is refused" test $rc -ne 0
check "... saying a devnet is already running" grep -q "already running" "$tmp/up2.log"
FERRY_DEVNET_DIR=$tmp/other scripts/devnet.sh up >"$tmp/up3.log" 2>&1
rc=$?
check "up on a taken port fails, naming the port" test $rc -ne 0 -a -n "$(grep "port $base .*taken" "$tmp/up3.log")"
check "... and starts nothing" test ! -e "$tmp/other/anvil-beta.pid"

pids=$(cat "$FERRY_DEVNET_DIR"/anvil-*.pid)
scripts/devnet.sh down >"$tmp/down.log" 2>&1
alive=""
for p in $pids; do kill -0 "$p" 2>/dev/null && alive+=" $p"; done
check "down stops every anvil" test -z "$alive" -a "$(echo $pids | wc -w)" -eq 3
check "... and frees the ports" port_free "$base"
echo "1..$n"
[ "$failed" -eq 0 ]
