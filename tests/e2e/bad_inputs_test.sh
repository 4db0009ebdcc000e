#!/usr/bin/env bash
# Every row of tests/e2e/bad_inputs.tsv (the bad inputs of docs/reliability.md, every
# subcommand): kscope must exit with the row's status, print nothing on stdout and exactly two
# lines on stderr, the row's "kscope: error: ..." and "hint: ...". Each row runs in its own
# empty directory (its c.yaml fixture written there), under `timeout 10`, with stdin from
# /dev/null. Rows that need root (or to switch users or capabilities) are skipped, each with
# its reason, when not root.
# Usage: bad_inputs_test.sh /path/to/kscope [ID_PATTERN]   (ID_PATTERN: a glob, e.g. 'collect-*')
set -uo pipefail

kscope=${1:?usage: $0 /path/to/kscope [ID_PATTERN]}
only=${2:-*}
kscope=$(realpath "$kscope") || exit 1
[[ -x $kscope ]] || { echo "FAIL: $kscope is not executable" >&2; exit 1; }
table=$(dirname "$(realpath "$0")")/bad_inputs.tsv
python=/usr/bin/python3
root=0
[[ $(id -u) -eq 0 ]] && root=1

umask 022
tmp=$(mktemp -d)
chmod 755 "$tmp" # user nobody runs some rows in directories under it
helper_pids=()
cleanup() {
  local pid
  for pid in "${helper_pids[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  chmod -R u+rwX "$tmp" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_helper VAR CODE: runs the Python CODE (after it binds a listening TCP socket `s` on
# 127.0.0.1, any port) in the background, and sets VAR to the port once it listens.
start_helper() {
  local out=$tmp/$1.port
  "$python" -c "
import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
$2" >"$out" 2>/dev/null </dev/null &
  helper_pids+=($!)
  for _ in $(seq 1 50); do
    if [[ -s $out ]]; then
      printf -v "$1" '%s' "$(head -n 1 "$out")"
      return 0
    fi
    sleep 0.1
  done
  echo "FAIL: the $1 helper server did not start" >&2
  exit 1
}
# BUSY_PORT: listens and never accepts (the kernel completes handshakes into the backlog), so
# a bind to it fails with EADDRINUSE and a client's request is never answered.
# JUNK_PORT: answers every connection with an HTTP error line and closes it.
start_helper BUSY_PORT 'import time
while True: time.sleep(3600)'
start_helper JUNK_PORT '
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        c.recv(16384)
        c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    except OSError:
        pass
    c.close()'
export BUSY_PORT JUNK_PORT

# literal_glob PATTERN: PATTERN with every character but * escaped, for [[ == ]].
literal_glob() {
  local p=$1 out='' c i
  for ((i = 0; i < ${#p}; i++)); do
    c=${p:i:1}
    if [[ $c == '*' ]]; then out+='*'; else out+="\\$c"; fi
  done
  printf '%s' "$out"
}

# expand TEXT: TEXT with ${BUSY_PORT}, ${JUNK_PORT} and ${ROW} replaced (and nothing else).
expand() {
  local t=$1
  # shellcheck disable=SC2016  # the names are literal text here
  t=${t//'${BUSY_PORT}'/$BUSY_PORT} t=${t//'${JUNK_PORT}'/$JUNK_PORT} t=${t//'${ROW}'/$ROW}
  printf '%s' "$t"
}

passed=0 failed=0 skipped=0 rows=0
failed_ids=()
declare -A seen=()
report() { # report ID MESSAGE...: one failure of row ID
  echo "FAIL $1: ${*:2}" >&2
}

while IFS= read -r line; do
  [[ -z $line || $line == '#'* ]] && continue
  # Split at tabs with a non-blank separator, so that an empty column stays a column.
  IFS=$'\x1f' read -r id as want_rc args fixture setup want_error want_hint extra <<<"${line//$'\t'/$'\x1f'}"
  if [[ -z $want_hint || -n $extra ]]; then
    echo "FAIL: bad_inputs.tsv: row '$id' does not have exactly 8 tab-separated columns" >&2
    failed=$((failed + 1)); failed_ids+=("$id"); continue
  fi
  if [[ -n ${seen[$id]:-} ]]; then
    echo "FAIL: bad_inputs.tsv: id '$id' is used twice" >&2
    failed=$((failed + 1)); failed_ids+=("$id"); continue
  fi
  seen[$id]=1
  # shellcheck disable=SC2053  # a glob on purpose
  [[ $id == $only ]] || continue
  rows=$((rows + 1))

  runner=()
  case $as in
    any) ;;
    root)
      if [[ $root -ne 1 ]]; then
        echo "SKIP $id: needs root (without it kscope stops first at the missing capability)"
        skipped=$((skipped + 1)); continue
      fi ;;
    nobody)
      # Unprivileged already when not root; as root, become user nobody.
      if [[ $root -eq 1 ]]; then
        runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        if ! "${runner[@]}" test -x "$kscope" </dev/null; then
          echo "SKIP $id: user nobody cannot execute $kscope"
          skipped=$((skipped + 1)); continue
        fi
      fi ;;
    caps:*)
      if [[ $root -ne 1 ]]; then
        echo "SKIP $id: needs root to narrow its capabilities to ${as#caps:}"
        skipped=$((skipped + 1)); continue
      fi
      runner=(setpriv --inh-caps=-all "--bounding-set=${as#caps:}") ;;
    *)
      report "$id" "unknown 'as' value '$as'"
      failed=$((failed + 1)); failed_ids+=("$id"); continue ;;
  esac

  dir=$tmp/rows/$id
  mkdir -p "$dir" && chmod 755 "$tmp/rows" "$dir"
  export ROW=$dir
  if [[ $fixture != - ]]; then
    # \n, \t and \\ are the only escapes the fixtures use.
    printf '%b' "$(expand "$fixture")" >"$dir/c.yaml"
  fi
  if [[ $setup != - ]] && ! (cd "$dir" && bash -c "$setup") </dev/null >"$tmp/setup.out" 2>&1; then
    report "$id" "setup '$setup' failed: $(head -c 300 "$tmp/setup.out")"
    failed=$((failed + 1)); failed_ids+=("$id"); continue
  fi
  # The arguments are bash words: quotes group, $BUSY_PORT, $JUNK_PORT and $ROW expand.
  argv=()
  if ! eval "argv=($args)"; then
    report "$id" "its args column is not valid bash words: $args"
    failed=$((failed + 1)); failed_ids+=("$id"); continue
  fi

  rc=0
  (cd "$dir" && exec timeout 10 "${runner[@]}" "$kscope" "${argv[@]}") \
    </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?

  problems=()
  if [[ $rc -eq 124 ]]; then
    problems+=("still running after 10 s (killed), want exit $want_rc")
  elif [[ $rc != "$want_rc" ]]; then
    problems+=("exit $rc, want $want_rc")
  fi
  [[ -s $tmp/out ]] && problems+=("stdout is not empty: $(head -c 200 "$tmp/out" | tr '\n' '|')")
  lines=$(wc -l <"$tmp/err")
  error=$(sed -n 1p "$tmp/err")
  hint=$(sed -n 2p "$tmp/err")
  [[ $lines -ne 2 ]] && problems+=("$lines stderr lines, want 2")
  # shellcheck disable=SC2053
  [[ $error == $(literal_glob "$want_error") ]] ||
    problems+=("error line"$'\n'"      got:  $error"$'\n'"      want: $want_error")
  # shellcheck disable=SC2053
  [[ $hint == $(literal_glob "$want_hint") ]] ||
    problems+=("hint line"$'\n'"      got:  $hint"$'\n'"      want: $want_hint")

  if [[ ${#problems[@]} -eq 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_ids+=("$id")
    {
      echo "FAIL $id: kscope $args"
      for p in "${problems[@]}"; do echo "    $p"; done
      if [[ $lines -gt 2 ]]; then
        echo "    stderr:"; head -n 6 "$tmp/err" | sed 's/^/      /'
      fi
    } >&2
  fi
done <"$table"

echo "bad inputs: $rows rows: $passed passed, $failed failed, $skipped skipped"
if [[ $failed -ne 0 ]]; then
  echo "failed: ${failed_ids[*]}" >&2
  exit 1
fi
[[ $rows -gt 0 ]] || { echo "FAIL: no row matched '$only'" >&2; exit 1; }
echo "ok: every bad input failed with its error and hint"
