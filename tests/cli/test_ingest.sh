#!/usr/bin/env bash
# examples/ingest against the broker: Mimir's flags (bad ones named), SASL and TLS flags, a 15.2 MB record, resume at committed + 1.
#
#   tests/cli/test_ingest.sh path/to/ingest path/to/kwal
#
# Needs the single-node broker (tests/kafka/broker up); exits 77 (skip) without it.
set -euo pipefail

INGEST=$(realpath "${1:?usage: test_ingest.sh path/to/ingest path/to/kwal}")
KWAL=$(realpath "${2:?usage: test_ingest.sh path/to/ingest path/to/kwal}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${KWAL_BOOTSTRAP:-}" ] || [ -z "${KWAL_TLS_DIR:-}" ]; then
  eval "$("$ROOT/tests/kafka/broker" env)"
fi
B=$KWAL_BOOTSTRAP
if ! "$KWAL" -b "$B" -X request.timeout.ms=5000 topics list >/dev/null 2>&1; then
  echo "SKIP: no broker at $B (tests/kafka/broker up)"
  exit 77
fi
TMP=$(mktemp -d)
RUN="ingest$$x$RANDOM"
T=$RUN-t
cleanup() {
  "$KWAL" -b "$B" topics delete -t "$T" -t "$RUN-big" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
TESTS=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $*"; }
run() {
  local want=$1 rc=0; shift
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout" >&2; head -c 3000 "$TMP/out" >&2
    echo "--- stderr" >&2; head -c 3000 "$TMP/err" >&2
    fail "exit $rc (wanted $want): $*"
  fi
}
# bad MESSAGE ARGS...: ingest ARGS exits 2 and its stderr's last line is exactly MESSAGE.
bad() {
  local msg=$1; shift
  run 2 "$INGEST" "$@"
  [ "$(tail -n 1 "$TMP/err")" = "$msg" ] || fail "ingest $*: stderr '$(tail -n 1 "$TMP/err")', wanted '$msg'"
  ok "bad flags: ingest $*"
}
has_err() { grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"; }
A=-ingest-storage.kafka.address=$B
TP=-ingest-storage.kafka.topic=$T

# ------------------------------------------------------------------------------------------------ flags
bad "       ingest writer -h, ingest reader -h: every flag" frob
bad "ingest: -ingest-storage.kafka.address is required" writer "$TP"
bad "ingest: -ingest-storage.kafka.topic is required" reader "$A" -partition=0
bad "ingest: reader: -partition is required" reader "$A" "$TP"
bad "ingest: writer: unknown flag -partition (see ingest writer -h)" writer "$A" "$TP" -partition=1
bad "ingest: reader: unknown flag -ingest-storage.kafka.typo (see ingest reader -h)" reader "$A" "$TP" -ingest-storage.kafka.typo=1
bad "ingest: -ingest-storage.kafka.fetch-concurrency-max: '0' is not a whole number >= 1" reader "$A" "$TP" -partition=0 -ingest-storage.kafka.fetch-concurrency-max=0
bad "ingest: -ingest-storage.kafka.consume-from-position-at-startup: 'middle' is not last-offset, start or end" reader "$A" "$TP" -partition=0 -ingest-storage.kafka.consume-from-position-at-startup=middle
bad "ingest: -ingest-storage.kafka.write-timeout: 'soon' is not a duration (like 500ms, 10s, 2m)" writer "$A" "$TP" -ingest-storage.kafka.write-timeout=soon
bad "ingest: -ingest-storage.kafka.tls-enabled: 'yes' is not true or false" writer "$A" "$TP" -ingest-storage.kafka.tls-enabled=yes
bad "ingest: flag -ingest-storage.kafka.topic needs a value" writer "$A" -ingest-storage.kafka.topic
bad "ingest: -ingest-storage.kafka.producer-max-record-size-bytes: 16000000 is over 15991808" writer "$A" "$TP" -ingest-storage.kafka.producer-max-record-size-bytes=16000000
bad "ingest: -record-size-max 2000000 does not fit -ingest-storage.kafka.producer-max-record-size-bytes 1048576 (at most 1044480)" writer "$A" "$TP" -ingest-storage.kafka.producer-max-record-size-bytes=1048576 -record-size-max=2000000
bad "ingest: -record-size-min 5000 is over -record-size-max 4000" writer "$A" "$TP" -record-size-min=5000 -record-size-max=4000
bad "ingest: -ingest-storage.kafka.sasl-mechanism=SCRAM-SHA-512 needs -ingest-storage.kafka.sasl-username and -ingest-storage.kafka.sasl-password" writer "$A" "$TP" -ingest-storage.kafka.sasl-mechanism=SCRAM-SHA-512
bad "ingest: -ingest-storage.kafka.tls-* flags need -ingest-storage.kafka.tls-enabled=true" writer "$A" "$TP" -ingest-storage.kafka.tls-ca-path=/x
bad "ingest: -ingest-storage.kafka.tls-min-version: 'VersionTLS10' is not VersionTLS12 or VersionTLS13" writer "$A" "$TP" -ingest-storage.kafka.tls-enabled -ingest-storage.kafka.tls-min-version=VersionTLS10
bad "ingest: -ingest-storage.kafka.sasl-mechanism=AWS_MSK_IAM needs -ingest-storage.kafka.sasl-msk-iam-access-key and -secret-key, -file-path or -http-socket-path" writer "$A" "$TP" -ingest-storage.kafka.sasl-mechanism=AWS_MSK_IAM
bad "ingest: -ingest-storage.kafka.sasl-mechanism=OAUTHBEARER needs -ingest-storage.kafka.sasl-oauthbearer-token, -file-path or -http-socket-path" writer "$A" "$TP" -ingest-storage.kafka.sasl-mechanism=OAUTHBEARER
bad "ingest: -ingest-storage.kafka.sasl-oauthbearer-zid: not supported as a flag; put it in the document of -ingest-storage.kafka.sasl-oauthbearer-file-path or -http-socket-path" writer "$A" "$TP" -ingest-storage.kafka.sasl-mechanism=OAUTHBEARER -ingest-storage.kafka.sasl-oauthbearer-token=x -ingest-storage.kafka.sasl-oauthbearer-zid=alice
run 1 "$INGEST" writer "$A" -ingest-storage.kafka.topic="$RUN-none" -ingest-storage.kafka.auto-create-topic-enabled=false
has_err "ingest: topic $RUN-none does not exist (-ingest-storage.kafka.auto-create-topic-enabled=false)"
ok "a missing topic with auto-create off is named"
run 0 "$INGEST" reader -h
grep -q -- "-ingest-storage.kafka.fetch-concurrency-max int" "$TMP/out" || fail "reader -h: $(cat "$TMP/out")"
ok "ingest reader -h lists Mimir's flags"

# --------------------------------------------------------------- a round trip, stop and resume at committed + 1
# Go's forms: -flag=value, -flag value, --flag=value.
run 0 "$INGEST" writer "$A" --ingest-storage.kafka.topic="$T" -ingest-storage.kafka.auto-create-topic-default-partitions 2 \
  -count=20 -record-size-min=100 -record-size-max=5000 -log="$TMP/w.log"
has_err "created topic $T (2 partitions, max.message.bytes 16000000)"
has_err "20 records"
[ "$(wc -l <"$TMP/w.log")" = 20 ] || fail "writer log: $(wc -l <"$TMP/w.log") lines"
ok "writer: auto-creates the topic with Mimir's partitions flag and writes 20 records"
n0=$(awk '$1 == 0' "$TMP/w.log" | wc -l)
run 0 "$INGEST" reader "$A" "$TP" -partition=0 -exit-at-end -ingest-storage.kafka.consumer-group="$RUN-<partition>" -log="$TMP/r0.log"
has_err "group $RUN-0, committed -1, starting at 0"
[ "$(grep -c '^[0-9]' "$TMP/r0.log")" = "$n0" ] || fail "reader read $(grep -c '^[0-9]' "$TMP/r0.log") of $n0"
run 0 "$KWAL" -b "$B" offsets -t "$T" -G "$RUN-0" --convention mimir -p 0
[ "$(grep -v '^#' "$TMP/out")" = "0 $((n0 - 1)) $n0 0" ] || fail "committed after the reader: $(cat "$TMP/out")"
ok "reader: reads the partition to its end and commits the last offset read (Mimir's convention)"
run 0 "$INGEST" writer "$A" "$TP" -count=10 -seed=7 -record-size-min=100 -record-size-max=5000 -log="$TMP/w2.log"
m0=$(awk '$1 == 0' "$TMP/w2.log" | wc -l)
run 0 "$INGEST" reader "$A" "$TP" -partition 0 -exit-at-end -ingest-storage.kafka.consumer-group="$RUN-<partition>" -log="$TMP/r0b.log"
has_err "committed $((n0 - 1)), starting at $n0"
first=$(awk '$1 ~ /^[0-9]/ { print $1; exit }' "$TMP/r0b.log")
[ "$m0" = 0 ] || [ "$first" = "$n0" ] || fail "the second run started at $first, not $n0"
[ "$(grep -c '^[0-9]' "$TMP/r0b.log")" = "$m0" ] || fail "the second run read $(grep -c '^[0-9]' "$TMP/r0b.log") of $m0"
ok "reader: a restart resumes at committed + 1 and reads only what is new"

# ----------------------------------------------------------------------------------------- SASL and TLS flags
run 0 "$INGEST" writer -ingest-storage.kafka.address="$KWAL_BOOTSTRAP_SASL" "$TP" -count=2 -record-size-min=64 -record-size-max=64 \
  -ingest-storage.kafka.sasl-mechanism=SCRAM-SHA-512 -ingest-storage.kafka.sasl-username="$KWAL_SASL_USER" \
  -ingest-storage.kafka.sasl-password="$KWAL_SASL_PASSWORD"
ok "writer over SASL SCRAM-SHA-512 with Mimir's sasl flags"
run 1 "$INGEST" writer -ingest-storage.kafka.address="$KWAL_BOOTSTRAP_SASL" "$TP" -count=1 -record-size-min=64 -record-size-max=64 \
  -ingest-storage.kafka.sasl-username="$KWAL_SASL_USER" -ingest-storage.kafka.sasl-password=wrong -ingest-storage.kafka.write-timeout=5s
has_err "ingest: metadata of $T"
ok "a wrong SASL password fails with the reason"
run 0 "$INGEST" reader -ingest-storage.kafka.address="$KWAL_BOOTSTRAP_SSL" "$TP" -partition=1 -exit-at-end \
  -ingest-storage.kafka.tls-enabled -ingest-storage.kafka.tls-ca-path="$KWAL_TLS_DIR/ca.pem" \
  -ingest-storage.kafka.consumer-group="$RUN-tls-<partition>"
has_err "stopped at"
ok "reader over TLS with Mimir's tls flags"
run 0 "$INGEST" writer -ingest-storage.kafka.address="$KWAL_BOOTSTRAP_SSL" "$TP" -count=1 -record-size-min=64 -record-size-max=64 \
  -ingest-storage.kafka.tls-enabled -ingest-storage.kafka.tls-ca-path="$KWAL_TLS_DIR/ca.pem" \
  -ingest-storage.kafka.tls-min-version=VersionTLS13 -ingest-storage.kafka.tls-cipher-suites=TLS_AES_256_GCM_SHA384
ok "writer over TLS 1.3 with Mimir's tls-min-version and tls-cipher-suites"
# OAUTHBEARER from Mimir's file document: an unsecured JWS (alg none), what the test broker accepts.
b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
NOW=$(date +%s)
TOKEN="$(b64url '{"alg":"none"}').$(b64url "{\"sub\":\"alice\",\"iat\":$NOW,\"exp\":$((NOW + 3600))}")."
printf '{"token": "%s"}\n' "$TOKEN" >"$TMP/oauth.json"
run 0 "$INGEST" writer -ingest-storage.kafka.address="$KWAL_BOOTSTRAP_SASL" "$TP" -count=1 -record-size-min=64 -record-size-max=64 \
  -ingest-storage.kafka.sasl-mechanism=OAUTHBEARER -ingest-storage.kafka.sasl-oauthbearer-file-path="$TMP/oauth.json"
ok "writer over OAUTHBEARER with the token from Mimir's -sasl-oauthbearer-file-path document"
printf '{"zid": "alice"}\n' >"$TMP/oauth-bad.json"
run 1 "$INGEST" writer -ingest-storage.kafka.address="$KWAL_BOOTSTRAP_SASL" "$TP" -count=1 -record-size-min=64 -record-size-max=64 \
  -ingest-storage.kafka.sasl-mechanism=OAUTHBEARER -ingest-storage.kafka.sasl-oauthbearer-file-path="$TMP/oauth-bad.json" \
  -ingest-storage.kafka.write-timeout=5s
has_err "token"
ok "a document without a token fails, naming the field"

# --------------------------------------------------------------------------------- Mimir's largest record
run 0 "$INGEST" writer "$A" -ingest-storage.kafka.topic="$RUN-big" -ingest-storage.kafka.auto-create-topic-default-partitions=1 \
  -count=2 -record-size-min=15979520 -record-size-max=15979520 -log="$TMP/big.log"
run 0 "$INGEST" reader "$A" -ingest-storage.kafka.topic="$RUN-big" -partition=0 -exit-at-end \
  -ingest-storage.kafka.consumer-group="$RUN-big" -log="$TMP/bigr.log"
[ "$(awk '$1 ~ /^[0-9]/ { print $4 }' "$TMP/bigr.log" | sort -u)" = 15979520 ] || fail "big records read: $(cat "$TMP/bigr.log")"
[ "$(grep -c '^[0-9]' "$TMP/bigr.log")" = 2 ] || fail "big records read: $(cat "$TMP/bigr.log")"
ok "two records at Mimir's largest value size written and read back byte for byte"

echo "1..$TESTS"
