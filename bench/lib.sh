# shellcheck shell=bash
# shellcheck disable=SC2034  # globals set here are read by the sourcing scripts
# Shared helpers for bench/*.sh (sourced, not run). Each benchmark sources this after
# `set -euo pipefail`, then calls bench_init NAME.
#
# A tracer runs under /usr/bin/time so its user+sys CPU is measured to the end of its drain;
# SIGINT goes to the tracer itself (GNU time ignores SIGINT while it waits).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
KSCOPE=${KSCOPE:-$BUILD_DIR/cli/kscope}
TESTPROGS=${TESTPROGS:-$BUILD_DIR/tests/testprogs}
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-60}   # seconds to wait for a tracer to see the probe
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}    # seconds a tracer may take to exit after SIGINT
SETTLE=${SETTLE:-0.5}                  # seconds between the storm's end and SIGINT
# RT_PRIO=N runs workloads and tracers under SCHED_FIFO priority N (chrt -f N), so that a
# machine busy with other work (builds) neither slows nor jitters them: on this shared 2-CPU
# VM under load 15 the untraced open storm ran at 58k-77k opens/s at normal priority and at
# 273k-276k/s under chrt -f 10. Off when empty.
RT_PRIO=${RT_PRIO:-}

TMP=""
ON_EXIT=""      # a command the cleanup runs first (a script's own undo)
TIME_PID=""     # the /usr/bin/time wrapper of the running tracer
TRACER_PID=""   # the tracer itself
TRACER_STATUS="" # ok | drain-timeout
STORM_PID=""    # the workload, while it runs
STORM_LINE=""   # the last line the workload printed
STORM_CPU=""    # the workload's user+sys CPU seconds

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $ON_EXIT ]]; then eval "$ON_EXIT" || true; fi
  if [[ -n $STORM_PID ]] && kill -0 "$STORM_PID" 2>/dev/null; then
    kill -TERM "$STORM_PID" 2>/dev/null || true   # timeout(1) passes it on to the workload
    wait "$STORM_PID" 2>/dev/null || true
  fi
  if [[ -n $TRACER_PID ]] && kill -0 "$TRACER_PID" 2>/dev/null; then
    kill -INT "$TRACER_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$TRACER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TRACER_PID" 2>/dev/null || true
  fi
  if [[ -n $TIME_PID ]] && kill -0 "$TIME_PID" 2>/dev/null; then
    kill -KILL "$TIME_PID" 2>/dev/null || true
  fi
  if [[ -n $TIME_PID ]]; then wait "$TIME_PID" 2>/dev/null || true; fi
  [[ -n $TMP && -d $TMP ]] && rm -rf -- "$TMP"
  exit "$rc"
}

bench_init() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (tracers need CAP_BPF/CAP_PERFMON and tracefs)"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  command -v python3 >/dev/null || die "python3 is required"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is required: apt-get install time"
  [[ -x $KSCOPE ]] || die "no kscope at $KSCOPE: build it (cmake -S . -B build -G Ninja && cmake --build build -j2)"
  if ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs tracefs /sys/kernel/tracing || die "cannot mount tracefs at /sys/kernel/tracing"
  fi
  # bpftrace 0.17 asks for this; on kernels >= 5.11 BPF memory is memcg-accounted, so a
  # refusal (e.g. in a container without CAP_SYS_RESOURCE) is harmless.
  ulimit -l unlimited 2>/dev/null || true
  RT=()
  if [[ -n $RT_PRIO ]]; then
    [[ $RT_PRIO =~ ^[1-9][0-9]?$ ]] || die "RT_PRIO must be a SCHED_FIFO priority (1-99)"
    RT=(chrt -f "$RT_PRIO")
  fi
  MACHINE_LINE="Machine: $(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), kernel $(uname -r); started $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)${RT_PRIO:+; workloads and tracers under SCHED_FIFO priority $RT_PRIO}"
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/kscope-bench-$1.XXXXXX")
  chmod 0755 "$TMP"   # exec_many execs exec_target from here as uid 65534 too
  # Others may rebuild build/ while this runs: every run of one invocation uses one copy.
  mkdir "$TMP/bin"
  cp -- "$KSCOPE" "$TMP/bin/kscope"
  KSCOPE_SHA=$(sha256sum "$KSCOPE" | cut -c1-12)
  KSCOPE=$TMP/bin/kscope
  local p
  for p in open_storm exec_many exec_target event_storm; do
    [[ -x $TESTPROGS/$p ]] || die "no $TESTPROGS/$p: build the project first"
    cp -- "$TESTPROGS/$p" "$TMP/bin/$p"
  done
  cp -- "$TESTPROGS/event_storm" "$TMP/bin/event_probe"
  cp -- "$TESTPROGS/open_storm" "$TMP/bin/open_probe"
  TESTPROGS=$TMP/bin
  FILE=$TMP/storm-file   # the file the open storm opens; nothing else opens it
  : >"$FILE"
}

# storm_setup TOOL: what storms the tool (bench/event_storm.sh, bench/probe_cost.sh), and how each tracer runs and is counted.
#   MODE        event_storm's mode (open: the open_storm program instead)
#   SIZE CHECK  default storm size and 0-lost check size (iterations)
#   PER EXTRA   storm events a tracer should show: PER per iteration, plus EXTRA (the storm's
#               own exec or exit); lines are counted by the storm's comm (and for open the
#               storm's file), so other processes' events are not counted
#   PEER        the libbpf-tools tool and its flags ("" where none runs on this kernel: WHY)
#   BT          the bpftrace one-liner on the hook kscope uses first
#   HIST        set for an aggregating tool, which shows no events while the storm runs
#   COMM        the storm program's comm
# The storm programs' comm is event_storm / open_storm; the attach probe runs a copy named
# event_probe / open_probe, so its events are never counted as the storm's.
STORM_TOOLS="open exec exit signal connect accept bind listen tcplife tcpstates tcpreset"
HIST_TOOLS="runqlat syscount syslat"   # aggregating tools: their storms fill maps, never the ring buffer
storm_setup() {
  MODE=$1 SIZE=200000 CHECK=0 PER=1 EXTRA=0 PEER="" WHY="" BT="" HIST=""
  local c='printf("%d %s'
  case $1 in
    open)
      SIZE=2000000 CHECK=1000000 PEER="/usr/sbin/opensnoop"
      # bpftrace cannot read the path at exit (the pointer is gone): its enter hook prints it
      BT="tracepoint:syscalls:sys_enter_openat { $c %s\n\", pid, comm, str(args->filename)); }"
      ;;
    exec)
      MODE=exec SIZE=5000 EXTRA=1 PEER="/usr/sbin/execsnoop"
      BT="tracepoint:syscalls:sys_exit_execve { $c %d\n\", pid, comm, args->ret); }"
      ;;
    exit)
      MODE=fork SIZE=20000 EXTRA=1 PEER="/usr/sbin/exitsnoop"
      BT="tracepoint:sched:sched_process_exit /pid == tid/ { $c %d\n\", pid, comm, curtask->exit_code >> 8); }"
      ;;
    signal)
      SIZE=1000000 CHECK=1000000 PEER="/usr/sbin/sigsnoop"
      BT="tracepoint:signal:signal_generate { $c %d %d %d\n\", pid, comm, args->sig, args->pid, args->result); }"
      ;;
    connect)
      SIZE=50000 WHY="tcpconnect needs kprobes"
      BT="tracepoint:syscalls:sys_exit_connect { $c %d\n\", pid, comm, args->ret); }"
      ;;
    accept)
      MODE=connect SIZE=50000 WHY="libbpf-tools has no accept tool"
      BT="tracepoint:syscalls:sys_exit_accept,tracepoint:syscalls:sys_exit_accept4 { $c %d\n\", pid, comm, args->ret); }"
      ;;
    bind)
      WHY="bindsnoop needs kprobes"
      BT="tracepoint:syscalls:sys_exit_bind { $c %d\n\", pid, comm, args->ret); }"
      ;;
    listen)
      WHY="solisten needs kprobes"
      BT="tracepoint:syscalls:sys_exit_listen { $c %d\n\", pid, comm, args->ret); }"
      ;;
    tcplife)
      MODE=connect SIZE=50000 PER=2 PEER="/usr/sbin/tcplife"
      BT="tracepoint:sock:inet_sock_set_state /args->newstate == 7 && args->protocol == 6/ { $c %d %d\n\", pid, comm, args->sport, args->dport); }"
      ;;
    tcpstates)
      MODE=connect SIZE=50000 PER=6 PEER="/usr/sbin/tcpstates"
      BT="tracepoint:sock:inet_sock_set_state /args->protocol == 6/ { $c %d %d\n\", pid, comm, args->oldstate, args->newstate); }"
      ;;
    tcpreset)
      MODE=connect SIZE=50000 WHY="libbpf-tools has no reset tool"
      BT="tracepoint:tcp:tcp_send_reset,tracepoint:tcp:tcp_receive_reset { $c\n\", pid, comm); }"
      ;;
    runqlat)
      MODE=switch HIST=1 PEER="/usr/sbin/runqlat"
      # runqlat.bt of bpftrace's tools, on one line
      # shellcheck disable=SC2016  # bpftrace's $ns, not the shell's
      BT='tracepoint:sched:sched_wakeup,tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; } tracepoint:sched:sched_switch { if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; } $ns = @qtime[args->next_pid]; if ($ns) { @usecs = hist((nsecs - $ns) / 1000); } delete(@qtime[args->next_pid]); }'
      ;;
    syscount)
      # the open storm's openat and close; syscount -L times the calls as kscope's always does
      MODE=open SIZE=2000000 PER=2 HIST=1 PEER="/usr/sbin/syscount -L"
      # shellcheck disable=SC2016  # bpftrace's variables, not the shell's
      BT='tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; } tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @calls[args->id] = count(); @ns[args->id] = sum(nsecs - @start[tid]); delete(@start[tid]); }'
      ;;
    syslat)
      MODE=open SIZE=2000000 PER=2 HIST=1 WHY="libbpf-tools has no syscall latency tool"
      # shellcheck disable=SC2016  # bpftrace's variables, not the shell's
      BT='tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; } tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @usecs[args->id] = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); }'
      ;;
    *) die "unknown tool $1 (one of: $STORM_TOOLS $HIST_TOOLS)" ;;
  esac
  if [[ $MODE == open ]]; then COMM=open_storm; else COMM=event_storm; fi
  if [[ -n $PEER && ! -x ${PEER%% *} ]]; then WHY="no ${PEER%% *} (apt-get install libbpf-tools)"; PEER=""; fi
  return 0
}


# storm_options OPTSTRING ARGS...: the storm scripts' options (-r REPS, -n EVENTS,
# -m CHECK_EVENTS, -t TRACERS, -h; those OPTSTRING names) and then TOOL... or all, into REPS,
# EVENTS, CHECK_EVENTS, TRACERS and TOOLS; -h prints the script's header comment.
storm_options() {
  local optstring=$1 opt
  shift
  usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
  OPTIND=1
  while getopts "$optstring" opt; do
    case $opt in
      r) REPS=$OPTARG ;;
      n) EVENTS=$OPTARG ;;
      m) CHECK_EVENTS=$OPTARG ;;
      t) TRACERS=$OPTARG ;;
      h) usage 0 ;;
      *) usage 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  [[ $# -gt 0 ]] || usage 2
  TOOLS=$*
  [[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer"
  [[ -z $EVENTS || $EVENTS =~ ^[1-9][0-9]*$ ]] || die "EVENTS must be a positive integer"
  [[ -z ${CHECK_EVENTS:-} || $CHECK_EVENTS =~ ^[0-9]+$ ]] || die "CHECK_EVENTS must be a non-negative integer"
}

# start_kscope NAME ARGS...: starts kscope -v ARGS... as tracer NAME and waits until it says it
# attached; returns 1 if it exited first (its stderr is in $TMP/NAME.err).
start_kscope() {
  local name=$1
  shift
  start_tracer "$name" "$@"
  local deadline=$((SECONDS + ATTACH_TIMEOUT))
  until grep -q 'attached via' "$TMP/$name.err"; do
    kill -0 "$TRACER_PID" 2>/dev/null || return 1
    ((SECONDS < deadline)) || die "$name did not attach in ${ATTACH_TIMEOUT}s"
    sleep 0.1
  done
}

# storm_argv PROG N: sets ARGV to the storm's command (PROG is the storm program, or its
# probe copy) for N iterations; storm_text N: the storm's command for a table's title.
storm_argv() {
  if [[ $MODE == open ]]; then ARGV=("$TMP/bin/$1" "$2" "$FILE"); else ARGV=("$TMP/bin/$1" "$MODE" "$2"); fi
}
storm_text() {
  storm_argv "$COMM" "$1"
  echo "${ARGV[*]}" | sed "s|$TMP/bin/||; s|$TMP|\$TMP|"
}

# peer_text: the peer as the tables name it.
peer_text() {
  if [[ -n $PEER ]]; then echo "\`${PEER#/usr/sbin/}\`"; else echo "none ($WHY)"; fi
}

# probe_storm: a short storm by the probe copy, whose events wait_attached looks for.
probe_storm() {
  storm_argv "${COMM/_storm/_probe}" 200
  "${ARGV[@]}"
}

# storm_run N: runs the storm of N iterations; the storm programs exit 1 when an iteration went
# wrong, which the summary line's failed= tells.
storm_run() {
  storm_argv "$COMM" "$1"
  run_storm "${ARGV[@]}" || [[ $? -eq 1 ]] || die "$COMM $MODE $1 failed or timed out: $STORM_LINE"
}

# comm_regex COMM: a regex of COMM as a tracer prints it, also cut to 10 characters
# (libbpf-tools tcpstates prints COMM as %-10.10s: event_stor for event_storm).
comm_regex() {
  local rest=${1:10}
  echo "${1:0:10}${rest:+($rest)?}"
}

# count_storm NAME: the tracer's output lines that are the storm's events: the storm's comm
# as a column of its own (not the end of a path in an exec's arguments), and for open the
# storm's file.
count_storm() {
  local comm
  comm="(^|[[:space:]])$(comm_regex "$COMM")([[:space:]]|\$)"
  if [[ $MODE == open ]]; then
    grep -E -- "$comm" "$TMP/$1.out" | grep -cF -- "$FILE" || true
  else
    grep -cE -- "$comm" "$TMP/$1.out" || true
  fi
}

# run_storm CMD...: runs CMD under timeout(1) in the background and waits for it, so a signal
# to this script is handled at once; sets STORM_LINE to CMD's last line of output, STORM_CPU
# to its user+sys CPU seconds (its waited-for children's included) and returns CMD's exit
# status.
run_storm() {
  local rc=0
  rm -f "$TMP/storm.time"
  timeout "$STORM_TIMEOUT" /usr/bin/time -f '%U %S' -o "$TMP/storm.time" "${RT[@]}" "$@" >"$TMP/storm.out" &
  STORM_PID=$!
  wait "$STORM_PID" || rc=$?
  STORM_PID=""
  STORM_LINE=$(tail -n 1 "$TMP/storm.out")
  STORM_CPU=$(tail -n 1 "$TMP/storm.time" 2>/dev/null | awk '{printf "%.3f", $1 + $2}') || true
  [[ -n $STORM_CPU ]] || STORM_CPU=nan
  return "$rc"
}

# start_tracer NAME CMD...: runs CMD with stdout to $TMP/NAME.out, stderr to $TMP/NAME.err.
start_tracer() {
  local name=$1; shift
  rm -f "$TMP/$name.out" "$TMP/$name.err" "$TMP/$name.time"
  /usr/bin/time -f '%e %U %S' -o "$TMP/$name.time" "${RT[@]}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  TIME_PID=$!
  TRACER_PID=""
  TRACER_STATUS=ok
  for _ in $(seq 1 100); do
    TRACER_PID=$(awk '{print $1}' "/proc/$TIME_PID/task/$TIME_PID/children" 2>/dev/null) || true
    [[ -n $TRACER_PID ]] && return 0
    kill -0 "$TIME_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$TMP/$name.err" >&2 || true
  die "$name did not start"
}

# wait_attached NAME PATTERN PROBE-CMD...: runs PROBE-CMD every 0.3 s until PATTERN (grep -E)
# shows up in the tracer's stdout, which proves the probe is attached and the tracer drains.
# The probe must produce a few KiB of output so block-buffered stdout gets written.
wait_attached() {
  local name=$1 pattern=$2; shift 2
  local deadline=$((SECONDS + ATTACH_TIMEOUT))
  while ! grep -qE -- "$pattern" "$TMP/$name.out" 2>/dev/null; do
    if ! kill -0 "$TRACER_PID" 2>/dev/null; then
      cat "$TMP/$name.err" >&2 || true
      die "$name exited before it attached"
    fi
    ((SECONDS < deadline)) || die "$name: probe not seen after ${ATTACH_TIMEOUT}s"
    "$@" >/dev/null 2>&1 || true   # a probe run that fails is just retried
    sleep 0.3
  done
}

# stop_tracer: SIGINT, then wait (bounded) for the drain; sets TRACER_STATUS, TRACER_CPU
# (user+sys seconds) and TRACER_WALL.
stop_tracer() {
  kill -INT "$TRACER_PID" 2>/dev/null || true
  local deadline=$((SECONDS + DRAIN_TIMEOUT))
  while kill -0 "$TIME_PID" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      TRACER_STATUS=drain-timeout
      kill -KILL "$TRACER_PID" 2>/dev/null || true
    fi
    sleep 0.1
  done
  wait "$TIME_PID" 2>/dev/null || true
  local t
  t=$(tail -n 1 "$TMP/$1.time" 2>/dev/null || true)
  TRACER_WALL=$(awk '{print $1}' <<<"$t")
  TRACER_CPU=$(awk '{printf "%.2f", $2 + $3}' <<<"$t")
  [[ -n $TRACER_CPU ]] || TRACER_CPU=nan
  TIME_PID=""
  TRACER_PID=""
}

# field KEY LINE: the value of KEY=value in a testprog's summary line.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# write_results NAME MARKDOWN-FILE: prints the table and keeps a copy in bench/results/.
write_results() {
  mkdir -p "$BENCH_DIR/results"
  local out
  out="$BENCH_DIR/results/$1-$(date +%Y%m%d-%H%M%S).md"
  cp -- "$2" "$out"
  echo
  cat -- "$2"
  echo
  echo "(also written to ${out#"$REPO_DIR"/})"
}

# machine_line: the machine, and the start time and load average that bench_init saw.
# veth_pair NS_A NS_B PREFIX: two network namespaces joined by veth0 <-> veth0, PREFIX.1 in
# NS_A and PREFIX.2 in NS_B (e.g. 10.232.0), without IPv6 (its router solicitations would be
# traffic of their own). The caller removes them.
veth_pair() {
  ip netns add "$1"
  ip netns add "$2"
  ip link add veth0 netns "$1" type veth peer name veth0 netns "$2"
  for ns in "$1" "$2"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$ns" link set lo up
    ip -n "$ns" link set veth0 up
  done
  ip -n "$1" addr add "$3.1/24" dev veth0
  ip -n "$2" addr add "$3.2/24" dev veth0
}

machine_line() { echo "$MACHINE_LINE"; }

# results_footer: the lines under a results table: the machine, and the kscope measured.
results_footer() {
  machine_line
  echo
  echo "kscope: $(kscope_rev)"
}

kscope_rev() {
  echo "binary sha256 $KSCOPE_SHA, tree at $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_DIR" diff --quiet 2>/dev/null || echo ' (tree modified)')"
}

# Load average, a process's user+sys CPU ticks (the fields after the comm, which may hold
# spaces), and a /proc/PID/status value in KiB (status_kb PID VmRSS).
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# remove_netns NS...: kills what still runs in each namespace (the bench's own workloads),
# then deletes it.
remove_netns() {
  local ns
  for ns in "$@"; do
    [[ -n $ns ]] || continue
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}
