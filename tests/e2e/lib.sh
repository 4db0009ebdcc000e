# Sourced by the e2e scripts: the root check that skips (CTest's skip code 77), a temp dir,
# and a cleanup that stops a kscope left running (its pid in $kpid) on every exit path.

# require_root WHY: skips the test unless it runs as root.
require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: $1" >&2
    exit 77
  fi
}

tmp=$(mktemp -d)
kpid=
prom_pid=
netns_made=()
e2e_cleanup() {
  if [[ -n $prom_pid ]]; then
    kill "$prom_pid" 2>/dev/null
    wait "$prom_pid" 2>/dev/null
  fi
  if [[ -n $kpid ]] && kill -0 "$kpid" 2>/dev/null; then
    kill "$kpid" 2>/dev/null || true
    wait "$kpid" 2>/dev/null || true
  fi
  for ns in "${netns_made[@]}"; do /usr/bin/ip netns del "$ns" 2>/dev/null; done
  rm -rf "$tmp"
}
trap e2e_cleanup EXIT

# netns_pair A B NET [noipv6]: two network namespaces joined by a veth pair (veth0 in each,
# up), NET.1/24 in A and NET.2/24 in B, lo up; with noipv6, IPv6 off in both before the links
# come up (no router solicitation or DAD: only the test's packets cross). e2e_cleanup removes
# them on every exit path.
netns_pair() {
  local ip=/usr/bin/ip ns
  netns_made+=("$1" "$2")
  $ip netns add "$1" && $ip netns add "$2" || fail "could not make the namespaces $1 and $2"
  if [[ ${4:-} == noipv6 ]]; then
    for ns in "$1" "$2"; do
      $ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
  fi
  $ip link add veth0 netns "$1" type veth peer name veth0 netns "$2" &&
    $ip -n "$1" addr add "$3.1/24" dev veth0 && $ip -n "$2" addr add "$3.2/24" dev veth0 &&
    $ip -n "$1" link set veth0 up && $ip -n "$2" link set veth0 up &&
    $ip -n "$1" link set lo up && $ip -n "$2" link set lo up ||
    fail "could not make the veth pair between $1 and $2"
}

# fail MESSAGE: prints it and kscope's stderr (if the script kept it in $tmp/err), exits 1.
fail() {
  echo "FAIL: $*" >&2
  if [[ -f $tmp/err ]]; then
    echo "--- kscope stderr:" >&2
    cat "$tmp/err" >&2
  fi
  exit 1
}

# start_collect CONFIG [PREFIX...]: starts PREFIX $kscope collect -c CONFIG in the background,
# its pid in $kpid (e2e_cleanup stops it), its stderr in $tmp/err, and waits until it says
# where its metrics are (30 s at most).
start_collect() {
  local config=$1
  shift
  "$@" "$kscope" collect -c "$config" 2>"$tmp/err" &
  kpid=$!
  for _ in $(seq 1 300); do grep -q "metrics at" "$tmp/err" && return 0; sleep 0.1; done
  fail "kscope collect did not say where its metrics are"
}

# start_prometheus TARGET PORT [JOBS]: a real Prometheus server on 127.0.0.1:PORT scraping
# TARGET (job kscope) every second, its data in $tmp; e2e_cleanup stops it. JOBS, when given,
# is YAML for the scrape_configs list in place of that one job. Then `query EXPR` prints the
# value of a one-element instant vector ("none" when empty).
start_prometheus() {
  prom_port=$2
  local jobs=${3:-"  - job_name: kscope
    static_configs:
      - targets: ['$1']"}
  cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
$jobs
EOF
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prom.log" 2>&1 &
  prom_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null && return 0; sleep 0.2; done
  fail "prometheus did not start: $(cat "$tmp/prom.log")"
}

query() {
  curl -sf --get --data-urlencode "query=$1" "http://127.0.0.1:$prom_port/api/v1/query" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}

# scrape_until PORT LINE: scrapes 127.0.0.1:PORT/metrics into $tmp/scrape.txt until it has
# the sample line LINE exactly (5 s at most); 1 if it never did.
scrape_until() {
  for _ in $(seq 1 25); do
    curl -sf "http://127.0.0.1:$1/metrics" >"$tmp/scrape.txt"
    grep -qxF "$2" "$tmp/scrape.txt" && return 0
    sleep 0.2
  done
  return 1
}
