#!/usr/bin/env bash
# `kwal meta serve` on etcd: one of several metasrvs leads; SIGKILL, SIGSTOP past the lease and SIGTERM hand it over.
set -euo pipefail
kwal=${1:?usage: test_cli_meta_serve.sh PATH_TO_KWAL}
if [ -z "${KWAL_BOOTSTRAP:-}" ] || [ -z "${KWAL_ETCD_ENDPOINTS:-}" ]; then
  echo "meta serve: needs the broker (KWAL_BOOTSTRAP) and etcd (KWAL_ETCD_ENDPOINTS): skipped"
  exit 77
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.3 # TERM: the leader resigns instead of leaving a lease to lapse into the next test
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$kwal" -b "$KWAL_BOOTSTRAP" topics delete -t "${prefix}_0" -t "${prefix}_1" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
prefix="kwal_cli_serve_$$_$RANDOM"
addrs=$(sed 's/^/"/; s/,/", "/g; s/$/"/' <<<"$KWAL_ETCD_ENDPOINTS")
auth=""
[ -z "${KWAL_ETCD_USER:-}" ] || auth=$(printf '[backend_auth]\nusername = "%s"\npassword = "%s"\n' \
  "$KWAL_ETCD_USER" "$KWAL_ETCD_PASSWORD")
[ -z "${KWAL_ETCD_CA:-}" ] || auth+=$(printf '\n[backend_tls]\nmode = "require"\nca_cert_path = "%s"\ncert_path = "%s"\nkey_path = "%s"\n' \
  "$KWAL_ETCD_CA" "$KWAL_ETCD_CERT" "$KWAL_ETCD_KEY")
cfg=$work/meta.toml
cat > "$cfg" <<TOML
backend = "etcd_store"
store_addrs = [$addrs]
store_key_prefix = "kwal-test/serve/$$/$RANDOM/"
$auth
[meta_election]
lease_ttl = "2s"

[wal]
provider = "kafka"
broker_endpoints = ["$KWAL_BOOTSTRAP"]
num_topics = 2
topic_name_prefix = "$prefix"
auto_prune_interval = "1s"
TOML

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

now_ms() { date +%s%3N; }
# wait_for FILE PATTERN SECONDS: 0 when FILE shows PATTERN within SECONDS
wait_for() {
  local deadline=$(($(now_ms) + $3 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
serve() { # serve NAME: starts `kwal meta serve` as NAME, output in $work/NAME.out
  "$kwal" meta serve -c "$cfg" --node-id "$1" >"$work/$1.out" 2>"$work/$1.err" &
  pids+=($!)
  eval "pid_$1=$!"
  disown # no "Killed" notices: killing them is the test
}

serve a
if wait_for "$work/a.out" "^leading as a$" 10; then ok; else bad "a never led"; cat "$work/a.err" >&2; fi
if wait_for "$work/a.out" "^topics ensured: 2 \(2 created\)$" 15; then ok; else bad "a did not ensure the topics"; fi
serve b
if wait_for "$work/b.out" "^following: a$" 10; then ok; else bad "b does not follow a"; cat "$work/b.out" "$work/b.err" >&2; fi
out=$("$kwal" meta status -c "$cfg" 2>&1) || true
if grep -q "^leader: a$" <<<"$out"; then ok; else bad "status does not name a: $out"; fi

# One prunes: with rounds every second, the follower skips every round and the leader skips none.
sleep 2.5
if grep -q "round skipped: this metasrv does not lead" "$work/b.err" &&
   ! grep -q "round skipped: this metasrv does not lead" "$work/a.err" &&
   grep -qE "pruner: round done: [0-9]+ topics, [0-9]+ pruned, 0 skipped" "$work/a.err"; then
  ok
else
  bad "rounds: the leader should run them and the follower skip them"
  grep -h "round" "$work/a.err" "$work/b.err" | head -5 >&2
fi

# SIGKILL the leader: b takes over once a's lease lapses (2 s), not before.
t0=$(now_ms)
kill -KILL "$pid_a"
if wait_for "$work/b.out" "^leading as b$" 10; then
  took=$(($(now_ms) - t0))
  echo "meta serve: takeover after SIGKILL of the leader: $took ms (lease 2 s)"
  ok
else
  bad "b did not take over after a was killed"
fi

# SIGSTOP the leader past its lease: c is elected; b, resumed, steps down before pruning again.
serve c
wait_for "$work/c.out" "^following: b$" 10 || bad "c does not follow b"
kill -STOP "$pid_b"
if wait_for "$work/c.out" "^leading as c$" 10; then ok; else bad "c was not elected while b was stopped"; fi
sleep 1
kill -CONT "$pid_b"
if wait_for "$work/b.out" "^following: (c|nobody)" 10; then ok; else bad "b did not step down"; cat "$work/b.out" "$work/b.err" >&2; fi
if grep -q "election: b stops leading" "$work/b.err"; then ok; else bad "b's log does not say it stopped leading"; fi
# After it resumed, b ran no round as the leader: every round it logged since is a skipped one.
if awk '/stops leading/ {after = 1} after && /pruner: round done/ && !/0 pruned/ {bad = 1} END {exit bad}' "$work/b.err"; then
  ok
else
  bad "b pruned after losing its lease"
fi

# SIGTERM: c resigns (revokes its lease) and b takes over at once, well inside a lease.
t0=$(now_ms)
kill -TERM "$pid_c"
twice() { [ "$(grep -c '^leading as b$' "$work/b.out")" -ge 2 ]; }
deadline=$(($(now_ms) + 5000))
until twice || [ "$(now_ms)" -ge "$deadline" ]; do sleep 0.05; done
if twice; then
  took=$(($(now_ms) - t0))
  echo "meta serve: takeover after the leader resigned: $took ms"
  if [ "$took" -lt 2000 ]; then ok; else bad "resignation took $took ms, as long as a lapse"; fi
else
  bad "b did not take over after c resigned"
fi
wait_for "$work/c.out" "^stopping: resigning$" 5 && ok || bad "c did not say it resigned"

# The file store: serve leads alone.
printf '[wal]\nprovider = "kafka"\nbroker_endpoints = ["%s"]\nnum_topics = 2\ntopic_name_prefix = "%s"\nauto_prune_interval = "0s"\n' \
  "$KWAL_BOOTSTRAP" "$prefix" > "$work/file.toml"
"$kwal" meta serve -c "$work/file.toml" --store "$work/store" --node-id solo >"$work/solo.out" 2>&1 &
pids+=($!)
disown
if wait_for "$work/solo.out" "^leading as solo$" 10; then ok; else bad "the file store's serve does not lead"; fi
printf 'backend = "postgres_store"\n[wal]\nprovider = "kafka"\n' > "$work/pg.toml"
out=$("$kwal" meta serve -c "$work/pg.toml" 2>&1) && bad "postgres_store accepted" || {
  grep -q 'backend: "postgres_store" is not supported' <<<"$out" && ok || bad "postgres_store: $out"; }

echo "cli meta serve: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
