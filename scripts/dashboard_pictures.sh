#!/usr/bin/env bash
# Makes docs/images/dashboard-{network,processes,collector}.png: a real `kscope collect` with
# its defaults (and bpf_stats, a file sink and a stream sink), scraped by a real Prometheus
# every 5 s, under rounds of tests/e2e/dashboard_load.sh's activity and iperf3 TCP at 200
# Mbit/s between two namespaces, for MINUTES (default 10); then dashboards/render.py draws
# each dashboard from the Prometheus query API, laid out as Grafana lays it out.
# Usage: scripts/dashboard_pictures.sh [MINUTES]   (as root, after a build with tests)
set -uo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
kscope=build/cli/kscope
testprogs=build/tests/testprogs
source tests/e2e/lib.sh
source tests/e2e/dashboard_load.sh
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"
[[ -x $kscope && -x $testprogs/flow_known ]] || fail "build kscope and its testprogs first (scripts/test.sh)"

a=kspic$$a
b=kspic$$b
ppid_prom=
iperf_pid=
cleanup() {
  [[ -n $iperf_pid ]] && kill "$iperf_pid" 2>/dev/null
  [[ -n $ppid_prom ]] && kill "$ppid_prom" 2>/dev/null && wait "$ppid_prom" 2>/dev/null
  load_cleanup
  e2e_cleanup
}
trap cleanup EXIT
netns_pair "$a" "$b" 10.238.0
load_cgroups

cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:29437
bpf_stats: true
sinks:
  - name: archive
    type: file
    path: $tmp/flows.ndjson
  - name: live
    type: stream
    listen: 127.0.0.1:29438
EOF
start_collect "$tmp/collect.yaml"
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: kscope
    static_configs:
      - targets: ['127.0.0.1:29437']
        labels: {instance: node1}
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address=127.0.0.1:29090 --log.level=warn >"$tmp/prom.log" 2>&1 &
ppid_prom=$!
sleep 5
start=$(date +%s)
deadline=$((start + minutes * 60))
/usr/bin/ip netns exec "$b" iperf3 -s -B 10.238.0.2 -p 5201 >/dev/null 2>&1 &
iperf_pid=$!
round=0
while (($(date +%s) < deadline)); do
  round=$((round + 1))
  dashboard_load "$a" "$b" 10.238.0 "$testprogs" "$tmp"
  # Every third round, 20 s of TCP at 200 Mbit/s from the container's cgroup.
  if ((round % 3 == 1)); then
    in_container /usr/bin/ip netns exec "$a" iperf3 -c 10.238.0.2 -p 5201 -b 200M -t 20 >/dev/null ||
      fail "iperf3 failed"
  fi
  sleep $((5 + RANDOM % 15))
done
end=$(date +%s)
mkdir -p docs/images
for d in network processes collector; do
  dashboards/render.py "dashboards/$d.json" http://127.0.0.1:29090 "$start" "$end" \
    "docs/images/dashboard-$d.png" --scrape-interval 5 || fail "render.py $d failed"
done
echo "docs/images/dashboard-{network,processes,collector}.png: $round rounds over $minutes minutes"
