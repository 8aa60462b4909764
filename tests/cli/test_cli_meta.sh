#!/usr/bin/env bash
# `kwal meta` end to end against the broker: topics verify/ensure, status and prune from a [wal] config.
set -euo pipefail
kwal=${1:?usage: test_cli_meta.sh PATH_TO_KWAL}
: "${KWAL_BOOTSTRAP:=127.0.0.1:19092}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="kwal_cli_meta_$$_$RANDOM"
cfg=$work/wal.toml
cat > "$cfg" <<TOML
[wal]
provider = "kafka"
broker_endpoints = ["$KWAL_BOOTSTRAP"]
num_topics = 4
topic_name_prefix = "$prefix"
auto_prune_interval = "0s"
dir = "$work"
TOML

passed=0
failed=0
check() { # check NAME EXPECTED_EXIT PATTERN -- CMD...
  local name=$1 want=$2 pattern=$3; shift 4
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" <<<"$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name: exit $rc (want $want), output:" >&2
    sed 's/^/  | /' <<<"$out" >&2
  fi
}

check "verify names every missing topic" 1 "4 of 4 WAL topics are not usable: ${prefix}_0: missing" -- \
  "$kwal" meta topics verify -c "$cfg"
check "ensure creates them" 0 "4 topics ${prefix}_0..${prefix}_3 ok: 4 created" -- \
  "$kwal" meta topics ensure -c "$cfg"
check "ensure again creates nothing" 0 "ok: 0 created" -- "$kwal" meta topics ensure -c "$cfg"
check "verify now passes" 0 "4 topics .* ok" -- "$kwal" meta topics verify -c "$cfg"
check "each topic holds the noop record" 0 "^0 0 1$" -- "$kwal" -b "$KWAL_BOOTSTRAP" offsets -t "${prefix}_2"
check "status with no reports" 0 "no regions have reported yet" -- "$kwal" meta status -c "$cfg"
check "dry-run prune" 0 "dry run: 0 topics" -- "$kwal" meta prune -c "$cfg" --dry-run
check "a config is required" 2 "meta status: -c CONFIG is required" -- "$kwal" meta status
check "unknown meta command" 2 "meta: unknown command 'compact'" -- "$kwal" meta compact -c "$cfg"
check "unknown topics verb" 2 "meta topics: unknown subcommand 'fix'" -- "$kwal" meta topics fix -c "$cfg"
check "--dry-run only for prune" 2 "only for .kwal meta prune." -- "$kwal" meta status -c "$cfg" --dry-run
check "-b does not apply" 2 "meta: -b and -X do not apply" -- "$kwal" -b "$KWAL_BOOTSTRAP" meta status -c "$cfg"
check "--help" 0 "usage: kwal meta topics ensure" -- "$kwal" meta --help
printf '[wal]\nprovider = "local"\ndir = "%s"\n' "$work" > "$work/local.toml"
check "local provider refused" 1 "need provider = \"kafka\"" -- "$kwal" meta status -c "$work/local.toml"

"$kwal" -b "$KWAL_BOOTSTRAP" topics delete -t "${prefix}_0" -t "${prefix}_1" -t "${prefix}_2" -t "${prefix}_3" >/dev/null 2>&1 || true
echo "cli meta: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
