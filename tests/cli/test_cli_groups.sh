#!/usr/bin/env bash
# `kwal offsets -G` (committed offsets, lag, --commit) and `kwal groups` against the broker, cross-checked with Kafka's own Java tools.
#
#   tests/cli/test_cli_groups.sh path/to/kwal
#
# Needs the single-node broker (tests/kafka/broker up) and java (the broker's jars hold
# ConsumerGroupCommand and the Java console consumer); exits 77 (skip) without them.
set -euo pipefail

KWAL=$(realpath "${1:?usage: test_cli_groups.sh path/to/kwal}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${KWAL_BOOTSTRAP:-}" ] || [ -z "${KWAL_KAFKA_LIB:-}" ]; then
  eval "$("$ROOT/tests/kafka/broker" env)"
fi
B=$KWAL_BOOTSTRAP
if ! "$KWAL" -b "$B" -X request.timeout.ms=5000 topics list >/dev/null 2>&1; then
  echo "SKIP: no broker at $B (tests/kafka/broker up)"
  exit 77
fi
if ! command -v java >/dev/null || ! ls "$KWAL_KAFKA_LIB"/kafka-tools-*.jar >/dev/null 2>&1; then
  echo "SKIP: java or the broker's jars ($KWAL_KAFKA_LIB) are missing"
  exit 77
fi
TMP=$(mktemp -d)
PIDS=()
RUN="ingest$$x$RANDOM" # topic and group names unique to this run: the broker is shared
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  "$KWAL" -b "$B" topics delete -t "$RUN-a" -t "$RUN-b" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
TESTS=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $*"; }
# run CODE CMD...: runs CMD, stdout to $TMP/out, stderr to $TMP/err; fails unless it exits with CODE.
run() {
  local want=$1 rc=0; shift
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout" >&2; head -c 3000 "$TMP/out" >&2
    echo "--- stderr" >&2; head -c 3000 "$TMP/err" >&2
    fail "exit $rc (wanted $want): $*"
  fi
}
# usage MESSAGE ARGS...: kwal ARGS exits 2 and its stderr's last line is exactly MESSAGE.
usage() {
  local msg=$1; shift
  run 2 "$KWAL" "$@"
  [ "$(tail -n 1 "$TMP/err")" = "$msg" ] || fail "kwal $*: stderr '$(tail -n 1 "$TMP/err")', wanted '$msg'"
  ok "usage error: kwal $*"
}
has_err() { grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"; }
has_out() { grep -qxF -- "$1" "$TMP/out" || fail "stdout lacks line '$1': $(head -c 3000 "$TMP/out")"; }
# rows: the table kwal offsets -G printed, without its '#' header lines.
rows() { grep -v '^#' "$TMP/out" || true; }
# java_tool CLASS ARGS...: one of Kafka's command-line tools from the broker's jars.
java_tool() {
  timeout 120 java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$KWAL_KAFKA_LIB/*" "$@"
}
cgc() { java_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$B" "$@"; }

TA=$RUN-a
TB=$RUN-b
G=$RUN-g

# ---------------------------------------------------------------------------------------------- usage errors
usage "kwal: offsets: --commit: '3' is not PARTITION:OFFSET" -b "$B" offsets -t "$TA" -G "$G" --commit 3
usage "kwal: offsets: --commit: ':3' is not PARTITION:OFFSET" -b "$B" offsets -t "$TA" -G "$G" --commit :3
usage "kwal: offsets: --commit: '3:' is not PARTITION:OFFSET" -b "$B" offsets -t "$TA" -G "$G" --commit 3:
usage "kwal: offsets: --commit x:3: 'x' is not a partition number" -b "$B" offsets -t "$TA" -G "$G" --commit x:3
usage "kwal: offsets: --commit -1:3: '-1' is not a partition number" -b "$B" offsets -t "$TA" -G "$G" --commit -1:3
usage "kwal: offsets: --commit 1:-4: the offset is negative" -b "$B" offsets -t "$TA" -G "$G" --commit 1:-4
usage "kwal: offsets: --commit 1:4x: '4x' is not an offset" -b "$B" offsets -t "$TA" -G "$G" --commit 1:4x
usage "kwal: offsets: --commit 1:7: partition 1 is given twice" -b "$B" offsets -t "$TA" -G "$G" --commit 1:4 --commit 1:7
usage "kwal: offsets: --commit and --convention need -G GROUP" -b "$B" offsets -t "$TA" --commit 1:4
usage "kwal: offsets: -G: the group name is empty" -b "$B" offsets -t "$TA" -G ""
usage "kwal: offsets: one -t TOPIC is required (see kwal offsets --help)" -b "$B" offsets -G "$G"
usage "kwal: offsets: --convention: 'java' is not kafka or mimir" -b "$B" offsets -t "$TA" -G "$G" --convention java
usage "kwal: offsets: -p does not apply to --commit (it names its partitions)" -b "$B" offsets -t "$TA" -G "$G" -p 0 --commit 0:1
run 0 "$KWAL" offsets -G "$G" --help
grep -q "^usage: kwal" "$TMP/out" && grep -q "mimir .*last offset consumed" "$TMP/out" ||
  fail "offsets -G --help: $(head -n 3 "$TMP/out")"
ok "offsets -G --help says both conventions"

# ---------------------------------------------------------------------------------------------- offsets -G
run 0 "$KWAL" -b "$B" topics create -t "$TA" --partitions 3
run 0 "$KWAL" -b "$B" topics create -t "$TB" --partitions 2
seq 1 10 | "$KWAL" -b "$B" produce -t "$TA" -p 1 2>/dev/null
seq 1 4 | "$KWAL" -b "$B" produce -t "$TA" -p 2 2>/dev/null
run 1 "$KWAL" -b "$B" offsets -t "$RUN-nosuch" -G "$G"
has_err "kwal: topic $RUN-nosuch: UNKNOWN_TOPIC_OR_PARTITION"
ok "offsets -G of a topic that does not exist fails naming it"
run 1 "$KWAL" -b "$B" offsets -t "$TA" -G "$G" --commit 3:1
has_err "kwal: offsets: --commit 3:1: topic $TA has no partition 3 (it has 3)"
ok "--commit to a partition the topic lacks fails naming the argument"

run 0 "$KWAL" -b "$B" offsets -t "$TA" -G "$G"
has_out "# group $G topic $TA: COMMITTED is the next offset to read (kafka); LAG = END - COMMITTED"
has_out "# PARTITION COMMITTED END LAG"
[ "$(rows)" = $'0 - 0 -\n1 - 10 -\n2 - 4 -' ] || fail "offsets -G before any commit: $(rows)"
ok "offsets -G of a group with no offsets: '-' committed, the end offsets"

run 0 "$KWAL" -b "$B" offsets -t "$TA" -G "$G" --commit 1:7 --commit 2:4
has_err "committed $TA/1 offset 7 for group $G"
has_err "committed $TA/2 offset 4 for group $G"
run 0 "$KWAL" -b "$B" offsets -t "$TA" -G "$G"
[ "$(rows)" = $'0 - 0 -\n1 7 10 3\n2 4 4 0' ] || fail "offsets -G after --commit: $(rows)"
ok "--commit then offsets -G reads the offsets back with the lag"
run 0 "$KWAL" -b "$B" offsets -t "$TA" -G "$G" --convention mimir -p 1
has_out "# group $G topic $TA: COMMITTED is the last offset consumed (mimir); LAG = END - COMMITTED - 1"
[ "$(rows)" = "1 7 10 2" ] || fail "offsets -G --convention mimir -p 1: $(rows)"
ok "--convention mimir: lag counts from committed + 1"
run 0 "$KWAL" -b "$B" offsets -t "$TA" -G "$G" --commit 0:5
has_err "warning: --commit 0:5 is past the end of $TA/0 (0)"
ok "--commit past the end warns"

# kwal commits -> Kafka's tool shows them
cgc --describe --group "$G" >"$TMP/java" 2>&1 || fail "ConsumerGroupCommand --describe: $(cat "$TMP/java")"
# columns: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
awk -v t="$TA" '$2 == t { print $3, $4, $5, $6 }' "$TMP/java" | sort >"$TMP/jrows"
[ "$(cat "$TMP/jrows")" = $'0 5 0 -5\n1 7 10 3\n2 4 4 0' ] ||
  [ "$(cat "$TMP/jrows")" = $'0 5 0 0\n1 7 10 3\n2 4 4 0' ] ||
  fail "Java's ConsumerGroupCommand --describe after kwal's commits: $(cat "$TMP/java")"
ok "Kafka's ConsumerGroupCommand --describe shows what kwal --commit set, same lag"

# Kafka's tool resets -> kwal reads them
cgc --reset-offsets --group "$G" --topic "$TA:1" --to-offset 2 --execute >"$TMP/java" 2>&1 ||
  fail "ConsumerGroupCommand --reset-offsets: $(cat "$TMP/java")"
cgc --reset-offsets --group "$G" --topic "$TB" --to-offset 0 --execute >"$TMP/java" 2>&1 ||
  fail "ConsumerGroupCommand --reset-offsets: $(cat "$TMP/java")"
run 0 "$KWAL" -b "$B" offsets -t "$TA" -G "$G"
[ "$(rows)" = $'0 5 0 0\n1 2 10 8\n2 4 4 0' ] || fail "offsets -G after Java's --reset-offsets: $(rows)"
run 0 "$KWAL" -b "$B" offsets -t "$TB" -G "$G"
[ "$(rows)" = $'0 0 0 0\n1 0 0 0' ] || fail "offsets -G of $TB after Java's --reset-offsets: $(rows)"
ok "kwal offsets -G reads what Kafka's ConsumerGroupCommand --reset-offsets --to-offset set"

echo "1..$TESTS"
