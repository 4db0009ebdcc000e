#!/usr/bin/env bash
# `kscope doctor -o json` as a user runs it, on this project's machines (Linux 6.18, BTF, no
# kprobes, no fentry): the facts it reports, its quiet stderr, and that probing left no
# cgroup, network namespace or BPF program behind.
# Usage: doctor_json_test.sh /path/to/kscope   (exit 77 = skipped: needs root)
set -euo pipefail

kscope=${1:?usage: $0 /path/to/kscope}
source "$(dirname "$0")/lib.sh"
require_root "kscope doctor probes real BPF hooks and needs root"

cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
leftovers() {
  ls -d "$cgroup2"/kscope-probe-* 2>/dev/null || true
  ip netns list 2>/dev/null || true
  bpftool prog show 2>/dev/null | grep -o 'name probe_[a-z_]*' || true
}
# Programs of an earlier test may still be on their way out (freed after an RCU grace
# period): let them go first, so that "before" holds only what is really there.
for _ in $(seq 50); do
  leftovers >"$tmp/before"
  grep -q 'name probe_' "$tmp/before" || break
  sleep 0.1
done

rc=0
"$kscope" doctor -o json >"$tmp/out.json" 2>"$tmp/err" || rc=$?
if [[ $rc -ne 0 ]]; then
  echo "FAIL: kscope doctor -o json exited $rc" >&2
  cat "$tmp/err" >&2
  exit 1
fi
if grep -q 'libbpf' "$tmp/err"; then
  echo "FAIL: libbpf messages on stderr without -v:" >&2
  cat "$tmp/err" >&2
  exit 1
fi

python3 - "$tmp/out.json" <<'EOF'
import json, sys

with open(sys.argv[1]) as f:
    d = json.load(f)
fails = []

def check(cond, what):
    if not cond:
        fails.append(what)

check(d.get("ok") is True and d.get("error") is None, f"ok/error: {d.get('ok')} {d.get('error')}")
check(d["kernel"]["release"] != "", "kernel release is empty")
check(d["btf"]["path"] == "/sys/kernel/btf/vmlinux", f"btf path: {d['btf']}")
check(d["btf"]["works"] is True, f"btf: {d['btf']}")
check(d["tracefs"]["ok"] is True and d["tracefs"]["path"], f"tracefs: {d['tracefs']}")
check(isinstance(d["tracefs"]["mounted_by_us"], bool), "tracefs.mounted_by_us is not a bool")
check("ok" in d["bpffs"], "bpffs.ok is missing")
caps = d["capabilities"]
check(caps["tracing_allowed"] is True, "capabilities.tracing_allowed is false as root")
check("CAP_BPF" in caps["held"] and "CAP_SYS_ADMIN" in caps["held"], f"held: {caps['held']}")
check(caps["effective"].startswith("0x"), f"effective: {caps['effective']}")

hooks = d["hooks"]
expected = ["btf", "ringbuf", "tracepoint", "raw_tp", "tp_btf", "kprobe", "fentry", "tc",
            "cgroup_skb", "perf_event"]
check(list(hooks) == expected, f"hooks listed: {list(hooks)}")
for name in ["tracepoint", "raw_tp", "tp_btf", "ringbuf", "btf", "tc", "cgroup_skb", "perf_event"]:
    check(hooks.get(name, {}).get("works") is True, f"{name} should work: {hooks.get(name)}")
for name in ["kprobe", "fentry"]:
    h = hooks.get(name, {})
    check(h.get("works") is False, f"{name} should be missing: {h}")
    check(bool(h.get("reason")), f"{name} has no reason")
check("CONFIG_KPROBES" in hooks["kprobe"]["reason"], f"kprobe reason: {hooks['kprobe']['reason']}")
check("fentry" in hooks["fentry"]["reason"], f"fentry reason: {hooks['fentry']['reason']}")

tools = d["tools"]
for name in ["exec", "open"]:
    t = tools.get(name)
    check(t is not None, f"tool {name} is missing")
    if t is None:
        continue
    check(t["hook"] is not None and t["error"] is None, f"{name} has no hook: {t.get('error')}")
    chosen = [a for a in t["alternatives"] if a["status"] == "chosen"]
    check(len(chosen) == 1 and chosen[0]["name"] == t["hook"], f"{name} chosen: {chosen}")
    check(all(a["works"] for a in chosen), f"{name} chose a hook that does not work")
    for a in t["alternatives"]:
        check(a["status"] in ("chosen", "skipped", "fallback"), f"{name}: status {a['status']}")
        if a["status"] == "skipped":
            check(not a["works"] and a["reason"], f"{name}: skipped {a['name']} without reason")

if fails:
    for f in fails:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1)
EOF

# The table output says the same, and the help has an example.
"$kscope" doctor >"$tmp/out.txt" 2>"$tmp/err"
for word in HOOK tracepoint kprobe CONFIG_KPROBES TOOL exec open capabilities; do
  grep -q -- "$word" "$tmp/out.txt" || { echo "FAIL: table lacks $word" >&2; exit 1; }
done
"$kscope" doctor --help | grep -q 'kscope doctor -o json' ||
  { echo "FAIL: doctor --help has no example" >&2; exit 1; }

# The kernel frees a detached program after an RCU grace period: allow it a few seconds.
# Only what appeared counts: something of another test's that went away meanwhile does not.
new_leftovers() { comm -13 <(sort "$tmp/before") <(sort "$tmp/after"); }
for _ in $(seq 50); do
  leftovers >"$tmp/after"
  [[ -z $(new_leftovers) ]] && break
  sleep 0.1
done
if [[ -n $(new_leftovers) ]]; then
  new_leftovers >&2
  echo "FAIL: doctor left cgroups, network namespaces or BPF programs behind" >&2
  exit 1
fi
echo "PASS: doctor_json_test"
