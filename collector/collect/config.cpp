#include "collect/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace kscope::collect {
namespace {

using std::chrono::milliseconds;

// ---- ranges: the parser checks them and the default YAML's comments print them ----

struct CountRange {
  uint64_t lo, hi;
  std::string_view why;  // the hint of an out-of-range value
};
struct DurationRange {
  milliseconds lo, hi;
  std::string_view why;
};

constexpr milliseconds kSecond{1000}, kMinute{60'000}, kHour{3'600'000}, kDay{86'400'000};

constexpr CountRange kSeriesPerMetric{
    1, 1'000'000, "past it, new label sets fold into the metric's \"other\" series"};
constexpr CountRange kSeriesTotal{1, 10'000'000, "the cap over every metric together"};
constexpr DurationRange kSeriesTtl{kSecond, 30 * kDay, "a series not updated this long is removed"};
struct SizeRange {
  uint64_t lo, hi;
  std::string_view why;
};
constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;
constexpr SizeRange kMemory{2 * kMiB, 64 * kGiB,
                            "near it the collector sheds load (docs/config.md, the memory budget)"};
constexpr SizeRange kBpfMemory{16 * kMiB, 64 * kGiB,
                               "a source whose maps would pass it is left out"};
constexpr CountRange kMaxFlows{1, 16'777'216, "the flows the kernel's flow table tracks at once"};
constexpr DurationRange kSweepInterval{milliseconds{10}, 60 * kSecond,
                                       "how often user space sweeps the flow table"};
constexpr DurationRange kIdleTimeout{milliseconds{100}, kDay, "a flow silent this long ends"};
constexpr DurationRange kActiveTimeout{milliseconds{100}, 60 * kSecond,
                                       "a long flow is reported at least this often"};

constexpr std::array<Label, 3> kLabels = {Label::comm, Label::container, Label::cgroup};

// The sources that are only switched on or off, in the order of the YAML.
struct Switch {
  std::string_view key;
  bool Config::*on;
};
constexpr std::array<Switch, 7> kSwitches = {{{"tcp", &Config::tcp},
                                              {"drops", &Config::drops},
                                              {"dns", &Config::dns},
                                              {"process", &Config::process},
                                              {"runqlat", &Config::runqlat},
                                              {"biolatency", &Config::biolatency},
                                              {"syscalls", &Config::syscalls}}};

// Every key path, to say where a key placed at the wrong level belongs.
constexpr std::array<std::string_view, 23> kAllPaths = {
    "listen", "labels", "bpf_stats",
    "limits.series_per_metric", "limits.series_total", "limits.series_ttl", "limits.memory",
    "limits.bpf_memory",
    "sources.flows", "sources.flows.enabled", "sources.flows.interface", "sources.flows.cgroup",
    "sources.flows.max_flows", "sources.flows.sweep_interval", "sources.flows.idle_timeout",
    "sources.flows.active_timeout",
    "sources.tcp", "sources.drops", "sources.dns", "sources.process", "sources.runqlat",
    "sources.biolatency", "sources.syscalls"};

// The largest unit that divides exactly: 1500ms, 15s, 10m, 1d. Minutes only from 2m up:
// 60s reads better than 1m next to the ranges' "..60s".
std::string format_duration(milliseconds d) {
  struct Unit {
    milliseconds size;
    std::string_view name;
  };
  constexpr std::array<Unit, 4> units = {
      {{kDay, "d"}, {kHour, "h"}, {kMinute, "m"}, {kSecond, "s"}}};
  for (const Unit& u : units) {
    if (d.count() % u.size.count() == 0 && d >= u.size && !(u.size == kMinute && d < 2 * kMinute))
      return fmt::format("{}{}", d.count() / u.size.count(), u.name);
  }
  return fmt::format("{}ms", d.count());
}

// The largest binary unit that divides exactly: 128MiB, 1GiB, 1536KiB.
std::string format_size(uint64_t b) {
  constexpr std::array<std::pair<uint64_t, std::string_view>, 3> units = {
      {{kGiB, "GiB"}, {kMiB, "MiB"}, {1024, "KiB"}}};
  for (const auto& [size, name] : units)
    if (b % size == 0 && b >= size) return fmt::format("{}{}", b / size, name);
  return fmt::format("{}B", b);
}

// ---- where an error is: FILE:LINE:COL and the key path ----

// A value and the place to point at. A missing value (`key:` and nothing) carries the mark
// of the next token, maybe lines below, so errors about it point at its key instead.
struct Item {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;  // "limits.series_ttl", "labels[1]"; "" for the document
};

std::string join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

struct Reader {
  std::string file;

  std::unexpected<Error> error(const YAML::Mark& m, std::string_view path, std::string_view what,
                               std::string hint = {}) const {
    std::string where =
        m.is_null() ? file : fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
    if (path.empty()) return fail(fmt::format("{}: {}", where, what), std::move(hint));
    return fail(fmt::format("{}: {}: {}", where, path, what), std::move(hint));
  }
  std::unexpected<Error> error(const Item& v, std::string_view what, std::string hint = {}) const {
    return error(v.mark, v.path, what, std::move(hint));
  }
};

// What the user wrote, for "got ...".
std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      return s.size() > 40 ? fmt::format("'{}...'", s.substr(0, 40)) : fmt::format("'{}'", s);
    }
    default:
      return "nothing";
  }
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance, ignoring case: a swap of two neighbours counts one, the
// usual typo.
size_t edit_distance(std::string_view a_text, std::string_view b_text) {
  std::string a = lowercase(a_text), b = lowercase(b_text);
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The candidate close enough to `word` to be what was meant, or "".
std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates) {
  size_t limit = std::max<size_t>(1, word.size() / 3), best = limit + 1;
  std::string_view found;
  for (std::string_view c : candidates) {
    if (size_t d = edit_distance(word, c); d < best) best = d, found = c;
  }
  return found;
}

// "a, b and c"
std::string list_words(std::span<const std::string_view> words, std::string_view last = "and") {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? fmt::format(" {} ", last) : ", ";
    out += words[i];
  }
  return out;
}

// ---- scalars ----

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A plain `true` or `false`. YAML 1.1's yes/no/on/off are refused: YAML 1.2 reads them as
// strings, so a file that relied on them would mean different things to different tools.
Result<bool> read_bool(const Reader& r, const Item& v,
                       std::string_view expected = "true or false") {
  std::string got = describe(v.node);
  if (v.node.IsScalar()) {
    const std::string& s = v.node.Scalar();
    bool quoted = v.node.Tag() == "!";
    if (!quoted && s == "true") return true;
    if (!quoted && s == "false") return false;
    std::string lower = lowercase(s);
    if (quoted && (s == "true" || s == "false"))
      return r.error(v, fmt::format("expected {}, got the string \"{}\"", expected, s),
                     "drop the quotes: a quoted \"true\" is text, not a boolean");
    for (std::string_view word : {"yes", "no", "on", "off", "y", "n", "true", "false"}) {
      if (lower == word)
        return r.error(v, fmt::format("expected {}, got {}", expected, got),
                       "write true or false: kscope reads no other spelling (yes, no, on, off "
                       "and capitals mean different things to YAML 1.1 and 1.2)");
    }
  }
  return r.error(v, fmt::format("expected {}, got {}", expected, got), "write true or false");
}

// A count within the range: decimal digits only, no sign, no fraction, no exponent.
Result<uint32_t> read_count(const Reader& r, const Item& v, const CountRange& range) {
  auto bad = [&] {
    return r.error(v,
                   fmt::format("expected an integer from {} to {}, got {}", range.lo, range.hi,
                               describe(v.node)),
                   std::string(range.why));
  };
  if (!v.node.IsScalar() || !all_digits(v.node.Scalar())) return bad();
  const std::string& s = v.node.Scalar();
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size() || n < range.lo || n > range.hi) return bad();
  return static_cast<uint32_t>(n);
}

// An integer and one unit: 500ms, 10s, 5m, 2h, 1d.
Result<milliseconds> read_duration(const Reader& r, const Item& v, const DurationRange& range) {
  constexpr std::string_view expected = "expected a duration such as 30s or 10m";
  if (!v.node.IsScalar())
    return r.error(v, fmt::format("{}, got {}", expected, describe(v.node)),
                   "an integer and a unit: ms, s, m, h or d");
  const std::string& s = v.node.Scalar();
  if (all_digits(s))
    return r.error(v, fmt::format("{}, got '{}'", expected, s), "add a unit: ms, s, m, h or d");
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  std::string_view unit = std::string_view(s).substr(digits);
  static constexpr std::array<std::pair<std::string_view, milliseconds>, 5> units = {
      {{"ms", milliseconds{1}}, {"s", kSecond}, {"m", kMinute}, {"h", kHour}, {"d", kDay}}};
  auto u = std::find_if(units.begin(), units.end(), [&](const auto& x) { return x.first == unit; });
  if (digits == 0 || u == units.end())
    return r.error(v, fmt::format("{}, got '{}'", expected, s),
                   "one integer and one unit: ms, s, m, h or d (90s, not 1m30s or 1.5m)");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + digits, n);
  uint64_t max_count = static_cast<uint64_t>(range.hi.count() / u->second.count());
  if (ec != std::errc{} || n < 1 || n > max_count ||
      milliseconds{static_cast<int64_t>(n) * u->second.count()} < range.lo)
    return r.error(v,
                   fmt::format("expected a duration from {} to {}, got '{}'",
                               format_duration(range.lo), format_duration(range.hi), s),
                   std::string(range.why));
  return milliseconds{static_cast<int64_t>(n) * u->second.count()};
}

// An integer and a binary unit: 512KiB, 128MiB, 2GiB.
Result<uint64_t> read_size(const Reader& r, const Item& v, const SizeRange& range) {
  constexpr std::string_view expected = "expected a size such as 128MiB or 1GiB";
  if (!v.node.IsScalar())
    return r.error(v, fmt::format("{}, got {}", expected, describe(v.node)),
                   "an integer and a unit: KiB, MiB or GiB");
  const std::string& s = v.node.Scalar();
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  std::string_view unit = std::string_view(s).substr(digits);
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 3> units = {
      {{"KiB", 1024}, {"MiB", kMiB}, {"GiB", kGiB}}};
  auto u = std::find_if(units.begin(), units.end(), [&](const auto& x) { return x.first == unit; });
  if (digits == 0 || u == units.end())
    return r.error(v, fmt::format("{}, got '{}'", expected, s),
                   "one integer and one unit: KiB, MiB or GiB (binary: 1MiB is 1048576 bytes)");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + digits, n);
  if (ec != std::errc{} || n > range.hi / u->second || n * u->second < range.lo)
    return r.error(v,
                   fmt::format("expected a size from {} to {}, got '{}'", format_size(range.lo),
                               format_size(range.hi), s),
                   std::string(range.why));
  return n * u->second;
}

Result<std::string> read_string(const Reader& r, const Item& v, std::string_view expected) {
  if (v.node.IsScalar()) return v.node.Scalar();
  return r.error(v, fmt::format("expected {}, got {}", expected, describe(v.node)),
                 v.node.IsNull() ? "write \"\" for none" : "write one value on the key's line");
}

// Why `listen` is not HOST:PORT, or "" when it is. Host names are allowed: the bind resolves them.
std::string listen_problem(std::string_view s) {
  std::string_view host, port;
  if (s.starts_with('[')) {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return "close the bracket: [::1]:9437";
    host = s.substr(1, close - 1);
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1)
      return fmt::format("'{}' in brackets is not an IPv6 address", host);
    if (close + 1 >= s.size() || s[close + 1] != ':') return "add the port: [::1]:9437";
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return "add the port: 127.0.0.1:9437";
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return "put an IPv6 address in brackets: [::1]:9437";
    if (host.empty())
      return "name the address: 0.0.0.0:9437 for every IPv4 interface, [::]:9437 for all";
    bool numeric = std::all_of(host.begin(), host.end(),
                               [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    in_addr a4;
    if (numeric && inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1)
      return fmt::format("'{}' is not an IPv4 address", host);
    bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    });
    if (!name_chars) return fmt::format("'{}' is neither an address nor a host name", host);
  }
  uint64_t n = 0;
  if (!all_digits(port) || port.size() > 5 ||
      std::from_chars(port.data(), port.data() + port.size(), n).ec != std::errc{} || n > 65535)
    return "the port is a number from 0 to 65535";
  return {};
}

Result<std::string> read_listen(const Reader& r, const Item& v) {
  constexpr std::string_view expected =
      "expected ADDRESS:PORT such as 127.0.0.1:9437 or [::1]:9437";
  if (!v.node.IsScalar())
    return r.error(v, fmt::format("{}, got {}", expected, describe(v.node)),
                   "write one address on the key's line");
  std::string problem = listen_problem(v.node.Scalar());
  if (!problem.empty())
    return r.error(v, fmt::format("{}, got {}", expected, describe(v.node)), problem);
  return v.node.Scalar();
}

Result<std::vector<Label>> read_labels(const Reader& r, const Item& v) {
  std::array<std::string_view, kLabels.size()> names;
  std::transform(kLabels.begin(), kLabels.end(), names.begin(), label_name);
  std::string known = fmt::format(
      "the labels are {}, never a pid or an address: those are unbounded", list_words(names));
  if (!v.node.IsSequence())
    return r.error(
        v, fmt::format("expected a list such as [comm, container], got {}", describe(v.node)),
        fmt::format("{}; [] for none", known));
  std::vector<Label> out;
  for (size_t i = 0; i < v.node.size(); ++i) {
    Item e{v.node[i], v.node[i].Mark(), fmt::format("{}[{}]", v.path, i)};
    if (!e.node.IsScalar())
      return r.error(e, fmt::format("expected a label name, got {}", describe(e.node)), known);
    const std::string& s = e.node.Scalar();
    auto it = std::find(names.begin(), names.end(), s);
    if (it == names.end()) {
      std::string_view near = nearest(s, names);
      return r.error(e,
                     near.empty() ? fmt::format("unknown label '{}'", s)
                                  : fmt::format("unknown label '{}'; did you mean '{}'?", s, near),
                     known);
    }
    Label l = kLabels[static_cast<size_t>(it - names.begin())];
    if (std::find(out.begin(), out.end(), l) != out.end())
      return r.error(e, fmt::format("label '{}' is repeated", s), "list each label once");
    out.push_back(l);
  }
  return out;
}

// ---- maps ----

struct Field {
  std::string_view key;
  std::function<Result<void>(const Item&)> read;
};

// Reads a map's keys in file order. `key:` with nothing under it is an empty map: a section
// whose keys are all commented out keeps its defaults. Refuses a duplicate key (yaml-cpp
// keeps both and `map[key]` would quietly take the first) and an unknown one.
Result<void> read_map(const Reader& r, const Item& map, std::span<const Field> fields) {
  if (map.node.IsNull()) return {};
  if (!map.node.IsMap())
    return r.error(map, fmt::format("expected a map of keys, got {}", describe(map.node)),
                   "put its keys on the lines below, indented");
  std::vector<std::string_view> keys;
  for (const Field& f : fields) keys.push_back(f.key);
  std::vector<std::pair<std::string, int>> seen;  // key, 1-based line
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: the iterator's pair is a temporary
    if (!key.IsScalar())
      return r.error(key.Mark(), map.path,
                     fmt::format("expected a key name, got {}", describe(key)),
                     fmt::format("the keys here are {}", list_words(keys)));
    const std::string& name = key.Scalar();
    auto f =
        std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.key == name; });
    if (f == fields.end()) {
      std::string where = map.path.empty() ? "at the top level" : fmt::format("in {}", map.path);
      std::string_view near = nearest(name, keys);
      std::string suggestion;
      if (!near.empty()) {
        suggestion = fmt::format("; did you mean '{}'?", near);
      } else {
        // A known key at another level: the usual slip is a lost `sources:` or indentation.
        std::vector<std::string_view> elsewhere;
        for (std::string_view p : kAllPaths) {
          if (p.ends_with(name) &&
              (p.size() == name.size() || p[p.size() - name.size() - 1] == '.'))
            elsewhere.push_back(p);
        }
        if (elsewhere.size() == 1) suggestion = fmt::format("; did you mean '{}'?", elsewhere[0]);
      }
      return r.error(key.Mark(), "", fmt::format("unknown key '{}' {}{}", name, where, suggestion),
                     keys.size() == 1 ? fmt::format("the only key {} is {}", where, keys[0])
                                      : fmt::format("the keys {} are {}", where, list_words(keys)));
    }
    std::string path = join(map.path, name);
    auto dup =
        std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == name; });
    if (dup != seen.end())
      return r.error(
          key.Mark(), path, fmt::format("duplicate key, first set on line {}", dup->second),
          "delete one of them: YAML keeps both and kscope will not guess which you meant");
    seen.emplace_back(name, key.Mark().line + 1);
    Item value{it->second, it->second.IsNull() ? key.Mark() : it->second.Mark(), path};
    if (auto ok = f->read(value); !ok) return ok;
  }
  return {};
}

template <class T, class F>
std::function<Result<void>(const Item&)> into(T& out, F parse) {
  return [&out, parse](const Item& v) -> Result<void> {
    auto x = parse(v);
    if (!x) return std::unexpected(x.error());
    out = std::move(*x);
    return {};
  };
}

// A source that is only on or off: `tcp: false`, or `tcp: {enabled: false}`.
Result<void> read_switch(const Reader& r, const Item& v, bool& enabled) {
  if (v.node.IsMap()) {
    const Field fields[] = {
        {"enabled", into(enabled, [&](const Item& x) { return read_bool(r, x); })}};
    return read_map(r, v, fields);
  }
  auto on = read_bool(r, v, "true, false or a map such as {enabled: true}");
  if (!on) return std::unexpected(on.error());
  enabled = *on;
  return {};
}

Result<void> read_flows(const Reader& r, const Item& v, FlowsConfig& flows) {
  if (!v.node.IsMap() && !v.node.IsNull()) {
    auto on = read_bool(r, v, "true, false or a map of flow settings");
    if (!on) return std::unexpected(on.error());
    flows.enabled = *on;
    return {};
  }
  std::optional<Item> interface, cgroup;
  auto name = [&](std::optional<Item>& seen, std::string_view expected) {
    return [&r, &seen, expected](const Item& x) {
      seen = x;
      return read_string(r, x, expected);
    };
  };
  auto interface_name = [&](const Item& x) -> Result<std::string> {
    auto s = name(interface, "an interface name such as eth0")(x);
    if (s && (s->size() > 15 || s->find_first_of("/ \t") != std::string::npos))
      return r.error(
          x, fmt::format("expected an interface name such as eth0, got {}", describe(x.node)),
          "an interface name has at most 15 characters and no '/' or spaces; `ip link` "
          "lists them");
    return s;
  };
  auto ms = [&](const DurationRange& range) {
    return [&r, &range](const Item& x) { return read_duration(r, x, range); };
  };
  const Field fields[] = {
      {"enabled", into(flows.enabled, [&](const Item& x) { return read_bool(r, x); })},
      {"interface", into(flows.interface, interface_name)},
      {"cgroup",
       into(flows.cgroup, name(cgroup, "a cgroup path such as system.slice/nginx.service"))},
      {"max_flows",
       into(flows.max_flows, [&](const Item& x) { return read_count(r, x, kMaxFlows); })},
      {"sweep_interval", into(flows.sweep_interval, ms(kSweepInterval))},
      {"idle_timeout", into(flows.idle_timeout, ms(kIdleTimeout))},
      {"active_timeout", into(flows.active_timeout, ms(kActiveTimeout))},
  };
  if (auto ok = read_map(r, v, fields); !ok) return ok;
  if (!flows.interface.empty() && !flows.cgroup.empty()) {
    const Item& later = interface->mark.pos > cgroup->mark.pos ? *interface : *cgroup;
    return r.error(later, "interface and cgroup are exclusive",
                   "interface hooks one device's traffic (TC), cgroup the sockets of one cgroup: "
                   "keep one of them");
  }
  return {};
}

Result<void> read_limits(const Reader& r, const Item& v, Limits& limits) {
  std::optional<Item> per_metric, total;
  auto count = [&](std::optional<Item>& seen, const CountRange& range) {
    return [&r, &seen, &range](const Item& x) {
      seen = x;
      return read_count(r, x, range);
    };
  };
  auto ttl = [&](const Item& x) -> Result<std::chrono::seconds> {
    auto d = read_duration(r, x, kSeriesTtl);
    if (!d) return std::unexpected(d.error());
    if (d->count() % 1000 != 0)
      return r.error(x, fmt::format("expected whole seconds, got {}", describe(x.node)),
                     "series expire on a clock of seconds: write 1s, 90s, 10m");
    return std::chrono::duration_cast<std::chrono::seconds>(*d);
  };
  const Field fields[] = {
      {"series_per_metric", into(limits.series_per_metric, count(per_metric, kSeriesPerMetric))},
      {"series_total", into(limits.series_total, count(total, kSeriesTotal))},
      {"series_ttl", into(limits.series_ttl, ttl)},
      {"memory", into(limits.memory, [&](const Item& x) { return read_size(r, x, kMemory); })},
      {"bpf_memory",
       into(limits.bpf_memory, [&](const Item& x) { return read_size(r, x, kBpfMemory); })},
  };
  if (auto ok = read_map(r, v, fields); !ok) return ok;
  if (limits.series_total < limits.series_per_metric) {
    if (total)
      return r.error(*total,
                     fmt::format("{} is less than series_per_metric ({})", limits.series_total,
                                 limits.series_per_metric),
                     "series_total caps every metric together: make it at least series_per_metric");
    return r.error(*per_metric,
                   fmt::format("{} is more than series_total ({}, the default)",
                               limits.series_per_metric, limits.series_total),
                   "raise limits.series_total too: it caps every metric together");
  }
  return {};
}

Result<void> read_sources(const Reader& r, const Item& v, Config& c) {
  std::vector<Field> fields = {{"flows", [&](const Item& x) { return read_flows(r, x, c.flows); }}};
  for (const Switch& s : kSwitches)
    fields.push_back({s.key, [&r, &c, s](const Item& x) { return read_switch(r, x, c.*s.on); }});
  return read_map(r, v, fields);
}

// ---- the default file ----

// "  key: value   # comment", the comments in one column.
std::string yaml_line(int indent, std::string_view key, std::string_view value,
                      std::string_view comment) {
  std::string text = fmt::format("{:{}}{}:{}{}", "", indent, key, value.empty() ? "" : " ", value);
  if (comment.empty()) return text + "\n";
  return fmt::format("{:<31} # {}\n", text, comment);
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string range_text(const CountRange& r) { return fmt::format("{}..{}", r.lo, r.hi); }
std::string range_text(const DurationRange& r) {
  return fmt::format("{}..{}", format_duration(r.lo), format_duration(r.hi));
}
std::string_view yaml_bool(bool b) { return b ? "true" : "false"; }

}  // namespace

std::string_view label_name(Label l) {
  switch (l) {
    case Label::comm:
      return "comm";
    case Label::container:
      return "container";
    case Label::cgroup:
      return "cgroup";
  }
  return "?";
}

Result<Config> parse_config(std::string_view text, std::string_view file) {
  Reader r{file.empty() ? std::string("config") : std::string(file)};
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return r.error(
        e.mark, "", fmt::format("invalid YAML: {}", e.msg),
        "check the indentation (spaces, never tabs) and the quotes and brackets near there");
  }
  Config c;
  c.file = std::string(file);
  // Empty documents (a trailing `---`) say nothing; a second document with keys is ambiguous.
  std::erase_if(docs, [](const YAML::Node& d) { return d.IsNull(); });
  if (docs.empty()) return c;
  if (docs.size() > 1)
    return r.error(docs[1].Mark(), "",
                   fmt::format("expected one YAML document, found {}", docs.size()),
                   "merge the documents into one map and delete the '---' lines");
  Item root{docs[0], docs[0].Mark(), ""};
  if (!root.node.IsMap())
    return r.error(
        root,
        fmt::format("expected a map of settings at the top level, got {}", describe(root.node)),
        "the file is keys and values, e.g. `listen: 127.0.0.1:9437`; "
        "`kscope collect --print-default-config` prints every key");
  const Field fields[] = {
      {"listen", into(c.listen, [&](const Item& x) { return read_listen(r, x); })},
      {"labels", into(c.labels, [&](const Item& x) { return read_labels(r, x); })},
      {"limits", [&](const Item& x) { return read_limits(r, x, c.limits); }},
      {"bpf_stats", into(c.bpf_stats, [&](const Item& x) { return read_bool(r, x); })},
      {"sources", [&](const Item& x) { return read_sources(r, x, c); }},
  };
  if (auto ok = read_map(r, root, fields); !ok) return std::unexpected(ok.error());
  return c;
}

Result<Config> load_config(const std::string& path) {
  auto cannot = [&](int err) -> std::unexpected<Error> {
    std::string hint = err == ENOENT   ? "check the path; `kscope collect --print-default-config > "
                                         "FILE` writes a starting point"
                       : err == EACCES ? "make the file readable by the user the collector runs as"
                       : err == EISDIR ? "give the path of the YAML file, not of its directory"
                                       : "";
    return fail(fmt::format("read config {}: {}", path, std::strerror(err)), hint, err);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot(errno);
  std::string text;
  int err = 0;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else if (S_ISDIR(st.st_mode)) {
    err = EISDIR;
  } else {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) err = errno;
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (err != 0) return cannot(err);
  return parse_config(text, path);
}

std::string default_config_yaml() {
  const Config d;
  std::vector<std::string_view> labels;
  for (Label l : d.labels) labels.push_back(label_name(l));
  std::array<std::string_view, kLabels.size()> all;
  std::transform(kLabels.begin(), kLabels.end(), all.begin(), label_name);

  std::string y =
      "# kscope collect: the configuration. Every key is optional; these are the defaults.\n"
      "# docs/config.md describes each key, its range and the errors.\n";
  y += yaml_line(0, "listen", d.listen, "the metrics endpoint, ADDRESS:PORT ([::1]:9437 for IPv6)");
  y += yaml_line(0, "labels", fmt::format("[{}]", fmt::join(labels, ", ")),
                 fmt::format("workload labels on per-process metrics: any of {}; [] for none",
                             fmt::join(all, ", ")));
  y += yaml_line(0, "limits", "", "");
  y += yaml_line(2, "series_per_metric", fmt::to_string(d.limits.series_per_metric),
                 fmt::format("{}: {}", range_text(kSeriesPerMetric), kSeriesPerMetric.why));
  y += yaml_line(
      2, "series_total", fmt::to_string(d.limits.series_total),
      fmt::format("{}, >= series_per_metric: {}", range_text(kSeriesTotal), kSeriesTotal.why));
  y += yaml_line(2, "series_ttl", format_duration(d.limits.series_ttl),
                 fmt::format("{}: {}", range_text(kSeriesTtl), kSeriesTtl.why));
  y += yaml_line(2, "memory", format_size(d.limits.memory),
                 fmt::format("{}..{}: the collector's own memory; {}", format_size(kMemory.lo),
                             format_size(kMemory.hi), kMemory.why));
  y += yaml_line(2, "bpf_memory", format_size(d.limits.bpf_memory),
                 fmt::format("{}..{}: its probes' BPF maps; {}", format_size(kBpfMemory.lo),
                             format_size(kBpfMemory.hi), kBpfMemory.why));
  y += yaml_line(0, "bpf_stats", yaml_bool(d.bpf_stats),
                 "kernel BPF run-time statistics (kernel.bpf_stats_enabled) while running");
  y += yaml_line(0, "sources", "", "");
  y += yaml_line(2, "flows", "", "`flows: false` switches flows off and keeps the defaults");
  y += yaml_line(4, "enabled", yaml_bool(d.flows.enabled), "");
  y += yaml_line(4, "interface", quoted(d.flows.interface),
                 "TC hooks on this interface; \"\" = cgroup hooks. Exclusive with cgroup");
  y += yaml_line(4, "cgroup", quoted(d.flows.cgroup),
                 "cgroup hooks on this cgroup path; both \"\" = the root cgroup (every socket)");
  y += yaml_line(4, "max_flows", fmt::to_string(d.flows.max_flows),
                 fmt::format("{}: {}", range_text(kMaxFlows), kMaxFlows.why));
  y += yaml_line(4, "sweep_interval", format_duration(d.flows.sweep_interval),
                 fmt::format("{}: {}", range_text(kSweepInterval), kSweepInterval.why));
  y += yaml_line(4, "idle_timeout", format_duration(d.flows.idle_timeout),
                 fmt::format("{}: {}", range_text(kIdleTimeout), kIdleTimeout.why));
  y += yaml_line(4, "active_timeout", format_duration(d.flows.active_timeout),
                 fmt::format("{}: {}", range_text(kActiveTimeout), kActiveTimeout.why));
  for (size_t i = 0; i < kSwitches.size(); ++i) {
    y += yaml_line(2, kSwitches[i].key, yaml_bool(d.*kSwitches[i].on),
                   i == 0 ? "each of these: true, false or {enabled: BOOL}" : "");
  }
  return y;
}

}  // namespace kscope::collect
