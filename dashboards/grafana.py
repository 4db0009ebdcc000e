"""What Grafana does to a dashboard's queries before Prometheus sees them, and the query API
call: shared by render.py (the pictures) and tests/dashboards/dashboards_check.py (the live
check), so both evaluate exactly what Grafana would send. Standard library only."""
import json
import re
import urllib.error
import urllib.parse
import urllib.request


class PromError(Exception):
    pass


def all_values(dashboard):
    """Every template variable but the data source at "All": {name: its allValue}."""
    return {v["name"]: v.get("allValue") or ".*" for v in dashboard.get("templating", {}).get("list", [])
            if v.get("type") != "datasource"}


def substitute(expr, *, step, scrape, span, variables):
    """Grafana's macros for a panel whose $__interval is STEP seconds, over a data source whose
    scrape interval is SCRAPE seconds and a time range of SPAN seconds ($__rate_interval is
    max($__interval + scrape interval, 4 x scrape interval)); and VARIABLES ($name, ${name})."""
    known = {"__rate_interval": f"{max(step + scrape, 4 * scrape)}s", "__interval": f"{step}s",
             "__range": f"{span}s", "__range_s": str(span), **variables}
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)",
                  lambda m: known.get(m.group(1) or m.group(2), m.group(0)), expr)


def prom(url, path, params):
    """The result of Prometheus's /api/v1/PATH (query, query_range); PromError on any failure."""
    full = f"{url.rstrip('/')}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(full, timeout=30) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:  # Prometheus answers a bad query with 400 and JSON
        try:
            body = json.load(e)
        except ValueError:
            raise PromError(f"HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise PromError(f"{url}: {getattr(e, 'reason', e)}") from None
    if body.get("status") != "success":
        raise PromError(f"{body.get('errorType', 'error')}: {body.get('error', body)}")
    return body["data"]["result"]
