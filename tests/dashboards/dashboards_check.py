#!/usr/bin/python3
"""Checks of the Grafana dashboards and the alert rules (dashboards/).

    dashboards_check.py static
        The unit tier: the JSON is what dashboards/build.py writes, structurally sound
        (unique ids, gridPos in the 24-column grid without overlaps, a datasource and a refId
        on every target, every variable used defined and every one defined used, every
        range `$__rate_interval` or `$__range`), every metric named is in docs/metrics.md,
        and every alert has a severity, a summary and a description.

    dashboards_check.py live PROMETHEUS_URL SCRAPE_FILE START UP_END END
        The e2e tier: every PromQL expression of every dashboard (panels and variables) and
        every alert rule, Grafana's macros substituted as Grafana would, evaluated by the
        real Prometheus at PROMETHEUS_URL returns data: at least one finite sample over
        [START, END] (Unix seconds), or at UP_END for an instant query (a table, a
        variable), the collector's last moment up (END may be after it stopped, for the
        alert on a collector down). Every metric named is in SCRAPE_FILE, a real scrape.

Exits 1 listing every failure.
"""
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "dashboards"))
import grafana  # noqa: E402  (dashboards/grafana.py, which render.py substitutes with too)
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
RULES = ROOT / "dashboards" / "alerts.yaml"
METRICS_DOC = ROOT / "docs" / "metrics.md"
GRAFANA_BUILTINS = {"__rate_interval", "__range", "__interval"}
# Grafana's macros as for a Prometheus data source whose scrape interval (its timeInterval)
# is SCRAPE seconds and a panel whose $__interval is INTERVAL seconds ($__rate_interval 16 s).
SCRAPE, INTERVAL = 1, 15
METRIC = re.compile(r"\b(kscope_[a-z0-9_]+|process_[a-z_]+|up)\b(?!\s*\()")
LABEL_VALUES = re.compile(r"^label_values\((.+),\s*(\w+)\)$")


def expressions():
    """(where, expr, instant) of every dashboard target and variable query, and every rule."""
    out = []
    for path in DASHBOARDS:
        d = json.loads(path.read_text())
        for p in d["panels"]:
            for t in p.get("targets", []):
                out.append((f"{path.name}: {p['title']} {t['refId']}", t["expr"], t.get("instant", False)))
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                m = LABEL_VALUES.match(v["definition"])
                # label_values(SELECTOR, LABEL) is Grafana's: the series API; the same question in
                # PromQL is the label's values among the selector's series.
                expr = f"count by ({m.group(2)}) ({m.group(1)})" if m else v["definition"]
                out.append((f"{path.name}: variable {v['name']}", expr, True))
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for r in group["rules"]:
            out.append((f"alerts.yaml: {r.get('alert', r.get('record'))}", r["expr"], False))
    return out


def metric_names(expr):
    return set(METRIC.findall(expr))


def static_checks():
    errors = []
    stale = subprocess.run([sys.executable, str(ROOT / "dashboards" / "build.py"), "--check"],
                           capture_output=True, text=True)
    if stale.returncode != 0:
        errors.append(stale.stderr.strip())
    uids = set()
    for path in DASHBOARDS:
        d = json.loads(path.read_text())
        name = path.name
        if d["uid"] in uids:
            errors.append(f"{name}: uid {d['uid']} is another dashboard's")
        uids.add(d["uid"])
        defined = [v["name"] for v in d["templating"]["list"]]
        ds_vars = [v for v in d["templating"]["list"] if v["type"] == "datasource"]
        if len(ds_vars) != 1 or ds_vars[0]["query"] != "prometheus":
            errors.append(f"{name}: needs one datasource variable of type prometheus")
        used = set()
        ids, cells = set(), {}
        for p in d["panels"]:
            where = f"{name}: panel {p.get('id')} '{p.get('title')}'"
            if p.get("id") in ids:
                errors.append(f"{where}: its id is another panel's")
            ids.add(p.get("id"))
            g = p.get("gridPos", {})
            x, y, w, h = (g.get(k, -1) for k in ("x", "y", "w", "h"))
            if x < 0 or y < 0 or w < 1 or h < 1 or x + w > 24:
                errors.append(f"{where}: gridPos {g} is outside the 24-column grid")
            for cx in range(max(x, 0), min(x + w, 24)):
                for cy in range(max(y, 0), y + h):
                    if (cx, cy) in cells:
                        errors.append(f"{where}: overlaps panel {cells[(cx, cy)]} at x={cx} y={cy}")
                        break
                    cells[(cx, cy)] = p.get("id")
                else:
                    continue
                break
            if p["type"] == "row":
                continue
            if p.get("datasource", {}).get("uid") != "${datasource}":
                errors.append(f"{where}: datasource is not the datasource variable")
            targets = p.get("targets", [])
            if not targets:
                errors.append(f"{where}: no targets")
            refs = [t.get("refId") for t in targets]
            if None in refs or len(set(refs)) != len(refs):
                errors.append(f"{where}: refIds {refs} missing or repeated")
            for t in targets:
                if t.get("datasource", {}).get("uid") != "${datasource}":
                    errors.append(f"{where} {t.get('refId')}: target without the datasource variable")
                expr = t.get("expr", "")
                if not expr:
                    errors.append(f"{where} {t.get('refId')}: no expr")
                for window in re.findall(r"\[([^\]]*)\]", expr):
                    if window not in ("$__rate_interval", "$__range"):
                        errors.append(f"{where} {t['refId']}: range [{window}]: use $__rate_interval")
                used |= set(re.findall(r"\$\{?(\w+)", expr))
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                if v.get("datasource", {}).get("uid") != "${datasource}":
                    errors.append(f"{name}: variable {v['name']} without the datasource variable")
                if not LABEL_VALUES.match(v["definition"]):
                    errors.append(f"{name}: variable {v['name']}: expected label_values(SELECTOR, LABEL)")
                used |= set(re.findall(r"\$\{?(\w+)", v["definition"]))
        used.add("datasource")
        for var in sorted(used - set(defined) - GRAFANA_BUILTINS):
            errors.append(f"{name}: ${var} is used but not defined")
        for var in sorted(set(defined) - used):
            errors.append(f"{name}: variable {var} is defined but not used")
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for r in group["rules"]:
            if "severity" not in r.get("labels", {}):
                errors.append(f"alerts.yaml: {r['alert']}: no severity label")
            for a in ("summary", "description"):
                if a not in r.get("annotations", {}):
                    errors.append(f"alerts.yaml: {r['alert']}: no {a}")
    doc = METRICS_DOC.read_text()
    names = set()
    for where, expr, _ in expressions():
        for metric in metric_names(expr):
            names.add(metric)
            if metric == "up":
                continue
            base = re.sub(r"_(bucket|sum|count)$", "", metric)
            if f"`{metric}`" not in doc and f"`{base}`" not in doc:
                errors.append(f"{where}: {metric} is not in docs/metrics.md")
    return errors, len(expressions()), len(names)


def finite(result):
    for series in result:
        values = series.get("values") or [series.get("value")]
        if any(v and not math.isnan(float(v[1])) for v in values):
            return True
    return False


def live_checks(url, scrape_file, start, up_end, end):
    errors = []
    scraped = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", Path(scrape_file).read_text(), re.M))
    exprs = expressions()
    # The variables at "All" (allValue): every dashboard's, the alert rules have none.
    variables = {}
    for path in DASHBOARDS:
        variables |= grafana.all_values(json.loads(path.read_text()))
    for where, expr, instant in exprs:
        promql = grafana.substitute(expr, step=INTERVAL, scrape=SCRAPE, span=int(end - start),
                                    variables=variables)
        try:
            if instant:
                result = grafana.prom(url, "query", {"query": promql, "time": up_end})
            else:
                result = grafana.prom(url, "query_range", {"query": promql, "start": start, "end": end,
                                                           "step": 2})
        except grafana.PromError as e:
            errors.append(f"{where}: {promql}: {e}")
            continue
        if not finite(result):
            errors.append(f"{where}: no data: {promql}")
        for metric in metric_names(expr) - {"up"}:
            if metric not in scraped:
                errors.append(f"{where}: {metric} is not in the scrape")
    return errors, len(exprs)


def main(argv):
    if argv[1:2] == ["static"] and len(argv) == 2:
        errors, n, names = static_checks()
        what = f"{len(DASHBOARDS)} dashboards and the alert rules: {n} expressions naming {names} metrics"
    elif argv[1:2] == ["live"] and len(argv) == 7:
        errors, n = live_checks(argv[2], argv[3], *(float(t) for t in argv[4:7]))
        what = f"{n} expressions of {len(DASHBOARDS)} dashboards and the alert rules returned data"
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"PASS: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
