#!/usr/bin/env bash
# `kscope trace exec -o json | head -n 3`: when the reader goes away the run ends by itself,
# exits 0 (not killed by SIGPIPE) and still prints its summary on stderr, saying why it
# stopped. Execs of /bin/true keep coming until it does, bounded in time.
# Usage: trace_pipe_test.sh /path/to/kscope   (exit 77 = skipped: needs root)
set -euo pipefail

kscope=${1:?usage: $0 /path/to/kscope}
source "$(dirname "$0")/lib.sh"
require_root "kscope trace exec loads BPF probes and needs root"

( for _ in $(seq 1500); do /bin/true kscope-pipe; sleep 0.01; done ) &
trigger=$!
set +e
"$kscope" trace exec -o json --duration 60 2>"$tmp/err" | head -n 3 >"$tmp/out"
statuses=("${PIPESTATUS[@]}")
set -e
kill "$trigger" 2>/dev/null || true
wait "$trigger" 2>/dev/null || true

[[ ${statuses[0]} -eq 0 ]] || fail "kscope exited ${statuses[0]} after its reader went away (141 = killed by SIGPIPE)"
[[ $(wc -l <"$tmp/out") -eq 3 ]] || fail "head got $(wc -l <"$tmp/out") lines, want 3"
summary=$(tail -n 1 "$tmp/err")
[[ $summary =~ ^kscope:\ trace\ exec:\ [0-9]+\ events\ shown,\ 0\ lost.*\(output\ closed\)$ ]] ||
  fail "summary line: $summary"
echo "PASS: trace_pipe_test ($summary)"
