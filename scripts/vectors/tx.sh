#!/usr/bin/env bash
# Signed transaction vectors made by Foundry's cast: `cast mktx` builds and signs each one offline
# (every field is given, so no node is asked; the RPC URL points at a closed port to make sure),
# and `cast decode-transaction` reads back its hash and signer. Keys are anvil's dev keys (accounts 0-2
# of the mnemonic "test test test test test test test test test test test junk").
# Writes tests/vectors/tx.json. Run through scripts/gen-vectors.sh.
set -euo pipefail
cast=${CAST:?}
out=tests/vectors/tx.json
rpc=http://127.0.0.1:1

k0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
k1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
k2=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
bob=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
carol=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
transfer=$($cast calldata 'transfer(address,uint256)' $bob 1000000)
initcode=0x6080604052348015600f57600080fd5b50603f80601d6000396000f3fe6080604052600080fdfea164736f6c6343000819000a
long_data=0x$(printf 'a5%.0s' $(seq 300))

# Each case: type|key|chain|nonce|gas|gasPrice or maxFee|tip (type 2)|to ("" = create)|value|data
cases=(
  "legacy|$k0|1|3|21000|30000000000||$bob|1000000000000000000|0x"
  "legacy|$k1|31337|0|60000|1|||0|$initcode"
  "legacy|$k1|31337|7|90000|2000000000||$carol|0|$transfer"
  "legacy|$k2|4294967311|1099511627776|30000000|340282366920938463463374607431768211455||$bob|115792089237316195423570985008687907853269984665640564039457584007913129639935|$long_data"
  "legacy|$k0|5|0|21000|0||$carol|1|0x00"
  "legacy|$k2|137|128|21000|100000000000||$bob|127|0x7f"
  "eip1559|$k0|1|3|21000|30000000000|2000000000|$bob|1000000000000000000|0x"
  "eip1559|$k1|31337|0|100000|1000000000|0||0|$initcode"
  "eip1559|$k1|31337|12|90000|2000000000|1000000000|$carol|0|$transfer"
  "eip1559|$k2|4294967311|18446744073709551615|30000000|340282366920938463463374607431768211455|340282366920938463463374607431768211455|$bob|115792089237316195423570985008687907853269984665640564039457584007913129639935|$long_data"
  "eip1559|$k0|10|1|21000|0|0|$carol|0|0x"
  "eip1559|$k2|8453|55|53000|123456789|1|$bob|56|0x80"
)

{
  echo '{"generator": "cast mktx / cast decode-transaction (scripts/vectors/tx.sh)", "vectors": ['
  first=1
  for c in "${cases[@]}"; do
    IFS='|' read -r type key chain nonce gas fee tip to value data <<<"$c"
    args=(--private-key "$key" --chain "$chain" --nonce "$nonce" --gas-limit "$gas" --gas-price "$fee" --rpc-url $rpc)
    if [ "$type" = legacy ]; then args+=(--legacy); else args+=(--priority-gas-price "$tip"); fi
    args+=(--value "$value")
    if [ -n "$to" ]; then
      [ "$data" = 0x ] && target=("$to") || target=("$to" "$data")
    else
      target=(--create "$data")
    fi
    raw=$($cast mktx "${args[@]}" "${target[@]}")
    # decode-transaction prints a JSON document as a JSON string; fromjson unwraps it.
    dec=$($cast decode-transaction "$raw" | jq 'if type == "string" then fromjson else . end')
    [ $first = 1 ] || echo ','
    first=0
    jq -cn --arg type "$type" --arg key "$key" --arg chain "$chain" --arg nonce "$nonce" --arg gas "$gas" \
      --arg fee "$fee" --arg tip "$tip" --arg to "$to" --arg value "$value" --arg data "$data" --arg raw "$raw" \
      --argjson dec "$dec" '{type: $type, key: $key, chain_id: $chain, nonce: $nonce, gas_limit: $gas,
        fee: $fee, tip: (if $tip == "" then null else $tip end), to: (if $to == "" then null else $to end),
        value: $value, data: $data, raw: $raw, hash: $dec.hash, signer: $dec.signer, v: $dec.v, r: $dec.r, s: $dec.s}' |
      sed 's/^/  /' | tr -d '\n'
  done
  echo
  echo ']}'
} >"$out"
echo "wrote $out"
