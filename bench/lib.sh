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

TMP=""
TIME_PID=""     # the /usr/bin/time wrapper of the running tracer
TRACER_PID=""   # the tracer itself
TRACER_STATUS="" # ok | drain-timeout
STORM_PID=""    # the workload, while it runs
STORM_LINE=""   # the last line the workload printed

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
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
  MACHINE_LINE="Machine: $(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), kernel $(uname -r); started $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/kscope-bench-$1.XXXXXX")
  chmod 0755 "$TMP"   # exec_many execs exec_target from here as uid 65534 too
  # Others may rebuild build/ while this runs: every run of one invocation uses one copy.
  mkdir "$TMP/bin"
  cp -- "$KSCOPE" "$TMP/bin/kscope"
  KSCOPE_SHA=$(sha256sum "$KSCOPE" | cut -c1-12)
  KSCOPE=$TMP/bin/kscope
  local p
  for p in open_storm exec_many exec_target; do
    [[ -x $TESTPROGS/$p ]] || die "no $TESTPROGS/$p: build the project first"
    cp -- "$TESTPROGS/$p" "$TMP/bin/$p"
  done
  TESTPROGS=$TMP/bin
}

# run_storm CMD...: runs CMD under timeout(1) in the background and waits for it, so a signal
# to this script is handled at once; sets STORM_LINE to CMD's last line of output and returns
# CMD's exit status.
run_storm() {
  local rc=0
  timeout "$STORM_TIMEOUT" "$@" >"$TMP/storm.out" &
  STORM_PID=$!
  wait "$STORM_PID" || rc=$?
  STORM_PID=""
  STORM_LINE=$(tail -n 1 "$TMP/storm.out")
  return "$rc"
}

# start_tracer NAME CMD...: runs CMD with stdout to $TMP/NAME.out, stderr to $TMP/NAME.err.
start_tracer() {
  local name=$1; shift
  rm -f "$TMP/$name.out" "$TMP/$name.err" "$TMP/$name.time"
  /usr/bin/time -f '%e %U %S' -o "$TMP/$name.time" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
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
machine_line() { echo "$MACHINE_LINE"; }

kscope_rev() {
  echo "binary sha256 $KSCOPE_SHA, tree at $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_DIR" diff --quiet 2>/dev/null || echo ' (tree modified)')"
}
