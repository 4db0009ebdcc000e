#include "exporters/prometheus/exposition.h"

#include "exporters/prometheus/http_tokens.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace kscope::prom {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// ---- Accept ----------------------------------------------------------------------------

struct MediaRange {
  std::string_view type;     // "application/openmetrics-text", "text/*", "*/*"
  std::string_view version;  // empty when not given
  double q = 1;
};

// Calls fn for each media range of an Accept header.
template <class Fn>
void for_each_media_range(std::string_view accept, Fn fn) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    MediaRange r;
    size_t semi = item.find(';');
    r.type = trim(item.substr(0, semi));
    if (r.type.empty()) continue;
    while (semi != std::string_view::npos) {
      item = item.substr(semi + 1);
      semi = item.find(';');
      std::string_view param = item.substr(0, semi);
      size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = trim(param.substr(0, eq)), value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (iequals(key, "q"))
        r.q = parse_q(value);
      else if (iequals(key, "version"))
        r.version = value;
    }
    fn(r);
  }
}

// ---- Numbers ---------------------------------------------------------------------------

// Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back as v, in
// exponent form below 1e-4 and from 1e+06. Prometheus' own clients render "le" this way,
// and OpenMetrics' canonical numbers are this plus ".0".
void append_go_g(std::string& out, double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));  // "-1.25e-05", "3e+00"
  size_t e = s.find('e');
  std::string_view mantissa = s.substr(0, e), exp_text = s.substr(e + 1);
  if (!mantissa.empty() && mantissa.front() == '-') {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  bool exp_negative = exp_text.front() == '-';
  int exp = 0;
  std::from_chars(exp_text.data() + 1, exp_text.data() + exp_text.size(), exp);
  if (exp_negative) exp = -exp;

  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += exp < 0 ? "e-" : "e+";
    if (std::abs(exp) < 10) out += '0';
    out += std::to_string(std::abs(exp));
  } else if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
  } else {
    size_t whole = static_cast<size_t>(exp) + 1;
    if (digits.size() <= whole) {
      out += digits;
      out.append(whole - digits.size(), '0');
    } else {
      out.append(digits, 0, whole);
      out += '.';
      out.append(digits, whole);
    }
  }
}

bool append_special(std::string& out, double v) {
  if (std::isnan(v))
    out += "NaN";
  else if (std::isinf(v))
    out += v > 0 ? "+Inf" : "-Inf";
  else
    return false;
  return true;
}

// A sample value: whole numbers as integers (a counter of 1000000 reads "1000000", not
// "1e+06"), other values in the shortest form that reads back exactly.
void append_value(std::string& out, double v) {
  if (append_special(out, v)) return;
  // 2^53: past it not every integer is a double, and the exponent form is as exact.
  if (v == std::trunc(v) && std::fabs(v) <= 9007199254740992.0) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out.append(buf, r.ptr);
    return;
  }
  append_go_g(out, v);
}

void append_value(std::string& out, uint64_t v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "le" and "quantile" values: label values are opaque strings to Prometheus, so one number
// must always be spelled the same way.
std::string bound_label(double v, Format f) {
  std::string s;
  if (append_special(s, v)) return s;
  append_go_g(s, v);
  if (f == Format::openmetrics && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// ---- Lines -----------------------------------------------------------------------------

void append_escaped(std::string& out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && escape_quote)
      out += "\\\"";
    else
      out += c;
  }
}

class Writer {
 public:
  Writer(Format f, std::string& out) : f_(f), out_(out) {}

  void family(const MetricFamily& fam) {
    if (fam.metric.empty()) return;
    std::string_view name = fam.name;
    std::string_view sample_name = name;
    std::string_view sample_suffix;
    if (om() && fam.type == MetricType::Counter) {
      // OpenMetrics names the family without _total and its sample with it.
      if (name.ends_with("_total")) name.remove_suffix(6);
      sample_name = name;
      sample_suffix = "_total";
    }
    if (om()) {
      type_line(name, fam.type);
      help_line(name, fam.help);
    } else {
      help_line(name, fam.help);
      type_line(name, fam.type);
    }
    for (const ClientMetric& m : fam.metric) {
      switch (fam.type) {
        case MetricType::Counter: sample(sample_name, sample_suffix, m, m.counter.value); break;
        case MetricType::Gauge: sample(name, "", m, m.gauge.value); break;
        case MetricType::Untyped: sample(name, "", m, m.untyped.value); break;
        case MetricType::Summary: summary(name, m); break;
        case MetricType::Histogram: histogram(name, m); break;
      }
    }
  }

  void end() {
    if (om()) out_ += "# EOF\n";
  }

 private:
  bool om() const { return f_ == Format::openmetrics; }

  void type_line(std::string_view name, MetricType type) {
    out_ += "# TYPE ";
    out_ += name;
    switch (type) {
      case MetricType::Counter: out_ += " counter\n"; break;
      case MetricType::Gauge: out_ += " gauge\n"; break;
      case MetricType::Summary: out_ += " summary\n"; break;
      case MetricType::Histogram: out_ += " histogram\n"; break;
      case MetricType::Untyped: out_ += om() ? " unknown\n" : " untyped\n"; break;
    }
  }

  // An empty HELP means no HELP in both formats, so the line is left out.
  void help_line(std::string_view name, std::string_view help) {
    if (help.empty()) return;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    // The text format escapes only \ and newline in HELP; OpenMetrics also the quote.
    append_escaped(out_, help, om());
    out_ += '\n';
  }

  template <class V>
  void sample(std::string_view name, std::string_view suffix, const ClientMetric& m, V value,
              std::string_view extra_label = {}, std::string_view extra_value = {}) {
    out_ += name;
    out_ += suffix;
    if (!m.label.empty() || !extra_label.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& l : m.label) {
        if (!first) out_ += ',';
        first = false;
        label(l.name, l.value);
      }
      if (!extra_label.empty()) {
        if (!first) out_ += ',';
        label(extra_label, extra_value);
      }
      out_ += '}';
    }
    out_ += ' ';
    append_value(out_, value);
    if (m.timestamp_ms != 0) timestamp(m.timestamp_ms);
    out_ += '\n';
  }

  void label(std::string_view name, std::string_view value) {
    out_ += name;
    out_ += "=\"";
    append_escaped(out_, value, true);
    out_ += '"';
  }

  // Text: milliseconds. OpenMetrics: seconds, with the milliseconds as decimals.
  void timestamp(int64_t ms) {
    out_ += ' ';
    if (!om()) {
      out_ += std::to_string(ms);
      return;
    }
    if (ms < 0) {
      out_ += '-';
      ms = -ms;
    }
    out_ += std::to_string(ms / 1000);
    std::string frac = std::to_string(ms % 1000);
    out_ += '.';
    out_.append(3 - frac.size(), '0');
    out_ += frac;
  }

  void summary(std::string_view name, const ClientMetric& m) {
    for (const auto& q : m.summary.quantile)
      sample(name, "", m, q.value, "quantile", bound_label(q.quantile, f_));
    sample(name, "_sum", m, m.summary.sample_sum);
    sample(name, "_count", m, m.summary.sample_count);
  }

  void histogram(std::string_view name, const ClientMetric& m) {
    const auto& h = m.histogram;
    for (const auto& b : h.bucket)
      sample(name, "_bucket", m, b.cumulative_count, "le", bound_label(b.upper_bound, f_));
    // Both formats require the +Inf bucket; it holds every observation.
    if (h.bucket.empty() || !std::isinf(h.bucket.back().upper_bound))
      sample(name, "_bucket", m, h.sample_count, "le", "+Inf");
    sample(name, "_count", m, h.sample_count);
    sample(name, "_sum", m, h.sample_sum);
  }

  Format f_;
  std::string& out_;
};

}  // namespace

Format negotiate(std::string_view accept) {
  double openmetrics = 0;
  // The most specific range that matches text/plain decides its q (RFC 9110 12.5.1).
  double text = -1, text_wild = -1, any = -1;
  for_each_media_range(accept, [&](const MediaRange& r) {
    if (iequals(r.type, "application/openmetrics-text")) {
      // We speak 1.0.0, which is 0.0.1 under a new number; a later version is another format.
      if (r.version.empty() || r.version == "1.0.0" || r.version == "0.0.1")
        openmetrics = std::max(openmetrics, r.q);
    } else if (iequals(r.type, "text/plain")) {
      text = std::max(text, r.q);
    } else if (iequals(r.type, "text/*")) {
      text_wild = std::max(text_wild, r.q);
    } else if (r.type == "*/*") {
      any = std::max(any, r.q);
    }
  });
  double text_q = text >= 0 ? text : text_wild >= 0 ? text_wild : std::max(any, 0.0);
  return openmetrics > 0 && openmetrics >= text_q ? Format::openmetrics : Format::text;
}

std::string_view content_type(Format f) {
  return f == Format::openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                  : "text/plain; version=0.0.4; charset=utf-8";
}

void serialize(const std::vector<MetricFamily>& families, Format f, std::string& out) {
  Writer w(f, out);
  for (const auto& fam : families) w.family(fam);
  w.end();
}

}  // namespace kscope::prom
