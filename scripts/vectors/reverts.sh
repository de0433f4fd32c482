#!/usr/bin/env bash
# Revert data of Ferry's contracts as a real node returns it, for chains/evm/revert.c's tests.
# Writes tests/vectors/reverts.json:
#   errors  every custom error the deployable contracts' compiled ABIs declare (build/contracts/*.json),
#           as "Name(type name, ...)" with its selector (cast sig): the table in revert.c must equal it;
#   cases   revert data and the text it must decode to. Most are recorded from eth_call against the
#           contracts deployed by `scripts/contracts.sh deploy --with-test-assets` on a private anvil
#           (the "data" of the node's error reply); a few are made with `cast calldata` (Error(string),
#           Panic(uint256), nested and unknown errors, which the contracts do not raise on demand).
#           The expected text is built here from `cast decode-error --sig` (values as cast prints them,
#           without its " [5e18]" notes), the ABI's parameter names and, for the router's Status
#           parameters, the enum in contracts/src/IntentRouter.sol: independent of the C decoder.
# anvil listens on REVERTS_PORT (default 27431). Needs the compiled contracts (built when missing).
# Run through scripts/gen-vectors.sh, or: CAST=$PWD/scripts/toolchain/node_modules/.bin/cast bash scripts/vectors/reverts.sh
set -euo pipefail
cast=${CAST:?}
anvil=$(dirname "$cast")/anvil
artifacts=${ARTIFACTS:-build/contracts}
port=${REVERTS_PORT:-27431}
out=tests/vectors/reverts.json
contracts=(Gateway TokenVault Voucher IntentRouter CallExecutor TestSwapPool TestToken)
if [ -z "${ARTIFACTS:-}" ] && [ ! -f "$artifacts/Gateway.json" ]; then
  scripts/contracts.sh build >&2
fi
for c in "${contracts[@]}"; do
  [ -f "$artifacts/$c.json" ] || { echo "reverts.sh: no $artifacts/$c.json (run make contracts)" >&2; exit 1; }
done

tmp=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || { kill $pid 2>/dev/null; wait $pid 2>/dev/null; }; rm -rf "$tmp"' EXIT

# ---- the error list, from the ABIs ----
for c in "${contracts[@]}"; do
  jq -c '.abi[] | select(.type == "error") | {name, inputs: [.inputs[] | {type, name}]}' "$artifacts/$c.json"
done | jq -s 'unique_by(.name + (.inputs | tostring)) | sort_by(.name)' >"$tmp/errors.json"
while read -r e; do
  canon=$(jq -r '.name + "(" + ([.inputs[].type] | join(",")) + ")"' <<<"$e")
  jq -c --arg sel "$($cast sig "$canon")" --arg canon "$canon" \
    '. + {canonical: $canon, selector: $sel, signature: (.name + "(" + ([.inputs[] | .type + " " + .name] | join(", ")) + ")")}' <<<"$e"
done < <(jq -c '.[]' "$tmp/errors.json") | jq -s . >"$tmp/table.json"

# IntentRouter.Status, by value
mapfile -t status < <(sed -n '/enum Status {/,/}/p' contracts/src/IntentRouter.sol | sed -n 's/^ *\([A-Za-z]*\),\{0,1\} *\(\/\/.*\)\{0,1\}$/\1/p')
[ "${#status[@]}" -ge 5 ] || { echo "reverts.sh: could not read enum Status" >&2; exit 1; }

# expect DATA: the text revert.c must print for revert data DATA (nested: 1 for an argument)
expect() {
  local data=$1 nested=${2:-0} sel=${1:0:10} e n i ty name val
  local -a vals
  case $sel in
  0x08c379a0)
    val=$($cast decode-error --sig "Error(string)" "$data")
    if [ "$nested" = 1 ]; then echo "Error($val)"; else val=${val#\"}; echo "${val%\"}"; fi
    return ;;
  0x4e487b71)
    val=$($cast decode-error --sig "Panic(uint256)" "$data")
    case $val in 17) echo "panic 0x11 (arithmetic overflow)" ;; 18) echo "panic 0x12 (division by zero)" ;;
      1) echo "panic 0x1 (assertion failed)" ;; 50) echo "panic 0x32 (index out of bounds)" ;;
      *) echo "reverts.sh: add panic $val" >&2; exit 1 ;; esac
    return ;;
  esac
  e=$(jq -c --arg s "$sel" '.[] | select(.selector == $s)' "$tmp/table.json")
  if [ -z "$e" ]; then
    [ "$nested" = 1 ] && { echo "$data"; return; }
    echo "custom error $sel ($(((${#data} - 2) / 2)) bytes)"
    return
  fi
  mapfile -t vals < <($cast decode-error --sig "$(jq -r .canonical <<<"$e")" "$data" | sed 's/ \[[^]]*\]$//')
  n=$(jq '.inputs | length' <<<"$e")
  printf '%s(' "$(jq -r .name <<<"$e")"
  for ((i = 0; i < n; i++)); do
    ty=$(jq -r ".inputs[$i].type" <<<"$e") name=$(jq -r ".inputs[$i].name" <<<"$e") val=${vals[$i]}
    [ $i = 0 ] || printf ', '
    if [ "$ty" = bytes ] && [ ${#val} -ge 10 ]; then val=$(expect "$val" 1); fi
    if [ "$ty" = uint8 ] && [ "$name" = status ]; then val="$val (${status[$val]})"; fi
    printf '%s %s=%s' "$ty" "$name" "$val"
  done
  echo ')'
}

# ---- recorded from anvil ----
"$anvil" --port "$port" --chain-id 31337 >"$tmp/anvil.log" 2>&1 &
pid=$!
rpc=http://127.0.0.1:$port
for _ in $(seq 100); do
  $cast chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
  sleep 0.1
done
# anvil's dev keys: 0 deploys and owns, 4 a user with test tokens, 5 an account with nothing
k0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
k4=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
k5=0x8b3a350cf5c34c9194ca85829a2df0ec3149bfe0f1a1427a2f51e6d08ae1e6f7
owner=$($cast wallet address --private-key $k0) user=$($cast wallet address --private-key $k4)
nobody=$($cast wallet address --private-key $k5)
scripts/contracts.sh deploy --rpc "$rpc" --key "$k0" --chain-id 31337 --out "$tmp/d.json" \
  --with-test-assets --fund "$user" >&2
gateway=$(jq -r .gateway "$tmp/d.json") vault=$(jq -r .vault "$tmp/d.json") router=$(jq -r .router "$tmp/d.json")
ta=$(jq -r .testAssets.tokenA "$tmp/d.json") tb=$(jq -r .testAssets.tokenB "$tmp/d.json")
pool=$(jq -r .testAssets.pool "$tmp/d.json")
now=$($cast block --rpc-url "$rpc" latest --field timestamp)

# revert FROM TO SIG ARGS...: the revert data of an eth_call (fails when the call does not revert)
revert() {
  local from=$1 to=$2 data r
  shift 2
  data=$($cast calldata "$@")
  r=$(curl -s -H 'content-type: application/json' "$rpc" --data "$(jq -nc --arg f "$from" --arg t "$to" --arg d "$data" \
    '{jsonrpc: "2.0", id: 1, method: "eth_call", params: [{from: $f, to: $t, data: $d}, "latest"]}')")
  jq -er '.error.data | select(type == "string" and startswith("0x"))' <<<"$r" ||
    { echo "reverts.sh: $* did not revert with data: $r" >&2; exit 1; }
}

PACKET_T="(uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)"
receiver=0x00000000000000000000000000000000000000000000000000000000000bbbbb
cases=()
add() { # NAME SOURCE DATA
  cases+=("$(jq -nc --arg n "$1" --arg s "$2" --arg d "$3" --arg x "$(expect "$3")" '{name: $n, source: $s, data: $d, expect: $x}')")
}
add packet_not_pending "anvil: Gateway.acknowledge of a packet never sent" \
  "$(revert "$owner" "$gateway" "acknowledge($PACKET_T,bool,bytes,bytes)" "(31337,2002,7,$receiver,$receiver,$((now + 3600)),0x)" true 0x 0x)"
add ownable_unauthorized "anvil: Gateway.setReceiveGasLimit by a non-owner" \
  "$(revert "$user" "$gateway" "setReceiveGasLimit(uint32)" 100000)"
add timeout_not_in_future "anvil: Gateway.send with a timeout in the past" \
  "$(revert "$user" "$gateway" "send(uint64,bytes32,uint64,bytes)" 2002 "$receiver" 1 0x68656c6c6f)"
add unknown_peer "anvil: TokenVault.transfer to a chain it has no peer on" \
  "$(revert "$user" "$vault" "transfer(address,uint256,uint64,address,uint64)" "$ta" 5 999 "$user" $((now + 3600)))"
add zero_amount "anvil: TokenVault.transfer of nothing" \
  "$(revert "$user" "$vault" "transfer(address,uint256,uint64,address,uint64)" "$ta" 0 999 "$user" $((now + 3600)))"
add erc20_insufficient_allowance "anvil: TestToken.transferFrom without an allowance" \
  "$(revert "$nobody" "$ta" "transferFrom(address,address,uint256)" "$user" "$nobody" 5000000000000000000)"
add erc20_insufficient_balance "anvil: TestToken.transfer from an account with none" \
  "$(revert "$nobody" "$tb" "transfer(address,uint256)" "$user" 1)"
add invalid_refund_hop_timeout "anvil: IntentRouter.setRefundHopTimeout below the least it takes" \
  "$(revert "$owner" "$router" "setRefundHopTimeout(uint64)" 1)"
add invalid_peer_chain "anvil: IntentRouter.setPeer for its own chain" \
  "$(revert "$owner" "$router" "setPeer(uint64,address)" 31337 "$user")"
add unknown_pair "anvil: TestSwapPool.swap of a pair it does not hold" \
  "$(revert "$user" "$pool" "swap(address,uint256,address,uint256,address)" "$ta" 5 "$ta" 0 "$user")"

# ---- made with cast ----
inner=$($cast calldata "InsufficientOutput(uint256,uint256)" 5 10)
add error_string "cast calldata Error(string)" "$($cast calldata "Error(string)" "nope")"
add panic_overflow "cast calldata Panic(uint256) 0x11" "$($cast calldata "Panic(uint256)" 17)"
add call_reverted_nested "cast calldata CallReverted(bytes) around InsufficientOutput" \
  "$($cast calldata "CallReverted(bytes)" "$inner")"
add call_reverted_error "cast calldata CallReverted(bytes) around Error(string)" \
  "$($cast calldata "CallReverted(bytes)" "$($cast calldata "Error(string)" 'slippage "too" high')")"
add call_reverted_raw "cast calldata CallReverted(bytes) around bytes that are no known error" \
  "$($cast calldata "CallReverted(bytes)" 0x0102030405)"
add not_holding_status "cast calldata NotHolding(bytes32,uint8) with status 2" \
  "$($cast calldata "NotHolding(bytes32,uint8)" 0x$(printf '%064x' 48879) 2)"
add unknown_selector "cast calldata of an error no contract declares" "$($cast calldata "Nope(uint256)" 1)"

{
  jq -n --slurpfile t "$tmp/table.json" --argjson cases "$(printf '%s\n' "${cases[@]}" | jq -s .)" \
    --arg cast "$($cast --version | head -1)" '{
      generatedBy: "scripts/vectors/reverts.sh (do not edit)", tool: $cast,
      errors: [$t[0][] | {signature, selector}],
      cases: $cases
    }'
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(jq '.errors | length' "$out") errors, $(jq '.cases | length' "$out") cases)"
