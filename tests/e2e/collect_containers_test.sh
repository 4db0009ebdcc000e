#!/usr/bin/env bash
# `kscope collect`'s container label: execs in a cgroup named as docker names a container's
# (NAME-ID.scope) are counted under that container id, and once the cgroup is gone its
# series is removed (not left until the TTL) and counted as expired.
# Usage: collect_containers_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope collect needs CAP_BPF and CAP_PERFMON, and the test makes a cgroup"

cgroot=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[[ -n $cgroot ]] || fail "no cgroup2 mount"
id=$(printf 'e2e%061d' $$)
parent=$cgroot/kscope-e2e-$$
cg=$parent/docker-$id.scope
cleanup() {
  rmdir "$cg" "$parent" 2>/dev/null
  e2e_cleanup
}
trap cleanup EXIT
mkdir -p "$cg" || fail "could not make $cg"

port=$((20000 + $$ % 20000))
cat >"$tmp/c.yaml" <<YAML
listen: 127.0.0.1:$port
labels: [comm, container]
limits: {series_ttl: 1h}
YAML
start_collect "$tmp/c.yaml"
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# exec_many inside the container's cgroup.
bash -c "echo \$\$ > '$cg/cgroup.procs' && exec '$testprogs/exec_many' 20 '$testprogs/exec_target' '$tmp/execs'" >/dev/null ||
  fail "exec_many in the cgroup failed"
execs=$(awk -F'\t' '$5 == 0' "$tmp/execs" | wc -l)
series="kscope_exec_total{comm=\"exec_target\",container=\"$id\"}"
[[ $(metric "$series") == "$execs" ]] || fail "$series = $(metric "$series"), expected $execs"
expired=$(metric kscope_series_expired_total)

# The container ends: its cgroup goes; within seconds (not the hour's TTL) so do its series.
rmdir "$cg" || fail "could not remove $cg"
for _ in $(seq 1 100); do [[ -z $(metric "$series") ]] && break; sleep 0.1; done
[[ -z $(metric "$series") ]] || fail "$series is still there after its cgroup went"
[[ $(metric kscope_series_expired_total) -gt $expired ]] || fail "the removal was not counted"
kill -TERM "$kpid"
wait "$kpid" || fail "kscope collect exited $? after SIGTERM"
kpid=
echo "PASS: $execs execs under container $id, its series removed when its cgroup went"
