#!/usr/bin/env python3
"""Writes the Grafana dashboards (classic JSON model) from the panel tables below.

    dashboards/build.py           writes dashboards/{network,processes,collector}.json
    dashboards/build.py --check   exits 1 when a committed JSON differs from what it writes

The tables are the one place a panel is declared: every target gets the datasource variable,
every rate `$__rate_interval`, every selector the dashboard's instance (and container)
variable, so no panel can forget one. The JSON files are committed, for provisioning, and
tests/dashboards/ checks them against this script and against a real Prometheus.
"""
import json
import sys
from pathlib import Path

DS = {"type": "prometheus", "uid": "${datasource}"}
HERE = Path(__file__).resolve().parent


def sel(*matchers, container=False):
    """A label selector on the dashboard's variables, plus MATCHERS."""
    parts = ['instance=~"$instance"']
    if container:
        parts.append('container=~"$container"')
    parts.extend(matchers)
    return "{" + ",".join(parts) + "}"


def m(label, value):
    """One matcher: label="value"."""
    return f'{label}="{value}"'


def rate(metric, *matchers, container=False):
    return f"rate({metric}{sel(*matchers, container=container)}[$__rate_interval])"


def quantiles(metric, *matchers, by="", container=False):
    """p50, p90 and p99 of a histogram, as (expr, legend) targets."""
    group = f"{by}, le" if by else "le"
    prefix = "{{" + by + "}} " if by else ""
    return [(f"histogram_quantile({q}, sum by ({group}) "
             f"({rate(metric + '_bucket', *matchers, container=container)}))",
             f"{prefix}p{int(q * 100)}") for q in (0.5, 0.9, 0.99)]


def buckets(metric, *matchers, container=False):
    return f"sum by (le) ({rate(metric + '_bucket', *matchers, container=container)})"


# The process_* metrics are every exporter's: keep the kscope collectors' own.
def own(expr):
    return f"{expr} and on (instance, job) kscope_build_info"


# Panel constructors: each returns a dict without id and gridPos (the layout adds them).
def timeseries(title, targets, unit="short", desc="", w=12, h=8, stack=False, legend="table"):
    return {
        "type": "timeseries", "title": title, "description": desc, "_w": w, "_h": h,
        "fieldConfig": {"defaults": {"unit": unit, "custom": {
            "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if stack else 0,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            "showPoints": "never"}}, "overrides": []},
        "options": {"legend": {"displayMode": legend, "placement": "bottom",
                               "calcs": ["mean", "max"] if legend == "table" else []},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "_targets": targets,
    }


def heatmap(title, expr, desc="", w=12, h=8, unit="s"):
    return {
        "type": "heatmap", "title": title, "description": desc, "_w": w, "_h": h,
        "options": {"calculate": False, "yAxis": {"unit": unit},
                    "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges",
                                            "scale": "exponential", "exponent": 0.5},
                    "rowsFrame": {"layout": "le"}, "tooltip": {"show": True, "yHistogram": True},
                    "legend": {"show": True}},
        "fieldConfig": {"defaults": {}, "overrides": []},
        "_targets": [(expr, "{{le}}")], "_format": "heatmap",
    }


def stat(title, expr, unit="short", desc="", w=4, h=4, legend="", thresholds=None, decimals=None):
    steps = [{"color": "green", "value": None}] + [
        {"color": color, "value": value} for value, color in (thresholds or [])]
    return {
        "type": "stat", "title": title, "description": desc, "_w": w, "_h": h,
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps},
                                     **({"decimals": decimals} if decimals is not None else {})},
                        "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "value", "graphMode": "area", "textMode": "auto"},
        "_targets": [(expr, legend)],
    }


def table(title, expr, columns, desc="", w=12, h=8, unit="short"):
    """An instant query as a table: COLUMNS are the labels shown, then the value."""
    order = columns + ["Value"]
    return {
        "type": "table", "title": title, "description": desc, "_w": w, "_h": h,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"showHeader": True, "sortBy": [{"displayName": "Value", "desc": True}]},
        "transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True},
            "indexByName": {c: i for i, c in enumerate(order)}, "renameByName": {}}}],
        "_targets": [(expr, "")], "_format": "table", "_instant": True,
    }


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "_w": 24, "_h": 1, "panels": []}


def layout(panels):
    """Ids from 1 and gridPos left to right, a new line when the next panel does not fit."""
    out, x, y, line_h = [], 0, 0, 0
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_w"), p.pop("_h")
        if p["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        p["id"] = i
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x, line_h = x + w, max(line_h, h)
        if p["type"] == "row":
            x, y, line_h = 0, y + h, 0
        else:
            p["datasource"] = DS
            fmt = p.pop("_format", "time_series")
            instant = p.pop("_instant", False)
            p["targets"] = [{
                "datasource": DS, "refId": chr(ord("A") + n), "expr": expr,
                "legendFormat": legend, "format": fmt, "instant": instant, "range": not instant,
            } for n, (expr, legend) in enumerate(p.pop("_targets"))]
        out.append(p)
    return out


def variables(container_metric=None):
    v = [{"name": "datasource", "label": "Data source", "type": "datasource",
          "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "",
          "includeAll": False, "multi": False, "options": []}]

    def query_var(name, label, definition):
        return {"name": name, "label": label, "type": "query", "datasource": DS,
                "definition": definition, "query": {"query": definition, "refId": name},
                "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2,
                "sort": 1, "hide": 0, "regex": "", "options": [],
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]}}
    v.append(query_var("instance", "Node", "label_values(kscope_build_info, instance)"))
    if container_metric:
        v.append(query_var("container", "Container",
                           f'label_values({container_metric}{{instance=~"$instance"}}, container)'))
    return v


def dashboard(uid, title, desc, panels, container_metric=None):
    return {
        "uid": uid, "title": title, "description": desc, "tags": ["kscope"],
        "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1,
        "time": {"from": "now-1h", "to": "now"}, "refresh": "30s", "timezone": "",
        "fiscalYearStartMonth": 0, "liveNow": False, "weekStart": "",
        "links": [{"title": "kscope", "type": "dashboards", "tags": ["kscope"], "asDropdown": True}],
        "annotations": {"list": []},
        "templating": {"list": variables(container_metric)},
        "panels": layout(panels),
    }


def network():
    c = {"container": True}
    bytes_, pkts, flows = "kscope_flow_bytes_total", "kscope_flow_packets_total", "kscope_flows_total"
    return dashboard("kscope-network", "kscope / Network",
                     "Flows counted exactly in the kernel, drops, TCP and DNS (docs/metrics.md).", [
        row("Flows"),
        stat("Throughput", f"sum({rate(bytes_, **c)}) * 8", "bps", w=6,
             desc="IP-layer bits per second, both directions"),
        stat("Packets", f"sum({rate(pkts, **c)})", "pps", w=6),
        stat("New flows", f"sum({rate(flows, **c)})", "ops", w=6,
             desc="Unidirectional 5-tuples first seen, per second"),
        stat("Untracked packets", f"sum({rate('kscope_probe_lost_total', m('probe', 'flows'), m('point', 'table_full'))})",
             "pps", w=6, thresholds=[(0.001, "red")],
             desc="Packets no kernel flow table had room for: counted in the totals without their "
                  "flow's labels. Raise sources.flows.max_flows."),
        timeseries("Throughput by direction", [
            (f"sum by (direction) ({rate(bytes_, **c)}) * 8", "{{direction}}")], "bps"),
        timeseries("Packets by direction", [
            (f"sum by (direction) ({rate(pkts, **c)})", "{{direction}}")], "pps"),
        timeseries("Throughput by protocol", [
            (f"sum by (protocol) ({rate(bytes_, **c)}) * 8", "{{protocol}}")], "bps", stack=True),
        timeseries("Throughput by container", [
            (f"topk(10, sum by (container) ({rate(bytes_, **c)})) * 8", "{{container}}")], "bps",
            desc='Top 10; "" is traffic of processes outside any container'),
        table("Top talkers", f"topk(15, sum by (instance, comm, container, direction) ({rate(bytes_, **c)}))",
              ["instance", "comm", "container", "direction"], unit="Bps",
              desc="Processes owning the most bytes per second; the addresses are in the flow "
                   "records (kscope observe, the sinks), not in metrics"),
        timeseries("New flows by protocol", [
            (f"sum by (protocol) ({rate(flows, **c)})", "{{protocol}}")], "ops"),
        row("Drops and TCP"),
        timeseries("Drops by kernel reason", [
            (f"sum by (reason) ({rate('kscope_drops_total')})", "{{reason}}")], "pps", stack=True),
        timeseries("TCP resets", [
            (f"sum by (direction) ({rate('kscope_tcp_resets_total')})", "{{direction}}")], "ops"),
        timeseries("TCP retransmits", [
            (f"sum by (kind) ({rate('kscope_tcp_retransmits_total')})", "{{kind}}")], "ops"),
        timeseries("TCP connections", [
            (f"sum by (direction) ({rate('kscope_tcp_connections_opened_total')})", "opened {{direction}}"),
            (f"sum({rate('kscope_tcp_connections_failed_total')})", "failed"),
            (f"sum by (direction) ({rate('kscope_tcp_connections_closed_total', **c)})", "closed {{direction}}")],
            "ops"),
        timeseries("TCP payload of closed connections", [
            (f"sum({rate('kscope_tcp_sent_bytes_total', **c)}) * 8", "sent"),
            (f"sum({rate('kscope_tcp_received_bytes_total', **c)}) * 8", "received")], "bps",
            desc="Payload acknowledged and received, added when each connection closes"),
        timeseries("TCP payload by container", [
            (f"topk(5, sum by (container) ({rate('kscope_tcp_sent_bytes_total', **c)})) * 8",
             "sent {{container}}"),
            (f"topk(5, sum by (container) ({rate('kscope_tcp_received_bytes_total', **c)})) * 8",
             "received {{container}}")], "bps", desc="Of connections closed, the top 5 each way"),
        row("DNS"),
        timeseries("DNS responses by code", [
            (f"sum by (rcode) ({rate('kscope_dns_responses_total', m('direction', 'in'), **c)})", "{{rcode}}")],
            "reqps", stack=True, desc="Responses this node's clients received"),
        timeseries("DNS queries by type", [
            (f"sum by (qtype) ({rate('kscope_dns_queries_total', m('direction', 'out'), **c)})", "{{qtype}}")],
            "reqps", stack=True, desc="Queries this node's clients sent"),
        timeseries("DNS latency", quantiles("kscope_dns_latency_seconds", 'direction="in"', **c), "s",
                   desc="Query to response at the client"),
        heatmap("DNS latency distribution", buckets("kscope_dns_latency_seconds", 'direction="in"', **c)),
        row("Latency"),
        heatmap("TCP connect latency", buckets("kscope_tcp_connect_latency_seconds")),
        timeseries("TCP connect latency quantiles", quantiles("kscope_tcp_connect_latency_seconds"), "s"),
        heatmap("TCP RTT", buckets("kscope_tcp_rtt_seconds")),
        timeseries("TCP RTT quantiles", quantiles("kscope_tcp_rtt_seconds"), "s"),
    ], container_metric=bytes_)


def processes():
    c = {"container": True}
    return dashboard("kscope-processes", "kscope / Processes and system",
                     "Process lifecycle and the scheduler, block I/O and syscall latency (docs/metrics.md).", [
        row("Processes"),
        stat("Execs", f"sum({rate('kscope_exec_total', **c)})", "ops", w=8),
        stat("Exits", f"sum({rate('kscope_exit_total', **c)})", "ops", w=8),
        stat("OOM kills", f"sum(increase(kscope_oom_kills_total{sel(**c)}[$__range]))", "short", w=8,
             thresholds=[(1, "red")], decimals=0,
             desc="In the time range shown (increase() extrapolates to the range's edges)"),
        timeseries("Execs by command", [
            (f"topk(10, sum by (comm) ({rate('kscope_exec_total', **c)}))", "{{comm}}")], "ops"),
        timeseries("Exits by command", [
            (f"topk(10, sum by (comm) ({rate('kscope_exit_total', **c)}))", "{{comm}}")], "ops"),
        timeseries("Execs by container", [
            (f"topk(10, sum by (container) ({rate('kscope_exec_total', **c)}))", "{{container}}")], "ops"),
        timeseries("OOM kills", [
            (f"sum by (comm, container) (increase(kscope_oom_kills_total{sel(**c)}[$__rate_interval]))",
             "{{comm}} {{container}}")], "short", desc="Victims of the OOM killer"),
        row("Scheduler"),
        heatmap("Run-queue latency", buckets("kscope_runqueue_latency_seconds")),
        timeseries("Run-queue latency quantiles", quantiles("kscope_runqueue_latency_seconds"), "s"),
        row("Block I/O"),
        heatmap("Block I/O latency", buckets("kscope_block_io_latency_seconds")),
        timeseries("Block I/O latency by disk", quantiles("kscope_block_io_latency_seconds", by="disk"), "s"),
        timeseries("Block I/O requests by disk", [
            (f"sum by (disk) ({rate('kscope_block_io_latency_seconds_count')})", "{{disk}}")], "iops"),
        timeseries("Block I/O mean latency by disk", [
            (f"sum by (disk) ({rate('kscope_block_io_latency_seconds_sum')}) / "
             f"sum by (disk) ({rate('kscope_block_io_latency_seconds_count')})", "{{disk}}")], "s"),
        row("System calls"),
        heatmap("Syscall latency", buckets("kscope_syscall_latency_seconds")),
        timeseries("Syscalls by name", [
            (f"topk(10, sum by (syscall) ({rate('kscope_syscall_latency_seconds_count')}))", "{{syscall}}")],
            "ops", desc="The 10 most frequent"),
        timeseries("Slowest syscalls (p99)", [
            ("topk(10, histogram_quantile(0.99, sum by (syscall, le) "
             f"({rate('kscope_syscall_latency_seconds_bucket')})))", "{{syscall}}")], "s", w=24),
    ], container_metric="kscope_exec_total")


def collector():
    probe = "{{probe}}"
    return dashboard("kscope-collector", "kscope / Collector health",
                     "What each probe delivered and lost, the budgets, and the sinks (docs/metrics.md).", [
        row("State"),
        stat("Collectors up", "sum(up and on (instance, job) kscope_build_info)", w=3,
             desc="Targets whose last scrape succeeded"),
        stat("Degraded", f"max(kscope_degraded{sel()})", w=3, thresholds=[(1, "red")],
             desc="1 while a collector sheds load (memory) or left a source out (bpf_memory)"),
        stat("Records lost", f"sum({rate('kscope_probe_lost_total')})", "ops", w=4,
             thresholds=[(0.001, "red")], desc="Per second, every probe and loss point"),
        stat("Sink records lost", f"sum({rate('kscope_sink_lost_total')})", "ops", w=4,
             thresholds=[(0.001, "red")]),
        stat("Series", f"sum(kscope_series{sel()})", w=3),
        stat("Scrape errors", f"sum(increase(kscope_scrape_errors_total{sel()}[$__range]))", w=3,
             thresholds=[(1, "red")], decimals=0, desc="In the time range shown"),
        stat("Uptime", "min(" + own(f"time() - process_start_time_seconds{sel()}") + ")", "s", w=4,
             desc="Of the collector started last"),
        table("Probes attached", f"kscope_probe_info{sel()}", ["instance", "probe", "hook"],
              desc="The hook alternative each probe attached through"),
        table("Versions", f"kscope_build_info{sel()}", ["instance", "version"]),
        row("Probes"),
        timeseries("Records delivered by probe", [
            (f"sum by (probe) ({rate('kscope_probe_records_total')})", probe)], "ops"),
        timeseries("Losses by probe and point", [
            (f"sum by (probe, point) ({rate('kscope_probe_lost_total')})", "{{probe}} {{point}}")], "ops",
            desc="table_full: raise sources.flows.max_flows; ring_reserve: the ring buffer was full"),
        timeseries("Ring buffer fill", [
            (f"max by (probe) (kscope_ring_buffer_fill_ratio{sel()})", probe)], "percentunit",
            desc="The fullest each event probe's ring was at a drain; near 1 records are lost"),
        timeseries("BPF map occupancy", [
            (f"max by (probe, map) (kscope_bpf_map_entries{sel()} / kscope_bpf_map_capacity{sel()})",
             "{{probe}} {{map}}")], "percentunit"),
        timeseries("BPF program CPU", [
            (f"sum by (probe) ({rate('kscope_bpf_program_run_seconds_total')})", probe)], "percentunit",
            desc="CPU seconds per second in each probe's programs (only with bpf_stats: true)"),
        timeseries("BPF program time per run", [
            (f"sum by (probe) ({rate('kscope_bpf_program_run_seconds_total')}) / "
             f"sum by (probe) ({rate('kscope_bpf_program_runs_total')})", probe)], "s"),
        row("Series and scrapes"),
        timeseries("Series against the budget", [
            (f"sum by (instance) (kscope_series{sel()})", "{{instance}} series"),
            (f"max by (instance) (kscope_series_limit{sel(m('scope', 'total'))})", "{{instance}} limit")]),
        timeseries("Series by metric", [
            (f"topk(10, max by (metric) (kscope_series{sel()}))", "{{metric}}"),
            (f"max(kscope_series_limit{sel(m('scope', 'per_metric'))})", "per-metric limit")]),
        timeseries("Folded and expired series", [
            (f"sum by (metric) ({rate('kscope_series_folded_total')})", "folded {{metric}}"),
            (f"sum({rate('kscope_series_expired_total')})", "expired")], "ops"),
        timeseries("Scrape duration", [
            (f"max by (instance) (kscope_scrape_duration_seconds{sel()})", "{{instance}}")], "s"),
        row("Resources"),
        timeseries("Memory against the budget", [
            (f"max by (instance, kind) (kscope_memory_bytes{sel()})", "{{instance}} {{kind}}"),
            (f"max by (instance, kind) (kscope_memory_limit_bytes{sel()})", "{{instance}} {{kind}} limit")],
            "bytes"),
        timeseries("Degraded and shed", [
            (f"max by (instance, reason) (kscope_degraded{sel()})", "degraded {{reason}}"),
            (f"sum by (what) ({rate('kscope_shed_total')})", "shed {{what}}/s")]),
        timeseries("CPU", [(own(f"rate(process_cpu_seconds_total{sel()}[$__rate_interval])"), "{{instance}}")],
                   "percentunit"),
        timeseries("Resident memory", [
            (own(f"process_resident_memory_bytes{sel()}"), "{{instance}}")], "bytes",
            desc="RSS; its 1 MiB event rings count twice (the kernel maps their pages twice)"),
        timeseries("Open file descriptors", [(own(f"process_open_fds{sel()}"), "{{instance}}")], w=8),
        timeseries("Flow table", [(f"sum by (instance) (kscope_flows_active{sel()})", "{{instance}}")],
                   desc="Flows the collector's flow table holds", w=8),
        timeseries("Configuration reloads", [
            (f"sum({rate('kscope_config_reloads_total')})", "applied"),
            (f"sum({rate('kscope_config_reload_failures_total')})", "refused")], "ops", w=8),
        row("Sinks"),
        timeseries("Sink throughput", [
            (f"sum by (sink, type) ({rate('kscope_sink_records_total')})", "{{sink}} {{type}}")], "ops"),
        timeseries("Sink losses", [
            (f"sum by (sink, point) ({rate('kscope_sink_lost_total')})", "{{sink}} {{point}}")], "ops",
            desc="sink.queue: its queue was full; sink.write: its destination refused a batch"),
        timeseries("Sink queues", [
            (f"max by (sink) (kscope_sink_queued_records{sel()})", "{{sink}}")], w=24),
    ])


DASHBOARDS = {"network.json": network, "processes.json": processes, "collector.json": collector}


def render(make):
    return json.dumps(make(), indent=2) + "\n"


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        print(f"usage: {argv[0]} [--check]", file=sys.stderr)
        return 2
    stale = []
    for name, make in DASHBOARDS.items():
        path, text = HERE / name, render(make)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"dashboards/build.py: {', '.join(stale)} differ from the panel tables: "
              "run dashboards/build.py and commit the JSON", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
