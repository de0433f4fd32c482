#!/usr/bin/env bash
# Solidity ABI vectors made by Foundry's cast: encodings (cast abi-encode) with the values cast
# decodes back (cast abi-decode), calldata (cast calldata), selectors (cast sig), event topics
# (cast sig-event) and event logs built from cast's encodings and hashes.
# Writes tests/vectors/abi.json. Run through scripts/gen-vectors.sh (which sets $CAST).
#
# JSON layout (read by tests/unit/test_abi.c):
#   encode[]:    {types: "(T1,...)", args: [cast argument text...], encoded: "0x..",
#                 decoded: [one line of `cast abi-decode` per value, " [1e18]" annotations removed]}
#   calldata[]:  {sig, args, calldata}
#   selectors[]: {sig, selector}
#   events[]:    {sig, topic0, topics: ["0x.."], data: "0x..", args: [value text, or the topic for an
#                 indexed string/bytes], hashed: [bool per parameter]}
set -euo pipefail
cast=${CAST:?}
out=tests/vectors/abi.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# json_array ARG...: a JSON array of the arguments as strings (jq takes care of the quoting).
json_array() {
  local a='[]' x
  for x in "$@"; do a=$(jq -c --arg x "$x" '. + [$x]' <<<"$a"); done
  echo "$a"
}

# enc "T1,T2,..." ARG...: one encode vector.
enc() {
  local types=$1 encoded decoded
  shift
  encoded=$($cast abi-encode "f($types)" "$@")
  decoded=
  if [ -n "$types" ]; then
    decoded=$($cast abi-decode "f()($types)" "$encoded" | sed -E 's/ \[-?[0-9](\.[0-9]+)?e-?[0-9]+\]//g')
  fi
  jq -nc --arg t "($types)" --argjson args "$(json_array "$@")" --arg e "$encoded" --arg d "$decoded" \
    '{types: $t, args: $args, encoded: $e, decoded: (if $d == "" then [] else ($d | split("\n")) end)}' \
    >>"$tmp/encode"
}

# calldata SIG ARG...
calldata() {
  local sig=$1
  shift
  jq -nc --arg s "$sig" --argjson args "$(json_array "$@")" --arg c "$($cast calldata "$sig" "$@")" \
    '{sig: $s, args: $args, calldata: $c}' >>"$tmp/calldata"
}

selector() {
  jq -nc --arg s "$1" --arg h "$($cast sig "$1")" '{sig: $s, selector: $h}' >>"$tmp/selectors"
}

# word TYPE VALUE: the 32-byte topic of an indexed static value.
word() { $cast abi-encode "f($1)" "$2"; }

# event SIG TOPICS_JSON DATA ARGS_JSON HASHED_JSON [anonymous]
event() {
  local topic0
  topic0=$($cast sig-event "${1% anonymous}")
  jq -nc --arg s "$1" --arg t0 "$topic0" --argjson topics "$2" --arg d "$3" --argjson args "$4" \
    --argjson hashed "$5" --arg anon "${6:-}" \
    '{sig: $s, topic0: $t0, topics: ((if $anon == "" then [$t0] else [] end) + $topics), data: $d,
      args: $args, hashed: $hashed}' >>"$tmp/events"
}

addr1=0x000000000000000000000000000000000000dEaD
addr2=0x5B38Da6a701c568545dCfcB03FcB875f56beddC4
addr3=0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2
h32=0x1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8
recv=0x000000000000000000000000$(tr A-F a-f <<<"${addr3:2}") # an address as bytes32

# Every listed family at once (the issue's example signature).
enc "uint8,int16,address,bool,bytes3,bytes,string,uint256[],(uint64,bytes)[2]" \
  200 -300 $addr2 true 0xa1b2c3 0xdeadbeef "hello, world" '[1,2,3]' '[(7,0x01),(18446744073709551615,0x)]'

# Boundaries.
enc "uint256,int256,int256,uint8,int8,int8,uint64,int64,int64,uint256,int256" \
  "$($cast max-uint uint256)" "$($cast min-int int256)" "$($cast max-int int256)" 255 -128 127 \
  18446744073709551615 -9223372036854775808 9223372036854775807 0 -1

# Every width: unsigned maxima (as hex, which cast and Ferry both accept), signed minima and maxima.
types= umax=() imin=() imax=() small=()
for ((n = 8; n <= 256; n += 8)); do
  types+=${types:+,}uint$n
  hex=0x
  for ((i = 0; i < n / 4; i++)); do hex+=f; done
  umax+=("$hex")
  imin+=("$($cast min-int int$n)")
  imax+=("$($cast max-int int$n)")
  small+=($((n % 3 == 0 ? -n : n)))
done
enc "$types" "${umax[@]}"
enc "${types//uint/int}" "${imin[@]}"
enc "${types//uint/int}" "${imax[@]}"
enc "${types//uint/int}" "${small[@]}"

# Every bytesN, byte i of bytesN being (N + i) mod 256.
types= vals=()
for ((n = 1; n <= 32; n++)); do
  types+=${types:+,}bytes$n
  v=0x
  for ((i = 0; i < n; i++)); do v+=$(printf '%02x' $(((n * 7 + i) % 256))); done
  vals+=("$v")
done
enc "$types" "${vals[@]}"

# Empty values.
enc "bytes,string,uint256[],string[],(uint8,bytes)[],bool" 0x "" '[]' '[]' '[]' false
enc ""
# Byte strings around the 32-byte word.
b31=0x$(printf '%062x' 0 | tr 0 a) b32=0x$(printf '%064x' 0 | tr 0 b) b33=0x$(printf '%066x' 0 | tr 0 c)
enc "bytes,bytes,bytes,bytes,string" "$b31" "$b32" "$b33" 0x00 "exactly thirty-two bytes long!!!"
# Strings: escapes cast prints, UTF-8, quotes inside a top-level string.
enc "string,string,string[]" $'tab\there\nnl\\ "q" \x01 \x7f end' 'héllo wörld ✓' '["a,b","",")]"]'
# Nested tuples with dynamic members.
enc "((uint8,string),(bytes,(bool,string[]))[],uint16)" \
  '((1,"one"),[(0x0102,(true,["x","yy"])),(0x,(false,[]))],65535)'
enc "(uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)" \
  "(1,31337,42,$h32,$recv,1700000000,0xcafebabe)"
# Fixed arrays of dynamic and of static types, nested arrays.
enc "string[3],bytes[2][2],uint8[2][3],uint16[][]" '["a","bb","ccc"]' '[[0x01,0x0203],[0x,0x04]]' \
  '[[1,2],[3,4],[5,6]]' '[[1],[],[2,3,4]]'
enc "address,address[],bool[]" $addr1 "[$addr2,$addr3]" '[true,false,true]'
enc "int8[],int256[2],(int32,uint32)[]" '[-128,127,0,-1]' '[-5,5]' '[(-2147483648,4294967295),(0,0)]'
enc "uint8[][][]" '[[[1,2],[]],[],[[3]]]'

# Calldata.
calldata "transfer(address,uint256)" $addr2 1000000000000000000
calldata "approve(address,uint256)" $addr3 "$($cast max-uint uint256)"
calldata "ping()"
calldata "deliver((uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)[],bytes[])" \
  "[(1,2,3,$h32,$h32,1700000000,0x01020304),(1,2,4,$h32,$h32,1700000001,0x)]" '[0xaabb,0xccdd]'

# Selectors, some from non-canonical text.
for s in "transfer(address,uint256)" "transfer(address to, uint256 amount)" "f(uint)" "g(int,uint[])" \
  "balanceOf(address)" "send(uint64,bytes32,uint64,bytes)" "h((uint64,bytes)[2],string)" \
  "nested(((uint8,string)[],bool)[3])" "noArgs()"; do
  selector "$s"
done

# Events.
event "Transfer(address indexed from, address indexed to, uint256 value)" \
  "[\"$(word address $addr1)\", \"$(word address $addr2)\"]" "$($cast abi-encode "f(uint256)" 123456789)" \
  "[\"$addr1\", \"$addr2\", \"123456789\"]" '[false, false, false]'
payload=0x
for ((i = 0; i < 200; i++)); do payload+=$(printf '%02x' $(((i * 13 + 5) % 256))); done
event "PacketSent(uint64 indexed dstChain, uint64 indexed sequence, bytes32 indexed sender, uint64 srcChain, bytes32 receiver, uint64 timeoutTimestamp, bytes payload)" \
  "[\"$(word uint64 31337)\", \"$(word uint64 42)\", \"$(word bytes32 $h32)\"]" \
  "$($cast abi-encode "f(uint64,bytes32,uint64,bytes)" 1 $recv 1700000000 $payload)" \
  "[\"31337\", \"42\", \"$h32\", \"1\", \"$recv\", \"1700000000\", \"$payload\"]" \
  '[false, false, false, false, false, false, false]'
event "Named(string indexed name, bytes indexed blob, (uint256,string)[] items, int32 delta)" \
  "[\"$($cast keccak "alice")\", \"$($cast keccak 0xdeadbeef)\"]" \
  "$($cast abi-encode "f((uint256,string)[],int32)" '[(1,"x"),(2,"yz")]' -7)" \
  "[\"$($cast keccak "alice")\", \"$($cast keccak 0xdeadbeef)\", \"[(1, \\\"x\\\"), (2, \\\"yz\\\")]\", \"-7\"]" \
  '[true, true, false, false]'
event "Delta(int64 indexed d, bool indexed flag, int256 x)" \
  "[\"$(word int64 -5)\", \"$(word bool true)\"]" "$($cast abi-encode "f(int256)" -1)" \
  '["-5", "true", "-1"]' '[false, false, false]'
event "Ping()" '[]' 0x '[]' '[]'
event "Anon(uint256 indexed a, bool indexed b, address indexed c, bytes32 indexed d, string note) anonymous" \
  "[\"$(word uint256 7)\", \"$(word bool false)\", \"$(word address $addr3)\", \"$(word bytes32 $h32)\"]" \
  "$($cast abi-encode "f(string)" "anonymous note")" \
  "[\"7\", \"false\", \"$addr3\", \"$h32\", \"\\\"anonymous note\\\"\"]" '[false, false, false, false, false]' anonymous

for f in encode calldata selectors events; do touch "$tmp/$f"; done
jq -n --slurpfile enc "$tmp/encode" --slurpfile cd "$tmp/calldata" --slurpfile sel "$tmp/selectors" \
  --slurpfile ev "$tmp/events" \
  '{generator: "cast abi-encode / abi-decode / calldata / sig / sig-event / keccak (scripts/vectors/abi.sh)",
    encode: $enc, calldata: $cd, selectors: $sel, events: $ev}' >"$out"
echo "wrote $out"
