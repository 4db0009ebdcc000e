#!/usr/bin/env python3
"""Parsing, matching and Markdown tables for bench/open_storm.sh and bench/exec_storm.sh.

  bench_helper.py open-table RESULTS.tsv OPENS CHECK_OPENS
  bench_helper.py exec-match kscope|execsnoop OUTPUT EXPECTED TARGET
  bench_helper.py exec-table RESULTS.tsv N
"""
import csv
import json
import re
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


ORDER = ["untraced", "kscope", "kscope-smallbuf", "opensnoop", "bpftrace", "execsnoop"]


def by_tracer(rows):
    out = {}
    for r in rows:
        out.setdefault(r["tracer"], []).append(r)
    return sorted(out.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else 99)


def open_table(path, opens, check_opens):
    rows = read_tsv(path)
    opens, check_opens = int(opens), int(check_opens)
    main = [r for r in rows if not r["rep"].startswith("check")]
    checks = [r for r in rows if r["rep"].startswith("check")]
    base_rates = [num(r["rate"]) for r in main if r["tracer"] == "untraced"]
    base = statistics.median(base_rates) if base_rates else None

    print("| Run | Storm rate, opens/s: median (min–max) | % of untraced median | "
          f"Delivered of {opens:,} (each run) | Lost, reported (each run) | "
          "Unaccounted = expected − delivered − lost (each run) | Drain, events/s: median (min–max) | "
          "Tracer CPU s, user+sys (each run) | CPU s per 1M events: median (min–max) | Status |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for tracer, rs in by_tracer(main):
        rates = [num(r["rate"]) for r in rs]
        if tracer == "untraced":
            print(f"| untraced | {med_range(rates)} | 100% | – | – | – | – | – | – | "
                  f"{', '.join(sorted(set(r['status'] for r in rs)))} |")
            continue
        delivered = [num(r["delivered"]) for r in rs]
        lost = [num(r["lost"]) for r in rs]
        unacc = [opens - d - l for d, l in zip(delivered, lost)]
        drain = [d / num(r["seconds"]) for d, r in zip(delivered, rs) if num(r["seconds"]) > 0]
        cpu = [num(r["cpu"]) for r in rs]
        per_m = [c / (d / 1e6) for c, d in zip(cpu, delivered) if d > 0]
        print(f"| {tracer} | {med_range(rates)} | {pct_range(rates, base)} | {each(delivered)} | "
              f"{each(lost)} | {each(unacc)} | {med_range(drain)} | "
              f"{', '.join(f'{c:.2f}' for c in cpu)} | {med_range(per_m, lambda v: f'{v:.2f}')} | "
              f"{', '.join(sorted(set(r['status'] for r in rs)))} |")
    if checks:
        print()
        print(f"kscope at default buffer sizes (16 MiB ring), {check_opens:,} opens, target 0 lost:")
        print()
        print("| Run | Storm rate, opens/s | % of untraced median | Delivered | Lost, reported | Unaccounted | "
              "Drain, events/s | kscope CPU s | CPU s per 1M events | Status |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in checks:
            d, l, c, rate = num(r["delivered"]), num(r["lost"]), num(r["cpu"]), num(r["rate"])
            secs = num(r["seconds"])
            pct = f"{100.0 * rate / base:.0f}%" if base else "n/a"
            print(f"| kscope {r['rep']} | {fmt_int(rate)} | {pct} | {fmt_int(d)} | {fmt_int(l)} | "
                  f"{fmt_int(check_opens - d - l)} | {fmt_int(d / secs) if secs > 0 else 'n/a'} | {c:.2f} | "
                  f"{(c / (d / 1e6)) if d > 0 else float('nan'):.2f} | {r['status']} |")


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
    if len(argv) >= 2 and argv[1] == "open-table" and len(argv) == 5:
        open_table(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "exec-match" and len(argv) == 6:
        exec_match(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "exec-table" and len(argv) == 4:
        exec_table(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
