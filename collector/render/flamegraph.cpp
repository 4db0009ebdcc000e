#include "render/flamegraph.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace kscope {
namespace {

// flamegraph.pl's geometry.
constexpr int kFrameHeight = 16;
constexpr int kFontSize = 12;
constexpr double kFontWidth = 0.59;  // of the font size: an average Verdana glyph
constexpr int kXPad = 10;
constexpr int kTitlePad = kFontSize * 3;
constexpr int kDetailsPad = kFontSize * 2 + 10;
constexpr double kMinWidth = 0.1;  // narrower frames are left out, as flamegraph.pl does

// A stable pseudo-random number in [0, 1) from a name: a frame keeps its color across runs.
double name_hash(std::string_view name, uint32_t salt) {
  uint32_t h = 2166136261u ^ salt;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return (h % 1000) / 1000.0;
}

// flamegraph.pl's palettes: "hot" for user code, "orange" for kernel frames (its _[k]),
// "aqua" for the thread names at the bottom, grey for what nothing names.
std::string color_of(std::string_view name, FrameKind kind) {
  double v1 = name_hash(name, 1), v2 = name_hash(name, 2), v3 = name_hash(name, 3);
  int r, g, b;
  switch (kind) {
    case FrameKind::user:
      r = 205 + static_cast<int>(50 * v3), g = static_cast<int>(230 * v1), b = static_cast<int>(55 * v2);
      break;
    case FrameKind::kernel:
      r = 190 + static_cast<int>(65 * v1), g = 90 + static_cast<int>(65 * v1), b = 0;
      break;
    case FrameKind::process:
      r = 50 + static_cast<int>(60 * v1), g = 165 + static_cast<int>(55 * v1), b = 165 + static_cast<int>(55 * v1);
      break;
    case FrameKind::unknown:
    default: {
      int grey = 160 + static_cast<int>(40 * v1);
      r = g = b = grey;
      break;
    }
  }
  return fmt::format("rgb({},{},{})", r, g, b);
}

// The label that fits `width` pixels: the whole name, or its start and "..", or nothing.
std::string label(std::string_view name, double width) {
  size_t fits = static_cast<size_t>((width - 6) / (kFontSize * kFontWidth));
  if (fits < 3) return {};
  if (name.size() <= fits) return std::string(name);
  return std::string(name.substr(0, fits - 2)) + "..";
}

std::string_view kind_name(FrameKind k) {
  switch (k) {
    case FrameKind::process: return "process";
    case FrameKind::user: return "user";
    case FrameKind::kernel: return "kernel";
    case FrameKind::unknown: break;
  }
  return "unknown";
}

// Zoom (click a frame; "Reset Zoom" or a click on the background undoes it), search (a
// regular expression; matching frames turn purple) and the details line under the graph.
// Each frame's <g> carries its unzoomed x and width, its depth and its sample count; the
// geometry constants are defined before it.
constexpr std::string_view kScript = R"JS(
var svg = document.documentElement, frames = Array.from(document.querySelectorAll('g.f'));
var details = document.getElementById('details'), reset = document.getElementById('reset');
var matched = document.getElementById('matched'), full = +svg.getAttribute('width') - 2 * XPAD;
function name_of(g) { var t = g.querySelector('title').textContent; return t.substring(0, t.lastIndexOf(' (')); }
function place(g, x, w) {
  var r = g.querySelector('rect'), t = g.querySelector('text');
  r.setAttribute('x', x.toFixed(1)); r.setAttribute('width', w.toFixed(1));
  t.setAttribute('x', (x + 3).toFixed(1));
  var name = name_of(g), fits = Math.floor((w - 6) / (FONTSIZE * FONTWIDTH));
  t.textContent = fits < 3 ? '' : name.length <= fits ? name : name.substring(0, fits - 2) + '..';
}
function zoom(g) {
  var x0 = +g.dataset.x, w0 = +g.dataset.w, d0 = +g.dataset.d, e = 1e-6;
  frames.forEach(function (f) {
    var x = +f.dataset.x, w = +f.dataset.w, d = +f.dataset.d;
    if (d < d0 && x <= x0 + e && x + w >= x0 + w0 - e) { f.style.display = ''; place(f, XPAD, full); }
    else if (d >= d0 && x >= x0 - e && x + w <= x0 + w0 + e && w * full / w0 >= MINWIDTH) {
      f.style.display = ''; place(f, XPAD + (x - x0) * full / w0, w * full / w0);
    } else f.style.display = 'none';
  });
  reset.style.opacity = 1;
}
function unzoom() {
  frames.forEach(function (f) { f.style.display = ''; place(f, XPAD + +f.dataset.x, +f.dataset.w); });
  reset.style.opacity = 0;
}
function search() {
  var re = prompt('Search frames (a regular expression)', '');
  var total = 0, hit = 0;
  frames.forEach(function (f) {
    var r = f.querySelector('rect'), n = +f.dataset.n;
    if (!r.dataset.fill) r.dataset.fill = r.getAttribute('fill');
    var m = re && new RegExp(re).test(name_of(f));
    r.setAttribute('fill', m ? 'rgb(230,0,230)' : r.dataset.fill);
    if (+f.dataset.d === 0) total = n;
    if (m) hit = Math.max(hit, n);
  });
  matched.textContent = re ? 'Matched: ' + (total ? (100 * hit / total).toFixed(1) : 0) + '%' : '';
}
frames.forEach(function (f) {
  f.addEventListener('click', function (ev) { ev.stopPropagation(); zoom(f); });
  f.addEventListener('mouseover', function () { details.textContent = f.querySelector('title').textContent; });
  f.addEventListener('mouseout', function () { details.textContent = ' '; });
});
reset.addEventListener('click', function (ev) { ev.stopPropagation(); unzoom(); });
document.getElementById('search').addEventListener('click', function (ev) { ev.stopPropagation(); search(); });
document.getElementById('background').addEventListener('click', unzoom);
// The roots are at the bottom: a graph taller than the window opens scrolled down to them.
window.addEventListener('load', function () { window.scrollTo(0, svg.getBoundingClientRect().height); });
)JS";

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        if (static_cast<unsigned char>(c) < 0x20) out += '?';
        else out += c;
    }
  }
  return out;
}

FlameGraph::FlameGraph() { nodes_.push_back({"all", FrameKind::unknown, 0, {}}); }

void FlameGraph::add(std::span<const FlameFrame> root_first, uint64_t count) {
  size_t at = 0;
  nodes_[0].count += count;
  for (const FlameFrame& f : root_first) {
    std::string key(f.name);
    key += '\0';
    key += static_cast<char>('0' + static_cast<int>(f.kind));
    auto it = nodes_[at].children.find(key);
    size_t child;
    if (it == nodes_[at].children.end()) {
      child = nodes_.size();
      nodes_[at].children.emplace(std::move(key), child);
      nodes_.push_back({std::string(f.name), f.kind, 0, {}});
    } else {
      child = it->second;
    }
    nodes_[child].count += count;
    at = child;
  }
}

std::string FlameGraph::svg(std::string_view title, std::string_view subtitle, int width) const {
  // Depth of the deepest frame wide enough to draw.
  double full = width - 2.0 * kXPad;
  double per_sample = total() ? full / static_cast<double>(total()) : 0;
  struct Item {
    size_t node;
    int depth;
    double x;
  };
  int max_depth = 0;
  std::vector<Item> todo{{0, 0, 0}}, drawn;
  while (!todo.empty()) {
    Item it = todo.back();
    todo.pop_back();
    const Node& n = nodes_[it.node];
    if (n.count * per_sample < kMinWidth) continue;
    drawn.push_back(it);
    max_depth = std::max(max_depth, it.depth);
    double x = it.x;
    for (const auto& [key, child] : n.children) {
      todo.push_back({child, it.depth + 1, x});
      x += nodes_[child].count * per_sample;
    }
  }
  int height = (max_depth + 1) * kFrameHeight + kTitlePad + kDetailsPad;
  std::string out;
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "<?xml version=\"1.0\" standalone=\"no\"?>\n"
                 "<svg version=\"1.1\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                 "xmlns=\"http://www.w3.org/2000/svg\">\n"
                 "<style>text {{ font-family: Verdana, sans-serif; font-size: {2}px; fill: rgb(0,0,0); }}\n"
                 "g.f:hover rect {{ stroke: rgb(0,0,0); stroke-width: 0.5; cursor: pointer; }}\n"
                 "#reset, #search {{ cursor: pointer; }}</style>\n"
                 "<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
                 "<stop stop-color=\"#eeeeee\" offset=\"5%\"/><stop stop-color=\"#eeeeb0\" offset=\"95%\"/>"
                 "</linearGradient></defs>\n"
                 "<rect id=\"background\" x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"url(#bg)\"/>\n"
                 "<text x=\"{3}\" y=\"{4}\" text-anchor=\"middle\" style=\"font-size:17px\">{5}</text>\n"
                 "<text x=\"{3}\" y=\"{6}\" text-anchor=\"middle\" fill=\"rgb(160,160,160)\">{7}</text>\n"
                 "<text id=\"reset\" x=\"{8}\" y=\"{4}\" style=\"opacity:0\">Reset Zoom</text>\n"
                 "<text id=\"search\" x=\"{9}\" y=\"{4}\">Search</text>\n"
                 "<text id=\"matched\" x=\"{9}\" y=\"{10}\"> </text>\n"
                 "<text id=\"details\" x=\"{8}\" y=\"{10}\"> </text>\n",
                 width, height, kFontSize, width / 2, kFontSize * 2, xml_escape(title),
                 kFontSize * 2 + 14, xml_escape(subtitle), kXPad, width - kXPad - 100,
                 height - kDetailsPad / 2);
  for (const Item& it : drawn) {
    const Node& n = nodes_[it.node];
    double w = n.count * per_sample;
    int y = height - kDetailsPad - (it.depth + 1) * kFrameHeight;
    std::string name = xml_escape(n.name);
    fmt::format_to(put,
                   "<g class=\"f\" data-x=\"{:.1f}\" data-w=\"{:.1f}\" data-d=\"{}\" data-n=\"{}\" "
                   "data-kind=\"{}\"><title>{} ({} samples, {:.2f}%)</title>"
                   "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" rx=\"2\" fill=\"{}\"/>"
                   "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text></g>\n",
                   it.x, w, it.depth, n.count, kind_name(n.kind), name, n.count,
                   100.0 * n.count / total(), kXPad + it.x, y, w, kFrameHeight - 1,
                   it.node == 0 ? "rgb(200,200,200)" : color_of(n.name, n.kind), kXPad + it.x + 3,
                   y + kFrameHeight - 5.5, xml_escape(label(n.name, w)));
  }
  fmt::format_to(put, "<script><![CDATA[\nvar XPAD = {}, FONTSIZE = {}, FONTWIDTH = {}, MINWIDTH = {};{}]]></script>\n</svg>\n",
                 kXPad, kFontSize, kFontWidth, kMinWidth, kScript);
  return out;
}

}  // namespace kscope
