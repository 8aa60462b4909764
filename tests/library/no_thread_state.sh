#!/usr/bin/env bash
# Fails when library code under SRC_DIR keeps per-thread state (STYLE.md rule 12: no process-global state).
#
#   no_thread_state.sh SRC_DIR
#
# A thread-local or pthread_key_t cache is shared by every handle the thread touches, and by two copies of
# kwal linked into one process; state belongs to the handle that uses it (a WAL's compressor, a
# connection's frame being dispatched).  Lists each offending line with its file and number.
set -euo pipefail
src=${1:?source directory}
[ -d "$src" ] || { echo "no_thread_state.sh: $src is not a directory" >&2; exit 2; }

pattern='\b(__thread|_Thread_local|thread_local|pthread_key_create|pthread_getspecific|pthread_setspecific)\b'
if hits=$(grep -rnE --include='*.c' --include='*.h' "$pattern" "$src"); then
  echo "per-thread state under $src (keep it in the handle that uses it instead):" >&2
  echo "$hits" >&2
  exit 1
fi
echo "no thread-local or pthread_key state in $(find "$src" -name '*.[ch]' | wc -l) files under $src"
