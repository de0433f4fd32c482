#!/usr/bin/env bash
# Records a session with a real anvil for the JSON-RPC client's tests: every request, anvil's
# reply as it came, and the type the client must give it. Writes
# tests/vectors/rpc/anvil_recorded.json, one scenario that
#   - test_rpc replays from a fake server (the recorded replies, ids turned into "$id"), and
#   - test_rpc_anvil runs again against a fresh real anvil (same requests, same expectations).
# The session is deterministic on a fresh anvil (fixed keys, fixed transactions, mining by
# evm_mine).
# Run through scripts/gen-vectors.sh; uses port 18700.
set -euo pipefail
cast=${CAST:?}
anvil=$(dirname "$cast")/anvil
port=18700
url=http://127.0.0.1:$port
out=tests/vectors/rpc/anvil_recorded.json

"$anvil" --port $port --silent >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":0,"method":"eth_chainId","params":[]}' $url >/dev/null && break
  sleep 0.1
done

# anvil's first two dev accounts (the well-known mnemonic)
key0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
addr0=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
addr1=0x70997970c51812dc3a010c7d01b50e0d17dc79c8
mktx() { # nonce value
  $cast mktx --rpc-url $url --private-key $key0 --chain 31337 --nonce "$1" --gas-limit 21000 \
    --gas-price 2000000000 --priority-gas-price 1000000000 $addr1 --value "$2"
}
tx0=$(mktx 0 1)
tx0_replacement=$(mktx 0 2)
tx_rich=$(mktx 1 100000000000000000000000)
# init code that reverts with Error("no")
revert_init=0x7f08c379a000000000000000000000000000000000000000000000000000000000600052602060045260026024527f6e6f00000000000000000000000000000000000000000000000000000000000060445260646000fd

steps='[]'
exchanges='[]'
next_id=1

# step KIND REQUEST: sends REQUEST ({"method","params"} or an array of them), records the reply.
# KIND is the error type the client must report, or - for a result.
step() {
  local kind=$1 req=$2 wire reply n
  if [ "$(jq -r type <<<"$req")" = array ]; then
    n=$(jq length <<<"$req")
    wire=$(jq -c --argjson id $next_id '[to_entries[] | {jsonrpc: "2.0", id: ($id + .key), method: .value.method, params: .value.params}]' <<<"$req")
  else
    n=1
    wire=$(jq -c --argjson id $next_id '{jsonrpc: "2.0", id: $id, method, params}' <<<"$req")
  fi
  reply=$(curl -sf -H 'Content-Type: application/json' -d "$wire" $url)
  # ids become placeholders: "$id" for a call, "$idN" for the N-th call of a batch
  local canned
  if [ "$n" -gt 1 ] || [ "$(jq -r type <<<"$req")" = array ]; then
    canned=$(jq -c --argjson id $next_id 'map(.id = "$id\(.id - $id)")' <<<"$reply")
  else
    canned=$(jq -c '.id = "$id"' <<<"$reply")
  fi
  exchanges=$(jq -c --argjson req "$req" --argjson reply "$canned" '. + [{request: $req, reply: $reply}]' <<<"$exchanges")
  local expect
  if [ "$kind" = - ]; then
    if [ "$(jq -r type <<<"$req")" = array ]; then
      expect=$(jq -c --argjson id $next_id '{replies: (sort_by(.id) | map({result}))}' <<<"$reply")
    else
      expect=$(jq -c '{result}' <<<"$reply")
    fi
  else
    expect=$(jq -c --arg kind "$kind" '{error: $kind, code: .error.code, message_contains: .error.message}
      + (if (.error.data | type) == "string" and $kind == "EXECUTION_REVERTED" then {revert_data: .error.data} else {} end)' <<<"$reply")
  fi
  local key=call
  [ "$(jq -r type <<<"$req")" = array ] && key=batch
  steps=$(jq -c --arg key $key --argjson req "$req" --argjson expect "$expect" '. + [{($key): $req, expect: $expect}]' <<<"$steps")
  next_id=$((next_id + n))
}

step - '{"method":"eth_chainId","params":[]}'
step - '{"method":"eth_blockNumber","params":[]}'
step - "[{\"method\":\"eth_chainId\",\"params\":[]},{\"method\":\"eth_blockNumber\",\"params\":[]},{\"method\":\"eth_getBalance\",\"params\":[\"$addr0\",\"latest\"]}]"
# Mining by hand: automine seals in the background, so what a resend meets would depend on
# timing; with evm_mine it does not.
step - '{"method":"evm_setAutomine","params":[false]}'
step - "{\"method\":\"eth_sendRawTransaction\",\"params\":[\"$tx0\"]}"
step ALREADY_KNOWN "{\"method\":\"eth_sendRawTransaction\",\"params\":[\"$tx0\"]}"
step REPLACEMENT_UNDERPRICED "{\"method\":\"eth_sendRawTransaction\",\"params\":[\"$tx0_replacement\"]}"
step - '{"method":"evm_mine","params":[]}'
step - '{"method":"eth_blockNumber","params":[]}'
step NONCE_TOO_LOW "{\"method\":\"eth_sendRawTransaction\",\"params\":[\"$tx0\"]}"
step INSUFFICIENT_FUNDS "{\"method\":\"eth_sendRawTransaction\",\"params\":[\"$tx_rich\"]}"
step EXECUTION_REVERTED "{\"method\":\"eth_call\",\"params\":[{\"data\":\"$revert_init\"},\"latest\"]}"
step EXECUTION_REVERTED "{\"method\":\"eth_estimateGas\",\"params\":[{\"data\":\"$revert_init\"}]}"
step NODE '{"method":"eth_sendRawTransaction","params":["0xdeadbeef"]}'
step METHOD_NOT_FOUND '{"method":"eth_foo","params":[]}'
step NODE '{"method":"eth_getLogs","params":[{"fromBlock":"0x10","toBlock":"0x11"}]}'

version=$("$anvil" --version | head -1)
jq -n --arg gen "$version (scripts/vectors/rpc_anvil.sh)" --argjson steps "$steps" --argjson ex "$exchanges" '{
  description: "A session with a real anvil, recorded: the requests, the replies as they came, the types the client must give them.",
  generator: $gen,
  scenarios: [{name: "anvil_session", steps: $steps, exchanges: $ex}]
}' >"$out"
echo "wrote $out"
