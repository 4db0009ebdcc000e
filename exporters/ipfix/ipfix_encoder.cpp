#include "exporters/ipfix/ipfix_encoder.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "flows.h"

namespace kscope::ipfix {
namespace {

constexpr uint16_t kVersion = 10;
constexpr size_t kHeaderSize = 16, kSetHeaderSize = 4;
constexpr uint16_t kTemplateSetId = 2, kOptionsTemplateSetId = 3;
constexpr uint16_t kVariableLength = 0xffff;
constexpr uint8_t kIcmp = 1, kIcmpv6 = 58;

void put8(Message& m, uint8_t v) { m.push_back(v); }
void put16(Message& m, uint16_t v) {
  m.push_back(static_cast<uint8_t>(v >> 8));
  m.push_back(static_cast<uint8_t>(v));
}
void put32(Message& m, uint32_t v) {
  put16(m, static_cast<uint16_t>(v >> 16));
  put16(m, static_cast<uint16_t>(v));
}
void put64(Message& m, uint64_t v) {
  put32(m, static_cast<uint32_t>(v >> 32));
  put32(m, static_cast<uint32_t>(v));
}
void put_bytes(Message& m, const uint8_t* p, size_t n) { m.insert(m.end(), p, p + n); }
// A variable-length string: one length octet (RFC 7011 §7); callers keep it under 255.
void put_string(Message& m, std::string_view s) {
  put8(m, static_cast<uint8_t>(s.size()));
  put_bytes(m, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
void set16(Message& m, size_t at, uint16_t v) {
  m[at] = static_cast<uint8_t>(v >> 8);
  m[at + 1] = static_cast<uint8_t>(v);
}

uint64_t wall_ms(const sinks::Context& ctx, uint64_t boot_ns) {
  return ctx.wall_ns(boot_ns) / 1'000'000;
}
bool is_icmp(const ks_flow_key& k) { return k.proto == kIcmp || k.proto == kIcmpv6; }

using WriteField = void (*)(Message&, const flows::FlowRecord&, const sinks::Context&);

// One Information Element of a data template: its specifier and how a record fills it, so
// that a template and its records cannot disagree.
struct Field {
  uint16_t id;
  uint16_t length;     // kVariableLength: a string of at most max_length octets
  bool enterprise;     // under the configured PEN
  WriteField write;
  uint16_t max_length = 0;
};

const Field kIpv4Fields[] = {
    {8, 4, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put_bytes(m, r.key.saddr, 4);
     }},  // sourceIPv4Address
    {12, 4, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put_bytes(m, r.key.daddr, 4);
     }},  // destinationIPv4Address
    {32, 2, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put16(m, is_icmp(r.key) ? r.key.dport : 0);
     }},  // icmpTypeCodeIPv4
};

const Field kIpv6Fields[] = {
    {27, 16, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put_bytes(m, r.key.saddr, 16);
     }},  // sourceIPv6Address
    {28, 16, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put_bytes(m, r.key.daddr, 16);
     }},  // destinationIPv6Address
    {139, 2, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put16(m, is_icmp(r.key) ? r.key.dport : 0);
     }},  // icmpTypeCodeIPv6
};

const Field kCommonFields[] = {
    // ICMP: no source port (nfdump would move a non-zero one into the type/code), and
    // type/code also in the destination port, where collectors without element 32/139
    // (pmacct) and NetFlow v5 habits look for it.
    {7, 2, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put16(m, is_icmp(r.key) ? 0 : r.key.sport);
     }},  // sourceTransportPort
    {11, 2, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put16(m, r.key.dport);
     }},  // destinationTransportPort
    {4, 1, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put8(m, r.key.proto);
     }},  // protocolIdentifier
    {6, 2, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put16(m, static_cast<uint16_t>(r.tcp_flags & 0xff));
     }},  // tcpControlBits
    {1, 8, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put64(m, r.bytes);
     }},  // octetDeltaCount
    {2, 8, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put64(m, r.packets);
     }},  // packetDeltaCount
    {152, 8, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context& c) {
       put64(m, wall_ms(c, r.first_ns));
     }},  // flowStartMilliseconds
    {153, 8, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context& c) {
       put64(m, wall_ms(c, r.last_ns));
     }},  // flowEndMilliseconds
    {136, 1, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put8(m, static_cast<uint8_t>(r.end));
     }},  // flowEndReason
    {61, 1, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put8(m, r.key.direction == KS_FLOW_EGRESS ? 1 : 0);
     }},  // flowDirection
    {10, 4, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put32(m, r.key.direction == KS_FLOW_INGRESS ? r.key.ifindex : 0);
     }},  // ingressInterface
    {14, 4, false, [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put32(m, r.key.direction == KS_FLOW_EGRESS ? r.key.ifindex : 0);
     }},  // egressInterface
};

constexpr uint16_t ie(KscopeIe e) { return static_cast<uint16_t>(e); }

const Field kProcessFields[] = {
    {ie(KscopeIe::process_id), 4, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) { put32(m, r.owner.tgid); }},
    {ie(KscopeIe::thread_id), 4, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) { put32(m, r.owner.pid); }},
    {ie(KscopeIe::user_id), 4, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) { put32(m, r.owner.uid); }},
    {ie(KscopeIe::cgroup_id), 8, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put64(m, r.owner.cgroup_id);
     }},
    {ie(KscopeIe::process_name), kVariableLength, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put_string(m, std::string_view(r.owner.comm, strnlen(r.owner.comm, sizeof(r.owner.comm))));
     },
     sizeof(ks_flow_owner::comm)},
    {ie(KscopeIe::container_id), kVariableLength, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put_string(m, std::string_view(r.container_id).substr(0, kMaxContainerId));
     },
     kMaxContainerId},
};

const Field kTcpFields[] = {
    {ie(KscopeIe::tcp_srtt_us), 4, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) { put32(m, r.srtt_us); }},
    {ie(KscopeIe::tcp_retransmissions), 4, true,
     [](Message& m, const flows::FlowRecord& r, const sinks::Context&) {
       put32(m, r.retransmits);
     }},
};

constexpr uint16_t kVariants = 8;

// The fields of the data template with these variant bits, in record order.
const std::vector<const Field*>& template_fields(uint16_t variant) {
  static const auto all = [] {
    std::array<std::vector<const Field*>, kVariants> t;
    for (uint16_t v = 0; v < kVariants; ++v) {
      auto add = [&](std::span<const Field> group) {
        for (const Field& f : group) t[v].push_back(&f);
      };
      add(v & kTemplateIpv6Bit ? std::span<const Field>(kIpv6Fields) : kIpv4Fields);
      add(kCommonFields);
      if (v & kTemplateProcessBit) add(kProcessFields);
      if (v & kTemplateTcpBit) add(kTcpFields);
    }
    return t;
  }();
  return all[variant];
}

// Overflow records have no 5-tuple and no socket: the plain IPv4 template, zero addresses.
uint16_t variant_of(const flows::FlowRecord& r) {
  if (r.overflow()) return 0;
  uint16_t v = r.key.family == 6 ? kTemplateIpv6Bit : 0;
  if (r.owner_flags & KS_FLOW_OWNER_KNOWN) v |= kTemplateProcessBit;
  if (r.owner_flags & KS_FLOW_TCP_SOCK) v |= kTemplateTcpBit;
  return v;
}

size_t max_record_size(uint16_t variant) {
  size_t n = 0;
  for (const Field* f : template_fields(variant))
    n += f->length == kVariableLength ? 1 + f->max_length : f->length;
  return n;
}

void put_specifier(Message& m, uint16_t id, uint16_t length, uint32_t pen) {
  put16(m, pen ? static_cast<uint16_t>(id | 0x8000) : id);
  put16(m, length);
  if (pen) put32(m, pen);
}

// Both options templates: a scope, a cumulative count, and the span of time the losses fell
// in (flowStart/EndMilliseconds, as RFC 7011 §4.2 and §4.3 suggest for "time first/last").
struct OptionsTemplate {
  uint16_t id;
  uint16_t scope_id;  // exportingProcessId 144 or observationDomainId 149, u32
  uint16_t count_id;  // notSentFlowTotalCount 166 or ignoredPacketTotalCount 164, u64
};
constexpr OptionsTemplate kOptionsTemplates[] = {
    {kTemplateExportingReliability, 144, 166},
    {kTemplateMeteringReliability, 149, 164},
};
constexpr size_t kOptionsRecordSize = 4 + 8 + 8 + 8;

Message template_sets(uint32_t pen) {
  Message m;
  put16(m, kTemplateSetId);
  put16(m, 0);
  for (uint16_t v = 0; v < kVariants; ++v) {
    const auto& fields = template_fields(v);
    put16(m, static_cast<uint16_t>(kTemplateBase + v));
    put16(m, static_cast<uint16_t>(fields.size()));
    for (const Field* f : fields) put_specifier(m, f->id, f->length, f->enterprise ? pen : 0);
  }
  set16(m, 2, static_cast<uint16_t>(m.size()));

  // One options template a set: pmacct 1.7.7 (Debian 12) steps from one IPFIX options
  // template to the next by the wrong length and drops the rest of the message.
  for (const auto& t : kOptionsTemplates) {
    size_t options_start = m.size();
    put16(m, kOptionsTemplateSetId);
    put16(m, 0);
    put16(m, t.id);
    put16(m, 4);  // fields, the scope included
    put16(m, 1);  // scope fields
    put_specifier(m, t.scope_id, 4, 0);
    put_specifier(m, t.count_id, 8, 0);
    put_specifier(m, 152, 8, 0);  // flowStartMilliseconds: the first loss's window start
    put_specifier(m, 153, 8, 0);  // flowEndMilliseconds: the last loss's window end
    set16(m, options_start + 2, static_cast<uint16_t>(m.size() - options_start));
  }
  return m;
}

// Packs records into sets and sets into messages of at most `max` octets.
class MessageBuilder {
 public:
  MessageBuilder(const EncoderOptions& o, uint32_t now_s, uint32_t& sequence)
      : options_(o), now_s_(now_s), sequence_(sequence) {}

  // Whole sets (the templates), at the start of a message of their own if need be.
  void add_sets(const Message& sets) {
    close_set();
    if (!current_.empty() && current_.size() + sets.size() > options_.max_message) finish();
    if (current_.empty()) start();
    current_.insert(current_.end(), sets.begin(), sets.end());
  }

  // `flow`: a flow record's (counted per message for flows()), not an options record's.
  void add_record(uint16_t set_id, const Message& record, bool flow = false) {
    size_t need = record.size() + (set_id == set_id_ ? 0 : kSetHeaderSize);
    if (!current_.empty() && current_.size() + need > options_.max_message) finish();
    if (current_.empty()) start();
    if (set_id != set_id_) {
      close_set();
      set_id_ = set_id;
      set_start_ = current_.size();
      put16(current_, set_id);
      put16(current_, 0);
    }
    current_.insert(current_.end(), record.begin(), record.end());
    ++records_;
    flows_ += flow;
  }

  std::vector<Message> take() {
    if (!current_.empty()) finish();
    return std::move(out_);
  }
  // The flow records of each message take() returns.
  std::vector<size_t> flows() const { return flow_counts_; }

 private:
  void start() {
    put16(current_, kVersion);
    put16(current_, 0);  // length, at finish()
    put32(current_, now_s_);
    put32(current_, sequence_);
    put32(current_, options_.observation_domain);
  }
  void close_set() {
    if (!set_id_) return;
    set16(current_, set_start_ + 2, static_cast<uint16_t>(current_.size() - set_start_));
    set_id_ = 0;
  }
  void finish() {
    close_set();
    set16(current_, 2, static_cast<uint16_t>(current_.size()));
    // Data records sent before the message, modulo 2^32 (RFC 7011 §3.1): templates don't count.
    sequence_ += records_;
    records_ = 0;
    flow_counts_.push_back(std::exchange(flows_, 0));
    out_.push_back(std::move(current_));
    current_.clear();
  }

  const EncoderOptions& options_;
  uint32_t now_s_;
  uint32_t& sequence_;
  Message current_;
  uint16_t set_id_ = 0;
  size_t set_start_ = 0;
  uint32_t records_ = 0;
  size_t flows_ = 0;
  std::vector<Message> out_;
  std::vector<size_t> flow_counts_;
};

}  // namespace

Result<Encoder> Encoder::create(EncoderOptions options) {
  size_t largest = 0;
  for (uint16_t v = 0; v < kVariants; ++v) largest = std::max(largest, max_record_size(v));
  size_t need = std::max({kHeaderSize + template_sets(options.enterprise_number).size(),
                          kHeaderSize + kSetHeaderSize + largest,
                          kHeaderSize + kSetHeaderSize + kOptionsRecordSize});
  if (options.max_message < need || options.max_message > 0xffff)
    return fail(fmt::format("IPFIX maximum message size {} is out of range", options.max_message),
                fmt::format("choose {} to 65535 octets; {} fits a 1500-byte MTU over UDP/IPv4",
                            need, kUdpIpv4MaxMessage));
  if (options.template_interval.count() < 0)
    return fail("IPFIX template interval is negative", "give seconds, or 0 to send them once");
  return Encoder(std::move(options));
}

void Encoder::new_session() {
  sequence_ = 0;
  templates_sent_ = false;
}

void Encoder::add_losses(const sinks::LossReport& report) {
  uint64_t start_ms = report.window_start_ns / 1'000'000, end_ms = report.window_end_ns / 1'000'000;
  auto count = [&](uint64_t n, uint64_t& total, uint64_t& first_ms, uint64_t& last_ms) {
    if (!n) return;
    total += n;
    if (!first_ms) first_ms = start_ms;
    last_ms = end_ms;
  };
  for (const auto& [point, n] : report.lost) {
    if (point == "kernel.table_full")
      count(n, losses_.ignored_packets, losses_.packets_first_ms, losses_.packets_last_ms);
    else if (point != "kernel.notification_ring")  // a late end, not a lost record
      count(n, losses_.not_sent_flows, losses_.flows_first_ms, losses_.flows_last_ms);
  }
}

std::vector<Message> Encoder::encode(std::span<const sinks::Item> batch, uint32_t now_s,
                                     std::vector<size_t>* flows) {
  if (flows) flows->clear();
  if (batch.empty()) return {};
  MessageBuilder builder(options_, now_s, sequence_);
  // Unsigned: a clock stepped back also makes them due.
  bool refresh = options_.template_interval.count() > 0 &&
                 now_s - templates_sent_s_ >= options_.template_interval.count();
  if (!templates_sent_ || refresh) {
    builder.add_sets(template_sets(options_.enterprise_number));
    templates_sent_ = true;
    templates_sent_s_ = now_s;
  }
  Message record;
  for (const sinks::Item& item : batch) {
    if (const auto* r = std::get_if<flows::FlowRecord>(&item)) {
      uint16_t variant = variant_of(*r);
      record.clear();
      for (const Field* f : template_fields(variant)) f->write(record, *r, options_.context);
      builder.add_record(static_cast<uint16_t>(kTemplateBase + variant), record, true);
      continue;
    }
    if (std::holds_alternative<sinks::EventItem>(item)) continue;  // IPFIX carries flows only
    add_losses(std::get<sinks::LossReport>(item));
    auto options_record = [&](uint32_t scope, uint64_t total, uint64_t first_ms, uint64_t last_ms) {
      record.clear();
      put32(record, scope);
      put64(record, total);
      put64(record, first_ms);
      put64(record, last_ms);
      return record;
    };
    builder.add_record(kTemplateExportingReliability,
                       options_record(options_.observation_domain, losses_.not_sent_flows,
                                      losses_.flows_first_ms, losses_.flows_last_ms));
    builder.add_record(kTemplateMeteringReliability,
                       options_record(options_.observation_domain, losses_.ignored_packets,
                                      losses_.packets_first_ms, losses_.packets_last_ms));
  }
  auto messages = builder.take();
  if (flows) *flows = builder.flows();
  return messages;
}

}  // namespace kscope::ipfix
