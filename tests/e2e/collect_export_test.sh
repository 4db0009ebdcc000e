#!/usr/bin/env bash
# `kscope collect`'s sinks as a user runs them, with real consumers: known UDP and TCP flows
# between two namespaces this script makes, exported at once to a filtered, masked NDJSON
# file, a full one, Kafka (librdkafka's mock cluster, consumed back by kcat), IPFIX (nfcapd,
# read back by nfdump) and the live stream (kscope observe). Every output must hold exactly
# what was sent: addresses, ports, packets, bytes, the process; the same record must read the
# same in the file, Kafka and the stream; and every output's loss reports must count exactly
# the records it holds. Then a sink that cannot open stops the start with its place.
# Usage: collect_export_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, and the test makes namespaces"
for tool in kcat nfcapd nfdump python3; do
  command -v $tool >/dev/null || fail "$tool is missing: scripts/install-deps.sh installs it"
done

a=ksexp$$a
b=ksexp$$b
mock_pid=
nf_pid=
cleanup() {
  [[ -n $mock_pid ]] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  [[ -n $nf_pid ]] && kill "$nf_pid" 2>/dev/null && wait "$nf_pid" 2>/dev/null
  exec 7>&- 2>/dev/null
  e2e_cleanup
}
trap cleanup EXIT
netns_pair "$a" "$b" 10.235.0

# Kafka: librdkafka's mock cluster (1 broker, 2 partitions), fed commands through fd 7.
mkfifo "$tmp/mock.in"
"$testprogs/kafka_mock" 1 kscope-flows 2 <"$tmp/mock.in" >"$tmp/mock.out" 2>"$tmp/mock.err" &
mock_pid=$!
exec 7>"$tmp/mock.in"
for _ in $(seq 1 100); do [[ -s $tmp/mock.out ]] && break; sleep 0.1; done
bootstrap=$(head -1 "$tmp/mock.out")
[[ $bootstrap == 127.0.0.1:* ]] || fail "kafka_mock printed no bootstrap servers: $(cat "$tmp/mock.err")"

# IPFIX: nfcapd on loopback, its files in $tmp/nf.
port=$((20000 + $$ % 20000))
nf_port=$((port + 1))
stream_port=$((port + 2))
mkdir -p "$tmp/nf"
nfcapd -b 127.0.0.1 -p "$nf_port" -w "$tmp/nf" >"$tmp/nfcapd.log" 2>&1 &
nf_pid=$!

cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$port
report_interval: 1s
redact: ['(?:password|token)=(\S+)']
sources:
  flows: {sweep_interval: 200ms, idle_timeout: 1s}
  tcp: false
  drops: false
  dns: false
  runqlat: false
  biolatency: false
  syscalls: false
sinks:
  - name: all
    type: file
    path: $tmp/all.json
  - name: udp9300
    type: file
    path: $tmp/udp.json
    allow: [{port: [9300], protocol: udp}]
    fields: [IP, l4, traffic_direction, packets, bytes, end_reason, process]
  - name: bus
    type: kafka
    brokers: [$bootstrap]
    topic: kscope-flows
    linger: 5ms
  - name: nf
    type: ipfix
    address: 127.0.0.1:$nf_port
  - name: execs
    type: file
    path: $tmp/execs.json
    events: [exec]
    deny: [{comm: [python3]}]
  - name: live
    type: stream
    listen: 127.0.0.1:$stream_port
    unix: $tmp/observe.sock
    events: [flows, drops]
EOF
start_collect "$tmp/collect.yaml"

# 7 UDP datagrams of 333 bytes from fk_client (port 9301) to fk_server (9300): 7 packets and
# 7 * (333 + 28) IP bytes each way of the hook: egress at the client, ingress at the server.
"$testprogs/flow_known" "$tmp/roles" udp "$b" 10.235.0.2 "$a" 10.235.0.1 9300 7 333 ||
  fail "flow_known udp failed"
client=$(awk '$1 == "client" {print $2}' "$tmp/roles")
server=$(awk '$1 == "server" {print $2}' "$tmp/roles")
# A TCP connection: 1000 bytes up, 3000 down, FIN both ways.
"$testprogs/flow_known" "$tmp/roles.tcp" tcp "$b" 10.235.0.2 "$a" 10.235.0.1 9400 1000 3000 ||
  fail "flow_known tcp failed"
tcp_client=$(awk '$1 == "client" {print $2}' "$tmp/roles.tcp")

# An exec with a secret on its command line: in the events file, redacted, and only there.
bash -c ':' "ksexport-$$" --password=hunter2 token=abc

# The UDP flows end at the idle timeout (1 s): two records in the filtered file.
for _ in $(seq 1 100); do
  [[ $(grep -c kscope.flow.v1 "$tmp/udp.json" 2>/dev/null) -ge 2 ]] && break
  sleep 0.2
done
python3 - "$tmp/udp.json" "$client" "$server" <<'PY' || fail "the filtered file's records are not the UDP flows"
import json, sys
path, client, server = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
flows = [json.loads(l) for l in open(path) if '"kscope.flow.v1"' in l]
assert len(flows) == 2, flows
want = {
    "EGRESS": ("10.235.0.1", 9301, "10.235.0.2", 9300, client, "fk_client"),
    "INGRESS": ("10.235.0.1", 9301, "10.235.0.2", 9300, server, "fk_server"),
}
for f in flows:
    # The mask: these fields and no others.
    assert sorted(f) == sorted(["schema", "IP", "l4", "traffic_direction", "packets", "bytes",
                                "end_reason", "process"]), sorted(f)
    src, sport, dst, dport, pid, comm = want[f["traffic_direction"]]
    assert f["IP"] == {"source": src, "destination": dst, "ipVersion": "IPv4"}, f
    assert f["l4"] == {"UDP": {"source_port": sport, "destination_port": dport}}, f
    assert (f["packets"], f["bytes"]) == (7, 7 * (333 + 28)), f
    assert f["end_reason"] == "idle_timeout", f
    assert (f["process"]["pid"], f["process"]["comm"]) == (pid, comm), f
PY

# The live stream: kscope observe gives back the same two records, the same text, over TCP;
# over the unix socket the deny filter leaves the ingress one.
"$kscope" observe --server 127.0.0.1:$stream_port --last 1000 --port 9300 --protocol udp -o json \
  >"$tmp/observe.json" 2>"$tmp/observe.err" || fail "kscope observe: $(cat "$tmp/observe.err")"
grep '"UDP":{"source_port":9301,"destination_port":9300}' "$tmp/all.json" >"$tmp/udp.full"
[[ $(wc -l <"$tmp/udp.full") -eq 2 ]] || fail "all.json does not hold the 2 UDP records: $(cat "$tmp/udp.full")"
diff <(sort "$tmp/udp.full") <(grep kscope.flow.v1 "$tmp/observe.json" | sort) >/dev/null ||
  fail "kscope observe's records are not the file's: $(cat "$tmp/observe.json")"
"$kscope" observe --server "$tmp/observe.sock" --last 1000 --port 9300 --not --to-ip 10.235.0.2/32 \
  --not --comm fk_server -o compact >"$tmp/observe.txt" 2>"$tmp/observe.err" ||
  fail "kscope observe (unix socket): $(cat "$tmp/observe.err")"
[[ $(wc -l <"$tmp/observe.txt") -eq 1 ]] || fail "kscope observe -o compact: $(cat "$tmp/observe.txt")"
line=$(cat "$tmp/observe.txt")
[[ ${line#*: } == "10.235.0.1:9301 -> 10.235.0.2:9300 UDP 2527 bytes 7 packets fk_client[$client]" ]] ||
  fail "kscope observe -o compact: $line"

# Drop events, live: a follower asking for NO_SOCKET drops sees the 5 datagrams b's kernel
# dropped at a port where nothing listens (the drops tool, attached for the sinks alone).
"$kscope" observe --server 127.0.0.1:$stream_port -f --drop-reason NO_SOCKET -o json \
  >"$tmp/drops.json" 2>"$tmp/drops.err" &
opid=$!
for _ in $(seq 1 50); do [[ -e $tmp/drops.json ]] && sleep 0.3 && break; sleep 0.1; done
/usr/bin/ip netns exec "$a" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.235.0.1", 9501))
for _ in range(5): s.sendto(b"x" * 10, ("10.235.0.2", 9500))' || fail "could not send the datagrams"
for _ in $(seq 1 50); do [[ $(grep -c '"dport":9500' "$tmp/drops.json") -ge 5 ]] && break; sleep 0.1; done
kill -INT "$opid"
wait "$opid" || fail "kscope observe -f exited $? on SIGINT: $(cat "$tmp/drops.err")"
python3 - "$tmp/drops.json" <<'PY' || fail "kscope observe --drop-reason: $(cat "$tmp/drops.json")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if '"kscope.event.v1"' in l]
assert all(e["type"] == "drops" and e["reason"] == "NO_SOCKET" for e in events), events
ours = [e for e in events if (e["saddr"], e["sport"], e["daddr"], e["dport"]) == ("10.235.0.1", 9501, "10.235.0.2", 9500)]
assert len(ours) == 5, ours
PY

kill -TERM "$kpid"
wait "$kpid" || fail "kscope collect exited $? on SIGTERM"
kpid=

# The exec event: once, its secrets replaced, behind the schema and the node; no flows here.
python3 - "$tmp/execs.json" "ksexport-$$" <<'PY' || fail "the exec event is not in execs.json as it should be: $(grep -v loss "$tmp/execs.json" | tail -3)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert not [l for l in lines if l["schema"] == "kscope.flow.v1"], "flows in an exec-only sink"
ours = [l for l in lines if l["schema"] == "kscope.event.v1" and sys.argv[2] in l["args"]]
assert len(ours) == 1, ours
e = ours[0]
assert e["type"] == "exec" and e["comm"] == "bash" and e["ret"] == 0, e
assert e["args"] == ["bash", "-c", ":", sys.argv[2], "--password=*****", "token=*****"], e["args"]
assert not [l for l in lines if l.get("comm") == "python3"], "the deny filter let python3 through"
PY
grep -q hunter2 "$tmp"/*.json && fail "the secret left the collector"

# Every file's loss reports count exactly its records, and the last window is complete.
for f in all:all udp:udp9300 execs:execs; do
  python3 - "$tmp/${f%%:*}.json" "${f#*:}" <<'PY' || fail "$f.json's loss reports do not add up"
import json, socket, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
reports = [l for l in lines if l["schema"] == "kscope.loss.v1"]
flows = [l for l in lines if l["schema"] != "kscope.loss.v1"]
assert reports and lines[-1]["schema"] == "kscope.loss.v1", "no report last"
assert all(r["sink"] == sys.argv[2] and r["node_name"] == socket.gethostname() for r in reports)
assert sum(r["records"] for r in reports) == len(flows), (sum(r["records"] for r in reports), len(flows))
assert all(r["complete"] for r in reports), [r for r in reports if not r["complete"]]
for prev, cur in zip(reports, reports[1:]):
    assert prev["window_end"] == cur["window_start"], (prev, cur)
PY
done

# The TCP flow ended by FIN, with the client's process, in the full file.
python3 - "$tmp/all.json" "$tcp_client" <<'PY' || fail "no TCP record ended by FIN for fk_client"
import json, sys
pid = int(sys.argv[2])
for l in open(sys.argv[1]):
    f = json.loads(l)
    if f["schema"] != "kscope.flow.v1" or "TCP" not in f.get("l4", {}):
        continue
    t = f["l4"]["TCP"]
    if (t["source_port"], t["destination_port"], f["traffic_direction"]) != (9401, 9400, "EGRESS"):
        continue
    assert f["end_reason"] == "end_of_flow", f
    assert t["flags"].get("FIN") and f["process"]["pid"] == pid, f
    assert f["process"]["comm"] == "fk_client", f
    sys.exit(0)
sys.exit(1)
PY

# Kafka: every record of the full file, the same text, keyed by pair_id; a loss report in
# each of the 2 partitions per window.
timeout 30 kcat -b "$bootstrap" -C -t kscope-flows -o beginning -e -q -f '%p\t%k\t%s\n' >"$tmp/kafka.txt" 2>"$tmp/kcat.err" ||
  fail "kcat could not consume: $(cat "$tmp/kcat.err")"
python3 - "$tmp/all.json" "$tmp/kafka.txt" <<'PY' || fail "Kafka does not hold what the file holds"
import json, sys
file_flows = [l.rstrip("\n") for l in open(sys.argv[1]) if '"kscope.flow.v1"' in l]
rows = [l.rstrip("\n").split("\t", 2) for l in open(sys.argv[2])]
kafka_flows = [r for r in rows if r[1] != "loss"]
assert sorted(r[2] for r in kafka_flows) == sorted(file_flows), (len(kafka_flows), len(file_flows))
for part, key, value in kafka_flows:
    assert key == str(json.loads(value)["pair_id"]), (key, value)
pairs = {}
for part, key, value in kafka_flows:
    pairs.setdefault(key, set()).add(part)
assert all(len(p) == 1 for p in pairs.values()), "a pair split over partitions"
reports = [r for r in rows if r[1] == "loss"]
by_part = {p: [json.loads(v) for q, k, v in reports if q == p] for p in ("0", "1")}
assert len(by_part["0"]) == len(by_part["1"]) > 0, {p: len(v) for p, v in by_part.items()}
assert sum(r["records"] for r in by_part["0"]) == len(file_flows)
PY

# IPFIX: nfcapd writes its file when it stops; nfdump gives back both UDP flows exactly.
kill -TERM "$nf_pid"
wait "$nf_pid"
nf_pid=
nfdump -R "$tmp/nf" -q -o 'fmt:%sa %sp %da %dp %pr %pkt %byt' 'proto udp and port 9300' >"$tmp/nfdump.txt" 2>&1 ||
  fail "nfdump: $(cat "$tmp/nfdump.txt")"
python3 - "$tmp/nfdump.txt" <<'PY' || fail "nfdump does not give back the UDP flows: $(cat "$tmp/nfdump.txt")"
import sys
rows = sorted(" ".join(l.split()) for l in open(sys.argv[1]) if l.strip())
want = ["10.235.0.1 9301 10.235.0.2 9300 UDP 7 2527"] * 2
assert rows == want, rows
PY

# A sink that cannot open stops the start, saying where it was configured.
cat >"$tmp/bad.yaml" <<EOF
listen: 127.0.0.1:$port
sinks:
  - {name: lost, type: file, path: $tmp/missing/flows.json}
EOF
"$kscope" collect -c "$tmp/bad.yaml" 2>"$tmp/bad.err" && fail "a collector with a sink it cannot open started"
grep -q "error: $tmp/bad.yaml:3:5: sinks\[0\]: open flow log $tmp/missing/flows.json: No such file or directory" "$tmp/bad.err" ||
  fail "wrong error: $(cat "$tmp/bad.err")"
echo "PASS"
