#!/usr/bin/env bash
# End-to-end tests of `kwal log run` (a kw_log node) against the real broker: leader, copy, takeover, bad configs.
#
#   tests/cli/test_cli_log.sh path/to/kwal
#
# Needs the single-node broker; reads its address from KWAL_BOOTSTRAP or `tests/kafka/broker env`.
set -euo pipefail

KWAL=$(realpath "${1:?usage: test_cli_log.sh path/to/kwal}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${KWAL_BOOTSTRAP:-}" ]; then
  eval "$("$ROOT/tests/kafka/broker" env)"
fi
B=$KWAL_BOOTSTRAP
TMP=$(mktemp -d)
PIDS=()
RUN="clixlog$$x$RANDOM" # names unique to this run: the broker is shared
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  "$KWAL" -b "$B" topics delete -t "$RUN-src" >/dev/null 2>&1 || true
  "$KWAL" -b "$B" topics delete -t "$RUN-src-replica" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap "echo kept \$TMP" EXIT
TESTS=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $*"; }
# wait_grep FILE PATTERN: waits up to 60 s for a line of FILE matching PATTERN.
wait_grep() {
  for _ in $(seq 600); do
    grep -q -- "$2" "$1" && return 0
    sleep 0.1
  done
  fail "$1 has no line matching '$2': $(head -c 800 "$1")"
}
config() { # config FILE [extra [log] lines]
  local f=$1; shift
  {
    echo "[log]"
    echo "bootstrap = \"$B\""
    echo "group_id = \"$RUN-group\""
    echo "transactional_id_prefix = \"$RUN\""
    echo "session_timeout_ms = 6000"
    echo "heartbeat_interval_ms = 500"
    for l in "$@"; do echo "$l"; done
    echo
    echo "[[log.database]]"
    echo "name = \"db\""
    echo "topic = \"$RUN-src\""
    echo "auto_create_topic = true"
  } >"$f"
}

# ---------------------------------------------------------------------------------------------- bad configs
rc=0; "$KWAL" log >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] && grep -q "no subcommand" "$TMP/err" || fail "kwal log without run: $rc $(cat "$TMP/err")"
ok "kwal log without a subcommand is a usage error"
rc=0; "$KWAL" log run >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "-c FILE is required" "$TMP/err" || fail "no -c: $rc $(cat "$TMP/err")"
ok "kwal log run without -c is a usage error"
config "$TMP/typo.toml" 'sesion_timeout_ms = 1'
rc=0; "$KWAL" log run -c "$TMP/typo.toml" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "unknown key sesion_timeout_ms in \[log\]" "$TMP/err" || fail "typo: $rc $(cat "$TMP/err")"
ok "an unknown key is named with its line"
sed 's/^group_id = .*/group_id = ""/' "$TMP/typo.toml" | grep -v sesion >"$TMP/empty.toml"
rc=0; "$KWAL" log run -c "$TMP/empty.toml" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "group_id is empty" "$TMP/err" || fail "empty group: $rc $(cat "$TMP/err")"
ok "an empty group id is refused"

# ---------------------------------------------------------------------------------------------- two nodes
config "$TMP/node.toml"
"$KWAL" log run -c "$TMP/node.toml" >"$TMP/n1" 2>"$TMP/n1.err" &
P1=$!; PIDS+=($P1)
wait_grep "$TMP/n1" "^leader db term [0-9]"
ok "the first node leads: $(grep '^leader' "$TMP/n1")"
"$KWAL" log run -c "$TMP/node.toml" >"$TMP/n2" 2>"$TMP/n2.err" &
P2=$!; PIDS+=($P2)
wait_grep "$TMP/n2" "^follower db$"
printf 'one\ntwo\n' | "$KWAL" -b "$B" produce -t "$RUN-src" >/dev/null
wait_grep "$TMP/n1" "^apply db 1 two$"
wait_grep "$TMP/n2" "^replica db [0-9]* [0-9]* two$"
grep -q "^apply db 0 one$" "$TMP/n1" || fail "node 1 did not apply 'one': $(cat "$TMP/n1")"
ok "the leader copies commands into the replica; the follower reads them"
T1=$(sed -n "s/^leader db term //p" "$TMP/n1" | tail -n 1)
kill -INT "$P1"; wait "$P1" || fail "node 1 exited $? after SIGINT"
grep -q "^closed$" "$TMP/n1" || fail "node 1 did not close"
wait_grep "$TMP/n2" "^leader db term [0-9]"
T2=$(sed -n "s/^leader db term //p" "$TMP/n2" | tail -n 1)
[ "$T2" -gt "$T1" ] || fail "term $T2 after $T1"
printf 'three\n' | "$KWAL" -b "$B" produce -t "$RUN-src" >/dev/null
wait_grep "$TMP/n2" "^apply db 2 three$"
ok "the second node takes over with a higher term ($T1 -> $T2) and goes on at the next command"
kill -INT "$P2"; wait "$P2" || fail "node 2 exited $? after SIGINT"
"$KWAL" -b "$B" consume -t "$RUN-src-replica" -o beginning -e >"$TMP/replica" 2>/dev/null
[ "$(tr '\n' ' ' <"$TMP/replica")" = "one two three " ] || fail "replica: $(cat "$TMP/replica")"
ok "the replica has every command once, in order"
echo "1..$TESTS"
