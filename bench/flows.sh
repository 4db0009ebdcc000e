#!/usr/bin/env bash
# kscope flows beside softflowd, in one run, on one veth pair between two network namespaces
# this script makes (and removes): iperf3 TCP and 64-byte UDP from namespace a to b,
# untraced, with `kscope flows` on a's veth end, and with softflowd (libpcap) doing the same
# accounting on the same interface, interleaved REPS times. Per case: throughput or packets
# per second as a ratio of untraced (medians; kernel.bpf_stats_enabled off, since its clock
# reads slow every BPF program down), the accounting side's CPU seconds per million packets
# out of the interface (kscope: its process plus its BPF programs' run time, from a run of
# its own with bpf_stats on; softflowd: its process, while libpcap's copies into its ring
# also cost in the kernel), and kscope's bytes and packets against the interface's own
# counters. Then a flow-churn run:
# CHURN concurrent UDP flows from distinct ports, every one of which must come back.
#
#   sudo bench/flows.sh [-r REPS] [-s SECONDS]
#
# Environment: REPS (3), SECONDS_PER_RUN (5), CHURN (15000), KSCOPE, BUILD_DIR, RT_PRIO.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CHURN=${CHURN:-15000}
while getopts "r:s:h" opt; do
  case $opt in
    r) REPS=$OPTARG ;;
    s) SECONDS_PER_RUN=$OPTARG ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done
command -v iperf3 >/dev/null || die "no iperf3 (scripts/install-deps.sh installs it)"
command -v softflowd >/dev/null || die "no softflowd (scripts/install-deps.sh installs it)"
command -v bpftool >/dev/null || die "no bpftool"

bench_init flows
NS_A=ksbench$$a
NS_B=ksbench$$b
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
ON_EXIT="ip netns pids $NS_B 2>/dev/null | xargs -r kill; ip netns del $NS_A 2>/dev/null; ip netns del $NS_B 2>/dev/null; sysctl -q kernel.bpf_stats_enabled=$STATS_WAS"
cp -- "$BUILD_DIR/tests/testprogs/flow_known" "$TMP/bin/"

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add veth0 netns "$NS_A" type veth peer name veth0 netns "$NS_B"
for ns in "$NS_A" "$NS_B"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$ns" link set lo up
  ip -n "$ns" link set veth0 up
done
ip -n "$NS_A" addr add 10.232.0.1/24 dev veth0
ip -n "$NS_B" addr add 10.232.0.2/24 dev veth0
mac() { ip netns exec "$1" cat /sys/class/net/veth0/address; }
ip -n "$NS_A" neigh replace 10.232.0.2 lladdr "$(mac "$NS_B")" dev veth0 nud permanent
ip -n "$NS_B" neigh replace 10.232.0.1 lladdr "$(mac "$NS_A")" dev veth0 nud permanent
ip netns exec "$NS_B" iperf3 -s -D -1 >/dev/null 2>&1 || true

tx() { ip netns exec "$NS_A" cat /sys/class/net/veth0/statistics/tx_packets /sys/class/net/veth0/statistics/tx_bytes | paste -sd' '; }
cpu_s() { awk '{printf "%.3f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
bpf_run_s() {  # the run time of kscope's flows programs, seconds
  bpftool prog show --json | python3 -c '
import json, sys
print("%.3f" % (sum(p.get("run_time_ns", 0) for p in json.load(sys.stdin)
                    if p.get("name", "").startswith("flows_tc_")) / 1e9))'
}

# One iperf3 run: "tcp" or "udp"; prints "rate" (bits/s for tcp, received packets/s for udp).
iperf() {
  ip netns exec "$NS_B" iperf3 -s -D -1 >/dev/null 2>&1
  sleep 0.3
  local args=(-c 10.232.0.2 -t "$SECONDS_PER_RUN" -J)
  [[ $1 == udp ]] && args+=(-u -b 0 -l 64)
  ip netns exec "$NS_A" "${RT[@]}" iperf3 "${args[@]}" | python3 -c '
import json, sys
r = json.load(sys.stdin)["end"]
if sys.argv[1] == "tcp":
    print("%.0f" % r["sum_received"]["bits_per_second"])
else:  # the datagrams the server received, per second
    s = r["sum"]
    print("%.0f" % ((s["packets"] - s["lost_packets"]) / s["seconds"]))' "$1"
}

RESULTS=$TMP/results.tsv
: >"$RESULTS"
run_case() {  # ACCOUNTANT KIND (kscope_cpu: kscope with bpf_stats on, for its CPU)
  local who=$1 kind=$2 pid="" before after rate cpu="" bpf0 bpf1 extra=""
  sysctl -q kernel.bpf_stats_enabled=$([[ $who == kscope_cpu ]] && echo 1 || echo 0)
  case $who in
    kscope | kscope_cpu)
      ip netns exec "$NS_A" "${RT[@]}" "$KSCOPE" -v flows -I veth0 -o json >"$TMP/flows.json" 2>"$TMP/flows.err" &
      pid=$!
      TRACER_PID=$pid
      for _ in $(seq 1 50); do grep -q "counting at" "$TMP/flows.err" 2>/dev/null && break; sleep 0.1; done
      ;;
    softflowd)
      ip netns exec "$NS_A" "${RT[@]}" softflowd -d -i veth0 -n 127.0.0.1:9995 -T full -c "$TMP/sf.ctl" >"$TMP/sf.out" 2>&1 &
      pid=$!
      TRACER_PID=$pid
      sleep 1
      ;;
  esac
  bpf0=$(bpf_run_s)
  before=$(tx)
  rate=$(iperf "$kind")
  after=$(tx)
  bpf1=$(bpf_run_s)
  if [[ -n $pid ]]; then
    cpu=$(cpu_s "$pid")
    if [[ $who == softflowd ]]; then
      extra=$(softflowctl -c "$TMP/sf.ctl" statistics 2>/dev/null | tr '\n' ' ' | tr -s ' ')
    fi
    kill -TERM "$pid"  # both stop on it (softflowd ignores SIGINT)
    wait "$pid" || true
  fi
  read -r p0 b0 <<<"$before"
  read -r p1 b1 <<<"$after"
  local packets=$((p1 - p0)) ip_bytes=$((b1 - b0 - 14 * (p1 - p0)))
  local counted="" 
  if [[ $who == kscope* ]]; then
    counted=$(python3 -c '
import json, sys
p = b = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["direction"] == "out":
        p += r["packets"]; b += r["bytes"]
print(p, b)' "$TMP/flows.json")
    cpu=$(python3 -c "print('%.3f' % ($cpu + $bpf1 - $bpf0))")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$kind" "$rate" "$packets" "$ip_bytes" "${cpu:-0}" "${counted:-}" "$extra" >>"$RESULTS"
  log "$who $kind: rate $rate, $packets packets out, cpu ${cpu:-0}s, counted ${counted:--} ${extra:+softflowd: $extra}"
}

for rep in $(seq 1 "$REPS"); do
  for kind in tcp udp; do
    for who in untraced kscope kscope_cpu softflowd; do
      run_case "$who" "$kind"
    done
  done
done

# Flow churn: CHURN flows at once, each one datagram, all of which must be flow records.
ip netns exec "$NS_A" "$KSCOPE" -v flows -I veth0 -o json --max-flows $((CHURN * 2)) >"$TMP/churn.json" 2>"$TMP/churn.err" &
pid=$!
TRACER_PID=$pid  # bench_cleanup stops it if the churn fails
for _ in $(seq 1 50); do grep -q "counting at" "$TMP/churn.err" 2>/dev/null && break; sleep 0.1; done
start=$(date +%s.%N)
"$TMP/bin/flow_known" "$TMP/roles" udp_many "$NS_B" 10.232.0.2 "$NS_A" 10.232.0.1 20000 "$CHURN" 1
end=$(date +%s.%N)
sleep 1.5
kill -INT "$pid"
wait "$pid" || true
churn=$(python3 -c '
import json, sys
flows = {(r["sport"], r["dport"]) for r in map(json.loads, open(sys.argv[1]))
         if r["direction"] == "out" and r["protocol"] == "udp" and r["packets"] == 1}
print(len(flows))' "$TMP/churn.json")

python3 - "$RESULTS" "$CHURN" "$churn" "$start" "$end" "$(machine_line)" <<'PY'
import statistics, sys
from collections import defaultdict
path, churn, tracked, start, end, machine = sys.argv[1:7]
rows = defaultdict(list)
for line in open(path):
    who, kind, rate, packets, ip_bytes, cpu, counted, extra = (line.rstrip("\n").split("\t") + [""] * 8)[:8]
    rows[(who, kind)].append((float(rate), int(packets), int(ip_bytes), float(cpu), counted, extra))
print("| case | untraced | kscope flows | softflowd |")
print("|---|---|---|---|")
for kind, unit in (("tcp", "Gbit/s"), ("udp", "kpps")):
    scale = 1e9 if kind == "tcp" else 1e3
    base = statistics.median(r[0] for r in rows[("untraced", kind)])
    cells = [f"{base / scale:.2f} {unit}"]
    for who in ("kscope", "softflowd"):
        rate = statistics.median(r[0] for r in rows[(who, kind)])
        cells.append(f"{rate / scale:.2f} {unit} ({rate / base:.1%})")
    print(f"| {kind.upper()} {'64 B ' if kind == 'udp' else ''}rate | " + " | ".join(cells) + " |")
    cpu = []
    for who in ("kscope_cpu", "softflowd"):
        per = [r[3] / (r[1] / 1e6) for r in rows[(who, kind)] if r[1]]
        cpu.append(f"{statistics.median(per):.3f} s")
    print(f"| {kind.upper()} CPU per million packets | - | {cpu[0]} | {cpu[1]} |")
    exact = []
    for r in rows[("kscope", kind)] + rows[("kscope_cpu", kind)]:
        p, b = map(int, r[4].split())
        exact.append(f"{p}/{r[1]} packets, {b}/{r[2]} bytes")
    print(f"| {kind.upper()} kscope against the interface | - | " + "; ".join(exact) + " | - |")
print()
print(f"Flow churn: {tracked} of {churn} concurrent UDP flows came back as records "
      f"({int(churn) / (float(end) - float(start)):.0f} new flows/s from the generator), none lost.")
print()
print(machine)
PY
