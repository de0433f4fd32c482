#!/usr/bin/env bash
# End-to-end test of `ferry keys` against real Foundry cast: keys cast makes import into Ferry with the
# same address, keys Ferry makes open in cast, and bad input (wrong password, hostile KDF parameters,
# no password source, a --password option) fails clearly and changes nothing. Secrets never show.
# Prints TAP lines; scripts/run-tests.sh counts them. Needs no network and no anvil.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
ferry=$root/${FERRY_BUILD:-build}/ferry
cast=$root/scripts/toolchain/node_modules/.bin/cast
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset FERRY_PASSWORD FERRY_KEYSTORE_DIR
export FERRY_KEYSTORE_DIR=$tmp/keys # every ferry call below uses this directory unless told otherwise

. tests/e2e/lib.sh # ok/notok/check/quiet/finish, port_free, wait_for
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.

if [ ! -x "$ferry" ] || [ ! -x "$cast" ]; then
  echo "not ok 1 - ferry ($ferry) and cast ($cast) must be built/installed"
  exit 1
fi

# Every ferry invocation goes through here: its stdout and stderr are kept (out/err, and all.log for
# the final "no secret anywhere" check); the exit status is in $rc.
out=$tmp/out err=$tmp/err
fr() {
  "$ferry" "$@" >"$out" 2>"$err"
  rc=$?
  { cat "$out" "$err"; } >>"$tmp/all.log"
}
field() { sed -n "s/^$1: *//p" "$out"; }
# fails_with STATUS TEXT: the last ferry call exited with STATUS and said TEXT on stderr.
fails_with() { [ "$rc" -eq "$1" ] && grep -qF -- "$2" "$err"; }
secret_of() { # secret_of DIR NAME PASSWORD: the key cast decrypts, without 0x
  "$cast" wallet decrypt-keystore -k "$1" "$2" --unsafe-password "$3" | sed -n 's/.*private key is: 0x//p'
}
listing() { ls -A "$tmp/keys" 2>/dev/null | tr '\n' ' '; }

fr version
check "ferry version prints its version" grep -qE '^ferry [0-9]+\.[0-9]+\.[0-9]+$' "$out"

# 1. A key made by `cast wallet new` imports unchanged and shows the same address.
mkdir -p "$tmp/cast"
pw1='cast pw: "spaces" & ünïcode'
"$cast" wallet new "$tmp/cast" --unsafe-password "$pw1" >"$tmp/castnew.txt" 2>&1
castaddr=$(sed -n 's/^Address: *//p' "$tmp/castnew.txt")
castfile=$(sed -n 's/^Created new encrypted keystore file: //p' "$tmp/castnew.txt")
check "cast wallet new made a keystore" test -n "$castaddr" -a -f "$castfile"
secrets=("$(secret_of "$tmp/cast" "$(basename "$castfile")" "$pw1")")

FERRY_PASSWORD=$pw1 fr keys import "$castfile" relayer
check "ferry keys import of the cast keystore succeeds" test "$rc" -eq 0
check "import prints the address cast printed" test "$(field address)" = "$castaddr"
FERRY_PASSWORD=$pw1 fr keys show relayer
check "ferry keys show prints the address cast printed" test "$rc" -eq 0 -a "$(field address)" = "$castaddr"
check "show names the KDF cast used" grep -q '^kdf: *scrypt (n=8192, r=8, p=1)' "$out"
check "the stored key still opens in cast at the same address" \
  test "$("$cast" wallet address --keystore "$tmp/keys/relayer" --password "$pw1")" = "$castaddr"
check "the stored file keeps cast's crypto section unchanged" \
  test "$(jq -cS .crypto "$castfile")" = "$(jq -cS .crypto "$tmp/keys/relayer")"
check "the stored file is mode 600 in a mode 700 directory" \
  test "$(stat -c %a "$tmp/keys/relayer")" = 600 -a "$(stat -c %a "$tmp/keys")" = 700

# Without a name the key is stored under its checksummed address; a second import of it is refused.
FERRY_PASSWORD=$pw1 fr keys import "$castfile"
check "import without a name stores the key under its address" test "$rc" -eq 0 -a -f "$tmp/keys/$castaddr"
before=$(listing)
FERRY_PASSWORD=$pw1 fr keys import "$castfile"
check "importing over an existing name is refused" fails_with 1 'already exists'
check "... and changes nothing" test "$(listing)" = "$before"

# 2. A key made by ferry opens in cast with the same address (fast scrypt, then the geth standard).
printf 'ferry pw 2\nsecond line ignored\n' >"$tmp/pwfile"
fr keys new alice --scrypt-n 1024 --password-file "$tmp/pwfile"
alice=$(field address)
check "ferry keys new makes a key" test "$rc" -eq 0 -a -n "$alice" -a -f "$tmp/keys/alice"
check "cast wallet address opens ferry's keystore at the same address" \
  test "$("$cast" wallet address --keystore "$tmp/keys/alice" --password 'ferry pw 2')" = "$alice"
check "cast wallet decrypt-keystore -k DIR NAME opens it too" \
  test -n "$(secret_of "$tmp/keys" alice 'ferry pw 2')"
secrets+=("$(secret_of "$tmp/keys" alice 'ferry pw 2')")
check "ferry's file has scrypt n=1024" test "$(jq .crypto.kdfparams.n "$tmp/keys/alice")" = 1024
printf 'ferry pw 3\r\n' >"$tmp/pwfile-crlf"
fr keys new standard --password-file "$tmp/pwfile-crlf"
std=$(field address)
check "ferry keys new with geth's standard scrypt (n=2^18)" \
  test "$rc" -eq 0 -a "$(jq .crypto.kdfparams.n "$tmp/keys/standard")" = 262144
check "cast opens the standard-cost key (CRLF stripped from the password file)" \
  test "$("$cast" wallet address --keystore "$tmp/keys/standard" --password 'ferry pw 3')" = "$std"
secrets+=("$(secret_of "$tmp/keys" standard 'ferry pw 3')")
FERRY_PASSWORD='ferry pw 2' fr keys new alice --scrypt-n 1024
check "keys new refuses an existing name" fails_with 1 'already exists'
FERRY_PASSWORD='x' fr keys new 'bad/name' --scrypt-n 1024
check "keys new refuses a name that is not a plain file name" fails_with 1 "character '/'"
FERRY_PASSWORD='x' fr keys new weak --scrypt-n 1000
check "--scrypt-n must be a power of two" fails_with 2 'power of two'

# 3. list needs no password and shows every key with its address.
fr keys list
listed() { [ "$rc" -eq 0 ] && grep -qE "^relayer +$castaddr\$" "$out" && grep -qE "^alice +$alice\$" "$out"; }
check "list shows names and addresses without a password" listed
check "list shows all four keys" test "$(wc -l <"$out")" -eq 4

# 4. A wrong password fails clearly and stores nothing.
before=$(listing)
FERRY_PASSWORD='not the password' fr keys import "$castfile" wrong
check "import with a wrong password fails" test "$rc" -eq 1
check "... saying so" grep -q 'wrong password (MAC mismatch)' "$err"
check "... and stores nothing" test "$(listing)" = "$before"
FERRY_PASSWORD='not the password' fr keys show alice
check "show with a wrong password fails clearly" fails_with 1 'wrong password'

# 5. A hostile keystore (scrypt n=2^30, 128 GiB) is refused at once, before any KDF runs.
jq -c '.crypto.kdfparams.n = 1073741824' "$castfile" >"$tmp/hostile.json"
start=$(date +%s%N)
FERRY_PASSWORD=$pw1 fr keys import "$tmp/hostile.json" hostile
ms=$((($(date +%s%N) - start) / 1000000))
check "a keystore asking for scrypt n=2^30 is refused" fails_with 1 'n=2^30 exceeds the cap of 2^18 (memory)'
check "... fast (${ms} ms)" test "$ms" -lt 1000
check "... and stores nothing" test "$(listing)" = "$before"
head -c 100000 /dev/zero | tr '\0' ' ' >"$tmp/huge.json"
FERRY_PASSWORD=x fr keys import "$tmp/huge.json"
check "a 100 kB file is refused as too big" fails_with 1 'over the cap'
printf '{"version":3,"crypto":' >"$tmp/trunc.json"
FERRY_PASSWORD=x fr keys import "$tmp/trunc.json"
check "truncated JSON is refused with its offset" fails_with 1 'invalid JSON at offset'

# A geth-style file ("Crypto", an "address" field) imports; a wrong "address" field is caught.
jq -c '{address: ($a | ltrimstr("0x") | ascii_downcase), Crypto: .crypto, id: .id, version: .version}' \
  --arg a "$castaddr" "$castfile" >"$tmp/geth.json"
FERRY_PASSWORD=$pw1 fr keys import "$tmp/geth.json" gethstyle
check "a geth-style keystore (\"Crypto\", address field) imports" test "$rc" -eq 0 -a "$(field address)" = "$castaddr"
jq -c '.address = "000000000000000000000000000000000000dead"' "$tmp/geth.json" >"$tmp/mislabelled.json"
FERRY_PASSWORD=$pw1 fr keys import "$tmp/mislabelled.json" mislabelled
check "a keystore whose address field lies is refused" fails_with 1 'mislabelled'

# The published Web3 Secret Storage pbkdf2 vector ("testpassword").
jq -r '.vectors[] | select(.source | startswith("spec_pbkdf2")) | .keystore' tests/vectors/keystore_spec.json >"$tmp/spec.json"
FERRY_PASSWORD=testpassword fr keys import "$tmp/spec.json" spec
check "the spec's pbkdf2 test vector imports at its address" \
  test "$rc" -eq 0 -a "$(field address)" = 0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b
secrets+=(7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d)

# 6. No password source: a clear error, not a hang or a crash.
fr keys show alice </dev/null
check "no password source gives a clear error" fails_with 1 'no password: set FERRY_PASSWORD or pass --password-file'
before=$(listing)
fr keys new nopass --scrypt-n 1024 </dev/null
check "keys new without a password stores nothing" test "$rc" -eq 1 -a "$(listing)" = "$before"
fr keys new leak --password hunter2 </dev/null
check "a --password option is refused" fails_with 2 'there is no --password option'
check "... without echoing its value" bash -c "! grep -q hunter2 '$err'"
FERRY_PASSWORD=x fr keys show alice --password-file "$tmp/does-not-exist"
check "a missing password file is named in the error" fails_with 1 'does-not-exist'
FERRY_PASSWORD='ferry pw 2' fr keys show alice --keystore-dir "$tmp/elsewhere"
check "--keystore-dir overrides FERRY_KEYSTORE_DIR" fails_with 1 "elsewhere"
FERRY_PASSWORD='ferry pw 2' HOME=$tmp/home FERRY_KEYSTORE_DIR= fr keys new homekey --scrypt-n 1024
check "the default directory is ~/.ferry/keys" test "$rc" -eq 0 -a -f "$tmp/home/.ferry/keys/homekey"
secrets+=("$(secret_of "$tmp/home/.ferry/keys" homekey 'ferry pw 2')")
check "the default directory is created mode 700" test "$(stat -c %a "$tmp/home/.ferry")" = 700
mkdir -m 755 "$tmp/open"
FERRY_PASSWORD='ferry pw 2' fr keys new openkey --scrypt-n 1024 --keystore-dir "$tmp/open"
check "a keystore directory open to other users draws a warning" fails_with 0 'open to other users (mode 755)'
secrets+=("$(secret_of "$tmp/open" openkey 'ferry pw 2')")

# 7. No secret ever appears in anything ferry printed.
leaked=0
for s in "${secrets[@]}"; do
  [ ${#s} -eq 64 ] || { leaked=1; echo "# could not learn a secret from cast"; }
  grep -qi "$s" "$tmp/all.log" && leaked=1
done
check "no secret key appears in any ferry output (${#secrets[@]} keys checked)" test "$leaked" -eq 0
check "no temporary files are left in the keystore directories" \
  bash -c "! ls -A '$tmp/keys' '$tmp/open' '$tmp/home/.ferry/keys' | grep -q '^\\.'"

echo "1..$n"
[ "$failed" -eq 0 ]
