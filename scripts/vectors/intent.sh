#!/usr/bin/env bash
# Intent vectors: what the real IntentRouter and cast compute for a few intents, to hold src/intent*.c to.
# Writes tests/vectors/intent.json. Run through scripts/gen-vectors.sh (or CAST=... bash scripts/vectors/intent.sh).
#
# For each intent of the list below (the issue's three-step sample, a route that starts with a call, a
# recovery policy with a local payout, a one-step payout with the largest nonce):
#   - the on-chain struct is built here, in jq, from the dApp JSON (independently of src/intent.c);
#   - hash_struct and id: IntentRouter.hashIntent / intentId, called on an anvil where the contracts are
#     deployed by scripts/contracts.sh (anvil on port $INTENT_VECTORS_PORT, default 25471, chain id 31337,
#     a fixed start time so that every run writes the same file);
#   - typed_data: what Ferry's intent_typed_data produces (through a small helper compiled against
#     build/libferry.a); signature: `cast wallet sign --data` over it with the owner's key. The script checks
#     that this signature equals cast's signature of the router's id with --no-hash (so the EIP-712 digest
#     cast computed from Ferry's typed data is the router's id), and that Ferry's own id agrees;
#   - open, advance (of the last step, advance_step), refund, cancel: `cast calldata` of the router calls;
#   - then the intent is really opened on the anvil with that calldata (owner funded and approved): the
#     router's validation and signature check accept it, and intentState(id) is Holding.
set -euo pipefail
cast=${CAST:?}
anvil=${ANVIL:-$(dirname "$cast")/anvil}
root=$(pwd)
out=tests/vectors/intent.json
port=${INTENT_VECTORS_PORT:-25471}
rpc=http://127.0.0.1:$port
now=1780000000

# anvil's well-known development keys: #0 deploys and relays, #1 owns the intents.
deployer_key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
owner_key=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
owner=$($cast wallet address --private-key $owner_key)

tmp=$(mktemp -d)
anvil_pid=
cleanup() {
  [ -z "$anvil_pid" ] || kill "$anvil_pid" 2>/dev/null || true
  if [ -n "${KEEP_TMP:-}" ]; then echo "intent.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
die() {
  echo "intent.sh: $*" >&2
  exit 1
}

# ---- Ferry's side: a helper over build/libferry.a ----
[ -f build/libferry.a ] || make -s lib
cat >"$tmp/tool.c" <<'EOF'
/* argv: router now file. Prints {"id", "hash_struct", "intent" (normalized), "typed_data"} as Ferry computes them. */
#include <stdio.h>
#include <stdlib.h>
#include "ferry/hex.h"
#include "ferry/intent.h"
int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    struct intent_chain_info ch[3] = {{"alpha", 31337, {0}, 1000, 1}, {"beta", 31338, {0}, 1000, 1},
                                      {"gamma", 31339, {0}, 1000, 1}};
    for (int i = 0; i < 3; i++)
        if (address_parse(ch[i].router, argv[1]))
            return 3;
    struct intent_dir dir = {ch, 3};
    FILE *f = fopen(argv[3], "r");
    static char text[1 << 20];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    struct intent it;
    char err[INTENT_ERR_MAX];
    if (intent_from_json(&it, j, &dir, strtoull(argv[2], NULL, 10), 0, "intent", err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uint8_t id[32], hs[32];
    char h1[67], h2[67];
    intent_id(&it, ch[0].router, id);
    intent_hash_struct(&it, hs);
    hex_encode(h1, id, 32, true);
    hex_encode(h2, hs, 32, true);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", h1);
    cJSON_AddStringToObject(o, "hash_struct", h2);
    cJSON_AddItemToObject(o, "intent", intent_to_json(&it, &dir));
    cJSON_AddItemToObject(o, "typed_data", intent_typed_data(&it, ch[0].router));
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    return 0;
}
EOF
pkgs="libsecp256k1 libcurl libcjson libsodium nettle libmicrohttpd"
# shellcheck disable=SC2046
cc -std=c11 -D_DEFAULT_SOURCE -Iinclude $(pkg-config --cflags $pkgs) -o "$tmp/tool" "$tmp/tool.c" build/libferry.a \
  $(pkg-config --libs $pkgs) -lleveldb -lpthread -lm

# ---- the chain side: an anvil with the contracts ----
"$anvil" --port "$port" --chain-id 31337 --timestamp $now --silent >"$tmp/anvil.log" 2>&1 &
anvil_pid=$!
for _ in $(seq 100); do
  $cast chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
  sleep 0.1
done
$cast chain-id --rpc-url "$rpc" >/dev/null || die "anvil did not start on port $port"
CAST=$cast scripts/contracts.sh deploy --rpc "$rpc" --key $deployer_key --chain-id 31337 --out "$tmp/alpha.json" \
  --with-test-assets --fund "$owner" >/dev/null 2>"$tmp/deploy.log" || {
  cat "$tmp/deploy.log" >&2
  die "deploy failed"
}
router=$(jq -r .router "$tmp/alpha.json")
fta=$(jq -r .testAssets.tokenA "$tmp/alpha.json")
ftb=$(jq -r .testAssets.tokenB "$tmp/alpha.json")
pool=$(jq -r .testAssets.pool "$tmp/alpha.json")
[[ $router =~ ^0x[0-9a-fA-F]{40}$ && $fta =~ ^0x && $pool =~ ^0x ]] || die "unexpected deployment file: $(cat "$tmp/alpha.json")"
$cast send --rpc-url "$rpc" --private-key $owner_key "$fta" "approve(address,uint256)" "$router" \
  115792089237316195423570985008687907853269984665640564039457584007913129639935 >/dev/null

step_t='(uint8,uint64,address,uint256,uint64,address,address,bytes,address,uint256,uint64)'
intent_t="(address,uint64,uint256,uint64,uint8,address,$step_t[])"
placeholder=$($cast keccak "Ferry.AMOUNT_IN")
# The swap the calls make: amountIn is the placeholder word (the router puts the amount held there).
swap_data=$($cast calldata "swap(address,uint256,address,uint256,address)" "$ftb" 0 "$fta" 1 "$pool" |
  sed "s/^\(0x.\{72\}\)0\{64\}/\1${placeholder#0x}/")
[[ $swap_data == *"${placeholder#0x}"* ]] || die "placeholder not spliced into $swap_data"
swap_a=$($cast calldata "swap(address,uint256,address,uint256,address)" "$fta" 1000 "$ftb" 1 "$pool")

recipient=0x976EA74026E726554dB657fA54763abd0C3a0aa9
recovery=0x14dC79964da2C08b23698B3D3cc7Ca32193d9955
voucher=0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc
beta_ftb=0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9

intents=(
  sample3 "{\"owner\": \"$owner\", \"origin_chain\": \"alpha\", \"deadline\": 1790000000, \"nonce\": \"12345\",
    \"refund\": \"origin\", \"steps\": [
    {\"transfer\": {\"token\": \"$fta\", \"amount\": \"1000000000000000000\", \"to_chain\": \"beta\", \"timeout\": 600}},
    {\"call\": {\"chain\": \"beta\", \"target\": \"$pool\", \"data\": \"$swap_data\", \"token_in\": \"$voucher\",
               \"token_out\": \"$beta_ftb\", \"min_amount_out\": \"1\"}},
    {\"transfer\": {\"token\": \"$beta_ftb\", \"amount\": \"all\", \"to_chain\": \"gamma\", \"recipient\": \"$recipient\",
                   \"timeout\": 900}}]}"
  call_first "{\"owner\": \"$owner\", \"origin_chain\": 31337, \"deadline\": 1785000000, \"nonce\": \"7\",
    \"refund\": \"origin\", \"steps\": [
    {\"call\": {\"chain\": \"alpha\", \"target\": \"$pool\", \"data\": \"$swap_a\", \"token_in\": \"$fta\",
               \"token_out\": \"$ftb\", \"min_amount_out\": \"1\", \"amount_in\": \"1000\"}},
    {\"transfer\": {\"token\": \"$ftb\", \"amount\": \"all\", \"to_chain\": \"beta\", \"recipient\": \"$recipient\",
                   \"timeout\": 3600}}]}"
  recovery "{\"owner\": \"$owner\", \"origin_chain\": \"alpha\", \"deadline\": 1780086400, \"nonce\": \"99\",
    \"refund\": {\"recovery\": \"$recovery\"}, \"steps\": [
    {\"transfer\": {\"token\": \"$fta\", \"amount\": \"5\", \"to_chain\": \"beta\", \"timeout\": 300}},
    {\"transfer\": {\"token\": \"$voucher\", \"amount\": \"all\", \"to_chain\": \"gamma\", \"timeout\": 400}},
    {\"transfer\": {\"token\": \"$voucher\", \"amount\": \"all\", \"to_chain\": \"gamma\", \"recipient\": \"$recipient\"}}]}"
  max_nonce "{\"owner\": \"$owner\", \"origin_chain\": \"alpha\", \"deadline\": 4102444800,
    \"nonce\": \"115792089237316195423570985008687907853269984665640564039457584007913129639935\",
    \"refund\": \"origin\", \"steps\": [
    {\"transfer\": {\"token\": \"$fta\", \"amount\": \"1\", \"to_chain\": \"alpha\", \"recipient\": \"$recipient\"}}]}"
)

# The on-chain tuple in cast's argument syntax, from the dApp JSON (the mapping of docs/protocol.md).
tuple_of() {
  jq -r '
    def cid: if type == "number" then . else {"alpha": 31337, "beta": 31338, "gamma": 31339}[.] end;
    def Z: "0x0000000000000000000000000000000000000000";
    def ALL: "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    . as $it | ($it.steps | length) as $n |
    [foreach range(0; $n) as $i ({cur: ($it.origin_chain | cid)};
       $it.steps[$i] as $s |
       if $s.transfer then
         $s.transfer as $t |
         .step = [0, .cur, $t.token, (if $i == 0 then $t.amount else ALL end), ($t.to_chain | cid),
                  ($t.recipient // Z), Z, "0x", Z, "0", ($t.timeout // 0)] | .cur = ($t.to_chain | cid)
       else
         $s.call as $c |
         .step = [1, ($c.chain | cid), $c.token_in, ($c.amount_in // ALL), 0, Z, $c.target, $c.data, $c.token_out,
                  $c.min_amount_out, 0]
       end;
       "(" + (.step | map(tostring) | join(",")) + ")")] as $steps |
    "(" + ([$it.owner, ($it.origin_chain | cid), $it.nonce, $it.deadline,
            (if $it.refund == "origin" then 0 else 1 end), (if $it.refund == "origin" then Z else $it.refund.recovery end)]
           | map(tostring) | join(",")) + ",[" + ($steps | join(",")) + "])"'
}

lower() { tr 'A-F' 'a-f'; }

{
  printf '{"generator": "IntentRouter on anvil + cast (scripts/vectors/intent.sh)", "now": %s,\n' $now
  printf ' "chains": [{"name": "alpha", "chain_id": 31337, "router": "%s"}, {"name": "beta", "chain_id": 31338, "router": "%s"}, {"name": "gamma", "chain_id": 31339, "router": "%s"}],\n' \
    "$router" "$router" "$router"
  echo ' "vectors": ['
  first=1
  for ((k = 0; k < ${#intents[@]}; k += 2)); do
    name=${intents[k]}
    echo "${intents[k + 1]}" | jq . >"$tmp/$name.json"
    tuple=$(tuple_of <"$tmp/$name.json")
    hash=$($cast call --rpc-url "$rpc" "$router" "hashIntent($intent_t)(bytes32)" "$tuple")
    id=$($cast call --rpc-url "$rpc" "$router" "intentId($intent_t)(bytes32)" "$tuple")
    ferry=$("$tmp/tool" "$router" $now "$tmp/$name.json") || die "$name: Ferry refused the intent"
    jq .typed_data <<<"$ferry" >"$tmp/$name.td.json"
    sig=$($cast wallet sign --private-key $owner_key --data --from-file "$tmp/$name.td.json")
    sig_id=$($cast wallet sign --private-key $owner_key --no-hash "$id")
    [ "$sig" = "$sig_id" ] || die "$name: cast's digest of Ferry's typed data is not the router's id $id"
    [ "$(jq -r .id <<<"$ferry")" = "$id" ] || die "$name: Ferry's id $(jq -r .id <<<"$ferry") != router's $id"
    [ "$(jq -r .hash_struct <<<"$ferry")" = "$hash" ] || die "$name: Ferry's hashStruct differs from the router's"
    open=$($cast calldata "open($intent_t,bytes)" "$tuple" "$sig")
    last=$(($(jq '.steps | length' "$tmp/$name.json") - 1))
    advance=$($cast calldata "advance($intent_t,uint256)" "$tuple" $last)
    refund=$($cast calldata "refund($intent_t)" "$tuple")
    cancel=$($cast calldata "cancel($intent_t)" "$tuple")
    # Really open it: validation, signature and the pull of step 0's amount all pass.
    status=$($cast send --rpc-url "$rpc" --private-key $deployer_key --json "$router" --data "$open" | jq -r .status)
    [ "$status" = "0x1" ] || die "$name: open reverted"
    state=$($cast call --rpc-url "$rpc" "$router" "intentState(bytes32)((uint8,uint16,bool,uint64,address,uint256))" "$id")
    [[ $state == "(1, 0,"* ]] || die "$name: intentState after open is $state, expected Holding at step 0"
    [ $first = 1 ] || echo ','
    first=0
    jq -n --arg name "$name" --slurpfile intent "$tmp/$name.json" --arg hash "$hash" --arg id "$id" \
      --slurpfile td "$tmp/$name.td.json" --arg sig "$sig" --arg owner "$owner" --arg open "$open" \
      --arg advance "$advance" --argjson last $last --arg refund "$refund" --arg cancel "$cancel" --arg tuple "$tuple" \
      '{name: $name, intent: $intent[0], tuple: $tuple, hash_struct: $hash, id: $id, owner: $owner,
        typed_data: $td[0], signature: $sig, open: $open, advance_step: $last, advance: $advance, refund: $refund, cancel: $cancel}' |
      sed 's/^/  /'
    echo "  $name: id $id (opened on anvil)" >&2
  done
  echo ' ]}'
} >"$tmp/out.json"
jq . "$tmp/out.json" >"$out"
echo "wrote $out"
