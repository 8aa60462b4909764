#!/usr/bin/env bash
# kwal-chaos-checker on hand-made histories: each violation it must catch, the figures it prints,
# and a clean history passing.  No broker or root needed (unit suite).
set -euo pipefail
checker=${1:?usage: test_checker.sh PATH/TO/kwal-chaos-checker}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# A clean history: writer 1 appends s0 (region 1) and s1 (region 2), writer 2 s0 (region 1), one
# failed append not in the log; the producer's p0..p2 at offsets 0..2, p3 failed.
base() {
  local d=$1
  mkdir -p "$d"
  cat >"$d/acks" <<'EOF'
A 1 1 0 10 1000 1010
A 2 1 0 11 1005 1020
A 1 2 1 12 1011 1030
F 2 2 1 1021 4021 timed out: produce to t: node 1: timed out
A 2 3 2 13 4022 4030
PA 0 0 1000 1010
PA 1 1 1005 1015
PA 2 2 1010 1020
PF 3 1015 2015 timed out
EOF
  printf '1\t10\tw1 s0 r1\n1\t11\tw2 s0 r1\n2\t12\tw1 s1 r2\n3\t13\tw2 s2 r3\n' >"$d/replay"
  printf '0 p0\n1 p1\n2 p2\n' >"$d/readback"
}

expect() { # expect NAME STATUS PATTERN: run the checker on $tmp/NAME, want that exit status and output
  local name=$1 want=$2 pat=$3 out st=0
  out=$("$checker" "$name" "$tmp/$name" 2>&1) || st=$?
  if [ "$st" != "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
    echo "FAIL $name: exit $st (want $want), output:"; echo "$out" | sed 's/^/    /'
    echo "    wanted /$pat/"
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}

base "$tmp/clean"
# unavailable: writer 2's s1 started at 1021 and nothing started then or later was acked before 4030;
# the producer's p3 started at 1015 and failed at 2015 with nothing sent after it
expect clean 0 'wal: acked 4 lost 0 dup 0 reorder 0 unavailable 3009 ms \(failed 1, of them in the log 0; unknown 0\) \| producer: acked 3 lost 0 dup 0 reorder 0 unavailable 1000 ms \(failed 1'

base "$tmp/wal-lost"
sed -i '/w1 s1 r2/d' "$tmp/wal-lost/replay"
expect wal-lost 1 'WAL lost: w1 s1 region 2 id 12'

base "$tmp/wal-wrong-id"
sed -i 's/^2\t12\t/2\t14\t/' "$tmp/wal-wrong-id/replay"
expect wal-wrong-id 1 'acknowledged as id 12, replayed as 14'

base "$tmp/wal-dup"
printf '1\t15\tw2 s0 r1\n' >>"$tmp/wal-dup/replay"
expect wal-dup 1 'wal: acked 4 lost 0 dup 1'

base "$tmp/wal-reorder"
printf '1\t11\tw2 s0 r1\n1\t10\tw1 s0 r1\n2\t12\tw1 s1 r2\n3\t13\tw2 s2 r3\n' >"$tmp/wal-reorder/replay"
expect wal-reorder 1 'reorder [1-9]'

base "$tmp/wal-late-failed"
# the failed s1 of writer 2 lands in region 2 after writer 2's s2 was acknowledged... in its region
sed -i 's/^A 2 3 2 13 4022 4030$/A 2 2 2 13 4022 4030/' "$tmp/wal-late-failed/acks"
printf '1\t10\tw1 s0 r1\n1\t11\tw2 s0 r1\n2\t12\tw1 s1 r2\n2\t13\tw2 s2 r2\n2\t14\tw2 s1 r2\n' >"$tmp/wal-late-failed/replay"
expect wal-late-failed 1 'an append reported failed, written after a later one of its writer'

base "$tmp/wal-unknown"
printf '4\t16\tw1 s99 r4\n' >>"$tmp/wal-unknown/replay"
expect wal-unknown 1 'never appended'

base "$tmp/prod-lost"
printf '0 p0\n2 p2\n' >"$tmp/prod-lost/readback"
expect prod-lost 1 'producer lost p1'

base "$tmp/prod-dup"
printf '3 p2\n' >>"$tmp/prod-dup/readback"
expect prod-dup 1 'producer: acked 3 lost 0 dup 1'

base "$tmp/prod-reorder"
printf '0 p0\n1 p2\n2 p1\n' >"$tmp/prod-reorder/readback"
expect prod-reorder 1 'after p2'

base "$tmp/nothing-acked"
sed -i '/^PA/d' "$tmp/nothing-acked/acks"
: >"$tmp/nothing-acked/readback"
expect nothing-acked 1 'nothing was acknowledged'

base "$tmp/missing"
rm "$tmp/missing/replay"
expect missing 2 'replay: No such file'

base "$tmp/malformed"
echo "X what" >>"$tmp/malformed/acks"
expect malformed 2 'not an outcome line'

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
