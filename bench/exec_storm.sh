#!/usr/bin/env bash
# Exec storm: `exec_many N exec_target EXPECTED 2` (known argvs with spaces, quotes, an empty
# argument, a 2000-byte argument every 50th exec, failing execs, uid switches) untraced, under
# `kscope trace exec -o json` and under libbpf-tools execsnoop, interleaved R times. Every
# event is matched to EXPECTED by pid: caught, exact argv, exact ret, exact ppid/uid/comm.
# Prints a Markdown table and writes it to bench/results/.
#
#   sudo bench/exec_storm.sh [-r REPS] [-n EXECS] [-t TRACERS]
#
# Environment: REPS, EXECS, PARALLEL (2), TRACERS (subset of "untraced kscope execsnoop"),
# KSCOPE_EXEC_FLAGS (default "--max-arg-len 4096", so the 2000-byte argument fits),
# EXECSNOOP, KSCOPE, BUILD_DIR, SETTLE, ATTACH_TIMEOUT, DRAIN_TIMEOUT, STORM_TIMEOUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-3}
EXECS=${EXECS:-2000}
PARALLEL=${PARALLEL:-2}
TRACERS=${TRACERS:-untraced kscope execsnoop}
KSCOPE_EXEC_FLAGS=${KSCOPE_EXEC_FLAGS---failed --max-arg-len 4096}
EXECSNOOP=${EXECSNOOP:-/usr/sbin/execsnoop}
EXECSNOOP_FLAGS=(-x -U --max-args 60)   # 60 is execsnoop's upper bound for --max-args
STORM_TIMEOUT=${STORM_TIMEOUT:-600}

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "r:n:t:h" opt; do
  case $opt in
    r) REPS=$OPTARG ;;
    n) EXECS=$OPTARG ;;
    t) TRACERS=$OPTARG ;;
    h) usage 0 ;;
    *) usage 2 ;;
  esac
done
[[ $REPS =~ ^[1-9][0-9]*$ && $EXECS =~ ^[1-9][0-9]*$ && $PARALLEL =~ ^[1-9][0-9]*$ ]] ||
  die "REPS, EXECS and PARALLEL must be positive integers"

bench_init exec_storm
EXEC_MANY=$TESTPROGS/exec_many
TARGET=$TESTPROGS/exec_target
for t in $TRACERS; do
  case $t in
    untraced|kscope) ;;
    execsnoop) [[ -x $EXECSNOOP ]] || die "no execsnoop at $EXECSNOOP (apt-get install libbpf-tools)" ;;
    *) die "unknown tracer $t" ;;
  esac
done

EXPECTED=$TMP/expected   # exec_many also execs this file for its EACCES cases
RESULTS=$TMP/results.tsv
printf 'tracer\trep\trate\tseconds\tcaught\targv_exact\targv_path_exact\tcut_flagged\tret_exact\tfields_exact\tdups\tlost\tcpu\tstatus\n' >"$RESULTS"

storm() { # sets line to the "execs= seconds= rate= failed=" summary
  # exec_many exits 1 if an exec failed unexpectedly; keep its summary line either way
  run_storm "$EXEC_MANY" "$EXECS" "$TARGET" "$EXPECTED" "$PARALLEL" ||
    [[ $? -eq 1 ]] || die "exec_many failed or timed out"
  line=$STORM_LINE
}

# 50 execs: enough output (with the 2000-byte argument) to push block-buffered stdout out.
probe_execs() { "$EXEC_MANY" 50 "$TARGET" "$TMP/probe-expected" 2; }

run_one() {
  local tracer=$1 rep=$2 line m="0 0 0 0 0 0 0" lost=0 cpu=0 status=ok
  case $tracer in
    untraced)
      storm
      ;;
    kscope)
      # shellcheck disable=SC2086
      start_tracer kscope "$KSCOPE" -v trace exec -o json $KSCOPE_EXEC_FLAGS
      wait_attached kscope 'kscope-bar-' probe_execs
      storm; sleep "$SETTLE"; stop_tracer kscope
      m=$(python3 "$BENCH_DIR/bench_helper.py" exec-match kscope "$TMP/kscope.out" "$EXPECTED" "$TARGET")
      local summary
      summary=$(grep -E 'kscope: trace exec: [0-9]+ events shown, [0-9]+ lost' "$TMP/kscope.err" | tail -n 1) || true
      [[ -n $summary ]] || { status=no-summary; cat "$TMP/kscope.err" >&2; }
      lost=$(sed -nE 's/.* ([0-9]+) lost.*/\1/p' <<<"$summary")
      ;;
    execsnoop)
      start_tracer execsnoop "$EXECSNOOP" "${EXECSNOOP_FLAGS[@]}"
      wait_attached execsnoop 'kscope-bar-' probe_execs
      storm; sleep "$SETTLE"; stop_tracer execsnoop
      m=$(python3 "$BENCH_DIR/bench_helper.py" exec-match execsnoop "$TMP/execsnoop.out" "$EXPECTED" "$TARGET")
      lost=$(awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }' "$TMP/execsnoop.err")
      ;;
  esac
  if [[ $tracer != untraced ]]; then
    cpu=$TRACER_CPU
    [[ $TRACER_STATUS == ok ]] || status=$TRACER_STATUS
  fi
  [[ $(field failed "$line") == 0 ]] || status="$status, exec_many failed=$(field failed "$line")"
  local caught argv_exact argv_path_exact cut_flagged ret_exact fields_exact dups
  read -r caught argv_exact argv_path_exact cut_flagged ret_exact fields_exact dups <<<"$m"
  log "$tracer rep $rep: $line caught=$caught argv=$argv_exact argv_path=$argv_path_exact cut=$cut_flagged ret=$ret_exact fields=$fields_exact dups=$dups lost=$lost cpu=$cpu status=$status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tracer" "$rep" \
    "$(field rate "$line")" "$(field seconds "$line")" "$caught" "$argv_exact" "$argv_path_exact" \
    "$cut_flagged" "$ret_exact" "$fields_exact" "$dups" "${lost:-nan}" "$cpu" "$status" >>"$RESULTS"
}

log "exec storm: $EXECS execs ($PARALLEL at once) x $REPS reps, tracers: $TRACERS"
for rep in $(seq 1 "$REPS"); do
  for t in $TRACERS; do run_one "$t" "$rep"; done
done

MD=$TMP/table.md
{
  echo "### Exec storm ($EXECS execs, $PARALLEL in parallel, $REPS runs each, interleaved)"
  echo
  machine_line
  echo
  echo "kscope: $(kscope_rev): \`kscope trace exec -o json $KSCOPE_EXEC_FLAGS\`; execsnoop: \`execsnoop ${EXECSNOOP_FLAGS[*]}\`"
  echo
  python3 "$BENCH_DIR/bench_helper.py" exec-table "$RESULTS" "$EXECS"
} >"$MD"
write_results exec_storm "$MD"
