#!/usr/bin/env bash
# No silent loss, as a user sees it: `kscope trace open -o json` with a one-page ring buffer
# under an open() storm must lose events, and every one of them must be reported. Opens of
# the storm's file delivered as events plus the "lost" records' counts must equal the opens
# made, exactly, and the stderr summary must say the same.
# Usage: trace_open_loss_test.sh /path/to/kscope /path/to/testprogs   (exit 77 = skipped)
set -euo pipefail

kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
progs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope trace open loads BPF probes and needs root"

opens=50000

file=$tmp/storm.txt
: >"$file"
# --path keeps the storm program's own loader opens out: only the storm's opens count. kscope
# and the storm share one CPU, so the consumer falls behind and the one-page buffer overflows.
taskset -c 0 "$kscope" -v trace open -o json --buffer-size "$(getconf PAGESIZE)" --path "$file" \
  --duration 120 >"$tmp/out" 2>"$tmp/err" &
kpid=$!
for _ in $(seq 300); do
  grep -qs "attached via" "$tmp/err" && break
  kill -0 "$kpid" 2>/dev/null || fail "kscope exited early"
  sleep 0.1
done
grep -q "attached via" "$tmp/err" || fail "kscope did not attach within 30 s"

timeout 120 taskset -c 0 "$progs/open_storm" "$opens" "$file" >"$tmp/storm" || fail "open_storm failed"
sleep 0.5  # past one drain tick, so the last lost count is read while running
kill -INT "$kpid"
timeout 20 tail --pid="$kpid" -f /dev/null || fail "kscope did not stop within 20 s of SIGINT"
wait "$kpid" || fail "kscope exited non-zero"
kpid=

python3 - "$tmp/out" "$tmp/err" "$opens" "$file" <<'EOF'
import json, re, sys

out, err, opens, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
events = lost = total = 0
for line in open(out):
    rec = json.loads(line)
    if rec["type"] == "open":
        assert rec["path"] == path and rec["comm"] == "open_storm", rec
        events += 1
    elif rec["type"] == "lost":
        lost += rec["lost"]
        assert rec["total_lost"] == lost, rec  # each record carries the running total
    else:
        sys.exit(f"FAIL: unexpected record {rec}")
summary = open(err).read().strip().splitlines()[-1]
m = re.fullmatch(r"kscope: trace open: (\d+) events shown, (\d+) lost \(stopped by signal 2\)", summary)
if not m:
    sys.exit(f"FAIL: summary line {summary!r}")
if (int(m[1]), int(m[2])) != (events, lost):
    sys.exit(f"FAIL: summary says {m[1]} shown, {m[2]} lost; the stream has {events} and {lost}")
if lost == 0 or events == 0:
    sys.exit(f"FAIL: want both delivered and lost events with a one-page buffer: {events}, {lost}")
if events + lost != opens:
    sys.exit(f"FAIL: {events} delivered + {lost} lost != {opens} opens: {opens - events - lost} silently lost")
print(f"ok: {events} delivered + {lost} reported lost = {opens} opens")
EOF
echo "PASS: trace_open_loss_test"
