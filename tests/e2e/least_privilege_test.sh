#!/usr/bin/env bash
# Least privilege, as docs/security.md promises it:
#  - `kscope trace`, `kscope flows` and `kscope collect` give up every capability they no
#    longer need once set up: trace keeps CAP_BPF, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH;
#    flows CAP_BPF and CAP_NET_ADMIN; collect what a reload needs (CAP_BPF, CAP_PERFMON,
#    CAP_NET_ADMIN, CAP_DAC_READ_SEARCH, CAP_NET_BIND_SERVICE). In every thread (the sinks'
#    too), from the permitted and bounding sets, none inheritable or ambient, no_new_privs set.
#  - each still does its work with what it kept: trace shows an exec of a known pid, flows
#    counts 3 UDP datagrams exactly, collect reloads a source off and on again with the same
#    hooks.
#  - `kscope collect` as a user other than root (nobody), holding only CAP_BPF, CAP_PERFMON,
#    CAP_NET_ADMIN and CAP_DAC_READ_SEARCH, attaches the same 15 default probes through the
#    same hooks as root and counts an exec.
# Usage: least_privilege_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "the test runs kscope as root, then as nobody with four capabilities"
command -v setpriv >/dev/null || fail "setpriv is missing (util-linux): scripts/install-deps.sh installs it"

# Bits of capabilities(7): DAC_READ_SEARCH 2, NET_BIND_SERVICE 10, NET_ADMIN 12,
# SYS_PTRACE 19, SYSLOG 34, PERFMON 38, BPF 39.
trace_caps=0000000000000000
profile_caps=0000000400080004
flows_caps=0000000000001000
collect_caps=000000c000001404
nobody_caps=000000c000001004

# caps_are PID WANT BOUNDING WHAT: every thread of PID holds exactly WANT (permitted and
# effective), nothing inheritable or ambient, BOUNDING as its bounding set, no_new_privs on.
caps_are() {
  local pid=$1 want=$2 bounding=$3 what=$4 task field value
  for task in /proc/"$pid"/task/*; do
    for field in CapPrm CapEff CapInh CapAmb CapBnd NoNewPrivs; do
      value=$(awk -v f="$field:" '$1 == f {print $2}' "$task/status")
      case $field in
        CapPrm | CapEff) [[ $value == "$want" ]] ;;
        CapInh | CapAmb) [[ $value == 0000000000000000 ]] ;;
        CapBnd) [[ $value == "$bounding" ]] ;;
        NoNewPrivs) [[ $value == 1 ]] ;;
      esac || fail "$what: thread ${task##*/} has $field $value"
    done
  done
}

port=$((20000 + $$ % 20000))

# --- trace exec: attached, it keeps no capability and still shows a known exec.
"$kscope" -v trace exec -o json --duration 60 >"$tmp/trace.out" 2>"$tmp/err" &
kpid=$!
for _ in $(seq 1 300); do grep -q "capabilities kept" "$tmp/err" && break; sleep 0.1; done
grep -qx "kscope: trace exec: capabilities kept: none; 40 given up" "$tmp/err" ||
  fail "trace exec did not say what it kept"
caps_are "$kpid" "$trace_caps" "$trace_caps" "trace exec"
"$testprogs/exec_target" >/dev/null &
target=$!
wait "$target"
for _ in $(seq 1 50); do grep -q "\"pid\":$target," "$tmp/trace.out" && break; sleep 0.1; done
grep -q "\"comm\":\"exec_target\",\"pid\":$target," "$tmp/trace.out" ||
  fail "trace exec without capabilities did not show exec_target's exec (pid $target)"
kill -INT "$kpid"
wait "$kpid" || fail "trace exec exited $? after SIGINT"
kpid=

# --- trace profile: keeps the three it names frames with (profile_svg_test checks the names).
"$kscope" -v trace profile -F 499 --pid "$$" -d 30 >/dev/null 2>"$tmp/err" &
kpid=$!
for _ in $(seq 1 300); do grep -q "capabilities kept" "$tmp/err" && break; sleep 0.1; done
grep -qx "kscope: trace profile: capabilities kept: cap_dac_read_search, cap_sys_ptrace, cap_syslog; 37 given up" "$tmp/err" ||
  fail "trace profile did not say what it kept"
caps_are "$kpid" "$profile_caps" "$profile_caps" "trace profile"
kill -INT "$kpid"
wait "$kpid" || fail "trace profile exited $? after SIGINT"
kpid=

# --- flows: keeps one, and still counts 3 UDP datagrams of 100 bytes exactly.
"$kscope" -v flows -o json --idle-timeout 1 --port "$port" --protocol udp --duration 60 \
  >"$tmp/flows.out" 2>"$tmp/err" &
kpid=$!
for _ in $(seq 1 300); do grep -q "capabilities kept" "$tmp/err" && break; sleep 0.1; done
grep -qx "kscope: flows: capabilities kept: cap_net_admin; 39 given up" "$tmp/err" ||
  fail "flows did not say what it kept"
caps_are "$kpid" "$flows_caps" "$flows_caps" "flows"
python3 - "$port" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(b"x" * 100, ("127.0.0.1", int(sys.argv[1])))
EOF
for _ in $(seq 1 100); do grep -q '"packets":3,"bytes":384' "$tmp/flows.out" && break; sleep 0.1; done
grep -q "\"protocol\":\"udp\",.*\"dport\":$port,.*\"packets\":3,\"bytes\":384,.*\"comm\":\"python3\"" "$tmp/flows.out" ||
  fail "flows with one capability did not count 3 datagrams of 128 IP bytes: $(cat "$tmp/flows.out")"
kill -INT "$kpid"
wait "$kpid" || fail "flows exited $? after SIGINT"
kpid=

# --- collect as root: keeps what a reload needs, in the sinks' threads too.
sock=$tmp/stream.sock
cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$port
sinks:
  - {name: log, type: file, path: $tmp/flows.json}
  - {name: live, type: stream, listen: "", unix: $sock}
EOF
start_collect "$tmp/collect.yaml"
caps_are "$kpid" "$collect_caps" "$collect_caps" "collect"
threads=$(ls /proc/"$kpid"/task | wc -l)
[[ $threads -ge 3 ]] || fail "collect runs $threads threads: the two sinks' are missing"
curl -sf "http://127.0.0.1:$port/metrics" | grep '^kscope_probe_info{' | sort >"$tmp/info.root"
[[ $(wc -l <"$tmp/info.root") -eq 15 ]] || fail "root: $(wc -l <"$tmp/info.root") probes, not 15"

# A reload with the capabilities it kept: dns off, then on again through the same hook.
grep -v dns "$tmp/info.root" >"$tmp/info.nodns"
printf 'sources: {dns: false}\n' >>"$tmp/collect.yaml"
kill -HUP "$kpid"
scrape_until "$port" "kscope_config_reloads_total 1" || fail "the first reload was not applied"
curl -sf "http://127.0.0.1:$port/metrics" | grep '^kscope_probe_info{' | sort >"$tmp/info.off"
diff "$tmp/info.nodns" "$tmp/info.off" >"$tmp/diff" || fail "dns off: $(cat "$tmp/diff")"
sed -i '$d' "$tmp/collect.yaml"
kill -HUP "$kpid"
scrape_until "$port" "kscope_config_reloads_total 2" || fail "the second reload was not applied"
curl -sf "http://127.0.0.1:$port/metrics" | grep '^kscope_probe_info{' | sort >"$tmp/info.on"
diff "$tmp/info.root" "$tmp/info.on" >"$tmp/diff" ||
  fail "dns on again, after the drop, attached otherwise: $(cat "$tmp/diff")"
grep -q "reload refused\|left out" "$tmp/err" && fail "a reload left something out: $(cat "$tmp/err")"
kill -TERM "$kpid"
wait "$kpid" || fail "collect exited $? after SIGTERM"
kpid=

# --- collect as nobody with four capabilities: the same probes, the same hooks; an exec counted.
printf 'listen: 127.0.0.1:%s\n' "$port" >"$tmp/nobody.yaml"
chmod 0755 "$tmp"
chmod 0644 "$tmp/nobody.yaml"
caps=+bpf,+perfmon,+net_admin,+dac_read_search
start_collect "$tmp/nobody.yaml" setpriv --reuid=65534 --regid=65534 --clear-groups \
  --inh-caps="$caps" --ambient-caps="$caps" --
[[ $(awk '/^Uid:/ {print $2}' /proc/"$kpid"/status) == 65534 ]] || fail "collect is not running as nobody"
# Without CAP_SETPCAP the bounding set stays whole; no_new_privs keeps it from mattering.
caps_are "$kpid" "$nobody_caps" "$(awk '/^CapBnd:/ {print $2}' /proc/self/status)" "collect as nobody"
curl -sf "http://127.0.0.1:$port/metrics" | grep '^kscope_probe_info{' | sort >"$tmp/info.nobody"
diff "$tmp/info.root" "$tmp/info.nobody" >"$tmp/diff" ||
  fail "as nobody the probes attached otherwise than as root: $(cat "$tmp/diff")"
"$testprogs/exec_many" 5 "$testprogs/exec_target" "$tmp/execs" >/dev/null || fail "exec_many failed"
execs=$(awk -F'\t' '$5 == 0' "$tmp/execs" | wc -l)
scrape_until "$port" "kscope_exec_total{comm=\"exec_target\",container=\"\"} $execs" ||
  fail "as nobody, exec_target's $execs execs are not counted: $(grep exec_target "$tmp/scrape.txt")"
kill -TERM "$kpid"
wait "$kpid" || fail "collect as nobody exited $? after SIGTERM"
kpid=
echo "PASS: trace, flows and collect keep only what they need after setup (every thread), still work, and reload; as nobody with 4 capabilities the same 15 probes and $execs execs counted"
