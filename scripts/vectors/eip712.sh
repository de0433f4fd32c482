#!/usr/bin/env bash
# EIP-712 vectors made by Foundry's cast. cast 1.7.1 has no command that prints a typed-data
# digest, so each document is signed with `cast wallet sign --data` under a known key: signing
# is deterministic (RFC 6979), so the test signs its own digest with the same key and must get
# the same 65 bytes. Malformed documents record cast's verdict; Ferry must reject each of them.
# Writes tests/vectors/eip712.json. Run through scripts/gen-vectors.sh.
set -euo pipefail
cast=${CAST:?}
out=tests/vectors/eip712.json
k0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
k1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d

# name|key|document
valid=(
# EIP-712's own example; its published hashes are checked too.
"mail|$k0|"'{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],"Person":[{"name":"name","type":"string"},{"name":"wallet","type":"address"}],"Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]},"primaryType":"Mail","domain":{"name":"Ether Mail","version":"1","chainId":1,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},"message":{"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},"to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},"contents":"Hello, Bob!"}}'
# The same mail with arrays of addresses and of structs.
"mail_arrays|$k1|"'{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],"Person":[{"name":"name","type":"string"},{"name":"wallets","type":"address[]"}],"Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person[]"},{"name":"contents","type":"string"}]},"primaryType":"Mail","domain":{"name":"Ether Mail","version":"1","chainId":1,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},"message":{"from":{"name":"Cow","wallets":["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826","0xDeaDbeefdEAdbeefdEadbEEFdeadbeEFdEaDbeeF"]},"to":[{"name":"Bob","wallets":["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB","0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57","0xB0B0b0b0b0b0B000000000000000000000000000"]},{"name":"Carol","wallets":[]}],"contents":"Hello, Bob!"}}'
# A multi-hop intent: nested structs, arrays of structs holding arrays, fixed and nested arrays, a salt.
"intent|$k0|"'{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"},{"name":"salt","type":"bytes32"}],"Intent":[{"name":"owner","type":"address"},{"name":"originChain","type":"uint64"},{"name":"nonce","type":"uint256"},{"name":"deadline","type":"uint64"},{"name":"steps","type":"Step[]"},{"name":"refund","type":"Refund"},{"name":"checkpoints","type":"uint32[2][]"},{"name":"tags","type":"bytes4[3]"}],"Step":[{"name":"kind","type":"uint8"},{"name":"transfer","type":"Transfer"},{"name":"call","type":"Call"}],"Transfer":[{"name":"token","type":"address"},{"name":"amount","type":"uint256"},{"name":"toChain","type":"uint64"},{"name":"recipient","type":"bytes32"}],"Call":[{"name":"target","type":"address"},{"name":"data","type":"bytes"},{"name":"minOut","type":"uint256"},{"name":"path","type":"address[]"}],"Refund":[{"name":"toOrigin","type":"bool"},{"name":"recovery","type":"address"}]},"primaryType":"Intent","domain":{"name":"Ferry IntentRouter","version":"1","chainId":31337,"verifyingContract":"0x5FbDB2315678afecb367f032d93F642f64180aa3","salt":"0x0101010101010101010101010101010101010101010101010101010101010101"},"message":{"owner":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","originChain":"31337","nonce":"0x2a","deadline":1900000000,"steps":[{"kind":0,"transfer":{"token":"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512","amount":"100000000000000000000","toChain":"31338","recipient":"0x0000000000000000000000005fbdb2315678afecb367f032d93f642f64180aa3"},"call":{"target":"0x0000000000000000000000000000000000000000","data":"0x","minOut":"0","path":[]}},{"kind":1,"transfer":{"token":"0x0000000000000000000000000000000000000000","amount":"115792089237316195423570985008687907853269984665640564039457584007913129639935","toChain":"0","recipient":"0x0000000000000000000000000000000000000000000000000000000000000000"},"call":{"target":"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0","data":"0x38ed1739000000000000000000000000000000000000000000000000000000000000002a","minOut":"99000000000000000000","path":["0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512","0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"]}}],"refund":{"toOrigin":true,"recovery":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},"checkpoints":[[1,2],[4294967295,0],[7,8]],"tags":["0xdeadbeef","0x00000000","0x01020304"]}}'
# Every atomic type at its edges; integers as numbers, decimal and hex strings; negative ints.
"atomics|$k1|"'{"types":{"EIP712Domain":[{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],"All":[{"name":"u8","type":"uint8"},{"name":"u16","type":"uint16"},{"name":"u64","type":"uint64"},{"name":"u128","type":"uint128"},{"name":"u256","type":"uint256"},{"name":"i8min","type":"int8"},{"name":"i8max","type":"int8"},{"name":"i64","type":"int64"},{"name":"i256min","type":"int256"},{"name":"i256neg1","type":"int256"},{"name":"i24","type":"int24"},{"name":"b1","type":"bytes1"},{"name":"b31","type":"bytes31"},{"name":"b32","type":"bytes32"},{"name":"empty","type":"bytes"},{"name":"blob","type":"bytes"},{"name":"s","type":"string"},{"name":"es","type":"string"},{"name":"yes","type":"bool"},{"name":"no","type":"bool"},{"name":"who","type":"address"}]},"primaryType":"All","domain":{"chainId":"0x7a69","verifyingContract":"0x0000000000000000000000000000000000000001"},"message":{"u8":255,"u16":"0xffff","u64":"18446744073709551615","u128":"0xffffffffffffffffffffffffffffffff","u256":"115792089237316195423570985008687907853269984665640564039457584007913129639935","i8min":-128,"i8max":"127","i64":"-9223372036854775808","i256min":"-57896044618658097711785492504343953926634992332820282019728792003956564819968","i256neg1":-1,"i24":"-0x10","b1":"0x7f","b31":"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f","b32":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","empty":"0x","blob":"0x'$(printf 'c3%.0s' $(seq 200))'","s":"héllo, wörld ✓ \"quoted\" \\\\ back","es":"","yes":true,"no":false,"who":"0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826"}}'
# Referenced types defined out of order, a type used twice, a nested array of structs, an empty domain.
"sorting|$k0|"'{"types":{"Zoo":[{"name":"b","type":"Bee"},{"name":"a","type":"Ant[][]"},{"name":"c","type":"Cat"}],"Cat":[{"name":"friend","type":"Bee"},{"name":"lives","type":"uint8"}],"Bee":[{"name":"buzz","type":"string"}],"Ant":[{"name":"legs","type":"uint8"}]},"primaryType":"Zoo","domain":{},"message":{"b":{"buzz":"bzz"},"a":[[{"legs":6}],[],[{"legs":5},{"legs":4}]],"c":{"friend":{"buzz":"hm"},"lives":9}}}'
# A domain with only name and chainId, no EIP712Domain in types (it is inferred), a struct with no members.
"inferred_domain|$k1|"'{"types":{"Ping":[{"name":"nothing","type":"Empty"},{"name":"at","type":"uint256"}],"Empty":[]},"primaryType":"Ping","domain":{"name":"ping","chainId":10},"message":{"nothing":{},"at":1}}'
)

# name|expected Ferry message fragment|document
invalid=(
"circular|circular reference|"'{"types":{"T":[{"name":"a","type":"T[]"}]},"primaryType":"T","domain":{},"message":{"a":[]}}'
"circular_indirect|circular reference|"'{"types":{"A":[{"name":"b","type":"B"}],"B":[{"name":"a","type":"A[]"}]},"primaryType":"A","domain":{},"message":{"b":{"a":[]}}}'
"uint8_overflow|message.v: value exceeds uint8|"'{"types":{"T":[{"name":"v","type":"uint8"}]},"primaryType":"T","domain":{},"message":{"v":256}}'
"uint256_overflow|message.steps[1].amount: value exceeds uint256|"'{"types":{"T":[{"name":"steps","type":"S[]"}],"S":[{"name":"amount","type":"uint256"}]},"primaryType":"T","domain":{},"message":{"steps":[{"amount":"1"},{"amount":"115792089237316195423570985008687907853269984665640564039457584007913129639936"}]}}'
"int8_underflow|message.v: value out of int8 range|"'{"types":{"T":[{"name":"v","type":"int8"}]},"primaryType":"T","domain":{},"message":{"v":"-129"}}'
"negative_uint|message.v: negative value for uint64|"'{"types":{"T":[{"name":"v","type":"uint64"}]},"primaryType":"T","domain":{},"message":{"v":-1}}'
"missing_field|message.to: missing|"'{"types":{"T":[{"name":"to","type":"address"}]},"primaryType":"T","domain":{},"message":{}}'
"unknown_type|types.T[0].type: unknown type \"Persn\"|"'{"types":{"T":[{"name":"p","type":"Persn"}]},"primaryType":"T","domain":{},"message":{"p":{}}}'
"alias_uint|alias|"'{"types":{"T":[{"name":"v","type":"uint"}]},"primaryType":"T","domain":{},"message":{"v":1}}'
"bad_width|not a valid type|"'{"types":{"T":[{"name":"v","type":"uint7"}]},"primaryType":"T","domain":{},"message":{"v":1}}'
"not_a_number|message.v: \"1e3\" is not a number|"'{"types":{"T":[{"name":"v","type":"uint256"}]},"primaryType":"T","domain":{},"message":{"v":"1e3"}}'
"fixed_array_length|message.v: expected 2 elements, got 3|"'{"types":{"T":[{"name":"v","type":"uint8[2]"}]},"primaryType":"T","domain":{},"message":{"v":[1,2,3]}}'
"bool_number|message.v: expected true or false|"'{"types":{"T":[{"name":"v","type":"bool"}]},"primaryType":"T","domain":{},"message":{"v":1}}'
"bad_bytes|message.v: odd number of hex digits|"'{"types":{"T":[{"name":"v","type":"bytes"}]},"primaryType":"T","domain":{},"message":{"v":"0xabc"}}'
"unknown_primary|primaryType: \"Nope\" is not defined|"'{"types":{"T":[]},"primaryType":"Nope","domain":{},"message":{}}'
"extra_field|message.extra: not a member of T|"'{"types":{"T":[{"name":"v","type":"uint8"}]},"primaryType":"T","domain":{},"message":{"v":1,"extra":2}}'
"bytes4_too_long|message.v: bytes4|"'{"types":{"T":[{"name":"v","type":"bytes4"}]},"primaryType":"T","domain":{},"message":{"v":"0x1234567890"}}'
"bytes32_short|message.v: bytes32|"'{"types":{"T":[{"name":"v","type":"bytes32"}]},"primaryType":"T","domain":{},"message":{"v":"0x12"}}'
"bad_checksum|message.v: address: bad EIP-55 checksum|"'{"types":{"T":[{"name":"v","type":"address"}]},"primaryType":"T","domain":{},"message":{"v":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827"}}'
"domain_unknown_key|domain.foo: not an EIP712Domain field|"'{"types":{"T":[]},"primaryType":"T","domain":{"name":"x","foo":1},"message":{}}'
"domain_type_mismatch|types.EIP712Domain: does not match|"'{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"chainId","type":"uint256"}],"T":[]},"primaryType":"T","domain":{"name":"x"},"message":{}}'
"domain_type_order|types.EIP712Domain: does not match|"'{"types":{"EIP712Domain":[{"name":"chainId","type":"uint256"},{"name":"name","type":"string"}],"T":[]},"primaryType":"T","domain":{"name":"x","chainId":1},"message":{}}'
"empty_number|message.v: \"\" is not a number|"'{"types":{"T":[{"name":"v","type":"uint256"}]},"primaryType":"T","domain":{},"message":{"v":""}}'
"underscore_number|is not a number|"'{"types":{"T":[{"name":"v","type":"uint256"}]},"primaryType":"T","domain":{},"message":{"v":"1_000"}}'
)

{
  echo '{"generator": "cast wallet sign --data (scripts/vectors/eip712.sh)",'
  echo ' "valid": ['
  first=1
  for c in "${valid[@]}"; do
    IFS='|' read -r name key doc <<<"$c"
    sig=$($cast wallet sign --private-key "$key" --data "$doc")
    [ $first = 1 ] || echo ','
    first=0
    jq -cn --arg name "$name" --arg key "$key" --argjson doc "$doc" --arg sig "$sig" \
      '{name: $name, key: $key, signature: $sig, typed_data: $doc}' | sed 's/^/  /' | tr -d '\n'
  done
  echo
  echo ' ],'
  echo ' "published": {"name": "mail", "source": "EIP-712 example (eips.ethereum.org/EIPS/eip-712, assets/eip-712/Example.js)",'
  echo '   "domain_separator": "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f",'
  echo '   "message_hash": "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e",'
  echo '   "mail_type_hash": "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2",'
  echo '   "digest": "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"},'
  echo ' "invalid": ['
  first=1
  for c in "${invalid[@]}"; do
    IFS='|' read -r name expect doc <<<"$c"
    if verdict=$($cast wallet sign --private-key "$k0" --data "$doc" 2>&1); then
      verdict="cast accepts it (Ferry is stricter)"
    else
      verdict="cast rejects it: $(printf '%s' "$verdict" | tr '\n' ' ' | sed 's/  */ /g')"
    fi
    [ $first = 1 ] || echo ','
    first=0
    jq -cn --arg name "$name" --arg expect "$expect" --arg cast "$verdict" --argjson doc "$doc" \
      '{name: $name, expect: $expect, cast: $cast, typed_data: $doc}' | sed 's/^/  /' | tr -d '\n'
  done
  echo
  echo ' ]}'
} >"$out"
echo "wrote $out"
