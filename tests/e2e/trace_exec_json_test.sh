#!/usr/bin/env bash
# `kscope trace exec -o json` as a user runs it: started in the background, stopped with
# SIGTERM as soon as the workload is done. exec_many does 50 known execs (successes, ENOENT,
# EACCES, some as uid 65534, one with an argument longer than --max-arg-len); every one must
# appear with its exact pid, ppid, uid, comm, ret, cgroup and argv. Other processes on the
# machine may exec too: events are matched by pid, not counted. Then a failed execve that
# began before kscope attached must come out flagged argv_missing, and counted.
# Usage: trace_exec_json_test.sh /path/to/kscope /path/to/testprogs   (exit 77 = skipped)
set -euo pipefail

kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
progs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope trace exec loads BPF probes and needs root"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the NDJSON" >&2; exit 77; }

# Waits until an exec of /bin/true with this marker argument shows up in kscope's output.
await_marker() {
  local marker=$1 tries=${2:-150}
  for ((i = 0; i < tries; i++)); do
    /bin/true "$marker"
    sleep 0.2
    grep -q "\"$marker\"" "$tmp/out" && return 0
    kill -0 "$kpid" 2>/dev/null || fail "kscope exited early (waiting for $marker)"
  done
  fail "no exec of /bin/true $marker seen in 30 s"
}

# --duration bounds the run even if the SIGINT below never comes.
"$kscope" trace exec -o json --failed --duration 120 --record "$tmp/records" >"$tmp/out" 2>"$tmp/err" &
kpid=$!
await_marker "kscope-e2e-start-$$"

start_ns=$(date +%s%N)
many_rc=0
# Some execs run as uid 65534, which may not reach the build tree: run a copy from a
# world-readable directory.
chmod 0755 "$tmp"
install -m 0755 "$progs/exec_target" "$tmp/exec_target"
timeout 120 "$progs/exec_many" 50 "$tmp/exec_target" "$tmp/expected" >"$tmp/many" || many_rc=$?
end_ns=$(date +%s%N)
[[ $many_rc -eq 0 ]] || fail "exec_many exited $many_rc: $(cat "$tmp/many")"
grep -q '^execs=50 .* failed=0$' "$tmp/many" || fail "exec_many: $(cat "$tmp/many")"
[[ $(wc -l <"$tmp/expected") -eq 50 ]] || fail "exec_many wrote $(wc -l <"$tmp/expected") lines"

# SIGTERM right away: the last execs are still in the ring buffer (the probe does not wake
# the consumer per event), and kscope must drain them before it exits.
kill -TERM "$kpid"
krc=0
timeout 20 tail --pid="$kpid" -f /dev/null || fail "kscope did not stop within 20 s of SIGTERM"
wait "$kpid" || krc=$?
kpid=
[[ $krc -eq 0 ]] || fail "kscope exited $krc after SIGTERM"
summary=$(tail -n 1 "$tmp/err")
[[ $summary =~ ^kscope:\ trace\ exec:\ [0-9]+\ events\ shown,\ 0\ lost\ \(stopped\ by\ signal\ 15\)$ ]] ||
  fail "summary line: '$summary'"

python3 - "$tmp/out" "$tmp/expected" "$start_ns" "$end_ns" <<'EOF'
import calendar, json, os, re, sys, time

out_path, expected_path, start_ns, end_ns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
MAX_ARGS, MAX_ARG_LEN = 128, 1024  # kscope's defaults
KEYS = ["type", "time", "comm", "pid", "ns_pid", "ppid", "uid", "cgroup_id", "ret", "args",
        "args_truncated", "args_unreadable", "argv_missing"]
fails = []

def check(cond, what):
    if not cond:
        fails.append(what if len(what) <= 600 else what[:600] + "...")

# The cgroup this script (and so exec_many and its children) runs in, as its inode.
mount = next(l.split()[1] for l in open("/proc/self/mounts") if l.split()[2] == "cgroup2")
rel = next(l.strip()[3:] for l in open("/proc/self/cgroup") if l.startswith("0::"))
cgroup_id = os.stat(mount + rel).st_ino
# ns_pid equals pid only when this test runs in the host's pid namespace.
nspid = next(l.split()[1:] for l in open("/proc/self/status") if l.startswith("NSpid:"))
host_ns = len(nspid) == 1

expected = {}
for line in open(expected_path, encoding="utf-8", errors="surrogateescape"):
    pid, ppid, uid, comm, ret, argv = line.rstrip("\n").split("\t", 5)
    args = argv.split("\x1f")
    cut = [a[:MAX_ARG_LEN] for a in args[:MAX_ARGS]]
    truncated = len(args) > MAX_ARGS or any(len(a) > MAX_ARG_LEN for a in args)
    expected[int(pid)] = dict(ppid=int(ppid), uid=int(uid), comm=comm, ret=int(ret), args=cut,
                              args_truncated=truncated)
check(len(expected) == 50, f"{len(expected)} distinct pids in the expected file")
check(sum(e["args_truncated"] for e in expected.values()) == 1, "exec_many's long argument case")
check({e["ret"] for e in expected.values()} == {0, -2, -13}, "exec_many's result mix")

def wall_ns(t):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z", t)
    if not m:
        return None
    return calendar.timegm(time.strptime(m[1], "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(m[2])

seen = {}
lines = open(out_path, encoding="utf-8").read().splitlines()
check(len(lines) > 0, "no output")
for n, line in enumerate(lines, 1):
    try:
        ev = json.loads(line)
    except ValueError as e:
        fails.append(f"line {n} is not JSON ({e}): {line[:200]}")
        continue
    if ev.get("type") != "exec":
        fails.append(f"line {n}: type {ev.get('type')!r}, want exec: {line[:200]}")
        continue
    check(list(ev) == KEYS, f"line {n}: keys {list(ev)}")
    if ev.get("pid") in expected:
        seen.setdefault(ev["pid"], []).append(ev)

for pid, want in sorted(expected.items()):
    evs = seen.get(pid, [])
    if len(evs) != 1:
        check(False, f"pid {pid}: {len(evs)} exec events, want 1 (expected {want})")
        continue
    ev = evs[0]
    for key in ("ppid", "uid", "comm", "ret", "args", "args_truncated"):
        check(ev[key] == want[key], f"pid {pid}: {key} = {ev[key]!r}, want {want[key]!r}")
    check(not ev["args_unreadable"] and not ev["argv_missing"], f"pid {pid}: flagged partial")
    check(ev["cgroup_id"] == cgroup_id, f"pid {pid}: cgroup_id {ev['cgroup_id']}, want {cgroup_id}")
    if host_ns:
        check(ev["ns_pid"] == pid, f"pid {pid}: ns_pid {ev['ns_pid']}, want {pid}")
    t = wall_ns(ev["time"])
    check(t is not None and start_ns - 2 * 10**9 <= t <= end_ns + 2 * 10**9,
          f"pid {pid}: time {ev['time']} outside the run")

if fails:
    print("FAIL:\n  " + "\n  ".join(fails[:40]), file=sys.stderr)
    sys.exit(1)
print(f"ok: 50 execs matched among {len(lines)} events")
EOF

# The recorded records replayed without any privilege (as uid 65534) through the same
# pipeline give the same events; only each process's wall-clock conversion may differ, by
# microseconds.
chmod 0644 "$tmp/records"
setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$kscope" trace exec -o json --failed --replay "$tmp/records" >"$tmp/replayed" 2>"$tmp/replay.err" ||
  fail "replay as uid 65534 failed: $(cat "$tmp/replay.err")"
python3 - "$tmp/out" "$tmp/replayed" <<'EOF'
import calendar, json, sys, time

def load(path):
    return [json.loads(line) for line in open(path)]

def wall_ns(t):
    secs, frac = t.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(secs, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac)

live, replayed = load(sys.argv[1]), load(sys.argv[2])
if not live or len(live) != len(replayed):
    sys.exit(f"FAIL: live {len(live)} events, replayed {len(replayed)}")
for a, b in zip(live, replayed):
    ta, tb = wall_ns(a.pop("time")), wall_ns(b.pop("time"))
    if a != b or abs(ta - tb) > 10**6:
        sys.exit(f"FAIL: replay differs:\n  live     {a}\n  replayed {b}")
print(f"ok: {len(live)} events replayed identically")
EOF
# A failed execve that began before kscope attached (exec_paused holds it inside the kernel
# on a userfaultfd page): shown without arguments, flagged argv_missing, and counted like
# lost events, in an {"type":"argv_missing"} record and in the summary.
"$progs/exec_paused" "$tmp/ready" "$tmp/go" &
paused=$!
for _ in $(seq 200); do
  [[ -e $tmp/ready ]] || ! kill -0 "$paused" 2>/dev/null && break
  sleep 0.05
done
if [[ ! -e $tmp/ready ]]; then
  wait "$paused" || [[ $? -eq 77 ]] || fail "exec_paused failed before its execve waited"
  echo "note: no userfaultfd here: the argv_missing part is left out"
  echo "PASS: trace_exec_json_test"
  exit 0
fi
"$kscope" -v trace exec -o json --failed --comm exec_paused --duration 60 >"$tmp/paused.out" \
  2>"$tmp/err" &
kpid=$!
for _ in $(seq 300); do
  grep -qs "attached via" "$tmp/err" && break
  sleep 0.1
done
: >"$tmp/go"
wait "$paused" || fail "exec_paused: its execve did not fail with ENOENT"
sleep 0.5  # past one tick, so the count is read while running
kill -INT "$kpid"
timeout 20 tail --pid="$kpid" -f /dev/null || fail "kscope did not stop within 20 s of SIGINT"
wait "$kpid" || fail "kscope exited non-zero"
kpid=
summary=$(tail -n 1 "$tmp/err")
[[ $summary == "kscope: trace exec: 1 events shown, 0 lost, 1 argv_missing, 1 partly read (stopped by signal 2)" ]] ||
  fail "summary line: '$summary'"
python3 - "$tmp/paused.out" "$paused" <<'EOF'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
execs = [r for r in records if r["type"] == "exec"]
counted = [r for r in records if r["type"] == "argv_missing"]
if len(execs) != 1 or execs[0]["pid"] != int(sys.argv[2]):
    sys.exit(f"FAIL: want one exec of exec_paused: {execs}")
e = execs[0]
if (e["ret"], e["args"], e["argv_missing"], e["args_unreadable"]) != (-2, [], True, False):
    sys.exit(f"FAIL: want ret -2, no args, argv_missing: {e}")
if counted != [{"type": "argv_missing", "argv_missing": 1, "total_argv_missing": 1}]:
    sys.exit(f"FAIL: want one argv_missing record of 1: {counted}")
print("ok: the exec begun before the probe is flagged and counted")
EOF
echo "PASS: trace_exec_json_test"
