#!/usr/bin/env bash
# RLP vectors made by Foundry's cast: `cast to-rlp` encodes each value, `cast from-rlp` decodes the
# result back; malformed encodings record cast's verdict (Ferry must reject every one of them).
# Writes tests/vectors/rlp.json. Run through scripts/gen-vectors.sh.
set -euo pipefail
cast=${CAST:?}
out=tests/vectors/rlp.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# bytes N [SEED]: 0x + N bytes where byte i is (13*i + SEED) mod 256 (position matters).
bytes() {
  awk -v n="$1" -v seed="${2:-1}" 'BEGIN { printf "0x"; for (i = 0; i < n; i++) printf "%02x", (13 * i + seed) % 256 }'
}
# list_of N ITEM: a JSON list of N copies of ITEM.
list_of() {
  local n=$1 item=$2 s='[' i
  for ((i = 0; i < n; i++)); do s+=$([ $i = 0 ] || printf ','); s+=$item; done
  printf '%s]' "$s"
}
nest() { # nest N ITEM: ITEM wrapped in N lists
  local n=$1 s=$2 i
  for ((i = 0; i < n; i++)); do s="[$s]"; done
  printf '%s' "$s"
}

values=(
  '"0x"' '"0x00"' '"0x01"' '"0x7f"' '"0x80"' '"0x81"' '"0xff"' '"0x0400"' '"0xffffffffffffffff"'
  "\"$(bytes 2)\"" "\"$(bytes 55)\"" "\"$(bytes 56)\"" "\"$(bytes 57)\"" "\"$(bytes 255)\""
  "\"$(bytes 256)\"" "\"$(bytes 1024 7)\"" "\"$(bytes 65536 3)\""
  '[]' '[[]]' '[[],[[]],[[],[[]]]]' '["0x",["0x01",[]],[[[]]]]'
  "[\"$(bytes 54)\"]" "[\"$(bytes 55)\"]" "[\"$(bytes 53)\", \"0x01\"]"
  "$(list_of 300 '"0x2a"')" "$(list_of 20 "[\"$(bytes 20)\",\"0x\"]")"
  "$(nest 16 '"0x7f"')" "[\"0x00\",\"0x7f\",\"0x80\",\"0x\",[],\"$(bytes 32)\"]"
)

# Malformed encodings (hex) and why they are malformed.
bad=(
  '0x8100:single byte below 0x80 wrapped as a string'
  '0x817f:single byte below 0x80 wrapped as a string'
  "0xb837$(bytes 55 | cut -c3-):long form for a 55-byte string"
  "0xb90038$(bytes 56 | cut -c3-):leading zero in a length"
  "0xf837$(printf '01%.0s' $(seq 55)):long form for a 55-byte list"
  '0x83010203ff:bytes after the top item'
  '0xc0c0:bytes after the top item'
  '0x830102:string runs past the end of the input'
  '0xc3830102:string runs past the end of its list'
  '0xc4c2830102:string runs past the end of the inner list'
  '0xb8:length bytes missing'
  '0xf90100:list length runs past the end of the input'
  '0x:empty input'
  '0xc2c2c0:list runs past the end of its list'
  '0xbf0000000000000001:leading zero in a length'
  '0xb80100:long form for a 1-byte string'
)

{
  echo '{"generator": "cast to-rlp / cast from-rlp (scripts/vectors/rlp.sh)",'
  echo ' "valid": ['
  first=1
  for v in "${values[@]}"; do
    # Through stdin: the longest values exceed the kernel's limit on one argument.
    enc=$(printf '%s' "$v" | $cast to-rlp)
    dec=$(printf '%s' "$enc" | $cast from-rlp)
    # cast must give back what it was given; the decoded form is stored for the short ones only.
    printf '%s' "$v" >"$tmp/a"
    printf '%s' "$dec" >"$tmp/b"
    jq -es '.[0] == .[1]' "$tmp/a" "$tmp/b" >/dev/null || { echo "round trip failed for ${v:0:60}" >&2; exit 1; }
    [ ${#dec} -le 4096 ] || dec=null
    [ $first = 1 ] || echo ','
    first=0
    printf '  {"value": %s, "rlp": "%s", "decoded": %s}' "$v" "$enc" "$dec"
  done
  echo
  echo ' ],'
  echo ' "invalid": ['
  first=1
  for b in "${bad[@]}"; do
    hex=${b%%:*} why=${b#*:}
    if verdict=$($cast from-rlp "$hex" 2>&1); then
      verdict="cast accepts it: $verdict"
    else
      verdict="cast rejects it: $verdict"
    fi
    [ $first = 1 ] || echo ','
    first=0
    printf '  '
    jq -cn --arg rlp "$hex" --arg why "$why" --arg cast "$(printf '%s' "$verdict" | tr '\n' ' ' | sed 's/  */ /g')" \
      '{rlp: $rlp, why: $why, cast: $cast}' | tr -d '\n'
  done
  echo
  echo ' ]}'
} >"$out"
echo "wrote $out"
