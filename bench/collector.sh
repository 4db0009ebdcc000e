#!/usr/bin/env bash
# `kscope collect`, the long-running collector, against its targets (issue: scrape <= 50 ms at
# 10k series, < 1 % of a core idle, CPU per event at ~100k events/s, RSS <= 64 MB with 100k
# active flows). Four phases, each with a collector of its own (listen 127.0.0.1:0: the port
# it prints), stopped with SIGTERM at the phase's end:
#
#  1. scrape: labels [comm], series_per_metric 20000 and series_total 50000 (so nothing
#     folds), the other keys default; comm_storm COMMS makes COMMS processes with a comm of
#     their own, each a kscope_exit_total series. Then SCRAPES rounds of three curl scrapes:
#     text 0.0.4, OpenMetrics (Accept: application/openmetrics-text) and gzip (text with
#     Accept-Encoding: gzip), timed by curl's %{time_total} (connect to the last byte); median
#     and p90 (nearest rank) in ms, body bytes, the series (the sum of kscope_series) and the
#     collector's own kscope_scrape_duration_seconds (reading the probes and building the
#     families, without rendering or gzip). The first scrape after the storm is shown apart.
#  2. idle: the built-in configuration (only `listen` set), IDLE_WARMUP s after it is ready,
#     then IDLE_SECONDS of the collector's user+sys CPU (/proc/PID/stat) while it is scraped
#     every IDLE_INTERVAL s as Prometheus would; the events it saw meanwhile are the
#     machine's own (exec, exit, TCP... of whatever else runs).
#  3. events: a storm paced at a known rate, in chunks every CHUNK_MS ms, for EVENT_SECONDS,
#     REPS times per case; the collector's CPU over the storm and SETTLE s after it, divided by
#     the events it counted (kscope_probe_records_total of its ring-buffer probes, or the
#     syscall histograms' _count), and every kscope_probe_lost_total that moved. Cases:
#       tcp       sources: tcp only; event_storm connect at CONNECT_RATE iterations/s, each a
#                 loopback connect, accept and reset in a namespace of the storm's own: 11
#                 ring-buffer events (6 tcpstates, 2 tcplife, 2 tcpreset, 1 connlat)
#       default   the built-in sources, the same storm: also the flows (4 per iteration, the
#                 flow table's records counted apart), syscall latency and the rest
#       syscalls  sources: syscalls only; open_storm at OPEN_RATE opens/s, 2 syscalls each
#                 (openat, close), which the syslat probe counts into histograms in the kernel
#                 (no ring buffer); the count includes every other syscall on the machine
#  4. flows: sources flows only, max_flows FLOW_TABLE, the other sources off. FLOWS/2 UDP
#     5-tuples from two namespaces joined by a veth pair this script makes (and removes):
#     flow_known udp_many, one datagram from each of FLOWS/2 client ports, in as many
#     concurrent processes as the fd limit asks; the collector's cgroup hooks count each
#     5-tuple twice (egress at the client's socket, ingress at the server's): FLOWS flows in
#     kscope_flows_active. RSS (VmRSS, process_resident_memory_bytes) before, the highest
#     while the flows are active (polled every 0.5 s for FLOW_POLL s, with each scrape's
#     time), after they end (idle timeout, 15 s), and VmHWM: the peak over the phase.
#
#   sudo bench/collector.sh [-r REPS] [-n SCRAPES] [-s IDLE_SECONDS] [-i IDLE_INTERVAL]
#                           [-e EVENT_SECONDS] [-f FLOWS] [-p PHASES]
#
# PHASES: any of "scrape idle events flows" (all by default). Environment: the same names,
# and COMMS (10000), CONNECT_RATE (9000), OPEN_RATE (50000), CHUNK_MS (1000), IDLE_WARMUP (5),
# FLOW_TABLE (131072), FLOW_POLL (6: seconds of polling the active flows), KSCOPE, BUILD_DIR,
# RT_PRIO, SETTLE, STORM_TIMEOUT. The whole run takes about 7 minutes with the defaults on a
# busy 2-CPU VM. Needs root, curl and python3.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

REPS=${REPS:-3}
SCRAPES=${SCRAPES:-50}
IDLE_SECONDS=${IDLE_SECONDS:-30}
IDLE_INTERVAL=${IDLE_INTERVAL:-15}
IDLE_WARMUP=${IDLE_WARMUP:-5}
EVENT_SECONDS=${EVENT_SECONDS:-20}
FLOWS=${FLOWS:-100000}
FLOW_TABLE=${FLOW_TABLE:-131072}
FLOW_POLL=${FLOW_POLL:-6}
COMMS=${COMMS:-10000}
CONNECT_RATE=${CONNECT_RATE:-9000}
OPEN_RATE=${OPEN_RATE:-50000}
CHUNK_MS=${CHUNK_MS:-1000}
PHASES=${PHASES:-scrape idle events flows}
STORM_TIMEOUT=${STORM_TIMEOUT:-120}
usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "r:n:s:i:e:f:p:h" opt; do
  case $opt in
    r) REPS=$OPTARG ;;
    n) SCRAPES=$OPTARG ;;
    s) IDLE_SECONDS=$OPTARG ;;
    i) IDLE_INTERVAL=$OPTARG ;;
    e) EVENT_SECONDS=$OPTARG ;;
    f) FLOWS=$OPTARG ;;
    p) PHASES=$OPTARG ;;
    h) usage 0 ;;
    *) usage 2 ;;
  esac
done
for v in REPS SCRAPES IDLE_SECONDS IDLE_INTERVAL EVENT_SECONDS FLOWS FLOW_TABLE FLOW_POLL COMMS CONNECT_RATE OPEN_RATE CHUNK_MS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((COMMS <= 99999)) || die "COMMS is at most 99999 (comm_storm)"
for p in $PHASES; do
  case $p in scrape|idle|events|flows) ;; *) die "unknown phase $p (scrape idle events flows)" ;; esac
done
command -v curl >/dev/null || die "no curl"
command -v ip >/dev/null || die "no ip (iproute2)"

SRC_TESTPROGS=$TESTPROGS
bench_init collector
for p in comm_storm flow_known; do
  [[ -x $SRC_TESTPROGS/$p ]] || die "no $SRC_TESTPROGS/$p: build the project first"
  cp -- "$SRC_TESTPROGS/$p" "$TMP/bin/$p"
done
CLK_TCK=$(getconf CLK_TCK)

COLLECTOR_PID=""
COLLECTOR_NAME=""
URL=""
NS_A=""
NS_B=""
FLOW_PIDS=()
# The script's own undo, run first by bench_cleanup on any exit.
collector_cleanup() {
  local p
  for p in "${FLOW_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  stop_collector || true
  [[ -z $NS_A ]] || remove_netns "$NS_A" "$NS_B"
}
ON_EXIT=collector_cleanup

sleep_until() {  # EPOCH-SECONDS (fractional)
  local d
  d=$(awk -v t="$1" -v n="$EPOCHREALTIME" 'BEGIN { d = t - n; if (d < 0) d = 0; printf "%.3f", d }')
  sleep "$d"
}

# start_collector NAME YAML: runs kscope collect -c with YAML until it prints its address.
start_collector() {
  local name=$1 deadline=$((SECONDS + ATTACH_TIMEOUT)) addr=""
  printf '%s\n' "$2" >"$TMP/$name.yaml"
  "$KSCOPE" collect --check-config "$TMP/$name.yaml" >/dev/null || die "$name: bad configuration"
  "${RT[@]}" "$KSCOPE" collect -c "$TMP/$name.yaml" 2>"$TMP/$name.err" &
  COLLECTOR_PID=$!
  COLLECTOR_NAME=$name
  while :; do
    addr=$(sed -n 's|^kscope collect: metrics at http://\([^/]*\)/metrics.*|\1|p' "$TMP/$name.err")
    [[ -n $addr ]] && break
    if ! kill -0 "$COLLECTOR_PID" 2>/dev/null; then
      cat "$TMP/$name.err" >&2
      die "collector $name exited before it served metrics ($(reap))"
    fi
    ((SECONDS < deadline)) || die "collector $name did not start in ${ATTACH_TIMEOUT}s"
    sleep 0.1
  done
  URL=http://$addr/metrics
  if grep -q 'left out' "$TMP/$name.err"; then log "$name: $(grep 'left out' "$TMP/$name.err" | paste -sd';')"; fi
  log "$name: collector $COLLECTOR_PID at $URL (load average $(loadavg))"
}
# reap: waits for the exited collector and says how it ended.
reap() {
  local rc=0
  wait "$COLLECTOR_PID" 2>/dev/null || rc=$?
  COLLECTOR_PID=""
  if ((rc > 128)); then echo "killed by signal $((rc - 128))"; else echo "exit status $rc"; fi
}
# alive: dies when the collector is gone (e.g. someone else's signal), saying how it ended.
alive() {
  kill -0 "$COLLECTOR_PID" 2>/dev/null && return 0
  local how
  how=$(reap)
  die "the $COLLECTOR_NAME collector exited under the benchmark, not stopped by it: $how; its stderr: $(tail -n 2 "$TMP/$COLLECTOR_NAME.err" | paste -sd' ')"
}
stop_collector() {
  [[ -n $COLLECTOR_PID ]] || return 0
  local pid=$COLLECTOR_PID
  COLLECTOR_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$COLLECTOR_NAME: no exit 10 s after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
# scrape OUT [CURL-ARGS...]: prints "http_code seconds bytes"; the body goes to OUT.
scrape() {
  local out=$1
  shift
  # -w prints "000 ..." also when curl fails (connection refused, timeout)
  curl -sS --max-time 30 "$@" -o "$out" -w '%{http_code} %{time_total} %{size_download}\n' "$URL" || true
}
# msum FILE REGEX...: the sum of the values of the series (name{labels}) each REGEX matches.
msum() {
  python3 - "$@" <<'PY'
import re, sys
pats = [re.compile(p) for p in sys.argv[2:]]
total = 0.0
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("#") or not line.strip():
        continue
    series, _, value = line.rstrip("\n").rpartition(" ")
    if any(p.fullmatch(series) for p in pats):
        total += float(value)
print(int(total) if total == int(total) else repr(total))
PY
}
# mcount FILE REGEX: how many series (name{labels}) REGEX matches.
mcount() {
  python3 - "$@" <<'PY'
import re, sys
pat = re.compile(sys.argv[2])
print(sum(1 for line in open(sys.argv[1], errors="replace")
          if not line.startswith("#") and pat.fullmatch(line.rstrip("\n").rpartition(" ")[0])))
PY
}
# lost_moved BEFORE AFTER: the kscope_probe_lost_total series that moved, as probe/point=N.
lost_moved() {
  python3 - "$1" "$2" <<'PY'
import re, sys
def read(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.match(r'kscope_probe_lost_total\{probe="([^"]*)",point="([^"]*)"\} (\S+)$', line)
        if m:
            out[m[1] + "/" + m[2]] = float(m[3])
    return out
a, b = read(sys.argv[1]), read(sys.argv[2])
moved = [f"{k}={int(b[k] - a.get(k, 0))}" for k in sorted(b) if b[k] != a.get(k, 0)]
print(",".join(moved) or "none")
PY
}

RING_PROBES='kscope_probe_records_total\{probe="(exec|exit|oomkill|tcpstates|tcplife|tcpreset|tcpretrans|connlat|dns)"\}'
FLOW_RECORDS='kscope_probe_records_total\{probe="flows"\}'
SYSCALLS='kscope_syscall_latency_seconds_count(\{.*\})?'
LOST='kscope_probe_lost_total\{.*\}'

# ---- 1. scrape time at COMMS series ---------------------------------------------------------
SCRAPE_TSV=$TMP/scrape.tsv
SCRAPE_INFO=$TMP/scrape.info
phase_scrape() {
  local body=$TMP/body line code t size own first=""
  start_collector scrape "listen: 127.0.0.1:0
labels: [comm]
limits: {series_per_metric: 20000, series_total: 50000}"
  log "scrape: comm_storm $COMMS (one exit series per comm)"
  run_storm "$TMP/bin/comm_storm" "$COMMS" kscb || die "comm_storm failed: $STORM_LINE"
  alive
  local deadline=$((SECONDS + 60)) exits=0
  while :; do
    line=$(scrape "$body")
    [[ -z $first ]] && first=$line
    exits=$(msum "$body" 'kscope_series\{metric="kscope_exit_total"\}')
    ((exits >= COMMS)) && break
    ((SECONDS < deadline)) || die "kscope_exit_total has $exits series 60 s after the storm, not $COMMS"
    alive
    sleep 1
  done
  printf 'format\tcode\tseconds\tbytes\town\n' >"$SCRAPE_TSV"
  for _ in $(seq 1 "$SCRAPES"); do
    read -r code t size <<<"$(scrape "$body")"
    own=$(awk '$1 == "kscope_scrape_duration_seconds" {print $2}' "$body")
    printf 'text\t%s\t%s\t%s\t%s\n' "$code" "$t" "$size" "${own:-nan}" >>"$SCRAPE_TSV"
    read -r code t size <<<"$(scrape "$body" -H 'Accept: application/openmetrics-text; version=1.0.0')"
    own=$(awk '$1 == "kscope_scrape_duration_seconds" {print $2}' "$body")
    printf 'openmetrics\t%s\t%s\t%s\t%s\n' "$code" "$t" "$size" "${own:-nan}" >>"$SCRAPE_TSV"
    read -r code t size <<<"$(scrape "$body.gz" -H 'Accept-Encoding: gzip')"
    own=$(gzip -dc "$body.gz" 2>/dev/null | awk '$1 == "kscope_scrape_duration_seconds" {print $2}') || true
    printf 'gzip\t%s\t%s\t%s\t%s\n' "$code" "$t" "$size" "${own:-nan}" >>"$SCRAPE_TSV"
  done
  alive
  scrape "$body" >/dev/null
  {
    echo "series=$(msum "$body" 'kscope_series\{.*\}')"
    echo "exit_series=$(msum "$body" 'kscope_series\{metric="kscope_exit_total"\}')"
    echo "storm_series=$(mcount "$body" 'kscope_exit_total\{comm="kscb[0-9]{5}"\}')"
    echo "folded=$(msum "$body" 'kscope_series_folded_total\{.*\}')"
    echo "scrape_errors=$(msum "$body" 'kscope_scrape_errors_total')"
    echo "rss_kb=$(status_kb "$COLLECTOR_PID" VmRSS)"
    echo "first=$first"
    echo "load=$(loadavg)"
  } >"$SCRAPE_INFO"
  stop_collector
  log "scrape: done ($(paste -sd' ' "$SCRAPE_INFO"))"
}

# ---- 2. idle CPU ----------------------------------------------------------------------------
IDLE_INFO=$TMP/idle.info
phase_idle() {
  local body=$TMP/idle-body t0 t1 c0 c1 k=0 load0
  start_collector idle "listen: 127.0.0.1:0"
  sleep "$IDLE_WARMUP"
  alive
  load0=$(loadavg)
  t0=$EPOCHREALTIME
  c0=$(cpu_ticks "$COLLECTOR_PID")
  while ((k * IDLE_INTERVAL < IDLE_SECONDS)); do
    sleep_until "$(awk -v a="$t0" -v b=$((k * IDLE_INTERVAL)) 'BEGIN {printf "%.6f", a + b}')"
    scrape "$body.$k" >/dev/null
    k=$((k + 1))
  done
  sleep_until "$(awk -v a="$t0" -v b="$IDLE_SECONDS" 'BEGIN {printf "%.6f", a + b}')"
  c1=$(cpu_ticks "$COLLECTOR_PID")
  t1=$EPOCHREALTIME
  alive
  scrape "$body.end" >/dev/null
  {
    echo "seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
    echo "cpu=$(awk -v d=$((c1 - c0)) -v h="$CLK_TCK" 'BEGIN {printf "%.2f", d / h}')"
    echo "scrapes=$k"
    echo "ring_events=$(($(msum "$body.end" "$RING_PROBES") - $(msum "$body.0" "$RING_PROBES")))"
    echo "syscalls=$(($(msum "$body.end" "$SYSCALLS") - $(msum "$body.0" "$SYSCALLS")))"
    echo "rss_kb=$(status_kb "$COLLECTOR_PID" VmRSS)"
    echo "load=$load0 / $(loadavg)"
  } >"$IDLE_INFO"
  stop_collector
  log "idle: done ($(paste -sd' ' "$IDLE_INFO"))"
}

# ---- 3. CPU per event at a known rate -------------------------------------------------------
EVENT_TSV=$TMP/events.tsv
# pace KIND RATE: the storm KIND (connect or open) at RATE iterations/s for EVENT_SECONDS, in
# chunks every CHUNK_MS; sets PACE_FAILED to the iterations the storm said went wrong.
pace() {
  local kind=$1 rate=$2 chunk n start i
  chunk=$((rate * CHUNK_MS / 1000))
  n=$((EVENT_SECONDS * 1000 / CHUNK_MS))
  start=$EPOCHREALTIME
  PACE_FAILED=0
  for ((i = 0; i < n; i++)); do
    if [[ $kind == connect ]]; then
      run_storm "$TMP/bin/event_storm" connect "$chunk" || [[ $? -eq 1 ]] || die "event_storm failed: $STORM_LINE"
      PACE_FAILED=$((PACE_FAILED + $(field failed "$STORM_LINE")))
    else
      run_storm "$TMP/bin/open_storm" "$chunk" "$FILE" || die "open_storm failed: $STORM_LINE"
    fi
    sleep_until "$(awk -v a="$start" -v b=$(((i + 1) * CHUNK_MS)) 'BEGIN {printf "%.6f", a + b / 1000}')"
  done
}
event_case() {  # CASE YAML KIND RATE
  local name=$1 kind=$3 rate=$4 a=$TMP/ev-a b=$TMP/ev-b rep t0 t1 c0 c1 events flows
  start_collector "events-$name" "$2"
  sleep 2
  for rep in $(seq 1 "$REPS"); do
    alive
    scrape "$a" >/dev/null
    c0=$(cpu_ticks "$COLLECTOR_PID")
    t0=$EPOCHREALTIME
    pace "$kind" "$rate"
    sleep "$SETTLE"
    alive
    c1=$(cpu_ticks "$COLLECTOR_PID")
    t1=$EPOCHREALTIME
    scrape "$b" >/dev/null
    if [[ $kind == open ]]; then
      events=$(($(msum "$b" "$SYSCALLS") - $(msum "$a" "$SYSCALLS")))
    else
      events=$(($(msum "$b" "$RING_PROBES") - $(msum "$a" "$RING_PROBES")))
    fi
    flows=$(($(msum "$b" "$FLOW_RECORDS") - $(msum "$a" "$FLOW_RECORDS")))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" \
      "$(awk -v d=$((c1 - c0)) -v h="$CLK_TCK" 'BEGIN {printf "%.2f", d / h}')" \
      "$events" "$flows" "$(($(msum "$b" "$LOST") - $(msum "$a" "$LOST")))" "$(lost_moved "$a" "$b")" \
      "$PACE_FAILED" "$(status_kb "$COLLECTOR_PID" VmRSS)" "$(msum "$b" kscope_flows_active)" "$(loadavg)" >>"$EVENT_TSV"
    log "events $name rep $rep: $(tail -n 1 "$EVENT_TSV" | tr '\t' ' ')"
  done
  stop_collector
}
phase_events() {
  local off="drops: false, dns: false, process: false, runqlat: false, biolatency: false"
  printf 'case\trep\tseconds\tcpu\tevents\tflow_records\tlost\tlost_points\tfailed\trss_kb\tflows_active\tload\n' >"$EVENT_TSV"
  event_case tcp "listen: 127.0.0.1:0
sources: {flows: false, $off, syscalls: false}" connect "$CONNECT_RATE"
  event_case default "listen: 127.0.0.1:0" connect "$CONNECT_RATE"
  event_case syscalls "listen: 127.0.0.1:0
sources: {flows: false, tcp: false, $off}" open "$OPEN_RATE"
}

# ---- 4. RSS with FLOWS active flows ---------------------------------------------------------
FLOW_INFO=$TMP/flows.info
flow_metrics() {  # BODY: "active rss_bytes"
  echo "$(msum "$1" kscope_flows_active) $(msum "$1" process_resident_memory_bytes)"
}
phase_flows() {
  local body=$TMP/flow-body pairs hard chunk k j base rc start active rss vmrss t
  NS_A=kscol$$a
  NS_B=kscol$$b
  veth_pair "$NS_A" "$NS_B" 10.233.0
  # 5-tuples: each is two flows (the client socket's egress, the server socket's ingress).
  pairs=$(((FLOWS + 1) / 2))
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] && hard=1048576
  chunk=$((hard - 100 < pairs ? hard - 100 : pairs))   # flow_known holds all its sockets at once
  k=$(((pairs + chunk - 1) / chunk))
  chunk=$(((pairs + k - 1) / k))
  ((1024 + k * (chunk + 1) <= 65535)) || die "$pairs client ports do not fit in one address's port range"
  start_collector flows "listen: 127.0.0.1:0
sources:
  flows: {max_flows: $FLOW_TABLE}
  tcp: false
  drops: false
  dns: false
  process: false
  runqlat: false
  biolatency: false
  syscalls: false"
  sleep 2
  scrape "$body.0" >/dev/null
  local before_kb
  before_kb=$(status_kb "$COLLECTOR_PID" VmRSS)
  log "flows: $pairs UDP 5-tuples from $k concurrent flow_known udp_many of $chunk sockets (fd hard limit $hard)"
  start=$EPOCHREALTIME
  FLOW_PIDS=()
  for ((j = 0; j < k; j++)); do
    base=$((1024 + j * (chunk + 1)))
    "$TMP/bin/flow_known" "$TMP/roles.$j" udp_many "$NS_B" 10.233.0.2 "$NS_A" 10.233.0.1 "$base" \
      "$chunk" 1 >"$TMP/flow_known.$j.out" 2>&1 &
    FLOW_PIDS+=($!)
  done
  local failed=0
  for j in "${!FLOW_PIDS[@]}"; do
    rc=0
    wait "${FLOW_PIDS[$j]}" || rc=$?
    ((rc == 0)) || { failed=$((failed + 1)); log "flow_known $j exited $rc: $(paste -sd' ' "$TMP/flow_known.$j.out")"; }
  done
  FLOW_PIDS=()
  local gen_s
  gen_s=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
  alive
  # The active flows while they last: polled every 0.5 s for FLOW_POLL s (well inside the
  # 15 s idle timeout); each scrape is a new TCP flow itself, so the count creeps up by one.
  local peak=0 peak_rss=0 peak_vmrss=0 polls=0 first_scrape="" times=()
  local deadline=$((SECONDS + FLOW_POLL))
  while ((SECONDS < deadline)); do
    read -r _ t _ <<<"$(scrape "$body")"
    if [[ -z $first_scrape ]]; then first_scrape=$t; else times+=("$t"); fi
    read -r active rss <<<"$(flow_metrics "$body")"
    vmrss=$(status_kb "$COLLECTOR_PID" VmRSS)
    polls=$((polls + 1))
    ((active > peak)) && peak=$active
    ((rss > peak_rss)) && peak_rss=$rss
    ((vmrss > peak_vmrss)) && peak_vmrss=$vmrss
    alive
    sleep 0.5
  done
  local scrape_med
  scrape_med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "nan"}')
  cp "$body" "$body.peak"
  # The flows end after the idle timeout (15 s): RSS once they are gone.
  local gone="" deadline2=$((SECONDS + 45)) after_active=0 after_rss=0
  while ((SECONDS < deadline2)); do
    alive
    scrape "$body" >/dev/null
    read -r after_active after_rss <<<"$(flow_metrics "$body")"
    if ((after_active < FLOWS / 100)); then gone=yes; break; fi
    sleep 1
  done
  sleep 2
  scrape "$body" >/dev/null
  read -r after_active after_rss <<<"$(flow_metrics "$body")"
  {
    echo "pairs=$pairs"
    echo "processes=$k"
    echo "generator_failed=$failed"
    echo "generator_seconds=$gen_s"
    echo "before_kb=$before_kb"
    echo "peak_active=$peak"
    echo "peak_rss_bytes=$peak_rss"
    echo "peak_vmrss_kb=$peak_vmrss"
    echo "first_scrape_s=$first_scrape"
    echo "polls=$polls"
    echo "active_scrape_s=$scrape_med"
    echo "after_active=$after_active"
    echo "after_ended=${gone:-no}"
    echo "after_rss_bytes=$after_rss"
    echo "after_vmrss_kb=$(status_kb "$COLLECTOR_PID" VmRSS)"
    echo "vmhwm_kb=$(status_kb "$COLLECTOR_PID" VmHWM)"
    echo "lost=$(lost_moved "$body.0" "$body")"
    echo "load=$(loadavg)"
  } >"$FLOW_INFO"
  stop_collector
  ip netns del "$NS_A"
  ip netns del "$NS_B"
  NS_A="" NS_B=""
  log "flows: done ($(paste -sd' ' "$FLOW_INFO"))"
}

log "kscope collect benchmark: phases $PHASES; load average $(loadavg)"
for p in $PHASES; do "phase_$p"; done

# ---- tables -----------------------------------------------------------------------------------
python3 - "$TMP" "$PHASES" "$SCRAPES" "$COMMS" "$IDLE_SECONDS" "$IDLE_INTERVAL" "$EVENT_SECONDS" \
  "$CONNECT_RATE" "$OPEN_RATE" "$CHUNK_MS" "$FLOWS" "$FLOW_TABLE" "$REPS" >"$TMP/results.md" <<'PY'
import csv, math, os, statistics, sys
(tmp, phases, scrapes, comms, idle_s, idle_i, ev_s, conn_rate, open_rate, chunk_ms, flows,
 flow_table, reps) = sys.argv[1:14]
phases = phases.split()
med = statistics.median

def info(name):
    out = {}
    with open(os.path.join(tmp, name)) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out

def p90(xs):
    xs = sorted(xs)
    return xs[max(0, math.ceil(0.9 * len(xs)) - 1)]

def mb(v):
    return f"{float(v) / 1e6:.1f} MB"

def kb_mb(v):
    return f"{int(v) * 1024 / 1e6:.1f} MB"

summary = []
out = []
if "scrape" in phases:
    rows = list(csv.DictReader(open(os.path.join(tmp, "scrape.tsv")), delimiter="\t"))
    i = info("scrape.info")
    out.append(f"### Scrape time at {int(i['series']):,} series ({scrapes} scrapes per format, interleaved)")
    out.append("")
    out.append("| format | curl time_total, median | p90 | max | body bytes, median | collector's own kscope_scrape_duration_seconds, median | HTTP 200 |")
    out.append("|---|---|---|---|---|---|---|")
    worst = 0
    for fmt in ("text", "openmetrics", "gzip"):
        rs = [r for r in rows if r["format"] == fmt]
        t = [float(r["seconds"]) * 1e3 for r in rs]
        own = [float(r["own"]) * 1e3 for r in rs if r["own"] != "nan"]
        ok = sum(r["code"] == "200" for r in rs)
        worst = max(worst, p90(t))
        size = int(med([int(r["bytes"]) for r in rs]))
        own_text = f"{med(own):.1f} ms" if own else "n/a"
        out.append(f"| {fmt} | {med(t):.1f} ms | {p90(t):.1f} ms | {max(t):.1f} ms | "
                   f"{size:,} | {own_text} | {ok}/{len(rs)} |")
    code, first_t, first_b = i["first"].split()
    out.append("")
    out.append(f"Series: {int(i['series']):,} in all (kscope_exit_total {int(i['exit_series']):,}, "
               f"of which comm_storm's {int(i['storm_series']):,} of {int(comms):,}; the rest are "
               f"the machine's other processes), folded {i['folded']}, scrape errors "
               f"{i['scrape_errors']}; the first scrape after the storm took "
               f"{float(first_t) * 1e3:.1f} ms ({int(first_b):,} bytes); collector RSS then "
               f"{kb_mb(i['rss_kb'])}; load average {i['load']}.")
    out.append("")
    summary.append(("Scrape <= 50 ms at 10k series",
                    f"p90 {worst:.1f} ms (worst format) at {int(i['series']):,} series",
                    "met" if worst <= 50 else "**missed**"))
if "idle" in phases:
    i = info("idle.info")
    pct = 100 * float(i["cpu"]) / float(i["seconds"])
    out.append(f"### Idle CPU (built-in sources, scraped every {idle_i} s)")
    out.append("")
    out.append("| window | CPU s (user+sys) | % of one core | scrapes | ring events seen (machine's own) | syscalls counted | RSS | load average (start / end) |")
    out.append("|---|---|---|---|---|---|---|---|")
    out.append(f"| {i['seconds']} s | {i['cpu']} | {pct:.2f} % | {i['scrapes']} | "
               f"{int(i['ring_events']):,} | {int(i['syscalls']):,} | {kb_mb(i['rss_kb'])} | {i['load']} |")
    out.append("")
    summary.append(("Idle CPU < 1 % of a core", f"{pct:.2f} % ({i['cpu']} s in {i['seconds']} s)",
                    "met" if pct < 1 else "**missed**"))
if "events" in phases:
    rows = list(csv.DictReader(open(os.path.join(tmp, "events.tsv")), delimiter="\t"))
    out.append(f"### CPU per event ({ev_s} s per run, storm paced in chunks every {chunk_ms} ms, {reps} runs per case)")
    out.append("")
    out.append("| case | events counted (each run) | events/s: median (min–max) | collector CPU, % of one core: median (min–max) | CPU s per 1M events: median (min–max) | flow records (each run) | lost (each run) | RSS after each run | kscope_flows_active after each run |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    what = {"tcp": f"ring-buffer events (tcpstates, tcplife, tcpreset, connlat)",
            "default": "ring-buffer events (the same, and exec/exit)",
            "syscalls": "syscalls (syslat histograms, in the kernel)"}
    storm = {"tcp": f"event_storm connect, {conn_rate}/s", "default": f"event_storm connect, {conn_rate}/s",
             "syscalls": f"open_storm, {open_rate} opens/s"}
    for case in ("tcp", "default", "syscalls"):
        rs = [r for r in rows if r["case"] == case]
        if not rs:
            continue
        rate = [int(r["events"]) / float(r["seconds"]) for r in rs]
        core = [100 * float(r["cpu"]) / float(r["seconds"]) for r in rs]
        per_m = [float(r["cpu"]) / (int(r["events"]) / 1e6) for r in rs if int(r["events"]) > 0]
        def rng(xs, f):
            return f"{f(med(xs))} ({f(min(xs))}–{f(max(xs))})"
        lost = ", ".join(r["lost"] + ("" if r["lost_points"] == "none" else " (" + r["lost_points"] + ")")
                         for r in rs)
        fr = ", ".join(format(int(r["flow_records"]), ",") for r in rs)
        evs = ", ".join(format(int(r["events"]), ",") for r in rs)
        rate_t = rng(rate, lambda v: format(v, ",.0f"))
        core_t = rng(core, lambda v: format(v, ".1f") + " %")
        per_t = rng(per_m, lambda v: format(v, ".3f"))
        rss_t = ", ".join(kb_mb(r["rss_kb"]) for r in rs)
        fa = ", ".join(format(int(r["flows_active"]), ",") for r in rs)
        out.append(f"| {case}: {storm[case]}; {what[case]} | {evs} | {rate_t} | {core_t} | {per_t} | "
                   f"{fr} | {lost} | {rss_t} | {fa} |")
        summary.append((f"CPU at ~100k events/s ({case})",
                        f"{med(core):.1f} % of a core at {med(rate):,.0f}/s, {med(per_m):.3f} s per 1M, lost {lost}",
                        "(no target)"))
    out.append("")
    out.append(f"Load average after each run: {'; '.join(r['load'] for r in rows)}.")
    out.append("")
if "flows" in phases:
    i = info("flows.info")
    out.append(f"### RSS with {int(flows):,} flows (max_flows {flow_table}, other sources off)")
    out.append("")
    out.append("| | kscope_flows_active | RSS |")
    out.append("|---|---|---|")
    out.append(f"| before the traffic | – | {kb_mb(i['before_kb'])} (VmRSS) |")
    out.append(f"| while the flows are active (highest of {i['polls']} polls in 0.5 s steps) | {int(i['peak_active']):,} | {mb(i['peak_rss_bytes'])} (process_resident_memory_bytes), {kb_mb(i['peak_vmrss_kb'])} (VmRSS) |")
    out.append(f"| after they ended (idle timeout; ended: {i['after_ended']}) | {int(i['after_active']):,} | {mb(i['after_rss_bytes'])} (process_resident_memory_bytes), {kb_mb(i['after_vmrss_kb'])} (VmRSS) |")
    out.append(f"| peak over the phase (VmHWM) | – | {kb_mb(i['vmhwm_kb'])} |")
    out.append("")
    out.append(f"{int(i['pairs']):,} UDP 5-tuples from {i['processes']} concurrent flow_known udp_many "
               f"processes in {i['generator_seconds']} s (processes that did not get every datagram "
               f"back: {i['generator_failed']}); the first scrape after them took "
               f"{float(i['first_scrape_s']) * 1e3:.0f} ms, the later ones while the flows were "
               f"active {float(i['active_scrape_s']) * 1e3:.0f} ms (median); losses that moved: "
               f"{i['lost']}; load "
               f"average {i['load']}. The anchors' published memory limits: 250–800 MB "
               f"(OpenTelemetry eBPF profiler, netobserv, Retina).")
    out.append("")
    hwm = int(i["vmhwm_kb"]) * 1024 / 1e6
    peak = int(i["peak_vmrss_kb"]) * 1024 / 1e6
    if hwm <= 64:
        verdict = "met"
    elif peak <= 64:
        verdict = f"met while the flows are active; **missed** by the peak ({hwm:.1f} MB)"
    else:
        verdict = "**missed**"
    summary.append((f"RSS <= 64 MB with {int(flows) // 1000}k active flows",
                    f"{peak:.1f} MB (VmRSS) with {int(i['peak_active']):,} active; {hwm:.1f} MB peak (VmHWM) "
                    "over the phase, which includes their ending", verdict))
print("| target | measured | result |")
print("|---|---|---|")
for t, m, r in summary:
    print(f"| {t} | {m} | {r} |")
print()
print("\n".join(out))
PY
{
  echo
  results_footer
} >>"$TMP/results.md"
write_results collector "$TMP/results.md"
