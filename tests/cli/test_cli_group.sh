#!/usr/bin/env bash
# End-to-end tests of `kwal consume -G` (the balanced consumer) against the real broker: join, print, commit, leave.
#
#   tests/cli/test_cli_group.sh path/to/kwal
#
# Needs the single-node broker (tests/kafka/broker up); reads its address from KWAL_BOOTSTRAP or,
# when unset, from `tests/kafka/broker env`.
set -euo pipefail

KWAL=$(realpath "${1:?usage: test_cli_group.sh path/to/kwal}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${KWAL_BOOTSTRAP:-}" ]; then
  eval "$("$ROOT/tests/kafka/broker" env)"
fi
B=$KWAL_BOOTSTRAP
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
RUN="cligroup$$x$RANDOM" # names unique to this run: the broker is shared
TESTS=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $*"; }
run() {
  local want=$1 rc=0; shift
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout" >&2; head -c 2000 "$TMP/out" >&2
    echo "--- stderr" >&2; head -c 2000 "$TMP/err" >&2
    fail "exit $rc (wanted $want): $*"
  fi
}
usage() {
  local msg=$1; shift
  run 2 "$KWAL" "$@"
  [ "$(tail -n 1 "$TMP/err")" = "$msg" ] || fail "kwal $*: stderr '$(tail -n 1 "$TMP/err")', wanted '$msg'"
  ok "usage error: kwal $*"
}
# wait_lines FILE N: waits up to 60 s for FILE to have N lines.
wait_lines() {
  for _ in $(seq 600); do
    [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "$1 has $(wc -l <"$1") lines, wanted $2: $(head -c 500 "$1")"
}
# stop PID: SIGINT, then it must exit 0 within 30 s.
stop() {
  kill -INT "$1"
  local rc=0
  timeout 30 tail --pid="$1" -f /dev/null || fail "pid $1 did not exit after SIGINT"
  wait "$1" || rc=$?
  [ "$rc" = 0 ] || fail "kwal consume -G exited $rc after SIGINT"
}

# ---------------------------------------------------------------------------------------------- usage
usage "kwal: consume: -G: the group id must not be empty" -b "$B" consume -G '' -t t
usage "kwal: consume: -G takes -t, -o beginning|end, -c and -f only (the group assigns partitions)" \
  -b "$B" consume -G g -t t -p 0
usage "kwal: consume: -G takes -t, -o beginning|end, -c and -f only (the group assigns partitions)" \
  -b "$B" consume -G g -t t -e
usage "kwal: consume: several -t need -G GROUP" -b "$B" consume -t a -t b
usage "kwal: consume: --topic-regex needs -G GROUP and --group-protocol consumer (the broker matches it: KIP-848)" \
  -b "$B" consume -G g --topic-regex 'a.*'
usage "kwal: consume: --topic-regex must not be empty" -b "$B" consume -G g --topic-regex ''
usage "kwal: consume: --group-protocol: 'eager' is not classic or consumer" \
  -b "$B" consume -G g -t t --group-protocol eager
usage "kwal: consume: --group-protocol and --group-instance-id need -G GROUP" \
  -b "$B" consume -t t --group-protocol consumer

# ---------------------------------------------------------------------------------------------- one member
T1="$RUN-a"; T2="$RUN-b"; G="$RUN-g"
run 0 "$KWAL" -b "$B" topics create -t "$T1" --partitions 2 --replication 1
run 0 "$KWAL" -b "$B" topics create -t "$T2" --partitions 1 --replication 1
printf 'a0\na1\n' | run 0 "$KWAL" -b "$B" produce -t "$T1" -p 0
printf 'a2\n' | run 0 "$KWAL" -b "$B" produce -t "$T1" -p 1
printf 'b0\nb1\n' | run 0 "$KWAL" -b "$B" produce -t "$T2"

"$KWAL" -b "$B" consume -G "$G" -t "$T1" -t "$T2" -o beginning -f '%t/%p %s\n' \
  >"$TMP/m1" 2>"$TMP/m1.err" &
PIDS+=($!); P1=$!
wait_lines "$TMP/m1" 5
stop "$P1"
[ "$(sort "$TMP/m1" | tr '\n' ' ')" = "$T1/0 a0 $T1/0 a1 $T1/1 a2 $T2/0 b0 $T2/0 b1 " ] ||
  fail "member printed: $(cat "$TMP/m1")"
grep -q "assigned" "$TMP/m1.err" || fail "no assignment on stderr: $(cat "$TMP/m1.err")"
ok "consume -G prints the records of every partition it is assigned, leaves on SIGINT"

# What it printed was committed: a new member goes on after it (-o beginning only applies without a commit).
printf 'a3\n' | run 0 "$KWAL" -b "$B" produce -t "$T1" -p 1
run 0 "$KWAL" -b "$B" consume -G "$G" -t "$T1" -t "$T2" -o beginning -c 1
[ "$(cat "$TMP/out")" = "a3" ] || fail "after the commit: $(cat "$TMP/out")"
ok "consume -G commits what it printed: the next member starts after it (and -c leaves after COUNT)"

# ---------------------------------------------------------------------------------------------- two members
G2="$RUN-g2"
"$KWAL" -b "$B" consume -G "$G2" -t "$T1" -t "$T2" -o end >"$TMP/x" 2>"$TMP/x.err" &
PIDS+=($!); PX=$!
"$KWAL" -b "$B" consume -G "$G2" -t "$T1" -t "$T2" -o end >"$TMP/y" 2>"$TMP/y.err" &
PIDS+=($!); PY=$!
# both assigned something (three partitions, two members: one gets one, the other two)
for _ in $(seq 600); do
  grep -q assigned "$TMP/x.err" && grep -q assigned "$TMP/y.err" && break
  sleep 0.1
done
grep -q assigned "$TMP/x.err" && grep -q assigned "$TMP/y.err" ||
  fail "not both assigned: x: $(cat "$TMP/x.err") y: $(cat "$TMP/y.err")"
sleep 1 # the cooperative second round settles
printf 'n0\n' | run 0 "$KWAL" -b "$B" produce -t "$T1" -p 0
printf 'n1\n' | run 0 "$KWAL" -b "$B" produce -t "$T1" -p 1
printf 'n2\n' | run 0 "$KWAL" -b "$B" produce -t "$T2"
for _ in $(seq 600); do
  [ "$(cat "$TMP/x" "$TMP/y" | wc -l)" -ge 3 ] && break
  sleep 0.1
done
sleep 1 # a record printed twice would show up by now
[ "$(cat "$TMP/x" "$TMP/y" | sort | tr '\n' ' ')" = "n0 n1 n2 " ] ||
  fail "two members printed: x: $(cat "$TMP/x") y: $(cat "$TMP/y")"
[ -s "$TMP/x" ] && [ -s "$TMP/y" ] || fail "one member got nothing: x: $(cat "$TMP/x") y: $(cat "$TMP/y")"
stop "$PX"
stop "$PY"
grep -q revoked "$TMP/x.err" || grep -q revoked "$TMP/y.err" || fail "no revocation reported"
ok "two consume -G members split the partitions: every record printed once"

# ---------------------------------------------------------------------------------------------- KIP-848
G3="$RUN-g3"
"$KWAL" -b "$B" consume -G "$G3" -t "$T1" -t "$T2" -o beginning --group-protocol consumer \
  >"$TMP/k" 2>"$TMP/k.err" &
PIDS+=($!); PK=$!
wait_lines "$TMP/k" 9
stop "$PK"
[ "$(sort "$TMP/k" | tr '\n' ' ')" = "a0 a1 a2 a3 b0 b1 n0 n1 n2 " ] || fail "KIP-848 member printed: $(cat "$TMP/k")"
ok "consume -G --group-protocol consumer (KIP-848) reads every assigned partition"

# A regex subscription (the broker matches it): both topics, named by no -t.  Kafka 3.x speaks
# only ConsumerGroupHeartbeat v0, which has no regex: there the 'not supported' case below is
# the one that applies (the library decides from the broker's ApiVersions).
G4="$RUN-g4"
case "${KWAL_KAFKA_VERSION:-}" in
3.*)
  echo "skip: consume -G --topic-regex against Kafka $KWAL_KAFKA_VERSION (no ConsumerGroupHeartbeat v1)"
  ;;
*)
  "$KWAL" -b "$B" consume -G "$G4" --topic-regex "$RUN-.*" -o beginning --group-protocol consumer \
    >"$TMP/r" 2>"$TMP/r.err" &
  PIDS+=($!); PR=$!
  wait_lines "$TMP/r" 9
  stop "$PR"
  [ "$(sort "$TMP/r" | tr '\n' ' ')" = "a0 a1 a2 a3 b0 b1 n0 n1 n2 " ] || fail "regex member printed: $(cat "$TMP/r")"
  ok "consume -G --topic-regex (KIP-848): every topic the regex matches"
  ;;
esac
run 1 timeout 60 "$KWAL" -b "$B" -X api.version.max=3.9 consume -G "$G4-old" --topic-regex "$RUN-.*" \
  --group-protocol consumer
grep -q "kwal: group $G4-old: topic_regex \"$RUN-.\*\" is not supported by this broker" "$TMP/err" ||
  fail "no 'not supported' for a regex on a v0 heartbeat: $(cat "$TMP/err")"
ok "consume -G --topic-regex speaking Kafka 3.9's versions: 'not supported', exit 1"

run 0 "$KWAL" -b "$B" topics delete -t "$T1"
run 0 "$KWAL" -b "$B" topics delete -t "$T2"
echo "1..$TESTS"
