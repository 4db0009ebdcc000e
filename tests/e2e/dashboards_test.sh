#!/usr/bin/env bash
# The dashboards and the alert rules against a real collector under known load: a real
# Prometheus scrapes `kscope collect` every second while dashboard_load.sh makes every kind of
# activity the dashboards show (execs, exits in a container and 150 command names, TCP, UDP,
# ICMP, resets, a retransmit, drops, DNS, block I/O, an OOM kill). The collector runs as an
# operator would not: a flow table of 64 flows (300 UDP flows overflow it), 100 series per
# metric (150 command names pass it), an IPFIX sink whose collector is down, then a reload to a
# memory budget it is past and a series cap at its series, then SIGTERM: so every alert's
# expression has something to find. Then every PromQL expression of every dashboard and rule
# must return data, and every metric they name must be in a real scrape
# (tests/dashboards/dashboards_check.py live).
# Usage: dashboards_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
here=$(dirname "$0")
source "$here/lib.sh"
source "$here/dashboard_load.sh"
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, and the test makes namespaces and cgroups"
for tool in prometheus curl /usr/bin/python3; do
  command -v $tool >/dev/null || fail "$tool is missing: scripts/install-deps.sh installs it"
done

a=ksdash$$a
b=ksdash$$b
cleanup() {
  load_cleanup
  e2e_cleanup
}
trap cleanup EXIT
netns_pair "$a" "$b" 10.237.0
load_cgroups

port=$((20000 + $$ % 20000))
prom_port=$((port + 1))
# Nothing listens here, so the IPFIX sink's writes fail. Below the ephemeral range: a connect
# to a free port inside it can meet itself (TCP simultaneous open, when the kernel picks that
# port as the source) and succeed, as it once did here.
down_port=$((10000 + $$ % 10000))
config() {  # config SERIES_TOTAL MEMORY
  cat <<EOF
listen: 127.0.0.1:$port
bpf_stats: true
limits:
  series_per_metric: 100
  series_total: $1
  memory: $2
sources:
  flows:
    max_flows: 64
report_interval: 1s
sinks:
  - name: archive
    type: file
    path: $tmp/flows.ndjson
  - name: ipfix
    type: ipfix
    transport: tcp
    address: 127.0.0.1:$down_port
EOF
}
config 20000 128MiB >"$tmp/collect.yaml"
start_collect "$tmp/collect.yaml"

start_prometheus "127.0.0.1:$port" "$prom_port"
# wait_for PROMQL: until Prometheus has a sample for it (20 s at most).
wait_for() {
  for _ in $(seq 1 100); do [[ $(query "$1") != none ]] && return 0; sleep 0.2; done
  fail "Prometheus has no sample of $1"
}
wait_for 'up{job="kscope"} == 1'
start=$(date +%s)

dashboard_load "$a" "$b" 10.237.0 "$testprogs" "$tmp"
# Two rounds a few seconds apart, so every rate spans samples of both.
sleep 3
dashboard_load "$a" "$b" 10.237.0 "$testprogs" "$tmp"
wait_for 'kscope_oom_kills_total'
wait_for 'kscope_probe_lost_total{probe="flows",point="table_full"} > 0'
wait_for 'kscope_sink_lost_total{sink="ipfix",point="sink.write"} > 0'
wait_for 'kscope_series{metric="kscope_exit_total"} > 100'
curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/scrape.txt" || fail "no scrape"

# A reload to a series cap at the series it has and a memory budget it is past: degraded.
series=$(awk '/^kscope_series\{/ {n += $2} END {print n}' "$tmp/scrape.txt")
config "$series" 2MiB >"$tmp/collect.yaml"
kill -HUP "$kpid"
wait_for 'kscope_degraded{reason="memory"} == 1'
wait_for "kscope_series_limit{scope=\"total\"} == $series"
sleep 2
up_end=$(date +%s)

# The collector stops: its target goes down.
kill -TERM "$kpid"
wait "$kpid"
kpid=
wait_for 'up{job="kscope"} == 0'
sleep 2  # a step or two of the range queries after it
end=$(date +%s)

/usr/bin/python3 "$here/../dashboards/dashboards_check.py" live "http://127.0.0.1:$prom_port" \
  "$tmp/scrape.txt" "$start" "$up_end" "$end" || fail "a dashboard or alert expression returned no data"
echo "PASS: every dashboard and alert expression returned data over $((end - start)) s of known load"
