#!/usr/bin/env bash
# SIGKILL, then a restart, of `kscope flows` and `kscope collect`, as a user runs them, on a
# veth pair and a cgroup of this run: nothing stays attached that should not, a restart
# attaches once (no duplicate), and 7 datagrams are counted as 7 packets, not 14.
# - kscope flows --tc-attach clsact: the killed run's cls_bpf filters stay (the kernel keeps
#   them); the restart removes exactly those (stderr names their program ids), attaches one
#   filter per direction, and at SIGTERM leaves neither filter nor the clsact qdisc that the
#   killed run created.
# - kscope flows (tcx links): none left after SIGKILL; one per direction after the restart.
# - kscope collect on the interface (tcx) with a stream sink's unix socket: no tcx link left
#   after SIGKILL; the restart replaces the stale socket, attaches one link per direction,
#   counts the datagrams once; SIGTERM removes the socket.
# - kscope collect on the cgroup: its 7 cgroup programs (bpftool cgroup show) go with the
#   killed process; the restart attaches 7 again, not 14, and counts once.
# Usage: fault_kill_restart_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
require_root "kscope needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN; the test makes namespaces and a cgroup"
for tool in tc bpftool curl python3 findmnt ss; do command -v $tool >/dev/null || die "$tool is missing"; done
SECONDS=0
mport=$(free_port "$port_base")

a=kskr$$a
b=kskr$$b
netns_pair "$a" "$b" 10.236.0 noipv6
make_cgroup
nsa=(/usr/bin/ip netns exec "$a")

# The programs on veth0's tcx hooks in $a: "ingress N IDS... / egress N IDS..." (bpftool 7.1
# does not list tcx, so BPF_PROG_QUERY with BPF_TCX_INGRESS 46 and BPF_TCX_EGRESS 47).
cat >"$tmp/tcx.py" <<'PY'
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
class Query(ctypes.Structure):
    _fields_ = [("target", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("prog_cnt", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("rest", ctypes.c_uint8 * 96)]
out = []
for name, t in (("ingress", 46), ("egress", 47)):
    ids = (ctypes.c_uint32 * 16)()
    q = Query(target=socket.if_nametoindex(sys.argv[1]), attach_type=t,
              prog_ids=ctypes.addressof(ids), prog_cnt=16)
    if libc.syscall(321, 16, ctypes.byref(q), ctypes.sizeof(q)) != 0:  # bpf(BPF_PROG_QUERY)
        sys.exit(f"BPF_PROG_QUERY {name}: errno {ctypes.get_errno()}")
    out.append(f"{name} {q.prog_cnt}")
print(" ".join(out))
PY
tcx() { "${nsa[@]}" python3 "$tmp/tcx.py" veth0; }
tcx_is() { [[ $(tcx) == "$1" ]]; }
# kscope's cls_bpf filters (handle 0x6b73) on veth0 in $a, one direction: their program ids.
filters() { "${nsa[@]}" tc filter show dev veth0 "$1" | grep 'handle 0x6b73' | grep -o ' id [0-9]*' | awk '{print $2}' | xargs; }
cg_progs() { bpftool cgroup show "$cg" | tail -n +2 | wc -l; }
cg_progs_is() { [[ $(cg_progs) == "$1" ]]; }

# flows_start ERR [FLAGS...]: kscope -v flows -I veth0 -o json in $a, its pid in $fpid.
fpid=
at_exit 'stop_pid $fpid'
flows_start() {
  local err=$1
  shift
  "${nsa[@]}" "$kscope" -v flows -I veth0 -o json --idle-timeout 1 --sweep-interval 0.2 "$@" \
    >"$tmp/$err.out" 2>"$tmp/$err.err" &
  fpid=$!
  wait_for 15 grep -q "counting at tc veth0" "$tmp/$err.err" || die "kscope flows did not attach: $(cat "$tmp/$err.err")"
}
# udp7 PORT: 7 datagrams of 333 bytes from $b:PORT+1 to $a:PORT.
udp7() { "$testprogs/flow_known" "$tmp/roles" udp "$a" 10.236.0.1 "$b" 10.236.0.2 "$1" 7 333 || fail "flow_known udp $1 failed"; }
# in_packets FILE PORT: packets of the ingress records to PORT in kscope flows' NDJSON.
in_packets() {
  python3 -c 'import json,sys
print(sum(r["packets"] for r in map(json.loads, open(sys.argv[1])) if r.get("dport") == int(sys.argv[2]) and r["direction"] == "in"))' "$1" "$2"
}

# ---- kscope flows, cls_bpf filters on clsact ----------------------------------------------
flows_start clsact1 --tc-attach clsact
in1=$(filters ingress)
out1=$(filters egress)
[[ -n $in1 && -n $out1 ]] || die "no kscope filter on veth0 after the start: $(cat "$tmp/clsact1.err")"
{ kill -KILL "$fpid" && wait "$fpid"; } 2>/dev/null
fpid=
check "cls_bpf filters a SIGKILLed kscope flows left (ingress egress)" "$in1 $out1" "$(filters ingress) $(filters egress)"
flows_start clsact2 --tc-attach clsact
for d in ingress egress; do
  id=$([[ $d == ingress ]] && echo "$in1" || echo "$out1")
  grep -qxF "kscope: warning: flows: removed the $d filter a killed kscope left on veth0 (program $id)" "$tmp/clsact2.err" &&
    ok "the restart removed the killed run's $d filter (program $id)" || fail "the restart did not say it removed the $d filter $id: $(cat "$tmp/clsact2.err")"
done
in2=$(filters ingress)
out2=$(filters egress)
[[ $in2 =~ ^[0-9]+$ && $out2 =~ ^[0-9]+$ && $in2 != "$in1" && $out2 != "$out1" ]] &&
  ok "one new filter per direction after the restart ($in2, $out2)" || fail "filters after the restart: ingress '$in2', egress '$out2' (the killed run's: $in1, $out1)"
udp7 9300
sleep 1.5
kill -TERM "$fpid"
wait "$fpid" || fail "kscope flows exited $? after SIGTERM"
fpid=
check "packets of 7 datagrams, counted after the restart (clsact)" 7 "$(in_packets "$tmp/clsact2.out" 9300)"
check "kscope filters after SIGTERM (ingress egress)" " " "$(filters ingress) $(filters egress)"
"${nsa[@]}" tc qdisc show dev veth0 | grep -q clsact &&
  fail "the clsact qdisc the killed kscope created is still on veth0 after the restarted run stopped" ||
  ok "no clsact qdisc left on veth0"
"${nsa[@]}" tc qdisc del dev veth0 clsact 2>/dev/null

# ---- kscope flows, tcx links ---------------------------------------------------------------
flows_start tcx1
check "tcx programs while kscope flows runs" "ingress 1 egress 1" "$(tcx)"
{ kill -KILL "$fpid" && wait "$fpid"; } 2>/dev/null
fpid=
wait_for 10 tcx_is "ingress 0 egress 0" && ok "no tcx program left after SIGKILL" || fail "tcx programs after SIGKILL: $(tcx)"
flows_start tcx2
check "tcx programs after the restart" "ingress 1 egress 1" "$(tcx)"
udp7 9310
sleep 1.5
kill -TERM "$fpid"
wait "$fpid" || fail "kscope flows exited $? after SIGTERM"
fpid=
check "packets of 7 datagrams, counted after the restart (tcx)" 7 "$(in_packets "$tmp/tcx2.out" 9310)"
check "tcx programs after SIGTERM" "ingress 0 egress 0" "$(tcx)"

# ---- kscope collect on the interface, with a stream sink's unix socket ---------------------
cat >"$tmp/tc.yaml" <<EOF
listen: 127.0.0.1:$mport
labels: [comm]
sources: {flows: {interface: veth0, sweep_interval: 200ms, idle_timeout: 1s}, $no_tools}
sinks:
  - {name: live, type: stream, listen: "", unix: $tmp/live.sock}
EOF
in_ns=("${nsa[@]}")
collect_start "$tmp/tc.yaml" "${nsa[@]}"
check "tcx programs while kscope collect runs" "ingress 1 egress 1" "$(tcx)"
{ kill -KILL "$kpid" && wait "$kpid"; } 2>/dev/null
kpid=
wait_for 10 tcx_is "ingress 0 egress 0" && ok "no tcx program left after SIGKILL of collect" || fail "tcx programs after SIGKILL of collect: $(tcx)"
[[ -S $tmp/live.sock ]] || fail "the killed collector's unix socket is not there (the test expects a stale one)"
collect_start "$tmp/tc.yaml" "${nsa[@]}"
check "tcx programs after collect's restart" "ingress 1 egress 1" "$(tcx)"
udp7 9320
wait_metric 'kscope_flow_packets_total{direction="ingress",protocol="udp",interface="veth0",comm="fk_server"}' 7 ||
  fail "after the restart, ingress UDP packets at veth0 are $(metric 'kscope_flow_packets_total{direction="ingress",protocol="udp",interface="veth0",comm="fk_server"}'), not 7"
sleep 1
check "ingress UDP packets at veth0 (7 sent), after the restart" 7 \
  "$(metric 'kscope_flow_packets_total{direction="ingress",protocol="udp",interface="veth0",comm="fk_server"}')"
"$kscope" observe --server "$tmp/live.sock" --last 10 --port 9320 -o compact >"$tmp/observe.txt" 2>&1 &&
  ok "the restarted collector's stream answers on the replaced unix socket" || fail "kscope observe on the restarted collector's socket: $(cat "$tmp/observe.txt")"
collect_stop
in_ns=()
check "tcx programs after collect's SIGTERM" "ingress 0 egress 0" "$(tcx)"
[[ -e $tmp/live.sock ]] && fail "the unix socket is still there after SIGTERM"

# ---- kscope collect on the cgroup ------------------------------------------------------------
cat >"$tmp/cg.yaml" <<EOF
listen: 127.0.0.1:$mport
labels: [comm]
sources: {flows: {cgroup: $cg, sweep_interval: 200ms, idle_timeout: 1s}, $no_tools}
EOF
collect_start "$tmp/cg.yaml"
check "cgroup programs on $cg while kscope collect runs" 7 "$(cg_progs)"
{ kill -KILL "$kpid" && wait "$kpid"; } 2>/dev/null
kpid=
wait_for 10 cg_progs_is 0 && ok "no cgroup program left after SIGKILL" || fail "cgroup programs after SIGKILL: $(bpftool cgroup show "$cg")"
collect_start "$tmp/cg.yaml"
check "cgroup programs after the restart" 7 "$(cg_progs)"
"$testprogs/flow_known" "$tmp/roles" udp "$a" 10.236.0.1 "$b" 10.236.0.2 9330 7 333 "$cg" || fail "flow_known udp in the cgroup failed"
egress() { scrape; awk '$1 ~ /^kscope_flow_packets_total\{direction="egress",protocol="udp",.*comm="fk_client"\}$/ {print $2}' "$tmp/scrape.txt"; }
egress_is() { [[ $(egress) == "$1" ]]; }
wait_for 5 egress_is 7 || true
sleep 1
check "egress UDP packets of the cgroup (7 sent), after the restart" 7 "$(egress)"
collect_stop
wait_for 10 cg_progs_is 0 || fail "cgroup programs after SIGTERM: $(bpftool cgroup show "$cg")"
finish "SIGKILL and restart of kscope flows (clsact, tcx) and kscope collect (tcx, cgroup) (${SECONDS}s)"
