#!/usr/bin/env bash
# The collector's bearer token and file modes, as docs/security.md promises them:
#  - with token_file, the metrics endpoint answers 401 and a Bearer challenge without the
#    token or with another, 200 with it; a real Prometheus scraping with credentials_file
#    has the target up, one scraping without has it down with the 401 as its error;
#  - the stream serves `kscope observe --token-file` and refuses observe without it, over TCP
#    and the unix socket; a SIGHUP after the token file changed makes the new token the one;
#  - a token file that group or others may read stops the start, naming the file and the fix;
#  - under umask 000, a file sink's file is 0640, the unix socket 0660, a --record file 0600.
# Usage: auth_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope collect loads BPF probes and needs root"
command -v prometheus >/dev/null || fail "prometheus is missing: scripts/install-deps.sh installs it"

umask 000
port=$((20000 + $$ % 20000))
stream_port=$((port + 1))
prom_port=$((port + 2))
token=$(head -c 24 /dev/urandom | base64)
(umask 077 && printf '%s\n' "$token" >"$tmp/token")
cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$port
token_file: $tmp/token
sources: {tcp: false, drops: false, dns: false, runqlat: false, biolatency: false, syscalls: false}
sinks:
  - {name: log, type: file, path: $tmp/flows.json}
  - {name: live, type: stream, listen: 127.0.0.1:$stream_port, unix: $tmp/stream.sock}
EOF
start_collect "$tmp/collect.yaml"

# --- the metrics endpoint
status_of() { curl -s -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@" "http://127.0.0.1:$port/metrics"; }
[[ $(status_of) == 401 ]] || fail "no token: HTTP $(cat "$tmp/head")"
grep -qx $'WWW-Authenticate: Bearer realm="kscope"\r' "$tmp/head" || fail "no Bearer challenge: $(cat "$tmp/head")"
[[ $(cat "$tmp/body") == "this endpoint needs its bearer token (Authorization: Bearer ...)" ]] ||
  fail "401 body: $(cat "$tmp/body")"
[[ $(status_of -H "Authorization: Bearer ${token}x") == 401 ]] || fail "a wrong token was served"
[[ $(status_of -H "Authorization: Basic $token") == 401 ]] || fail "Basic with the token was served"
[[ $(status_of -H "Authorization: bearer $token") == 200 ]] || fail "the token was refused"
grep -q "^kscope_build_info{version=" "$tmp/body" || fail "no kscope_build_info with the token"
grep -qx 'kscope_unauthorized_requests_total{endpoint="metrics"} 3' "$tmp/body" ||
  fail "the three 401s are not counted: $(grep unauthorized "$tmp/body")"

start_prometheus "" "$prom_port" "  - job_name: with_token
    authorization:
      credentials_file: $tmp/token
    static_configs:
      - targets: ['127.0.0.1:$port']
  - job_name: without_token
    static_configs:
      - targets: ['127.0.0.1:$port']"
for _ in $(seq 1 50); do
  [[ $(query 'up{job="with_token"}') == 1 && $(query 'up{job="without_token"}') == 0 ]] && break
  sleep 0.3
done
[[ $(query 'up{job="with_token"}') == 1 ]] || fail "Prometheus with credentials_file: up is $(query 'up{job="with_token"}')"
[[ $(query 'up{job="without_token"}') == 0 ]] || fail "Prometheus without the token: up is not 0"
curl -sf "http://127.0.0.1:$prom_port/api/v1/targets" | grep -q '"lastError":"server returned HTTP status 401 Unauthorized"' ||
  fail "Prometheus does not name the 401 as the target's error"
[[ $(query 'kscope_build_info{job="with_token"}') == 1 ]] || fail "no kscope_build_info through Prometheus"

# --- the stream, over TCP and the unix socket
refused="kscope: error: the collector: request: this stream needs the collector's token"
for server in "127.0.0.1:$stream_port" "$tmp/stream.sock"; do
  rc=0
  "$kscope" observe --server "$server" >"$tmp/out" 2>"$tmp/obs.err" || rc=$?
  [[ $rc -eq 1 && $(head -1 "$tmp/obs.err") == "$refused" && ! -s $tmp/out ]] ||
    fail "observe at $server without the token: exit $rc, $(cat "$tmp/obs.err")"
  "$kscope" observe --server "$server" --token-file "$tmp/token" >"$tmp/out" 2>"$tmp/obs.err" ||
    fail "observe at $server with the token: $(cat "$tmp/obs.err")"
done

status_of -H "Authorization: Bearer $token" >/dev/null
grep -qx 'kscope_unauthorized_requests_total{endpoint="stream"} 2' "$tmp/body" ||
  fail "the two refused observe clients are not counted: $(grep unauthorized "$tmp/body")"

# --- a new token, read on SIGHUP
token2=$(head -c 24 /dev/urandom | base64)
printf '%s\n' "$token2" >"$tmp/token"
kill -HUP "$kpid"
scrape_until_token() {
  for _ in $(seq 1 50); do
    [[ $(status_of -H "Authorization: Bearer $token2") == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}
scrape_until_token || fail "the new token is not taken after SIGHUP: $(cat "$tmp/err")"
[[ $(status_of -H "Authorization: Bearer $token") == 401 ]] || fail "the old token still served after SIGHUP"
"$kscope" observe --server "127.0.0.1:$stream_port" --token-file "$tmp/token" >/dev/null 2>"$tmp/obs.err" ||
  fail "observe with the new token: $(cat "$tmp/obs.err")"

# --- file modes under umask 000
[[ $(stat -c %a "$tmp/flows.json") == 640 ]] || fail "file sink mode $(stat -c %a "$tmp/flows.json"), not 640"
[[ $(stat -c %a "$tmp/stream.sock") == 660 ]] || fail "unix socket mode $(stat -c %a "$tmp/stream.sock"), not 660"
kill -TERM "$kpid"
wait "$kpid" || fail "kscope collect exited $? after SIGTERM"
kpid=
"$kscope" trace exec --record "$tmp/exec.rec" -d 0.2 >/dev/null 2>"$tmp/trace.err" || fail "trace --record: $(cat "$tmp/trace.err")"
[[ $(stat -c %a "$tmp/exec.rec") == 600 ]] || fail "record file mode $(stat -c %a "$tmp/exec.rec"), not 600"

# --- a token file others may read stops the start
chmod 0644 "$tmp/token"
rc=0
"$kscope" collect -c "$tmp/collect.yaml" >"$tmp/out" 2>"$tmp/start.err" || rc=$?
want="kscope: error: $tmp/collect.yaml:2:13: token_file: token file $tmp/token: group or others may access it (mode 0644)"
[[ $rc -eq 1 && $(sed -n 1p "$tmp/start.err") == "$want" && $(sed -n 2p "$tmp/start.err") == "hint: chmod 600 $tmp/token" ]] ||
  fail "a token file of mode 0644: exit $rc, $(cat "$tmp/start.err")"
echo "PASS: bearer token on metrics (curl, Prometheus credentials_file) and stream (TCP, unix), rotated on SIGHUP; a readable token file refused; modes 0640, 0660, 0600 under umask 000"
