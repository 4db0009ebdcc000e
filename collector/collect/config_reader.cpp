#include "collect/config_reader.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <vector>

namespace kscope::collect {

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

std::string join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

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

namespace {

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

}  // namespace

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
std::string list_words(std::span<const std::string_view> words, std::string_view last) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? fmt::format(" {} ", last) : ", ";
    out += words[i];
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A plain `true` or `false`. YAML 1.1's yes/no/on/off are refused: YAML 1.2 reads them as
// strings, so a file that relied on them would mean different things to different tools.
Result<bool> read_bool(const Reader& r, const Item& v, std::string_view expected) {
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

Result<std::string> read_absolute_path(const Reader& r, const Item& v, std::string_view example) {
  auto path = read_string(r, v, "a file's absolute path, or \"\"");
  if (!path) return path;
  if (!path->empty() && !path->starts_with('/'))
    return r.error(v, fmt::format("expected an absolute path, got '{}'", *path),
                   fmt::format("e.g. {}", example));
  return path;
}

// Why `s` is not HOST:PORT, or "" when it is. Host names are allowed: the bind or the connect
// resolves them. The hints' examples use the address's usual port.
std::string listen_problem(std::string_view s, const AddressUse& use) {
  const uint16_t p = use.port;
  std::string_view host, port;
  if (s.starts_with('[')) {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return fmt::format("close the bracket: [::1]:{}", p);
    host = s.substr(1, close - 1);
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1)
      return fmt::format("'{}' in brackets is not an IPv6 address", host);
    if (close + 1 >= s.size() || s[close + 1] != ':') return fmt::format("add the port: [::1]:{}", p);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return fmt::format("add the port: 127.0.0.1:{}", p);
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fmt::format("put an IPv6 address in brackets: [::1]:{}", p);
    if (host.empty())
      return use.listen ? fmt::format("name the address: 0.0.0.0:{0} for every IPv4 interface, "
                                      "[::]:{0} for all", p)
                        : fmt::format("name the host: 127.0.0.1:{}", p);
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

Result<std::string> read_listen(const Reader& r, const Item& v, const AddressUse& use) {
  const std::string expected =
      fmt::format("expected ADDRESS:PORT such as 127.0.0.1:{0} or [::1]:{0}", use.port);
  if (!v.node.IsScalar())
    return r.error(v, fmt::format("{}, got {}", expected, describe(v.node)),
                   "write one address on the key's line");
  std::string problem = listen_problem(v.node.Scalar(), use);
  if (!problem.empty())
    return r.error(v, fmt::format("{}, got {}", expected, describe(v.node)), problem);
  return v.node.Scalar();
}

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
        for (std::string_view p : r.paths) {
          if (p.ends_with(name) &&
              (p.size() == name.size() || p[p.size() - name.size() - 1] == '.'))
            elsewhere.push_back(p);
        }
        // A key of the top level met in a sink ("tls" in a file sink) has nowhere better to be.
        if (elsewhere.size() == 1 && elsewhere[0] != name)
          suggestion = fmt::format("; did you mean '{}'?", elsewhere[0]);
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

}  // namespace kscope::collect
