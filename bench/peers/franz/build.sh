#!/usr/bin/env bash
# Builds the franz-go peer (OUT_DIR/franz) for bench/produce and bench/consume; exit 77 when no usable Go.
#
#   bench/peers/franz/build.sh OUT_DIR
#
# Go comes from $KWAL_GO when set (a path; "none" to build without Go), else PATH or /usr/local/go/bin; go.mod needs Go 1.26 (franz-go v1.22.3's own requirement), and
# GOTOOLCHAIN=local keeps an older go from fetching a newer toolchain behind our back. Modules come from
# the Go module proxy into a GOPATH under ~/.cache/kwal/go (build cache ~/.cache/kwal/go-build), so the
# build never writes outside the cache and OUT_DIR. Exit status: 0 built, 77 no usable Go (the reason on
# stderr), anything else a failed build.
set -euo pipefail

[ $# -eq 1 ] || { sed -n '4p' "$0" >&2; exit 2; }
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ -n "${KWAL_GO:-}" ]; then
  GO=$(command -v "$KWAL_GO" || true)
else
  GO=$(command -v go || true)
  [ -n "$GO" ] || [ ! -x /usr/local/go/bin/go ] || GO=/usr/local/go/bin/go
fi
if [ -z "$GO" ]; then
  where="PATH or /usr/local/go/bin"
  [ -z "${KWAL_GO:-}" ] || where="KWAL_GO=$KWAL_GO"
  echo "franz build: no go command ($where); franz-go v1.22.3 needs Go >= 1.26" >&2
  exit 77
fi
version=$("$GO" env GOVERSION 2>/dev/null || true) # go1.26.8
minor=$(sed -n 's/^go1\.\([0-9]*\).*/\1/p' <<<"$version")
if [ -z "$minor" ] || [ "$minor" -lt 26 ]; then
  echo "franz build: $GO is ${version:-of unknown version}; franz-go v1.22.3 needs Go >= 1.26" >&2
  exit 77
fi

export GOPATH=$HOME/.cache/kwal/go GOCACHE=$HOME/.cache/kwal/go-build GOFLAGS=-mod=mod GOTOOLCHAIN=local
cd "$DIR"
"$GO" build -trimpath -o "$OUT/franz" .
