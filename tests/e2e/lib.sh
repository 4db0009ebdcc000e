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
e2e_cleanup() {
  if [[ -n $kpid ]] && kill -0 "$kpid" 2>/dev/null; then
    kill "$kpid" 2>/dev/null || true
    wait "$kpid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap e2e_cleanup EXIT

# fail MESSAGE: prints it and kscope's stderr (if the script kept it in $tmp/err), exits 1.
fail() {
  echo "FAIL: $*" >&2
  if [[ -f $tmp/err ]]; then
    echo "--- kscope stderr:" >&2
    cat "$tmp/err" >&2
  fi
  exit 1
}
