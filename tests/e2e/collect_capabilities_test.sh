#!/usr/bin/env bash
# `kscope collect` with only the capabilities deploy/ grants it (CAP_BPF, CAP_PERFMON,
# CAP_NET_ADMIN; the DaemonSet's and the systemd unit's set) attaches every default source
# through the same hooks as with all of root's: kscope_probe_info is the same, line for line,
# and nothing is left out. Then it counts: an exec of a known program shows in its metrics.
# Usage: collect_capabilities_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "the test runs kscope collect as root, then with root's capabilities narrowed by setpriv"
command -v setpriv >/dev/null || fail "setpriv is missing (util-linux): scripts/install-deps.sh installs it"

port=$((20000 + $$ % 20000))
printf 'listen: 127.0.0.1:%s\n' "$port" >"$tmp/collect.yaml"

# run_collector PREFIX...: starts PREFIX kscope collect, waits for its endpoint, keeps its
# kscope_probe_info lines in $tmp/info.N (N counting runs) and leaves it running.
runs=0
run_collector() {
  runs=$((runs + 1))
  start_collect "$tmp/collect.yaml" "$@"
  grep -q "left out" "$tmp/err" && fail "a source was left out: $(cat "$tmp/err")"
  curl -sf "http://127.0.0.1:$port/metrics" | grep '^kscope_probe_info{' | sort >"$tmp/info.$runs" ||
    fail "no kscope_probe_info"
}
stop_collector() {
  kill -TERM "$kpid"
  wait "$kpid" || fail "kscope collect exited $? after SIGTERM"
  kpid=
}

run_collector
stop_collector
run_collector setpriv --inh-caps=-all --bounding-set=-all,+bpf,+perfmon,+net_admin --
# CapEff: exactly CAP_NET_ADMIN (12), CAP_PERFMON (38) and CAP_BPF (39).
capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$kpid/status")
[[ $capeff == 000000c000001000 ]] || fail "CapEff is $capeff, not CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN alone"
diff "$tmp/info.1" "$tmp/info.2" >"$tmp/diff" ||
  fail "with three capabilities the probes attached otherwise than as root: $(cat "$tmp/diff")"
probes=$(wc -l <"$tmp/info.2")
[[ $probes -eq 15 ]] || fail "$probes probes attached, expected the 15 default ones: $(cat "$tmp/info.2")"

"$testprogs/exec_many" 5 "$testprogs/exec_target" "$tmp/execs" >/dev/null || fail "exec_many failed"
execs=$(awk -F'\t' '$5 == 0' "$tmp/execs" | wc -l)
scrape_until "$port" "kscope_exec_total{comm=\"exec_target\",container=\"\"} $execs" ||
  fail "exec_target's $execs execs are not counted: $(grep exec_target "$tmp/scrape.txt")"
stop_collector
echo "PASS: with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN alone, the same $probes probes and hooks as root; $execs execs counted"
