#!/usr/bin/python3
"""Draws a Grafana dashboard (classic JSON model) as one PNG, from a real Prometheus.

    dashboards/render.py DASHBOARD_JSON PROMETHEUS_URL START END OUT_PNG
                         [--scrape-interval SECONDS] [--step SECONDS] [--width-px N]

START and END are Unix seconds. Every target is evaluated as Grafana would evaluate it
(query_range over [START, END], or query at END for an instant target) with Grafana's
macros and the template variables at "All" substituted, and drawn in the look of
Grafana's dark theme on the dashboard's 24-column grid. Grafana itself is not needed:
the docs show the dashboards this way. Only the standard library and matplotlib.

A panel whose queries return nothing shows "No data" and is named on stderr. Exits 1 on a
Prometheus error.
"""
import argparse
import json
import math
import re
import sys
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import PowerNorm  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

import grafana  # noqa: E402  (beside this file)
from grafana import PromError, prom  # noqa: E402

# Grafana's dark theme and grid (public/app/core/constants.ts: a grid cell is 30 px high,
# with 8 px between panels). Everything below is in Grafana pixels of an 1800 px wide page;
# --width-px scales the whole page through the dpi, so the proportions stay Grafana's.
BG, PANEL, BORDER = "#111217", "#181b1f", "#2a2d33"
TEXT, TEXT2, GRID = "#ccccdc", "#8e8e99", "#ccccdc"  # grid lines at alpha 0.1
CELL_H, GAP, PAGE_W, PAD, HEADER_H = 30, 8, 1800, 8, 64
# The classic palette Grafana assigns series in order.
PALETTE = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9",
           "#705da0", "#508642", "#cca300", "#447ebc", "#c15c17", "#890f02", "#0a437c"]
NAMED = {"green": "#73bf69", "red": "#f2495c", "yellow": "#fade2a", "orange": "#ff9830",
         "blue": "#5794f2", "purple": "#b877d9"}
FONT = "DejaVu Sans"


def pt(px):
    """Font size in points for a height in Grafana pixels (the figure is at 100 dpi)."""
    return px * 0.72


# --- Units: Grafana's value formatters (packages/grafana-data/src/valueFormats) ---------
# unit: (base, suffix of each power of base). Like Grafana, the SI rates have no
# sub-unit prefixes (0.5 p/s, not 500 mp/s).
SCALED = {
    "bps": (1000, ["b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"]),
    "Bps": (1000, ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"]),
    "pps": (1000, ["p/s", "kp/s", "Mp/s", "Gp/s", "Tp/s"]),
    "ops": (1000, ["ops/s", "K ops/s", "Mil ops/s", "Bil ops/s"]),
    "reqps": (1000, ["req/s", "K req/s", "Mil req/s", "Bil req/s"]),
    "iops": (1000, ["io/s", "K io/s", "Mil io/s", "Bil io/s"]),
    "bytes": (1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]),
    "short": (1000, ["", "K", "Mil", "Bil", "Tri"]),
}
SECONDS = [(86400, "day"), (3600, "hour"), (60, "min"), (1, "s"), (1e-3, "ms"), (1e-6, "µs"),
           (1e-9, "ns")]


def scale(v, unit):
    """(divisor, suffix) Grafana picks to show magnitude V in UNIT."""
    v = abs(v)
    if unit == "percentunit":
        return 0.01, "%"
    if unit == "s":
        return next(((f, s) for f, s in SECONDS if v >= f), (1, "s")) if v else (1, "s")
    base, suffixes = SCALED.get(unit, SCALED["short"])
    power = 0
    while v >= base ** (power + 1) and power + 1 < len(suffixes):
        power += 1
    return base ** power, suffixes[power]


def number(x):
    """At most 3 significant digits, no exponent: 1.23, 45.6, 789, 0.00123."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    text = f"{x:.3g}"
    return f"{x:.0f}" if "e+" in text else (f"{x:.6f}".rstrip("0").rstrip(".") if "e-" in text else text)


def fmt(v, unit, div=None, decimals=None):
    """V in UNIT: scaled by its own magnitude, or by DIV (an axis' common scale), with 3
    significant digits or DECIMALS."""
    if v is None or not math.isfinite(v):
        return "-"
    d, suffix = (div, scale(div, unit)[1]) if div and v else scale(v, unit)
    text = number(v / d) if decimals is None or v == 0 else f"{v / d:.{decimals}f}"
    return text + ("" if suffix in ("", "%") else " ") + suffix


# --- Prometheus ---------------------------------------------------------------------------
def substitute(expr, args):
    return grafana.substitute(expr, step=args.step, scrape=args.scrape_interval,
                              span=args.end - args.start, variables=args.variables)


def fetch(panel, args):
    """[(target, labels, values)]: values on the step grid (NaN where absent), or one
    value for an instant target."""
    out = []
    for t in panel.get("targets", []):
        expr = substitute(t["expr"], args)
        try:
            if t.get("instant"):
                res = prom(args.url, "query", {"query": expr, "time": args.end})
                out += [(t, s["metric"], np.array([float(s["value"][1])])) for s in res]
                continue
            res = prom(args.url, "query_range", {"query": expr, "start": args.start,
                                                  "end": args.end, "step": args.step})
        except PromError as e:
            raise PromError(f'panel "{panel["title"]}" target {t.get("refId")}: {e}\n  query: {expr}')
        for s in res:
            values = np.full(len(args.grid), np.nan)
            for ts, v in s["values"]:
                values[int(round((float(ts) - args.start) / args.step))] = float(v)
            values[~np.isfinite(values)] = np.nan  # +Inf/-Inf are drawn as gaps, like NaN
            out.append((t, s["metric"], values))
    return out


def legend_name(target, labels):
    """legendFormat with {{label}} replaced; the label set when that leaves nothing."""
    form = target.get("legendFormat") or ""
    name = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), form).strip()
    if name:
        return name
    if form:  # Prometheus drops empty labels: {{container}} of container="" renders nothing
        return ", ".join(f'{k}=""' for k in re.findall(r"\{\{\s*(\w+)\s*\}\}", form))
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    return "{" + ", ".join(f'{k}="{v}"' for k, v in shown.items()) + "}" if shown else target["expr"]


# --- Drawing helpers ----------------------------------------------------------------------
class Page:
    """Figure coordinates in Grafana pixels from the top-left corner."""

    def __init__(self, height, width_px):
        self.h = height
        self.fig = plt.figure(figsize=(PAGE_W / 100, height / 100), dpi=100 * width_px / PAGE_W,
                              facecolor=BG)

    def text(self, x, y, s, size=12, color=TEXT, **kw):
        kw.setdefault("va", "top")
        self.fig.text(x / PAGE_W, 1 - y / self.h, s, fontsize=pt(size), color=color,
                      family=FONT, **kw)

    def axes(self, x, y, w, h, **kw):
        ax = self.fig.add_axes([x / PAGE_W, 1 - (y + h) / self.h, w / PAGE_W, h / self.h],
                               facecolor="none", **kw)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.tick_params(colors=TEXT2, labelsize=pt(11), length=0, pad=4)
        return ax

    def box(self, x, y, w, h, color=PANEL, edge=BORDER):
        self.fig.patches.append(FancyBboxPatch(
            (x / PAGE_W, 1 - (y + h) / self.h), w / PAGE_W, h / self.h,
            boxstyle="round,pad=0,rounding_size=0.002", transform=self.fig.transFigure,
            facecolor=color, edgecolor=edge, linewidth=0.6, zorder=-10))  # under the axes


def reduce(f, v):
    """F (np.nanmean, np.nanmax) of V's samples; NaN, without a warning, when it has none."""
    return f(v) if (~np.isnan(v)).any() else math.nan


def ellipsize(s, n):
    return s if len(s) <= n else s[:max(1, n - 1)] + "…"


def char_px(size):
    return size * 0.64  # DejaVu Sans' digits advance 0.636 em, most letters less


def time_axis(ax, args, width):
    """HH:MM ticks (HH:MM:SS when they are under a minute apart), about one per 110 px."""
    span = args.end - args.start
    nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400]
    every = next((n for n in nice if span / n <= max(2, width / 110)), nice[-1])
    ticks = np.arange(math.ceil(args.start / every) * every, args.end + 1, every)
    margin = 30 * span / width  # a label centred on a tick nearer the edge would leave the axes
    ticks = ticks[(ticks - args.start > margin) & (args.end - ticks > margin)]
    form = "%H:%M:%S" if every < 60 else "%H:%M"
    ax.set_xticks(ticks, [time.strftime(form, time.gmtime(t)) for t in ticks])
    ax.set_xlim(args.start, args.end)


def value_ticks(lo, hi, unit, height):
    """(ticks, labels): nice ticks in the unit's scale (0, 256, 512 KiB; not 0, 250000 B)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12 * max(1.0, abs(hi)):  # a constant series: a band around it
        lo, hi = (0, 1) if hi == 0 else (lo - abs(lo) * 0.1, hi + abs(hi) * 0.1)
    div = scale(max(abs(lo), abs(hi)), unit)[0]
    locator = MaxNLocator(nbins=max(2, int(height / 45)), steps=[1, 2, 2.5, 5, 10])
    ticks = locator.tick_values(lo / div, hi / div)
    # The fewest decimals that show every tick exactly (227, 227.5, 228; not 227, 228, 228).
    step = ticks[1] - ticks[0]
    decimals = next(d for d in range(8) if np.allclose(np.round(ticks, d), ticks, rtol=0, atol=step * 1e-3))
    ticks = ticks * div
    return ticks, [fmt(t, unit, div, decimals) for t in ticks]


# --- Panels -------------------------------------------------------------------------------
def draw_timeseries(page, panel, data, box, args):
    x, y, w, h = box
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit, custom = defaults.get("unit", "short"), defaults.get("custom", {})
    stacked = custom.get("stacking", {}).get("mode") == "normal"
    series = [(legend_name(t, labels), v) for t, labels, v in data]
    # The legend: a table (name, mean, max) below the plot, in columns of >= 420 px, taking at
    # most ~40% of the panel; past that, the series with the highest mean, highest first, and
    # "+N more". Colors stay the series' own.
    row_h, cols = 15, max(1, int(w // 420))
    rows = max(1, min(math.ceil(len(series) / cols), int(h * 0.40 / row_h) - 1))
    shown = len(series) if len(series) <= rows * cols else rows * cols - 1
    order = sorted(range(len(series)), key=lambda i: -np.nan_to_num(reduce(np.nanmean, series[i][1])))
    keep = order[:shown] if shown < len(series) else list(range(len(series)))
    legend_h = (rows + 1) * row_h + 4
    # The values, stacked: each series on the ones before it (a gap stays a gap).
    base = np.zeros(len(args.grid))
    lines = []
    for i, (name, v) in enumerate(series):
        top = base + np.nan_to_num(v) if stacked else v
        top = np.where(np.isnan(v), np.nan, top)
        lines.append((PALETTE[i % len(PALETTE)], base.copy() if stacked else None, top))
        if stacked:
            base = base + np.nan_to_num(v)
    tops = np.concatenate([t for _, _, t in lines])
    lo, hi = np.nanmin(tops), np.nanmax(tops)
    if lo >= 0 and lo <= 0.25 * hi:
        lo = 0.0  # rates: from zero, as Grafana's soft minimum looks
    plot_h = h - legend_h - 24
    ticks, labels = value_ticks(lo, hi, unit, plot_h)
    left = char_px(11) * max(map(len, labels)) + 12  # the y labels' room
    ax = page.axes(x + left, y + 4, w - left - 10, plot_h)
    ax.set_yticks(ticks, labels)
    ax.set_ylim(ticks[0], ticks[-1])
    time_axis(ax, args, w - left)
    ax.grid(True, color=GRID, alpha=0.1, linewidth=0.8)
    fill = custom.get("fillOpacity", 0) / 100
    for color, bottom, top in lines:
        ax.plot(args.grid, top, color=color, linewidth=custom.get("lineWidth", 1) * 1.1)
        # A sample between two gaps draws no line: show it as a dot, or it is lost.
        alone = ~np.isnan(top) & np.isnan(np.roll(top, 1)) & np.isnan(np.roll(top, -1))
        ax.plot(args.grid[alone], top[alone], "o", color=color, markersize=2)
        if fill:
            ax.fill_between(args.grid, top, bottom if bottom is not None else 0, color=color,
                            alpha=fill, linewidth=0)
    # The legend table.
    col_w = (w - 8) / cols
    ly = y + h - legend_h + 2
    name_chars = int((col_w - 18 - 90 - 80) / char_px(11))  # up to the Mean column's left
    for c in range(min(cols, max(1, math.ceil(len(keep) / rows)))):
        cx = x + 4 + c * col_w
        page.text(cx + col_w - 90, ly, "Mean", size=11, color=TEXT2, ha="right")
        page.text(cx + col_w - 10, ly, "Max", size=11, color=TEXT2, ha="right")
    for n, i in enumerate(keep):
        name, v = series[i]
        cx, cy = x + 4 + (n // rows) * col_w, ly + (n % rows + 1) * row_h
        page.fig.patches.append(Rectangle((cx / PAGE_W, 1 - (cy + 8) / page.h), 12 / PAGE_W, 3 / page.h,
                                          transform=page.fig.transFigure, color=lines[i][0]))
        page.text(cx + 18, cy, ellipsize(name, name_chars), size=11)
        page.text(cx + col_w - 90, cy, fmt(reduce(np.nanmean, v), unit), size=11, ha="right")
        page.text(cx + col_w - 10, cy, fmt(reduce(np.nanmax, v), unit), size=11, ha="right")
    if shown < len(series):
        n = shown
        page.text(x + 4 + (n // rows) * col_w + 18, ly + (n % rows + 1) * row_h,
                  f"+{len(series) - shown} more", size=11, color=TEXT2)


def draw_heatmap(page, panel, data, box, args):
    x, y, w, h = box
    unit = panel.get("options", {}).get("yAxis", {}).get("unit", "s")
    # sum by (le) (rate(x_bucket)) is cumulative in le: sort the buckets (+Inf last) and
    # take each one's difference to the one below, per time step, as Grafana does.
    buckets = sorted(((float(labels.get("le", "inf")), v) for _, labels, v in data), key=lambda b: b[0])
    les = np.array([b[0] for b in buckets])
    cum = np.nan_to_num(np.array([b[1] for b in buckets]))
    counts = np.clip(np.diff(cum, axis=0, prepend=0), 0, None)
    # Bucket i spans (le[i-1], le[i]]: the first one's lower edge and +Inf's upper edge are
    # one bucket ratio beyond the finite bounds.
    finite = les[np.isfinite(les)] if np.isfinite(les).any() else np.array([1.0])
    ratio = finite[-1] / finite[-2] if len(finite) > 1 and finite[-2] > 0 else 2.0
    edges = np.concatenate([[finite[0] / ratio], finite, [finite[-1] * ratio] * (len(les) - len(finite))])
    # Trim the empty buckets below and above the data, keeping one on each side.
    used = np.nonzero(counts.sum(axis=1) > 0)[0]
    lo, hi = (max(0, used[0] - 1), min(len(les) - 1, used[-1] + 1)) if len(used) else (0, len(les) - 1)
    counts, edges, les = counts[lo:hi + 1], edges[lo:hi + 2], les[lo:hi + 1]
    # Grafana's legend under the heatmap: the colour scale from 0 to the highest rate.
    vmax = counts.max() if counts.max() > 0 else 1.0
    labels = [("+Inf" if not math.isfinite(le) else fmt(le, unit)) for le in les]
    left = char_px(11) * max(len(s) for s in labels) + 12
    plot_h = h - 48
    ax = page.axes(x + left, y + 4, w - left - 10, plot_h)
    xedges = np.append(args.grid - args.step / 2, args.grid[-1] + args.step / 2)
    # Oranges, reversed as Grafana's dark theme does (the scheme's invert: "dark"), with its
    # exponential scale (exponent 0.5); empty cells are not drawn. The 1 px cell gap only
    # where cells are wide enough not to turn into stripes.
    cmap = matplotlib.colormaps["Oranges_r"]
    gap = 0.4 if (w - left) / len(args.grid) >= 6 else 0
    ax.pcolormesh(xedges, edges, np.ma.masked_equal(counts, 0), cmap=cmap,
                  norm=PowerNorm(0.5, vmin=0, vmax=vmax), edgecolors=PANEL, linewidth=gap)
    ax.set_yscale("log")
    every = max(1, math.ceil(len(les) / max(2, plot_h // 18)))
    ax.set_yticks(edges[1:][::every], labels[::every])
    ax.minorticks_off()
    ax.set_ylim(edges[0], edges[-1])
    time_axis(ax, args, w - left)
    bar = page.axes(x + left + 40, y + h - 16, 160, 8)
    bar.imshow(np.linspace(0, 1, 128)[None, :], aspect="auto", cmap=cmap,
               norm=PowerNorm(0.5, vmin=0, vmax=1))
    bar.set_axis_off()
    page.text(x + left + 34, y + h - 20, "0", size=11, color=TEXT2, ha="right")
    page.text(x + left + 206, y + h - 20, fmt(vmax, "short") + "/s", size=11, color=TEXT2)


def threshold_color(panel, value):
    """The color of the highest step whose value is <= VALUE (the first step is -inf)."""
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
    passed = [s["color"] for s in steps if s.get("value") is None or value >= s["value"]]
    return NAMED.get(passed[-1], passed[-1]) if passed else NAMED["green"]


def draw_stat(page, panel, data, box, args):
    x, y, w, h = box
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    stack = np.array([v for _, _, v in data])  # the series summed; NaN where none has a value
    total = np.where(np.isnan(stack).all(axis=0), np.nan, np.nansum(stack, axis=0))
    known = total[~np.isnan(total)]
    value, color = known[-1], threshold_color(panel, known[-1])
    if len(total) > 1:  # the sparkline, in the lower part behind the value
        ax = page.axes(x, y + h * 0.5, w, h * 0.5)
        lo, hi = np.nanmin(known), np.nanmax(known)
        lo, hi = (lo, hi + 0.15 * (hi - lo)) if hi > lo else (lo - 1, hi + 1)  # flat: mid-height
        ax.plot(args.grid, total, color=color, linewidth=1, alpha=0.5)
        ax.fill_between(args.grid, total, lo, color=color, alpha=0.08, linewidth=0)
        ax.set_xlim(args.start, args.end)
        ax.set_ylim(lo, hi)
        ax.set_axis_off()
    text = fmt(value, unit, decimals=panel["fieldConfig"]["defaults"].get("decimals"))
    size = min(h * 0.45, 46, (w - 24) / (0.62 * len(text)))
    page.text(x + w / 2, y + h * 0.35, text, size=size, color=color, ha="center", va="center",
              weight="bold")


def draw_table(page, panel, data, box, args):
    x, y, w, h = box
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    organize = (panel.get("transformations") or [{}])[0].get("options", {})
    index, exclude = organize.get("indexByName", {}), organize.get("excludeByName", {})
    # Grafana's table of an instant query: Time, the labels (sorted) and Value; "organize"
    # orders the indexed fields first and leaves the rest after them, in that order.
    fields = sorted({k for _, labels, _ in data for k in labels} | {"Value"})
    fields = [f for f in fields if not exclude.get(f)]
    fields.sort(key=lambda f: index.get(f, len(index)))
    rows = sorted(data, key=lambda d: -np.nan_to_num(d[2][0], nan=-math.inf))
    cells = [[fmt(v[0], unit) if f == "Value" else labels.get(f, "") for f in fields]
             for _, labels, v in rows]
    # Column widths (in characters) by content; when they do not fit, the widest columns (a
    # 64-hex container id) give way first and are ellipsized. Value is right-aligned.
    widths = [max([len(f)] + [len(r[i]) for r in cells]) + 2 for i, f in enumerate(fields)]
    avail = (w - 16) / char_px(12)
    while sum(widths) > avail and max(widths) > 6:
        big = max(widths)
        below = max([c for c in widths if c < big], default=0)
        widths = [min(c, max(below, big - (sum(widths) - avail) / widths.count(big), 6)) for c in widths]
    widths = [c + (avail - sum(widths)) / len(widths) for c in widths]
    row_h, cx = 22, x + 8
    fit = cells[:int((h - row_h) // row_h)]  # as many rows as the panel holds
    for i, f in enumerate(fields):
        ha = "right" if f == "Value" else "left"
        px = cx + (widths[i] * char_px(12) - 8 if ha == "right" else 0)
        page.text(px, y, f, size=12, color="#6e9fff", ha=ha, weight="bold")
        for r, row in enumerate(fit):
            page.text(px, y + (r + 1) * row_h, ellipsize(row[i], int(widths[i]) - 1), size=12, ha=ha)
        cx += widths[i] * char_px(12)
    for r in range(len(fit) + 1):
        ly = 1 - (y + r * row_h + 18) / page.h
        page.fig.add_artist(plt.Line2D([(x + 4) / PAGE_W, (x + w - 4) / PAGE_W], [ly, ly],
                                       color=BORDER, linewidth=0.8))


DRAW = {"timeseries": draw_timeseries, "heatmap": draw_heatmap, "stat": draw_stat, "table": draw_table}


# --- The page -----------------------------------------------------------------------------
def render(dashboard, name, args):
    panels = dashboard["panels"]
    col = (PAGE_W - 2 * PAD + GAP) / 24
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    page = Page(HEADER_H + bottom * (CELL_H + GAP) + PAD, args.width_px)
    span = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))  # noqa: E731
    page.text(PAD, 10, dashboard.get("title", name), size=20, weight="bold")
    variables = "   ".join(f"{v.get('label') or v['name']}: All"
                           for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "query")
    page.text(PAD, 38, f"{span(args.start)} to {span(args.end)[11:]} UTC   ·   step {args.step}s   ·   "
              f"{variables}   ·   data: real collector run, Prometheus query API", size=12, color=TEXT2)
    for p in panels:
        g = p["gridPos"]
        x, y = PAD + g["x"] * col, HEADER_H + g["y"] * (CELL_H + GAP)
        w, h = g["w"] * col - GAP, g["h"] * CELL_H + (g["h"] - 1) * GAP
        if p["type"] == "row":
            page.text(x, y + h / 2, "⌄  " + p.get("title", ""), size=15, weight="bold", va="center")
            continue
        page.box(x, y, w, h)
        page.text(x + 8, y + 8, p.get("title", ""), size=14, weight="medium")
        content = (x + 8, y + 32, w - 16, h - 40)
        data = fetch(p, args)
        if p["type"] not in DRAW:
            page.text(x + w / 2, y + h / 2, f"panel type {p['type']} not drawn", color=TEXT2, ha="center")
        elif not data or all(np.isnan(v).all() for _, _, v in data):
            page.text(x + w / 2, y + h / 2, "No data", size=16, color=TEXT2, ha="center", va="center")
            print(f'render.py: warning: {name}: panel "{p["title"]}": no data', file=sys.stderr)
        else:
            DRAW[p["type"]](page, p, data, content, args)
    page.fig.savefig(args.out, facecolor=BG)
    plt.close(page.fig)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dashboard")
    ap.add_argument("url", metavar="PROMETHEUS_URL")
    ap.add_argument("start", type=float)
    ap.add_argument("end", type=float)
    ap.add_argument("out", metavar="OUT_PNG")
    ap.add_argument("--scrape-interval", type=int, default=15,
                    help="the data source's scrape interval (Grafana's default: 15)")
    ap.add_argument("--step", type=int, help="default: max(scrape interval, range / 240)")
    ap.add_argument("--width-px", type=int, default=PAGE_W)
    args = ap.parse_args(argv[1:])
    args.start, args.end = int(args.start), int(args.end)
    if args.end <= args.start:
        ap.error("END must be after START")
    args.step = args.step or max(args.scrape_interval, round((args.end - args.start) / 240), 1)
    # Prometheus' evaluation times: START + k*STEP up to END.
    args.grid = args.start + args.step * np.arange((args.end - args.start) // args.step + 1, dtype=float)
    with open(args.dashboard) as f:
        dashboard = json.load(f)
    args.variables = grafana.all_values(dashboard)
    try:
        render(dashboard, args.dashboard.rsplit("/", 1)[-1], args)
    except PromError as e:
        print(f"render.py: Prometheus: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
