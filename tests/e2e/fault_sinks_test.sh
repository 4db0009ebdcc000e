#!/usr/bin/env bash
# Each kind of sink failing and recovering, in one `kscope collect` run as a user runs it,
# without CAP_DAC_OVERRIDE (setpriv: CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, as deploy/ grants)
# so that a directory's mode binds it. Flows come from a cgroup of this run only: three
# bursts of one-datagram UDP flows (20 healthy, 150 during the faults, 20 after), all written
# to a reference file sink that never fails. During the second burst:
# - rot: a file sink rotating at 64 KiB whose directory is made read-only (0555);
# - full: a file sink on a 64 KiB tmpfs filled up to the last byte;
# - bus, busx: Kafka sinks whose mock clusters' brokers are down (bus keeps what it has in
#   librdkafka; busx holds 25 records and times out after 1 s);
# - nf: an IPFIX sink whose collector (nfcapd) is gone.
# Then each fault is lifted (mode back, filler removed, brokers up, nfcapd restarted on the
# same port) and the third burst must reach every sink whole. Asserted: the outage is said on
# stderr with its cause, once, and its end; every record is either in the sink's output or
# counted lost (kscope_sink_lost_total and the in-band loss reports, which must agree),
# exactly, never both; no line of a file is torn; bus delivers all 190. Last, an IPFIX sink
# sending one record at a time to a UDP port where nothing listens: all 10 must be counted
# lost, the outage said once.
# Usage: fault_sinks_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN; the test makes namespaces, a cgroup and a tmpfs"
for tool in kcat nfcapd nfdump setpriv curl python3 findmnt ss; do
  command -v $tool >/dev/null || die "$tool is missing: scripts/install-deps.sh installs it"
done
SECONDS=0
mport=$(free_port "$port_base")
nfport=$(free_port $((mport + 1)))
nport=$(free_port $((nfport + 1)))

a=ksfs$$a
b=ksfs$$b
netns_pair "$a" "$b" 10.238.0 noipv6
make_cgroup

# Two Kafka mock clusters (1 broker, 2 partitions each), fed commands through fds 7 and 8.
mock() {  # mock N: starts cluster N; its bootstrap servers are $tmp/mockN.out's first line
  mkfifo "$tmp/mock$1.in"
  "$testprogs/kafka_mock" 1 kscope-flows 2 <"$tmp/mock$1.in" >"$tmp/mock$1.out" 2>"$tmp/mock$1.err" &
  eval "mock$1_pid=$!"
  at_exit "stop_pid \$mock$1_pid"
}
mock 1
exec 7>"$tmp/mock1.in"
mock 2
exec 8>"$tmp/mock2.in"
wait_for 10 test -s "$tmp/mock1.out" && wait_for 10 test -s "$tmp/mock2.out" || die "kafka_mock printed no bootstrap servers"
boot1=$(head -1 "$tmp/mock1.out")
boot2=$(head -1 "$tmp/mock2.out")
mock_say() {  # mock_say N COMMAND: one command to cluster N, which must answer ok
  local fd=$((6 + $1)) n
  n=$(wc -l <"$tmp/mock$1.out")
  echo "$2" >&$fd
  wait_for 5 test "$(wc -l <"$tmp/mock$1.out")" -gt "$n" || fail "kafka_mock $1 did not answer '$2'"
  [[ $(tail -1 "$tmp/mock$1.out") == ok ]] || fail "kafka_mock $1: '$2': $(tail -1 "$tmp/mock$1.out")"
}

nf_pid=
at_exit 'stop_pid $nf_pid'
nf_start() {  # nf_start DIR: nfcapd on 127.0.0.1:$nfport writing into DIR
  mkdir -p "$1"
  nfcapd -b 127.0.0.1 -p "$nfport" -w "$1" >>"$tmp/nfcapd.log" 2>&1 &
  nf_pid=$!
  wait_for 5 test -n "$(ss -Hluln "( sport = :$nfport )")" || die "nfcapd did not listen on $nfport: $(cat "$tmp/nfcapd.log")"
}
nf_start "$tmp/nf1"

mkdir "$tmp/rot" "$tmp/full"
mount -t tmpfs -o size=64k,mode=0755 kscope-fault-sinks "$tmp/full" || die "could not mount a tmpfs"
at_exit "umount -l '$tmp/full'"
at_exit "chmod 0755 '$tmp/rot'"

cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$mport
labels: [comm]
report_interval: 500ms
sources: {flows: {cgroup: $cg, sweep_interval: 200ms, idle_timeout: 100ms}, $no_tools}
sinks:
  - {name: ref, type: file, path: $tmp/ref.json}
  - {name: rot, type: file, path: $tmp/rot/flows.json, max_size: 64KiB, max_backups: 1000}
  - {name: full, type: file, path: $tmp/full/flows.json}
  - name: bus
    type: kafka
    brokers: [$boot1]
    topic: kscope-flows
    linger: 5ms
    properties: {reconnect.backoff.max.ms: "500"}
  - name: busx
    type: kafka
    brokers: [$boot2]
    topic: kscope-flows
    linger: 5ms
    buffer: 25
    message_timeout: 1s
    properties: {reconnect.backoff.max.ms: "500"}
  - {name: nf, type: ipfix, address: 127.0.0.1:$nfport, template_interval: 1s}
EOF
collect_start "$tmp/collect.yaml" setpriv --inh-caps=-all --bounding-set=-all,+bpf,+perfmon,+net_admin --
ref_count() { grep -c '"kscope.flow.v1"' "$tmp/ref.json" 2>/dev/null; }
ref_is() { [[ $(ref_count) -eq $1 ]]; }
has_ports() {  # has_ports FROM N FILE...: records from every port FROM+1..FROM+N in the files
  [[ $(cat "${@:3}" 2>/dev/null | grep -o '"UDP":{"source_port":[0-9]*' | grep -o '[0-9]*$' |
    awk -v lo=$(($1 + 1)) -v hi=$(($1 + $2)) '$1 >= lo && $1 <= hi' | sort -u | wc -l) -eq $2 ]]
}
lost_of() { awk -v m="kscope_sink_lost_total{sink=\"$1\",point=\"$2\"}" '$1 == m {print $2}' "$tmp/scrape.txt"; }

# 1. Healthy: 20 flows reach every sink.
burst "$b" 10.238.0.2 "$a" 10.238.0.1 30000 20
wait_for 10 ref_is 20 || die "the reference sink has $(ref_count) records, not 20"
wait_for 10 has_ports 30000 20 "$tmp/rot/flows.json"* || fail "rot lacks the first burst"
wait_for 10 has_ports 30000 20 "$tmp/full/flows.json" || fail "full lacks the first burst"
sleep 1  # the first burst's IPFIX messages and Kafka deliveries go out

# 2. The faults, and 150 flows into them.
chmod 0555 "$tmp/rot"
dd if=/dev/zero of="$tmp/full/filler" bs=4k >/dev/null 2>&1  # until ENOSPC
mock_say 1 down
mock_say 2 down
kill -TERM "$nf_pid"  # gone; it writes its file first (the healthy burst)
wait "$nf_pid" 2>/dev/null
nf_pid=
burst "$b" 10.238.0.2 "$a" 10.238.0.1 31000 150
wait_for 10 ref_is 170 || fail "the reference sink has $(ref_count) records, not 170"
sleep 2.5  # past busx's message timeout and a few loss reports
scrape || fail "the metrics endpoint did not answer during the outages"
for s in rot full nf; do
  n=$(lost_of "$s" sink.write)
  [[ ${n:-0} -gt 0 ]] && ok "$s: $n records counted lost (sink.write) during its outage" || fail "$s: no sink.write loss during its outage"
done
n=$(awk '$1 ~ /^kscope_sink_lost_total\{sink="busx",point="kafka\.(queue_full|delivery_failed)"\}$/ {n += $2} END {print n + 0}' "$tmp/scrape.txt")
[[ $n -gt 0 ]] && ok "busx: $n records counted lost while its broker is down" || fail "busx: nothing counted lost while its broker is down"
# The first refused batch of an outage is said, with its cause, once.
want_warn() {  # want_warn SINK CAUSE
  grep -qF "kscope: warning: sink $1: $2 (its records are lost, counted as sink.write, until it writes again)" "$tmp/err" &&
    ok "sink $1's outage said: $2" ||
    fail "sink $1's outage warning does not say '$2': $(grep "sink $1: .*(its records are lost" "$tmp/err" | head -1)"
}
want_warn rot "rotate $tmp/rot/flows.json: Permission denied"
want_warn full "write flow log $tmp/full/flows.json: No space left on device"
want_warn nf "IPFIX collector 127.0.0.1:$nfport/udp: send: Connection refused"
check "sink full's outage warned once" 1 "$(grep -c "sink full: .*(its records are lost" "$tmp/err")"

# 3. Recovery, and 20 flows that every sink must have.
chmod 0755 "$tmp/rot"
rm -f "$tmp/full/filler"
mock_say 1 up
mock_say 2 up
nf_start "$tmp/nf2"
sleep 2  # brokers reconnect (backoff <= 500 ms), templates go to the new nfcapd (every 1 s)
burst "$b" 10.238.0.2 "$a" 10.238.0.1 32000 20
wait_for 10 ref_is 190 || fail "the reference sink has $(ref_count) records, not 190"
wait_for 10 has_ports 32000 20 "$tmp/rot/flows.json"* || fail "rot did not recover: the third burst is not in its files"
wait_for 10 has_ports 32000 20 "$tmp/full/flows.json" || fail "full did not recover: the third burst is not in its file"
sleep 1.5  # a loss report after the recovery, Kafka deliveries, IPFIX sends
scrape || fail "the metrics endpoint did not answer after the recovery"
rot_write=$(lost_of rot sink.write)
full_write=$(lost_of full sink.write)
busx_full=$(lost_of busx kafka.queue_full)
busx_failed=$(lost_of busx kafka.delivery_failed)
check "bus: nothing lost while its broker was down" 0 \
  "$(awk '$1 ~ /^kscope_sink_lost_total\{sink="bus",/ {n += $2} END {print n + 0}' "$tmp/scrape.txt")"
# The end of an outage is said too (docs/export.md): "sink NAME: writes again, N records lost
# meanwhile", as kscope runs by default (no -v).
for s in rot full nf; do
  grep -q "sink $s: writes again, [0-9]* records lost meanwhile" "$tmp/err" &&
    ok "sink $s: recovery said" || fail "sink $s: no 'writes again' line on stderr after its recovery"
done
collect_stop

for n in 1 2; do
  boot=$(eval echo "\$boot$n")
  timeout 30 kcat -b "$boot" -C -t kscope-flows -o beginning -e -q -f '%p\t%k\t%s\n' >"$tmp/kafka$n.txt" 2>"$tmp/kcat$n.err" ||
    fail "kcat could not consume cluster $n: $(cat "$tmp/kcat$n.err")"
done
cat >"$tmp/check.py" <<'PY'
import glob, json, sys
tmp = sys.argv[1]
rot_write, full_write, busx_full, busx_failed = map(int, sys.argv[2:6])
TOTAL = 190
def bad(m): print("FAIL: " + m)
def lines_of(paths, name):
    out = []
    for p in paths:
        for i, l in enumerate(open(p, errors="replace")):
            try:
                out.append(json.loads(l))
            except ValueError:
                bad(f"{name}: line {i + 1} of {p.rsplit('/', 1)[1]} is torn: {l[:100]!r}")
    return out
def ports(recs, lo, n):
    return {r["l4"]["UDP"]["source_port"] for r in recs} & set(range(lo + 1, lo + n + 1))
ref = [r for r in lines_of([f"{tmp}/ref.json"], "ref") if r["schema"] == "kscope.flow.v1"]
if len(ref) != TOTAL: bad(f"ref: {len(ref)} records, want {TOTAL}")
for name, paths, lost in (("rot", sorted(glob.glob(f"{tmp}/rot/flows.json*")), rot_write),
                          ("full", [f"{tmp}/full/flows.json"], full_write)):
    recs = lines_of(paths, name)
    flows = [r for r in recs if r["schema"] == "kscope.flow.v1"]
    reports = [r for r in recs if r["schema"] == "kscope.loss.v1"]
    inband = sum(r["lost"]["sink.write"] for r in reports)
    for lo, n, what in ((30000, 20, "healthy"), (32000, 20, "after recovery")):
        if len(ports(flows, lo, n)) != n: bad(f"{name}: {len(ports(flows, lo, n))} of the {n} records {what}")
    if len(flows) + lost != TOTAL:
        bad(f"{name}: {len(flows)} records in its output + {lost} counted lost (sink.write) = {len(flows) + lost}, want {TOTAL}")
    if inband != lost:
        bad(f"{name}: in-band loss reports say sink.write {inband}, kscope_sink_lost_total {lost}"
            f" (windows complete: {sum(r['complete'] for r in reports)} of {len(reports)})")
    if sum(r["records"] for r in reports) != len(flows):
        bad(f"{name}: loss reports count {sum(r['records'] for r in reports)} records written, its output holds {len(flows)}")
    print(f"ok: {name}: {len(flows)} records in {len(paths)} file(s), {lost} counted lost (sink.write)")
def kafka(n):
    rows = [l.rstrip("\n").split("\t", 2) for l in open(f"{tmp}/kafka{n}.txt")]
    return ([json.loads(v) for p, k, v in rows if k != "loss"],
            [json.loads(v) for p, k, v in rows if k == "loss" and p == "0"])
bus, _ = kafka(1)
if sorted(json.dumps(r, sort_keys=True) for r in bus) != sorted(json.dumps(r, sort_keys=True) for r in ref):
    bad(f"bus: Kafka holds {len(bus)} records, not the reference's {TOTAL}")
else:
    print(f"ok: bus: all {TOTAL} records delivered after its broker came back")
busx, reports = kafka(2)
if len(ports(busx, 32000, 20)) != 20: bad(f"busx: {len(ports(busx, 32000, 20))} of the 20 records after recovery")
if len(busx) + busx_full + busx_failed != TOTAL:
    bad(f"busx: {len(busx)} in Kafka + {busx_full} queue_full + {busx_failed} delivery_failed = {len(busx) + busx_full + busx_failed}, want {TOTAL}")
else:
    print(f"ok: busx: {len(busx)} in Kafka + {busx_full} queue_full + {busx_failed} delivery_failed = {TOTAL}")
inband = sum(r["lost"]["kafka.queue_full"] + r["lost"]["kafka.delivery_failed"] for r in reports)
if inband != busx_full + busx_failed:
    bad(f"busx: in-band loss reports say kafka.queue_full + kafka.delivery_failed {inband}, kscope_sink_lost_total {busx_full + busx_failed}")
PY
py_checks "$tmp/check.py" "$tmp" "$rot_write" "$full_write" "$busx_full" "$busx_failed"

# IPFIX: the first nfcapd got the healthy burst, the restarted one the burst after recovery.
kill -TERM "$nf_pid"
wait "$nf_pid"
nf_pid=
nf_count() {  # nf_count DIR FROM N: one-packet 38-byte UDP flows from ports FROM+1..FROM+N
  nfdump -R "$1" -q -o 'fmt:%sp %pkt %byt' "proto udp and src port > $2 and src port <= $(($2 + $3))" 2>/dev/null |
    awk 'NF == 3 && $2 == 1 && $3 == 38' | wc -l
}
check "nf: healthy burst at the first nfcapd" 20 "$(nf_count "$tmp/nf1" 30000 20)"
check "nf: burst after recovery at the restarted nfcapd" 20 "$(nf_count "$tmp/nf2" 32000 20)"

# 4. IPFIX over UDP to a port where nothing listens, one record per batch: the kernel refuses
# each datagram after the fact (ECONNREFUSED at the next send). All 10 records are lost and
# must be counted so, in one outage.
cat >"$tmp/udp.yaml" <<EOF
listen: 127.0.0.1:$mport
report_interval: 1h
sources: {flows: {cgroup: $cg, sweep_interval: 200ms, idle_timeout: 100ms}, $no_tools}
sinks:
  - {name: nfgone, type: ipfix, address: 127.0.0.1:$nport}
EOF
collect_start "$tmp/udp.yaml"
for i in $(seq 10); do
  burst "$b" 10.238.0.2 "$a" 10.238.0.1 $((33000 + 10 * i)) 1
  sleep 0.5
done
scrape
check "nfgone: records the sink took" 10 "$(awk '$1 ~ /^kscope_flows_total\{direction="egress",protocol="udp",.*comm="fk_client"[,}]/ {print $2}' "$tmp/scrape.txt")"
check "nfgone: of 10 records sent to no IPFIX collector, written/counted lost" "0/10" \
  "$(awk '$1 == "kscope_sink_records_total{sink=\"nfgone\",type=\"ipfix\"}" {print $2}' "$tmp/scrape.txt")/$(lost_of nfgone sink.write)"
check "nfgone: outage warned once" 1 "$(grep -c "sink nfgone: .*(its records are lost" "$tmp/err")"
collect_stop
finish "file sinks (read-only directory, full tmpfs), Kafka down and up, IPFIX collector gone and back (${SECONDS}s)"
