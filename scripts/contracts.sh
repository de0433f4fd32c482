#!/usr/bin/env bash
# Ferry's contracts: build, test, deploy, link. Everything runs offline (forge compiles through scripts/solc).
#
#   scripts/contracts.sh build      forge build, then export build/contracts/<Name>.json (abi, bytecode,
#                                   deployedBytecode) for every deployable contract. Generated: never edit.
#   scripts/contracts.sh test       the forge suite, human output (extra arguments go to forge test)
#   scripts/contracts.sh test-tap   the forge suite, the EIP-712 cross-check with cast, forge fmt --check
#                                   and the anvil smoke test (below), as TAP lines
#                                   ("ok N - name" / "not ok N - name"); gas figures as "# ..." comments.
#                                   Exits non-zero on any failure, compile errors included.
#   scripts/contracts.sh deploy --rpc URL --key HEX --chain-id N --out FILE
#                                   [--attesters A,B,C --threshold M] [--owner ADDR]
#                                   [--with-test-assets [--fund ADDR,ADDR]]
#                                   Deploys Gateway, TokenVault and IntentRouter wired together (plus two test
#                                   tokens and a funded TestSwapPool with --with-test-assets) and writes the
#                                   addresses as JSON to FILE.
#   scripts/contracts.sh link --key HEX FILE FILE [FILE...]
#                                   Makes the deployments in the given files know each other: on every chain,
#                                   vault.setPeer and router.setPeer for every other chain (owner key; skips
#                                   what is already set). docs/protocol.md, "Deployment and linking".
#   scripts/contracts.sh voucher-pool --key HEX --attester-keys K1,K2[,...] --amount N --liquidity N
#                                   [--out FILE] FROM.json TO.json
#                                   Puts vouchers of FROM's test token A to work on TO: a vault transfer of N
#                                   base units of tokenA from the deployer on FROM to itself on TO, relayed by
#                                   hand (delivered on TO, acknowledged on FROM, attested with the given keys),
#                                   then a TestSwapPool(voucher, TO's tokenB) funded with N vouchers and
#                                   --liquidity base units of tokenB. Prints {voucher, pool, ...} as JSON
#                                   (and writes it to FILE). The devnet's `up` uses it.
#   scripts/contracts.sh check-typed-data
#                                   Signs contracts/test/typed-data/*.json with `cast wallet sign --data` and
#                                   checks each equals a signature over the digest the contracts compute.
#   scripts/contracts.sh smoke      Two anvils on OS-assigned ports: deploy, link, relay transfers and an
#                                   intent by hand with cast; stops them after. FERRY_CONTRACTS_NO_ANVIL=1
#                                   leaves it out of test-tap.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
contracts=$root/contracts
tools=$root/scripts/toolchain/node_modules/.bin
FORGE=${FORGE:-$tools/forge}
CAST=${CAST:-$tools/cast}
artifacts=$root/build/contracts
deployable=(Gateway TokenVault IntentRouter Voucher CallExecutor TestToken TestSwapPool)

die() {
  echo "contracts.sh: $*" >&2
  exit 1
}

# Whatever this script starts or creates is stopped and removed on exit, however it exits.
cleanup_pids=() cleanup_paths=()
cleanup() {
  local p
  for p in "${cleanup_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${cleanup_paths[@]}"; do rm -rf "$p"; done
}
trap cleanup EXIT

need_tools() {
  [ -x "$FORGE" ] && [ -x "$CAST" ] || die "forge/cast not found in scripts/toolchain (run scripts/bootstrap.sh)"
  command -v jq >/dev/null || die "jq is needed (run scripts/bootstrap.sh)"
  # OpenZeppelin is reached through a link inside the project (so forge sees one path for each file).
  [ -e "$contracts/lib/openzeppelin/contracts/token/ERC20/ERC20.sol" ] ||
    die "contracts/lib/openzeppelin does not resolve: is @openzeppelin/contracts in scripts/toolchain installed?"
}

cmd_build() {
  need_tools
  (cd "$contracts" && "$FORGE" build "$@") || die "forge build failed"
  mkdir -p "$artifacts"
  local name src
  for name in "${deployable[@]}"; do
    src=$contracts/out/$name.sol/$name.json
    [ -f "$src" ] || die "no forge artifact for $name ($src)"
    jq --arg name "$name" '{
        contractName: $name,
        generatedBy: "scripts/contracts.sh build (do not edit)",
        compiler: .metadata.compiler.version,
        abi: .abi,
        bytecode: .bytecode.object,
        deployedBytecode: .deployedBytecode.object
      }' "$src" >"$artifacts/$name.json.tmp.$$"
    mv "$artifacts/$name.json.tmp.$$" "$artifacts/$name.json"
  done
  echo "contracts: artifacts in ${artifacts#$root/}/ (${deployable[*]})"
}

cmd_test() {
  need_tools
  cd "$contracts" && exec "$FORGE" test "$@"
}

# Prints the TAP lines of the EIP-712 cross-check; returns non-zero if any failed. $1: first test number.
typed_data_tap() {
  local n=$1 fail=0 file key digest a b
  while read -r file key digest; do
    case $file in '' | '#'*) continue ;; esac
    key=$(printf '0x%064x' "$key")
    a=$("$CAST" wallet sign --data --from-file "$contracts/test/typed-data/$file" --private-key "$key" 2>&1) || true
    b=$("$CAST" wallet sign --no-hash "$digest" --private-key "$key" 2>&1) || true
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
      echo "ok $n - eip712: cast signs $file to the digest the contracts compute"
    else
      echo "not ok $n - eip712: cast signs $file to the digest the contracts compute"
      echo "# cast --data: $a"
      echo "# over digest: $b"
      fail=1
    fi
    n=$((n + 1))
  done <"$contracts/test/typed-data/expected.txt"
  return $fail
}

cmd_check_typed_data() {
  need_tools
  typed_data_tap 1
}

cmd_test_tap() {
  need_tools
  local out err rc start end n
  out=$(mktemp) err=$(mktemp)
  cleanup_paths+=("$out" "$err")
  start=$(date +%s)
  # -vv makes forge keep console logs (the gas figures) in the JSON.
  rc=0
  (cd "$contracts" && "$FORGE" test --json -vv "$@") >"$out" 2>"$err" || rc=$?
  end=$(date +%s)
  if ! jq -e 'type == "object"' "$out" >/dev/null 2>&1; then
    echo "not ok 1 - forge: the suite did not run (compile error?)"
    sed 's/^/# /' "$err" | head -60
    sed 's/^/# /' "$out" | head -20
    echo "1..1"
    return 1
  fi
  # One line per test: status, suite:test, reason; then the gas lines.
  jq -r '
    to_entries[] | .key as $suite | .value.test_results | to_entries[] |
    [ .value.status, ($suite | sub("^.*:"; "")) + "::" + .key,
      ((.value.reason // "") | gsub("\n"; " ")),
      ((.value.kind.Invariant.runs // .value.kind.Fuzz.runs // "") | tostring) ] | @tsv' "$out" |
    sort -t$'\t' -k2 | {
      n=0 fails=0
      while IFS=$'\t' read -r status name reason runs; do
        n=$((n + 1))
        extra=""
        [ -n "$runs" ] && extra=" (runs: $runs)"
        case $status in
          Success) echo "ok $n - forge: $name$extra" ;;
          Skipped) echo "ok $n - forge: $name # SKIP ${reason}" ;;
          *)
            echo "not ok $n - forge: $name$extra"
            echo "# $reason"
            fails=$((fails + 1))
            ;;
        esac
      done
      echo "$n $fails" >"$out.count"
    }
  read -r n fails <"$out.count"
  rm -f "$out.count"
  if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ] || [ "$n" -eq 0 ]; then
    # forge failed without a failing test to show for it: a compile error, a crash, an empty suite.
    n=$((n + 1)) fails=$((fails + 1))
    echo "not ok $n - forge: the suite did not run cleanly (exit $rc, $((n - 1)) tests seen)"
    sed 's/^/# /' "$err" | grep -v '^# *$' | head -60
  fi
  jq -r '.[] | .test_results[] | .decoded_logs[]? | select(startswith("gas "))' "$out" | sort -u | sed 's/^/# /'
  echo "# forge suite wall time: $((end - start)) s"
  local tfail=0
  typed_data_tap $((n + 1)) || tfail=1
  local total=$((n + $(grep -cvE '^(#|$)' "$contracts/test/typed-data/expected.txt")))
  total=$((total + 1))
  if (cd "$contracts" && "$FORGE" fmt --check >/dev/null 2>&1); then
    echo "ok $total - forge fmt --check (contracts/ is formatted)"
  else
    echo "not ok $total - forge fmt --check (run: cd contracts && forge fmt)"
    tfail=1
  fi
  # Deploy, link and relay on two real anvils (a few seconds); FERRY_CONTRACTS_NO_ANVIL=1 skips it.
  local sfail=0
  if [ -z "${FERRY_CONTRACTS_NO_ANVIL:-}" ]; then
    cmd_smoke "$total" || sfail=1
    total=$((total + smoke_n))
  fi
  echo "1..$total"
  [ "$rc" -eq 0 ] && [ "$fails" -eq 0 ] && [ "$tfail" -eq 0 ] && [ "$sfail" -eq 0 ]
}

# ------------------------------------------------------------------------------------------------------
# Deployment
# ------------------------------------------------------------------------------------------------------

bytecode() {
  jq -r .bytecode "$artifacts/$1.json"
}

# create NAME SIG ARGS...: deploys NAME with constructor SIG(ARGS), prints its address.
create() {
  local name=$1
  shift
  local receipt addr
  receipt=$("$CAST" send --rpc-url "$rpc" --private-key "$key" --json --create "$(bytecode "$name")" "$@") ||
    die "deploying $name failed"
  addr=$(jq -r '.contractAddress // empty' <<<"$receipt")
  [ "$(jq -r .status <<<"$receipt")" = "0x1" ] && [ -n "$addr" ] || die "deploying $name failed: $receipt"
  addr=$("$CAST" to-check-sum-address "$addr")
  echo "  $name: $addr" >&2
  echo "$addr"
}

# tx TO SIG ARGS...: sends a transaction and checks it succeeded.
tx() {
  local receipt
  receipt=$("$CAST" send --rpc-url "$rpc" --private-key "$key" --json "$@") || die "transaction failed: $*"
  [ "$(jq -r .status <<<"$receipt")" = "0x1" ] || die "transaction reverted: $*"
}

check_chain() {
  local got
  got=$("$CAST" chain-id --rpc-url "$rpc" 2>/dev/null) || die "cannot reach $rpc"
  [ "$got" = "$1" ] || die "$rpc is chain $got, expected $1"
}

normalize_key() {
  local k=${1#0x}
  [[ $k =~ ^[0-9a-fA-F]{64}$ ]] || die "--key: expected 32 bytes of hex"
  echo "0x$k"
}

cmd_deploy() {
  local out="" chain="" owner="" attesters="" threshold="" assets=0 fund=""
  rpc="" key=""
  while [ $# -gt 0 ]; do
    case $1 in
      --rpc) rpc=$2; shift 2 ;;
      --key) key=$(normalize_key "$2"); shift 2 ;;
      --chain-id) chain=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      --owner) owner=$2; shift 2 ;;
      --attesters) attesters=$2; shift 2 ;;
      --threshold) threshold=$2; shift 2 ;;
      --with-test-assets) assets=1; shift ;;
      --fund) fund=$2; shift 2 ;;
      *) die "deploy: unknown argument $1 (see the top of scripts/contracts.sh)" ;;
    esac
  done
  [ -n "$rpc" ] && [ -n "$key" ] && [ -n "$chain" ] && [ -n "$out" ] ||
    die "deploy: --rpc, --key, --chain-id and --out are required"
  [[ $chain =~ ^[0-9]+$ ]] || die "deploy: --chain-id: expected a number, got $chain"
  need_tools
  [ -f "$artifacts/Gateway.json" ] || cmd_build >&2
  check_chain "$chain"
  local deployer
  deployer=$("$CAST" wallet address --private-key "$key")
  owner=${owner:-$deployer}
  if [ -z "$attesters" ]; then
    echo "contracts.sh: no --attesters: the deployer $deployer is the only attester (threshold 1)" >&2
    attesters=$deployer
    threshold=${threshold:-1}
  fi
  # The Gateway wants its attesters strictly ascending (as numbers: lowercase hex of equal length sorts so).
  local a sorted
  for a in ${attesters//,/ }; do
    [[ $a =~ ^0x[0-9a-fA-F]{40}$ ]] || die "--attesters: not an address: $a"
  done
  sorted=$(tr ',' '\n' <<<"$attesters" | tr 'A-F' 'a-f' | LC_ALL=C sort -u |
    while read -r a; do "$CAST" to-check-sum-address "$a"; done | paste -sd, -)
  [ "$(tr ',' '\n' <<<"$sorted" | wc -l)" -eq "$(tr ',' '\n' <<<"$attesters" | wc -l)" ] ||
    die "--attesters: duplicate address"
  threshold=${threshold:-$(( $(tr ',' '\n' <<<"$sorted" | wc -l) / 2 + 1 ))}

  echo "contracts: deploying to chain $chain at $rpc (owner $owner)" >&2
  local gateway vault router deploy_block
  # A block at or before the Gateway's deployment: where a relayer starts scanning for packets.
  deploy_block=$("$CAST" block-number --rpc-url "$rpc")
  gateway=$(create Gateway "constructor(address,address[],uint8)" "$owner" "[$sorted]" "$threshold")
  vault=$(create TokenVault "constructor(address,address)" "$gateway" "$owner")
  router=$(create IntentRouter "constructor(address,address)" "$vault" "$owner")
  local executor voucher_impl
  executor=$("$CAST" call --rpc-url "$rpc" "$router" "executor()(address)")
  voucher_impl=$("$CAST" call --rpc-url "$rpc" "$vault" "voucherImplementation()(address)")

  local assets_json=null
  if [ $assets = 1 ]; then
    local ta tb pool
    ta=$(create TestToken "constructor(string,string,uint8)" "Ferry Test A ($chain)" "FTA" 18)
    tb=$(create TestToken "constructor(string,string,uint8)" "Ferry Test B ($chain)" "FTB" 18)
    pool=$(create TestSwapPool "constructor(address,address)" "$ta" "$tb")
    # Amounts in base units (18 decimals): the pool gets 1,000,000 FTA and 2,000,000 FTB; the deployer
    # keeps as much again.
    local one_m=1000000000000000000000000 two_m=2000000000000000000000000 four_m=4000000000000000000000000
    tx "$ta" "mint(address,uint256)" "$deployer" "$two_m"
    tx "$tb" "mint(address,uint256)" "$deployer" "$four_m"
    tx "$ta" "approve(address,uint256)" "$pool" "$one_m"
    tx "$tb" "approve(address,uint256)" "$pool" "$two_m"
    tx "$pool" "addLiquidity(uint256,uint256)" "$one_m" "$two_m"
    if [ -n "$fund" ]; then
      local a
      for a in ${fund//,/ }; do
        tx "$ta" "mint(address,uint256)" "$a" "$one_m"
        tx "$tb" "mint(address,uint256)" "$a" "$one_m"
      done
    fi
    assets_json=$(jq -n --arg a "$ta" --arg b "$tb" --arg p "$pool" \
      '{tokenA: $a, tokenB: $b, pool: $p, poolReserves: {tokenA: "1000000000000000000000000", tokenB: "2000000000000000000000000"}}')
  fi

  mkdir -p "$(dirname "$out")"
  jq -n --argjson chain "$chain" --arg rpc "$rpc" --arg deployer "$deployer" --arg owner "$owner" \
    --arg gateway "$gateway" --arg vault "$vault" --arg router "$router" --arg executor "$executor" \
    --arg voucher "$voucher_impl" --arg attesters "$sorted" --argjson threshold "$threshold" \
    --argjson block "$deploy_block" --argjson assets "$assets_json" '{
      chainId: $chain, rpc: $rpc, deployer: $deployer, owner: $owner, deployBlock: $block,
      gateway: $gateway, vault: $vault, router: $router, executor: $executor,
      voucherImplementation: $voucher,
      attesters: ($attesters | split(",")), threshold: $threshold,
      testAssets: $assets
    }' >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "contracts: wrote $out" >&2
  cat "$out"
}

cmd_link() {
  key=""
  local files=()
  while [ $# -gt 0 ]; do
    case $1 in
      --key) key=$(normalize_key "$2"); shift 2 ;;
      -*) die "link: unknown option $1" ;;
      *) files+=("$1"); shift ;;
    esac
  done
  [ -n "$key" ] || die "link: --key is required (the owner of every deployment)"
  [ ${#files[@]} -ge 2 ] || die "link: give at least two deployment files"
  need_tools
  local f g
  for f in "${files[@]}"; do
    [ -f "$f" ] || die "link: no such file $f"
    jq -e '.chainId and .rpc and .vault and .router' "$f" >/dev/null || die "link: $f is not a deployment file"
  done
  for f in "${files[@]}"; do
    rpc=$(jq -r .rpc "$f")
    local chain vault router
    chain=$(jq -r .chainId "$f") vault=$(jq -r .vault "$f") router=$(jq -r .router "$f")
    check_chain "$chain"
    for g in "${files[@]}"; do
      [ "$f" = "$g" ] && continue
      local pchain pvault prouter want have
      pchain=$(jq -r .chainId "$g") pvault=$(jq -r .vault "$g") prouter=$(jq -r .router "$g")
      [ "$pchain" != "$chain" ] || die "link: $f and $g are both chain $chain"
      want=$(printf '0x%064s' "${pvault#0x}" | tr ' ' 0 | tr 'A-F' 'a-f')
      have=$("$CAST" call --rpc-url "$rpc" "$vault" "peers(uint64)(bytes32)" "$pchain")
      if [ "$have" != "$want" ]; then
        tx "$vault" "setPeer(uint64,bytes32)" "$pchain" "$want"
        echo "  chain $chain: vault peer for $pchain = $pvault" >&2
      fi
      have=$("$CAST" call --rpc-url "$rpc" "$router" "peers(uint64)(address)" "$pchain")
      if [ "$(tr 'A-F' 'a-f' <<<"$have")" != "$(tr 'A-F' 'a-f' <<<"$prouter")" ]; then
        tx "$router" "setPeer(uint64,address)" "$pchain" "$prouter"
        echo "  chain $chain: router peer for $pchain = $prouter" >&2
      fi
    done
  done
  echo "contracts: linked ${files[*]}" >&2
}

# ------------------------------------------------------------------------------------------------------
# Smoke test on real nodes: two anvils on OS-assigned ports, deploy + link, then relay by hand with cast
# exactly as the daemon will (packets from PacketSent logs, attestations signed over the contracts'
# digests, an intent signed as EIP-712 typed data). TAP lines; the anvils are stopped at the end.
# ------------------------------------------------------------------------------------------------------

# Anvil's well-known dev keys: 0 deploys and owns, 1-3 attest (2-of-3), 4 is a user, 5 a recipient.
DEV_KEYS=(0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
  0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
  0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
  0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
  0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba)
PACKET_SENT_TOPIC=0x0c5f2599de05553374a5ce8040357f9f6c704fa43dc1b17a55943a2a64a31800

smoke_n=0 smoke_fail=0
tap() { # tap OK|FAIL name [detail]
  smoke_n=$((smoke_n + 1))
  if [ "$1" = OK ]; then echo "ok $((smoke_base + smoke_n)) - anvil: $2"; else
    echo "not ok $((smoke_base + smoke_n)) - anvil: $2"
    [ -n "${3:-}" ] && echo "# $3"
    smoke_fail=$((smoke_fail + 1))
  fi
}

start_anvil() { # start_anvil CHAIN_ID LOGFILE: prints "PID URL"
  local log=$2 pid port i
  "$tools/anvil" --port 0 --chain-id "$1" >"$log" 2>&1 &
  pid=$!
  for i in $(seq 1 100); do
    port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { kill "$pid" 2>/dev/null; return 1; }
  echo "$pid http://127.0.0.1:$port"
}

# send RPC KEY TO SIG ARGS...: prints the receipt (JSON); fails unless status 1.
send() {
  local r=$1 k=$2 receipt
  shift 2
  receipt=$("$CAST" send --rpc-url "$r" --private-key "$k" --json "$@") || return 1
  [ "$(jq -r .status <<<"$receipt")" = 0x1 ] || return 1
  echo "$receipt"
}

# packets RECEIPT GATEWAY SRC_CHAIN: one line per PacketSent: "packetId tuple".
packets() {
  local gw src
  gw=$(tr 'A-F' 'a-f' <<<"$2") src=$3
  jq -r --arg gw "$gw" --arg t "$PACKET_SENT_TOPIC" \
    '.logs[] | select((.address | ascii_downcase) == $gw and .topics[0] == $t) | [.topics[1], .topics[2], .topics[3], .data] | @tsv' <<<"$1" |
    while IFS=$'\t' read -r id dst seq data; do
      local f
      mapfile -t f < <("$CAST" decode-abi "f()(bytes32,bytes32,uint64,bytes)" "$data")
      echo "$id ($src,$((dst)),$((seq)),${f[0]},${f[1]},${f[2]%% *},${f[3]})"
    done
}

# The keys attest() signs with, in ascending order of their addresses (the Gateway wants signers so).
# The smoke test's: 2-of-3, dev keys 2 then 1 (0x3C44... < 0x7099...); set_attest_keys changes them.
ATTEST_KEYS=("${DEV_KEYS[2]}" "${DEV_KEYS[1]}")

# set_attest_keys K1,K2,...: ATTEST_KEYS = those keys, sorted by address.
set_attest_keys() {
  local k addr
  ATTEST_KEYS=()
  while read -r addr k; do ATTEST_KEYS+=("$k"); done < <(
    for k in ${1//,/ }; do
      k=$(normalize_key "$k")
      addr=$("$CAST" wallet address --private-key "$k") || die "--attester-keys: not a key"
      echo "$(tr 'A-F' 'a-f' <<<"$addr") $k"
    done | LC_ALL=C sort -u
  )
  [ ${#ATTEST_KEYS[@]} -gt 0 ] || die "--attester-keys: no key given"
}

# attest DIGEST: the attestation (r||s||v of each of ATTEST_KEYS, concatenated).
attest() {
  local k sig out=0x
  for k in "${ATTEST_KEYS[@]}"; do
    sig=$("$CAST" wallet sign --no-hash "$1" --private-key "$k") || return 1
    out+=${sig#0x}
  done
  echo "$out"
}

PACKET_T="(uint64,uint64,uint64,bytes32,bytes32,uint64,bytes)"

# deliver_sent RECEIPT SRC_GW SRC_CHAIN DST_RPC DST_GW KEY: relays by hand every packet the source
# transaction (its RECEIPT) sent through SRC_GW: one `deliver` batch on the destination, attested with
# ATTEST_KEYS, sent with KEY. Prints the deliver receipt; fails if nothing was sent or it reverted.
deliver_sent() {
  local lines line digest tuples="" atts=""
  lines=$(packets "$1" "$2" "$3") && [ -n "$lines" ] || return 1
  while read -r line; do
    digest=$("$CAST" call --rpc-url "$4" "$5" "deliveryDigest(bytes32)(bytes32)" "${line%% *}") || return 1
    tuples+="${tuples:+,}${line#* }"
    atts+="${atts:+,}$(attest "$digest")" || return 1
  done <<<"$lines"
  send "$4" "$6" "$5" "deliver(${PACKET_T}[],bytes[])" "[$tuples]" "[$atts]"
}

# acknowledge_received DELIVER_RECEIPT DST_GW SRC_RPC SRC_GW KEY "PACKET_ID TUPLE": acknowledges on the source
# the packet (as `packets` prints it) with the result its PacketReceived log in DELIVER_RECEIPT recorded.
acknowledge_received() {
  local topic data digest ok
  topic=$("$CAST" keccak "PacketReceived(bytes32,uint64,uint64,bool,bytes)")
  data=$(jq -r --arg gw "$(tr 'A-F' 'a-f' <<<"$2")" --arg t "$topic" --arg id "${6%% *}" \
    '.logs[] | select((.address | ascii_downcase) == $gw and .topics[0] == $t and .topics[1] == $id) | .data' <<<"$1")
  [ -n "$data" ] || return 1
  # The acknowledgement, as recorded in PacketReceived: (bool success, bytes result).
  mapfile -t ok < <("$CAST" decode-abi "f()(bool,bytes)" "$data")
  digest=$("$CAST" call --rpc-url "$3" "$4" "acknowledgementDigest(bytes32,bool,bytes)(bytes32)" "${6%% *}" \
    "${ok[0]}" "${ok[1]}") || return 1
  send "$3" "$5" "$4" "acknowledge($PACKET_T,bool,bytes,bytes)" "${6#* }" "${ok[0]}" "${ok[1]}" "$(attest "$digest")"
}

cmd_smoke() {
  need_tools
  smoke_base=${1:-0}
  [ -f "$artifacts/Gateway.json" ] || cmd_build >&2
  local tmp ra rb a b
  tmp=$(mktemp -d)
  cleanup_paths+=("$tmp")
  a=$(start_anvil 1001 "$tmp/a.log") || { tap FAIL "start anvil" "$(tail -3 "$tmp/a.log")"; return 1; }
  cleanup_pids+=("${a%% *}")
  b=$(start_anvil 2002 "$tmp/b.log") || { tap FAIL "start anvil" "$(tail -3 "$tmp/b.log")"; return 1; }
  cleanup_pids+=("${b%% *}")
  ra=${a#* } rb=${b#* }
  tap OK "two anvils up (chain 1001 at $ra, chain 2002 at $rb)"

  local owner=${DEV_KEYS[0]} user_key=${DEV_KEYS[4]} user recipient
  user=$("$CAST" wallet address --private-key "$user_key")
  recipient=$("$CAST" wallet address --private-key "${DEV_KEYS[5]}")
  local att
  att=$(for i in 1 2 3; do "$CAST" wallet address --private-key "${DEV_KEYS[$i]}"; done | paste -sd, -)
  if (cmd_deploy --rpc "$ra" --key "$owner" --chain-id 1001 --out "$tmp/a.json" --attesters "$att" --threshold 2 \
    --with-test-assets --fund "$user" && cmd_deploy --rpc "$rb" --key "$owner" --chain-id 2002 --out "$tmp/b.json" \
    --attesters "$att" --threshold 2) >"$tmp/deploy.log" 2>&1; then
    tap OK "deploy Gateway, TokenVault, IntentRouter (+ test assets) to both"
  else
    tap FAIL "deploy" "$(tail -3 "$tmp/deploy.log")"
    return 1
  fi
  if (cmd_link --key "$owner" "$tmp/a.json" "$tmp/b.json") >"$tmp/link.log" 2>&1; then
    tap OK "link the two deployments"
  else
    tap FAIL "link" "$(tail -3 "$tmp/link.log")"
    return 1
  fi
  local gwa gwb va vb rta rtb token
  gwa=$(jq -r .gateway "$tmp/a.json") va=$(jq -r .vault "$tmp/a.json") rta=$(jq -r .router "$tmp/a.json")
  gwb=$(jq -r .gateway "$tmp/b.json") vb=$(jq -r .vault "$tmp/b.json") rtb=$(jq -r .router "$tmp/b.json")
  token=$(jq -r .testAssets.tokenA "$tmp/a.json")
  local now voucher
  now=$("$CAST" block --rpc-url "$ra" latest --field timestamp)
  voucher=$("$CAST" call --rpc-url "$rb" "$vb" "voucherOf(uint64,address)(address)" 1001 "$token")

  # 1. A transfer A -> B, delivered and acknowledged by hand.
  local receipt line id tuple digest
  receipt=$(send "$ra" "$user_key" "$token" "approve(address,uint256)" "$va" 100000000000000000000) &&
    receipt=$(send "$ra" "$user_key" "$va" "transfer(address,uint256,uint64,address,uint64)" \
      "$token" 1000000000000000000 2002 "$recipient" $((now + 3600))) || { tap FAIL "vault.transfer on A"; return 1; }
  line=$(packets "$receipt" "$gwa" 1001)
  id=${line%% *} tuple=${line#* }
  if [ "$("$CAST" call --rpc-url "$rb" "$gwb" "packetId($PACKET_T)(bytes32)" "$tuple")" = "$id" ]; then
    tap OK "PacketSent log rebuilds the packet (packetId matches)"
  else
    tap FAIL "PacketSent log rebuilds the packet" "$tuple"
  fi
  local sent=$receipt
  if receipt=$(deliver_sent "$sent" "$gwa" 1001 "$rb" "$gwb" "$owner"); then
    local bal
    bal=$("$CAST" call --rpc-url "$rb" "$voucher" "balanceOf(address)(uint256)" "$recipient")
    [ "${bal%% *}" = 1000000000000000000 ] && tap OK "deliver on B mints the voucher (gasUsed $(($(jq -r .gasUsed <<<"$receipt"))))" ||
      tap FAIL "deliver on B mints the voucher" "balance $bal"
  else
    tap FAIL "deliver on B"
  fi
  if acknowledge_received "$receipt" "$gwb" "$ra" "$gwa" "$owner" "$line" >/dev/null &&
    [ "$("$CAST" call --rpc-url "$ra" "$gwa" "commitments(uint64)(bytes32)" 1)" = 0x0000000000000000000000000000000000000000000000000000000000000000 ]; then
    tap OK "acknowledge on A clears the commitment"
  else
    tap FAIL "acknowledge on A"
  fi

  # 2. A batch of 10 on a real node: the gas a relayer pays.
  local i tuples="" atts=""
  for i in $(seq 1 10); do
    receipt=$(send "$ra" "$user_key" "$va" "transfer(address,uint256,uint64,address,uint64)" \
      "$token" $((i * 1000)) 2002 "0x$(printf '%040x' $((0x1000 + i)))" $((now + 3600))) || break
    line=$(packets "$receipt" "$gwa" 1001)
    tuples+="${tuples:+,}${line#* }"
    atts+="${atts:+,}$(attest "$("$CAST" call --rpc-url "$rb" "$gwb" "deliveryDigest(bytes32)(bytes32)" "${line%% *}")")"
  done
  if receipt=$(send "$rb" "$owner" "$gwb" "deliver(${PACKET_T}[],bytes[])" "[$tuples]" "[$atts]") &&
    [ "$("$CAST" call --rpc-url "$rb" "$gwb" "received(uint64,uint64)(bool)" 1001 11)" = true ]; then
    local used
    used=$(($(jq -r .gasUsed <<<"$receipt")))
    tap OK "deliver a batch of 10 on B (gasUsed $used, $((used / 10)) per packet)"
    echo "# anvil gas deliver batch=10 gasUsed=$used per_packet=$((used / 10))"
  else
    tap FAIL "deliver a batch of 10 on B"
  fi

  # 3. The voucher goes home: burned on B, unlocked on A.
  local before after
  before=$("$CAST" call --rpc-url "$ra" "$token" "balanceOf(address)(uint256)" "$recipient")
  receipt=$(send "$rb" "${DEV_KEYS[5]}" "$voucher" "approve(address,uint256)" "$vb" 1000000000000000000) &&
    receipt=$(send "$rb" "${DEV_KEYS[5]}" "$vb" "transfer(address,uint256,uint64,address,uint64)" \
      "$voucher" 1000000000000000000 1001 "$recipient" $((now + 3600))) &&
    deliver_sent "$receipt" "$gwb" 2002 "$ra" "$gwa" "$owner" >/dev/null
  after=$("$CAST" call --rpc-url "$ra" "$token" "balanceOf(address)(uint256)" "$recipient")
  [ "${after%% *}" = "$(( ${before%% *} + 1000000000000000000 ))" ] && tap OK "B -> A returns the original token" ||
    tap FAIL "B -> A returns the original token" "before $before after $after"

  # 4. An intent signed as EIP-712 typed data by cast (as a wallet would), opened and advanced.
  local deadline=$((now + 7200)) typed intent sig iid
  typed=$(jq -n --arg owner "$user" --arg router "$rta" --arg token "$token" --arg to "$recipient" --argjson dl "$deadline" '{
    types: {
      EIP712Domain: [{name:"name",type:"string"},{name:"version",type:"string"},{name:"chainId",type:"uint256"},{name:"verifyingContract",type:"address"}],
      Intent: [{name:"owner",type:"address"},{name:"originChain",type:"uint64"},{name:"nonce",type:"uint256"},{name:"deadline",type:"uint64"},{name:"refundPolicy",type:"uint8"},{name:"recoveryAddress",type:"address"},{name:"steps",type:"Step[]"}],
      Step: [{name:"kind",type:"uint8"},{name:"chain",type:"uint64"},{name:"token",type:"address"},{name:"amount",type:"uint256"},{name:"toChain",type:"uint64"},{name:"recipient",type:"address"},{name:"target",type:"address"},{name:"data",type:"bytes"},{name:"tokenOut",type:"address"},{name:"minAmountOut",type:"uint256"},{name:"timeout",type:"uint64"}]
    },
    primaryType: "Intent",
    domain: {name: "Ferry Intent", version: "1", chainId: 1001, verifyingContract: $router},
    message: {owner: $owner, originChain: 1001, nonce: "1", deadline: $dl, refundPolicy: 0,
      recoveryAddress: "0x0000000000000000000000000000000000000000",
      steps: [{kind: 0, chain: 1001, token: $token, amount: "5000000000000000000", toChain: 2002, recipient: $to,
        target: "0x0000000000000000000000000000000000000000", data: "0x",
        tokenOut: "0x0000000000000000000000000000000000000000", minAmountOut: "0", timeout: 0}]}
  }')
  echo "$typed" >"$tmp/intent.json"
  sig=$("$CAST" wallet sign --data --from-file "$tmp/intent.json" --private-key "$user_key")
  local z=0x0000000000000000000000000000000000000000
  intent="($user,1001,1,$deadline,0,$z,[(0,1001,$token,5000000000000000000,2002,$recipient,$z,0x,$z,0,0)])"
  local INTENT_T="(address,uint64,uint256,uint64,uint8,address,(uint8,uint64,address,uint256,uint64,address,address,bytes,address,uint256,uint64)[])"
  iid=$("$CAST" call --rpc-url "$ra" "$rta" "intentId($INTENT_T)(bytes32)" "$intent")
  if send "$ra" "$user_key" "$token" "approve(address,uint256)" "$rta" 5000000000000000000 >/dev/null &&
    send "$ra" "$owner" "$rta" "open($INTENT_T,bytes)" "$intent" "$sig" >/dev/null; then
    tap OK "open an intent signed with cast wallet sign --data (id $iid)"
  else
    tap FAIL "open an intent signed with cast wallet sign --data"
  fi
  before=$("$CAST" call --rpc-url "$rb" "$voucher" "balanceOf(address)(uint256)" "$recipient")
  receipt=$(send "$ra" "$owner" "$rta" "advance($INTENT_T,uint256)" "$intent" 0) &&
    deliver_sent "$receipt" "$gwa" 1001 "$rb" "$gwb" "$owner" >/dev/null
  after=$("$CAST" call --rpc-url "$rb" "$voucher" "balanceOf(address)(uint256)" "$recipient")
  [ "${after%% *}" = "$(( ${before%% *} + 5000000000000000000 ))" ] && tap OK "advance the intent; its hop lands on B" ||
    tap FAIL "advance the intent; its hop lands on B" "before $before after $after"

  # 5. The relayer that opened an intent cancels it before step 0: the funds go back to the owner.
  jq '.message.nonce = "2"' "$tmp/intent.json" >"$tmp/intent2.json"
  sig=$("$CAST" wallet sign --data --from-file "$tmp/intent2.json" --private-key "$user_key")
  intent="($user,1001,2,$deadline,0,$z,[(0,1001,$token,5000000000000000000,2002,$recipient,$z,0x,$z,0,0)])"
  iid=$("$CAST" call --rpc-url "$ra" "$rta" "intentId($INTENT_T)(bytes32)" "$intent")
  before=$("$CAST" call --rpc-url "$ra" "$token" "balanceOf(address)(uint256)" "$user")
  local opener
  if send "$ra" "$user_key" "$token" "approve(address,uint256)" "$rta" 5000000000000000000 >/dev/null &&
    send "$ra" "$owner" "$rta" "open($INTENT_T,bytes)" "$intent" "$sig" >/dev/null &&
    opener=$("$CAST" call --rpc-url "$ra" "$rta" "opener(bytes32)(address)" "$iid") &&
    [ "$opener" = "$("$CAST" wallet address --private-key "$owner")" ] &&
    ! "$CAST" send --rpc-url "$ra" --private-key "${DEV_KEYS[5]}" "$rta" "cancel($INTENT_T)" "$intent" >/dev/null 2>&1 &&
    send "$ra" "$owner" "$rta" "cancel($INTENT_T)" "$intent" >/dev/null &&
    [ "$("$CAST" call --rpc-url "$ra" "$token" "balanceOf(address)(uint256)" "$user")" = "$before" ] &&
    [ "$("$CAST" call --rpc-url "$ra" "$rta" "opener(bytes32)(address)" "$iid")" = "$z" ]; then
    tap OK "the relayer that opened an intent cancels it (a stranger cannot); the owner is whole"
  else
    tap FAIL "the relayer that opened an intent cancels it (a stranger cannot); the owner is whole" \
      "opener ${opener:-?} before $before after $("$CAST" call --rpc-url "$ra" "$token" "balanceOf(address)(uint256)" "$user")"
  fi
  [ "$smoke_fail" -eq 0 ]
}

# ------------------------------------------------------------------------------------------------------
# A voucher pool: vouchers of one chain's test token, brought over by a real transfer relayed by hand.
# ------------------------------------------------------------------------------------------------------

cmd_voucher_pool() {
  local out="" amount="" liquidity="" att="" files=()
  key=""
  while [ $# -gt 0 ]; do
    case $1 in
      --key) key=$(normalize_key "$2"); shift 2 ;;
      --attester-keys) att=$2; shift 2 ;;
      --amount) amount=$2; shift 2 ;;
      --liquidity) liquidity=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      -*) die "voucher-pool: unknown option $1 (see the top of scripts/contracts.sh)" ;;
      *) files+=("$1"); shift ;;
    esac
  done
  [ -n "$key" ] && [ -n "$att" ] && [ -n "$amount" ] && [ -n "$liquidity" ] && [ ${#files[@]} -eq 2 ] ||
    die "voucher-pool: --key, --attester-keys, --amount, --liquidity and two deployment files are required"
  [[ $amount =~ ^[1-9][0-9]*$ ]] && [[ $liquidity =~ ^[1-9][0-9]*$ ]] ||
    die "voucher-pool: --amount and --liquidity are positive integers of base units"
  need_tools
  local f
  for f in "${files[@]}"; do
    [ -f "$f" ] || die "voucher-pool: no such file $f"
    jq -e '.chainId and .rpc and .gateway and .vault and .testAssets.tokenA and .testAssets.tokenB' "$f" >/dev/null ||
      die "voucher-pool: $f is not a deployment file with test assets (deploy --with-test-assets)"
  done
  set_attest_keys "$att"
  local ca ra gwa va ta cb rb gwb vb tb me
  ca=$(jq -r .chainId "${files[0]}") ra=$(jq -r .rpc "${files[0]}") gwa=$(jq -r .gateway "${files[0]}")
  va=$(jq -r .vault "${files[0]}") ta=$(jq -r .testAssets.tokenA "${files[0]}")
  cb=$(jq -r .chainId "${files[1]}") rb=$(jq -r .rpc "${files[1]}") gwb=$(jq -r .gateway "${files[1]}")
  vb=$(jq -r .vault "${files[1]}") tb=$(jq -r .testAssets.tokenB "${files[1]}")
  rpc=$ra check_chain "$ca"
  rpc=$rb check_chain "$cb"
  me=$("$CAST" wallet address --private-key "$key")

  local voucher now receipt sent line bal seq
  voucher=$("$CAST" to-check-sum-address "$("$CAST" call --rpc-url "$rb" "$vb" "voucherOf(uint64,address)(address)" "$ca" "$ta")")
  now=$("$CAST" block --rpc-url "$ra" latest --field timestamp)
  send "$ra" "$key" "$ta" "approve(address,uint256)" "$va" "$amount" >/dev/null || die "voucher-pool: approve on $ca failed"
  sent=$(send "$ra" "$key" "$va" "transfer(address,uint256,uint64,address,uint64)" "$ta" "$amount" "$cb" "$me" \
    $((now + 3600))) || die "voucher-pool: vault.transfer on chain $ca failed"
  line=$(packets "$sent" "$gwa" "$ca")
  [ "$(wc -l <<<"$line")" -eq 1 ] && [ -n "$line" ] || die "voucher-pool: expected one PacketSent, got: $line"
  seq=$(jq -r '.logs[] | select(.topics[0] == "'"$PACKET_SENT_TOPIC"'") | .topics[3]' <<<"$sent")
  receipt=$(deliver_sent "$sent" "$gwa" "$ca" "$rb" "$gwb" "$key") || die "voucher-pool: deliver on chain $cb failed"
  bal=$("$CAST" call --rpc-url "$rb" "$voucher" "balanceOf(address)(uint256)" "$me")
  [ "$("$CAST" call --rpc-url "$rb" "$gwb" "received(uint64,uint64)(bool)" "$ca" $((seq)))" = true ] ||
    die "voucher-pool: the transfer was not received on chain $cb"
  echo "  transfer $ca -> $cb (sequence $((seq))) delivered; $me holds ${bal%% *} vouchers ($voucher)" >&2
  acknowledge_received "$receipt" "$gwb" "$ra" "$gwa" "$key" "$line" >/dev/null ||
    die "voucher-pool: acknowledge on chain $ca failed"
  [ "$("$CAST" call --rpc-url "$ra" "$gwa" "commitments(uint64)(bytes32)" $((seq)))" = \
    0x0000000000000000000000000000000000000000000000000000000000000000 ] ||
    die "voucher-pool: the acknowledgement did not clear the commitment on chain $ca"
  echo "  acknowledged on $ca" >&2

  local pool
  rpc=$rb
  pool=$(create TestSwapPool "constructor(address,address)" "$voucher" "$tb")
  tx "$voucher" "approve(address,uint256)" "$pool" "$amount"
  tx "$tb" "approve(address,uint256)" "$pool" "$liquidity"
  # Pulls the vouchers: fails unless the transfer really minted them.
  tx "$pool" "addLiquidity(uint256,uint256)" "$amount" "$liquidity"
  [ "$("$CAST" call --rpc-url "$rb" "$pool" "reserve0()(uint256)" | cut -d' ' -f1)" = "$amount" ] ||
    die "voucher-pool: the pool's voucher reserve is not $amount"
  local json
  json=$(jq -n --argjson from "$ca" --argjson to "$cb" --arg origin "$ta" --arg v "$voucher" --arg p "$pool" \
    --arg tb "$tb" --arg a "$amount" --arg l "$liquidity" --argjson seq $((seq)) '{
      originChain: $from, chainId: $to, originToken: $origin, voucher: $v, tokenB: $tb, pool: $p,
      poolReserves: {voucher: $a, tokenB: $l}, transferSequence: $seq }')
  if [ -n "$out" ]; then
    mkdir -p "$(dirname "$out")"
    echo "$json" >"$out"
  fi
  echo "$json"
}

case ${1:-} in
  voucher-pool) shift; cmd_voucher_pool "$@" ;;
  build) shift; cmd_build "$@" ;;
  test) shift; cmd_test "$@" ;;
  test-tap) shift; cmd_test_tap "$@" ;;
  deploy) shift; cmd_deploy "$@" ;;
  link) shift; cmd_link "$@" ;;
  check-typed-data) shift; cmd_check_typed_data ;;
  smoke) shift; cmd_smoke 0 ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
