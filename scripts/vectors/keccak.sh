#!/usr/bin/env bash
# Keccak-256 vectors made by Foundry's cast: inputs of every length around the 136-byte rate.
# Writes tests/vectors/keccak.json. Run through scripts/gen-vectors.sh.
set -euo pipefail
cast=${CAST:?}
out=tests/vectors/keccak.json
{
  echo '{"generator": "cast keccak (scripts/vectors/keccak.sh)", "vectors": ['
  first=1
  for len in 0 1 2 31 32 33 64 135 136 137 200 271 272 273 1000; do
    # Byte i is (7*i + 3) mod 256, so that the position of every byte matters.
    input=0x
    for ((i = 0; i < len; i++)); do input+=$(printf '%02x' $(((7 * i + 3) % 256))); done
    digest=$($cast keccak "$input")
    [ $first = 1 ] || echo ','
    first=0
    printf '  {"input": "%s", "digest": "%s"}' "$input" "$digest"
  done
  echo
  echo ']}'
} >"$out"
echo "wrote $out"
