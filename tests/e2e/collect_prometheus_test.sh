#!/usr/bin/env bash
# `kscope collect` as a user runs it, scraped by a real Prometheus server on loopback: known
# activity (execs, TCP connections and UDP datagrams between two namespaces this script
# makes, DNS queries to a resolver that answers 20 ms late, 10,000 distinct command names)
# and PromQL over what Prometheus stored must give back exactly what was driven. Then:
# promtool checks a real scrape, OpenMetrics and gzip when asked, SIGHUP keeps counters,
# SIGTERM leaves no BPF program or link behind, SIGKILL then a restart neither, bad configs.
# Usage: collect_prometheus_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, and the test makes namespaces"
for tool in prometheus promtool curl; do
  command -v $tool >/dev/null || fail "$tool is missing: scripts/install-deps.sh installs it"
done

ip=/usr/bin/ip
a=kscoll$$a
b=kscoll$$b
cleanup() {
  [[ -n ${rpid:-} ]] && kill "$rpid" 2>/dev/null
  e2e_cleanup
}
trap cleanup EXIT
netns_pair "$a" "$b" 10.234.0

# Ports on loopback, away from the defaults (another collector may run on this machine).
port=$((20000 + $$ % 20000))
prom_port=$((port + 1))
cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$port
labels: [comm]
limits:
  series_per_metric: 1000
  series_total: 20000
bpf_stats: true
EOF

bpf_objects() { echo "$(bpftool prog list | grep -c '^[0-9]*:') $(bpftool link list | grep -c '^[0-9]*:')"; }
baseline=$(bpf_objects)

start_collector() { start_collect "$tmp/collect.yaml"; }
start_collector
grep -q "metrics at http://127.0.0.1:$port/metrics" "$tmp/err" || fail "wrong address in: $(cat "$tmp/err")"
grep -q "left out" "$tmp/err" && fail "a source was left out on this kernel"

# promtool on a real scrape, in text format.
curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/scrape.txt" || fail "no scrape"
promtool check metrics <"$tmp/scrape.txt" >"$tmp/promtool.txt" 2>&1 ||
  fail "promtool check metrics: $(cat "$tmp/promtool.txt")"
grep -q '^kscope_build_info{version="' "$tmp/scrape.txt" || fail "no kscope_build_info"
# The flow tables' capacity is max_flows' default; every event probe reports its ring's fill.
grep -q '^kscope_bpf_map_capacity{probe="flows",map="flows_a"} 16384$' "$tmp/scrape.txt" ||
  fail "no flows_a capacity of 16384: $(grep kscope_bpf_map_capacity "$tmp/scrape.txt")"
for probe in exec exit tcpstates tcplife dns flows; do
  grep -q "^kscope_ring_buffer_fill_ratio{probe=\"$probe\"} " "$tmp/scrape.txt" || fail "no ring fill for $probe"
done
# Every metric of the scrape is in docs/metrics.md.
docs=$(dirname "$0")/../../docs/metrics.md
for family in $(awk '$1 == "#" && $2 == "TYPE" {print $3}' "$tmp/scrape.txt"); do
  grep -q "\`$family\`" "$docs" || fail "$family is not in docs/metrics.md"
done
# OpenMetrics when asked, ending in # EOF; gzip when asked.
curl -sf -H 'Accept: application/openmetrics-text;version=1.0.0' -D "$tmp/om.h" \
  "http://127.0.0.1:$port/metrics" >"$tmp/om.txt" || fail "no OpenMetrics scrape"
grep -qi '^content-type: application/openmetrics-text' "$tmp/om.h" || fail "not OpenMetrics: $(cat "$tmp/om.h")"
[[ $(tail -1 "$tmp/om.txt") == "# EOF" ]] || fail "OpenMetrics does not end in # EOF"
curl -sf -H 'Accept-Encoding: gzip' -D "$tmp/gz.h" "http://127.0.0.1:$port/metrics" >"$tmp/gz.bin" ||
  fail "no gzip scrape"
grep -qi '^content-encoding: gzip' "$tmp/gz.h" || fail "not gzip: $(cat "$tmp/gz.h")"
gunzip -c "$tmp/gz.bin" | grep -q '^kscope_build_info' || fail "the gzip body is not the metrics"

start_prometheus "127.0.0.1:$port" "$prom_port"

# expect PROMQL VALUE: polls until Prometheus has scraped the value (up to 20 s).
expect() {
  local got=none
  for _ in $(seq 1 100); do
    got=$(query "$1")
    [[ $got == "$2" ]] && return 0
    sleep 0.2
  done
  fail "$1 = $got, expected $2"
}

# Execs: every successful exec of exec_target, exactly.
"$testprogs/exec_many" 40 "$testprogs/exec_target" "$tmp/execs" >/dev/null || fail "exec_many failed"
execs=$(awk -F'\t' '$5 == 0' "$tmp/execs" | wc -l)
[[ $execs -gt 0 ]] || fail "exec_many made no successful exec"
expect 'kscope_exec_total{comm="exec_target"}' "$execs"

# UDP between the namespaces: 7 datagrams of 333 bytes out of fk_client, counted on the
# cgroup hooks of the root cgroup (every socket): packets and IP bytes exactly.
"$testprogs/flow_known" "$tmp/roles" udp "$b" 10.234.0.2 "$a" 10.234.0.1 9100 7 333 ||
  fail "flow_known udp failed"
expect 'sum(kscope_flow_packets_total{comm="fk_client",protocol="udp",direction="egress"})' 7
expect 'sum(kscope_flow_bytes_total{comm="fk_client",protocol="udp",direction="egress"})' $((7 * (333 + 28)))
expect 'sum(kscope_flow_packets_total{comm="fk_server",protocol="udp",direction="ingress"})' 7

# Drops: 5 UDP datagrams to a port of b where nothing listens, dropped as NO_SOCKET.
drops_query='sum(kscope_drops_total{reason="NO_SOCKET",protocol="udp"}) or vector(0)'
before=$(query "$drops_query")
$ip netns exec "$a" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5): s.sendto(b"x" * 10, ("10.234.0.2", 9999))' || fail "could not send the datagrams"
expect "$drops_query" $((before + 5))

# TCP: 3 connections of known size; tcplife gives each side's bytes when it closes.
for i in 0 1 2; do
  "$testprogs/flow_known" "$tmp/roles" tcp "$b" 10.234.0.2 "$a" 10.234.0.1 $((9200 + 10 * i)) 1000 3000 ||
    fail "flow_known tcp failed"
done
expect 'kscope_tcp_connections_closed_total{comm="fk_client",direction="outbound"}' 3
expect 'kscope_tcp_connections_closed_total{comm="fk_server",direction="inbound"}' 3
expect 'kscope_tcp_sent_bytes_total{comm="fk_client"}' 3000
expect 'kscope_tcp_received_bytes_total{comm="fk_client"}' 9000

# DNS: a resolver in b answering 20 ms late, the client in a. Every query counted by type,
# every response by code, and every latency between 16.384 and 131.072 ms.
rm -f "$tmp/ready"
$ip netns exec "$b" "$testprogs/dns_resolver" "$tmp/ready" 20 &
rpid=$!
for _ in $(seq 1 50); do [[ -f $tmp/ready ]] && break; sleep 0.1; done
$ip netns exec "$a" "$testprogs/dns_client" 10.234.0.2 - "$tmp/dns" || fail "dns_client failed"
kill "$rpid"
wait "$rpid" 2>/dev/null
rpid=
queries=$(wc -l <"$tmp/dns")
a_queries=$(awk -F'\t' '$8 == "A"' "$tmp/dns" | wc -l)
nxdomain=$(awk -F'\t' '$9 == "NXDOMAIN"' "$tmp/dns" | wc -l)
expect 'sum(kscope_dns_queries_total{comm="dns_client",direction="out"})' "$queries"
expect 'kscope_dns_queries_total{comm="dns_client",direction="out",qtype="A"}' "$a_queries"
expect 'kscope_dns_responses_total{comm="dns_client",direction="in",rcode="NXDOMAIN"}' "$nxdomain"
expect 'kscope_dns_latency_seconds_count{comm="dns_client",direction="in"}' "$queries"
expect 'kscope_dns_latency_seconds_bucket{comm="dns_client",direction="in",le="0.016384"}' 0
expect 'kscope_dns_latency_seconds_bucket{comm="dns_client",direction="in",le="0.131072"}' "$queries"

# Reload: a SIGHUP with the run-queue histograms turned off keeps every counter. The kernel's
# BPF statistics are on from the start: only then does the collector keep CAP_SYS_ADMIN
# (docs/security.md).
cat >>"$tmp/collect.yaml" <<EOF
sources:
  runqlat: false
EOF
kill -HUP "$kpid"
for _ in $(seq 1 100); do grep -q "reloaded" "$tmp/err" && break; sleep 0.1; done
grep -q "reloaded $tmp/collect.yaml" "$tmp/err" || fail "no reload"
expect 'kscope_config_reloads_total' 1
expect 'kscope_probe_info{probe="runqlat"}' none
"$testprogs/exec_many" 40 "$testprogs/exec_target" "$tmp/execs2" >/dev/null || fail "exec_many failed"
execs2=$(awk -F'\t' '$5 == 0' "$tmp/execs2" | wc -l)
expect 'kscope_exec_total{comm="exec_target"}' $((execs + execs2))
# Every successful exec ran the exec probe's programs at least once.
expect "sum(kscope_bpf_program_runs_total{probe=\"exec\"}) >= bool $execs2" 1

# A configuration that does not parse: refused, the running one stays.
cp "$tmp/collect.yaml" "$tmp/good.yaml"
echo "lisen: 127.0.0.1:1" >>"$tmp/collect.yaml"
kill -HUP "$kpid"
for _ in $(seq 1 100); do grep -q "reload refused" "$tmp/err" && break; sleep 0.1; done
grep -q "reload refused.*collect.yaml:9:1: unknown key 'lisen'" "$tmp/err" || fail "a bad reload was not refused"
cp "$tmp/good.yaml" "$tmp/collect.yaml"

# Cardinality: 10,000 distinct command names exit; kscope_exit_total keeps 1000 series of
# its own and one "other", and counts what it folded.
"$testprogs/comm_storm" 10000 cs >/dev/null || fail "comm_storm failed"
expect 'kscope_series{metric="kscope_exit_total"}' 1001
# Every storm exit is in a series of its own, folded into other, or counted lost by the
# probe: at least 10000 in all, once Prometheus has scraped the end of the storm.
accounted='sum(kscope_series_folded_total{metric="kscope_exit_total"}) + sum(count(kscope_exit_total{comm=~"cs[0-9]+"})) + sum(kscope_probe_lost_total{probe="exit"})'
expect "($accounted) >= bool 10000" 1

# SIGTERM: exits 0 and leaves no BPF program or link of its own.
kill -TERM "$kpid"
wait "$kpid"
rc=$?
kpid=
[[ $rc -eq 0 ]] || fail "kscope collect exited $rc after SIGTERM"
grep -q "stopped by SIGTERM" "$tmp/err" || fail "no stop message"
settled() {
  # The kernel frees a dead process's programs and links asynchronously: seconds here.
  for _ in $(seq 1 300); do [[ $(bpf_objects) == "$baseline" ]] && return 0; sleep 0.1; done
  return 1
}
settled || fail "BPF programs and links before: $baseline, after SIGTERM: $(bpf_objects)"

# SIGKILL: the kernel detaches its links with its last fd; a restart attaches once.
start_collector
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null
kpid=
settled || fail "BPF programs and links before: $baseline, after SIGKILL: $(bpf_objects)"
start_collector
"$testprogs/exec_many" 10 "$testprogs/exec_target" "$tmp/execs3" >/dev/null || fail "exec_many failed"
execs3=$(awk -F'\t' '$5 == 0' "$tmp/execs3" | wc -l)
scrape_until "$port" "kscope_exec_total{comm=\"exec_target\"} $execs3" ||
  fail "after a restart, exec_target's execs are not $execs3: $(grep -E 'exec_target|probe="exec"' "$tmp/scrape.txt")"
kill -TERM "$kpid"
wait "$kpid"
kpid=

# Bad input: a configuration error names the file, line and key; an unknown flag is a
# usage error.
printf 'listen: 127.0.0.1:9437\nlimits:\n  sereis_ttl: 5m\n' >"$tmp/bad.yaml"
"$kscope" collect --check-config "$tmp/bad.yaml" >/dev/null 2>"$tmp/bad.err"
[[ $? -eq 1 ]] || fail "--check-config of a bad file did not exit 1"
grep -q "^kscope: error: $tmp/bad.yaml:3:3: unknown key 'sereis_ttl' in limits; did you mean 'series_ttl'?" "$tmp/bad.err" ||
  fail "wrong error: $(cat "$tmp/bad.err")"
"$kscope" collect --check-config "$tmp/good.yaml" >"$tmp/good.out" || fail "--check-config of a good file failed"
"$kscope" collect --no-such-flag >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "an unknown flag did not exit 2"
"$kscope" collect --print-default-config >"$tmp/default.yaml" || fail "--print-default-config failed"
"$kscope" collect --check-config "$tmp/default.yaml" >/dev/null || fail "the default configuration does not check"
echo "PASS: collect with Prometheus: $execs+$execs2 execs, flows, 3 TCP connections, $queries DNS queries, 10000 comms folded, reload, SIGTERM, SIGKILL"
