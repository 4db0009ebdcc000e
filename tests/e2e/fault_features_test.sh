#!/usr/bin/env bash
# Kernel features missing, forced without touching the machine: in private mount namespaces
# (the machine's mounts are untouched) kscope runs as a user runs it, where
# 1. tracepoints cannot attach: an empty tmpfs hides tracefs' events/ (no tracepoint ids, no
#    format files). `kscope doctor -o json` says tracepoint is missing and why, and picks
#    tp_btf for exec and exit; `kscope -v trace exec` falls back to tp_btf, says so, and
#    catches an exec; `--hook tracepoint` is an error; `kscope collect` attaches exec, exit,
#    oomkill, connlat and tcprtt via tp_btf (kscope_probe_info), names the tools with no other
#    hook (tcpstates, tcplife, tcpreset, tcpretrans) as left out, and counts 10 execs exactly.
# 2. kernel BTF is missing: /dev/null over /sys/kernel/btf/vmlinux. `kscope doctor` fails
#    with the reason, `kscope trace exec` exits 1 naming it, `kscope collect` names each
#    source it leaves out and attaches nothing.
# Outside, the same doctor picks tracepoint for exec: the fallback is the fault's doing.
# Usage: fault_features_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
require_root "needs root to make mount namespaces and load BPF probes"
for tool in unshare curl python3 ss; do command -v $tool >/dev/null || die "$tool is missing"; done
[[ -e /sys/kernel/btf/vmlinux ]] || { echo "SKIP: this kernel has no BTF to hide" >&2; exit 77; }
SECONDS=0
mport=$(free_port "$port_base")
install -m 0755 /bin/true "$tmp/ks-fallback"

"$kscope" doctor -o json >"$tmp/doctor.real.json" 2>/dev/null
check "outside: doctor's hook for exec" tracepoint \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tools"]["exec"]["hook"])' "$tmp/doctor.real.json")"

cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$mport
labels: [comm]
sources: {flows: false, drops: false, dns: false, runqlat: false, biolatency: false, syscalls: false}
EOF
# The runs inside a namespace, their outputs in $tmp: inner.sh MODE (tracepoints or btf).
cat >"$tmp/inner.sh" <<'SH'
set -u
mode=$1 kscope=$2 testprogs=$3 tmp=$4 mport=$5
cd "$tmp"
if [[ $mode == tracepoints ]]; then
  for d in /sys/kernel/tracing/events /sys/kernel/debug/tracing/events; do
    [[ -d $d ]] && mount -t tmpfs -o size=64k kscope-no-events "$d"
  done
  [[ -e /sys/kernel/tracing/events/sched ]] && { echo "events still there" >"$mode.setup"; exit 1; }
else
  mount --bind /dev/null /sys/kernel/btf/vmlinux || { echo "could not hide BTF" >"$mode.setup"; exit 1; }
fi
"$kscope" doctor -o json >"$mode.doctor.json" 2>"$mode.doctor.err"
echo $? >"$mode.doctor.rc"
timeout 30 "$kscope" -v trace exec -o json --count 1 --comm ks-fallback >"$mode.trace.out" 2>"$mode.trace.err" &
t=$!
for _ in $(seq 100); do grep -q "attached via" "$mode.trace.err" && break; kill -0 $t 2>/dev/null || break; sleep 0.1; done
./ks-fallback marker-$$ >/dev/null 2>&1
wait $t
echo $? >"$mode.trace.rc"
timeout 10 "$kscope" trace exec --hook tracepoint --count 1 >/dev/null 2>"$mode.forced.err"
echo $? >"$mode.forced.rc"
: >"$mode.collect.err"
"$kscope" collect -c collect.yaml 2>"$mode.collect.err" &
k=$!
for _ in $(seq 300); do grep -q "metrics at" "$mode.collect.err" && break; kill -0 $k 2>/dev/null || break; sleep 0.1; done
sleep 0.5
"$testprogs/exec_many" 10 "$testprogs/exec_target" "$mode.execs" >/dev/null
want=$(awk -F'\t' '$5 == 0' "$mode.execs" | wc -l)
tries=50
[[ $mode == btf ]] && tries=3
for _ in $(seq $tries); do
  curl -sf "http://127.0.0.1:$mport/metrics" >"$mode.scrape.txt"
  grep -qxF "kscope_exit_total{comm=\"exec_target\"} $want" "$mode.scrape.txt" && break
  sleep 0.2
done
echo "$want" >"$mode.execs.want"
kill -TERM $k
wait $k
echo $? >"$mode.collect.rc"
SH
for mode in tracepoints btf; do
  timeout 80 unshare --mount --propagation private bash "$tmp/inner.sh" "$mode" "$kscope" "$testprogs" "$tmp" "$mport"
  [[ -e $tmp/$mode.setup ]] && die "$mode: $(cat "$tmp/$mode.setup")"
done

# ---- 1. No tracepoints ------------------------------------------------------------------------
py_checks - "$tmp/tracepoints.doctor.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def want(what, want, got):
    print(f"ok: {what}: {got}" if got == want else f"FAIL: {what}: want {want!r}, got {got!r}")
want("doctor ok (tracepoints missing is not fatal)", True, d["ok"])
tp = d["hooks"]["tracepoint"]
want("doctor: tracepoint works", False, tp["works"])
if "syscalls/sys_enter_getpid" not in tp["reason"] or "No such file or directory" not in tp["reason"]:
    print(f"FAIL: doctor: tracepoint's reason does not say why: {tp['reason']!r}")
want("doctor: tp_btf, raw_tp work", (True, True), (d["hooks"]["tp_btf"]["works"], d["hooks"]["raw_tp"]["works"]))
t = d["tools"]
want("doctor: exec's hook", "tp_btf", t["exec"]["hook"])
want("doctor: exec's tracepoint alternative", ("tracepoint", "skipped"), (t["exec"]["alternatives"][0]["name"], t["exec"]["alternatives"][0]["status"]))
want("doctor: exit's hook", "tp_btf", t["exit"]["hook"])
exit_tp_btf = [a for a in t["exit"]["alternatives"] if a["name"] == "tp_btf"][0]
if not (exit_tp_btf["inexact"] or "").startswith("cannot tell whether the kernel has group_dead"):
    print(f"FAIL: doctor: exit via tp_btf is not said inexact: {exit_tp_btf['inexact']!r}")
want("doctor: tools with no hook left", ["tcplife", "tcpreset", "tcpretrans", "tcpretranscount", "tcpstates"],
     sorted(k for k, v in t.items() if v["hook"] is None))
PY
check "trace exec with no tracepoints: exit status" 0 "$(cat "$tmp/tracepoints.trace.rc")"
grep -q "^kscope: warning: trace exec: using hook tp_btf (tracepoint: attach tp_exit_execve (tracepoint/syscalls/sys_exit_execve): No such file or directory" "$tmp/tracepoints.trace.err" &&
  ok "trace exec says it fell back to tp_btf, and why" || fail "trace exec did not say it fell back: $(head -3 "$tmp/tracepoints.trace.err")"
check "trace exec's event (via tp_btf)" '["./ks-fallback", "marker"]' \
  "$(python3 -c 'import json,sys; e=json.loads(open(sys.argv[1]).readline()); print(json.dumps([e["args"][0], e["args"][1].split("-")[0]]))' "$tmp/tracepoints.trace.out" 2>/dev/null)"
check "trace exec --hook tracepoint: exit status" 1 "$(cat "$tmp/tracepoints.forced.rc")"
grep -q "^kscope: error: --hook tracepoint: " "$tmp/tracepoints.forced.err" && ok "--hook tracepoint names the missing hook" ||
  fail "--hook tracepoint: $(cat "$tmp/tracepoints.forced.err")"
check "collect with no tracepoints: kscope_probe_info" \
  'connlat=tp_btf exec=tp_btf exit=tp_btf oomkill=tp_btf tcprtt=tp_btf' \
  "$(grep '^kscope_probe_info{' "$tmp/tracepoints.scrape.txt" | sed -E 's/.*probe="([a-z]+)",hook="([a-z_]+)".*/\1=\2/' | sort | xargs)"
check "collect: sources left out for want of a hook" "tcplife tcpreset tcpretrans tcpstates" \
  "$(grep -o '^kscope collect: left out [a-z]* (tcp): trace [a-z]* cannot attach on this kernel: ' "$tmp/tracepoints.collect.err" | awk '{print $5}' | sort | xargs)"
grep -q "^kscope: warning: trace exit: hook tp_btf is inexact here: cannot tell whether the kernel has group_dead" "$tmp/tracepoints.collect.err" &&
  ok "collect says exit is inexact via tp_btf" || fail "collect did not say exit is inexact via tp_btf"
want=$(cat "$tmp/tracepoints.execs.want")
check "collect via tp_btf: kscope_exec_total{comm=\"exec_target\"}" "$want" \
  "$(awk '$1 == "kscope_exec_total{comm=\"exec_target\"}" {print $2}' "$tmp/tracepoints.scrape.txt")"
check "collect via tp_btf: kscope_exit_total{comm=\"exec_target\"}" "$want" \
  "$(awk '$1 == "kscope_exit_total{comm=\"exec_target\"}" {print $2}' "$tmp/tracepoints.scrape.txt")"
check "collect with no tracepoints: exit status after SIGTERM" 0 "$(cat "$tmp/tracepoints.collect.rc")"

# ---- 2. No BTF --------------------------------------------------------------------------------
check "doctor without BTF: exit status" 1 "$(cat "$tmp/btf.doctor.rc")"
check "doctor without BTF: its error" "kernel BTF is missing: /sys/kernel/btf/vmlinux does not load" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["message"][:60])' "$tmp/btf.doctor.json" 2>/dev/null)"
check "trace exec without BTF: exit status" 1 "$(cat "$tmp/btf.trace.rc")"
grep -q "^kscope: error: trace exec cannot attach on this kernel: .*failed to find valid kernel BTF" "$tmp/btf.trace.err" &&
  ok "trace exec without BTF names the reason" || fail "trace exec without BTF: $(head -2 "$tmp/btf.trace.err")"
check "collect without BTF: sources left out, each named" "connlat exec exit oomkill tcplife tcpreset tcpretrans tcprtt tcpstates" \
  "$(grep '^kscope collect: left out [a-z]* ([a-z]*): trace [a-z]* cannot attach on this kernel: ' "$tmp/btf.collect.err" | awk '{print $5}' | sort | xargs)"
grep -q "^kscope collect: left out exec (process): trace exec cannot attach on this kernel: .*tp_btf: load exec_bpf: .*failed to find valid kernel BTF" "$tmp/btf.collect.err" &&
  ok "collect without BTF says why exec is left out" || fail "collect without BTF does not say why: $(grep 'left out exec' "$tmp/btf.collect.err")"
check "collect without BTF: probes running" 0 "$(grep -c '^kscope_probe_info{' "$tmp/btf.scrape.txt")"
finish "tracepoints and BTF missing (${SECONDS}s)"
