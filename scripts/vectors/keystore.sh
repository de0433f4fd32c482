#!/usr/bin/env bash
# Keystore decryption vectors, all checked by Foundry's cast:
#   tests/vectors/keystore.json       keystores cast wrote (`cast wallet new`, `cast wallet import`),
#                                     with the password, the key cast decrypts and the address cast derives.
#   tests/vectors/keystore_spec.json  the published Web3 Secret Storage v3 test vectors (the scrypt and the
#                                     pbkdf2 example, password "testpassword") and geth's 31- and 30-byte-key
#                                     vectors (accounts/keystore/testdata/v3_test_vector.json), with the
#                                     published key (cast must decrypt to it where it accepts the file: its
#                                     scrypt refuses the spec's r=1, n=2^18) and the address cast derives.
#   tests/vectors/keystore_sign.json  signatures cast makes (`cast wallet sign --no-hash`, RFC 6979) with the
#                                     keys of keystore.json over fixed digests: the signer must match them.
# Run through scripts/gen-vectors.sh. Needs jq.
set -euo pipefail
cast=${CAST:?}
command -v jq >/dev/null || { echo "keystore.sh: needs jq" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# vector SOURCE NAME PASSWORD: one JSON object for the keystore $tmp/NAME, decrypted and addressed by cast.
vector() {
  local source=$1 name=$2 password=$3 secret address
  secret=$($cast wallet decrypt-keystore -k "$tmp" "$name" --unsafe-password "$password" | sed -n 's/.*private key is: //p')
  address=$($cast wallet address --keystore "$tmp/$name" --password "$password")
  [ -n "$secret" ] && [ -n "$address" ] || { echo "keystore.sh: cast could not open $name" >&2; exit 1; }
  jq -n --arg source "$source" --arg password "$password" --arg secret "$secret" --arg address "$address" \
    --rawfile keystore "$tmp/$name" \
    '{source: $source, password: $password, secret: $secret, address: $address, keystore: $keystore}'
}

# Passwords that exercise the password bytes: empty, non-ASCII UTF-8, JSON-special characters, long.
long=$(printf 'correct horse battery staple %.0s' {1..10})
passwords=("testpassword" "" "pässwörd ✓ 🔑" "a \"quoted\" pass\\word, with spaces" "$long")
vectors=()
i=0
for pw in "${passwords[@]}"; do
  $cast wallet new "$tmp" "new$i" --unsafe-password "$pw" >/dev/null
  vectors+=("$(vector "cast wallet new" "new$i" "$pw")")
  i=$((i + 1))
done
# Known keys: the smallest, the largest valid (n-1), one with a leading zero byte, anvil's first dev key.
keys=(0x0000000000000000000000000000000000000000000000000000000000000001
      0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140
      0x00c5a1f0d5d2f7e7b6c7e9e44e3e1a2b5f6f3f1d9e2b0a4c6d8e0f2a4b6c8d0e
      0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80)
i=0
for k in "${keys[@]}"; do
  $cast wallet import "imp$i" -k "$tmp" --private-key "$k" --unsafe-password "import$i" >/dev/null
  v=$(vector "cast wallet import" "imp$i" "import$i")
  [ "$(jq -r .secret <<<"$v")" = "$k" ] || { echo "keystore.sh: cast decrypted imp$i to another key" >&2; exit 1; }
  vectors+=("$v")
  i=$((i + 1))
done
printf '%s\n' "${vectors[@]}" |
  jq -s '{generator: "cast wallet new/import, decrypt-keystore, address (scripts/vectors/keystore.sh)", vectors: .}' \
    >tests/vectors/keystore.json
echo "wrote tests/vectors/keystore.json"

# Signatures: every key above over three digests (keccak of "ferry sign N"), v as cast writes it (27/28).
jq -r '.vectors[].secret' tests/vectors/keystore.json | {
  sigs=()
  while read -r k; do
    for n in 0 1 2; do
      d=$($cast keccak "ferry sign $n")
      sig=$($cast wallet sign --no-hash --private-key "$k" "$d")
      a=$($cast wallet address --private-key "$k")
      sigs+=("$(jq -n --arg secret "$k" --arg digest "$d" --arg sig "$sig" --arg address "$a" \
        '{secret: $secret, digest: $digest, signature: $sig, address: $address}')")
    done
  done
  printf '%s\n' "${sigs[@]}" |
    jq -s '{generator: "cast wallet sign --no-hash (scripts/vectors/keystore.sh)", vectors: .}' \
      >tests/vectors/keystore_sign.json
}
echo "wrote tests/vectors/keystore_sign.json"

# The published vectors, verbatim from the specification (and geth's test data for the short keys).
cat >"$tmp/spec_scrypt" <<'EOF'
{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"83dbcc02d8ccb40e466191a123791e0e"},"ciphertext":"d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c","kdf":"scrypt","kdfparams":{"dklen":32,"n":262144,"r":1,"p":8,"salt":"ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},"mac":"2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}
EOF
cat >"$tmp/spec_pbkdf2" <<'EOF'
{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"6087dab2f9fdbbfaddc31a909735c1e6"},"ciphertext":"5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46","kdf":"pbkdf2","kdfparams":{"c":262144,"dklen":32,"prf":"hmac-sha256","salt":"ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},"mac":"517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}
EOF
cat >"$tmp/geth_31_byte_key" <<'EOF'
{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"e0c41130a323adc1446fc82f724bca2f"},"ciphertext":"9517cd5bdbe69076f9bf5057248c6c050141e970efa36ce53692d5d59a3984","kdf":"scrypt","kdfparams":{"dklen":32,"n":2,"r":8,"p":1,"salt":"711f816911c92d649fb4c84b047915679933555030b3552c1212609b38208c63"},"mac":"d5e116151c6aa71470e67a7d42c9620c75c4d23229847dcc127794f0732b0db5"},"id":"fecfc4ce-e956-48fd-953b-30f8b52ed66c","version":3}
EOF
cat >"$tmp/geth_30_byte_key" <<'EOF'
{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"3ca92af36ad7c2cd92454c59cea5ef00"},"ciphertext":"108b7d34f3442fc26ab1ab90ca91476ba6bfa8c00975a49ef9051dc675aa","kdf":"scrypt","kdfparams":{"dklen":32,"n":2,"r":8,"p":1,"salt":"d0769e608fb86cda848065642a9c6fa046845c928175662b8e356c77f914cd3b"},"mac":"75d0e6759f7b3cefa319c3be41680ab6beea7d8328653474bd06706d4cc67420"},"id":"a37e1559-5955-450d-8075-7b8931b392b2","version":3}
EOF
# published NAME PASSWORD KEY: the published key, left-padded to 32 bytes as geth reads short keys;
# cast must decrypt the file to that key where it can, and derives the address.
published() {
  local name=$1 password=$2 secret got address note
  secret=0x$(printf '%64s' "$3" | tr ' ' 0)
  if got=$($cast wallet decrypt-keystore -k "$tmp" "$name" --unsafe-password "$password" 2>"$tmp/err" |
      sed -n 's/.*private key is: //p') && [ -n "$got" ]; then
    [ "$got" = "$secret" ] || { echo "keystore.sh: cast decrypts $name to another key" >&2; exit 1; }
    note="cast decrypts it to the published key"
  else
    note="cast refuses it ($(tr '\n' ' ' <"$tmp/err" | sed 's/ *$//')); key as published"
  fi
  address=$($cast wallet address --private-key "$secret")
  jq -n --arg source "$name: $note; address by cast" --arg password "$password" --arg secret "$secret" \
    --arg address "$address" --rawfile keystore "$tmp/$name" \
    '{source: $source, password: $password, secret: $secret, address: $address, keystore: $keystore}'
}
spec=()
spec+=("$(published spec_scrypt testpassword 7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d)")
spec+=("$(published spec_pbkdf2 testpassword 7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d)")
spec+=("$(published geth_31_byte_key foo fa7b3db73dc7dfdf8c5fbdb796d741e4488628c41fc4febd9160a866ba0f35)")
spec+=("$(published geth_30_byte_key foo 81c29e8142bb6a81bef5a92bda7a8328a5c85bb2f9542e76f9b0f94fc018)")
printf '%s\n' "${spec[@]}" |
  jq -s '{generator: "published Web3 Secret Storage and geth vectors, checked against cast (scripts/vectors/keystore.sh)", vectors: .}' \
    >tests/vectors/keystore_spec.json
echo "wrote tests/vectors/keystore_spec.json"
