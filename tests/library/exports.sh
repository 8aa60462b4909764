#!/usr/bin/env bash
# Fails when libkwal exports anything but the public kw_ functions that include/kwal/*.h declare with KW_API.
#
#   exports.sh shared|static LIBRARY HEADER_DIR...
#
# shared: the dynamic symbols libkwal.so defines (nm -D --defined-only).
# static: the archive's defined GLOBAL/WEAK symbols of DEFAULT visibility (readelf -sW); hidden ones
#         cannot be seen by a program's objects that link it, so they are the archive's internals.
# Every exported name must be kw_ + a lowercase letter (not the internal kw__) and declared with KW_API
# in a public header; every KW_API declaration must be exported.  Prints the number of exports.
set -euo pipefail
kind=${1:?shared or static}
lib=${2:?library path}
shift 2
[ $# -gt 0 ] || { echo "exports.sh: no header directory given" >&2; exit 2; }

headers=()
for d in "$@"; do
  for h in "$d"/*.h; do [ -f "$h" ] && headers+=("$h"); done
done
[ ${#headers[@]} -gt 0 ] || { echo "exports.sh: no headers in $*" >&2; exit 2; }

# The name of each KW_API declaration: the identifier right before the first '(' on its line.
declared=$(grep -h '^[[:space:]]*KW_API[[:space:]]' "${headers[@]}" |
  sed -n 's/^[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' | sort -u)

case $kind in
  shared)
    # nm prints "VALUE TYPE NAME[@@VERSION]"; the version node itself is an absolute (A) symbol.
    exported=$(nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u) ;;
  static)
    exported=$(readelf -sW "$lib" |
      awk '($5 == "GLOBAL" || $5 == "WEAK") && $6 == "DEFAULT" && $7 != "UND" && NF >= 8 { print $8 }' |
      sort -u) ;;
  *) echo "exports.sh: unknown kind $kind" >&2; exit 2 ;;
esac

fail=0
bad=$(printf '%s\n' "$exported" | grep -v '^$' | grep -Ev '^kw_[a-z][a-z0-9_]*$' || true)
if [ -n "$bad" ]; then
  echo "$lib exports names outside the public kw_ namespace:" >&2
  printf '  %s\n' $bad >&2
  fail=1
fi
undeclared=$(comm -23 <(printf '%s\n' "$exported" | grep -E '^kw_[a-z]' || true) <(printf '%s\n' "$declared"))
if [ -n "$undeclared" ]; then
  echo "$lib exports kw_ names no public header declares with KW_API:" >&2
  printf '  %s\n' $undeclared >&2
  fail=1
fi
missing=$(comm -13 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared"))
if [ -n "$missing" ]; then
  echo "public headers declare names $lib does not export (a host could not link them):" >&2
  printf '  %s\n' $missing >&2
  fail=1
fi
count=$(printf '%s\n' "$exported" | grep -c . || true)
echo "$kind $lib: $count exported symbols, $(printf '%s\n' "$declared" | grep -c . || true) declared with KW_API"
exit $fail
