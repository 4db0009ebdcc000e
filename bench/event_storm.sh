#!/usr/bin/env bash
# Event storms, one per TOOL: a storm of exactly the events the tool traces, untraced and under
# `kscope trace TOOL`, the libbpf-tools peer (where one runs on this kernel) and a bpftrace
# one-liner on the same kernel hook, interleaved R times; then kscope alone at default buffer
# sizes with CHECK events (target: 0 lost). Prints one Markdown table per tool and writes them
# to bench/results/.
#
#   sudo bench/event_storm.sh [-r REPS] [-n EVENTS] [-m CHECK_EVENTS] [-t TRACERS] TOOL...
#
# TOOL: open exec exit signal connect accept bind listen tcplife tcpstates tcpreset, or all.
# -n and -m override every tool's default storm size and check size (0: no check).
# Environment: REPS, EVENTS, CHECK_EVENTS, TRACERS (subset of "untraced kscope kscope-smallbuf
# peer bpftrace"; kscope-smallbuf is kscope with --buffer-size SMALL_BUFFER (16384), which must
# lose events and count every one; kscope-base is kscope run from the binary KSCOPE_BASE, to
# compare two builds in one run), KSCOPE_FLAGS (added to every kscope run), RT_PRIO
# (bench/lib.sh), KSCOPE, BUILD_DIR, BPFTRACE, SETTLE, ATTACH_TIMEOUT, DRAIN_TIMEOUT,
# STORM_TIMEOUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-3}
EVENTS=${EVENTS:-}
CHECK_EVENTS=${CHECK_EVENTS:-}
TRACERS=${TRACERS:-untraced kscope kscope-smallbuf peer bpftrace}
SMALL_BUFFER=${SMALL_BUFFER:-16384}
KSCOPE_FLAGS=${KSCOPE_FLAGS:-}
BPFTRACE=${BPFTRACE:-/usr/bin/bpftrace}
STORM_TIMEOUT=${STORM_TIMEOUT:-300}

storm_options "r:n:m:t:h" "$@"
[[ $TOOLS == all ]] && TOOLS=$STORM_TOOLS
for t in $TRACERS; do
  case $t in
    untraced|kscope|kscope-smallbuf|peer) ;;
    kscope-base) [[ -x ${KSCOPE_BASE:-} ]] || die "kscope-base needs KSCOPE_BASE, the binary to compare with" ;;
    bpftrace) [[ -x $BPFTRACE ]] || die "no bpftrace at $BPFTRACE (apt-get install bpftrace)" ;;
    *) die "unknown tracer $t" ;;
  esac
done

bench_init storms   # not "event_storm": $TMP must not contain the storm's comm
if [[ -n ${KSCOPE_BASE:-} ]]; then
  cp -- "$KSCOPE_BASE" "$TMP/bin/kscope-base"
  KSCOPE_BASE_SHA=$(sha256sum "$KSCOPE_BASE" | cut -c1-12)
fi
RESULTS=$TMP/results.tsv
printf 'tool\ttracer\trep\tevents\texpected\trate\tseconds\tdelivered\tlost\tcpu\tstatus\n' >"$RESULTS"


# smallbuf_filter: kscope-smallbuf's kernel filters, so that every event it loses is the
# storm's and expected = delivered + lost must hold exactly.
smallbuf_filter() {
  echo "--comm $COMM"
  [[ $MODE != open ]] || echo "--path $FILE"
}

# run_one TOOL TRACER REP N: one storm under TRACER, one row in $RESULTS.
run_one() {
  local tool=$1 tracer=$2 rep=$3 n=$4 delivered=0 lost=0 cpu=0 status=ok name
  local expected=$((n * PER + EXTRA))
  case $tracer in
    untraced) ;;
    kscope|kscope-smallbuf|kscope-base)
      name=kscope
      local extra=() binary=$KSCOPE
      # shellcheck disable=SC2207
      [[ $tracer != kscope-smallbuf ]] || extra=(--buffer-size "$SMALL_BUFFER" $(smallbuf_filter))
      [[ $tracer != kscope-base ]] || binary=$TMP/bin/kscope-base
      # shellcheck disable=SC2086
      start_kscope kscope "$binary" -v trace "$tool" "${extra[@]}" $KSCOPE_FLAGS ||
        { cat "$TMP/kscope.err" >&2; die "kscope exited before it attached"; }
      ;;
    peer)
      if [[ -z $PEER ]]; then
        log "$tool: no peer: $WHY"
        return 0
      fi
      name=peer
      # shellcheck disable=SC2086
      start_tracer peer $PEER
      ;;
    bpftrace)
      name=bpftrace
      start_tracer bpftrace "$BPFTRACE" -e "$BT"
      ;;
  esac
  if [[ $tracer != untraced ]]; then
    # a filtered kscope-smallbuf never shows the probe's events: it was attached when it said so
    [[ $tracer == kscope-smallbuf ]] || wait_attached "$name" "$(comm_regex "${COMM/_storm/_probe}")" probe_storm
    storm_run "$n"; sleep "$SETTLE"; stop_tracer "$name"
    delivered=$(count_storm "$name")
    case $name in
      kscope)
        local summary
        summary=$(grep -E "kscope: trace $tool: [0-9]+ events shown, [0-9]+ lost" "$TMP/kscope.err" | tail -n 1) || true
        [[ -n $summary ]] || { status=no-summary; cat "$TMP/kscope.err" >&2; }
        lost=$(sed -nE 's/.* ([0-9]+) lost.*/\1/p' <<<"$summary")
        ;;
      # libbpf-tools: "Lost N events on CPU #C!" on stderr; bpftrace 0.17: "Lost N events"
      # on stdout
      *) lost=$(cat "$TMP/$name.out" "$TMP/$name.err" | awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }') ;;
    esac
    cpu=$TRACER_CPU
    [[ $TRACER_STATUS == ok ]] || status=$TRACER_STATUS
    rm -f "$TMP"/*.out
  else
    storm_run "$n"
  fi
  [[ $(field failed "$STORM_LINE") == 0 || $MODE == open ]] || status="$status, storm failed=$(field failed "$STORM_LINE")"
  log "$tool $tracer rep $rep: $STORM_LINE delivered=$delivered/$expected lost=$lost cpu=$cpu status=$status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$tracer" "$rep" "$n" "$expected" \
    "$(field rate "$STORM_LINE")" "$(field seconds "$STORM_LINE")" "$delivered" "${lost:-nan}" "$cpu" \
    "$status" >>"$RESULTS"
}

MD=$TMP/table.md
: >"$MD"
for tool in $TOOLS; do
  storm_setup "$tool"
  [[ -z $HIST ]] || die "$tool aggregates in the kernel and streams no events: see bench/probe_cost.sh"
  [[ -n $EVENTS ]] && SIZE=$EVENTS
  [[ -n $CHECK_EVENTS ]] && CHECK=$CHECK_EVENTS
  log "$tool: $(storm_text "$SIZE") x $REPS reps, tracers: $TRACERS; kscope check: $CHECK"
  for rep in $(seq 1 "$REPS"); do
    for t in $TRACERS; do run_one "$tool" "$t" "$rep" "$SIZE"; done
  done
  if [[ $CHECK -gt 0 ]]; then
    for rep in $(seq 1 "$REPS"); do run_one "$tool" kscope "check$rep" "$CHECK"; done
  fi
  {
    echo "### $tool: \`$(storm_text "$SIZE")\` ($REPS runs each, interleaved)"
    echo
    echo "kscope: \`kscope -v trace $tool${KSCOPE_FLAGS:+ $KSCOPE_FLAGS}\` (table output; kscope-smallbuf adds \`--buffer-size $SMALL_BUFFER $(smallbuf_filter | sed "s|$TMP|\$TMP|")\`); peer: $(peer_text); bpftrace: \`bpftrace -e '$BT'\`"
    echo
    python3 "$BENCH_DIR/bench_helper.py" storm-table "$RESULTS" "$tool"
    echo
  } >>"$MD"
done
{
  results_footer
  [[ -z ${KSCOPE_BASE_SHA:-} ]] || echo "kscope-base: binary sha256 $KSCOPE_BASE_SHA ($KSCOPE_BASE)"
} >>"$MD"
write_results event_storm "$MD"
