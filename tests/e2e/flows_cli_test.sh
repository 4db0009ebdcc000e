#!/usr/bin/env bash
# `kscope flows` as a user runs it: the binary on a veth end in a namespace pair this script
# makes (and removes), NDJSON records of a UDP exchange of known size with the sending
# process, the summary on stderr, and SIGTERM detaching everything; then bad input, each with
# one error line and one hint.
# Usage: flows_cli_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope flows needs CAP_BPF and CAP_NET_ADMIN, and the test makes namespaces"

ip=/usr/bin/ip
a=ksflows$$a
b=ksflows$$b
netns_pair "$a" "$b" 10.233.0

$ip netns exec "$a" "$kscope" -v flows -I veth0 -o json --protocol udp >"$tmp/out" 2>"$tmp/err" &
kpid=$!
for _ in $(seq 1 100); do grep -q "counting at tc veth0" "$tmp/err" && break; sleep 0.1; done
grep -q "counting at tc veth0" "$tmp/err" || fail "kscope flows did not say it attached"
"$testprogs/flow_known" "$tmp/roles" udp "$b" 10.233.0.2 "$a" 10.233.0.1 9000 7 333 ||
  fail "flow_known udp failed"
client=$(awk '$1 == "client" {print $2}' "$tmp/roles")
sleep 1.5
kill -TERM "$kpid"
wait "$kpid"
rc=$?
kpid=
[[ $rc -eq 0 ]] || fail "kscope flows exited $rc after SIGTERM"
python3 - "$tmp/out" "$client" <<'PY' || fail "the records are not what was sent"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
out = [r for r in records if r["direction"] == "out" and r["dport"] == 9000]
assert len(out) == 1, records
r = out[0]
want = {"type": "flow", "protocol": "udp", "saddr": "10.233.0.1", "sport": 9001,
        "daddr": "10.233.0.2", "packets": 7, "bytes": 7 * (333 + 28), "end_reason": "forced",
        "pid": int(sys.argv[2]), "comm": "fk_client", "point": "tc", "sequence": 0}
for k, v in want.items():
    assert r[k] == v, (k, r[k], v)
assert all(x["protocol"] == "udp" for x in records), "--protocol udp let another through"
PY
grep -q "^kscope flows: [0-9]* records, " "$tmp/err" || fail "no summary on stderr"
# Everything detached: no kscope filter is left on veth0.
[[ -z $($ip netns exec "$a" sh -c 'tc filter show dev veth0 ingress; tc filter show dev veth0 egress' 2>/dev/null) ]] ||
  fail "filters left on veth0 after SIGTERM"

# Bad input: exit non-zero, nothing on stdout, "kscope: error: ..." and "hint: ..." on stderr.
expect_error() {  # ERROR_PATTERN HINT_PATTERN ARGS...
  local want_error=$1 want_hint=$2 rc=0
  shift 2
  timeout 20 "$kscope" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "kscope $*: exit $rc, want an error"
  [[ ! -s $tmp/out ]] || fail "kscope $*: stdout: $(head -c 200 "$tmp/out")"
  [[ $(wc -l <"$tmp/err") -eq 2 ]] || fail "kscope $*: want 2 stderr lines"
  # shellcheck disable=SC2053  # patterns on purpose
  [[ $(sed -n 1p "$tmp/err") == $want_error ]] || fail "kscope $*: error line: $(sed -n 1p "$tmp/err")"
  # shellcheck disable=SC2053
  [[ $(sed -n 2p "$tmp/err") == $want_hint ]] || fail "kscope $*: hint line: $(sed -n 2p "$tmp/err")"
}
# shellcheck disable=SC2016  # backticks are literal
usage='hint: see `kscope flows --help`'
expect_error "kscope: error: no interface called 'nosuch0' in this network namespace" \
  'hint: see `ip link`' flows -I nosuch0
expect_error "kscope: error: --ip: '10.0.0.0/33': the prefix length must be 0 to 32" \
  'hint: e.g. 10.0.0.0/8 or fd00::/64' flows --ip 10.0.0.0/33
expect_error "kscope: error: --not-ip: 'example.com' is not an IP address or CIDR" 'hint: give an address*' \
  flows --not-ip example.com
expect_error "kscope: error: --port '70000' is not a port number (0-65535)" 'hint: e.g. --port 443' \
  flows --port 70000
expect_error "kscope: error: --not-protocol 'sctpx' is not a protocol" \
  'hint: tcp, udp, icmp, icmpv6, or a number 0-255' flows --not-protocol sctpx
expect_error "kscope: error: --comm 'abcdefghijklmnop' is longer than a command name (15 bytes)" \
  'hint: give the name as `ps -o comm` shows it' flows --comm abcdefghijklmnop
expect_error 'kscope: error: --interface and --cgroup are two observation points: choose one' \
  'hint: run two kscope flows for both' flows -I lo --cgroup /
expect_error 'kscope: error: cannot open cgroup /nonexistent: No such file or directory' \
  'hint: give a cgroup2 directory*' flows --cgroup /nonexistent
expect_error 'kscope: error: --active-timeout: Value 61 not in range*' "$usage" \
  flows --active-timeout 61
expect_error 'kscope: error: --max-flows: Value 0 not in range*' "$usage" flows --max-flows 0
expect_error 'kscope: error: --output: *yaml*' "$usage" flows -o yaml
expect_error 'kscope: error: *--bogus*' "$usage" flows --bogus
expect_error 'kscope: error: --tc-attach: foo not in {tcx,clsact}' "$usage" flows --tc-attach foo
expect_error 'kscope: error: --tc-attach chooses how TC hooks of an interface are attached' \
  'hint: give --interface too, e.g. -I eth0 --tc-attach clsact' flows --tc-attach clsact
if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$kscope"; then
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups "$kscope" flows >"$tmp/out" 2>"$tmp/err" || rc=$?
  [[ $rc -ne 0 ]] || fail "unprivileged kscope flows: exit 0"
  grep -qx 'kscope: error: missing privileges: counting flows needs CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN)' "$tmp/err" ||
    fail "unprivileged kscope flows: $(cat "$tmp/err")"
fi
echo "ok: kscope flows counted exactly, detached on SIGTERM, and refused every bad input"
