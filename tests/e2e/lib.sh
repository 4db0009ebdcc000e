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
netns_made=()
e2e_cleanup() {
  if [[ -n $kpid ]] && kill -0 "$kpid" 2>/dev/null; then
    kill "$kpid" 2>/dev/null || true
    wait "$kpid" 2>/dev/null || true
  fi
  for ns in "${netns_made[@]}"; do /usr/bin/ip netns del "$ns" 2>/dev/null; done
  rm -rf "$tmp"
}
trap e2e_cleanup EXIT

# netns_pair A B NET: two network namespaces joined by a veth pair (veth0 in each, up), NET.1/24
# in A and NET.2/24 in B, lo up; e2e_cleanup removes them on every exit path.
netns_pair() {
  local ip=/usr/bin/ip
  netns_made+=("$1" "$2")
  $ip netns add "$1" && $ip netns add "$2" &&
    $ip link add veth0 netns "$1" type veth peer name veth0 netns "$2" &&
    $ip -n "$1" addr add "$3.1/24" dev veth0 && $ip -n "$2" addr add "$3.2/24" dev veth0 &&
    $ip -n "$1" link set veth0 up && $ip -n "$2" link set veth0 up &&
    $ip -n "$1" link set lo up && $ip -n "$2" link set lo up ||
    fail "could not make the namespaces $1 and $2"
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
