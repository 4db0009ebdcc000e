#!/usr/bin/env bash
# Faults of the kernel side, in `kscope collect`, as a user runs it:
# 1. Event ring overflow: the collector is stopped (SIGSTOP) while 100 execs with 32 KiB of
#    arguments each fill its 1 MiB exec ring, then continued. What did not fit is counted
#    (kscope_probe_lost_total{probe="exec",point="ring_reserve"}, the same number in the exec
#    sink's in-band loss reports), the ring's fill ratio shows it, delivered + lost covers the
#    100, and the ring recovers: 30 execs after it all arrive, in the file and the metrics.
# 2. Flow table full: sources.flows on a cgroup of this run with max_flows 64; 500 UDP flows of
#    one 38-byte packet: 64 tracked flows, 436 packets in one overflow record
#    (lack_of_resources) and kscope_probe_lost_total{probe="flows",point="table_full"} 436,
#    the overflow series of kscope_flow_packets_total 436 and bytes 16568, and the sink's
#    in-band reports count kernel.table_full 436 in all: with periodic reports, across a
#    reload that changes sources.flows, and in the only report a short run writes (at stop).
# Usage: fault_overflow_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN; the test makes namespaces and a cgroup"
for tool in curl python3 findmnt ss; do command -v $tool >/dev/null || die "$tool is missing"; done
SECONDS=0
mport=$(free_port "$port_base")

# ---- 1. The exec ring ----------------------------------------------------------------------
# Two copies of true: their comm tells the execs made while the collector was stopped (a)
# from those after (b).
cp /bin/true "$tmp/ksovfa" && cp /bin/true "$tmp/ksovfb" || die "could not copy /bin/true"
args=()
for i in $(seq 32); do args+=("$(printf "%01000d" "$i")"); done
cat >"$tmp/ring.yaml" <<EOF
listen: 127.0.0.1:$mport
labels: [comm]
report_interval: 500ms
sources: {flows: false, tcp: false, drops: false, dns: false, runqlat: false, biolatency: false, syscalls: false}
sinks:
  - {name: execs, type: file, path: $tmp/execs.json, events: [exec], allow: [{comm: [ksovfa, ksovfb]}]}
EOF
collect_start "$tmp/ring.yaml"
kill -STOP "$kpid"
for _ in $(seq 100); do "$tmp/ksovfa" "${args[@]}"; done
kill -CONT "$kpid"
sleep 0.5
scrape
lost=$(awk '$1 == "kscope_probe_lost_total{probe=\"exec\",point=\"ring_reserve\"}" {print $2}' "$tmp/scrape.txt")
fill=$(awk '$1 == "kscope_ring_buffer_fill_ratio{probe=\"exec\"}" {print $2}' "$tmp/scrape.txt")
[[ ${lost:-0} -gt 0 ]] && ok "ring overflow counted: $lost execs lost (ring_reserve)" ||
  fail "no ring_reserve loss after 100 execs of 32 KiB into a stopped collector's 1 MiB ring"
python3 -c "import sys; sys.exit(0 if float('${fill:-0}') >= 0.9 else 1)" &&
  ok "fill ratio after the stall: $fill" || fail "kscope_ring_buffer_fill_ratio{probe=\"exec\"} is ${fill:-none}, not >= 0.9"
# Recovery: 30 execs now all arrive.
for _ in $(seq 30); do "$tmp/ksovfb" "${args[@]}"; done
wait_metric 'kscope_exec_total{comm="ksovfb"}' 30 || fail "after the overflow, kscope_exec_total{comm=\"ksovfb\"} is $(metric 'kscope_exec_total{comm="ksovfb"}'), not 30"
fill2=$(metric 'kscope_ring_buffer_fill_ratio{probe="exec"}')
python3 -c "import sys; sys.exit(0 if float('${fill2:-1}') < 0.5 else 1)" &&
  ok "fill ratio after recovery: $fill2" || fail "the exec ring did not drain: fill ratio $fill2"
delivered_metric=$(metric 'kscope_exec_total{comm="ksovfa"}')
lost=$(metric 'kscope_probe_lost_total{probe="exec",point="ring_reserve"}')
collect_stop
py_checks - "$tmp/execs.json" "$lost" "${delivered_metric:-0}" "${args[0]}" <<'PY'
import json, sys
path, lost, delivered_metric, arg0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = [json.loads(l) for l in open(path)]
events = [l for l in lines if l["schema"] == "kscope.event.v1"]
a = [e for e in events if e["comm"] == "ksovfa"]
b = [e for e in events if e["comm"] == "ksovfb"]
bad = []
if len(b) != 30: bad.append(f"{len(b)} ksovfb execs after the overflow, want 30")
if any(len(e["args"]) != 33 or e["args"][1] != arg0 or e["args_truncated"] for e in b):
    bad.append("a ksovfb exec without its 32 arguments")
if len(a) != delivered_metric: bad.append(f"{len(a)} ksovfa execs in the file, {delivered_metric} in kscope_exec_total")
if not len(a) < 100: bad.append(f"all 100 ksovfa execs delivered ({len(a)}): nothing overflowed")
if len(a) + lost < 100: bad.append(f"{len(a)} delivered + {lost} lost < 100 execs: silent loss")
reports = [l for l in lines if l["schema"] == "kscope.loss.v1"]
inband = sum(r["lost"].get("exec.ring_reserve", 0) for r in reports)
if inband != lost: bad.append(f"in-band exec.ring_reserve {inband} != kscope_probe_lost_total {lost}")
if not any(not r["complete"] and r["lost"].get("exec.ring_reserve", 0) > 0 for r in reports):
    bad.append("no incomplete window names exec.ring_reserve")
for m in bad: print("FAIL: ring: " + m)
if not bad: print(f"ok: ring: {len(a)} of 100 delivered while stalled + {lost} lost (ring_reserve, in band and metric); 30 of 30 after")
PY

# ---- 2. The flow table --------------------------------------------------------------------
a=ksovf$$a
b=ksovf$$b
netns_pair "$a" "$b" 10.237.0 noipv6
make_cgroup
# Sweeps only at scrapes (sweep_interval 60s): the 500 packets land in one table generation.
flows_yaml() {
  cat >"$tmp/flows.yaml" <<EOF
listen: 127.0.0.1:$mport
labels: [comm]
report_interval: $1
sources: {flows: {cgroup: $cg, max_flows: 64, sweep_interval: 60s, idle_timeout: $2}, $no_tools}
sinks:
  - {name: flows, type: file, path: $3}
EOF
}
# file_check FILE LABEL: one overflow record of 436 packets, 64 one-packet UDP flows, and
# in-band reports whose kernel.table_full adds up to 436, none of them more.
file_check() {
  py_checks - "$1" "$2" <<'PY'
import json, sys
path, label = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(path)]
flows = [l for l in lines if l["schema"] == "kscope.flow.v1"]
over = [f for f in flows if f["end_reason"] == "lack_of_resources"]
udp = [f for f in flows if "UDP" in f.get("l4", {})]
reports = [l for l in lines if l["schema"] == "kscope.loss.v1"]
bad = []
if [(f["packets"], f["bytes"], f["traffic_direction"]) for f in over] != [(436, 436 * 38, "EGRESS")]:
    bad.append(f"overflow records {[(f['packets'], f['bytes']) for f in over]}, want one of 436 packets, {436 * 38} bytes")
if len(udp) != 64 or sum(f["packets"] for f in udp) != 64:
    bad.append(f"{len(udp)} UDP flow records with {sum(f['packets'] for f in udp)} packets, want 64 and 64")
full = [r["lost"].get("kernel.table_full") for r in reports]
if any(n is None for n in full):
    bad.append(f"{full.count(None)} of {len(full)} loss reports lack kernel.table_full: {[r for r in reports if 'kernel.table_full' not in r['lost']][-1]}")
if any(n is not None and n > 436 for n in full):
    bad.append(f"a loss report counts kernel.table_full {max(n for n in full if n is not None)} (> the 436 lost)")
if sum(n or 0 for n in full) != 436:
    bad.append(f"in-band kernel.table_full adds up to {sum(n or 0 for n in full)}, want 436")
if reports and reports[-1]["complete"] and sum(n or 0 for n in full) < 436 and not any(not r["complete"] for r in reports):
    bad.append("every window says complete although 436 packets overflowed")
for m in bad: print(f"FAIL: {label}: {m}")
if not bad: print(f"ok: {label}: 1 overflow record of 436 packets, 64 flows, in-band kernel.table_full 436")
PY
}

# 2a. Periodic reports (500ms), then a reload that changes sources.flows.
flows_yaml 500ms 100ms "$tmp/flows.json"
collect_start "$tmp/flows.yaml"
burst "$b" 10.237.0.2 "$a" 10.237.0.1 20000 500
scrape
grep_metric() { awk -v m="$1" '$1 == m {print $2}' "$tmp/scrape.txt"; }
check "table_full" 436 "$(grep_metric 'kscope_probe_lost_total{probe="flows",point="table_full"}')"
check "overflow packets series" 436 "$(grep_metric 'kscope_flow_packets_total{direction="egress",protocol="",interface="",comm=""}')"
check "overflow bytes series" $((436 * 38)) "$(grep_metric 'kscope_flow_bytes_total{direction="egress",protocol="",interface="",comm=""}')"
check "tracked flows" 64 "$(awk '$1 ~ /^kscope_flows_total\{direction="egress",protocol="udp",.*comm="fk_client"\}$/ {print $2}' "$tmp/scrape.txt")"
check "tracked packets" 64 "$(awk '$1 ~ /^kscope_flow_packets_total\{direction="egress",protocol="udp",.*comm="fk_client"\}$/ {print $2}' "$tmp/scrape.txt")"
check "flow table capacity" 64 "$(grep_metric 'kscope_bpf_map_capacity{probe="flows",map="flows_a"}')"
# The report after the overflow, then a reload that restarts the flow engine.
wait_for 5 grep -q '"kernel.table_full":436' "$tmp/flows.json" || fail "no in-band report of kernel.table_full 436"
flows_yaml 500ms 200ms "$tmp/flows.json"
kill -HUP "$kpid"
wait_for 5 grep -q "reloaded" "$tmp/err" || fail "the reload was not applied"
sleep 1.5
after=$(metric 'kscope_probe_lost_total{probe="flows",point="table_full"}')
collect_stop
file_check "$tmp/flows.json" "periodic reports and a reload"
[[ $after == 436 ]] || echo "note: kscope_probe_lost_total{probe=\"flows\",point=\"table_full\"} went from 436 to $after at the reload (a counter reset)"

# 2b. One report only, at stop (report_interval 1h): the run's window must still say so.
flows_yaml 1h 100ms "$tmp/flows2.json"
collect_start "$tmp/flows.yaml"
burst "$b" 10.237.0.2 "$a" 10.237.0.1 21000 500
check "table_full (short run)" 436 "$(metric 'kscope_probe_lost_total{probe="flows",point="table_full"}')"
collect_stop
file_check "$tmp/flows2.json" "the report at stop"
finish "ring overflow and flow table overflow (${SECONDS}s)"
