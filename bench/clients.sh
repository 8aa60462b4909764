# Shared by bench/produce and bench/consume (sourced, not run): the three clients, topics, result lines.
#
# The caller sets ROOT, BUILD, BROKERS and NAME (the script's name, for messages) and calls find_clients
# with the binaries' names and the clients asked for; CLIENTS is then the clients that can run, in table order, and NOTE[client]
# says why a missing one is missing. Result lines are the peers' one-line format:
#   records=N bytes=B seconds=S records_per_s=R mb_per_s=M cpu_user=U cpu_sys=Y max_rss_kb=K

say() { echo "$NAME: $*" >&2; }
die() { say "$*"; exit 1; }

declare -A EXE NOTE LABEL=([rdkafka]=librdkafka [franz]=franz-go [kwal]=kwal)
CLIENTS=()

# find_clients RDKAFKA_BINARY KWAL_BINARY WANTED: EXE[client] is the program that runs each client;
# WANTED is a comma list of rdkafka, franz, kwal. franz-go is built here (bench/peers/franz/build.sh into
# BUILD/bench) since meson does not build Go.
find_clients() {
  local rdkafka=$BUILD/bench/$1 kwal=$BUILD/bench/$2 wanted=,$3, status=0 c
  for c in ${3//,/ }; do
    [ -n "${LABEL[$c]:-}" ] || die "-c: unknown client $c (rdkafka, franz or kwal)"
  done
  if [[ $wanted != *,rdkafka,* ]]; then
    NOTE[rdkafka]="not asked for (-c)"
  elif [ -x "$rdkafka" ]; then
    EXE[rdkafka]=$rdkafka
  else
    NOTE[rdkafka]="not built (librdkafka-dev missing)"
  fi
  if [[ $wanted != *,franz,* ]]; then
    NOTE[franz]="not asked for (-c)"
  else
    "$ROOT/bench/peers/franz/build.sh" "$BUILD/bench" >&2 || status=$?
    if [ "$status" = 0 ]; then
      EXE[franz]=$BUILD/bench/franz
    elif [ "$status" = 77 ]; then
      NOTE[franz]="skipped: no Go >= 1.26"
    else
      NOTE[franz]="skipped: go build failed"
    fi
    [ -n "${EXE[franz]:-}" ] || say "franz-go ${NOTE[franz]} (see above): no franz-go rows"
  fi
  if [[ $wanted != *,kwal,* ]]; then
    NOTE[kwal]="not asked for (-c)"
  elif [ -x "$kwal" ]; then
    EXE[kwal]=$kwal
  else
    NOTE[kwal]="not built"
  fi
  for c in rdkafka franz kwal; do
    [ -z "${EXE[$c]:-}" ] || CLIENTS+=("$c")
  done
  [ ${#CLIENTS[@]} -gt 0 ] || die "no client to run: build $BUILD (ninja -C $BUILD)"
}

# client_cmd CLIENT SUBCOMMAND: sets CMD to the command words that run CLIENT (franz-go is one binary
# with produce and consume subcommands; the C programs are one binary each, SUBCOMMAND is then unused).
client_cmd() {
  CMD=("${EXE[$1]}")
  [ "$1" != franz ] || CMD+=("$2")
}

# order ROUND: the clients in the order they run in ROUND, rotated one place each round so every client
# takes every position and drift in the broker or the machine hits all of them alike.
order() {
  local n=${#CLIENTS[@]} i
  for ((i = 0; i < n; i++)); do
    printf '%s ' "${CLIENTS[$(((i + $1 - 1) % n))]}"
  done
}

check_broker() {
  command -v java >/dev/null || die "java is not installed (needed for Kafka's TopicCommand)"
  [ -d "${KWAL_KAFKA_LIB:-}" ] || die "KWAL_KAFKA_LIB (${KWAL_KAFKA_LIB:-}) is missing: run tests/kafka/broker up once"
  "$ROOT/tests/kafka/broker" status >/dev/null || die "no broker is running: tests/kafka/broker up"
}

topics() { # topics create|delete NAME [CONFIG=VALUE...]
  local what=$1 name=$2 extra=() kv
  shift 2
  [ "$what" = create ] && extra=(--partitions 1 --replication-factor 1)
  for kv in "$@"; do extra+=(--config "$kv"); done
  java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$KWAL_KAFKA_LIB/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKERS" "--$what" --topic "$name" "${extra[@]}"
}

field() { # field NAME LINE: the value of NAME=value in a result line
  sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}

median() { # median NUMBERS...
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# cpu_per_mb LINE: user+sys CPU seconds per MB the run moved
cpu_per_mb() {
  awk -v u="$(field cpu_user "$1")" -v s="$(field cpu_sys "$1")" -v b="$(field bytes "$1")" \
    'BEGIN { printf "%.6f", (b > 0 ? (u + s) / (b / 1e6) : 0) }'
}

ratio() { # ratio A B: A / B to two places, "-" when B is 0
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'
}

franz_version() { # the franz-go version bench/peers/franz/go.mod asks for
  sed -n 's/^\(require \|\t\)github.com\/twmb\/franz-go \(v[^ ]*\)$/\2/p' "$ROOT/bench/peers/franz/go.mod" | head -1
}
