#!/usr/bin/env bash
# End-to-end tests of `kwal wal append|replay|info`: usage errors and the local provider (no broker), or the kafka provider.
#
#   tests/cli/test_cli_wal.sh path/to/kwal local   # needs nothing
#   tests/cli/test_cli_wal.sh path/to/kwal kafka   # needs the single-node broker (tests/kafka/broker up)
set -euo pipefail

KWAL=$(realpath "${1:?usage: test_cli_wal.sh path/to/kwal local|kafka}")
MODE=${2:?usage: test_cli_wal.sh path/to/kwal local|kafka}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d)
BG=()
cleanup() {
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
RUN="cliwal$$x$RANDOM" # topic names unique to this run: the broker is shared and never wiped here
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
has_err() { grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"; }
has_out() { grep -qxF -- "$1" "$TMP/out" || fail "stdout lacks line '$1': $(head -c 2000 "$TMP/out")"; }
same() { cmp -s "$1" "$2" || { diff <(head -c 4000 "$1") <(head -c 4000 "$2") | head -20 >&2; fail "$3"; }; }

# 500 lines with tabs, backslashes, UTF-8, empty lines and a few long ones.
awk 'BEGIN {
  for (i = 1; i <= 500; i++) {
    if (i % 100 == 0) print "";
    else if (i % 125 == 1) { s = ""; for (j = 0; j < 900; j++) s = s "y" i; print s }
    else printf "line %d\tvalue é \\ ü %08x\n", i, i * 2654435761 % 4294967296
  }
}' >"$TMP/lines"

if [ "$MODE" = local ]; then
  CONF=$TMP/local.toml
  printf '[wal]\nprovider = "local"\ndir = "%s"\nsegment_bytes = "1MB"\n' "$TMP/log" >"$CONF"
  KIND="local"
else
  if [ -z "${KWAL_BOOTSTRAP:-}" ]; then
    eval "$("$ROOT/tests/kafka/broker" env)"
  fi
  T=$RUN-wal
  run 0 "$KWAL" -b "$KWAL_BOOTSTRAP" topics create -t "$T" --partitions 1
  CONF=$TMP/kafka.toml
  # 4 KiB batches: the 1800-byte lines share batches, a 20 kB line is split into parts
  printf '[wal]\nprovider = "kafka"\nbroker_endpoints = ["%s"]\ntopic = "%s"\nmax_batch_bytes = "4KB"\n' \
    "$KWAL_BOOTSTRAP" "$T" >"$CONF"
  KIND="kafka"
fi

# ---------------------------------------------------------------------------------------------- usage
if [ "$MODE" = local ]; then
  usage "kwal: wal: say append, replay or info (see kwal wal --help)" wal
  usage "kwal: wal: unknown subcommand 'frob' (append, replay, info)" wal frob
  usage "kwal: wal append: -c CONFIG is required (see kwal wal --help)" wal append --region 1
  usage "kwal: wal append: --region ID is required (see kwal wal --help)" wal append -c "$CONF"
  usage "kwal: wal replay: --region ID is required (see kwal wal --help)" wal replay -c "$CONF" --from 3
  usage "kwal: wal append: --region: '-1' is not a region id (a decimal integer from 0 to 18446744073709551615)" \
    wal append -c "$CONF" --region -1
  usage "kwal: wal append: --region: '18446744073709551616' is not a region id (a decimal integer from 0 to 18446744073709551615)" \
    wal append -c "$CONF" --region 18446744073709551616
  usage "kwal: wal replay: --region: '0x10' is not a region id (a decimal integer from 0 to 18446744073709551615)" \
    wal replay -c "$CONF" -r 0x10
  usage "kwal: wal replay: --from: 'soon' is not an entry id (a decimal integer)" wal replay -c "$CONF" -r 1 --from soon
  usage "kwal: wal replay: --region 1 is given twice" wal replay -c "$CONF" -r 1 -r 2 -r 1
  usage "kwal: wal append: one --region: the lines go to one region" wal append -c "$CONF" -r 1 -r 2
  usage "kwal: wal append: option '--from' does not apply here (see kwal wal --help)" wal append -c "$CONF" -r 1 --from 2
  usage "kwal: wal append: option '-f' does not apply here (see kwal wal --help)" wal append -c "$CONF" -r 1 -f
  usage "kwal: wal info: option '--region' does not apply here (see kwal wal --help)" wal info -c "$CONF" --region 1
  usage "kwal: wal replay: unknown option '--frob' (see kwal wal replay --help)" wal replay -c "$CONF" -r 1 --frob
  usage "kwal: wal replay: option -c needs a value (see kwal wal replay --help)" wal replay -r 1 -c
  usage "kwal: wal info: unexpected argument 'extra' (see kwal wal --help)" wal info -c "$CONF" extra
  usage "kwal: wal info: -b and -X do not apply: the [wal] section of -c CONFIG says where the log is" \
    -b 127.0.0.1:1 wal info -c "$CONF"
  usage "kwal: wal info: -X does not apply: the [wal] section of -c CONFIG says where the log is" \
    wal info -c "$CONF" -X client.id=x
  usage "kwal: wal info: $TMP/nosuch.toml: No such file or directory" wal info -c "$TMP/nosuch.toml"
  printf '[wal]\nprovider = "local"\nbrokers = ["x:1"]\n' >"$TMP/bad.toml"
  usage "kwal: wal info: $TMP/bad.toml:3: unknown key 'brokers' in [wal] (did you mean broker_endpoints?)" \
    wal info -c "$TMP/bad.toml"
  printf '[wal]\nprovider = "local"\n' >"$TMP/nodir.toml"
  usage "kwal: wal append: $TMP/nodir.toml: dir: required for the local provider" wal append -c "$TMP/nodir.toml" -r 1
  for sub in "" append replay info; do
    # shellcheck disable=SC2086 # $sub is empty or one word on purpose
    run 0 "$KWAL" wal $sub --help
    head -n 1 "$TMP/out" | grep -q "^usage: kwal wal" || fail "kwal wal $sub --help: $(head -n 1 "$TMP/out")"
    [ ! -s "$TMP/err" ] || fail "kwal wal $sub --help wrote to stderr"
  done
  run 0 "$KWAL" --help
  has_out "  wal       append | replay | info -c CONFIG [--region ID]     the write-ahead log (kwal wal --help)"
  ok "kwal wal --help, kwal wal SUB --help, and wal in kwal --help"
fi

# ---------------------------------------------------------------------------------------------- round trip
run 0 "$KWAL" wal append -c "$CONF" --region 7 <"$TMP/lines"
cp "$TMP/out" "$TMP/ids7"
[ "$(wc -l <"$TMP/ids7")" = 500 ] || fail "append printed $(wc -l <"$TMP/ids7") ids for 500 lines"
sort -n -c "$TMP/ids7" 2>/dev/null || fail "append ids do not grow with input order"
[ "$(sort -u "$TMP/ids7" | wc -l)" = 500 ] || fail "append ids repeat"
has_err "appended 500 entries to region 7"
printf 'other\nregion\n' | run 0 "$KWAL" wal append -c "$CONF" -r 8
cp "$TMP/out" "$TMP/ids8"
# a last line without a newline is an entry too; so is an empty line
printf 'tail-1\n\ntail-3' | run 0 "$KWAL" wal append -c "$CONF" -r 7
cat "$TMP/out" >>"$TMP/ids7"
printf 'tail-1\n\ntail-3\n' >>"$TMP/lines"
run 0 "$KWAL" wal replay -c "$CONF" --region 7
cut -f 1 "$TMP/out" >"$TMP/got-ids"
cut -f 2- "$TMP/out" >"$TMP/got-lines"
same "$TMP/got-ids" "$TMP/ids7" "replay ids differ from the ids append printed"
same "$TMP/got-lines" "$TMP/lines" "replayed entries differ from the lines appended"
has_err "replayed 503 entries, $(($(wc -c <"$TMP/lines") - 503)) bytes of region 7"
has_err "0 bad records skipped, 0 incomplete entries"
ok "$KIND: append 503 lines, replay gives back each id<TAB>entry byte for byte, in order"

run 0 "$KWAL" wal replay -c "$CONF" --region 8
[ "$(cut -f 2 "$TMP/out" | tr '\n' ' ')" = "other region " ] || fail "region 8: $(cat "$TMP/out")"
same <(cut -f 1 "$TMP/out") "$TMP/ids8" "region 8 ids"
run 0 "$KWAL" wal replay -c "$CONF" --region 9
[ ! -s "$TMP/out" ] || fail "an empty region printed: $(cat "$TMP/out")"
has_err "replayed 0 entries, 0 bytes of region 9"
ok "$KIND: regions replay apart; an unknown region replays nothing"

# several regions in one pass: REGION<TAB>ID<TAB>BYTES in log order
run 0 "$KWAL" wal replay -c "$CONF" --region 8 --region 7 --region 9
same <(cut -f 2 "$TMP/out") <(sort -n "$TMP/ids7" "$TMP/ids8") "one pass: ids not in log order"
same <(grep $'^7\t' "$TMP/out" | cut -f 3-) "$TMP/lines" "one pass: region 7's entries"
same <(grep $'^8\t' "$TMP/out" | cut -f 3-) <(printf 'other\nregion\n') "one pass: region 8's entries"
[ "$(wc -l <"$TMP/out")" = 505 ] || fail "one pass printed $(wc -l <"$TMP/out") lines, wanted 505"
has_err "replayed 505 entries"
has_err "of 3 regions"
ok "$KIND: replay of several regions in one pass prints REGION<TAB>ID<TAB>BYTES in log order"

FROM=$(sed -n 490p "$TMP/ids7")
run 0 "$KWAL" wal replay -c "$CONF" --region 7 --from "$FROM"
same <(cut -f 1 "$TMP/out") <(tail -n +490 "$TMP/ids7") "--from $FROM: ids"
same <(cut -f 2- "$TMP/out") <(tail -n +490 "$TMP/lines") "--from $FROM: entries"
run 0 "$KWAL" wal replay -c "$CONF" --region 7 --from $(($(tail -n 1 "$TMP/ids7") + 1))
[ ! -s "$TMP/out" ] || fail "--from past the end printed: $(cat "$TMP/out")"
ok "$KIND: replay --from ID starts at that id"

printf 'a\tb\\c\rd\001\n' | run 0 "$KWAL" wal append -c "$CONF" -r 10
printf 'two\nlines\n' >"$TMP/nl"
run 0 "$KWAL" wal replay -c "$CONF" -r 10 -e
[ "$(cut -f 2- "$TMP/out")" = 'a\tb\\c\rd\x01' ] || fail "-e: $(cat "$TMP/out")"
run 0 "$KWAL" wal replay -c "$CONF" -r 10
[ "$(cut -f 2- "$TMP/out")" = "$(printf 'a\tb\\c\rd\001')" ] || fail "raw: $(od -c "$TMP/out")"
ok "$KIND: replay -e escapes tab, backslash, CR and control bytes; without -e bytes are raw"

# ---------------------------------------------------------------------------------------------- info
run 0 "$KWAL" wal info -c "$CONF"
if [ "$MODE" = local ]; then
  has_out "provider: local"
  has_out "dir: $TMP/log"
  has_out "regions: 3"
  has_out "region 7 latest $(tail -n 1 "$TMP/ids7") obsolete 0"
  has_out "region 8 latest $(tail -n 1 "$TMP/ids8") obsolete 0"
  has_out "first_id: 1"
  has_out "last_id: 506"
  has_out "segments: $(find "$TMP/log" -name '*.wal' | wc -l)"
  [ "$(grep '^bytes: ' "$TMP/out" | cut -d' ' -f2)" = "$(cat "$TMP"/log/*.wal | wc -c)" ] || fail "bytes: $(cat "$TMP/out")"
  ok "local: info names the dir, segments, bytes, ids and each region's latest id"
else
  has_out "provider: kafka"
  has_out "brokers: $KWAL_BOOTSTRAP"
  has_out "topic: $T"
  has_out "start_offset: 0"
  end=$(grep '^end_offset: ' "$TMP/out" | cut -d' ' -f2)
  [ "$end" -gt "$(tail -n 1 "$TMP/ids7")" ] || fail "end offset $end not past the last id"
  ok "kafka: info names the brokers, topic and its start and end offsets"
fi

# ---------------------------------------------------------------------------------------------- streaming
# A slow writer: an id reaches stdout while stdin is still open.
mkfifo "$TMP/fifo"
"$KWAL" wal append -c "$CONF" -r 11 <"$TMP/fifo" >"$TMP/fifo-out" 2>"$TMP/fifo-err" &
app=$!
BG+=("$app")
exec 7>"$TMP/fifo"
echo one >&7
for _ in $(seq 1 100); do [ -s "$TMP/fifo-out" ] && break; sleep 0.05; done
[ "$(wc -l <"$TMP/fifo-out")" = 1 ] || fail "no id while stdin is open: $(cat "$TMP/fifo-err")"
echo two >&7
exec 7>&-
wait "$app" || fail "append from a fifo failed: $(cat "$TMP/fifo-err")"
[ "$(wc -l <"$TMP/fifo-out")" = 2 ] || fail "fifo ids: $(cat "$TMP/fifo-out")"
ok "$KIND: append prints each id as soon as it is durable (stdin still open)"

if [ "$MODE" = kafka ]; then
  # The local provider locks its dir: a follower there would keep the appender out, so follow is kafka's
  # here (the local provider's follow is covered by tests/unit/test_wal_local.c).
  "$KWAL" wal replay -c "$CONF" -r 11 --follow >"$TMP/f-out" 2>"$TMP/f-err" &
  fol=$!
  BG+=("$fol")
  for _ in $(seq 1 100); do [ "$(wc -l <"$TMP/f-out")" = 2 ] && break; sleep 0.05; done
  printf 'three\n' | run 0 "$KWAL" wal append -c "$CONF" -r 11
  for _ in $(seq 1 100); do [ "$(wc -l <"$TMP/f-out")" = 3 ] && break; sleep 0.05; done
  kill -INT "$fol"
  rc=0
  wait "$fol" || rc=$?
  [ "$rc" = 0 ] || fail "replay --follow after SIGINT exited $rc: $(cat "$TMP/f-err")"
  [ "$(cut -f 2 "$TMP/f-out" | tr '\n' ' ')" = "one two three " ] || fail "follow: $(cat "$TMP/f-out")"
  grep -qF "replayed 3 entries" "$TMP/f-err" || fail "follow summary: $(cat "$TMP/f-err")"
  ok "kafka: replay --follow prints new entries and exits 0 on SIGINT"
else
  "$KWAL" wal replay -c "$CONF" -r 11 --follow >"$TMP/f-out" 2>"$TMP/f-err" &
  fol=$!
  BG+=("$fol")
  for _ in $(seq 1 100); do [ "$(wc -l <"$TMP/f-out")" = 2 ] && break; sleep 0.05; done
  [ "$(cut -f 2 "$TMP/f-out" | tr '\n' ' ')" = "one two " ] || fail "follow: $(cat "$TMP/f-out")"
  run 1 "$KWAL" wal info -c "$CONF"
  has_err "kwal: wal info: cannot open the WAL: KW_EAGAIN"
  kill -TERM "$fol"
  rc=0
  wait "$fol" || rc=$?
  [ "$rc" = 0 ] || fail "replay --follow after SIGTERM exited $rc: $(cat "$TMP/f-err")"
  ok "local: replay --follow holds the dir's lock (a second open fails with exit 1) and exits 0 on SIGTERM"
fi

# ---------------------------------------------------------------------------------------------- failures
if [ "$MODE" = kafka ]; then
  # The broker refuses batches over 1000 bytes: the long line fails (and whatever shared its batch).
  T2=$RUN-small
  run 0 "$KWAL" -b "$KWAL_BOOTSTRAP" topics create -t "$T2" --partitions 1 --config max.message.bytes=1000
  sed "s/^topic = .*/topic = \"$T2\"/" "$CONF" >"$TMP/small.toml"
  { echo first; head -c 3000 /dev/urandom | base64 -w 0; echo; echo last; } >"$TMP/toolarge"
  run 1 "$KWAL" wal append -c "$TMP/small.toml" -r 1 <"$TMP/toolarge"
  has_err "kwal: wal append: line 2 failed: KW_EBROKER"
  has_err "MESSAGE_TOO_LARGE"
  # stdout holds the ids of exactly the lines before the first failed one: line 1's or none
  if grep -qF "line 1 failed" "$TMP/err"; then want=0; else want=1; fi
  [ "$(wc -l <"$TMP/out")" = "$want" ] || fail "stdout after a failure: $(cat "$TMP/out"); $(cat "$TMP/err")"
  cp "$TMP/out" "$TMP/ids-small"
  run 0 "$KWAL" wal replay -c "$TMP/small.toml" -r 1
  grep -qF "$(printf '\t')$(sed -n 2p "$TMP/toolarge")" "$TMP/out" && fail "the refused line replays"
  [ "$want" = 0 ] || has_out "$(cat "$TMP/ids-small")	first"
  ok "kafka: a line the broker refuses makes append exit 1 and name the line; stdout keeps the ids before it"

fi

echo "1..$TESTS"
