// trace dns: every DNS query and response a local socket sends or receives on port 53 (UDP
// and TCP): the name, type, response code, the answers' addresses, the latency since the
// query, and the process that asked. The whole user side of the tool, the DNS parser
// included; the kernel side is probes/dns.bpf.c and probes/dns.h.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "bpf/mounts.h"
#include "dns.h"
#include "dns.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"

KSCOPE_SKELETON(dns_bpf);

namespace kscope::tools {
namespace {

constexpr size_t kMaxAnswers = 64;  // addresses kept per response; a packet holds fewer

struct DnsEvent {
  ks_event_header hdr;
  uint64_t latency_ns = 0;  // 0: no query seen (or a query)
  IpAddr saddr, daddr;
  uint16_t sport = 0, dport = 0;
  uint8_t proto = 0;
  bool egress = false;
  bool cut = false;        // the probe copied only the message's first bytes
  bool malformed = false;  // the message breaks DNS's rules before its end
  // From the message.
  uint16_t id = 0;
  bool response = false;
  uint8_t rcode = 0;
  uint16_t ancount = 0;
  std::string qname;
  std::string qtype;  // "A", "TYPE123"; "" without a question
  std::string rcode_name;  // "NXDOMAIN"; "" for a query
  std::vector<std::string> answers;  // A and AAAA addresses, in the message's order
};

const FlagSpec kFlags[] = {
    {"-x,--failed", "Only responses whose code is an error (NXDOMAIN, SERVFAIL, ...)"},
};

Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (a.flag("--failed")) f.add({"failed", Op::eq, int64_t{1}, "--failed"});
  return {};
}

// A bounded reader over the message: every read checks the end first, and remembers when
// the bytes ran out (which a message the probe cut explains).
class Wire {
 public:
  explicit Wire(std::span<const uint8_t> m) : m_(m) {}
  bool has(size_t pos, size_t n) const {
    bool ok = pos <= m_.size() && n <= m_.size() - pos;
    ran_out_ = ran_out_ || !ok;
    return ok;
  }
  bool ran_out() const { return ran_out_; }
  uint8_t u8(size_t pos) const { return m_[pos]; }
  uint16_t u16(size_t pos) const { return static_cast<uint16_t>(m_[pos] << 8 | m_[pos + 1]); }
  std::span<const uint8_t> bytes(size_t pos, size_t n) const { return m_.subspan(pos, n); }

 private:
  std::span<const uint8_t> m_;
  mutable bool ran_out_ = false;
};

// A label's bytes as dig shows them: '.' and '\' escaped, other unprintables as \DDD.
void append_label(std::string& out, std::span<const uint8_t> label) {
  for (uint8_t c : label) {
    if (c == '.' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\{:03d}", c);
    }
  }
}

constexpr size_t kMaxNameWire = 255;  // RFC 1035's limit on a name's encoded length

// The name at `pos` (RFC 1035 4.1.4: labels, ending in a 0 or a pointer to an earlier
// name), and the offset just after it in the message. Every pointer must lead before all the
// bytes read so far, so a loop cannot be followed and the walk ends; nullopt when the name
// runs off the end, breaks that rule, uses a reserved label type or exceeds 255 bytes.
std::optional<size_t> read_name(const Wire& w, size_t pos, std::string& out) {
  out.clear();
  std::optional<size_t> after;
  size_t lowest = pos, wire_len = 1;
  for (;;) {
    if (!w.has(pos, 1)) return std::nullopt;
    uint8_t len = w.u8(pos);
    if ((len & 0xc0) == 0xc0) {
      if (!w.has(pos, 2)) return std::nullopt;
      size_t target = w.u16(pos) & 0x3fff;
      if (target >= lowest) return std::nullopt;
      if (!after) after = pos + 2;
      pos = lowest = target;
      continue;
    }
    if (len & 0xc0) return std::nullopt;  // 0x40 and 0x80: extended or reserved label types
    if (len == 0) break;
    wire_len += len + 1;
    if (wire_len > kMaxNameWire || !w.has(pos + 1, len)) return std::nullopt;
    if (!out.empty()) out += '.';
    append_label(out, w.bytes(pos + 1, len));
    pos += 1 + len;
  }
  if (out.empty()) out.push_back('.');  // the root
  return after ? *after : pos + 1;
}

std::string address_text(std::span<const uint8_t> rdata) {
  IpAddr a;
  a.family = rdata.size() == 4 ? 4 : 6;
  std::memcpy(a.bytes.data(), rdata.data(), rdata.size());
  return ip_text(a);
}

constexpr uint16_t kTypeA = 1, kTypeAAAA = 28, kClassIN = 1;
constexpr size_t kHeaderLen = 12;

// RFC 1035 and the IANA registry's common types; others as RFC 3597 writes them, TYPE123.
std::string type_name(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 35: return "NAPTR";
    case 41: return "OPT";
    case 43: return "DS";
    case 46: return "RRSIG";
    case 48: return "DNSKEY";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 252: return "AXFR";
    case 255: return "ANY";
    case 257: return "CAA";
  }
  return fmt::format("TYPE{}", t);
}

std::string rcode_text(uint8_t r) {
  static constexpr const char* kNames[] = {"NOERROR", "FORMERR",  "SERVFAIL", "NXDOMAIN",
                                           "NOTIMP",  "REFUSED",  "YXDOMAIN", "YXRRSET",
                                           "NXRRSET", "NOTAUTH",  "NOTZONE"};
  if (r < std::size(kNames)) return kNames[r];
  return fmt::format("RCODE{}", r);
}

// Fills the message's fields of `e` from the bytes the probe copied; what was read before
// a fault stays. A message that ends before what its header announces is malformed, unless
// the probe cut it (e.cut) and the bytes simply ran out.
void parse_message(std::span<const uint8_t> msg, DnsEvent& e) {
  Wire w(msg);
  auto broken = [&] { e.malformed = !(e.cut && w.ran_out()); };
  if (!w.has(0, kHeaderLen)) return broken();
  e.id = w.u16(0);
  e.response = w.u8(2) & 0x80;
  e.rcode = w.u8(3) & 0x0f;
  if (e.response) e.rcode_name = rcode_text(e.rcode);
  uint16_t qdcount = w.u16(4);
  e.ancount = w.u16(6);
  size_t pos = kHeaderLen;
  std::string name;
  // The first question names the query; resolvers send one.
  for (uint16_t i = 0; i < qdcount; ++i) {
    auto next = read_name(w, pos, name);
    if (!next || !w.has(*next, 4)) return broken();
    if (i == 0) {
      e.qname = name;
      e.qtype = type_name(w.u16(*next));
    }
    pos = *next + 4;
  }
  for (uint16_t i = 0; i < e.ancount; ++i) {
    auto next = read_name(w, pos, name);
    if (!next || !w.has(*next, 10)) return broken();
    uint16_t type = w.u16(*next), cls = w.u16(*next + 2), rdlen = w.u16(*next + 8);
    size_t rdata = *next + 10;
    if (!w.has(rdata, rdlen)) return broken();
    bool address = cls == kClassIN && ((type == kTypeA && rdlen == 4) ||
                                       (type == kTypeAAAA && rdlen == 16));
    if (address && e.answers.size() < kMaxAnswers)
      e.answers.push_back(address_text(w.bytes(rdata, rdlen)));
    pos = rdata + rdlen;
  }
}

IpAddr ip_of(const uint8_t (&bytes)[16], uint8_t family) {
  IpAddr a;
  a.family = family;
  std::memcpy(a.bytes.data(), bytes, family == 4 ? 4 : 16);
  return a;
}

Result<DnsEvent> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_DNS || record.size() != sizeof(ks_dns_event))
    return fail(fmt::format("not a dns record (type {}, {} bytes)", h->type, record.size()));
  ks_dns_event raw;
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.payload_len > KS_DNS_PAYLOAD_MAX || (raw.family != 4 && raw.family != 6))
    return fail(fmt::format("dns record with {} payload bytes, family {}", raw.payload_len,
                            raw.family));
  DnsEvent e;
  e.hdr = *h;
  e.latency_ns = raw.flags & KS_DNS_MATCHED ? raw.latency_ns : 0;
  e.saddr = ip_of(raw.saddr, raw.family);
  e.daddr = ip_of(raw.daddr, raw.family);
  e.sport = raw.sport;
  e.dport = raw.dport;
  e.proto = raw.proto;
  e.egress = raw.flags & KS_DNS_EGRESS;
  e.cut = raw.flags & KS_DNS_CUT;
  parse_message(std::span<const uint8_t>(raw.payload, raw.payload_len), e);
  return e;
}

bool failed(const DnsEvent& e) { return e.response && e.rcode != 0; }

// Ends the ANSWERS cell of a message the probe cut or that breaks DNS's rules.
std::string_view message_mark(const DnsEvent& e) {
  if (e.malformed) return "<malformed>";
  return e.cut ? "<cut>" : "";
}

bool partly_read(const DnsEvent& e) { return e.cut; }

namespace hf = header_fields;
using F = Field<DnsEvent>;
const F kFields[] = {
    hf::time<DnsEvent>(),
    hf::pid<DnsEvent>(),
    hf::tid<DnsEvent>(),
    hf::comm<DnsEvent>(),
    hf::uid<DnsEvent>(),
    hf::cgroup_id<DnsEvent>(),
    {{"proto", "PROTO", 5, FieldType::text},
     [](const DnsEvent& e) { return Value(std::string_view(e.proto == 6 ? "tcp" : "udp")); }},
    {{"direction", "DIR", 3, FieldType::text},
     [](const DnsEvent& e) { return Value(std::string_view(e.egress ? "out" : "in")); }},
    {{"saddr", "SADDR", 15, FieldType::ip}, [](const DnsEvent& e) { return Value(e.saddr); }},
    {{"sport", "SPORT", 5, FieldType::integer},
     [](const DnsEvent& e) { return int_value(e.sport); }},
    {{"daddr", "DADDR", 15, FieldType::ip}, [](const DnsEvent& e) { return Value(e.daddr); }},
    {{"dport", "DPORT", 5, FieldType::integer},
     [](const DnsEvent& e) { return int_value(e.dport); }},
    {{"qr", "QR", 8, FieldType::text},
     [](const DnsEvent& e) { return Value(std::string_view(e.response ? "response" : "query")); }},
    {{"id", "", 0, FieldType::integer}, [](const DnsEvent& e) { return int_value(e.id); }},
    {{"qtype", "TYPE", 5, FieldType::text},
     [](const DnsEvent& e) { return Value(std::string_view(e.qtype)); }},
    {{"qname", "NAME", 24, FieldType::text},
     [](const DnsEvent& e) { return Value(std::string_view(e.qname)); }},
    {{"rcode", "RCODE", 8, FieldType::text},
     [](const DnsEvent& e) { return Value(std::string_view(e.rcode_name)); }},
    {{"failed", "", 0, FieldType::boolean}, [](const DnsEvent& e) { return Value(failed(e)); }},
    // Rounded up: a response whose query was seen never shows 0.
    {{"latency_us", "LAT(us)", 7, FieldType::uinteger},
     [](const DnsEvent& e) { return uint_value((e.latency_ns + 999) / 1000); }},
    {{"ancount", "", 0, FieldType::integer},
     [](const DnsEvent& e) { return int_value(e.ancount); }},
    {{"answers", "ANSWERS", 0, FieldType::argv},
     [](const DnsEvent& e) { return Value(ArgvView{e.answers, false}); }, message_mark},
    {{"cut", "", 0, FieldType::boolean}, [](const DnsEvent& e) { return Value(e.cut); }},
    {{"malformed", "", 0, FieldType::boolean},
     [](const DnsEvent& e) { return Value(e.malformed); }},
};

// The programs attach to the root of the cgroup2 hierarchy, which holds every socket
// (on a cgroup v1 system too: sockets of tasks no v2 cgroup holds belong to its root), as
// bpf_links: the kernel detaches them when kscope exits, however it exits.
Result<std::vector<Link>> attach_to_root_cgroup(Skeleton<dns_bpf>& skel,
                                                const HookAlternative& alt) {
  auto root = cgroup2_mount();
  if (!root) return std::unexpected(root.error());
  int fd = ::open(root->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open " + *root, errno);
  std::vector<Link> links;
  for (const auto& name : alt.programs) {
    bpf_program* prog = bpf_object__find_program_by_name(skel.object(), name.c_str());
    bpf_link* link = prog ? bpf_program__attach_cgroup(prog, fd) : nullptr;
    if (!link) {
      int err = prog ? errno : ENOENT;
      ::close(fd);
      return fail_errno(fmt::format("attach {} to cgroup {}", name, *root), err);
    }
    links.emplace_back(link);
  }
  ::close(fd);
  return links;
}

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<dns_bpf>(
      setup, hooks,
      [&](Skeleton<dns_bpf>& skel, const HookAlternative& alt) -> Result<void> {
        skel->rodata->failed_only = setup.filter->claim("failed", Op::eq) != nullptr;
        for (const auto& name : alt.programs)
          if (bpf_program* p = bpf_object__find_program_by_name(skel.object(), name.c_str()))
            bpf_program__set_autoattach(p, false);
        return {};
      },
      attach_to_root_cgroup);
}

}  // namespace

const Tool& dns_tool() {
  static const ToolDef<DnsEvent> tool({
      .info = {"dns", "DNS queries and responses on port 53: name, type, rcode, answers, latency",
               {"kscope trace dns", "kscope trace dns --failed -o json"}},
      .flags = kFlags,
      // One alternative: the cgroup hooks see every local socket in every network namespace
      // and need no interface; the sock_addr ones name the process.
      .hooks = {{"cgroup_skb", Hook::cgroup_skb,
                 {"dns_egress", "dns_ingress", "dns_connect4", "dns_connect6", "dns_sendmsg4",
                  "dns_sendmsg6"},
                 "cgroup_skb/{egress,ingress}, cgroup/{connect,sendmsg}{4,6} on the root cgroup",
                 {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<DnsEvent>::Decode { return decode; },
      .open = open,
      .partial = partly_read,
  });
  return tool;
}

}  // namespace kscope::tools
