#!/usr/bin/env bash
# TLS on the collector's endpoints, as docs/security.md promises it, with certificates made
# here by `openssl` (a CA with SAN IP:127.0.0.1 server certificates, a client certificate, and
# a second CA nobody trusts):
#  - the metrics endpoint over TLS: curl --cacert gets the metrics; plain HTTP to the TLS port
#    fails and is counted in kscope_tls_handshake_failures_total; a real Prometheus scraping
#    with scheme https and tls_config ca_file has the target up, one without the CA down;
#  - the stream over TLS: kscope observe --tls-ca receives flow records, a wrong CA fails with
#    OpenSSL's verify error; with client_ca_file (mutual TLS) a client without a certificate
#    is refused and one with a certificate the CA signed is served;
#  - SIGHUP after the certificate files were replaced serves the new certificate (its serial,
#    read with openssl s_client); a reload with a key of another certificate is refused and
#    the running certificate stays.
# Usage: tls_test.sh /path/to/kscope /path/to/testprogs
set -uo pipefail
kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope collect loads BPF probes and needs root"
for tool in prometheus openssl curl; do
  command -v $tool >/dev/null || fail "$tool is missing: scripts/install-deps.sh installs it"
done

port=$((20000 + $$ % 12000))  # below the ephemeral range: no outgoing connection takes it
stream_port=$((port + 1))
mutual_port=$((port + 2))
prom_port=$((port + 3))
udp_port=$((port + 4))

# --- the certificates
# make_ca NAME: NAME.crt and NAME.key, a self-signed CA.
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=kscope e2e $1" -keyout "$tmp/$1.key" -out "$tmp/$1.crt" 2>"$tmp/openssl.err" ||
    fail "openssl could not make the CA $1: $(cat "$tmp/openssl.err")"
}
# make_cert NAME SERIAL [SAN]: NAME.crt (signed by ca) and NAME.key (mode 0600).
make_cert() {
  local ext=$tmp/$1.ext
  : >"$ext"
  [[ -n ${3:-} ]] && echo "subjectAltName=$3" >"$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$tmp/$1.key" -out "$tmp/$1.csr" 2>"$tmp/openssl.err" &&
    openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -set_serial "$2" \
      -days 2 -extfile "$ext" -out "$tmp/$1.crt" 2>"$tmp/openssl.err" ||
    fail "openssl could not make the certificate $1: $(cat "$tmp/openssl.err")"
  chmod 600 "$tmp/$1.key"
}
make_ca ca
make_ca other
make_cert server 2 IP:127.0.0.1
make_cert client 3
make_cert rotated 153 IP:127.0.0.1

cat >"$tmp/collect.yaml" <<EOF
listen: 127.0.0.1:$port
tls:
  cert_file: $tmp/server.crt
  key_file: $tmp/server.key
sources: {flows: {idle_timeout: 500ms, sweep_interval: 100ms}, tcp: false, drops: false, dns: false,
          runqlat: false, biolatency: false, syscalls: false}
sinks:
  - name: live
    type: stream
    listen: 127.0.0.1:$stream_port
    tls: {cert_file: $tmp/server.crt, key_file: $tmp/server.key}
  - name: mutual
    type: stream
    listen: 127.0.0.1:$mutual_port
    tls: {cert_file: $tmp/server.crt, key_file: $tmp/server.key, client_ca_file: $tmp/ca.crt}
EOF
"$kscope" collect --check-config "$tmp/collect.yaml" >/dev/null 2>"$tmp/check.err" ||
  fail "--check-config: $(cat "$tmp/check.err")"
start_collect "$tmp/collect.yaml"
grep -q "metrics at https://127.0.0.1:$port/metrics" "$tmp/err" || fail "the start does not say https"

# --- the metrics endpoint
metrics() { curl -s --max-time 5 --cacert "$tmp/ca.crt" "https://127.0.0.1:$port/metrics" "$@"; }
metrics -o "$tmp/scrape.txt" || fail "curl --cacert could not scrape"
grep -q '^kscope_build_info{version="' "$tmp/scrape.txt" || fail "no kscope_build_info over TLS"
grep -qx 'kscope_tls_handshake_failures_total{endpoint="metrics"} 0' "$tmp/scrape.txt" ||
  fail "handshake failures before any: $(grep tls_handshake "$tmp/scrape.txt")"
rc=0
curl -s --max-time 5 -o "$tmp/plain.txt" "http://127.0.0.1:$port/metrics" || rc=$?
[[ $rc -ne 0 && ! -s $tmp/plain.txt ]] || fail "plain HTTP to the TLS port: curl exit $rc, $(head -c 200 "$tmp/plain.txt")"
metrics -o "$tmp/scrape.txt"
grep -qx 'kscope_tls_handshake_failures_total{endpoint="metrics"} 1' "$tmp/scrape.txt" ||
  fail "the plain HTTP request is not counted: $(grep tls_handshake "$tmp/scrape.txt")"
rc=0
curl -s --max-time 5 -o /dev/null "https://127.0.0.1:$port/metrics" || rc=$?
[[ $rc -eq 60 ]] || fail "curl without the CA: exit $rc, not 60 (peer certificate cannot be authenticated)"

start_prometheus "" "$prom_port" "  - job_name: with_ca
    scheme: https
    tls_config:
      ca_file: $tmp/ca.crt
    static_configs:
      - targets: ['127.0.0.1:$port']
  - job_name: without_ca
    scheme: https
    static_configs:
      - targets: ['127.0.0.1:$port']"
for _ in $(seq 1 50); do
  [[ $(query 'up{job="with_ca"}') == 1 && $(query 'up{job="without_ca"}') == 0 ]] && break
  sleep 0.3
done
[[ $(query 'up{job="with_ca"}') == 1 ]] || fail "Prometheus with ca_file: up is $(query 'up{job="with_ca"}')"
[[ $(query 'up{job="without_ca"}') == 0 ]] || fail "Prometheus without the CA: up is not 0"
curl -sf "http://127.0.0.1:$prom_port/api/v1/targets" | grep -q 'x509: certificate signed by unknown authority' ||
  fail "Prometheus does not name the unknown CA as the target's error"
[[ $(query 'kscope_build_info{job="with_ca"}') == 1 ]] || fail "no kscope_build_info through Prometheus over TLS"

# --- the stream: flow records of UDP datagrams to $udp_port, over TLS
observe() { timeout 10 "$kscope" observe --last 5 --port "$udp_port" -o json "$@"; }
got=
for _ in $(seq 1 50); do
  echo ping >"/dev/udp/127.0.0.1/$udp_port"
  observe --server "127.0.0.1:$stream_port" --tls-ca "$tmp/ca.crt" >"$tmp/out" 2>"$tmp/obs.err" ||
    fail "observe --tls-ca: $(cat "$tmp/obs.err")"
  grep -q '^{"schema":"kscope.flow.v1"' "$tmp/out" && got=1 && break
  sleep 0.2
done
[[ -n $got ]] || fail "no flow record to port $udp_port over TLS"
grep -q "\"destination_port\":$udp_port" "$tmp/out" || fail "the record is not to port $udp_port: $(head -1 "$tmp/out")"

rc=0
observe --server "127.0.0.1:$stream_port" --tls-ca "$tmp/other.crt" >"$tmp/out" 2>"$tmp/obs.err" || rc=$?
want="kscope: error: TLS with 127.0.0.1:$stream_port: the collector's certificate failed verification: unable to get local issuer certificate"
[[ $rc -eq 1 && $(head -1 "$tmp/obs.err") == "$want" && ! -s $tmp/out ]] ||
  fail "observe with another CA: exit $rc, $(cat "$tmp/obs.err")"

# --- mutual TLS: a client certificate the CA signed, or nothing
rc=0
observe --server "127.0.0.1:$mutual_port" --tls-ca "$tmp/ca.crt" >"$tmp/out" 2>"$tmp/obs.err" || rc=$?
want="kscope: error: read from 127.0.0.1:$mutual_port: SSL routines: tlsv13 alert certificate required"
[[ $rc -eq 1 && $(head -1 "$tmp/obs.err") == "$want" && ! -s $tmp/out ]] ||
  fail "observe without a client certificate: exit $rc, $(cat "$tmp/obs.err")"
observe --server "127.0.0.1:$mutual_port" --tls-ca "$tmp/ca.crt" --tls-cert "$tmp/client.crt" \
  --tls-key "$tmp/client.key" >"$tmp/out" 2>"$tmp/obs.err" ||
  fail "observe with a client certificate: $(cat "$tmp/obs.err")"
grep -q '^{"schema":"kscope.flow.v1"' "$tmp/out" || fail "no flow record over mutual TLS"
metrics -o "$tmp/scrape.txt"
grep -qx 'kscope_tls_handshake_failures_total{endpoint="stream"} 2' "$tmp/scrape.txt" ||
  fail "the wrong CA and the missing certificate are not counted: $(grep tls_handshake "$tmp/scrape.txt")"

# --- a new certificate on SIGHUP, for the endpoint and the stream
serial_at() {
  timeout 5 openssl s_client -connect "127.0.0.1:$1" -CAfile "$tmp/ca.crt" </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null
}
[[ $(serial_at "$port") == serial=02 ]] || fail "the endpoint's serial before SIGHUP: $(serial_at "$port")"
cp "$tmp/rotated.crt" "$tmp/server.crt"
cp "$tmp/rotated.key" "$tmp/server.key"
kill -HUP "$kpid"
for _ in $(seq 1 50); do grep -q "reloaded" "$tmp/err" && break; sleep 0.1; done
grep -q "reloaded" "$tmp/err" || fail "no reload after SIGHUP"
[[ $(serial_at "$port") == serial=99 ]] || fail "the endpoint's serial after SIGHUP: $(serial_at "$port")"
[[ $(serial_at "$stream_port") == serial=99 ]] || fail "the stream's serial after SIGHUP: $(serial_at "$stream_port")"
metrics -o /dev/null || fail "curl --cacert after the rotation"

# --- a key of another certificate: the reload is refused, the certificate in use stays
cp "$tmp/client.key" "$tmp/server.key"
kill -HUP "$kpid"
want="kscope collect: reload refused: $tmp/collect.yaml:4:13: tls.key_file: key file $tmp/server.key does not match the certificate $tmp/server.crt: x509 certificate routines: key values mismatch"
for _ in $(seq 1 50); do grep -qxF "$want" "$tmp/err" && break; sleep 0.1; done
grep -qxF "$want" "$tmp/err" || fail "the mismatched key's reload is not refused as expected"
[[ $(serial_at "$port") == serial=99 ]] || fail "the endpoint's serial after a refused reload: $(serial_at "$port")"

kill -TERM "$kpid"
wait "$kpid" || fail "kscope collect exited $? after SIGTERM"
kpid=
echo "PASS: TLS on metrics (curl --cacert, plain HTTP refused and counted, Prometheus https with and without ca_file) and stream (observe --tls-ca, wrong CA, mutual TLS); certificate rotated on SIGHUP, a mismatched key's reload refused"
