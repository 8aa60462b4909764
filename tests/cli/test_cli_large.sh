#!/usr/bin/env bash
# Mimir-sized records (15,983,616 bytes) through `kwal produce -F` and `kwal consume`, both ways with kcat, and the named MESSAGE_TOO_LARGE error.
#
#   tests/cli/test_cli_large.sh path/to/kwal
#
# Needs the single-node broker; reads its address from KWAL_BOOTSTRAP or `tests/kafka/broker env`.
# The topics get max.message.bytes=16000000 (as Mimir's docs ask); the broker keeps its default
# message.max.bytes, so a topic without the setting refuses the record.  kcat is optional: without
# it the interop cases are skipped (and say so).
set -euo pipefail

KWAL=$(realpath "${1:?usage: test_cli_large.sh path/to/kwal}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${KWAL_BOOTSTRAP:-}" ]; then
  eval "$("$ROOT/tests/kafka/broker" env)"
fi
B=$KWAL_BOOTSTRAP
TMP=$(mktemp -d)
RUN="large$$x$RANDOM"
TOPICS=()
cleanup() {
  for t in "${TOPICS[@]}"; do "$KWAL" -b "$B" topics delete -t "$t" >/dev/null 2>&1 || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
TESTS=0
SIZE=15983616 # Mimir's producer-max-record-size-bytes default

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $*"; }
run() {
  local want=$1 rc=0; shift
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stderr" >&2; head -c 2000 "$TMP/err" >&2
    fail "exit $rc (wanted $want): $*"
  fi
}
has_err() { grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"; }
same() { cmp -s "$1" "$2" || fail "$3: $(cmp "$1" "$2" 2>&1 | head -1) (sizes $(stat -c %s "$1") and $(stat -c %s "$2"))"; }
topic() { # topic NAME [--config k=v]: creates a 1-partition topic $T, deleted at exit
  T=$RUN-$1; shift
  run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 1 "$@"
  TOPICS+=("$T") # not in a $(...) subshell: the exit trap must see it
}

# Binary values: every byte value, newlines included, so nothing line-based could pass by chance.
head -c $SIZE /dev/urandom >"$TMP/a.bin"
head -c $SIZE /dev/urandom >"$TMP/b.bin"
[ "$(stat -c %s "$TMP/a.bin")" = $SIZE ] || fail "could not make the test value"

# ---------------------------------------------------------------------------------------------- kwal both ways
topic big --config max.message.bytes=16000000
TB=$T
run 0 "$KWAL" -b "$B" produce -t "$T" -p 0 -F "$TMP/a.bin"
has_err "produced 1 records to $T/0"
run 0 "$KWAL" -b "$B" produce -t "$T" -p 0 -F - <"$TMP/b.bin"
run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -c 1 -f '%s'
same "$TMP/out" "$TMP/a.bin" "kwal reading the 15,983,616-byte record kwal wrote from a file"
run 0 "$KWAL" -b "$B" consume -t "$T" -o 1 -c 1 -f '%s'
same "$TMP/out" "$TMP/b.bin" "kwal reading the 15,983,616-byte record kwal wrote from stdin"
run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -e -f '%o %S\n'
[ "$(cat "$TMP/out")" = "0 $SIZE
1 $SIZE" ] || fail "offsets and sizes: $(cat "$TMP/out")"
ok "kwal produce -F (file and stdin) and kwal consume: two $SIZE-byte records byte for byte"

# ---------------------------------------------------------------------------------------------- over the limit
topic small
T2=$T
run 1 "$KWAL" -b "$B" produce -t "$T2" -p 0 -F "$TMP/a.bin"
has_err "MESSAGE_TOO_LARGE: a batch of"
has_err "(1 record, its largest record $SIZE bytes) for $T2/0 is over the limit"
has_err "topic $T2's max.message.bytes is 1048588"
ok "a record over the topic's limit: MESSAGE_TOO_LARGE naming the record's size and max.message.bytes"
topic mid --config max.message.bytes=2000000
T3=$T
head -c 3000000 /dev/urandom >"$TMP/c.bin"
run 1 "$KWAL" -b "$B" produce -t "$T3" -p 0 -F "$TMP/c.bin"
has_err "its largest record 3000000 bytes) for $T3/0 is over the limit; topic $T3's max.message.bytes is 2000000"
ok "the limit named is the topic's own max.message.bytes"
topic seg --config segment.bytes=1048576 --config max.message.bytes=16000000
T5=$T
run 1 "$KWAL" -b "$B" produce -t "$T5" -p 0 -F "$TMP/c.bin"
has_err "RECORD_LIST_TOO_LARGE: a batch of"
has_err "its largest record 3000000 bytes) for $T5/0 is over the limit; topic $T5's segment.bytes is 1048576"
ok "a batch over the topic's segment size: RECORD_LIST_TOO_LARGE naming segment.bytes"

# ---------------------------------------------------------------------------------------------- kcat interop
if ! command -v kcat >/dev/null; then
  echo "# kcat is not installed: interop cases skipped"
else
  # librdkafka's consumer starts at fetch.message.max.bytes=1 MiB and must grow to the record.
  run 0 kcat -b "$B" -C -t "$TB" -p 0 -o 0 -c 1 -e -q -f '%s'
  same "$TMP/out" "$TMP/a.bin" "kcat reading the record kwal wrote"
  ok "kcat reads the $SIZE-byte record kwal produced, byte for byte"
  topic kcat --config max.message.bytes=16000000
  T4=$T
  run 0 kcat -b "$B" -P -t "$T4" -p 0 -X message.max.bytes=16000000 "$TMP/b.bin"
  run 0 "$KWAL" -b "$B" consume -t "$T4" -o beginning -e -f '%s'
  same "$TMP/out" "$TMP/b.bin" "kwal reading the record kcat wrote"
  ok "kwal reads the $SIZE-byte record kcat produced, byte for byte"
fi

echo "1..$TESTS"
