#!/usr/bin/env bash
# Per-event kernel cost of each tool's BPF programs, from the kernel's own run-time statistics
# (sysctl kernel.bpf_stats_enabled=1: run_cnt and run_time_ns per program, read with bpftool).
# For every TOOL: its storm (bench/lib.sh storm_setup) untraced, then under `kscope trace TOOL
# --hook H` for every hook alternative that attaches here, under the libbpf-tools peer where
# one runs, and under the bpftrace one-liner of bench/event_storm.sh. Per tracer: each
# program's runs and mean run time over the storm, the programs' run time per storm event,
# and the storm's own CPU time per event above the untraced storm's (which also counts what
# run_time_ns does not: the tracepoint's own work, the ring buffer's or perf buffer's wake-ups,
# cache misses the consumer causes). Prints one Markdown table per tool and writes them to
# bench/results/.
#
#   sudo bench/probe_cost.sh [-r REPS] [-n EVENTS] [-t TRACERS] TOOL...
#
# TOOL: as bench/event_storm.sh, and the aggregating tools (runqlat, syscount, syslat), or
# all. For kscope also the bytes its probe wrote into the ring buffer per storm event (0 for
# an aggregating tool).
# Environment: REPS (3), EVENTS (each tool's storm size / 10 unless given), TRACERS (subset of
# "untraced kscope peer bpftrace"), RT_PRIO (bench/lib.sh), KSCOPE, BUILD_DIR, BPFTRACE,
# BPFTOOL, ATTACH_TIMEOUT, DRAIN_TIMEOUT, STORM_TIMEOUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-3}
EVENTS=${EVENTS:-}
TRACERS=${TRACERS:-untraced kscope peer bpftrace}
BPFTRACE=${BPFTRACE:-/usr/bin/bpftrace}
BPFTOOL=${BPFTOOL:-bpftool}
STORM_TIMEOUT=${STORM_TIMEOUT:-300}

storm_options "r:n:t:h" "$@"
[[ $TOOLS == all ]] && TOOLS="$STORM_TOOLS $HIST_TOOLS"
command -v "$BPFTOOL" >/dev/null || die "no bpftool (apt-get install bpftool)"

bench_init probe_cost
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
ON_EXIT="sysctl -q kernel.bpf_stats_enabled=$STATS_WAS"
sysctl -q kernel.bpf_stats_enabled=1
RESULTS=$TMP/results.tsv
printf 'tool\ttracer\trep\tevents\tstorm_cpu\tring_bytes\tprogs\n' >"$RESULTS"


# hooks TOOL: the tool's hook alternatives, from `kscope trace TOOL --help`.
hooks() {
  "$KSCOPE" trace "$1" --help | sed -n '/^Hooks, in order of preference:/,/^Examples:/p' |
    awk 'NR > 1 && $1 != "Examples:" { print $1 }'
}

# prog_ids: the BPF programs the tracer holds, comma separated (bpftool here cannot name a
# program's processes: the tracer's fds name its programs).
prog_ids() {
  cat /proc/"$TRACER_PID"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -un | paste -sd,
}

# wait_running NAME: an aggregating tool prints nothing while it runs; it is attached once
# its programs have run (the scheduler's events never stop).
wait_running() {
  local deadline=$((SECONDS + ATTACH_TIMEOUT)) ids
  while :; do
    kill -0 "$TRACER_PID" 2>/dev/null || { cat "$TMP/$1.err" >&2; die "$1 exited before it attached"; }
    ids=$(prog_ids)
    if [[ -n $ids ]]; then
      "$BPFTOOL" prog show -j >"$TMP/probe.json"
      python3 "$BENCH_DIR/bench_helper.py" prog-delta /dev/null "$TMP/probe.json" "$ids" | grep -qE ':[1-9][0-9]*:[0-9]+(;|$)' && return 0
    fi
    ((SECONDS < deadline)) || die "$1: no program ran after ${ATTACH_TIMEOUT}s"
    sleep 0.3
  done
}

# run_one TOOL TRACER REP N [HOOK]: one storm under TRACER; one row in $RESULTS with the
# tracer's programs' counters over the storm.
run_one() {
  local tool=$1 tracer=$2 rep=$3 n=$4 hook=${5:-} name=$2 progs="" ring=""
  case $tracer in
    untraced) ;;
    kscope)
      if ! start_kscope kscope "$KSCOPE" -v trace "$tool" --hook "$hook"; then
        stop_tracer kscope
        log "$tool --hook $hook does not attach here: $(tail -n 1 "$TMP/kscope.err")"
        return 0
      fi
      name=kscope
      ;;
    peer)
      [[ -n $PEER ]] || { log "$tool: no peer: $WHY"; return 0; }
      # shellcheck disable=SC2086
      start_tracer peer $PEER
      ;;
    bpftrace) start_tracer bpftrace "$BPFTRACE" -e "$BT" ;;
  esac
  if [[ $tracer != untraced ]]; then
    if [[ -n $HIST ]]; then wait_running "$name"; else wait_attached "$name" "$(comm_regex "${COMM/_storm/_probe}")" probe_storm; fi
    local ids ring_before=""
    ids=$(prog_ids)
    [[ $name != kscope ]] || ring_before=$(python3 "$BENCH_DIR/bench_helper.py" ring-pos "$TRACER_PID")
    "$BPFTOOL" prog show -j >"$TMP/before.json"
    storm_run "$n"
    "$BPFTOOL" prog show -j >"$TMP/after.json"
    [[ -z $ring_before ]] || ring=$(($(python3 "$BENCH_DIR/bench_helper.py" ring-pos "$TRACER_PID") - ring_before))
    progs=$(python3 "$BENCH_DIR/bench_helper.py" prog-delta "$TMP/before.json" "$TMP/after.json" "$ids")
    stop_tracer "$name"
    rm -f "$TMP"/*.out
  else
    storm_run "$n"
  fi
  [[ -z $hook ]] || tracer="kscope --hook $hook"
  log "$tool $tracer rep $rep: $STORM_LINE storm_cpu=$STORM_CPU ring_bytes=$ring progs=$progs"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$tracer" "$rep" "$((n * PER + EXTRA))" "$STORM_CPU" \
    "$ring" "$progs" >>"$RESULTS"
}

MD=$TMP/table.md
: >"$MD"
for tool in $TOOLS; do
  storm_setup "$tool"
  n=${EVENTS:-$((SIZE / 10))}
  tool_hooks=$(hooks "$tool")
  log "$tool: $(storm_text "$n") x $REPS reps; hooks: $(tr "\n" " " <<<"$tool_hooks")"
  for rep in $(seq 1 "$REPS"); do
    for t in $TRACERS; do
      if [[ $t == kscope ]]; then
        for h in $tool_hooks; do run_one "$tool" kscope "$rep" "$n" "$h"; done
      else
        run_one "$tool" "$t" "$rep" "$n"
      fi
    done
  done
  {
    echo "### $tool: \`$(storm_text "$n")\` ($REPS runs each, interleaved)"
    echo
    echo "peer: $(peer_text); bpftrace: \`bpftrace -e '$BT'\`"
    echo
    python3 "$BENCH_DIR/bench_helper.py" cost-table "$RESULTS" "$tool"
    echo
  } >>"$MD"
done
results_footer >>"$MD"
write_results probe_cost "$MD"
