#include "exporters/sinks/flow_json.h"

#include <net/if.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "flows.h"
#include "render/json_writer.h"

namespace kscope::sinks {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpv6 = 58;

// RFC 3339 in UTC with nanoseconds, quoted. Records come in time order, so the date part is
// cached per second: gmtime_r and strftime for each of a record's four times would cost more
// than the rest of the record.
void time_member(JsonWriter& w, std::string_view key, uint64_t wall_ns) {
  thread_local time_t cached_sec = -1;
  thread_local char cached[24];
  time_t sec = static_cast<time_t>(wall_ns / 1'000'000'000);
  if (sec != cached_sec) {
    tm t{};
    gmtime_r(&sec, &t);
    strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &t);
    cached_sec = sec;
  }
  // "DATE.NNNNNNNNNZ", the nine digits by hand: fmt's padding costs more than the rest.
  char text[48];
  size_t n = std::strlen(cached);
  text[0] = '"';
  std::memcpy(text + 1, cached, n);
  char* p = text + 1 + n;
  *p++ = '.';
  uint64_t frac = wall_ns % 1'000'000'000;
  for (int i = 8; i >= 0; --i, frac /= 10) p[i] = static_cast<char>('0' + frac % 10);
  p += 9;
  *p++ = 'Z';
  *p++ = '"';
  w.key(key).raw_value(std::string_view(text, p));
}

// The interface's name in the collector's network namespace, looked up once per index.
std::string_view interface_name(uint32_t ifindex) {
  thread_local std::map<uint32_t, std::string> names;
  auto it = names.find(ifindex);
  if (it == names.end()) {
    char name[IF_NAMESIZE] = {};
    it = names.emplace(ifindex, if_indextoname(ifindex, name) ? name : "").first;
  }
  return it->second;
}

// IPFIX's flowEndReason names, spelled out (flows::end_reason_name() is the short form).
std::string_view end_reason_text(flows::EndReason r) {
  switch (r) {
    case flows::EndReason::none: return "";
    case flows::EndReason::idle_timeout: return "idle_timeout";
    case flows::EndReason::active_timeout: return "active_timeout";
    case flows::EndReason::end_of_flow: return "end_of_flow";
    case flows::EndReason::forced_end: return "forced_end";
    case flows::EndReason::lack_of_resources: return "lack_of_resources";
  }
  return "";
}

void write_l4(JsonWriter& w, const flows::FlowRecord& r) {
  const ks_flow_key& k = r.key;
  w.key("l4").begin_object();
  if (k.proto == kTcp || k.proto == kUdp) {
    w.key(k.proto == kTcp ? "TCP" : "UDP").begin_object();
    w.member("source_port", uint64_t{k.sport}).member("destination_port", uint64_t{k.dport});
    if (k.proto == kTcp) {
      // Hubble's form: the flags seen, each true.
      w.key("flags").begin_object();
      for (int i = 0; i < 8; ++i)
        if (r.tcp_flags & (1u << i)) w.member(flows::kTcpFlagNames[i], true);
      w.end_object();
    }
    w.end_object();
  } else if (k.proto == kIcmp || k.proto == kIcmpv6) {
    w.key(k.proto == kIcmp ? "ICMPv4" : "ICMPv6").begin_object();
    w.member("type", uint64_t{static_cast<uint64_t>(k.dport >> 8)})
        .member("code", uint64_t{static_cast<uint64_t>(k.dport & 0xff)});
    w.end_object();
  } else {
    w.member("protocol", uint64_t{k.proto});
  }
  w.end_object();
}

using Writer = void (*)(JsonWriter&, const flows::FlowRecord&, const Context&);

// The fields in the order they are written: a mask picks among these names.
struct FieldWriter {
  std::string_view name;
  Writer write;
  bool overflow_too;  // also in the overflow record (which has no 5-tuple and no process)
};

const FieldWriter kFields[] = {
    {"time",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context& c) {
       time_member(w, "time", c.wall_ns(r.last_ns ? r.last_ns : r.first_ns));
     },
     true},
    {"flow_start",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context& c) {
       if (r.flow_start_ns) time_member(w, "flow_start", c.wall_ns(r.flow_start_ns));
     },
     false},
    {"first",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context& c) {
       if (r.first_ns) time_member(w, "first", c.wall_ns(r.first_ns));
     },
     true},
    {"last",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context& c) {
       if (r.last_ns) time_member(w, "last", c.wall_ns(r.last_ns));
     },
     true},
    {"node_name",
     [](JsonWriter& w, const flows::FlowRecord&, const Context& c) {
       w.member("node_name", std::string_view(c.node_name));
     },
     true},
    {"IP",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.key("IP").begin_object();
       w.member("source", std::string_view(ip_text(flows::source_addr(r.key))));
       w.member("destination", std::string_view(ip_text(flows::destination_addr(r.key))));
       w.member("ipVersion", r.key.family == 6 ? "IPv6" : "IPv4");
       w.end_object();
     },
     false},
    {"l4",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       write_l4(w, r);
     },
     false},
    {"traffic_direction",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.member("traffic_direction", r.key.direction == KS_FLOW_EGRESS ? "EGRESS" : "INGRESS");
     },
     true},
    {"observation_point",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.member("observation_point", r.key.point == KS_FLOW_POINT_TC ? "tc" : "cgroup");
     },
     true},
    {"interface",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       if (!r.key.ifindex) return;
       w.key("interface").begin_object();
       w.member("index", uint64_t{r.key.ifindex}).member("name", interface_name(r.key.ifindex));
       w.end_object();
     },
     false},
    {"packets",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.member("packets", uint64_t{r.packets});
     },
     true},
    {"bytes",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.member("bytes", uint64_t{r.bytes});
     },
     true},
    {"tcp_flags",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       if (r.key.proto == kTcp) w.member("tcp_flags", std::string_view(flows::tcp_flag_names(r.tcp_flags)));
     },
     false},
    {"end_reason",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.member("end_reason", end_reason_text(r.end));
     },
     true},
    {"sequence",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.member("sequence", uint64_t{r.sequence});
     },
     false},
    {"pair_id",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       w.member("pair_id", flows::pair_id(r.key));
     },
     false},
    {"process",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       if (!(r.owner_flags & KS_FLOW_OWNER_KNOWN)) return;
       const ks_flow_owner& o = r.owner;
       w.key("process").begin_object();
       w.member("pid", uint64_t{o.tgid}).member("tid", uint64_t{o.pid});
       w.member("comm", std::string_view(o.comm, strnlen(o.comm, sizeof(o.comm))));
       w.member("uid", uint64_t{o.uid}).member("cgroup_id", uint64_t{o.cgroup_id});
       w.member("container_id", std::string_view(r.container_id));
       w.end_object();
     },
     false},
    {"tcp",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       if (!(r.owner_flags & KS_FLOW_TCP_SOCK)) return;
       w.key("tcp").begin_object();
       w.member("srtt_us", uint64_t{r.srtt_us}).member("retransmits", uint64_t{r.retransmits});
       w.end_object();
     },
     false},
    {"socket_cookie",
     [](JsonWriter& w, const flows::FlowRecord& r, const Context&) {
       if (r.socket_cookie) w.member("socket_cookie", uint64_t{r.socket_cookie});
     },
     false},
};

}  // namespace

const std::vector<std::string_view>& flow_json_fields() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> n;
    for (const auto& f : kFields) n.push_back(f.name);
    return n;
  }();
  return names;
}

Result<FieldMask> FieldMask::parse(const std::vector<std::string>& names) {
  const auto& known = flow_json_fields();
  FieldMask m;
  for (const auto& name : names) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return fail(fmt::format("unknown flow record field \"{}\"", name),
                  fmt::format("the fields are: {}", list));
    }
    m.names_.push_back(name);
  }
  return m;
}

bool FieldMask::keeps(std::string_view field) const {
  return names_.empty() || std::find(names_.begin(), names_.end(), field) != names_.end();
}

void append_flow_json(fmt::memory_buffer& out, const flows::FlowRecord& r, const Context& ctx,
                      const FieldMask& mask) {
  JsonWriter w(out);
  w.begin_object();
  w.member("schema", kFlowSchema);
  for (const auto& f : kFields) {
    if (r.overflow() && !f.overflow_too) continue;
    if (mask.keeps(f.name)) f.write(w, r, ctx);
  }
  w.end_object();
  w.end_line();
}

void append_loss_json(fmt::memory_buffer& out, const LossReport& r, std::string_view sink,
                      std::string_view node_name) {
  JsonWriter w(out);
  w.begin_object();
  // node_name: many collectors' reports meet in one Kafka topic or one collector's files.
  w.member("schema", kLossSchema).member("sink", sink).member("node_name", node_name);
  time_member(w, "window_start", r.window_start_ns);
  time_member(w, "window_end", r.window_end_ns);
  w.member("records", uint64_t{r.records}).member("complete", r.complete());
  w.key("lost").begin_object();
  for (const auto& [point, n] : r.lost) w.member(point, uint64_t{n});
  w.end_object();
  w.end_object();
  w.end_line();
}

void append_item_json(fmt::memory_buffer& out, const Item& item, const Context& ctx,
                      std::string_view sink, const FieldMask& mask) {
  if (const auto* r = std::get_if<flows::FlowRecord>(&item))
    append_flow_json(out, *r, ctx, mask);
  else if (const auto* e = std::get_if<EventItem>(&item))
    out.append(e->json);
  else
    append_loss_json(out, std::get<LossReport>(item), sink, ctx.node_name);
}

}  // namespace kscope::sinks
