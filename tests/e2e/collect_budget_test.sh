#!/usr/bin/env bash
# `kscope collect`'s memory budget, driven past its ceilings: its own memory (limits.memory)
# by 10,000 new command names with the series caps out of the way — it must stop making
# series, say it is degraded and count what it shed — and its BPF maps (limits.bpf_memory)
# with the default sources — those that do not fit are left out, named and counted.
# Usage: collect_budget_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"

port=$((20000 + $$ % 20000))
# metric 'NAME{LABELS}': its value in a scrape now.
metric() {
  curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
start() { start_collect "$tmp/c.yaml"; }
stop() {
  kill -TERM "$kpid"
  wait "$kpid" || fail "kscope collect exited $? after SIGTERM"
  kpid=
}

# Its own memory: first measured without a budget to speak of, then (SIGHUP) a budget of
# 512 KiB more than that, rounded up to MiB: room for 2,500 to 7,500 series of 210 bytes.
cat >"$tmp/c.yaml" <<YAML
listen: 127.0.0.1:$port
labels: [comm]
limits: {series_per_metric: 1000000, series_total: 1000000}
sources: {flows: false, tcp: false, drops: false, dns: false, runqlat: false, biolatency: false, syscalls: false}
YAML
start
base=$(metric 'kscope_memory_bytes{kind="accounted"}')
budget=$(python3 -c "import math; print(max(2, math.ceil((float('$base') + 2**19) / 2**20)))")
sed -i "s/series_total: 1000000}/series_total: 1000000, memory: ${budget}MiB}/" "$tmp/c.yaml"
kill -HUP "$kpid"
for _ in $(seq 1 50); do grep -q reloaded "$tmp/err" && break; sleep 0.1; done
[[ $(metric 'kscope_memory_limit_bytes{kind="accounted"}') == $((budget << 20)) ]] ||
  fail "the reload did not set the budget to $budget MiB"
[[ $(metric 'kscope_degraded{reason="memory"}') == 0 ]] || fail "degraded before any load"
"$testprogs/comm_storm" 10000 cs >/dev/null || fail "comm_storm failed"
for _ in $(seq 1 50); do [[ $(metric 'kscope_degraded{reason="memory"}') == 1 ]] && break; sleep 0.2; done
[[ $(metric 'kscope_degraded{reason="memory"}') == 1 ]] || fail "not degraded past the memory budget"
series=$(metric 'kscope_series{metric="kscope_exit_total"}')
shed=$(metric 'kscope_shed_total{what="series"}')
[[ $series -lt 10000 && $shed -gt 0 ]] || fail "series $series, shed $shed: the budget made no difference"
accounted=$(metric 'kscope_memory_bytes{kind="accounted"}')
[[ ${accounted%.*} -le $((budget << 20)) ]] || fail "accounted memory $accounted past the budget of $budget MiB"
# Degraded, a second storm of new names makes no series: every one is shed into other.
"$testprogs/comm_storm" 2000 cz >/dev/null || fail "comm_storm failed"
sleep 1
[[ $(metric 'kscope_series{metric="kscope_exit_total"}') == "$series" ]] ||
  fail "series grew while degraded: $series -> $(metric 'kscope_series{metric="kscope_exit_total"}')"
shed2=$(metric 'kscope_shed_total{what="series"}')
[[ $((shed2 - shed)) -ge 2000 ]] || fail "shed $shed -> $shed2 for 2000 new names"
anon=$(metric 'kscope_memory_bytes{kind="anon"}')
stop

# The BPF maps: 16 MiB, less than the default sources' (about 50 MiB here).
cat >"$tmp/c.yaml" <<YAML
listen: 127.0.0.1:$port
limits: {bpf_memory: 16MiB}
YAML
start
left=$(grep -c "^kscope collect: left out .*past limits.bpf_memory (16384 KiB)" "$tmp/err")
[[ $left -gt 0 ]] || fail "no source left out for the BPF budget"
[[ $(metric 'kscope_degraded{reason="bpf_memory"}') == 1 ]] || fail "not degraded for bpf_memory"
[[ $(metric 'kscope_shed_total{what="sources"}') == "$left" ]] || fail "sources shed != $left left out"
bpf=$(metric 'kscope_memory_bytes{kind="bpf"}')
python3 -c "import sys; sys.exit(0 if float('$bpf') <= 16 * 2**20 else 1)" ||
  fail "BPF maps $bpf bytes past the 16 MiB budget"
stop
echo "PASS: memory budget of $budget MiB (from $base bytes at start): $series series, then $shed2 updates shed, $accounted bytes accounted, $anon resident; BPF budget: $left sources left out, maps at $bpf bytes"
