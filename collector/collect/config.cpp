#include "collect/config.h"

#include "collect/config_reader.h"

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
#include <regex>
#include <span>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

namespace kscope::collect {
namespace {

// Ranges: the parser checks them and the default YAML's comments print them.

constexpr CountRange kSeriesPerMetric{
    1, 1'000'000, "past it, new label sets fold into the metric's \"other\" series"};
constexpr CountRange kSeriesTotal{1, 10'000'000, "the cap over every metric together"};
constexpr DurationRange kSeriesTtl{kSecond, 30 * kDay, "a series not updated this long is removed"};
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

constexpr DurationRange kReportInterval{milliseconds{100}, kDay,
                                        "each sink gets a loss report this often"};

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
constexpr std::array<std::string_view, 31> kAllPaths = {
    "listen", "token_file", "tls", "tls.cert_file", "tls.key_file", "tls.client_ca_file", "labels", "bpf_stats", "report_interval", "redact", "sinks",
    "limits.series_per_metric", "limits.series_total", "limits.series_ttl", "limits.memory",
    "limits.bpf_memory",
    "sources.flows", "sources.flows.enabled", "sources.flows.interface", "sources.flows.cgroup",
    "sources.flows.max_flows", "sources.flows.sweep_interval", "sources.flows.idle_timeout",
    "sources.flows.active_timeout",
    "sources.tcp", "sources.drops", "sources.dns", "sources.process", "sources.runqlat",
    "sources.biolatency", "sources.syscalls"};

// Regular expressions, each compiled here so that a bad one is an error with its line.
// libstdc++'s std::regex compiles a counted repeat by copying its atom that many times, with
// a signed count that overflows (undefined behaviour, found by tests/fuzz/config_fuzz), as does
// a back-reference's number, and matches recursively: what it is given stays small. "" when
// the pattern is fine.
std::string pattern_too_big(std::string_view p) {
  constexpr size_t kMaxPattern = 256;
  constexpr uint64_t kMaxRepeat = 100;
  if (p.size() > kMaxPattern)
    return fmt::format("the pattern is longer than {} bytes", kMaxPattern);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      // A back-reference's number overflows the same way.
      size_t digits = 0;
      while (i + 1 + digits < p.size() && std::isdigit(static_cast<unsigned char>(p[i + 1 + digits])))
        ++digits;
      if (digits > 2) return fmt::format("a back-reference above \\99 at byte {}", i);
      i += digits ? digits : 1;
      continue;
    }
    if (p[i] != '{') continue;
    uint64_t n = 0;
    for (size_t j = i + 1; j < p.size() && (std::isdigit(static_cast<unsigned char>(p[j])) || p[j] == ','); ++j) {
      if (p[j] == ',') {
        n = 0;
        continue;
      }
      n = n * 10 + static_cast<uint64_t>(p[j] - '0');
      if (n > kMaxRepeat)
        return fmt::format("a counted repeat ({{...}}) above {} at byte {}", kMaxRepeat, i);
    }
  }
  return "";
}

Result<std::vector<std::string>> read_patterns(const Reader& r, const Item& v) {
  if (!v.node.IsSequence())
    return r.error(v, fmt::format("expected a list of patterns, got {}", describe(v.node)),
                   "e.g. redact: ['(?:password|token)=(\\S+)']");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.node.size(); ++i) {
    Item e{v.node[i], v.node[i].Mark(), fmt::format("{}[{}]", v.path, i)};
    auto s = read_string(r, e, "a regular expression");
    if (!s) return std::unexpected(s.error());
    if (auto why = pattern_too_big(*s); !why.empty())
      return r.error(e, why, "a pattern finds a secret's key word and its value, e.g. "
                             "'(?:password|token)=(\\S+)'");
    try {
      std::regex re(*s);
    } catch (const std::regex_error& err) {
      return r.error(e, fmt::format("not a regular expression: {}", err.what()),
                     "ECMAScript syntax, as in JavaScript; quote it in single quotes");
    }
    out.push_back(std::move(*s));
  }
  return out;
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

namespace {

// yaml-cpp 0.7's LoadAll loops for ever, allocating, on a document that starts with ','
// (jbeder/yaml-cpp#1040; found here by tests/fuzz/config_fuzz): the parser ends that document
// without consuming the token, and the next starts at it again. Upstream's fix (#1319) stops
// at the first empty document, which would drop any later one silently; this pass walks the
// documents with events only and says where one starts where the one before it did.
struct DocumentWalk final : YAML::EventHandler {
  std::optional<YAML::Mark> start;
  bool stalled = false;
  void OnDocumentStart(const YAML::Mark& m) override {
    stalled = start && start->pos == m.pos;
    start = m;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Where a document starts that would make LoadAll loop; nullopt when none does. Throws what
// the parser throws for bad YAML.
std::optional<YAML::Mark> stalled_document(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentWalk walk;
  while (parser.HandleNextDocument(walk))
    if (walk.stalled) return walk.start;
  return std::nullopt;
}

// Two listeners on one address: the second would fail at the start with "another process
// listens there", which would send the user looking for another collector. Said here, with
// both places. Port 0 (the kernel picks) never clashes.
Result<void> check_stream_addresses(const Config& c) {
  struct Taken {
    std::string_view address, by;
  };
  std::vector<Taken> taken;
  if (!c.listen.ends_with(":0")) taken.push_back({c.listen, "the metrics endpoint (listen)"});
  std::vector<std::string> owners;  // kept alive for the views above
  owners.reserve(c.sinks.size());
  for (const SinkConfig& s : c.sinks) {
    if (s.type != SinkType::stream) continue;
    // "c.yaml:3:5: sinks[1]" -> "sinks[1] (c.yaml:3:5)"
    size_t cut = s.where.rfind(": ");
    owners.push_back(cut == std::string::npos
                         ? s.where
                         : fmt::format("{} ({})", s.where.substr(cut + 2), s.where.substr(0, cut)));
    for (auto [address, what] : {std::pair{std::string_view(s.stream.listen), "listen"},
                                 std::pair{std::string_view(s.stream.unix_path), "unix socket"}}) {
      if (address.empty() || address.ends_with(":0")) continue;
      for (const Taken& t : taken)
        if (t.address == address)
          return fail(fmt::format("{}: stream {} {} is also that of {}", s.where, what, address, t.by),
                      "give each stream sink its own listen: and unix: (\"\" for none), apart from "
                      "the metrics endpoint's listen:");
      taken.push_back({address, owners.back()});
    }
  }
  return {};
}

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view file) {
  Reader r{file.empty() ? std::string("config") : std::string(file), kAllPaths};
  std::vector<YAML::Node> docs;
  try {
    if (auto stall = stalled_document(text))
      return r.error(*stall, "", "invalid YAML: a document cannot start here",
                     "delete the ',' (or other flow punctuation) at the start of the document, or "
                     "quote it");
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    // yaml-cpp's depth guard says only "bad file".
    bool deep = dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr;
    return r.error(
        e.mark, "", fmt::format("invalid YAML: {}", deep ? "nested too deeply" : e.msg),
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
      {"listen", into_at(r, c.listen, c.at.listen, [&](const Item& x) { return read_listen(r, x, kMetricsAddress); })},
      {"token_file", into_at(r, c.token_file, c.at.token_file, [&](const Item& x) {
         // The file itself is read (and its mode checked) when the collector starts.
         return read_absolute_path(r, x, "token_file: /etc/kscope/token");
       })},
      {"tls", into(c.tls, [&](const Item& x) { return read_tls(r, x); })},
      {"labels", into(c.labels, [&](const Item& x) { return read_labels(r, x); })},
      {"limits", [&](const Item& x) { return read_limits(r, x, c.limits); }},
      {"bpf_stats", into(c.bpf_stats, [&](const Item& x) { return read_bool(r, x); })},
      {"sources", [&](const Item& x) { return read_sources(r, x, c); }},
      {"report_interval",
       into(c.report_interval, [&](const Item& x) { return read_duration(r, x, kReportInterval); })},
      {"redact", into(c.redact, [&](const Item& x) { return read_patterns(r, x); })},
      {"sinks", [&](const Item& x) { return read_sinks(r, x, c.sinks); }},
  };
  if (auto ok = read_map(r, root, fields); !ok) return std::unexpected(ok.error());
  if (auto ok = check_stream_addresses(c); !ok) return std::unexpected(ok.error());
  return c;
}

constexpr off_t kMaxConfigBytes = 1 << 20;

Result<Config> load_config(const std::string& path) {
  auto cannot = [&](int err) -> std::unexpected<Error> {
    std::string hint = err == ENOENT   ? "check the path; `kscope collect --print-default-config > "
                                         "FILE` writes a starting point"
                       : err == EACCES ? "make the file readable by the user the collector runs as"
                       : err == EISDIR ? "give the path of the YAML file, not of its directory"
                                       : "";
    return fail(fmt::format("read config {}: {}", path, std::strerror(err)), hint, err);
  };
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, for ever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return cannot(errno);
  std::string text;
  int err = 0;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else if (S_ISDIR(st.st_mode)) {
    err = EISDIR;
  } else if (!S_ISREG(st.st_mode) || st.st_size > kMaxConfigBytes) {
    // A device (/dev/zero), a FIFO or a socket has no end to read to; a configuration is
    // a few KiB.
    ::close(fd);
    return fail(fmt::format("read config {}: {}", path,
                            S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file"),
                "give the path of the YAML file");
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
  y += yaml_line(0, "token_file", quoted(d.token_file),
                 "a file (mode 0600) holding a bearer token the metrics endpoint and stream "
                 "clients must send; \"\" = none");
  y += yaml_line(0, "tls", "", "TLS for the metrics endpoint; no cert_file = plain HTTP");
  y += yaml_line(2, "cert_file", quoted(d.tls.cert_file),
                 "the certificate, PEM (its chain after it), an absolute path");
  y += yaml_line(2, "key_file", quoted(d.tls.key_file), "its private key, PEM, mode 0600 or stricter");
  y += yaml_line(2, "client_ca_file", quoted(d.tls.client_ca_file),
                 "mutual TLS: clients must show a certificate this CA signed; \"\" = none asked");
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
  y += yaml_line(0, "report_interval", format_duration(d.report_interval),
                 fmt::format("{}: {}", range_text(kReportInterval), kReportInterval.why));
  y += yaml_line(0, "redact", "[]",
                 "patterns whose matches in trace events' arguments become *****");
  y += yaml_line(0, "sinks", "[]",
                 "where flow records go: file, stdout, stream, ipfix, kafka (docs/config.md)");
  return y;
}

}  // namespace kscope::collect
