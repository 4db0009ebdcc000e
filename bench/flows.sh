#!/usr/bin/env bash
# kscope flows beside softflowd, in one run, on one veth pair between two network namespaces
# this script makes (and removes): iperf3 TCP and 64-byte UDP from namespace a to b,
# untraced, with `kscope flows` on a's veth end, and with softflowd (libpcap) doing the same
# accounting on the same interface, interleaved REPS times. The iperf3 client runs on CPU 1
# and the server on CPU 0 (the same placement every run: the machine's noise otherwise
# moves the rates more than the accounting does). Per case: throughput or packets per
# second (medians) and as each round's ratio over the round's untraced run; the CPU time the whole machine was busy (every
# CPU, /proc/stat: the programs, the tcx hook, libpcap's copies, the accountant's process)
# per million packets out of the interface, and what the accounting added to the untraced
# figure; the accountant's own process during the iperf3 run; and kscope's bytes and packets against the
# interface's own counters. Then a flow-churn run: CHURN concurrent UDP flows from distinct
# ports, every one of which must come back.
#
#   sudo bench/flows.sh [-r REPS] [-s SECONDS]
#
# Environment: REPS (5), SECONDS_PER_RUN (5), CHURN (15000), KSCOPE, BUILD_DIR, RT_PRIO.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-5}
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
ON_EXIT="ip netns pids $NS_B 2>/dev/null | xargs -r kill; ip netns del $NS_A 2>/dev/null; ip netns del $NS_B 2>/dev/null"
cp -- "$BUILD_DIR/tests/testprogs/flow_known" "$TMP/bin/"

veth_pair "$NS_A" "$NS_B" 10.232.0
mac() { ip netns exec "$1" cat /sys/class/net/veth0/address; }
ip -n "$NS_A" neigh replace 10.232.0.2 lladdr "$(mac "$NS_B")" dev veth0 nud permanent
ip -n "$NS_B" neigh replace 10.232.0.1 lladdr "$(mac "$NS_A")" dev veth0 nud permanent
ip netns exec "$NS_B" iperf3 -s -D -1 >/dev/null 2>&1 || true

tx() { ip netns exec "$NS_A" cat /sys/class/net/veth0/statistics/tx_packets /sys/class/net/veth0/statistics/tx_bytes | paste -sd' '; }
cpu_s() { awk '{printf "%.3f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
# Seconds every CPU together spent busy since boot: user, nice, system, irq, softirq, steal.
busy_s() { awk '/^cpu /{printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / '"$(getconf CLK_TCK)"'}' /proc/stat; }

# One iperf3 run: "tcp" or "udp"; prints "rate" (bits/s for tcp, received packets/s for udp).
iperf() {
  ip netns exec "$NS_B" taskset -c 0 iperf3 -s -D -1 >/dev/null 2>&1
  sleep 0.3
  local args=(-c 10.232.0.2 -t "$SECONDS_PER_RUN" -J)
  [[ $1 == udp ]] && args+=(-u -b 0 -l 64)
  ip netns exec "$NS_A" taskset -c 1 "${RT[@]}" iperf3 "${args[@]}" | python3 -c '
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
run_case() {  # ACCOUNTANT KIND
  local who=$1 kind=$2 pid="" before after rate cpu="" busy0 busy1 extra=""
  case $who in
    kscope)
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
  local cpu0=0 cpu1=0
  [[ -n $pid ]] && cpu0=$(cpu_s "$pid")
  before=$(tx)
  busy0=$(busy_s)
  rate=$(iperf "$kind")
  busy1=$(busy_s)
  after=$(tx)
  [[ -n $pid ]] && cpu1=$(cpu_s "$pid")
  if [[ -n $pid ]]; then
    cpu=$(python3 -c "print('%.2f' % ($cpu1 - $cpu0))")  # during the iperf3 run only
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
  if [[ $who == kscope ]]; then
    counted=$(python3 -c '
import json, sys
p = b = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["direction"] == "out":
        p += r["packets"]; b += r["bytes"]
print(p, b)' "$TMP/flows.json")
  fi
  local busy
  busy=$(python3 -c "print('%.2f' % ($busy1 - $busy0))")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$kind" "$rate" "$packets" "$ip_bytes" "${cpu:-0}" "$busy" "${counted:-}" "$extra" >>"$RESULTS"
  log "$who $kind: rate $rate, $packets packets out, process cpu ${cpu:-0}s, machine busy ${busy}s, counted ${counted:--} ${extra:+softflowd: $extra}"
}

for rep in $(seq 1 "$REPS"); do
  for kind in tcp udp; do
    for who in untraced kscope softflowd; do
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
    who, kind, rate, packets, ip_bytes, cpu, busy, counted, extra = (line.rstrip("\n").split("\t") + [""] * 9)[:9]
    rows[(who, kind)].append(dict(rate=float(rate), packets=int(packets), ip_bytes=int(ip_bytes),
                                  cpu=float(cpu), busy=float(busy), counted=counted))
med = statistics.median
def per_m(r, field):  # seconds per million interface packets
    return r[field] / (r["packets"] / 1e6)
print("| case | untraced | kscope flows | softflowd |")
print("|---|---|---|---|")
for kind, unit in (("tcp", "Gbit/s"), ("udp", "kpps")):
    scale = 1e9 if kind == "tcp" else 1e3
    name = f"{kind.upper()}{' 64 B' if kind == 'udp' else ''}"
    base = med(r["rate"] for r in rows[("untraced", kind)])
    cells = [f"{base / scale:.2f} {unit}"]
    for who in ("kscope", "softflowd"):
        rate = med(r["rate"] for r in rows[(who, kind)])
        # Each round's rate over the same round's untraced one: the rounds interleave, so
        # this cancels the machine's slow drifts, which the medians alone do not.
        ratios = sorted(r["rate"] / u["rate"] for r, u in zip(rows[(who, kind)], rows[("untraced", kind)]))
        cells.append(f"{rate / scale:.2f} {unit}; per round {med(ratios):.1%} "
                     f"({ratios[0]:.1%}-{ratios[-1]:.1%})")
    print(f"| {name} rate: median; rate over the round's untraced, median (min-max) | " + " | ".join(cells) + " |")
    busy = {who: med(per_m(r, "busy") for r in rows[(who, kind)]) for who in ("untraced", "kscope", "softflowd")}
    print(f"| {name} machine CPU s per million packets (added) | {busy['untraced']:.3f} | "
          f"{busy['kscope']:.3f} (+{busy['kscope'] - busy['untraced']:.3f}) | "
          f"{busy['softflowd']:.3f} (+{busy['softflowd'] - busy['untraced']:.3f}) |")
    own = {who: med(per_m(r, "cpu") for r in rows[(who, kind)]) for who in ("kscope", "softflowd")}
    print(f"| {name} accountant's process CPU s per million packets | - | {own['kscope']:.3f} | {own['softflowd']:.3f} |")
    exact = []
    for r in rows[("kscope", kind)]:
        p, b = map(int, r["counted"].split())
        exact.append(f"{p}/{r['packets']} packets, {b}/{r['ip_bytes']} bytes")
    print(f"| {name} kscope against the interface | - | " + "; ".join(exact) + " | - |")
print()
print(f"Flow churn: {tracked} of {churn} concurrent UDP flows came back as records "
      f"({int(churn) / (float(end) - float(start)):.0f} new flows/s from the generator), none lost.")
print()
print(machine)
PY
