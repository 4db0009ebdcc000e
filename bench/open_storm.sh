#!/usr/bin/env bash
# Open storm: N open()+close() of one regular file, untraced and under kscope, libbpf-tools
# opensnoop and bpftrace, interleaved R times; then a kscope check at 1,000,000 events with
# default buffer sizes. Prints a Markdown table and writes it to bench/results/.
#
#   sudo bench/open_storm.sh [-r REPS] [-n OPENS] [-m CHECK_OPENS] [-t TRACERS]
#
# Environment: REPS, OPENS, CHECK_OPENS, TRACERS (space separated subset of
# "untraced kscope kscope-smallbuf opensnoop bpftrace"; kscope-smallbuf is kscope with
# --buffer-size SMALL_BUFFER (16384), which must lose events and count every one), KSCOPE, BUILD_DIR, OPENSNOOP, BPFTRACE, SETTLE,
# ATTACH_TIMEOUT, DRAIN_TIMEOUT, STORM_TIMEOUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-3}
OPENS=${OPENS:-2000000}
CHECK_OPENS=${CHECK_OPENS:-1000000}
TRACERS=${TRACERS:-untraced kscope kscope-smallbuf opensnoop bpftrace}
SMALL_BUFFER=${SMALL_BUFFER:-16384}  # kscope-smallbuf: a ring this small must lose, and count it
OPENSNOOP=${OPENSNOOP:-/usr/sbin/opensnoop}
BPFTRACE=${BPFTRACE:-/usr/bin/bpftrace}
STORM_TIMEOUT=${STORM_TIMEOUT:-600}

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "r:n:m:t:h" opt; do
  case $opt in
    r) REPS=$OPTARG ;;
    n) OPENS=$OPTARG ;;
    m) CHECK_OPENS=$OPTARG ;;
    t) TRACERS=$OPTARG ;;
    h) usage 0 ;;
    *) usage 2 ;;
  esac
done
[[ $REPS =~ ^[1-9][0-9]*$ && $OPENS =~ ^[1-9][0-9]*$ && $CHECK_OPENS =~ ^[0-9]+$ ]] ||
  die "REPS and OPENS must be positive integers, CHECK_OPENS a non-negative one"

bench_init open_storm
STORM=$TESTPROGS/open_storm
for t in $TRACERS; do
  case $t in
    untraced|kscope|kscope-smallbuf) ;;
    opensnoop) [[ -x $OPENSNOOP ]] || die "no opensnoop at $OPENSNOOP (apt-get install libbpf-tools)" ;;
    bpftrace) [[ -x $BPFTRACE ]] || die "no bpftrace at $BPFTRACE (apt-get install bpftrace)" ;;
    *) die "unknown tracer $t" ;;
  esac
done

FILE=$TMP/storm-file        # the file the storm opens; nothing else opens it
PROBE=$TMP/attach-probe     # opened by the attach probe only
: >"$FILE"
: >"$PROBE"
RESULTS=$TMP/results.tsv
printf 'tracer\trep\topens\trate\tseconds\tdelivered\tlost\tshown\tcpu\tstatus\n' >"$RESULTS"
BPF_SCRIPT='tracepoint:syscalls:sys_enter_openat /comm == "open_storm"/ { printf("%d %s\n", pid, str(args->filename)); }'

storm() { # storm N: sets line to the "opens= seconds= rate=" summary
  run_storm "$STORM" "$1" "$FILE" || die "open_storm failed or timed out"
  line=$STORM_LINE
}

probe_opens() { "$STORM" 200 "$PROBE"; }

# run_one TRACER REP N: one storm under TRACER, one row in $RESULTS.
run_one() {
  local tracer=$1 rep=$2 n=$3 line delivered=0 lost=0 shown=0 cpu=0 status=ok
  case $tracer in
    untraced)
      storm "$n"
      ;;
    kscope|kscope-smallbuf)
      local extra=()
      [[ $tracer == kscope ]] || extra=(--buffer-size "$SMALL_BUFFER")
      start_tracer kscope "$KSCOPE" -v trace open "${extra[@]}"
      local deadline=$((SECONDS + ATTACH_TIMEOUT))
      until grep -q 'attached via' "$TMP/kscope.err"; do
        kill -0 "$TRACER_PID" 2>/dev/null || { cat "$TMP/kscope.err" >&2; die "kscope exited before it attached"; }
        ((SECONDS < deadline)) || die "kscope did not attach in ${ATTACH_TIMEOUT}s"
        sleep 0.1
      done
      wait_attached kscope "attach-probe\$" probe_opens
      storm "$n"; sleep "$SETTLE"; stop_tracer kscope
      # TIME PID COMM UID FD ERR FLAGS MODE PATH
      delivered=$(awk -v f="$FILE" '$3 == "open_storm" && $NF == f { c++ } END { print c + 0 }' "$TMP/kscope.out")
      local summary
      summary=$(grep -E 'kscope: trace open: [0-9]+ events shown, [0-9]+ lost' "$TMP/kscope.err" | tail -n 1) || true
      [[ -n $summary ]] || { status=no-summary; cat "$TMP/kscope.err" >&2; }
      shown=$(sed -nE 's/.* ([0-9]+) events shown.*/\1/p' <<<"$summary")
      lost=$(sed -nE 's/.* ([0-9]+) lost.*/\1/p' <<<"$summary")
      ;;
    opensnoop)
      start_tracer opensnoop "$OPENSNOOP"
      wait_attached opensnoop "attach-probe\$" probe_opens
      storm "$n"; sleep "$SETTLE"; stop_tracer opensnoop
      # PID COMM FD ERR PATH; lost: "Lost N events on CPU #C!" on stderr
      delivered=$(awk -v f="$FILE" '$2 == "open_storm" && $NF == f { c++ } END { print c + 0 }' "$TMP/opensnoop.out")
      shown=$(($(wc -l <"$TMP/opensnoop.out") - 1))
      lost=$(awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }' "$TMP/opensnoop.err")
      ;;
    bpftrace)
      start_tracer bpftrace "$BPFTRACE" -e "$BPF_SCRIPT"
      wait_attached bpftrace "attach-probe\$" probe_opens
      storm "$n"; sleep "$SETTLE"; stop_tracer bpftrace
      # "PID PATH"; bpftrace 0.17 reports loss as "Lost N events" on stdout
      delivered=$(awk -v f="$FILE" 'NF == 2 && $2 == f { c++ } END { print c + 0 }' "$TMP/bpftrace.out")
      shown=$(grep -c '^[0-9]* /' "$TMP/bpftrace.out" || true)
      lost=$(cat "$TMP/bpftrace.out" "$TMP/bpftrace.err" | awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }')
      ;;
  esac
  if [[ $tracer != untraced ]]; then
    cpu=$TRACER_CPU
    [[ $TRACER_STATUS == ok ]] || status=$TRACER_STATUS
    rm -f "$TMP"/*.out
  fi
  local rate secs
  rate=$(field rate "$line"); secs=$(field seconds "$line")
  log "$tracer rep $rep: $line delivered=$delivered lost=$lost cpu=$cpu status=$status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tracer" "$rep" "$n" "$rate" "$secs" \
    "$delivered" "${lost:-nan}" "${shown:-0}" "$cpu" "$status" >>"$RESULTS"
}

log "open storm: $OPENS opens x $REPS reps, tracers: $TRACERS; kscope check: $CHECK_OPENS opens"
for rep in $(seq 1 "$REPS"); do
  for t in $TRACERS; do run_one "$t" "$rep" "$OPENS"; done
done
if [[ $CHECK_OPENS -gt 0 ]]; then
  for rep in $(seq 1 "$REPS"); do run_one kscope "check$rep" "$CHECK_OPENS"; done
fi

MD=$TMP/table.md
{
  echo "### Open storm ($OPENS open+close, $REPS runs each, interleaved)"
  echo
  machine_line
  echo
  echo "kscope: $(kscope_rev): \`kscope -v trace open\` (table output; kscope-smallbuf adds \`--buffer-size $SMALL_BUFFER\`); opensnoop: \`$OPENSNOOP\`; bpftrace: \`bpftrace -e '$BPF_SCRIPT'\`"
  echo
  python3 "$BENCH_DIR/bench_helper.py" open-table "$RESULTS" "$OPENS" "$CHECK_OPENS"
} >"$MD"
write_results open_storm "$MD"
