#!/usr/bin/env bash
# Records eth_feeHistory replies from a real anvil for the fee computation's tests (chains/evm/fees.c)
# and writes tests/vectors/evm_txmgr/fee_history.json: each reply as it came, the market the
# manager must read from it (the next base fee; the median of the per-block 50th-percentile
# rewards of the blocks that carried transactions) and the offers it must make under a few
# policies, all computed here with jq, independently of the C code.
# Blocks are made by hand (automine off, evm_mine) with transactions of chosen tips from
# several dev accounts, and base fees set with anvil_setNextBlockBaseFeePerGas, so the session is
# deterministic. anvil listens on a port the kernel picks.
set -euo pipefail
cast=${CAST:?}
anvil=$(dirname "$cast")/anvil
out=tests/vectors/evm_txmgr/fee_history.json
mkdir -p "$(dirname "$out")"

log=$(mktemp)
"$anvil" --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*Listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "anvil did not start" >&2; exit 1; }
url=http://127.0.0.1:$port

rpc() { # method params-json
  curl -sf -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$url"
}

# anvil's dev keys 1..5 (the well-known mnemonic); each sends one transaction per block
keys=(0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
  0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
  0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
  0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba)
declare -A nonce
send() { # key-index tip-wei
  local k=${keys[$1]} n=${nonce[$1]:-0} raw
  raw=$($cast mktx --private-key "$k" --chain 31337 --nonce "$n" --gas-limit 21000 \
    --priority-gas-price "$2" --gas-price 500000000000 0x000000000000000000000000000000000000dEaD --value 1)
  rpc eth_sendRawTransaction "[\"$raw\"]" >/dev/null
  nonce[$1]=$((n + 1))
}

cases='[]'
record() { # name blocks
  local reply
  reply=$(rpc eth_feeHistory "[\"$(printf '0x%x' "$2")\",\"latest\",[50]]" | jq -c .result)
  cases=$(jq -c --arg name "$1" --argjson r "$reply" '. + [{name: $name, result: $r}]' <<<"$cases")
}

rpc evm_setAutomine '[false]' >/dev/null
record genesis 10
send 0 1000000000; send 1 2000000000; send 2 3000000000
rpc evm_mine '[]' >/dev/null
record one_block_three_tips 10
send 0 5000000000; send 1 7000000000
rpc evm_mine '[]' >/dev/null
rpc evm_mine '[]' >/dev/null
record empty_block_last 10
rpc anvil_setNextBlockBaseFeePerGas '["0xba43b7400"]' >/dev/null # 50 gwei
rpc evm_mine '[]' >/dev/null
record base_fee_raised 10
send 3 100000000; send 4 200000000; send 2 150000000; send 0 120000000
rpc evm_mine '[]' >/dev/null
record cheap_tips 10
record cheap_tips_last_two 2
for _ in $(seq 12); do rpc evm_mine '[]' >/dev/null; done
record only_empty_blocks 5
gas_price=$(rpc eth_gasPrice '[]' | jq -c .result)

# Expectations, computed with jq (numbers stay below 2^53 here, so doubles are exact).
policies='[
  {"name": "wide", "max_fee_cap": "1000000000000", "tip_cap": "0", "tip_floor": "0", "base_fee_mult": 2},
  {"name": "tip_capped", "max_fee_cap": "1000000000000", "tip_cap": "1500000000", "tip_floor": "0", "base_fee_mult": 2},
  {"name": "floor_3x", "max_fee_cap": "1000000000000", "tip_cap": "0", "tip_floor": "1000000000", "base_fee_mult": 3},
  {"name": "tight_cap", "max_fee_cap": "60000000000", "tip_cap": "0", "tip_floor": "0", "base_fee_mult": 2},
  {"name": "below_market", "max_fee_cap": "40000000000", "tip_cap": "0", "tip_floor": "0", "base_fee_mult": 2}
]'
version=$("$anvil" --version | head -1)
jq -n --arg gen "$version (scripts/vectors/evm_fees.sh)" --argjson cases "$cases" --argjson policies "$policies" \
  --argjson gp "$gas_price" '
  def q: if . == 0 then "0x0" else [recurse(if . >= 16 then (. / 16 | floor) else empty end) | . % 16]
         | reverse | map("0123456789abcdef"[.:.+1]) | "0x" + join("") end;
  def n: ltrimstr("0x") | ascii_downcase | explode | reduce .[] as $c (0; . * 16 + ($c | if . >= 97 then . - 87 else . - 48 end));
  def market: {
      base_fee: (.baseFeePerGas[-1] | n),
      tip: ([range(0; .gasUsedRatio | length) as $i | select(.gasUsedRatio[$i] > 0) | .reward[$i][0] | n]
            | sort | if length == 0 then 0 else .[length / 2 | floor] end),
      newest: ((.oldestBlock | n) + (.gasUsedRatio | length) - 1) };
  def offer($m; $p):
      ([$m.tip, ($p.tip_floor | tonumber)] | max) as $t0
      | (if ($p.tip_cap | tonumber) > 0 then ([$t0, ($p.tip_cap | tonumber)] | min) else $t0 end) as $t1
      | ([$t1, ($p.max_fee_cap | tonumber)] | min) as $tip
      | if $m.base_fee + $tip > ($p.max_fee_cap | tonumber) then {refused: true}
        else {tip: ($tip | tostring),
              max_fee: ([$m.base_fee * $p.base_fee_mult + $tip, ($p.max_fee_cap | tonumber)] | min | tostring)} end;
  {
    description: "eth_feeHistory replies of a real anvil (blocks made by hand), the market read from each and the offers under each policy (computed by jq in the script)",
    generator: $gen,
    policies: $policies,
    gas_price: $gp,
    cases: [$cases[] | (.result | market) as $m | {
      name, result,
      market: {base_fee: ($m.base_fee | tostring), tip: ($m.tip | tostring), newest_block: $m.newest},
      offers: [$policies[] as $p | {policy: $p.name} + offer($m; $p)]
    }]
  }' >"$out"
echo "wrote $out"
