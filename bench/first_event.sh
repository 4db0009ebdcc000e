#!/usr/bin/env bash
# Start to first event: how long after a tracer is started does the first exec event reach
# its stdout? A trigger execs /bin/true every 2 ms the whole time, so the answer is the
# tracer's own start-up (load, attach) plus its delivery latency. kscope trace exec, bpftrace
# on the same tracepoint, and libbpf-tools execsnoop, interleaved R times; best and median.
#
#   sudo bench/first_event.sh [-r REPS]
#
# Environment: REPS (5), KSCOPE, BUILD_DIR, EXECSNOOP, BPFTRACE.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-5}
EXECSNOOP=${EXECSNOOP:-/usr/sbin/execsnoop}
BPFTRACE=${BPFTRACE:-bpftrace}
while getopts "r:h" opt; do
  case $opt in
    r) REPS=$OPTARG ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer"
bench_init first_event

python3 - "$REPS" "$KSCOPE" "$BPFTRACE" "$EXECSNOOP" >"$TMP/table.md" <<'PY'
import statistics, subprocess, sys, time

reps, kscope, bpftrace, execsnoop = int(sys.argv[1]), *sys.argv[2:5]
# Each tracer, and how to tell its first event line from its banners and headers.
tracers = {
    "kscope": ([kscope, "trace", "exec", "-o", "json"], lambda l: l.startswith(b'{"type":"exec"')),
    "bpftrace": ([bpftrace, "-e", 'tracepoint:syscalls:sys_exit_execve { printf("EV %d\\n", pid); }'],
                 lambda l: l.startswith(b"EV ")),
    "execsnoop": ([execsnoop], lambda l: b"true" in l),
}
times = {name: [] for name in tracers}
for rep in range(reps):
    for name, (cmd, is_event) in tracers.items():
        trigger = subprocess.Popen(["bash", "-c", "while :; do /bin/true; sleep 0.002; done"])
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        took = None
        deadline = start + 30
        for line in p.stdout:
            if is_event(line):
                took = (time.monotonic() - start) * 1000
                break
            if time.monotonic() > deadline:
                break
        p.kill(); p.wait(); trigger.kill(); trigger.wait()
        if took is None:
            sys.exit(f"{name}: no event within 30 s")
        times[name].append(took)
        time.sleep(0.3)  # let the last run's programs be freed
rows = ["| tracer | best ms | median ms | runs (ms) |", "|---|---|---|---|"]
for name, t in times.items():
    rows.append(f"| {name} | {min(t):.0f} | {statistics.median(t):.0f} | "
                + " ".join(f"{x:.0f}" for x in t) + " |")
print("\n".join(rows))
PY
{ echo; machine_line; echo "kscope: $(kscope_rev)"; } >>"$TMP/table.md"
write_results first_event "$TMP/table.md"
