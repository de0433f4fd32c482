#!/usr/bin/env bash
# Records the protocol's logs as a real node emits them, for the event decoder's tests:
#   tests/vectors/evm_watch/anvil_logs.json  every log of a Gateway and a TokenVault on a private anvil
#       (raw eth_getLogs objects), the blocks they are in, and for each log the event it is (matched by
#       topic0 in the compiled ABI) with every field as cast prints it (indexed ones from the topics,
#       the rest from `cast decode-abi` of the data);
#   tests/vectors/evm_watch/topics.json  every event of the deployable contracts: signature and topic0
#       (cast keccak), straight from the compiled ABI.
# The session: deploy Gateway (2-of-2 attesters), TokenVault and a TestToken; packets sent by an account
# (with a payload, an empty one, a long one) and by the vault (two transfers); packets delivered from a
# fictitious chain 999 (to the vault: a voucher is minted; to an account: a failed acknowledgement), one
# delivered twice (skipped) and one past its timeout (skipped); acknowledgements (a success, and a failure
# that refunds a transfer), timeouts (a packet and a transfer), an attester rotation.
# Needs the compiled contracts (ARTIFACTS, default build/contracts, built by scripts/contracts.sh when
# missing). Run through scripts/gen-vectors.sh. anvil listens on a port the kernel picks.
set -euo pipefail
cast=${CAST:?}
anvil=$(dirname "$cast")/anvil
artifacts=${ARTIFACTS:-build/contracts}
outdir=tests/vectors/evm_watch
if [ -z "${ARTIFACTS:-}" ] && [ ! -f "$artifacts/Gateway.json" ]; then
  scripts/contracts.sh build >&2
fi
for c in Gateway TokenVault TestToken; do
  [ -f "$artifacts/$c.json" ] || { echo "evm_watch.sh: no $artifacts/$c.json (run make contracts)" >&2; exit 1; }
done
mkdir -p "$outdir"

log=$(mktemp)
"$anvil" --port 0 --chain-id 31337 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*Listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "evm_watch.sh: anvil did not start" >&2; exit 1; }
rpc=http://127.0.0.1:$port

# anvil's dev keys (the well-known mnemonic): 0 owner, 1 and 2 attesters, 3 a third attester, 4 a user.
k0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
k1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
k2=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
k3=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
k4=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
addr() { $cast wallet address --private-key "$1"; }
owner=$(addr $k0) a1=$(addr $k1) a2=$(addr $k2) a3=$(addr $k3) user=$(addr $k4)

create() { # NAME SIG ARGS...: prints the address
  local name=$1 r
  shift
  r=$($cast send --rpc-url $rpc --private-key $k0 --json --create "$(jq -r .bytecode "$artifacts/$name.json")" "$@")
  [ "$(jq -r .status <<<"$r")" = 0x1 ] || { echo "deploying $name failed" >&2; exit 1; }
  $cast to-check-sum-address "$(jq -r .contractAddress <<<"$r")"
}
send() { # KEY TO SIG ARGS...: prints the receipt
  local k=$1 r
  shift
  r=$($cast send --rpc-url $rpc --private-key "$k" --json "$@")
  [ "$(jq -r .status <<<"$r")" = 0x1 ] || { echo "transaction failed: $*" >&2; exit 1; }
  echo "$r"
}
PACKET_T="(uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)"
# attest DIGEST: both attesters, ascending by address (a2 = 0x3C44... before a1 = 0x7099...)
attest() {
  local x y
  x=$($cast wallet sign --no-hash "$1" --private-key $k2)
  y=$($cast wallet sign --no-hash "$1" --private-key $k1)
  echo "0x${x#0x}${y#0x}"
}
b32() { $cast to-uint256 "$1" | sed 's/^0x//; s/^/0x/'; }
pad_addr() { echo "0x000000000000000000000000${1#0x}" | tr 'A-F' 'a-f'; }

gateway=$(create Gateway "constructor(address,address[],uint8)" "$owner" "[$a2,$a1]" 2)
vault=$(create TokenVault "constructor(address,address)" "$gateway" "$owner")
token=$(create TestToken "constructor(string,string,uint8)" "Ferry Test" "FT" 18)
peer=0x000000000000000000000000000000000000000000000000000000000000a999
send $k0 "$vault" "setPeer(uint64,bytes32)" 999 $peer >/dev/null
send $k0 "$token" "mint(address,uint256)" "$user" 1000000000000000000000 >/dev/null
send $k4 "$token" "approve(address,uint256)" "$vault" 1000000000000000000000 >/dev/null
now=$($cast block --rpc-url $rpc latest --field timestamp)
later=$((now + 3600))
receiver=0x00000000000000000000000000000000000000000000000000000000000bbbbb
user32=$(pad_addr "$user")
vault32=$(pad_addr "$vault")

# Packets sent by an account: sequences 1, 2, 3.
send $k4 "$gateway" "send(uint64,bytes32,uint64,bytes)" 999 $receiver $later 0x68656c6c6f >/dev/null
send $k4 "$gateway" "send(uint64,bytes32,uint64,bytes)" 999 $receiver $later 0x >/dev/null
long=0x$(for i in $(seq 0 99); do printf '%02x' $(((i * 37 + 11) % 256)); done)
send $k4 "$gateway" "send(uint64,bytes32,uint64,bytes)" 999 $receiver $later "$long" >/dev/null
# Transfers through the vault: sequences 4 and 5.
send $k4 "$vault" "transfer(address,uint256,uint64,address,uint64)" "$token" 1000000000000000000 999 "$owner" $later >/dev/null
send $k4 "$vault" "transfer(address,uint256,uint64,address,uint64)" "$token" 2500000000000000000 999 "$owner" $later >/dev/null

# Packets from chain 999: to the vault (a voucher for 5 tokens of 999's 0x...abc, to the user), and to
# an account (not a contract: a failed acknowledgement).
tpay=$($cast abi-encode "f(uint64,bytes32,uint8,uint256,bytes32,bytes32,bool,bytes)" 999 \
  0x0000000000000000000000000000000000000000000000000000000000000abc 18 5000000000000000000 \
  0x00000000000000000000000000000000000000000000000000000000000000f1 "$user32" false 0x)
in1="(999,31337,1,$peer,$vault32,$later,$tpay)"
in2="(999,31337,2,$peer,$user32,$later,0x0102)"
in3="(999,31337,3,$peer,$user32,$now,0x03)"
deliver() { # TUPLE...: one deliver with every packet, each with its attestation
  local tuples="" atts="" t id
  for t in "$@"; do
    id=$($cast call --rpc-url $rpc "$gateway" "packetId($PACKET_T)(bytes32)" "$t")
    tuples+="${tuples:+,}$t"
    atts+="${atts:+,}$(attest "$($cast call --rpc-url $rpc "$gateway" "deliveryDigest(bytes32)(bytes32)" "$id")")"
  done
  send $k0 "$gateway" "deliver(${PACKET_T}[],bytes[])" "[$tuples]" "[$atts]" >/dev/null
}
deliver "$in1" "$in2"
deliver "$in2" "$in3" # in2 again: skipped as received; in3: skipped, its timeout has passed

# Settling what was sent: sequence 1 acknowledged (success), transfer 4 acknowledged as failed (refund),
# transfer 5 and packet 2 timed out.
tuple_of() { # SEQUENCE: the packet as its PacketSent log carries it
  local data topics
  data=$($cast logs --rpc-url $rpc --from-block 0 --address "$gateway" --json \
    "PacketSent(bytes32 indexed,uint64 indexed,uint64 indexed,bytes32,bytes32,uint64,bytes)" |
    jq -r --arg s "$(printf '0x%064x' "$1")" '.[] | select(.topics[3] == $s) | .data')
  local f
  mapfile -t f < <($cast decode-abi "f()(bytes32,bytes32,uint64,bytes)" "$data")
  echo "(31337,999,$1,${f[0]},${f[1]},${f[2]%% *},${f[3]})"
}
ack() { # SEQUENCE SUCCESS RESULT
  local t id
  t=$(tuple_of "$1")
  id=$($cast call --rpc-url $rpc "$gateway" "packetId($PACKET_T)(bytes32)" "$t")
  send $k0 "$gateway" "acknowledge($PACKET_T,bool,bytes,bytes)" "$t" "$2" "$3" \
    "$(attest "$($cast call --rpc-url $rpc "$gateway" "acknowledgementDigest(bytes32,bool,bytes)(bytes32)" "$id" "$2" "$3")")" >/dev/null
}
timeout() { # SEQUENCE
  local t id
  t=$(tuple_of "$1")
  id=$($cast call --rpc-url $rpc "$gateway" "packetId($PACKET_T)(bytes32)" "$t")
  send $k0 "$gateway" "timeout($PACKET_T,uint64,bytes)" "$t" $((later + 5)) \
    "$(attest "$($cast call --rpc-url $rpc "$gateway" "timeoutDigest(bytes32,uint64)(bytes32)" "$id" $((later + 5)))")" >/dev/null
}
ack 1 true 0x01
ack 4 false 0x
timeout 5
timeout 2
send $k0 "$gateway" "setAttesters(address[],uint8)" "[$a2,$a1,$a3]" 2 >/dev/null

# Every log of both contracts, as the node gives them.
latest=$($cast block-number --rpc-url $rpc)
req=$(jq -nc --arg g "$gateway" --arg v "$vault" --arg to "$(printf '0x%x' "$latest")" \
  '{jsonrpc: "2.0", id: 1, method: "eth_getLogs", params: [{fromBlock: "0x0", toBlock: $to, address: [$g, $v]}]}')
logs=$(curl -sf -H 'Content-Type: application/json' -d "$req" $rpc | jq -c .result)

# The ABI's events, with topic0 and canonical signature.
events=$(for c in Gateway TokenVault IntentRouter; do
  jq -c --arg c "$c" '.abi[] | select(.type == "event") |
    {contract: $c, name, types: [.inputs[].type], indexed: [.inputs[].indexed], names: [.inputs[].name],
     canonical: "\(.name)(\([.inputs[].type] | join(",")))"}' "$artifacts/$c.json"
done | while read -r e; do
  jq -c --arg t "$($cast keccak "$(jq -r .canonical <<<"$e")")" '. + {topic0: $t}' <<<"$e"
done | jq -sc .)
jq '{generator: "cast keccak over the compiled ABI (scripts/vectors/evm_watch.sh)",
     events: map({contract, name, canonical, topic0})}' <<<"$events" >"$outdir/topics.json"

# field TYPE TOPIC: an indexed value as cast prints it
field() {
  case $1 in
    address) $cast parse-bytes32-address "$2" ;;
    bool) [ "$($cast to-dec "$2")" = 1 ] && echo true || echo false ;;
    uint* | int*) $cast to-dec "$2" ;;
    *) echo "$2" ;;
  esac
}
expect='[]'
n=$(jq length <<<"$logs")
for i in $(seq 0 $((n - 1))); do
  l=$(jq -c ".[$i]" <<<"$logs")
  t0=$(jq -r '.topics[0]' <<<"$l")
  e=$(jq -c --arg t "$t0" 'map(select(.topic0 == $t)) | first // empty' <<<"$events")
  [ -n "$e" ] || { echo "log $i: topic0 $t0 is in no ABI" >&2; exit 1; }
  types=$(jq -r '.types | join(" ")' <<<"$e")
  read -ra ty <<<"$types"
  mapfile -t idx < <(jq -r '.indexed[]' <<<"$e")
  datatypes=$(jq -r '[.types as $t | .indexed | to_entries[] | select(.value | not) | $t[.key]] | join(",")' <<<"$e")
  data=()
  if [ -n "$datatypes" ]; then
    mapfile -t data < <($cast decode-abi "f()($datatypes)" "$(jq -r .data <<<"$l")" | sed 's/ \[[^]]*\]$//')
  fi
  fields='[]'
  k=1 d=0
  for j in "${!ty[@]}"; do
    if [ "${idx[$j]}" = true ]; then
      v=$(field "${ty[$j]}" "$(jq -r ".topics[$k]" <<<"$l")")
      k=$((k + 1))
    else
      v=${data[$d]}
      d=$((d + 1))
    fi
    fields=$(jq -c --arg v "$v" '. + [$v]' <<<"$fields")
  done
  expect=$(jq -c --arg c "$(jq -r .contract <<<"$e")" --arg name "$(jq -r .name <<<"$e")" --argjson f "$fields" \
    '. + [{contract: $c, event: $name, fields: $f}]' <<<"$expect")
done

blocks=$(jq -r '[.[].blockNumber] | unique | .[]' <<<"$logs" | while read -r b; do
  $cast block --rpc-url $rpc "$b" --json | jq -c '{number, hash, timestamp}'
done | jq -sc .)

jq -n --arg gw "$gateway" --arg v "$vault" --argjson logs "$logs" --argjson expect "$expect" --argjson blocks "$blocks" \
  '{generator: "a private anvil, eth_getLogs and cast (scripts/vectors/evm_watch.sh)", chain_id: 31337,
    gateway: $gw, vault: $v, blocks: $blocks, logs: $logs, expect: $expect}' >"$outdir/anvil_logs.json"
echo "wrote $outdir/anvil_logs.json ($n logs) and $outdir/topics.json"
