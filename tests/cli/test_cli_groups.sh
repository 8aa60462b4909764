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
  # the groups too (kwal has no DeleteGroups): the broker is shared
  timeout 60 java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$KWAL_KAFKA_LIB/*" \
    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$B" --delete \
    --group "$RUN-g" --group "$RUN-java" --group "$RUN-kip848" >/dev/null 2>&1 || true
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

# ---------------------------------------------------------------------------------------------- groups
usage "kwal: groups: say list or describe (see kwal groups --help)" -b "$B" groups
usage "kwal: groups: unknown subcommand 'show' (list, describe)" -b "$B" groups show
usage "kwal: groups describe: say which GROUP (see kwal groups --help)" -b "$B" groups describe
usage "kwal: groups describe: unexpected argument 'b' (see kwal groups --help)" -b "$B" groups describe a b
usage "kwal: groups list: option '--convention' does not apply here (see kwal groups --help)" -b "$B" groups list --convention mimir
usage "kwal: groups describe: option '--state' does not apply here (see kwal groups --help)" -b "$B" groups describe g --state Stable
usage "kwal: groups list: --state: the value is empty" -b "$B" groups list --state ""
run 0 "$KWAL" groups --help
grep -q "^usage: kwal" "$TMP/out" || fail "groups --help: $(head -n 1 "$TMP/out")"
ok "kwal groups --help"

# A group only committed to (the one above): Empty, no protocol, no members, its offsets with lag.
run 0 "$KWAL" -b "$B" groups list
has_out "$G Empty classic -"
ok "groups list shows a group only committed to: Empty, classic, no protocol type"
run 0 "$KWAL" -b "$B" groups list --state Stable
grep -q "^$G " "$TMP/out" && fail "groups list --state Stable lists the Empty group $G"
ok "groups list --state filters"
run 0 "$KWAL" -b "$B" groups describe "$G"
has_out "group $G  state Empty  protocol-type -  protocol -  coordinator 1  members 0"
has_out "# group $G: COMMITTED is the next offset to read (kafka); LAG = END - COMMITTED"
has_out "$TA 0 5 0 0"
has_out "$TA 1 2 10 8"
has_out "$TA 2 4 4 0"
has_out "$TB 0 0 0 0"
ok "groups describe of a group with no members: state, committed offsets and lag per partition"
run 1 "$KWAL" -b "$B" groups describe "$RUN-nobody"
has_err "kwal: groups describe: group $RUN-nobody: GROUP_ID_NOT_FOUND"
ok "groups describe of an unknown group fails naming it"

# A group the Java console consumer joins: a member with its client id, host and assignment.
GJ=$RUN-java
java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$KWAL_KAFKA_LIB/*" \
  org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$B" --topic "$TA" --group "$GJ" \
  --from-beginning --consumer-property client.id=kwal-it-console \
  --consumer-property auto.commit.interval.ms=200 >"$TMP/console.out" 2>"$TMP/console.err" &
PIDS+=($!)
stable=0
for _ in $(seq 1 120); do
  if "$KWAL" -b "$B" groups describe "$GJ" >"$TMP/out" 2>/dev/null && grep -q "state Stable" "$TMP/out" &&
    grep -q "^$TA 1 10 10 0$" "$TMP/out"; then
    stable=1
    break
  fi
  sleep 0.5
done
[ "$stable" = 1 ] || fail "the console consumer's group never got Stable with partition 1 committed: $(cat "$TMP/out") $(cat "$TMP/console.err")"
[ "$(grep -c "^[0-9]*$" "$TMP/console.out")" = 14 ] || fail "the console consumer printed $(grep -c "^[0-9]*$" "$TMP/console.out") records, not 14: $(head -c 500 "$TMP/console.out")"
grep -q "^group $GJ  state Stable  protocol-type consumer  protocol range  coordinator 1  members 1$" "$TMP/out" ||
  fail "groups describe header: $(head -n 1 "$TMP/out")"
grep -q "^member kwal-it-console-[0-9a-f-]*  client-id kwal-it-console  host /127.0.0.1$" "$TMP/out" ||
  fail "groups describe member line: $(sed -n 2p "$TMP/out")"
has_out "  assigned $TA: 0,1,2"
ok "groups describe of the console consumer's group: Stable, range, its member's client id, host and assignment, lag 0"
member=$(awk '/^member / { print $2 }' "$TMP/out")
cgc --describe --group "$GJ" --members --verbose >"$TMP/java" 2>&1 || fail "ConsumerGroupCommand --members: $(cat "$TMP/java")"
# (Kafka 4 prints the assignment as TOPIC:0,1,2; Kafka 3.9 as (0,1,2), the topic left out)
grep -Eq "$member .*kwal-it-console +3 .*($TA:0,1,2|\(0,1,2\))" "$TMP/java" ||
  fail "Java's --describe --members --verbose does not show $member with $TA:0,1,2: $(cat "$TMP/java")"
ok "Kafka's ConsumerGroupCommand --members --verbose shows the member and assignment kwal decoded"
run 0 "$KWAL" -b "$B" groups list
has_out "$GJ Stable classic consumer"
ok "groups list shows the console consumer's group Stable, protocol type consumer"
run 1 "$KWAL" -b "$B" offsets -t "$TA" -G "$GJ" --commit 1:3
has_err "the group has active members"
ok "--commit to a group with a live member fails and says why"

kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true
empty=0
for _ in $(seq 1 60); do
  if "$KWAL" -b "$B" groups describe "$GJ" >"$TMP/out" 2>/dev/null && grep -q "state Empty" "$TMP/out"; then
    empty=1
    break
  fi
  sleep 0.5
done
[ "$empty" = 1 ] || fail "the group did not become Empty after the console consumer stopped: $(cat "$TMP/out")"
grep -q "members 0$" "$TMP/out" || fail "members after the stop: $(head -n 1 "$TMP/out")"
has_out "$TA 1 10 10 0"
ok "after the console consumer leaves: Empty, no members, its committed offsets stay"

# A KIP-848 group (the console consumer with group.protocol=consumer and a rack):
# DescribeGroups does not know it, ConsumerGroupDescribe does: epochs, assignor, the member's epoch,
# rack, subscription and assignment, cross-checked with Kafka's ConsumerGroupCommand.
GK=$RUN-kip848
java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$KWAL_KAFKA_LIB/*" \
  org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$B" --topic "$TA" --group "$GK" \
  --from-beginning --consumer-property group.protocol=consumer \
  --consumer-property client.id=kwal-it-848 --consumer-property client.rack=kwal-rack \
  --consumer-property auto.commit.interval.ms=200 >"$TMP/console2.out" 2>"$TMP/console2.err" &
PIDS+=($!)
seen=0
for _ in $(seq 1 120); do
  if "$KWAL" -b "$B" groups describe "$GK" >"$TMP/out" 2>"$TMP/err" && grep -q "^$TA 1 10 10 0$" "$TMP/out"; then
    seen=1
    break
  fi
  sleep 0.5
done
[ "$seen" = 1 ] || fail "the KIP-848 group never showed its offsets: $(cat "$TMP/out" "$TMP/err")"
grep -Eq "^group $GK  type consumer  state Stable  assignor uniform  group-epoch [0-9]+  assignment-epoch [0-9]+  coordinator 1  members 1$" "$TMP/out" ||
  fail "KIP-848 groups describe header: $(head -n 1 "$TMP/out")"
rack="  rack kwal-rack"
case "${KWAL_KAFKA_VERSION:-}" in 3.*) rack="(  rack kwal-rack)?" ;; esac # 3.9 may not keep the rack
grep -Eq "^member [A-Za-z0-9_-]+  client-id kwal-it-848  host /127.0.0.1  epoch [0-9]+$rack\$" "$TMP/out" ||
  fail "KIP-848 groups describe member line: $(sed -n 2p "$TMP/out")"
has_out "  subscribed $TA"
has_out "  assigned $TA: 0,1,2"
grep -q "^  target" "$TMP/out" && fail "a settled member shows a target: $(cat "$TMP/out")"
member=$(awk '/^member / { print $2 }' "$TMP/out")
epoch=$(awk '/^member / { print $8 }' "$TMP/out")
cgc --describe --group "$GK" --members --verbose >"$TMP/java" 2>&1 || fail "ConsumerGroupCommand --members (KIP-848): $(cat "$TMP/java")"
java_line="^$GK +$member +/127.0.0.1 +kwal-it-848 +3 +$epoch +$TA:0,1,2 +$epoch +$TA:0,1,2"
# Kafka 3.9's tool prints no epochs and the assignment as (0,1,2)
case "${KWAL_KAFKA_VERSION:-}" in 3.*) java_line="^$GK +$member +/127.0.0.1 +kwal-it-848 +3 +\(0,1,2\)" ;; esac
grep -Eq "$java_line" "$TMP/java" ||
  fail "Java's --members --verbose does not show member $member, epoch $epoch, $TA:0,1,2: $(cat "$TMP/java")"
run 0 "$KWAL" -b "$B" groups list --type consumer
has_out "$GK Stable consumer consumer"
ok "a KIP-848 group: listed with its type, described through ConsumerGroupDescribe as Kafka's ConsumerGroupCommand describes it"
kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true

echo "1..$TESTS"
