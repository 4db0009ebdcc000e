#!/usr/bin/env bash
# The live stream's clients misbehaving, against `kscope collect`'s stream sink as a user runs
# it (exec events, client_queue 100, max_clients 8, TCP and a unix socket):
# - a stalled client (unix socket: sends its request, then reads nothing while 400 execs of
#   ~8 KiB lines pass, then reads): it gets fewer than 400 lines, is told the rest in band
#   (kscope.lost.v1), received + told lost = 400 exactly, and the collector's final loss
#   report counts the same stream.client_queue; meanwhile `kscope observe -f` gets all 400;
# - vanished clients: 5 followers SIGKILLed; their 5 slots of max_clients come back (a 9th
#   client was refused with the limit's error while they were there) and the collector's
#   open fds return to what they were;
# - garbage: deep nesting, binary bytes, a non-object, a bad field, a bad version, a line
#   longer than 16 KiB, nothing at all for 10 s: each gets one kscope.error.v1 line naming
#   the problem and the connection is closed;
# - and after all that the collector still serves: 5 more execs reach the follower, exactly.
# Usage: fault_stream_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
testprogs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
require_root "kscope collect needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"
for tool in curl python3 ss; do command -v $tool >/dev/null || die "$tool is missing"; done
SECONDS=0
mport=$(free_port "$port_base")
sport=$(free_port $((mport + 1)))

cat >"$tmp/client.py" <<'PY'
# client.py MODE ADDR ...: a stream client that misbehaves as told. ADDR: a unix socket path
# or HOST:PORT.
import json, os, socket, sys, time
mode, addr = sys.argv[1], sys.argv[2]
def connect():
    if "/" in addr:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    return s
def read_all(s, idle, limit):
    s.settimeout(idle)
    out, start, eof = b"", time.time(), False
    while time.time() - start < limit:
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            break
        except ConnectionResetError:
            eof = True
            break
        if not d:
            eof = True
            break
        out += d
    return out, eof
if mode == "stall":  # stall ADDR REQUEST READY GO OUT: request, then no reading until GO exists
    s = connect()
    s.sendall(sys.argv[3].encode() + b"\n")
    open(sys.argv[4], "w").close()
    while not os.path.exists(sys.argv[5]):
        time.sleep(0.05)
    out, _ = read_all(s, 3, 60)
    open(sys.argv[6], "wb").write(out)
elif mode == "hold":  # hold ADDR REQUEST READY: request, then nothing until killed
    s = connect()
    s.sendall(sys.argv[3].encode() + b"\n")
    open(sys.argv[4], "w").close()
    time.sleep(3600)
elif mode == "ask":  # ask ADDR KIND OUT: sends KIND's bytes, reads until EOF (5 s at most)
    kind = sys.argv[3]
    data = {"nest": b"[" * 16000 + b"\n", "binary": bytes(range(256)) * 8 + b"\n",
            "list": b"[1, 2]\n", "field": b'{"folow":true}\n', "version": b'{"version":2}\n',
            "long": b"x" * 20000, "follow": b'{"follow":true}\n'}[kind]
    s = connect()
    t = time.time()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out, eof = read_all(s, 5, 5)
    json.dump({"text": out.decode(errors="replace"), "eof": eof, "secs": time.time() - t}, open(sys.argv[4], "w"))
elif mode == "silent":  # silent ADDR OUT: connects, sends nothing, reads until EOF (15 s)
    s = connect()
    t = time.time()
    out, eof = read_all(s, 15, 15)
    json.dump({"text": out.decode(errors="replace"), "eof": eof, "secs": time.time() - t}, open(sys.argv[3], "w"))
PY

cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$mport
labels: [comm]
report_interval: 1h
sources: {flows: false, tcp: false, drops: false, dns: false, runqlat: false, biolatency: false, syscalls: false}
sinks:
  - name: live
    type: stream
    listen: 127.0.0.1:$sport
    unix: $tmp/live.sock
    events: [exec]
    client_queue: 100
    max_clients: 8
EOF
collect_start "$tmp/collect.yaml"
helpers=()
at_exit 'for p in "${helpers[@]}"; do stop_pid "$p"; done'

# Clients 1-3: one that says nothing, the follower, the stalled one.
python3 "$tmp/client.py" silent "127.0.0.1:$sport" "$tmp/silent.json" &
silent_pid=$!
helpers+=("$silent_pid")
"$kscope" observe --server "127.0.0.1:$sport" -f --comm ksmark -o json >"$tmp/fast.json" 2>"$tmp/fast.err" &
fast_pid=$!
helpers+=("$fast_pid")
python3 "$tmp/client.py" stall "$tmp/live.sock" '{"version":1,"follow":true,"allow":[{"comm":["ksmark"]}]}' \
  "$tmp/stall.ready" "$tmp/stall.go" "$tmp/stall.out" &
stall_pid=$!
helpers+=("$stall_pid")
wait_for 5 test -e "$tmp/stall.ready" || die "the stalled client did not connect"
sleep 0.5  # kscope observe has sent its request
fds0=$(metric process_open_fds)

# Clients 4-8 hold their place; the 9th is turned away; then the 5 vanish (SIGKILL).
vanishers=()
for i in 1 2 3 4 5; do
  python3 "$tmp/client.py" hold "127.0.0.1:$sport" '{"follow":true,"allow":[{"comm":["nobody-here"]}]}' "$tmp/hold$i" &
  vanishers+=($!)
  helpers+=($!)
done
for i in 1 2 3 4 5; do wait_for 5 test -e "$tmp/hold$i" || die "client $((i + 3)) did not connect"; done
sleep 0.3
python3 "$tmp/client.py" ask "127.0.0.1:$sport" follow "$tmp/ninth.json"
check "the 9th client" '{"schema":"kscope.error.v1","error":"8 clients are connected, the most this collector serves","hint":"try again when one has left"} eof=True' \
  "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["text"].rstrip("\n"), "eof=%s" % d["eof"])' "$tmp/ninth.json")"
for p in "${vanishers[@]}"; do kill -KILL "$p"; wait "$p" 2>/dev/null; done
fds_back() { [[ $(metric process_open_fds) == "$fds0" ]]; }
wait_for 5 fds_back && ok "open fds back to $fds0 once the 5 clients vanished" ||
  fail "the collector's open fds: $fds0 before the 5 clients, $(metric process_open_fds) after they vanished"
python3 "$tmp/client.py" ask "127.0.0.1:$sport" list "$tmp/after.json"
grep -q "8 clients are connected" "$tmp/after.json" && fail "the vanished clients' slots did not come back"

# The storm: 400 execs of ksmark, each line about 8 KiB.
cp /bin/true "$tmp/ksmark"
args=()
for i in $(seq 8); do args+=("$(printf "%01000d" "$i")"); done
for _ in $(seq 400); do "$tmp/ksmark" "${args[@]}"; done
fast_has() { [[ $(grep -c '"comm":"ksmark"' "$tmp/fast.json") -ge $1 ]]; }
wait_for 20 fast_has 400 || true
check "the follower's exec events" 400 "$(grep -c '"comm":"ksmark"' "$tmp/fast.json")"
touch "$tmp/stall.go"
wait "$stall_pid"
py_checks - "$tmp/stall.out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
execs = [l for l in lines if l["schema"] == "kscope.event.v1"]
lost = [l["lost"] for l in lines if l["schema"] == "kscope.lost.v1"]
other = [l for l in lines if l["schema"] not in ("kscope.event.v1", "kscope.lost.v1")]
pids = [e["pid"] for e in execs]
if not 0 < len(execs) < 400 or not lost:
    print(f"FAIL: stalled client: {len(execs)} events and {sum(lost)} told lost: it should have lost some")
elif len(execs) + sum(lost) != 400:
    print(f"FAIL: stalled client: {len(execs)} received + {sum(lost)} told lost = {len(execs) + sum(lost)}, want 400")
else:
    print(f"ok: stalled client: {len(execs)} received + {sum(lost)} told lost in {len(lost)} kscope.lost.v1 lines = 400")
if len(set(pids)) != len(pids) or any(e["comm"] != "ksmark" for e in execs):
    print("FAIL: stalled client: an event twice, or one its filter does not pass")
if other:
    print(f"FAIL: stalled client: unexpected lines {other[:2]}")
open(sys.argv[1] + ".lost", "w").write(str(sum(lost)))
PY
stalled_lost=$(cat "$tmp/stall.out.lost" 2>/dev/null)

# Garbage: one error line each, then the connection closes.
askers=()
for kind in nest binary list field version long; do
  python3 "$tmp/client.py" ask "127.0.0.1:$sport" "$kind" "$tmp/ask.$kind.json" &
  askers+=($!)
done
for p in "${askers[@]}"; do wait "$p"; done
wait "$silent_pid"
py_checks - "$tmp" <<'PY'
import json, sys
want = {
    "nest": "request: ",
    "binary": "request: ",
    "list": "request: expected one JSON object on one line",
    "field": "request: unknown field 'folow'",
    "version": "request: version 2 is not spoken here (this server speaks 1)",
    "long": "request: longer than 16384 bytes",
    "silent": "request: none within 10 s",
}
for kind, prefix in want.items():
    path = f"{sys.argv[1]}/{'silent' if kind == 'silent' else 'ask.' + kind}.json"
    try:
        d = json.load(open(path))
    except (OSError, ValueError) as e:
        print(f"FAIL: {kind}: no answer ({e})")
        continue
    lines = d["text"].splitlines()
    try:
        e = json.loads(lines[0]) if len(lines) == 1 else None
    except ValueError:
        e = None
    if not e or e.get("schema") != "kscope.error.v1" or not e.get("error", "").startswith(prefix):
        print(f"FAIL: {kind}: want one kscope.error.v1 line starting {prefix!r}, got {d['text'][:200]!r}")
    elif not d["eof"]:
        print(f"FAIL: {kind}: the connection stayed open after the error")
    else:
        print(f"ok: {kind}: {e['error']!r}, then closed ({d['secs']:.1f} s)")
PY

# Still serving: 5 more execs reach the follower, and the endpoint answers.
for _ in $(seq 5); do "$tmp/ksmark" after; done
wait_for 10 fast_has 405 || true
check "the follower's exec events after the faults" 405 "$(grep -c '"comm":"ksmark"' "$tmp/fast.json")"
kill -0 "$kpid" 2>/dev/null || fail "kscope collect died"
[[ -n $(metric process_open_fds) ]] || fail "the metrics endpoint does not answer"
collect_stop
wait "$fast_pid"
check "kscope observe -f when the collector stops" 1 "$?"
# The collector's last loss report, as the follower got it: the stalled client's drops.
final=$(grep '"kscope.loss.v1"' "$tmp/fast.json" | tail -1 |
  python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["lost"].get("stream.client_queue"))' 2>/dev/null)
check "stream.client_queue in the final loss report" "$stalled_lost" "$final"
finish "stalled, vanished and garbage stream clients (${SECONDS}s)"
