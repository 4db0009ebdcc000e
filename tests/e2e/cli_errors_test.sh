#!/usr/bin/env bash
# Bad input to `kscope trace` as a user types it: each must exit non-zero with nothing on
# stdout and exactly two lines on stderr, "kscope: error: <reason>" and "hint: <fix>". Also:
# an unprivileged run names the missing capability, and --help shows examples.
# Usage: cli_errors_test.sh /path/to/kscope [/path/to/testprogs]
set -uo pipefail

kscope=${1:?usage: $0 /path/to/kscope [/path/to/testprogs]}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
root=0
[[ $(id -u) -eq 0 ]] && root=1

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_error ERROR_PATTERN HINT_PATTERN -- ARGS...
# The patterns are bash glob patterns matched against the whole line (mostly exact text).
# `runner` (an array) runs the command, e.g. as another user.
runner=()
expect_error() {
  local want_error=$1 want_hint=$2
  shift 3
  local what="kscope $*" rc=0
  [[ ${#what} -gt 100 ]] && what="${what:0:100}..."
  timeout 20 "${runner[@]}" "$kscope" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  if [[ $rc -eq 0 ]]; then
    fail "$what: exit 0, want an error"
  elif [[ $rc -eq 124 ]]; then
    fail "$what: still running after 20 s, want an error"
  fi
  if [[ -s $tmp/out ]]; then
    fail "$what: stdout is not empty: $(head -c 300 "$tmp/out")"
  fi
  local lines
  lines=$(wc -l <"$tmp/err")
  local error hint
  error=$(sed -n 1p "$tmp/err")
  hint=$(sed -n 2p "$tmp/err")
  if [[ $lines -ne 2 ]]; then
    fail "$what: $lines stderr lines, want 2 (error, hint):"$'\n'"$(head -c 600 "$tmp/err")"
  fi
  # shellcheck disable=SC2053  # the right side is a pattern on purpose
  if [[ $error != "kscope: error: "* || $error != $want_error ]]; then
    fail "$what: error line"$'\n'"    got:  $error"$'\n'"    want: $want_error"
  fi
  if [[ ${#error} -gt 200 ]]; then
    fail "$what: the error line is ${#error} characters long"
  fi
  # shellcheck disable=SC2053
  if [[ $hint != "hint: "?* || $hint != $want_hint ]]; then
    fail "$what: hint line"$'\n'"    got:  $hint"$'\n'"    want: $want_hint"
  fi
}

# shellcheck disable=SC2016  # backticks and $() are literal text in these messages
usage_hint='hint: see `kscope trace exec --help`'
page=$(getconf PAGESIZE)

# CLI11's own parse errors: the reason names the flag and the value.
expect_error 'kscope: error: *--bogus*' "$usage_hint" -- trace exec --bogus
expect_error 'kscope: error: *--pid*abc*' "$usage_hint" -- trace exec --pid abc
expect_error "kscope: error: --count: *-1*" "$usage_hint" -- trace exec --count -1
expect_error "kscope: error: --count: *0*" "$usage_hint" -- trace exec --count 0
expect_error 'kscope: error: --output: *yaml*' "$usage_hint" -- trace exec -o yaml

# kscope's own checks, before anything is loaded.
expect_error "kscope: error: --comm: 'abcdefghijklmnop' is 16 bytes; the kernel keeps at most 15" \
  "hint: use the first 15 bytes: 'abcdefghijklmno'" -- trace exec --comm abcdefghijklmnop
expect_error "kscope: error: --comm: 'kscope_very_long_name' is 21 bytes; the kernel keeps at most 15" \
  "hint: use the first 15 bytes: 'kscope_very_lon'" -- trace exec --comm kscope_very_long_name
expect_error 'kscope: error: --max-args: Value 0 not in range 1 to 1024' "$usage_hint" -- \
  trace exec --max-args 0
expect_error 'kscope: error: --max-arg-len: Value 0 not in range 1 to 8192' "$usage_hint" -- \
  trace exec --max-arg-len 0
# shellcheck disable=SC2016
expect_error 'kscope: error: a tool: kscope trace <tool>, or kscope trace --list*' \
  'hint: see `kscope trace --help`' -- trace
expect_error "kscope: error: trace has no tool 'nosuch'" \
  'hint: the tools are: *exec*exit*open* (`kscope trace --list` says which work here)' -- \
  trace nosuch
# Aggregating tools take --interval (0.1 s or more); event tools do not.
expect_error "kscope: error: --interval: '0' is not a number above 0" \
  'hint: see `kscope trace runqlat --help`' -- trace runqlat --interval 0
expect_error 'kscope: error: --interval 0.05: the shortest interval is 0.1 s' \
  'hint: counts are read every 100 ms; pick --interval 0.1 or more' -- trace runqlat --interval 0.05
expect_error 'kscope: error: *--interval*' "$usage_hint" -- trace exec --interval 1
expect_error "kscope: error: --buffer-size 1000 must be a power of two between $page and 1073741824" \
  'hint: for example --buffer-size 16777216 (16 MiB)' -- trace exec --buffer-size 1000
expect_error 'kscope: error: --cgroup: /nonexistent: No such file or directory' \
  'hint: give a directory under the cgroup2 mount, or a numeric cgroup id' -- \
  trace exec --cgroup /nonexistent
expect_error 'kscope: error: --pid 0 matches nothing' 'hint: give a process id above 0' -- \
  trace exec --pid 0
expect_error 'kscope: error: open replay file /nonexistent: No such file or directory' \
  'hint: ?*' -- trace exec --replay /nonexistent
# Replays: a file kscope did not write, one cut inside its header, one of another tool.
echo 'not a record file at all, but long enough for a header' >"$tmp/foreign"
expect_error "kscope: error: $tmp/foreign is not a kscope record file (no KSCOPERC header)" \
  'hint: replay a file written by kscope trace --record' -- trace exec --replay "$tmp/foreign"
printf 'KSCOPERC\001\000' >"$tmp/cut"
expect_error "kscope: error: $tmp/cut: the file ends inside its 40-byte header" \
  'hint: the file was cut short; replay a complete --record file' -- trace exec --replay "$tmp/cut"
# Format 1, the probe ABI of this tree (KS_ABI_VERSION), recorded by trace open.
abi=$(sed -n 's/^#define KS_ABI_VERSION \([0-9]*\).*/\1/p' \
  "$(dirname "$0")/../../probes/common/event_header.h")
{ printf 'KSCOPERC\001\000\000\000'; printf "\\$(printf '%03o' "$abi")"; printf '\000\000\000'
  head -c 8 /dev/zero; printf 'open'; head -c 12 /dev/zero; } >"$tmp/open.rec"
expect_error "kscope: error: $tmp/open.rec was recorded by trace open, not trace exec" \
  "hint: replay it with: kscope trace open --replay $tmp/open.rec" -- \
  trace exec --replay "$tmp/open.rec"
if [[ $root -eq 1 ]]; then
  # Checked after the privilege check: without root the missing capability is reported first.
  expect_error 'kscope: error: --hook bogus: trace exec has no such hook' \
    'hint: choose one of: tracepoint, tp_btf*' -- trace exec --hook bogus
else
  echo "note: --hook bogus needs root to get past the privilege check; not run" >&2
fi

# Without privileges: the error names the capability.
cap_error='kscope: error: missing privileges: loading tracing probes needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)'
# shellcheck disable=SC2016
cap_hint='hint: run as root (sudo kscope ...), or: setcap cap_bpf,cap_perfmon+ep $(which kscope)'
if [[ $root -eq 1 ]]; then
  if ! command -v setpriv >/dev/null; then
    fail "setpriv (util-linux) is missing: cannot run kscope as user nobody"
  elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$kscope"; then
    echo "note: user nobody cannot execute $kscope; unprivileged case not run" >&2
  else
    runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    expect_error "$cap_error" "$cap_hint" -- trace exec --count 1
    runner=()
  fi
else
  expect_error "$cap_error" "$cap_hint" -- trace exec --count 1
fi

# --help: exit 0, usage and examples on stdout, nothing on stderr.
rc=0
timeout 20 "$kscope" trace exec --help >"$tmp/out" 2>"$tmp/err" || rc=$?
[[ $rc -eq 0 ]] || fail "kscope trace exec --help: exit $rc"
[[ -s $tmp/err ]] && fail "kscope trace exec --help: stderr: $(head -c 300 "$tmp/err")"
grep -qx 'Usage: kscope trace exec \[OPTIONS\]' "$tmp/out" || fail "--help: no usage line"
grep -qx 'Examples:' "$tmp/out" || fail "--help: no 'Examples:' line"
grep -qx '  kscope trace exec -o json --count 10' "$tmp/out" || fail "--help: example missing"
grep -q -- '--max-arg-len' "$tmp/out" || fail "--help: --max-arg-len not listed"

# trace --list: every tool, with the hook it will use here (as root), or why it cannot say.
rc=0
timeout 60 "$kscope" trace --list >"$tmp/out" 2>"$tmp/err" || rc=$?
[[ $rc -eq 0 ]] || fail "kscope trace --list: exit $rc: $(head -c 300 "$tmp/err")"
for tool in exec exit open; do
  if [[ $root -eq 1 ]]; then
    grep -Eq "^$tool +tracepoint +tracepoint is the first choice and works here \(" "$tmp/out" ||
      fail "trace --list: no '$tool tracepoint' line: $(cat "$tmp/out")"
  else
    grep -Eq "^$tool +\? +not probed: needs CAP_BPF" "$tmp/out" ||
      fail "trace --list: no unprobed '$tool' line: $(cat "$tmp/out")"
  fi
done

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "ok: every bad input failed with an error and a hint"
