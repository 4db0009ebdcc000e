#!/usr/bin/env bash
# `kscope trace profile --folded --svg FILE` as a user runs it on profile_known's pid: the
# folded lines must have its spinning function called from main, and the SVG flame graph
# kscope wrote must render in headless Chromium: the parsed document holds the frames' names
# (and no XML parse error), and the screenshot shows the flame colors of its frames.
# Usage: profile_svg_test.sh /path/to/kscope /path/to/testprogs   (exit 77 = skipped)
set -euo pipefail

kscope=${1:?usage: $0 /path/to/kscope /path/to/testprogs}
progs=${2:?usage: $0 /path/to/kscope /path/to/testprogs}
source "$(dirname "$0")/lib.sh"
require_root "kscope trace profile loads BPF probes and needs root"
chromium=$(command -v chromium || command -v chromium-browser || true)
[[ -n $chromium ]] || { echo "SKIP: no chromium to render the SVG (scripts/install-deps.sh installs it)" >&2; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the screenshot" >&2; exit 77; }

# profile_known waits for a line on its stdin before it burns its CPU time, and for the end
# of its stdin before it exits: a FIFO held open on fd 3 drives both.
mkfifo "$tmp/go"
"$progs/profile_known" 1500 200 <"$tmp/go" >"$tmp/child" &
child=$!
exec 3>"$tmp/go"
for _ in $(seq 100); do [[ -s $tmp/child ]] && break; sleep 0.1; done
pid=$(awk 'NR == 1 { print $1 }' "$tmp/child")
[[ $pid == "$child" ]] || fail "profile_known printed '$(cat "$tmp/child")'"

"$kscope" -v trace profile --pid "$pid" -F 199 --folded --svg "$tmp/fg.svg" --duration 120 \
  >"$tmp/folded" 2>"$tmp/err" &
kpid=$!
for _ in $(seq 300); do
  grep -q "attached via" "$tmp/err" && break
  kill -0 "$kpid" 2>/dev/null || fail "kscope exited before it attached"
  sleep 0.1
done
grep -q "attached via" "$tmp/err" || fail "kscope did not attach in 30 s"

echo go >&3
for _ in $(seq 1200); do grep -q '^done$' "$tmp/child" && break; sleep 0.1; done
grep -q '^done$' "$tmp/child" || fail "profile_known did not finish in 120 s"
# Stopped while profile_known still runs: the last snapshot symbolizes its live mappings.
kill -INT "$kpid"
krc=0
wait "$kpid" || krc=$?
kpid=
exec 3>&-
wait "$child"
[[ $krc -eq 0 ]] || fail "kscope exited $krc after SIGINT"
summary=$(tail -n 1 "$tmp/err")
[[ $summary =~ ^kscope:\ trace\ profile:\ 1\ interval,\ [0-9]+\ rows\ shown,\ 0\ lost\ \(stopped\ by\ signal\ 2\)$ ]] ||
  fail "summary line: '$summary'"

grep -Eq '^profile_known;(.*;)?main;kscope_profile_spin [0-9]+$' "$tmp/folded" ||
  fail "no folded line of main;kscope_profile_spin: $(head -5 "$tmp/folded")"
grep -Eq '^profile_known;(.*;)?kscope_profile_read_zero;.*read_zero_\[k\]' "$tmp/folded" ||
  fail "no folded line with the kernel's read_zero_[k]: $(head -5 "$tmp/folded")"
[[ -s $tmp/fg.svg ]] || fail "no SVG written"

run_chromium() {
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$tmp/profile" "$@" \
    2>>"$tmp/chromium.err"
}
run_chromium --dump-dom "file://$tmp/fg.svg" >"$tmp/dom" ||
  fail "chromium --dump-dom failed: $(tail -5 "$tmp/chromium.err")"
grep -q 'parsererror' "$tmp/dom" && fail "chromium could not parse the SVG: $(grep -m1 -A2 parsererror "$tmp/dom")"
for name in kscope_profile_spin main profile_known read_zero; do
  grep -q "<title>$name (" "$tmp/dom" || fail "the rendered document has no frame $name"
done
run_chromium --screenshot="$tmp/fg.png" --window-size=1200,800 "file://$tmp/fg.svg" >/dev/null ||
  fail "chromium --screenshot failed: $(tail -5 "$tmp/chromium.err")"
[[ -s $tmp/fg.png ]] || fail "no screenshot"

# The screenshot's pixels: the frames' flame colors (user code red to yellow: r >= 205, b
# <= 55) must cover a good part of it, and the kernel's orange some of it.
python3 - "$tmp/fg.png" <<'EOF'
import struct, sys, zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
at, idat = 8, b""
while at < len(data):
    n, kind = struct.unpack(">I4s", data[at:at + 8])
    body = data[at + 8:at + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    at += 12 + n
assert depth == 8 and ctype in (2, 6), f"unexpected PNG format {depth}/{ctype}"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows = bytearray(stride), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
hot = orange = 0
for line in rows:
    for x in range(0, stride, bpp):
        r, g, b = line[x], line[x + 1], line[x + 2]
        hot += r >= 205 and b <= 55 and g < 230
        orange += r >= 190 and 90 <= g <= 155 and b == 0
total = w * h
print(f"screenshot {w}x{h}: {hot} flame pixels, {orange} kernel-orange")
assert hot > total // 100, "the flame graph's frames are not in the screenshot"
EOF
echo "PASS: profile_svg_test ($summary; $(wc -l <"$tmp/folded") folded lines)"
