#include "collect/sinks_config.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "registry/registry.h"

namespace kscope::collect {
namespace {

constexpr std::array<std::pair<std::string_view, SinkType>, 5> kTypes = {{
    {"file", SinkType::file},
    {"stdout", SinkType::stdout_},
    {"stream", SinkType::stream},
    {"ipfix", SinkType::ipfix},
    {"kafka", SinkType::kafka},
}};

constexpr CountRange kQueue{1, 16'777'216, "records waiting for the sink; past it they are dropped and counted"};
constexpr SizeRange kMaxSize{4096, 1024 * kGiB, "a file is rotated before it passes this size"};
constexpr CountRange kBackups{0, 1000, "rotated files kept: FILE.1 (newest) .. FILE.N"};
constexpr DurationRange kRotateInterval{kSecond, 30 * kDay, "a file this old is rotated"};
constexpr CountRange kBuffer{0, 10'000'000, "the last records kept for clients that ask for them"};
constexpr CountRange kClientQueue{1, 10'000'000, "records waiting per client; past it they drop"};
constexpr CountRange kMaxClients{1, 4096, "clients connected at once"};
constexpr CountRange kDomain{0, 0xffffffff, "the IPFIX observation domain id"};
constexpr DurationRange kTemplateInterval{kSecond, kDay, "templates are re-sent this often over UDP"};
constexpr CountRange kMaxMessage{512, 65'507, "an IPFIX message's bytes: keep it within the path MTU"};
constexpr CountRange kEnterprise{1, 0xffffffff, "the IANA private enterprise number of the process elements"};
constexpr CountRange kBatch{1, 1'000'000, "records per Kafka batch"};
constexpr DurationRange kLinger{milliseconds{1}, 60 * kSecond, "how long Kafka batches wait to fill"};
constexpr CountRange kKafkaBuffer{1, 10'000'000, "records kept while brokers are away"};
constexpr DurationRange kMessageTimeout{kSecond, kDay, "a record undelivered this long is dropped"};
constexpr std::array<std::string_view, 5> kCompressions = {"none", "gzip", "snappy", "lz4", "zstd"};

// One value or a list of them, each read by `one`.
template <class T, class F>
Result<std::vector<T>> read_list(const Item& v, F one) {
  std::vector<T> out;
  if (!v.node.IsSequence()) {
    auto x = one(v);
    if (!x) return std::unexpected(x.error());
    out.push_back(std::move(*x));
    return out;
  }
  for (size_t i = 0; i < v.node.size(); ++i) {
    Item e{v.node[i], v.node[i].Mark(), fmt::format("{}[{}]", v.path, i)};
    auto x = one(e);
    if (!x) return std::unexpected(x.error());
    out.push_back(std::move(*x));
  }
  return out;
}

Result<flows::FlowFilter> read_filter(const Reader& r, const Item& v) {
  flows::FlowFilter f;
  auto cidr = [&](const Item& x) -> Result<flows::Cidr> {
    auto s = read_string(r, x, "an address or CIDR such as 10.0.0.0/8");
    if (!s) return std::unexpected(s.error());
    auto c = flows::parse_cidr(*s);
    if (!c) return r.error(x, c.error().message, c.error().hint);
    return c;
  };
  auto number = [&](uint64_t hi, std::string_view what) {
    return [&r, hi, what](const Item& x) -> Result<uint64_t> {
      uint64_t n = 0;
      if (x.node.IsScalar() && all_digits(x.node.Scalar()) &&
          std::from_chars(x.node.Scalar().data(), x.node.Scalar().data() + x.node.Scalar().size(), n)
                  .ec == std::errc{} &&
          n <= hi)
        return n;
      return r.error(x, fmt::format("expected {} from 0 to {}, got {}", what, hi, describe(x.node)),
                     "one number, or a list of them: [53, 853]");
    };
  };
  auto protocol = [&](const Item& x) -> Result<uint8_t> {
    if (x.node.IsScalar())
      if (int p = flows::parse_protocol(x.node.Scalar()); p >= 0) return static_cast<uint8_t>(p);
    return r.error(x, fmt::format("expected a protocol, got {}", describe(x.node)),
                   "tcp, udp, icmp, icmpv6 or a number from 0 to 255");
  };
  auto comm = [&](const Item& x) { return read_string(r, x, "a process name (comm)"); };
  auto ports = [&](const Item& x) -> Result<void> {
    auto l = read_list<uint64_t>(x, number(65535, "a port"));
    if (!l) return std::unexpected(l.error());
    for (auto p : *l) f.ports.push_back(static_cast<uint16_t>(p));
    return {};
  };
  auto pids = [&](const Item& x) -> Result<void> {
    auto l = read_list<uint64_t>(x, number(0xffffffff, "a process id"));
    if (!l) return std::unexpected(l.error());
    for (auto p : *l) f.pids.push_back(static_cast<uint32_t>(p));
    return {};
  };
  const Field fields[] = {
      {"ip", into(f.ips, [&](const Item& x) { return read_list<flows::Cidr>(x, cidr); })},
      {"from_ip", into(f.source_ips, [&](const Item& x) { return read_list<flows::Cidr>(x, cidr); })},
      {"to_ip",
       into(f.destination_ips, [&](const Item& x) { return read_list<flows::Cidr>(x, cidr); })},
      {"port", ports},
      {"protocol", into(f.protocols, [&](const Item& x) { return read_list<uint8_t>(x, protocol); })},
      {"pid", pids},
      {"comm", into(f.comms, [&](const Item& x) { return read_list<std::string>(x, comm); })},
      {"drop_reason", into(f.drop_reasons, [&](const Item& x) {
         return read_list<std::string>(x, [&](const Item& e) {
           return read_string(r, e, "a drop reason such as NO_SOCKET");
         });
       })},
  };
  if (!v.node.IsMap())
    return r.error(v, fmt::format("expected a filter such as {{port: [53], protocol: udp}}, got {}",
                                  describe(v.node)),
                   "a filter's keys are ip, from_ip, to_ip, port, protocol, pid, comm and drop_reason");
  if (auto ok = read_map(r, v, fields); !ok) return std::unexpected(ok.error());
  if (f.empty())
    return r.error(v, "an empty filter matches every record",
                   "give it at least one of ip, from_ip, to_ip, port, protocol, pid, comm, drop_reason");
  return f;
}

Result<std::vector<flows::FlowFilter>> read_filters(const Reader& r, const Item& v) {
  if (!v.node.IsSequence())
    return r.error(v, fmt::format("expected a list of filters, got {}", describe(v.node)),
                   "e.g. allow: [{port: [53]}, {comm: [nginx]}]: a record passes on any of them");
  return read_list<flows::FlowFilter>(v, [&](const Item& x) { return read_filter(r, x); });
}

// "flows" and the names of registry tools whose events a sink can take.
Result<std::vector<std::string>> read_events(const Reader& r, const Item& v) {
  std::vector<std::string_view> known = {"flows"};
  for (const Tool* t : all_tools()) known.push_back(t->info().name);
  auto names = read_list<std::string>(v, [&](const Item& e) -> Result<std::string> {
    auto s = read_string(r, e, "flows or a tool name such as exec");
    if (!s) return s;
    if (std::find(known.begin(), known.end(), *s) != known.end()) return s;
    std::string_view near = nearest(*s, known);
    return r.error(e, near.empty() ? fmt::format("unknown event kind '{}'", *s)
                                   : fmt::format("unknown event kind '{}'; did you mean '{}'?", *s, near),
                   "flows, or a `kscope trace` event tool: exec, exit, oomkill, drops, tcpstates, "
                   "tcplife, dns... (docs/export.md)");
  });
  if (names && names->empty())
    return r.error(v, "a sink that takes no records", "events: [flows] (the default), or name tools");
  return names;
}

Result<SinkType> read_type(const Reader& r, const Item& v) {
  std::array<std::string_view, kTypes.size()> names;
  std::transform(kTypes.begin(), kTypes.end(), names.begin(), [](const auto& t) { return t.first; });
  if (v.node.IsScalar()) {
    for (const auto& [name, type] : kTypes)
      if (name == v.node.Scalar()) return type;
    std::string_view near = nearest(v.node.Scalar(), names);
    if (!near.empty())
      return r.error(v, fmt::format("unknown sink type {}; did you mean '{}'?", describe(v.node), near),
                     fmt::format("the types are {}", list_words(names, "or")));
  }
  return r.error(v, fmt::format("expected a sink type, got {}", describe(v.node)),
                 fmt::format("the types are {}", list_words(names, "or")));
}

Result<std::string> read_name(const Reader& r, const Item& v) {
  auto s = read_string(r, v, "a sink name such as flowlog");
  if (!s) return s;
  bool ok = !s->empty() && s->size() <= 64 && std::all_of(s->begin(), s->end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (!ok)
    return r.error(v, fmt::format("expected a sink name, got {}", describe(v.node)),
                   "1 to 64 letters, digits, '-', '_' or '.': it names the sink in metrics and "
                   "loss reports");
  return s;
}

Result<void> read_sink(const Reader& r, const Item& v, SinkConfig& s) {
  if (!v.node.IsMap())
    return r.error(v, fmt::format("expected a sink (a map with name and type), got {}",
                                  describe(v.node)),
                   "e.g. - {name: flowlog, type: file, path: /var/log/kscope/flows.json}");
  const YAML::Node type_node = v.node["type"];
  if (!type_node)
    return r.error(v, "a sink needs a type", "type: file, stdout, stream, ipfix or kafka");
  auto type = read_type(r, Item{type_node, type_node.Mark(), join(v.path, "type")});
  if (!type) return std::unexpected(type.error());
  s.type = *type;
  std::optional<Item> path_item, address_item, tls_item;
  auto count = [&](const CountRange& range) {
    return [&r, &range](const Item& x) { return read_count(r, x, range); };
  };
  auto ms = [&](const DurationRange& range) {
    return [&r, &range](const Item& x) { return read_duration(r, x, range); };
  };
  auto boolean = [&](const Item& x) { return read_bool(r, x); };
  std::vector<Field> fields = {
      {"name", into(s.name, [&](const Item& x) { return read_name(r, x); })},
      {"type", [](const Item&) -> Result<void> { return {}; }},
      {"queue", into(s.queue, count(kQueue))},
      {"fields", into(s.fields, [&](const Item& x) {
         return read_list<std::string>(x, [&](const Item& e) {
           return read_string(r, e, "a record field name such as bytes");
         });
       })},
      {"events", into(s.events, [&](const Item& x) { return read_events(r, x); })},
      {"allow", into(s.filters.allow, [&](const Item& x) { return read_filters(r, x); })},
      {"deny", into(s.filters.deny, [&](const Item& x) { return read_filters(r, x); })},
  };
  switch (s.type) {
    case SinkType::file:
      fields.push_back({"path", [&](const Item& x) -> Result<void> {
                          path_item = x;
                          auto p = read_string(r, x, "a file path");
                          if (!p) return std::unexpected(p.error());
                          if (p->empty() || p->back() == '/')
                            return r.error(x, fmt::format("expected a file path, got {}", describe(x.node)),
                                           "name the file, e.g. /var/log/kscope/flows.json");
                          s.file.path = *p;
                          return {};
                        }});
      fields.push_back({"max_size", into(s.file.max_size, [&](const Item& x) {
                          return read_size(r, x, kMaxSize);
                        })});
      fields.push_back({"max_backups", into(s.file.max_backups, count(kBackups))});
      fields.push_back({"rotate_interval", into(s.file.rotate_interval, ms(kRotateInterval))});
      fields.push_back({"compress", into(s.file.compress, boolean)});
      break;
    case SinkType::stdout_:
      break;
    case SinkType::stream: {
      auto listen_or_none = [&](const Item& x) -> Result<std::string> {
        if (x.node.IsScalar() && x.node.Scalar().empty()) return std::string();
        return read_listen(r, x, kStreamAddress);
      };
      fields.push_back({"listen", into(s.stream.listen, listen_or_none)});
      fields.push_back({"unix", into(s.stream.unix_path, [&](const Item& x) {
                          return read_string(r, x, "a unix socket path");
                        })});
      fields.push_back({"buffer", into(s.stream.buffer, count(kBuffer))});
      fields.push_back({"client_queue", into(s.stream.client_queue, count(kClientQueue))});
      fields.push_back({"max_clients", into(s.stream.max_clients, count(kMaxClients))});
      fields.push_back({"tls", [&](const Item& x) -> Result<void> {
                          tls_item = x;
                          auto t = read_tls(r, x);
                          if (!t) return std::unexpected(t.error());
                          s.stream.tls = std::move(*t);
                          return {};
                        }});
      break;
    }
    case SinkType::ipfix:
      fields.push_back({"address", [&](const Item& x) -> Result<void> {
                          address_item = x;
                          auto a = read_listen(r, x, kIpfixAddress);
                          if (!a) return std::unexpected(a.error());
                          s.ipfix.address = *a;
                          return {};
                        }});
      fields.push_back({"transport", into(s.ipfix.tcp, [&](const Item& x) -> Result<bool> {
                          if (x.node.IsScalar() && (x.node.Scalar() == "udp" || x.node.Scalar() == "tcp"))
                            return x.node.Scalar() == "tcp";
                          return r.error(x, fmt::format("expected udp or tcp, got {}", describe(x.node)),
                                         "udp (the default; templates are re-sent) or tcp");
                        })});
      fields.push_back({"observation_domain", into(s.ipfix.observation_domain, count(kDomain))});
      fields.push_back({"template_interval", into(s.ipfix.template_interval, ms(kTemplateInterval))});
      fields.push_back({"max_message", into(s.ipfix.max_message, count(kMaxMessage))});
      fields.push_back({"enterprise_number", into(s.ipfix.enterprise_number, count(kEnterprise))});
      break;
    case SinkType::kafka:
      fields.push_back({"brokers", [&](const Item& x) -> Result<void> {
                          address_item = x;
                          auto l = read_list<std::string>(x, [&](const Item& e) { return read_listen(r, e, kKafkaAddress); });
                          if (!l) return std::unexpected(l.error());
                          s.kafka.brokers = std::move(*l);
                          return {};
                        }});
      fields.push_back({"topic", [&](const Item& x) -> Result<void> {
                          path_item = x;
                          auto t = read_string(r, x, "a topic name");
                          if (!t) return std::unexpected(t.error());
                          s.kafka.topic = *t;
                          return {};
                        }});
      fields.push_back({"compression", into(s.kafka.compression, [&](const Item& x) -> Result<std::string> {
                          if (x.node.IsScalar() &&
                              std::find(kCompressions.begin(), kCompressions.end(), x.node.Scalar()) !=
                                  kCompressions.end())
                            return x.node.Scalar();
                          return r.error(x, fmt::format("expected a compression, got {}", describe(x.node)),
                                         fmt::format("one of {}", list_words(kCompressions, "or")));
                        })});
      fields.push_back({"batch_size", into(s.kafka.batch_size, count(kBatch))});
      fields.push_back({"linger", into(s.kafka.linger, ms(kLinger))});
      fields.push_back({"buffer", into(s.kafka.buffer, count(kKafkaBuffer))});
      fields.push_back({"message_timeout", into(s.kafka.message_timeout, ms(kMessageTimeout))});
      fields.push_back({"properties", [&](const Item& x) -> Result<void> {
                          if (!x.node.IsMap())
                            return r.error(x, fmt::format("expected a map of librdkafka properties, got {}",
                                                          describe(x.node)),
                                           "e.g. properties: {security.protocol: ssl}");
                          for (auto it = x.node.begin(); it != x.node.end(); ++it) {
                            const YAML::Node key = it->first;
                            const YAML::Node value = it->second;
                            if (!key.IsScalar() || !value.IsScalar())
                              return r.error(key.Mark(), x.path, "expected PROPERTY: VALUE, both text");
                            s.kafka.properties[key.Scalar()] = value.Scalar();
                          }
                          return {};
                        }});
      break;
  }
  if (auto ok = read_map(r, v, fields); !ok) return ok;
  auto missing = [&](std::string_view key, std::string_view example) {
    std::string_view kind = sink_type_name(s.type);
    return r.error(v, fmt::format("{} {} sink needs {}", kind == "ipfix" ? "an" : "a", kind, key),
                   std::string(example));
  };
  if (s.name.empty()) return missing("a name", "name: flowlog (it names the sink in metrics)");
  if (s.type == SinkType::file && s.file.path.empty())
    return missing("a path", "path: /var/log/kscope/flows.json");
  if (s.type == SinkType::stream && s.stream.listen.empty() && s.stream.unix_path.empty())
    return missing("listen or unix", "listen: 127.0.0.1:9438 or unix: /run/kscope/observe.sock");
  if (s.type == SinkType::stream && s.stream.tls.enabled() && s.stream.listen.empty())
    return r.error(*tls_item, "TLS is for the TCP listener, and this stream sink has none (unix only)",
                   "a unix socket stays plain, guarded by its mode (0660): drop tls, or add "
                   "listen: 127.0.0.1:9438");
  if (s.type == SinkType::ipfix && s.ipfix.address.empty())
    return missing("an address", "address: 127.0.0.1:4739 (the IPFIX collector)");
  if (s.type == SinkType::kafka && s.kafka.brokers.empty())
    return missing("brokers", "brokers: [kafka-1:9092]");
  if (s.type == SinkType::kafka && s.kafka.topic.empty())
    return missing("a topic", "topic: kscope-flows");
  if (s.type == SinkType::ipfix && s.events != std::vector<std::string>{"flows"})
    return r.error(v, "an ipfix sink carries flows only",
                   "leave events out (or events: [flows]); send trace events to a file, stream "
                   "or kafka sink");
  return {};
}

}  // namespace

std::string_view sink_type_name(SinkType t) {
  for (const auto& [name, type] : kTypes)
    if (type == t) return name;
  return "?";
}

Result<void> read_sinks(const Reader& r, const Item& v, std::vector<SinkConfig>& sinks) {
  sinks.clear();
  if (v.node.IsNull()) return {};
  if (!v.node.IsSequence())
    return r.error(v, fmt::format("expected a list of sinks, got {}", describe(v.node)),
                   "each sink is an item: - {name: flowlog, type: file, path: FILE}");
  std::vector<std::pair<std::string, int>> names;  // name, 1-based line
  for (size_t i = 0; i < v.node.size(); ++i) {
    Item e{v.node[i], v.node[i].Mark(), fmt::format("{}[{}]", v.path, i)};
    SinkConfig s;
    if (auto ok = read_sink(r, e, s); !ok) return ok;
    auto dup = std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.first == s.name; });
    if (dup != names.end())
      return r.error(e, fmt::format("sink name '{}' is already used on line {}", s.name, dup->second),
                     "name each sink once: the name tells them apart in metrics and loss reports");
    names.emplace_back(s.name, e.mark.line + 1);
    s.where = r.where(e);
    sinks.push_back(std::move(s));
  }
  return {};
}

}  // namespace kscope::collect
