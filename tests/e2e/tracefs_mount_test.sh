#!/usr/bin/env bash
# kscope mounts tracefs itself when it is absent: in a private mount namespace (the
# machine's own mounts are untouched) tracefs is unmounted, then `kscope -v trace exec` must
# say it mounted tracefs, attach to the syscall tracepoints and catch an exec.
# Usage: tracefs_mount_test.sh /path/to/kscope [/path/to/testprogs]   (exit 77 = skipped)
set -euo pipefail

kscope=${1:?usage: $0 /path/to/kscope}
source "$(dirname "$0")/lib.sh"
require_root "needs root to make a mount namespace and load BPF probes"

marker="kscope-tracefs-$$"
# A program name of its own, so that --comm catches this exec and no other.
install -m 0755 /bin/true "$tmp/ks-tracefs-true"
timeout 60 unshare --mount --propagation private bash -c '
  set -euo pipefail
  for dir in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    while mountpoint -q "$dir"; do umount "$dir"; done
  done
  if [[ -e /sys/kernel/tracing/events ]]; then echo "tracefs still there" >&2; exit 1; fi
  "$1" -v trace exec -o json --count 1 --comm ks-tracefs-true >"$2/out" 2>"$2/err" &
  kpid=$!
  for _ in $(seq 100); do
    grep -q "attached via" "$2/err" && break
    sleep 0.1
  done
  "$2/ks-tracefs-true" "$3"
  wait "$kpid"
' _ "$kscope" "$tmp" "$marker" || { cat "$tmp/err" >&2; echo "FAIL: kscope failed" >&2; exit 1; }

grep -q "mounted tracefs at /sys/kernel/tracing" "$tmp/err" ||
  { cat "$tmp/err" >&2; echo "FAIL: kscope did not say it mounted tracefs" >&2; exit 1; }
grep -q "attached via tracepoint" "$tmp/err" ||
  { cat "$tmp/err" >&2; echo "FAIL: kscope did not attach to the tracepoints" >&2; exit 1; }
grep -q "\"args\":\[\"$tmp/ks-tracefs-true\",\"$marker\"\]" "$tmp/out" ||
  { cat "$tmp/out" >&2; echo "FAIL: the exec of ks-tracefs-true $marker was not caught" >&2; exit 1; }
echo "PASS: tracefs_mount_test"
