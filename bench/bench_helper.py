#!/usr/bin/env python3
"""Parsing, matching and Markdown tables for bench/event_storm.sh and bench/exec_storm.sh.

  bench_helper.py storm-table RESULTS.tsv TOOL
  bench_helper.py prog-delta BEFORE.json AFTER.json PROG_IDS
  bench_helper.py ring-pos PID
  bench_helper.py cost-table RESULTS.tsv TOOL
  bench_helper.py exec-match kscope|execsnoop OUTPUT EXPECTED TARGET
  bench_helper.py exec-table RESULTS.tsv N
"""
import ctypes
import csv
import glob
import json
import mmap
import os
import re
import struct
import statistics
import sys


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def fmt_int(v):
    return "n/a" if v != v else f"{int(round(v)):,}"


def med_range(values, fmt=fmt_int):
    if not values:
        return "n/a"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def pct_range(values, base):
    if not values or not base:
        return "n/a"
    p = lambda v: f"{100.0 * v / base:.0f}%"
    return f"{p(statistics.median(values))} ({p(min(values))}–{p(max(values))})"


def each(values):
    if len(values) > 1 and len(set(values)) == 1:
        return f"{fmt_int(values[0])} (all {len(values)})"
    return ", ".join(fmt_int(v) for v in values)


ORDER = ["untraced", "kscope", "kscope-base", "kscope-smallbuf", "peer", "bpftrace", "execsnoop"]


def by_tracer(rows):
    out = {}
    for r in rows:
        out.setdefault(r["tracer"], []).append(r)
    return sorted(out.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else 99)


def storm_table(path, tool):
    rows = [r for r in read_tsv(path) if r["tool"] == tool]
    main = [r for r in rows if not r["rep"].startswith("check")]
    checks = [r for r in rows if r["rep"].startswith("check")]
    base_rates = [num(r["rate"]) for r in main if r["tracer"] == "untraced"]
    base = statistics.median(base_rates) if base_rates else None
    expected = int(main[0]["expected"]) if main else 0

    print("| Run | Storm rate, per s: median (min–max) | % of untraced median | "
          f"Delivered of {expected:,} (each run) | Lost, reported (each run) | "
          "Unaccounted = expected − delivered − lost (each run) | "
          "Tracer CPU s, user+sys (each run) | CPU s per 1M events: median (min–max) | Status |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tracer, rs in by_tracer(main):
        rates = [num(r["rate"]) for r in rs]
        status = ", ".join(sorted(set(r["status"] for r in rs)))
        if tracer == "untraced":
            print(f"| untraced | {med_range(rates)} | 100% | – | – | – | – | – | {status} |")
            continue
        delivered = [num(r["delivered"]) for r in rs]
        lost = [num(r["lost"]) for r in rs]
        unacc = [num(r["expected"]) - d - l for r, d, l in zip(rs, delivered, lost)]
        cpu = [num(r["cpu"]) for r in rs]
        per_m = [c / (d / 1e6) for c, d in zip(cpu, delivered) if d > 0]
        print(f"| {tracer} | {med_range(rates)} | {pct_range(rates, base)} | {each(delivered)} | "
              f"{each(lost)} | {each(unacc)} | {', '.join(f'{c:.2f}' for c in cpu)} | "
              f"{med_range(per_m, lambda v: f'{v:.2f}')} | {status} |")
    if checks:
        n = int(checks[0]["expected"])
        print()
        print(f"kscope at default buffer sizes, {n:,} events expected, target 0 lost:")
        print()
        print("| Run | Storm rate, per s | % of untraced median | Delivered | Lost, reported | "
              "Unaccounted | kscope CPU s | CPU s per 1M events | Status |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in checks:
            d, l, c, rate = num(r["delivered"]), num(r["lost"]), num(r["cpu"]), num(r["rate"])
            pct = f"{100.0 * rate / base:.0f}%" if base else "n/a"
            print(f"| kscope {r['rep']} | {fmt_int(rate)} | {pct} | {fmt_int(d)} | {fmt_int(l)} | "
                  f"{fmt_int(num(r['expected']) - d - l)} | {c:.2f} | "
                  f"{(c / (d / 1e6)) if d > 0 else float('nan'):.2f} | {r['status']} |")


# ---- probe cost ------------------------------------------------------------------------

def prog_delta(before_path, after_path, ids):
    """The programs IDS (comma separated) as name:type:runs:run_time_ns;... over the storm, from
    two `bpftool prog show -j` snapshots taken with kernel.bpf_stats_enabled=1."""
    def load(path):  # an empty BEFORE (/dev/null): the counters since the programs loaded
        with open(path) as f:
            text = f.read()
        return {p["id"]: p for p in json.loads(text)} if text else {}
    before, after = load(before_path), load(after_path)
    out = []
    for id_ in sorted({int(i) for i in ids.split(",") if i}):
        p, b = after.get(id_, {}), before.get(id_, {})
        runs = p.get("run_cnt", 0) - b.get("run_cnt", 0)
        ns = p.get("run_time_ns", 0) - b.get("run_time_ns", 0)
        out.append(f"{p.get('name', '?')}:{p.get('type', '?')}:{runs}:{ns}")
    print(";".join(out))


BPF_MAP_TYPE_RINGBUF = 27
BPF_MAP_GET_FD_BY_ID = 14
SYS_BPF = 321  # x86-64


def ring_pos(pid):
    """Bytes ever written into the BPF ring buffers PID holds: the sum of their producer
    positions, read from the page after the consumer's (bpftool shows no ring positions)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ids = set()
    for info in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(info) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if fields.get("map_type", "").strip() == str(BPF_MAP_TYPE_RINGBUF):
            ids.add(int(fields["map_id"]))
    page = mmap.PAGESIZE
    total = 0
    for map_id in ids:
        attr = ctypes.create_string_buffer(struct.pack("III", map_id, 0, 0), 128)
        fd = libc.syscall(SYS_BPF, BPF_MAP_GET_FD_BY_ID, attr, 128)
        if fd < 0:
            sys.exit(f"ring-pos: map {map_id}: {os.strerror(ctypes.get_errno())}")
        try:
            with mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ, offset=page) as m:
                total += struct.unpack_from("Q", m, 0)[0]
        finally:
            os.close(fd)
    print(total)


def cost_table(path, tool):
    rows = [r for r in read_tsv(path) if r["tool"] == tool]
    tracers = []
    for r in rows:
        if r["tracer"] not in tracers:
            tracers.append(r["tracer"])
    per_event = lambda r: num(r["storm_cpu"]) * 1e9 / num(r["events"])
    base = [per_event(r) for r in rows if r["tracer"] == "untraced"]
    base = statistics.median(base) if base else None
    ns = lambda v: f"{v:,.0f}"
    print("| Tracer | Programs: runs per storm event × mean ns per run (median of runs) | "
          "BPF run time per storm event, ns: median (min–max) | "
          "Storm CPU per event, ns: median (min–max) | Added CPU per event over untraced, ns | "
          "Ring buffer bytes per storm event (each run) |")
    print("|---|---|---|---|---|---|")
    for tracer in tracers:
        rs = [r for r in rows if r["tracer"] == tracer]
        cpu = [per_event(r) for r in rs]
        if tracer == "untraced":
            print(f"| untraced | – | – | {med_range(cpu, ns)} | – | – |")
            continue
        progs, totals = {}, []
        for r in rs:
            total = 0
            for p in filter(None, r["progs"].split(";")):
                name, type_, runs, t = p.rsplit(":", 3)
                runs, t = int(runs), int(t)
                total += t
                progs.setdefault((name, type_), []).append((runs / num(r["events"]), t / runs if runs else 0))
            totals.append(total / num(r["events"]))
        cells = []
        for (name, type_), v in progs.items():
            if not any(runs for runs, _ in v):
                continue
            cells.append(f"{name} ({type_}) {statistics.median(x for x, _ in v):.2f} × "
                         f"{statistics.median(y for _, y in v):,.0f}")
        added = f"{statistics.median(cpu) - base:,.0f}" if base is not None else "n/a"
        ring = [num(r["ring_bytes"]) / num(r["events"]) for r in rs if r["ring_bytes"]]
        ring = ", ".join(f"{b:,.1f}" for b in ring) if ring else "– (no ring buffer)"
        print(f"| {tracer} | {'<br>'.join(cells) or 'no program ran'} | {med_range(totals, ns)} | "
              f"{med_range(cpu, ns)} | {added} | {ring} |")


# ---- exec ------------------------------------------------------------------------------

def read_expected(path):
    """pid ppid uid comm ret argv(\\x1f separated), one exec a line (tests/testprogs/exec_many.c)."""
    exp = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
            pid, ppid, uid, comm, ret, argv = line.split("\t", 5)
            exp[int(pid)] = dict(ppid=int(ppid), uid=int(uid), comm=comm, ret=int(ret),
                                 argv=argv.split("\x1f"))
    return exp


def exec_path(e, target, expected_path):
    """The path exec_many passed to execv (execsnoop prints it in place of argv[0])."""
    if e["ret"] == 0:
        return target
    if e["ret"] == -13:  # EACCES: exec_many execs its own EXPECTED file (not executable)
        return expected_path
    m = re.fullmatch(r"kscope-bar-(\d+)", e["argv"][1])
    return f"/nonexistent/kscope-missing-{m.group(1)}" if m else None


def parse_kscope(path):
    events, lost = {}, 0
    with open(path, "rb") as f:
        for raw in f:
            try:
                o = json.loads(raw)
            except ValueError:
                continue
            if o.get("type") == "lost":
                lost = max(lost, int(o.get("total_lost", 0)))
            if o.get("type") != "exec":
                continue
            events.setdefault(int(o["pid"]), []).append(dict(
                ppid=o.get("ppid"), uid=o.get("uid"), comm=o.get("comm"), ret=o.get("ret"),
                args=o.get("args"), truncated=bool(o.get("args_truncated"))))
    return events


EXECSNOOP_LINE = re.compile(r"^(\d+)\s*(.{16}) (\d+)\s+(\d+)\s+(-?\d+) (.*)$", re.S)


def parse_execsnoop(path):
    """execsnoop -U -x: UID PCOMM PID PPID RET ARGS (comm padded to 16, args end in a space)."""
    events = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
            m = EXECSNOOP_LINE.match(line)
            if not m:
                continue
            uid, comm, pid, ppid, ret, args = m.groups()
            if args.endswith(" "):
                args = args[:-1]
            events.setdefault(int(pid), []).append(dict(
                ppid=int(ppid), uid=int(uid), comm=comm.rstrip(" "), ret=int(ret), args=args))
    return events


def exec_match(kind, output, expected_path, target):
    exp = read_expected(expected_path)
    events = parse_kscope(output) if kind == "kscope" else parse_execsnoop(output)
    caught = argv_exact = argv_path_exact = cut_flagged = ret_exact = fields_exact = dups = 0
    for pid, e in exp.items():
        evs = events.get(pid)
        if not evs:
            continue
        caught += 1
        dups += len(evs) - 1
        ev = evs[0]
        if ev["ret"] == e["ret"]:
            ret_exact += 1
        if (ev["ppid"], ev["uid"], ev["comm"]) == (e["ppid"], e["uid"], e["comm"]):
            fields_exact += 1
        # argv_path_exact: the argv with the exec'd path in place of argv[0], execsnoop's
        # form; counted by the same rule for every tracer.
        path = exec_path(e, target, expected_path)
        if kind == "kscope":
            if ev["args"] == e["argv"]:
                argv_exact += 1
            elif ev["truncated"] and ev["args"] and len(ev["args"]) <= len(e["argv"]) and all(
                    a == b or b.startswith(a) or (a.endswith("...") and b.startswith(a[:-3]))
                    for a, b in zip(ev["args"], e["argv"])):
                cut_flagged += 1
            if path is not None and ev["args"] == [path] + e["argv"][1:]:
                argv_path_exact += 1
        else:
            if ev["args"] == " ".join(e["argv"]):
                argv_exact += 1
            if path is not None and ev["args"] == " ".join([path] + e["argv"][1:]):
                argv_path_exact += 1
    print(caught, argv_exact, argv_path_exact, cut_flagged, ret_exact, fields_exact, dups)


def exec_table(path, n):
    rows = read_tsv(path)
    n = int(n)
    base_rates = [num(r["rate"]) for r in rows if r["tracer"] == "untraced"]
    base = statistics.median(base_rates) if base_rates else None
    print(f"| Run | Exec rate, execs/s: median (min–max) | % of untraced median | Caught of {n:,} (each run) | "
          "argv exact (each run) | argv exact with argv[0] → exec path (each run) | "
          "argv cut to --max-arg-len, flagged (each run) | ret exact (each run) | "
          "ppid+uid+comm exact (each run) | Duplicates | Lost, reported | Tracer CPU s | Status |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for tracer, rs in by_tracer(rows):
        rates = [num(r["rate"]) for r in rs]
        status = ", ".join(sorted(set(r["status"] for r in rs)))
        if tracer == "untraced":
            print(f"| untraced | {med_range(rates)} | 100% | – | – | – | – | – | – | – | – | – | {status} |")
            continue
        col = lambda k: each([num(r[k]) for r in rs])
        print(f"| {tracer} | {med_range(rates)} | {pct_range(rates, base)} | {col('caught')} | "
              f"{col('argv_exact')} | {col('argv_path_exact')} | {col('cut_flagged')} | {col('ret_exact')} | "
              f"{col('fields_exact')} | {col('dups')} | {col('lost')} | "
              f"{', '.join(r['cpu'] for r in rs)} | {status} |")


def main(argv):
    if len(argv) >= 2 and argv[1] == "storm-table" and len(argv) == 4:
        storm_table(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "prog-delta" and len(argv) == 5:
        prog_delta(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "ring-pos" and len(argv) == 3:
        ring_pos(argv[2])
    elif len(argv) >= 2 and argv[1] == "cost-table" and len(argv) == 4:
        cost_table(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "exec-match" and len(argv) == 6:
        exec_match(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "exec-table" and len(argv) == 4:
        exec_table(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
