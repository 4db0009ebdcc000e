// trace dns's message parser, reached through the registry's decoder as the CLI and the
// fuzzers reach it: real responses (compression pointers, A and AAAA answers), and messages
// that loop, run past their end, or exceed DNS's limits, which must be refused as malformed
// without reading out of bounds.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dns.h"
#include "tool_run.h"

namespace kscope {
namespace {

using namespace test;
using Msg = std::vector<uint8_t>;

static_assert(offsetof(ks_dns_event, payload) == 112);

Bytes dns_record(const Msg& msg, uint16_t flags = KS_DNS_EGRESS, uint32_t msg_len = 0) {
  ks_dns_event e{};
  e.hdr.type = KS_EVENT_DNS;
  e.hdr.size = sizeof(e);
  e.hdr.tgid = 4242;
  std::memcpy(e.hdr.comm, "dns_client", 11);
  e.family = 4;
  e.proto = 17;
  const uint8_t s[] = {10, 0, 0, 1}, d[] = {10, 0, 0, 2};
  std::memcpy(e.saddr, s, 4);
  std::memcpy(e.daddr, d, 4);
  e.sport = 40000;
  e.dport = 53;
  e.flags = flags;
  e.payload_len = std::min<size_t>(msg.size(), KS_DNS_PAYLOAD_MAX);
  e.msg_len = msg_len ? msg_len : e.payload_len;
  if (e.payload_len) std::memcpy(e.payload, msg.data(), e.payload_len);  // an empty msg has no data()
  Bytes b(sizeof(e));
  std::memcpy(b.data(), &e, sizeof(e));
  return b;
}

EventRecord decode(const Bytes& record) {
  const Tool& dns = tool("dns");
  auto e = dns.decode(record, ToolArgs(dns.flags()));
  if (!e) throw std::runtime_error(e.error().message);
  return std::move(*e);
}

// Header: id 0x1234, the flags bytes, one question, `an` answers.
Msg header(uint8_t flags2, uint8_t flags3, uint8_t an, uint8_t qd = 1) {
  return {0x12, 0x34, flags2, flags3, 0, qd, 0, an, 0, 0, 0, 0};
}

void name(Msg& m, std::initializer_list<std::string> labels) {
  for (const auto& l : labels) {
    m.push_back(static_cast<uint8_t>(l.size()));
    m.insert(m.end(), l.begin(), l.end());
  }
  m.push_back(0);
}

void u16(Msg& m, uint16_t v) {
  m.push_back(v >> 8);
  m.push_back(v & 0xff);
}

// An answer whose name points at the question (offset 12).
void answer(Msg& m, uint16_t type, std::initializer_list<uint8_t> rdata) {
  m.insert(m.end(), {0xc0, 12});
  u16(m, type);
  u16(m, 1);                        // IN
  m.insert(m.end(), {0, 0, 0, 60});  // ttl
  u16(m, static_cast<uint16_t>(rdata.size()));
  m.insert(m.end(), rdata);
}

Msg known_response() {
  Msg m = header(0x81, 0x80, 3);
  name(m, {"known", "kscope", "test"});
  u16(m, 1);
  u16(m, 1);
  answer(m, 1, {10, 231, 99, 1});
  answer(m, 5, {0xc0, 12});  // a CNAME: no address
  answer(m, 28, {0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  return m;
}

TEST(DnsDecode, ResponseWithCompressedAnswers) {
  auto e = decode(dns_record(known_response(), 0));
  EXPECT_EQ(e.text("qr"), "response");
  EXPECT_EQ(e.text("direction"), "in");
  EXPECT_EQ(e.integer("id"), 0x1234);
  EXPECT_EQ(e.text("qname"), "known.kscope.test");
  EXPECT_EQ(e.text("qtype"), "A");
  EXPECT_EQ(e.text("rcode"), "NOERROR");
  EXPECT_FALSE(e.boolean("failed"));
  EXPECT_EQ(e.integer("ancount"), 3);
  EXPECT_EQ(e.argv("answers").args, (std::vector<std::string>{"10.231.99.1", "fd00:99::1"}));
  EXPECT_FALSE(e.boolean("malformed"));
  EXPECT_FALSE(e.boolean("cut"));
  EXPECT_EQ(e.ip("saddr"), "10.0.0.1");
  EXPECT_EQ(e.integer("dport"), 53);
  EXPECT_EQ(e.text("proto"), "udp");
}

TEST(DnsDecode, QueryAndErrorNames) {
  Msg q = header(0x01, 0x00, 0);
  name(q, {"missing", "kscope", "test"});
  u16(q, 99);
  u16(q, 1);
  auto e = decode(dns_record(q));
  EXPECT_EQ(e.text("qr"), "query");
  EXPECT_EQ(e.text("qtype"), "TYPE99");
  EXPECT_EQ(e.text("rcode"), "");  // a query has none
  EXPECT_FALSE(e.boolean("failed"));

  Msg r = header(0x81, 0x83, 0);
  name(r, {});
  u16(r, 28);
  u16(r, 1);
  e = decode(dns_record(r));
  EXPECT_EQ(e.text("qname"), ".");
  EXPECT_EQ(e.text("rcode"), "NXDOMAIN");
  EXPECT_TRUE(e.boolean("failed"));
  r[3] = 0x8b;
  EXPECT_EQ(decode(dns_record(r)).text("rcode"), "RCODE11");
}

TEST(DnsDecode, LabelBytesAreEscapedAsDigShowsThem) {
  Msg m = header(0x01, 0, 0);
  name(m, {std::string("a.b\\c", 5), std::string("\0\x7f ", 3)});
  u16(m, 1);
  u16(m, 1);
  EXPECT_EQ(decode(dns_record(m)).text("qname"), "a\\.b\\\\c.\\000\\127\\032");
}

TEST(DnsDecode, PointerLoopsAndForwardPointersAreMalformed) {
  for (uint8_t target : {12, 13, 200}) {  // itself, forward, past the end
    SCOPED_TRACE(int(target));
    Msg m = header(0x01, 0, 0);
    m.insert(m.end(), {0xc0, target});
    u16(m, 1);
    u16(m, 1);
    auto e = decode(dns_record(m));
    EXPECT_TRUE(e.boolean("malformed"));
    EXPECT_EQ(e.text("qname"), "");
  }
  // Two names pointing at each other: one of the two pointers has to lead forward.
  Msg m = header(0x81, 0, 2);
  name(m, {"a"});  // offset 12
  u16(m, 1);
  u16(m, 1);
  size_t first = m.size();
  m.insert(m.end(), {1, 'b', 0xc0, static_cast<uint8_t>(first + 4)});  // -> the next name
  m.insert(m.end(), {0xc0, static_cast<uint8_t>(first)});              // -> back
  auto e = decode(dns_record(m));
  EXPECT_TRUE(e.boolean("malformed"));
}

TEST(DnsDecode, ReservedLabelTypesAndOverlongNamesAreMalformed) {
  Msg m = header(0x01, 0, 0);
  m.insert(m.end(), {0x41, 'x', 0});
  u16(m, 1);
  u16(m, 1);
  EXPECT_TRUE(decode(dns_record(m)).boolean("malformed"));

  Msg l = header(0x01, 0, 0);
  std::string label(63, 'x');
  name(l, {label, label, label, label});  // 4 * 64 + 1 = 257 bytes: over 255
  u16(l, 1);
  u16(l, 1);
  auto e = decode(dns_record(l));
  EXPECT_TRUE(e.boolean("malformed"));
}

// A message that ends early is malformed; one the probe cut is partial, with the answers
// before the cut.
TEST(DnsDecode, TruncationIsCutOrMalformed) {
  Msg full = known_response();
  Msg part(full.begin(), full.end() - 5);  // into the AAAA answer
  auto e = decode(dns_record(part));
  EXPECT_TRUE(e.boolean("malformed"));
  EXPECT_EQ(e.argv("answers").args, std::vector<std::string>{"10.231.99.1"});

  e = decode(dns_record(part, KS_DNS_CUT, static_cast<uint32_t>(full.size())));
  EXPECT_FALSE(e.boolean("malformed"));
  EXPECT_TRUE(e.boolean("cut"));
  EXPECT_EQ(e.argv("answers").args, std::vector<std::string>{"10.231.99.1"});

  for (size_t n = 0; n < full.size(); ++n) {  // every prefix decodes, none reads past it
    Msg prefix(full.begin(), full.begin() + n);
    EXPECT_TRUE(decode(dns_record(prefix)).boolean("malformed")) << n;
  }
}

TEST(DnsDecode, RecordsOfAnotherShapeAreRefused) {
  const Tool& dns = tool("dns");
  ToolArgs args(dns.flags());
  Bytes r = dns_record(known_response());
  Bytes shorter(r.begin(), r.end() - 1);
  EXPECT_FALSE(dns.decode(shorter, args));
  ks_dns_event e;
  std::memcpy(&e, r.data(), sizeof(e));
  e.payload_len = KS_DNS_PAYLOAD_MAX + 1;
  std::memcpy(r.data(), &e, sizeof(e));
  EXPECT_FALSE(dns.decode(r, args));
  e.payload_len = 0;
  e.family = 5;
  std::memcpy(r.data(), &e, sizeof(e));
  EXPECT_FALSE(dns.decode(r, args));
}

}  // namespace
}  // namespace kscope
