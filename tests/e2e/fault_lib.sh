# shellcheck shell=bash
# Sourced by the fault_*_test.sh scripts after lib.sh: failures are counted (every check runs
# and the script exits 1 at the end if any failed) where lib.sh's fail() stops at the first;
# die() stops; a free loopback port; scraping; the collector started and stopped by pid; and
# at_exit cleanups (namespaces, cgroups, mounts, helper processes) run on every exit path.

# The binaries by absolute path: some runs change directory.
kscope=$(realpath "$kscope")
testprogs=$(realpath "$testprogs")

failures=0
# A config's `sources:` with flows alone: `sources: {flows: {...}, $no_tools}`.
no_tools="tcp: false, drops: false, dns: false, process: false, runqlat: false, biolatency: false, syscalls: false"

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "ok: $*"; }
# check DESCRIPTION WANT GOT: ok when GOT is WANT exactly, else a counted failure.
check() {
  if [[ $3 == "$2" ]]; then ok "$1: $3"; else fail "$1: want $2, got ${3:-nothing}"; fi
}
die() {
  echo "FAIL (stopping): $*" >&2
  if [[ -s $tmp/err ]]; then
    echo "--- kscope stderr:" >&2
    tail -n 30 "$tmp/err" >&2
  fi
  exit 1
}
# finish SUMMARY: exit 1 if a check failed, else PASS.
finish() {
  if ((failures > 0)); then
    echo "FAIL: $failures check(s) failed ($1)" >&2
    exit 1
  fi
  echo "PASS: $1"
  exit 0
}

cleanups=()
at_exit() { cleanups+=("$1"); }
fault_cleanup() {
  local i
  set +u
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" >/dev/null 2>&1; done
  e2e_cleanup
}
trap fault_cleanup EXIT
trap 'exit 130' INT TERM

# stop_pid PID: SIGTERM then SIGKILL after 3 s; for helpers this script started.
stop_pid() {
  [[ -n ${1:-} ]] || return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

# free_port FROM: the first port from FROM up that nothing listens on (TCP or UDP).
free_port() {
  local p
  for ((p = $1; p < $1 + 400; p++)); do
    [[ -z $(ss -Htuln "( sport = :$p )" 2>/dev/null) ]] && { echo "$p"; return 0; }
  done
  die "no free port from $1"
}
# Ports of this script's run: 19000-19799, spread by pid so that parallel runs rarely meet.
port_base=$((19000 + ($$ % 200) * 4))

# in_ns: the command prefix scrapes and clients run under ("" = this namespace).
in_ns=()
# scrape: the collector's metrics ($mport) into $tmp/scrape.txt; metric NAME{LABELS}: a value.
scrape() { "${in_ns[@]}" curl -sf --max-time 5 "http://127.0.0.1:$mport/metrics" >"$tmp/scrape.txt"; }
metric() {
  scrape
  awk -v m="$1" '$1 == m {print $2}' "$tmp/scrape.txt"
}
# wait_metric NAME WANT [SECONDS]: until the metric is WANT (10 s by default); 1 if never.
wait_metric() {
  local i
  for ((i = 0; i < ${3:-10} * 5; i++)); do
    [[ $(metric "$1") == "$2" ]] && return 0
    sleep 0.2
  done
  return 1
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds; 1 if it never did.
wait_for() {
  local i n=$(($1 * 10))
  shift
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}

# collect_start CONFIG [PREFIX...]: PREFIX kscope collect -c CONFIG in the background, its
# pid in $kpid, stderr in $tmp/err (appended: a restart keeps the first run's lines), waits
# for its endpoint.
collect_start() {
  local config=$1 lines
  shift
  lines=$(cat "$tmp/err" 2>/dev/null | wc -l)
  "$@" "$kscope" collect -c "$config" 2>>"$tmp/err" &
  kpid=$!
  for _ in $(seq 1 300); do
    [[ $(tail -n +$((lines + 1)) "$tmp/err" | grep -c "metrics at") -gt 0 ]] && return 0
    kill -0 "$kpid" 2>/dev/null || die "kscope collect exited at start"
    sleep 0.1
  done
  die "kscope collect did not say where its metrics are"
}
# collect_stop: SIGTERM, and its exit status must be 0.
collect_stop() {
  kill -TERM "$kpid"
  wait "$kpid"
  local rc=$?
  kpid=
  [[ $rc -eq 0 ]] || fail "kscope collect exited $rc after SIGTERM"
}

# make_cgroup: a cgroup of this run under the cgroup2 mount, its path in $cg; removed at exit
# (its processes have exited by then: flow_known's client is the only one put there).
make_cgroup() {
  local root
  root=$(findmnt -t cgroup2 -n -o TARGET | head -1)
  [[ -n $root ]] || die "no cgroup2 mount"
  cg=$root/kscope-fault-$$
  mkdir "$cg" || die "could not make the cgroup $cg"
  at_exit "rmdir '$cg'"
}

# burst NS_SERVER ADDR_SERVER NS_CLIENT ADDR_CLIENT PORT N: flow_known udp_many: N UDP flows of
# one 10-byte datagram (38 IP bytes) each, from ports PORT+1..PORT+N to PORT, the client in $cg.
burst() {
  "$testprogs/flow_known" "$tmp/roles" udp_many "$1" "$2" "$3" "$4" "$5" "$6" 10 "$cg" ||
    fail "flow_known udp_many $5 $6 failed"
}

# py_checks SCRIPT ARGS...: runs a python check that prints "ok: ..." and "FAIL: ..." lines;
# each FAIL line is a counted failure, and so is the script's own failure.
py_checks() {
  local out line
  out=$(python3 "$@" 2>&1) || [[ $out == *FAIL:* ]] || fail "python check $1 failed: $out"
  while IFS= read -r line; do
    if [[ $line == FAIL:* ]]; then fail "${line#FAIL: }"; else echo "$line"; fi
  done <<<"$out"
}
