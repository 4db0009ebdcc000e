# Sourced (after lib.sh): known activity of every kind the dashboards show, for
# dashboards_test.sh and scripts/dashboard_pictures.sh. Each step is bounded in count and
# time, on two network namespaces the caller made (netns_pair) and in cgroups made here.

# load_cgroups: a docker-named cgroup (its 64-hex id is the `container` label) under the
# cgroup2 mount, and a memory cgroup limited to 32 MiB (cgroup2's memory controller, else the
# v1 hierarchy's). Sets $container_cg, $container_id, $memory_cg; load_cleanup removes them.
load_cgroups() {
  local v2 v1
  v2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
  [[ -n $v2 ]] || fail "no cgroup2 mount"
  container_id=$(printf 'da5b%060d' $$)
  container_cg=$v2/kscope-dash$$.slice/docker-$container_id.scope
  mkdir -p "$container_cg" || fail "cannot make $container_cg"
  if grep -qw memory "$v2/cgroup.controllers"; then
    grep -qw memory "$v2/cgroup.subtree_control" || memory_enabled=$v2
    [[ -z ${memory_enabled:-} ]] || echo +memory >"$v2/cgroup.subtree_control"
    memory_cg=$v2/kscope-dash-oom$$
    mkdir "$memory_cg" && echo $((32 << 20)) >"$memory_cg/memory.max" &&
      echo 0 >"$memory_cg/memory.swap.max" || fail "cannot make the memory cgroup $memory_cg"
  else
    v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print $2; exit}' /proc/mounts)
    [[ -n $v1 ]] || fail "no memory controller in cgroup2 nor in a v1 hierarchy"
    memory_cg=$v1/kscope-dash-oom$$
    mkdir "$memory_cg" && echo $((32 << 20)) >"$memory_cg/memory.limit_in_bytes" ||
      fail "cannot make the memory cgroup $memory_cg"
  fi
}

load_cleanup() {
  # A cgroup goes once its last process has; an OOM victim's memory may lag a moment.
  for cg in "${container_cg:-}" "${memory_cg:-}"; do
    [[ -n $cg && -d $cg ]] || continue
    for _ in $(seq 1 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
  done
  [[ -n ${container_cg:-} ]] && rmdir "$(dirname "$container_cg")" 2>/dev/null
  [[ -n ${memory_enabled:-} ]] && echo -memory >"$memory_enabled/cgroup.subtree_control"
  container_cg= memory_cg= memory_enabled=
}

# in_container CMD...: runs CMD in the container's cgroup.
in_container() {
  bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$container_cg" "$@"
}

# dashboard_load A B NET TESTPROGS DIR: one round of every kind of activity between the
# namespaces A (NET.1) and B (NET.2); the testprogs' own records go to DIR.
dashboard_load() {
  local a=$1 b=$2 net=$3 tp=$4 dir=$5 ip=/usr/bin/ip
  local server=$net.2 client=$net.1
  # Processes: execs and exits, in the container and outside it; then 150 command names.
  in_container "$tp/exec_many" 20 "$tp/exec_target" "$dir/execs.c" >/dev/null || fail "exec_many in the container"
  "$tp/exec_many" 20 "$tp/exec_target" "$dir/execs" >/dev/null || fail "exec_many failed"
  "$tp/comm_storm" 150 cs >/dev/null || fail "comm_storm failed"
  # Flows: TCP of known sizes (one client in the container), UDP, ICMP, 300 UDP flows at once.
  "$tp/flow_known" "$dir/roles" tcp "$b" "$server" "$a" "$client" 9200 200000 600000 || fail "flow_known tcp"
  "$tp/flow_known" "$dir/roles" tcp "$b" "$server" "$a" "$client" 9210 50000 100000 "$container_cg" ||
    fail "flow_known tcp in the container"
  "$tp/flow_known" "$dir/roles" udp "$b" "$server" "$a" "$client" 9100 50 333 || fail "flow_known udp"
  "$tp/flow_known" "$dir/roles" icmp "$b" "$server" "$a" "$client" 77 5 56 || fail "flow_known icmp"
  "$tp/flow_known" "$dir/roles" udp_many "$b" "$server" "$a" "$client" 10000 300 64 || fail "flow_known udp_many"
  # TCP: a refused connect (a reset each way), one reset by SO_LINGER 0, one retransmitting.
  "$tp/tcpflow_known" "$dir/tf" refused "$b" "$server" "$a" "$client" 9300 || fail "tcpflow_known refused"
  "$tp/tcpflow_known" "$dir/tf" linger0 "$b" "$server" "$a" "$client" 9310 || fail "tcpflow_known linger0"
  "$tp/tcpflow_known" "$dir/tf" retrans "$b" "$server" "$a" "$client" 9320 || fail "tcpflow_known retrans"
  # Drops: 5 datagrams to a port of B where nothing listens (NO_SOCKET).
  $ip netns exec "$a" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5): s.sendto(b"x" * 10, (sys.argv[1], 9999))' "$server" || fail "could not send the datagrams"
  # DNS: a resolver in B answering 20 ms late, its client in A.
  rm -f "$dir/ready"
  $ip netns exec "$b" "$tp/dns_resolver" "$dir/ready" 20 &
  local rpid=$!
  for _ in $(seq 1 50); do [[ -f $dir/ready ]] && break; sleep 0.1; done
  $ip netns exec "$a" "$tp/dns_client" "$server" - "$dir/dns" >/dev/null || { kill $rpid; fail "dns_client failed"; }
  kill $rpid
  wait $rpid 2>/dev/null
  # Block I/O: 256 direct 4 KiB writes and reads of a file.
  dd if=/dev/zero of="$dir/bio" bs=4k count=256 oflag=direct status=none || fail "dd write"
  dd if="$dir/bio" of=/dev/null bs=4k iflag=direct status=none || fail "dd read"
  rm -f "$dir/bio"
  # An OOM kill: a child maps 64 MiB in the 32 MiB memory cgroup.
  "$tp/oom_known" "$memory_cg/cgroup.procs" "$dir/oom" 64 || fail "oom_known: no OOM kill"
}
