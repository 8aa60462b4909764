#!/usr/bin/env bash
# End-to-end tests of the kwal tool against the real broker: round trips, formats, admin, SASL, TLS, usage errors, kcat interop.
#
#   tests/cli/test_cli.sh path/to/kwal
#
# Needs the single-node broker (tests/kafka/broker up); reads its addresses from
# KWAL_BOOTSTRAP... or, when unset, from `tests/kafka/broker env`.  kcat is optional:
# without it the interop cases are skipped (and say so).
set -euo pipefail

KWAL=$(realpath "${1:?usage: test_cli.sh path/to/kwal}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${KWAL_BOOTSTRAP:-}" ] || [ -z "${KWAL_TLS_DIR:-}" ]; then
  eval "$("$ROOT/tests/kafka/broker" env)"
fi
B=$KWAL_BOOTSTRAP
TLS=$KWAL_TLS_DIR
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RUN="cli$$x$RANDOM" # topic names unique to this run: the broker is shared and never wiped here
TESTS=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $*"; }

# run CODE CMD...: runs CMD, stdout to $TMP/out, stderr to $TMP/err; fails unless it exits with CODE.
run() {
  local want=$1 rc=0; shift
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout" >&2; head -c 2000 "$TMP/out" >&2
    echo "--- stderr" >&2; head -c 2000 "$TMP/err" >&2
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
has_out() { grep -qxF -- "$1" "$TMP/out" || fail "stdout lacks line '$1': $(head -c 2000 "$TMP/out")"; }
same() { cmp -s "$1" "$2" || { diff <(head -c 4000 "$1") <(head -c 4000 "$2") | head -20 >&2; fail "$3"; }; }

# The test input: 1000 lines with spaces, tabs, UTF-8, empty lines and a few long ones.
awk 'BEGIN {
  for (i = 1; i <= 1000; i++) {
    if (i % 100 == 0) print "";
    else if (i % 250 == 1) { s = ""; for (j = 0; j < 600; j++) s = s "x" i; print s }
    else printf "line %d\tvalue é ü %08x  spaces  \n", i, i * 2654435761 % 4294967296
  }
}' >"$TMP/lines"
# Over 1 MiB, so produce cuts several batches and keeps several in flight.
awk 'BEGIN { for (i = 0; i < 3000; i++) { s = sprintf("%06d ", i); while (length(s) < 700) s = s "abcdefghij"; print s } }' >"$TMP/big"

# ---------------------------------------------------------------------------------------------- usage errors
usage "kwal: no command given"
usage "kwal: unknown command 'frob' (see kwal --help)" -b "$B" frob
usage "kwal: unknown option '--frob' (see kwal --help)" --frob
usage "kwal: option -b needs a value (see kwal --help)" -b
usage "kwal: wal append: -b and -X do not apply: the [wal] section of -c CONFIG says where the log is" -b "$B" wal append -c x.toml -r 1
usage "kwal: meta status: -c CONFIG is required" meta status
usage "kwal: no brokers given: use -b host:port" topics list
usage "kwal: -b: the broker list is empty" -b "" topics list
usage "kwal: -X: unknown property 'ssl.foo'" -b "$B" -X ssl.foo=1 topics list
usage "kwal: -X: 'security.protocol' is not key=value" -b "$B" -X security.protocol topics list
usage "kwal: -X security.protocol: 'tls' is not one of plaintext, ssl, sasl_plaintext, sasl_ssl" \
  -b "$B" -X security.protocol=tls topics list
usage "kwal: -X sasl.mechanism: 'SCRAM' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, GSSAPI, AWS_MSK_IAM" \
  -b "$B" -X sasl.mechanism=SCRAM topics list
usage "kwal: -X sasl.kerberos.keytab: not supported: kwal runs no kinit; it uses the Kerberos credential cache (KRB5CCNAME), which kinit -k -t KEYTAB PRINCIPAL fills" \
  -b "$B" -X sasl.kerberos.keytab=/etc/kafka.keytab topics list
usage "kwal: -X sasl.mechanism=GSSAPI takes no sasl.username, sasl.password or sasl.oauthbearer.token (the Kerberos credential cache says who you are)" \
  -b "$B" -X security.protocol=sasl_plaintext -X sasl.mechanism=GSSAPI -X sasl.username=a topics list
usage "kwal: -X request.timeout.ms: 'soon' is not a number of milliseconds from 1 to 86400000" \
  -b "$B" -X request.timeout.ms=soon topics list
usage "kwal: -X ssl.endpoint.identification.algorithm: 'dns' is not one of https, none" \
  -b "$B" -X ssl.endpoint.identification.algorithm=dns topics list
usage "kwal: -X sasl.username: the value is empty" -b "$B" -X sasl.username= topics list
usage "kwal: -X sasl.mechanism=AWS_MSK_IAM needs -X sasl.aws.access.key.id and -X sasl.aws.secret.access.key, or -X sasl.aws.file, or -X sasl.aws.http.socket" \
  -b "$B" -X security.protocol=sasl_ssl -X sasl.mechanism=AWS_MSK_IAM -X sasl.aws.access.key.id=AKID topics list
usage "kwal: -X sasl.aws.* needs sasl.mechanism=AWS_MSK_IAM" -b "$B" -X security.protocol=sasl_plaintext \
  -X sasl.mechanism=PLAIN -X sasl.username=a -X sasl.password=b -X sasl.aws.region=us-east-1 topics list
usage "kwal: -X sasl.* needs security.protocol sasl_plaintext or sasl_ssl (it is plaintext)" \
  -b "$B" -X sasl.username=alice topics list
usage "kwal: -X security.protocol=sasl_ssl needs -X sasl.mechanism" -b "$B" -X security.protocol=sasl_ssl topics list
usage "kwal: -X sasl.mechanism=PLAIN needs -X sasl.username and -X sasl.password" \
  -b "$B" -X security.protocol=sasl_plaintext -X sasl.mechanism=PLAIN -X sasl.username=a topics list
usage "kwal: -X ssl.* needs security.protocol ssl or sasl_ssl (it is plaintext)" \
  -b "$B" -X ssl.ca.location=/ca.pem topics list
usage "kwal: -X ssl.key.location needs -X ssl.certificate.location too (a client certificate goes with its key)" \
  -b "$B" -X security.protocol=ssl -X ssl.key.location=/k.pem topics list
usage "kwal: -X ssl.ca.location: cannot read '$TMP/nosuch.pem': No such file or directory" \
  -b "$B" -X security.protocol=ssl -X ssl.ca.location="$TMP/nosuch.pem" topics list
usage "kwal: -X: unknown property 'ssl.foo'" topics list -b "$B" -X ssl.foo=1 # global options after the command
usage "kwal: produce: -t TOPIC is required (see kwal produce --help)" -b "$B" produce
usage "kwal: produce: -z: 'brotli' is not one of none, lz4, gzip, snappy, zstd" -b "$B" produce -t t -z brotli
usage "kwal: produce: -p: 'x' is not a partition number" -b "$B" produce -t t -p x
usage "kwal: produce: -p: '-1' is not a partition number" -b "$B" produce -t t -p -1
usage "kwal: produce: unknown option '-q' (see kwal produce --help)" -b "$B" produce -t t -q
usage "kwal: produce: option -k needs a value (see kwal produce --help)" -b "$B" produce -t t -k
usage "kwal: produce: unexpected argument 'extra' (see kwal produce --help)" -b "$B" produce -t t extra
usage "kwal: consume: -t TOPIC is required (see kwal consume --help)" -b "$B" consume -e
usage "kwal: consume: -o: 'middle' is not beginning, end, an offset or -N" -b "$B" consume -t t -o middle
usage "kwal: consume: -o: '-0' is not beginning, end, an offset or -N" -b "$B" consume -t t -o -0
usage "kwal: consume: -c: '0' is not a positive count" -b "$B" consume -t t -c 0
usage "kwal: consume: -f: unknown sequence '%x' in '%x\\n' (see kwal consume --help)" -b "$B" consume -t t -f '%x\n'
usage "kwal: consume: -f: unknown sequence '\\q' in 'a\\q' (see kwal consume --help)" -b "$B" consume -t t -f 'a\q'
usage "kwal: consume: -f: unknown sequence '%' in 'a%' (see kwal consume --help)" -b "$B" consume -t t -f 'a%'
usage "kwal: topics: say list, create, delete or describe (see kwal topics --help)" -b "$B" topics
usage "kwal: topics: unknown subcommand 'frob' (list, create, delete, describe)" -b "$B" topics frob
usage "kwal: topics create: -t NAME is required (see kwal topics --help)" -b "$B" topics create --partitions 2
usage "kwal: topics create: --partitions: '0' is not a positive number" -b "$B" topics create -t t --partitions 0
usage "kwal: topics create: --replication: 'many' is not a number from 1 to 32767" -b "$B" topics create -t t --replication many
usage "kwal: topics create: --config: 'retention' is not key=value" -b "$B" topics create -t t --config retention
usage "kwal: topics create: one -t NAME at a time" -b "$B" topics create -t a -t b
usage "kwal: topics list: option '--partitions' does not apply here (see kwal topics list --help)" -b "$B" topics list --partitions 3
usage "kwal: topics delete: -t NAME is required (see kwal topics --help)" -b "$B" topics delete
usage "kwal: offsets: one -t TOPIC is required (see kwal offsets --help)" -b "$B" offsets
usage "kwal: offsets: unknown option '--frob' (see kwal offsets --help)" -b "$B" offsets -t t --frob

# ---------------------------------------------------------------------------------------------- --help
for cmd in "" produce consume topics "topics list" "topics create" "topics delete" "topics describe" offsets; do
  # shellcheck disable=SC2086 # $cmd is one or two words on purpose
  run 0 "$KWAL" $cmd --help
  head -n 1 "$TMP/out" | grep -q "^usage: kwal" || fail "kwal $cmd --help: $(head -n 1 "$TMP/out")"
  [ ! -s "$TMP/err" ] || fail "kwal $cmd --help wrote to stderr"
  ok "kwal $cmd --help"
done
run 0 "$KWAL" -h
has_out "commands:"
run 0 "$KWAL" --version
grep -q "^kwal [0-9]" "$TMP/out" || fail "--version: $(cat "$TMP/out")"
ok "kwal -h, --version"

# ---------------------------------------------------------------------------------------------- topics
T=$RUN-admin
run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 3 --replication 1 --config retention.ms=123456 \
  --config cleanup.policy=delete
has_err "created topic $T"
ok "topics create with partitions, replication and configs"
run 1 "$KWAL" -b "$B" topics create -t "$T"
has_err "kwal: topics create $T failed: TOPIC_ALREADY_EXISTS"
ok "topics create of an existing topic fails with exit 1 and names the error"
run 0 "$KWAL" -b "$B" topics list
has_out "$T"
grep -q '^__' "$TMP/out" && fail "topics list shows internal topics"
ok "topics list"
run 0 "$KWAL" -b "$B" topics describe -t "$T"
has_out "topic $T  partitions 3  replication 1"
for p in 0 1 2; do has_out "  partition $p  leader 1  replicas 1  isr 1"; done
has_out "  retention.ms=123456"
has_out "  cleanup.policy=delete"
ok "topics describe: partitions, leaders, replicas, isr, topic configs"
run 0 "$KWAL" -b "$B" topics describe -t "$T" --all-configs
has_out "  retention.ms=123456  (topic)"
grep -q '^  segment.bytes=.*(static broker)$\|^  segment.bytes=.*(default)$' "$TMP/out" ||
  fail "describe --all-configs lacks segment.bytes: $(cat "$TMP/out")"
ok "topics describe --all-configs shows each config's source"
run 0 "$KWAL" -b "$B" offsets -t "$T"
[ "$(cat "$TMP/out")" = $'0 0 0\n1 0 0\n2 0 0' ] || fail "offsets of an empty topic: $(cat "$TMP/out")"
ok "offsets of an empty 3-partition topic"
printf 'a\nb\nc\n' | run 0 "$KWAL" -b "$B" produce -t "$T" -p 2
has_err "produced 3 records to $T/2"
run 0 "$KWAL" -b "$B" offsets -t "$T"
[ "$(cat "$TMP/out")" = $'0 0 0\n1 0 0\n2 0 3' ] || fail "offsets after producing to partition 2: $(cat "$TMP/out")"
run 0 "$KWAL" -b "$B" offsets -t "$T" -p 2
[ "$(cat "$TMP/out")" = "2 0 3" ] || fail "offsets -p 2: $(cat "$TMP/out")"
ok "offsets: partition start end, per partition and with -p"
run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -e
[ "$(sort "$TMP/out" | tr '\n' ' ')" = "a b c " ] || fail "consume of all partitions: $(cat "$TMP/out")"
ok "consume without -p reads every partition"
run 0 "$KWAL" -b "$B" topics delete -t "$T"
has_err "deleted topic $T"
run 0 "$KWAL" -b "$B" topics list
grep -qxF "$T" "$TMP/out" && fail "deleted topic still listed"
ok "topics delete"
run 1 "$KWAL" -b "$B" topics describe -t "$RUN-nosuch"
has_err "kwal: topic $RUN-nosuch: UNKNOWN_TOPIC_OR_PARTITION"
run 1 "$KWAL" -b "$B" topics delete -t "$RUN-nosuch"
has_err "kwal: topics delete $RUN-nosuch failed: UNKNOWN_TOPIC_OR_PARTITION"
ok "describe and delete of a missing topic fail with exit 1"

# ---------------------------------------------------------------------------------------------- produce / consume
for z in none lz4 gzip snappy zstd; do
  T=$RUN-rt-$z
  run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 1
  run 0 "$KWAL" -b "$B" produce -t "$T" -z "$z" <"$TMP/lines"
  has_err "produced 1000 records to $T/0"
  run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -e
  same "$TMP/out" "$TMP/lines" "-z $z: consumed lines differ from produced ones"
  ok "produce 1000 lines -z $z, consume -e gives them back byte for byte"
done
# Fetch by topic id (v13+, the default against this broker) and, capped at Kafka 3.0, by name (v12).
run 0 "$KWAL" -b "$B" -X api.version.max=3.0 consume -t "$RUN-rt-zstd" -o beginning -e
same "$TMP/out" "$TMP/lines" "consume capped at Kafka 3.0 (Fetch v12, by name): lines differ"
ok "consume capped at Kafka 3.0 (Fetch by name) gives the same lines"

T=$RUN-big
run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 1
run 0 "$KWAL" -b "$B" produce -t "$T" -z lz4 <"$TMP/big"
has_err "produced 3000 records to $T/0"
run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -e
same "$TMP/out" "$TMP/big" "2 MB over several batches: consumed lines differ"
ok "2 MB of input in several batches keeps every line in order"

T=$RUN-rt-none
run 0 "$KWAL" -b "$B" offsets -t "$T"
[ "$(cat "$TMP/out")" = "0 0 1000" ] || fail "offsets after 1000 records: $(cat "$TMP/out")"
ok "offsets after 1000 records"
run 0 "$KWAL" -b "$B" consume -t "$T" -o 990 -e
same "$TMP/out" <(tail -n 10 "$TMP/lines") "-o 990"
run 0 "$KWAL" -b "$B" consume -t "$T" -o -5 -e
same "$TMP/out" <(tail -n 5 "$TMP/lines") "-o -5"
run 0 "$KWAL" -b "$B" consume -t "$T" -o -5000 -e
same "$TMP/out" "$TMP/lines" "-o -5000 (past the start)"
run 0 "$KWAL" -b "$B" consume -t "$T" -o end -e
[ ! -s "$TMP/out" ] || fail "-o end -e printed records"
ok "consume -o OFFSET, -o -N, -o end"
run 0 timeout 20 "$KWAL" -b "$B" consume -t "$T" -o beginning -c 7
same "$TMP/out" <(head -n 7 "$TMP/lines") "-c 7"
run 0 timeout 20 "$KWAL" -b "$B" consume -t "$T" -o 500 -c 3 -e
same "$TMP/out" <(sed -n '501,503p' "$TMP/lines") "-o 500 -c 3"
ok "consume -c COUNT stops after COUNT records (without -e too)"
run 1 "$KWAL" -b "$B" consume -t "$T" -o 5000 -e
has_err "kwal: consume $T/0 at offset 5000 failed: OFFSET_OUT_OF_RANGE"
ok "consume past the end fails with OFFSET_OUT_OF_RANGE"

T=$RUN-fmt
run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 1
before=$(date +%s%3N)
printf 'v1\nv2\n' | run 0 "$KWAL" -b "$B" produce -t "$T" -k the-key
printf 'v3\n' | run 0 "$KWAL" -b "$B" produce -t "$T"
after=$(date +%s%3N)
run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -e -f '%t/%p@%o k=%k\tv=%s %S %K|%%\n'
[ "$(cat "$TMP/out")" = "$(printf '%s\n' "$T/0@0 k=the-key	v=v1 2 7|%" "$T/0@1 k=the-key	v=v2 2 7|%" "$T/0@2 k=	v=v3 2 -1|%")" ] ||
  fail "-f output: $(cat "$TMP/out")"
run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -e -f '%T\n'
while read -r ts; do
  if [ "$ts" -lt "$before" ] || [ "$ts" -gt "$after" ]; then fail "%T $ts not in [$before, $after]"; fi
done <"$TMP/out"
[ "$(wc -l <"$TMP/out")" = 3 ] || fail "%T lines"
ok "consume -f: %t %p %o %k %s %S %K %% %T and \\n \\t escapes"

# ---------------------------------------------------------------------------------------------- runtime errors
printf 'x\n' | run 1 "$KWAL" -b "$B" produce -t "$RUN-nosuch"
has_err "kwal: topic $RUN-nosuch: UNKNOWN_TOPIC_OR_PARTITION"
printf 'x\n' | run 1 "$KWAL" -b "$B" produce -t "$RUN-fmt" -p 7
has_err "kwal: produce: topic $RUN-fmt has no partition 7 (it has 1)"
run 1 "$KWAL" -b 127.0.0.1:1 -X request.timeout.ms=3000 topics list
has_err "kwal: topics list failed:"
ok "runtime errors exit 1 and say what failed"

T=$RUN-small
run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 1 --config max.message.bytes=1000
{ echo first; head -c 3000 /dev/zero | tr '\0' x; echo; echo last; } >"$TMP/toolarge"
run 1 "$KWAL" -b "$B" produce -t "$T" <"$TMP/toolarge"
has_err "kwal: produce to $T/0 failed: MESSAGE_TOO_LARGE"
has_err "kwal: 3 records were not acknowledged"
ok "a batch the broker refuses makes produce exit 1 and say which records were lost"

# A slow writer: each line must reach the broker within the 100 ms linger while stdin stays open.
T=$RUN-linger
run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 1
mkfifo "$TMP/fifo"
"$KWAL" -b "$B" produce -t "$T" <"$TMP/fifo" 2>"$TMP/linger-err" &
prod=$!
exec 7>"$TMP/fifo"
echo one >&7
got=""
for _ in $(seq 1 50); do
  got=$("$KWAL" -b "$B" offsets -t "$T")
  [ "$got" = "0 0 1" ] && break
  sleep 0.1
done
[ "$got" = "0 0 1" ] || fail "a line written to an open stdin did not arrive: $got"
echo two >&7
exec 7>&-
wait "$prod" || fail "produce from a fifo failed: $(cat "$TMP/linger-err")"
grep -qxF "produced 2 records to $T/0" "$TMP/linger-err" || fail "linger summary: $(cat "$TMP/linger-err")"
ok "produce sends a line within the linger time while stdin stays open"

# consume without -e runs until a signal, then exits 0 with what it printed.
"$KWAL" -b "$B" consume -t "$T" -o beginning >"$TMP/sig-out" 2>"$TMP/sig-err" &
cons=$!
sleep 1.5
kill -INT "$cons"
rc=0
wait "$cons" || rc=$?
[ "$rc" = 0 ] || fail "consume after SIGINT exited $rc: $(cat "$TMP/sig-err")"
[ "$(cat "$TMP/sig-out")" = $'one\ntwo' ] || fail "consume before SIGINT printed: $(cat "$TMP/sig-out")"
ok "consume without -e follows the partition and exits 0 on SIGINT"

# ---------------------------------------------------------------------------------------------- SASL, TLS
SASL=(-b "$KWAL_BOOTSTRAP_SASL" -X security.protocol=sasl_plaintext -X sasl.mechanism=SCRAM-SHA-512
  -X sasl.username="$KWAL_SASL_USER" -X sasl.password="$KWAL_SASL_PASSWORD")
T=$RUN-sasl
run 0 "$KWAL" "${SASL[@]}" topics create -t "$T" --partitions 1
run 0 "$KWAL" "${SASL[@]}" produce -t "$T" -z lz4 <"$TMP/lines"
run 0 "$KWAL" "${SASL[@]}" consume -t "$T" -o beginning -e
same "$TMP/out" "$TMP/lines" "SCRAM-SHA-512 round trip"
ok "SASL SCRAM-SHA-512 through -X: create, produce, consume"
run 1 "$KWAL" -b "$KWAL_BOOTSTRAP_SASL" -X security.protocol=sasl_plaintext -X sasl.mechanism=SCRAM-SHA-512 \
  -X sasl.username="$KWAL_SASL_USER" -X sasl.password=wrong -X request.timeout.ms=5000 offsets -t "$T"
grep -qi "auth" "$TMP/err" || fail "a wrong password: $(cat "$TMP/err")"
ok "a wrong SCRAM password fails with exit 1"

# OAUTHBEARER: an unsecured JWS (alg none), what the test broker's default validator accepts.
b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
NOW=$(date +%s)
TOKEN="$(b64url '{"alg":"none"}').$(b64url "{\"sub\":\"alice\",\"iat\":$NOW,\"exp\":$((NOW + 3600))}")."
OLD="$(b64url '{"alg":"none"}').$(b64url "{\"sub\":\"alice\",\"iat\":$((NOW - 7200)),\"exp\":$((NOW - 3600))}")."
OAUTH=(-b "$KWAL_BOOTSTRAP_SASL" -X security.protocol=sasl_plaintext -X sasl.mechanism=OAUTHBEARER)
run 0 "$KWAL" "${OAUTH[@]}" -X sasl.oauthbearer.token="$TOKEN" offsets -t "$T"
[ "$(cat "$TMP/out")" = "0 0 1000" ] || fail "offsets with OAUTHBEARER: $(cat "$TMP/out")"
ok "SASL OAUTHBEARER through -X sasl.oauthbearer.token"
run 1 "$KWAL" "${OAUTH[@]}" -X sasl.oauthbearer.token="$OLD" -X request.timeout.ms=5000 offsets -t "$T"
grep -q 'invalid_token' "$TMP/err" || fail "an expired token: $(cat "$TMP/err")"
ok "an expired OAUTHBEARER token fails with exit 1 and the broker's status"
printf '{"token": "%s", "zid": "alice"}\n' "$TOKEN" >"$TMP/oauth.json"
run 0 "$KWAL" "${OAUTH[@]}" -X sasl.oauthbearer.file="$TMP/oauth.json" offsets -t "$T"
[ "$(cat "$TMP/out")" = "0 0 1000" ] || fail "offsets with sasl.oauthbearer.file: $(cat "$TMP/out")"
ok "SASL OAUTHBEARER through -X sasl.oauthbearer.file (a JSON document)"
printf '{"zid": "alice"}' >"$TMP/oauth.json"
run 1 "$KWAL" "${OAUTH[@]}" -X sasl.oauthbearer.file="$TMP/oauth.json" -X request.timeout.ms=5000 offsets -t "$T"
has_err 'field "token" is missing'
has_err "$TMP/oauth.json"
ok "a credential document without a token fails with exit 1, naming the file and the field"
# The HTTP callback: python3's http.server on a Unix socket answers GET / with the document.
cat >"$TMP/cred_server.py" <<'PY'
import http.server, os, socket, socketserver, sys
path, body, status = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
    def address_string(self):
        return "unix"
class S(socketserver.UnixStreamServer):
    pass
S(path, H).serve_forever()
PY
cred_http() { # cred_http SOCKET BODY STATUS: starts the server in the background, waits for its socket
  python3 "$TMP/cred_server.py" "$1" "$2" "$3" &
  CRED_PID=$!
  for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
  fail "the credential server did not start"
}
cred_http "$TMP/cred.sock" "{\"token\": \"$TOKEN\"}" 200
run 0 "$KWAL" "${OAUTH[@]}" -X sasl.oauthbearer.http.socket="$TMP/cred.sock" offsets -t "$T"
[ "$(cat "$TMP/out")" = "0 0 1000" ] || fail "offsets with sasl.oauthbearer.http.socket: $(cat "$TMP/out")"
kill "$CRED_PID"; wait "$CRED_PID" 2>/dev/null || true; rm -f "$TMP/cred.sock"
ok "SASL OAUTHBEARER through -X sasl.oauthbearer.http.socket (GET / on a Unix socket)"
cred_http "$TMP/cred.sock" "no tokens today" 500
run 1 "$KWAL" "${OAUTH[@]}" -X sasl.oauthbearer.http.socket="$TMP/cred.sock" \
  -X sasl.http.socket.timeout.ms=3000 -X request.timeout.ms=5000 offsets -t "$T"
has_err "status 500"
kill "$CRED_PID"; wait "$CRED_PID" 2>/dev/null || true; rm -f "$TMP/cred.sock"
ok "a credential server answering 500 fails with exit 1 and the status"
usage "kwal: -X sasl.oauthbearer.token and -X sasl.oauthbearer.file are both set: give the mechanism one credential source" \
  "${OAUTH[@]}" -X sasl.oauthbearer.token="$TOKEN" -X sasl.oauthbearer.file=/x offsets -t "$T"

# AWS_MSK_IAM: the AWSIAM listener's test mechanism checks the SigV4 signature (a broker without it: skipped).
if [ -n "${KWAL_BOOTSTRAP_AWS:-}" ]; then
  AWS=(-b "$KWAL_BOOTSTRAP_AWS" -X security.protocol=sasl_plaintext -X sasl.mechanism=AWS_MSK_IAM
    -X sasl.aws.region="$KWAL_AWS_REGION" -X sasl.aws.access.key.id="$KWAL_AWS_SESSION_ACCESS_KEY_ID")
  run 0 "$KWAL" "${AWS[@]}" -X sasl.aws.secret.access.key="$KWAL_AWS_SESSION_SECRET_ACCESS_KEY" \
    -X sasl.aws.session.token="$KWAL_AWS_SESSION_TOKEN" offsets -t "$T"
  [ "$(cat "$TMP/out")" = "0 0 1000" ] || fail "offsets with AWS_MSK_IAM: $(cat "$TMP/out")"
  ok "SASL AWS_MSK_IAM through -X sasl.aws.* (with a session token)"
  run 1 "$KWAL" "${AWS[@]}" -X sasl.aws.secret.access.key=wrong -X sasl.aws.session.token="$KWAL_AWS_SESSION_TOKEN" \
    offsets -t "$T"
  has_err "signature does not match"
  ok "a wrong AWS secret fails with exit 1 and the broker's reason"
else
  echo "# skipped: AWS_MSK_IAM (the broker has no AWSIAM listener; KWAL_BOOTSTRAP_AWS is unset)"
fi

SSL=(-b "$KWAL_BOOTSTRAP_SSL" -X security.protocol=ssl -X ssl.ca.location="$TLS/ca.pem")
run 0 "$KWAL" "${SSL[@]}" offsets -t "$T"
[ "$(cat "$TMP/out")" = "0 0 1000" ] || fail "offsets over TLS: $(cat "$TMP/out")"
run 0 "$KWAL" "${SSL[@]}" consume -t "$T" -o 995 -e
same "$TMP/out" <(tail -n 5 "$TMP/lines") "consume over TLS"
ok "SSL through -X ssl.ca.location"
run 0 "$KWAL" "${SSL[@]}" -X ssl.min.version=TLSv1.3 -X ssl.cipher.suites=TLS_AES_256_GCM_SHA384 offsets -t "$T"
[ "$(cat "$TMP/out")" = "0 0 1000" ] || fail "offsets over TLS 1.3: $(cat "$TMP/out")"
ok "ssl.min.version=TLSv1.3 and a TLS 1.3 suite in ssl.cipher.suites"
run 1 "$KWAL" "${SSL[@]}" -X ssl.cipher.suites=TLS_AES_128_CCM_8_SHA256 -X request.timeout.ms=5000 offsets -t "$T"
has_err "accepts none of the TLS versions and cipher suites"
ok "cipher suites the broker does not accept fail with exit 1, saying so"
usage "kwal: -X ssl.min.version: 'TLSv1' is not one of TLSv1.2, TLSv1.3" "${SSL[@]}" -X ssl.min.version=TLSv1 offsets -t "$T"
run 0 "$KWAL" -b "$KWAL_BOOTSTRAP_MTLS" -X security.protocol=ssl -X ssl.ca.location="$TLS/ca.pem" \
  -X ssl.certificate.location="$TLS/client.pem" -X ssl.key.location="$TLS/client.key" offsets -t "$T"
ok "mTLS through -X ssl.certificate.location and ssl.key.location"
run 1 "$KWAL" -b "$KWAL_BOOTSTRAP_SSL_WRONGHOST" -X security.protocol=ssl -X ssl.ca.location="$TLS/ca.pem" \
  -X request.timeout.ms=5000 offsets -t "$T"
run 0 "$KWAL" -b "$KWAL_BOOTSTRAP_SSL_WRONGHOST" -X security.protocol=ssl -X ssl.ca.location="$TLS/ca.pem" \
  -X ssl.endpoint.identification.algorithm=none offsets -t "$T"
ok "ssl.endpoint.identification.algorithm=none skips the host-name check (and only then it connects)"
run 0 "$KWAL" -b "$KWAL_BOOTSTRAP_SASL_SSL" -X security.protocol=sasl_ssl -X ssl.ca.location="$TLS/ca.pem" \
  -X sasl.mechanism=SCRAM-SHA-256 -X sasl.username="$KWAL_SASL_USER" -X sasl.password="$KWAL_SASL_PASSWORD" \
  offsets -t "$T"
ok "SASL_SSL with SCRAM-SHA-256"

# ---------------------------------------------------------------------------------------------- kcat interop
if ! command -v kcat >/dev/null; then
  echo "# kcat is not installed: interop cases skipped"
else
  for z in none lz4; do
    T=$RUN-rt-$z # written by kwal above
    run 0 kcat -b "$B" -C -t "$T" -e -q -f '%s\n'
    same "$TMP/out" "$TMP/lines" "kcat reading what kwal wrote (-z $z)"
    ok "kcat reads what kwal produced with -z $z byte for byte"
  done
  # A keyed record goes where the Java client (and librdkafka's murmur2 partitioner) puts it.
  T=$RUN-keys
  run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 5
  for key in a user-17 "key with spaces" 0123456789abcdef; do
    echo kwal | run 0 "$KWAL" -b "$B" produce -t "$T" -k "$key"
    echo "$key@kcat" | run 0 kcat -b "$B" -P -t "$T" -K @ -X partitioner=murmur2_random
  done
  run 0 kcat -b "$B" -C -t "$T" -e -q -f '%k %p\n'
  for key in a user-17 "key with spaces" 0123456789abcdef; do
    [ "$(grep -c "^$key [0-9]*$" "$TMP/out")" = 2 ] || fail "key $key: $(cat "$TMP/out")"
    [ "$(grep "^$key [0-9]*$" "$TMP/out" | sort -u | wc -l)" = 1 ] || fail "key $key split: $(cat "$TMP/out")"
  done
  ok "produce -k picks the partition murmur2 picks (as kcat with partitioner=murmur2_random)"

  # kcat -P drops empty lines (it sends no empty records), so it gets the input without them
  grep -v '^$' "$TMP/lines" >"$TMP/lines-nonempty"
  for z in gzip snappy lz4 zstd; do
    T=$RUN-kcat-$z
    run 0 "$KWAL" -b "$B" topics create -t "$T" --partitions 1
    run 0 kcat -b "$B" -P -t "$T" -p 0 -z "$z" <"$TMP/lines-nonempty"
    run 0 "$KWAL" -b "$B" consume -t "$T" -o beginning -e
    same "$TMP/out" "$TMP/lines-nonempty" "kwal reading what kcat wrote (-z $z)"
    ok "kwal reads what kcat produced with -z $z byte for byte"
  done
fi

echo "1..$TESTS"
