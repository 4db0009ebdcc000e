// The IPFIX encoder's bytes read back by a decoder of the test's own (RFC 7011 §3, written
// from the RFC, sharing nothing with the encoder), and the sink's TCP and UDP behaviour
// against listeners on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "exporters/ipfix/ipfix_encoder.h"
#include "exporters/ipfix/ipfix_sink.h"
#include "ipfix_decoder.h"
#include "flows/flow_record.h"

namespace kscope::ipfix {
namespace {

using namespace readback;  // Decoded, Template, Record, decode()

using flows::FlowRecord;
using sinks::Item;
using sinks::LossReport;

// --- records ------------------------------------------------------------------------------

constexpr int64_t kBootToWall = 1'700'000'000'000'000'000;  // 2023-11-14, in ns
constexpr uint32_t kNow = 1'700'000'100;

FlowRecord record(std::string_view src, uint16_t sport, std::string_view dst, uint16_t dport,
                  uint8_t proto, uint8_t direction = KS_FLOW_EGRESS) {
  FlowRecord r;
  r.key = flows::flow_key(parse_ip(src), sport, parse_ip(dst), dport, proto, direction,
                          KS_FLOW_POINT_TC, 3);
  r.packets = 12;
  r.bytes = 3456;
  r.first_ns = 5'000'000'123;
  r.last_ns = 9'250'000'999;
  r.tcp_flags = KS_TCP_SYN | KS_TCP_ACK | KS_TCP_FIN;
  r.end = flows::EndReason::end_of_flow;
  return r;
}

void own(FlowRecord& r) {
  r.owner_flags = KS_FLOW_OWNER_KNOWN | KS_FLOW_TCP_SOCK | KS_FLOW_SOCKET;
  r.owner.tgid = 4242;
  r.owner.pid = 4243;
  r.owner.uid = 1000;
  r.owner.cgroup_id = 0x1122334455667788;
  std::strcpy(r.owner.comm, "curl");
  r.container_id = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";
  r.srtt_us = 1234;
  r.retransmits = 7;
}

Encoder make(EncoderOptions o = {}) {
  o.context.boot_to_wall_ns = kBootToWall;
  auto e = Encoder::create(std::move(o));
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().message);
  return std::move(*e);
}

std::vector<Decoded> encode_all(Encoder& e, const std::vector<Item>& items, uint32_t now,
                                std::map<uint16_t, Template>& known) {
  std::vector<Decoded> out;
  for (const auto& m : e.encode(items, now)) {
    out.push_back(decode(m, known));
    EXPECT_EQ(out.back().length, m.size());
  }
  return out;
}

const Template* find_template(const Decoded& d, uint16_t id) {
  for (const auto& t : d.templates)
    if (t.id == id) return &t;
  return nullptr;
}

// --- encoder ------------------------------------------------------------------------------

TEST(IpfixEncoder, HeaderAndTemplateSets) {
  auto e = make({.observation_domain = 7});
  std::map<uint16_t, Template> known;
  auto msgs = encode_all(e, {record("10.0.0.1", 40000, "10.0.0.2", 443, 6)}, kNow, known);
  ASSERT_EQ(msgs.size(), 1u);
  const Decoded& d = msgs[0];
  EXPECT_EQ(d.version, 10);
  EXPECT_EQ(d.export_time, kNow);
  EXPECT_EQ(d.sequence, 0u);
  EXPECT_EQ(d.domain, 7u);
  EXPECT_EQ(d.set_ids, (std::vector<uint16_t>{2, 3, 3, 256}));
  ASSERT_EQ(d.templates.size(), 10u);
  for (uint16_t id = 256; id <= 265; ++id) EXPECT_NE(find_template(d, id), nullptr) << id;

  const std::vector<Spec> common = {{7, 2, 0},   {11, 2, 0},  {4, 1, 0},   {6, 2, 0},
                                    {1, 8, 0},   {2, 8, 0},   {152, 8, 0}, {153, 8, 0},
                                    {136, 1, 0}, {61, 1, 0},  {10, 4, 0},  {14, 4, 0}};
  std::vector<Spec> v4 = {{8, 4, 0}, {12, 4, 0}, {32, 2, 0}};
  v4.insert(v4.end(), common.begin(), common.end());
  EXPECT_EQ(find_template(d, 256)->fields, v4);
  EXPECT_EQ(find_template(d, 256)->scope_count, 0);

  std::vector<Spec> v6_full = {{27, 16, 0}, {28, 16, 0}, {139, 2, 0}};
  v6_full.insert(v6_full.end(), common.begin(), common.end());
  const uint32_t pen = kDocumentationPen;
  for (Spec s : std::vector<Spec>{{1, 4, pen}, {2, 4, pen}, {3, 4, pen}, {4, 8, pen},
                                  {5, 0xffff, pen}, {6, 0xffff, pen}, {7, 4, pen}, {8, 4, pen}})
    v6_full.push_back(s);
  EXPECT_EQ(find_template(d, 263)->fields, v6_full);
  // Process without the TCP socket: the process elements, not the TCP ones.
  EXPECT_EQ(find_template(d, 258)->fields.size(), v4.size() + 6);
  EXPECT_EQ(find_template(d, 261)->fields.size(), v4.size() + 2);

  const Template* exp = find_template(d, 264);
  EXPECT_EQ(exp->scope_count, 1);
  EXPECT_EQ(exp->fields, (std::vector<Spec>{{144, 4, 0}, {166, 8, 0}, {152, 8, 0}, {153, 8, 0}}));
  const Template* met = find_template(d, 265);
  EXPECT_EQ(met->scope_count, 1);
  EXPECT_EQ(met->fields, (std::vector<Spec>{{149, 4, 0}, {164, 8, 0}, {152, 8, 0}, {153, 8, 0}}));
}

TEST(IpfixEncoder, Ipv4TcpRecordEveryField) {
  auto e = make();
  std::map<uint16_t, Template> known;
  auto msgs = encode_all(e, {record("10.1.2.3", 40000, "192.0.2.80", 443, 6)}, kNow, known);
  ASSERT_EQ(msgs.size(), 1u);
  ASSERT_EQ(msgs[0].records.size(), 1u);
  const Record& r = msgs[0].records[0];
  EXPECT_EQ(r.template_id, 256);
  EXPECT_EQ(r.values.size(), 15u);
  EXPECT_EQ(r.ip(8), "10.1.2.3");
  EXPECT_EQ(r.ip(12), "192.0.2.80");
  EXPECT_EQ(r.num(32), 0u);
  EXPECT_EQ(r.num(7), 40000u);
  EXPECT_EQ(r.num(11), 443u);
  EXPECT_EQ(r.num(4), 6u);
  EXPECT_EQ(r.num(6), 0x13u);
  EXPECT_EQ(r.num(1), 3456u);
  EXPECT_EQ(r.num(2), 12u);
  EXPECT_EQ(r.num(152), 1'700'000'005'000u);  // boot 5.000000123 s, to ms
  EXPECT_EQ(r.num(153), 1'700'000'009'250u);
  EXPECT_EQ(r.num(136), 3u);  // endOfFlowDetected
  EXPECT_EQ(r.num(61), 1u);   // egress
  EXPECT_EQ(r.num(10), 0u);
  EXPECT_EQ(r.num(14), 3u);
}

TEST(IpfixEncoder, Ipv6RecordWithProcessAndTcpSocket) {
  auto e = make({.enterprise_number = 99999});
  std::map<uint16_t, Template> known;
  FlowRecord f = record("2001:db8::1", 5353, "2001:db8::2", 53, 17, KS_FLOW_INGRESS);
  own(f);
  auto msgs = encode_all(e, {f}, kNow, known);
  ASSERT_EQ(msgs[0].records.size(), 1u);
  const Record& r = msgs[0].records[0];
  EXPECT_EQ(r.template_id, 263);
  EXPECT_EQ(known.at(263).fields.back().pen, 99999u);
  EXPECT_EQ(r.ip(27), "2001:db8::1");
  EXPECT_EQ(r.ip(28), "2001:db8::2");
  EXPECT_EQ(r.num(139), 0u);
  EXPECT_EQ(r.num(7), 5353u);
  EXPECT_EQ(r.num(11), 53u);
  EXPECT_EQ(r.num(4), 17u);
  EXPECT_EQ(r.num(61), 0u);
  EXPECT_EQ(r.num(10), 3u);
  EXPECT_EQ(r.num(14), 0u);
  EXPECT_EQ(r.num(1, 99999), 4242u);
  EXPECT_EQ(r.num(2, 99999), 4243u);
  EXPECT_EQ(r.num(3, 99999), 1000u);
  EXPECT_EQ(r.num(4, 99999), 0x1122334455667788u);
  EXPECT_EQ(r.str(5, 99999), "curl");
  EXPECT_EQ(r.str(6, 99999), f.container_id);
  EXPECT_EQ(r.num(7, 99999), 1234u);
  EXPECT_EQ(r.num(8, 99999), 7u);
}

TEST(IpfixEncoder, IcmpTypeCodeInItsElementAndTheDestinationPort) {
  auto e = make();
  std::map<uint16_t, Template> known;
  FlowRecord v4 = record("10.0.0.1", 77, "10.0.0.2", 8 << 8 | 0, 1);  // echo request
  FlowRecord v6 = record("fe80::1", 77, "fe80::2", 129 << 8 | 0, 58);  // echo reply
  auto msgs = encode_all(e, {v4, v6}, kNow, known);
  ASSERT_EQ(msgs[0].records.size(), 2u);
  const Record& a = msgs[0].records[0];
  EXPECT_EQ(a.num(32), 0x0800u);
  EXPECT_EQ(a.num(11), 0x0800u);
  EXPECT_EQ(a.num(7), 0u);
  const Record& b = msgs[0].records[1];
  EXPECT_EQ(b.template_id, 257);
  EXPECT_EQ(b.num(139), 0x8100u);
  EXPECT_EQ(b.num(11), 0x8100u);
  EXPECT_EQ(b.num(7), 0u);
  // Records of different templates: one data set each.
  EXPECT_EQ(msgs[0].set_ids, (std::vector<uint16_t>{2, 3, 3, 256, 257}));
}

TEST(IpfixEncoder, OverflowRecordUsesThePlainIpv4Template) {
  auto e = make();
  std::map<uint16_t, Template> known;
  FlowRecord o;
  o.packets = 99;
  o.bytes = 9900;
  o.key.direction = KS_FLOW_INGRESS;
  o.end = flows::EndReason::lack_of_resources;
  o.owner_flags = KS_FLOW_OWNER_KNOWN;  // ignored: the overflow record has no owner
  auto msgs = encode_all(e, {o}, kNow, known);
  const Record& r = msgs[0].records.at(0);
  EXPECT_EQ(r.template_id, 256);
  EXPECT_EQ(r.ip(8), "0.0.0.0");
  EXPECT_EQ(r.num(136), 5u);
  EXPECT_EQ(r.num(2), 99u);
  EXPECT_EQ(r.num(152), 0u);
}

TEST(IpfixEncoder, LongContainerIdIsCut) {
  auto e = make();
  std::map<uint16_t, Template> known;
  FlowRecord f = record("10.0.0.1", 1, "10.0.0.2", 2, 6);
  own(f);
  f.container_id = std::string(400, 'a');
  auto msgs = encode_all(e, {f}, kNow, known);
  EXPECT_EQ(msgs[0].records.at(0).str(6, kDocumentationPen), std::string(kMaxContainerId, 'a'));
}

TEST(IpfixEncoder, MessagesStayWithinTheMaximumAndCountSequence) {
  for (size_t max : {kUdpIpv4MaxMessage, size_t{1200}, size_t{65535}}) {
    auto e = make({.max_message = max});
    std::map<uint16_t, Template> known;
    std::vector<Item> items;
    for (int i = 0; i < 300; ++i) {
      FlowRecord f = i % 3 ? record("10.0.0.1", static_cast<uint16_t>(i), "10.0.0.2", 80, 6)
                           : record("2001:db8::1", static_cast<uint16_t>(i), "2001:db8::2", 80, 6);
      if (i % 2) own(f);
      items.push_back(f);
    }
    auto msgs = encode_all(e, items, kNow, known);
    uint32_t seen = 0;
    for (size_t i = 0; i < msgs.size(); ++i) {
      EXPECT_LE(msgs[i].length, max);
      EXPECT_EQ(msgs[i].sequence, seen) << "message " << i;
      EXPECT_EQ(msgs[i].templates.empty(), i != 0);
      for (const Record& r : msgs[i].records) EXPECT_EQ(r.num(7), seen++ % 300);
    }
    EXPECT_EQ(seen, 300u);
    if (max == kUdpIpv4MaxMessage) {
      EXPECT_GT(msgs.size(), 20u);
      // Full: each leaves less room than a set header and this batch's largest record (197).
      for (size_t i = 1; i + 1 < msgs.size(); ++i) EXPECT_GT(msgs[i].length, max - 200);
    }
    EXPECT_EQ(e.sequence(), 300u);
    auto next = encode_all(e, {items[1]}, kNow, known);
    EXPECT_EQ(next.at(0).sequence, 300u);
  }
}

TEST(IpfixEncoder, RejectsAMaximumNoRecordFits) {
  auto small = Encoder::create({.max_message = 200});
  ASSERT_FALSE(small.has_value());
  EXPECT_NE(small.error().message.find("200"), std::string::npos);
  EXPECT_NE(small.error().hint.find("1472"), std::string::npos);
  EXPECT_FALSE(Encoder::create({.max_message = 70000}).has_value());
}

TEST(IpfixEncoder, TemplatesResentOnTheIntervalAndEachSession) {
  auto e = make({.template_interval = std::chrono::seconds(60)});
  std::map<uint16_t, Template> known;
  std::vector<Item> one = {record("10.0.0.1", 1, "10.0.0.2", 2, 17)};
  auto with_templates = [&](uint32_t now) {
    auto msgs = encode_all(e, one, now, known);
    return !msgs.at(0).templates.empty();
  };
  EXPECT_TRUE(e.encode({}, 999).empty());  // nothing to send: not even templates
  EXPECT_TRUE(with_templates(1000));
  EXPECT_FALSE(with_templates(1030));
  EXPECT_FALSE(with_templates(1059));
  EXPECT_TRUE(with_templates(1060));
  EXPECT_FALSE(with_templates(1061));
  EXPECT_TRUE(with_templates(900));  // the clock stepped back
  EXPECT_EQ(e.sequence(), 6u);
  e.new_session();
  EXPECT_EQ(e.sequence(), 0u);
  auto msgs = encode_all(e, one, 901, known);
  EXPECT_FALSE(msgs.at(0).templates.empty());
  EXPECT_EQ(msgs.at(0).sequence, 0u);

  auto once = make({.template_interval = std::chrono::seconds(0)});
  EXPECT_FALSE(encode_all(once, one, 1000, known).at(0).templates.empty());
  EXPECT_TRUE(encode_all(once, one, 5000, known).at(0).templates.empty());
}

TEST(IpfixEncoder, LossReportsBecomeCumulativeOptionsRecords) {
  auto e = make({.observation_domain = 9});
  std::map<uint16_t, Template> known;
  LossReport first{.window_start_ns = 1'700'000'000'000'000'000,
                   .window_end_ns = 1'700'000'010'000'000'000,
                   .records = 40,
                   .lost = {{"kernel.table_full", 10},
                            {"kernel.notification_ring", 4},
                            {"collector.memory_shed", 2},
                            {"sink.queue", 3},
                            {"sink.write", 0}}};
  LossReport second{.window_start_ns = 1'700'000'010'000'000'000,
                    .window_end_ns = 1'700'000'020'000'000'000,
                    .records = 5,
                    .lost = {{"kernel.table_full", 0}, {"sink.write", 5}, {"kafka.x", 1}}};
  LossReport clean{.window_start_ns = 1'700'000'020'000'000'000,
                   .window_end_ns = 1'700'000'030'000'000'000,
                   .lost = {{"sink.queue", 0}}};
  auto msgs = encode_all(e, {record("10.0.0.1", 1, "10.0.0.2", 2, 6), first}, kNow, known);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].set_ids, (std::vector<uint16_t>{2, 3, 3, 256, 264, 265}));
  ASSERT_EQ(msgs[0].records.size(), 3u);
  const Record& exp1 = msgs[0].records[1];
  EXPECT_EQ(exp1.template_id, 264);
  EXPECT_EQ(exp1.num(144), 9u);
  EXPECT_EQ(exp1.num(166), 5u);  // memory_shed 2 + sink.queue 3; notification_ring is no loss
  EXPECT_EQ(exp1.num(152), 1'700'000'000'000u);
  EXPECT_EQ(exp1.num(153), 1'700'000'010'000u);
  const Record& met1 = msgs[0].records[2];
  EXPECT_EQ(met1.template_id, 265);
  EXPECT_EQ(met1.num(149), 9u);
  EXPECT_EQ(met1.num(164), 10u);
  EXPECT_EQ(met1.num(152), 1'700'000'000'000u);
  EXPECT_EQ(met1.num(153), 1'700'000'010'000u);

  msgs = encode_all(e, {second, clean}, kNow + 1, known);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].sequence, 3u);  // options records are data records: they count
  ASSERT_EQ(msgs[0].records.size(), 4u);
  EXPECT_EQ(msgs[0].records[0].num(166), 11u);
  EXPECT_EQ(msgs[0].records[0].num(152), 1'700'000'000'000u);  // still the first loss
  EXPECT_EQ(msgs[0].records[0].num(153), 1'700'000'020'000u);
  EXPECT_EQ(msgs[0].records[1].num(164), 10u);
  EXPECT_EQ(msgs[0].records[1].num(153), 1'700'000'010'000u);  // no packets lost since
  // A clean window repeats the totals.
  EXPECT_EQ(msgs[0].records[2].num(166), 11u);
  EXPECT_EQ(msgs[0].records[2].num(153), 1'700'000'020'000u);
  EXPECT_EQ(e.sequence(), 7u);
}

// --- the sink over loopback --------------------------------------------------------------

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

Fd listen_tcp() {
  Fd l{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(l.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(listen(l.fd, 4), 0);
  return l;
}

// The next IPFIX message on a stream, by its header's length; nullopt after 5 s or at EOF.
std::optional<std::vector<uint8_t>> read_message(int fd) {
  std::vector<uint8_t> m;
  size_t want = 4;
  while (m.size() < want) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return std::nullopt;
    uint8_t buf[65536];
    size_t room = want - m.size();
    ssize_t n = recv(fd, buf, room, 0);
    if (n <= 0) return std::nullopt;
    m.insert(m.end(), buf, buf + n);
    if (want == 4 && m.size() == 4) want = size_t{m[2]} << 8 | m[3];
  }
  return m;
}

TEST(IpfixSink, TcpReconnectsAndSendsTemplatesAgain) {
  Fd listener = listen_tcp();
  uint16_t port = bound_port(listener.fd);
  auto sink = IpfixSink::open({.host = "127.0.0.1", .port = port, .transport = Transport::tcp,
                               .observation_domain = 5});
  ASSERT_TRUE(sink.has_value()) << sink.error().message;
  EXPECT_EQ((*sink)->address(), fmt::format("127.0.0.1:{}/tcp", port));
  std::vector<Item> batch = {record("10.0.0.1", 1000, "10.0.0.2", 80, 6),
                             record("10.0.0.1", 1001, "10.0.0.2", 80, 6)};

  std::map<uint16_t, Template> known;
  {
    Fd conn{accept(listener.fd, nullptr, nullptr)};
    ASSERT_TRUE((*sink)->write(batch).has_value());
    ASSERT_TRUE((*sink)->write(batch).has_value());
    auto m1 = read_message(conn.fd), m2 = read_message(conn.fd);
    ASSERT_TRUE(m1 && m2);
    Decoded d1 = decode(*m1, known), d2 = decode(*m2, known);
    EXPECT_EQ(d1.domain, 5u);
    EXPECT_EQ(d1.templates.size(), 10u);
    EXPECT_EQ(d1.records.size(), 2u);
    EXPECT_TRUE(d2.templates.empty());  // TCP: once a connection
    EXPECT_EQ(d2.sequence, 2u);
  }  // the collector goes away

  // The first sends after a close may still land in the socket buffer: the RST comes back.
  bool failed = false;
  for (int i = 0; i < 50 && !failed; ++i) {
    auto r = (*sink)->write(batch);
    if (!r) {
      failed = true;
      EXPECT_NE(r.error().message.find(fmt::format("127.0.0.1:{}/tcp", port)), std::string::npos)
          << r.error().message;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(failed) << "writes to a closed connection kept succeeding";

  ASSERT_TRUE((*sink)->write(batch).has_value());  // reconnects: the listener is still there
  Fd conn{accept(listener.fd, nullptr, nullptr)};
  auto m = read_message(conn.fd);
  ASSERT_TRUE(m);
  Decoded d = decode(*m, known);
  EXPECT_EQ(d.templates.size(), 10u);
  EXPECT_EQ(d.sequence, 0u);  // a new session counts from zero
  EXPECT_EQ(d.records.size(), 2u);
}

// A TCP collector that is down at start does not stop the collector: the sink opens, each
// write names the address it cannot reach (the runner counts the batch lost), and the first
// write after the collector comes up connects.
TEST(IpfixSink, TcpCollectorDownAtStartIsRetriedAtEachWrite) {
  uint16_t port;
  {
    Fd l = listen_tcp();
    port = bound_port(l.fd);
  }
  auto sink = IpfixSink::open({.host = "127.0.0.1", .port = port, .transport = Transport::tcp});
  ASSERT_TRUE(sink.has_value()) << sink.error().message;
  std::vector<sinks::Item> batch{sinks::Item{record("10.0.0.1", 1, "10.0.0.2", 2, 6)}};
  auto w = (*sink)->write(batch);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().message,
            fmt::format("IPFIX collector 127.0.0.1:{}/tcp: connect: Connection refused", port));
  EXPECT_EQ(w.error().code, ECONNREFUSED);
}

TEST(IpfixSink, UnresolvableNameIsAnErrorAtOpen) {
  auto sink = IpfixSink::open({.host = "no-such-host.invalid", .port = 4739, .transport = Transport::tcp});
  ASSERT_FALSE(sink.has_value());
  EXPECT_NE(sink.error().message.find("IPFIX collector no-such-host.invalid:4739/tcp: cannot resolve"),
            std::string::npos)
      << sink.error().message;
}

TEST(IpfixSink, UdpOneMessageADatagramOverIpv6) {
  Fd u{socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  ASSERT_EQ(bind(u.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(u.fd, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin6_port);
  auto sink = IpfixSink::open({.host = "::1", .port = port});
  ASSERT_TRUE(sink.has_value()) << sink.error().message;
  EXPECT_EQ((*sink)->address(), fmt::format("[::1]:{}/udp", port));
  std::vector<Item> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(record("10.0.0.1", 1, "10.0.0.2", 2, 6));
  ASSERT_TRUE((*sink)->write(batch).has_value());
  std::map<uint16_t, Template> known;
  size_t records = 0;
  for (;;) {
    pollfd p{u.fd, POLLIN, 0};
    if (poll(&p, 1, 500) != 1) break;
    std::vector<uint8_t> buf(65536);
    ssize_t n = recv(u.fd, buf.data(), buf.size(), 0);
    ASSERT_GT(n, 0);
    buf.resize(static_cast<size_t>(n));
    EXPECT_LE(buf.size(), kUdpIpv4MaxMessage);
    Decoded d = decode(buf, known);
    EXPECT_EQ(d.length, buf.size());
    EXPECT_EQ(d.sequence, records);
    records += d.records.size();
  }
  EXPECT_EQ(records, 100u);
}

// UDP to a port where nothing listens: the kernel refuses each datagram at the send after it
// (ECONNREFUSED, nothing sent). The refusal recalls the datagram before it, which had been
// taken without an error, and the outage goes on (every batch lost) until a send is not
// refused: of 4 one-record batches, none stays counted written.
TEST(IpfixSink, UdpRefusalRecallsThePreviousDatagramAndTheOutageLasts) {
  Fd u{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  sockaddr_in a{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}, .sin_zero = {}};
  ASSERT_EQ(bind(u.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  uint16_t port = bound_port(u.fd);
  auto sink = IpfixSink::open({.host = "127.0.0.1", .port = port});
  ASSERT_TRUE(sink.has_value()) << sink.error().message;
  std::vector<Item> one{record("10.0.0.1", 1, "10.0.0.2", 2, 17)};
  ASSERT_TRUE((*sink)->write(one).has_value());  // received
  EXPECT_EQ((*sink)->take_recalled(), 0u);
  ASSERT_TRUE((*sink)->write(one).has_value());  // received too: nothing to recall
  EXPECT_EQ((*sink)->take_recalled(), 0u);
  close(std::exchange(u.fd, -1));  // the collector goes: the next datagram is refused
  ASSERT_TRUE((*sink)->write(one).has_value());  // sent; refused after the fact
  usleep(50'000);  // the ICMP port unreachable arrives
  auto w = (*sink)->write(one);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().message, fmt::format("IPFIX collector 127.0.0.1:{}/udp: send: Connection refused", port));
  EXPECT_EQ((*sink)->take_recalled(), 1u);  // the datagram before
  usleep(50'000);
  EXPECT_FALSE((*sink)->write(one).has_value());  // still refused, nothing more to recall
  EXPECT_EQ((*sink)->take_recalled(), 0u);
}

}  // namespace
}  // namespace kscope::ipfix
