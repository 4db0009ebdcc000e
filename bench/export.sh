#!/usr/bin/env bash
# The records per second each of kscope collect's sinks sustains, fed realistic flow records
# (IPv4 and IPv6, TCP and UDP, each with its process) through its runner as the collector
# feeds it: NDJSON to a file on a real disk, the same beside a live stream with no client and
# with a client that never reads (which must not slow the file down), IPFIX encoding alone and
# over UDP to loopback, and Kafka to librdkafka's mock cluster. Targets (issue 9): >= 500k
# records/s to an NDJSON file, >= 1M records/s IPFIX encoding. No peer installed here exports
# JSON flow logs or IPFIX from a record stream, so the figures stand alone.
#
#   sudo bench/export.sh [-s SECONDS] [-d DIR]
#
# Environment: SECONDS_PER_RUN (3), DIR (/var/tmp: the file sink's output), BUILD_DIR.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
DIR=${DIR:-/var/tmp}
while getopts "s:d:h" opt; do
  case $opt in
    s) SECONDS_PER_RUN=$OPTARG ;;
    d) DIR=$OPTARG ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
BENCH=$BUILD_DIR/bench/kscope_export_bench
[[ -x $BENCH ]] || die "no $BENCH: build it (cmake --build build)"
bench_init export

log "export: ${SECONDS_PER_RUN} s a sink, the file in $DIR"
{
  echo "### Results (\`bench/export.sh -s $SECONDS_PER_RUN\`, $(date -u '+%Y-%m-%d %H:%M') UTC)"
  echo
  "$BENCH" "$DIR" "$SECONDS_PER_RUN" 2>"$TMP/bench.err" || die "kscope_export_bench failed: $(cat "$TMP/bench.err")"
  echo
  echo "CPU is the whole process's (the producer thread that plays the collector, the sink"
  echo "threads, the stream's io thread, librdkafka's threads) over the run, in cores."
  echo
  results_footer
} >"$TMP/results.md"
write_results export "$TMP/results.md"
