#include "exporters/stream/stream_protocol.h"

#include <arpa/inet.h>
#include <time.h>

#include <charconv>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "render/json_writer.h"

namespace kscope::stream {
namespace {

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

std::string cidr_text(const flows::Cidr& c) {
  return fmt::format("{}/{}", ip_text(c.net), c.prefix);
}

void write_filter(JsonWriter& w, const flows::FlowFilter& f) {
  w.begin_object();
  auto cidrs = [&](std::string_view key, const std::vector<flows::Cidr>& v) {
    if (v.empty()) return;
    w.key(key).begin_array();
    for (const auto& c : v) w.value(std::string_view(cidr_text(c)));
    w.end_array();
  };
  cidrs("ip", f.ips);
  cidrs("from_ip", f.source_ips);
  cidrs("to_ip", f.destination_ips);
  if (!f.ports.empty()) {
    w.key("port").begin_array();
    for (uint16_t p : f.ports) w.value(uint64_t{p});
    w.end_array();
  }
  if (!f.protocols.empty()) {
    w.key("protocol").begin_array();
    for (uint8_t p : f.protocols) w.value(std::string_view(flows::protocol_name(p)));
    w.end_array();
  }
  if (!f.pids.empty()) {
    w.key("pid").begin_array();
    for (uint32_t p : f.pids) w.value(uint64_t{p});
    w.end_array();
  }
  if (!f.comms.empty()) {
    w.key("comm").begin_array();
    for (const auto& c : f.comms) w.value(std::string_view(c));
    w.end_array();
  }
  if (!f.drop_reasons.empty()) {
    w.key("drop_reason").begin_array();
    for (const auto& c : f.drop_reasons) w.value(std::string_view(c));
    w.end_array();
  }
  w.end_object();
}

void write_filters(JsonWriter& w, std::string_view key, const std::vector<flows::FlowFilter>& fs) {
  if (fs.empty()) return;
  w.key(key).begin_array();
  for (const auto& f : fs) write_filter(w, f);
  w.end_array();
}

Result<uint64_t> unsigned_at(const YAML::Node& n, const std::string& where, uint64_t max) {
  uint64_t v = 0;
  if (!n.IsScalar() || !parse_number(n.Scalar(), v) || v > max)
    return fail(fmt::format("request: {} must be a number from 0 to {}", where, max));
  return v;
}

// One filter kind's values: a JSON array, each element parsed by `add`.
template <class Add>
Result<void> each_value(const YAML::Node& n, const std::string& where, Add add) {
  if (!n.IsSequence())
    return fail(fmt::format("request: {} must be an array, e.g. [\"10.0.0.0/8\"] or [443]", where));
  for (size_t i = 0; i < n.size(); ++i) {
    std::string at = fmt::format("{}[{}]", where, i);
    if (!n[i].IsScalar()) return fail(fmt::format("request: {} must be a string or a number", at));
    if (auto r = add(n[i], at); !r) return r;
  }
  return {};
}

Result<flows::FlowFilter> parse_filter(const YAML::Node& n, const std::string& where) {
  if (!n.IsMap()) return fail(fmt::format("request: {} must be an object", where));
  flows::FlowFilter f;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const YAML::Node value = kv.second;
    const std::string at = fmt::format("{}.{}", where, key);
    auto cidrs_into = [&](std::vector<flows::Cidr>& out) {
      return each_value(
          value, at, [&](const YAML::Node& v, const std::string& vat) -> Result<void> {
            auto c = flows::parse_cidr(v.Scalar());
            if (!c)
              return fail(fmt::format("request: {}: {}", vat, c.error().message), c.error().hint);
            out.push_back(*c);
            return {};
          });
    };
    Result<void> r;
    if (key == "ip") {
      r = cidrs_into(f.ips);
    } else if (key == "from_ip") {
      r = cidrs_into(f.source_ips);
    } else if (key == "to_ip") {
      r = cidrs_into(f.destination_ips);
    } else if (key == "port") {
      r = each_value(value, at, [&](const YAML::Node& v, const std::string& vat) -> Result<void> {
        auto p = unsigned_at(v, vat, 65535);
        if (!p) return std::unexpected(p.error());
        f.ports.push_back(static_cast<uint16_t>(*p));
        return {};
      });
    } else if (key == "protocol") {
      r = each_value(value, at, [&](const YAML::Node& v, const std::string& vat) -> Result<void> {
        int p = flows::parse_protocol(v.Scalar());
        if (p < 0)
          return fail(fmt::format("request: {}: '{}' is not a protocol", vat, v.Scalar()),
                      "tcp, udp, icmp, icmpv6, or a number 0-255");
        f.protocols.push_back(static_cast<uint8_t>(p));
        return {};
      });
    } else if (key == "pid") {
      r = each_value(value, at, [&](const YAML::Node& v, const std::string& vat) -> Result<void> {
        auto p = unsigned_at(v, vat, UINT32_MAX);
        if (!p) return std::unexpected(p.error());
        f.pids.push_back(static_cast<uint32_t>(*p));
        return {};
      });
    } else if (key == "comm") {
      r = each_value(value, at, [&](const YAML::Node& v, const std::string&) -> Result<void> {
        f.comms.push_back(v.Scalar());
        return {};
      });
    } else if (key == "drop_reason") {
      r = each_value(value, at, [&](const YAML::Node& v, const std::string&) -> Result<void> {
        f.drop_reasons.push_back(v.Scalar());
        return {};
      });
    } else {
      return fail(fmt::format("request: unknown filter field '{}'", at),
                  "a filter has ip, from_ip, to_ip, port, protocol, pid, comm and drop_reason");
    }
    if (!r) return std::unexpected(r.error());
  }
  return f;
}

Result<std::vector<flows::FlowFilter>> parse_filters(const YAML::Node& n, std::string_view key) {
  if (!n.IsSequence())
    return fail(
        fmt::format("request: {} must be an array of filters, e.g. [{{\"port\":[53]}}]", key));
  std::vector<flows::FlowFilter> out;
  for (size_t i = 0; i < n.size(); ++i) {
    auto f = parse_filter(n[i], fmt::format("{}[{}]", key, i));
    if (!f) return std::unexpected(f.error());
    out.push_back(std::move(*f));
  }
  return out;
}

Result<bool> bool_at(const YAML::Node& n, std::string_view where) {
  if (n.IsScalar() && n.Scalar() == "true") return true;
  if (n.IsScalar() && n.Scalar() == "false") return false;
  return fail(fmt::format("request: {} must be true or false", where));
}

Result<StreamRequest> parse_request_node(const YAML::Node& root) {
  if (!root.IsMap())
    return fail("request: expected one JSON object on one line",
                "e.g. {\"version\":1,\"follow\":true,\"last\":20}");
  StreamRequest req;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node value = kv.second;
    if (key == "version") {
      auto v = unsigned_at(value, "version", UINT32_MAX);
      if (!v) return std::unexpected(v.error());
      if (*v != kProtocolVersion)
        return fail(fmt::format("request: version {} is not spoken here (this server speaks {})",
                                *v, kProtocolVersion),
                    "use a kscope observe of the collector's version");
    } else if (key == "follow") {
      auto b = bool_at(value, "follow");
      if (!b) return std::unexpected(b.error());
      req.follow = *b;
    } else if (key == "last") {
      auto n = unsigned_at(value, "last", UINT64_MAX);
      if (!n) return std::unexpected(n.error());
      req.last = *n;
    } else if (key == "since") {
      uint64_t ns = 0;
      if (value.IsScalar() && parse_number(value.Scalar(), ns)) {
        req.since_ns = ns;
      } else if (value.IsScalar()) {
        auto t = parse_rfc3339(value.Scalar());
        if (!t) return fail("request: since: " + t.error().message, t.error().hint);
        req.since_ns = *t;
      } else {
        return fail("request: since must be an RFC 3339 time or nanoseconds since the epoch");
      }
    } else if (key == "token") {
      if (!value.IsScalar() || value.Scalar().size() > kMaxRequestBytes)
        return fail("request: token must be a string");
      req.token = value.Scalar();
    } else if (key == "allow" || key == "deny") {
      auto fs = parse_filters(value, key);
      if (!fs) return std::unexpected(fs.error());
      (key == "allow" ? req.filters.allow : req.filters.deny) = std::move(*fs);
    } else {
      return fail(fmt::format("request: unknown field '{}'", key),
                  "a request has version, follow, last, since, allow, deny and token");
    }
  }
  return req;
}

// Two digits at s[at], or -1.
int two_digits(std::string_view s, size_t at) {
  int v = 0;
  return at + 2 <= s.size() && parse_number(s.substr(at, 2), v) ? v : -1;
}

}  // namespace

std::string request_line(const StreamRequest& r) {
  fmt::memory_buffer out;
  JsonWriter w(out);
  w.begin_object();
  w.member("version", int64_t{kProtocolVersion}).member("follow", r.follow);
  if (r.last) w.member("last", uint64_t{*r.last});
  if (r.since_ns) w.member("since", uint64_t{r.since_ns});
  write_filters(w, "allow", r.filters.allow);
  write_filters(w, "deny", r.filters.deny);
  if (!r.token.empty()) w.member("token", std::string_view(r.token));
  w.end_object();
  w.end_line();
  return fmt::to_string(out);
}

bool utf8_text(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
    if (n == 0 || c > 0xf4 || i + n >= s.size()) return false;
    uint32_t cp = c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

Result<StreamRequest> parse_request(std::string_view line) {
  // JSON is UTF-8 (RFC 8259); yaml-cpp would take other bytes as they come and write them
  // back otherwise, so a filter would not match what the client meant.
  if (!utf8_text(line))
    return fail("request: not UTF-8 text", "send one JSON object on one line, e.g. {\"version\":1}");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(line));
    return parse_request_node(root);
  } catch (const YAML::Exception& e) {
    return fail(fmt::format("request: not JSON: {}", e.msg),
                "send one JSON object on one line, e.g. {\"version\":1,\"follow\":true}");
  }
}

std::string lost_line(uint64_t lost) {
  return fmt::format("{{\"schema\":\"{}\",\"lost\":{},\"where\":\"client_queue\"}}\n", kLostSchema,
                     lost);
}

std::string error_line(const Error& e) {
  fmt::memory_buffer out;
  JsonWriter w(out);
  w.begin_object();
  w.member("schema", kErrorSchema).member("error", std::string_view(e.message));
  if (!e.hint.empty()) w.member("hint", std::string_view(e.hint));
  w.end_object();
  w.end_line();
  return fmt::to_string(out);
}

Result<uint64_t> parse_rfc3339(std::string_view s) {
  auto bad = [&] {
    return fail(fmt::format("'{}' is not an RFC 3339 time", s),
                "e.g. 2026-12-03T09:26:53Z or 2026-12-03T10:26:53.5+01:00");
  };
  int year = 0;
  if (s.size() < 20 || !parse_number(s.substr(0, 4), year) || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return bad();
  tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = two_digits(s, 5) - 1;
  t.tm_mday = two_digits(s, 8);
  t.tm_hour = two_digits(s, 11);
  t.tm_min = two_digits(s, 14);
  t.tm_sec = two_digits(s, 17);
  if (t.tm_mon < 0 || t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour < 0 ||
      t.tm_hour > 23 || t.tm_min < 0 || t.tm_min > 59 || t.tm_sec < 0 || t.tm_sec > 60)
    return bad();
  size_t at = 19;
  uint64_t frac_ns = 0;
  if (s[at] == '.') {
    size_t digits = 0;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++digits)
      if (digits < 9) frac_ns = frac_ns * 10 + static_cast<uint64_t>(s[at] - '0');
    if (digits == 0) return bad();
    for (; digits < 9; ++digits) frac_ns *= 10;
  }
  int64_t offset_s = 0;
  std::string_view zone = s.substr(at);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int h = two_digits(zone, 1), m = two_digits(zone, 4);
    if (h < 0 || h > 23 || m < 0 || m > 59) return bad();
    offset_s = (zone[0] == '+' ? 1 : -1) * (h * 3600 + m * 60);
  } else {
    return bad();
  }
  int64_t sec = static_cast<int64_t>(timegm(&t)) - offset_s;
  if (sec < 0) return bad();
  return static_cast<uint64_t>(sec) * 1'000'000'000 + frac_ns;
}

Result<StreamAddress> parse_address(std::string_view text) {
  StreamAddress a;
  if (text.find('/') != std::string_view::npos) {
    a.unix_path = text;
    return a;
  }
  auto bad = [&] {
    return fail(
        fmt::format("'{}' is not an address: expected HOST:PORT or a unix socket path", text),
        "e.g. 127.0.0.1:9438, [::1]:9438 or /run/kscope/stream.sock");
  };
  std::string_view host, port;
  if (text.starts_with('[')) {
    size_t close = text.find("]:");
    if (close == std::string_view::npos) return bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1)
      return fail(bad().error().message,
                  fmt::format("'{}' in brackets is not an IPv6 address", host));
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad();  // IPv6 needs brackets
  }
  if (host.empty() || !parse_number(port, a.port)) return bad();
  a.host = host;
  return a;
}

std::string address_text(const StreamAddress& a) {
  if (!a.unix_path.empty()) return a.unix_path;
  if (a.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", a.host, a.port);
  return fmt::format("{}:{}", a.host, a.port);
}

}  // namespace kscope::stream
