// trace drops' and trace dropcount's decoders, reached through the registry, and what they
// share: reason names read from BTF (an enum built here, not the kernel's), --reason's
// spelling, and the clauses the flags mean.
#include <bpf/btf.h>

#include <cstring>
#include <memory>

#include <gtest/gtest.h>

#include "bpf/kernel_enum.h"
#include "drops.h"
#include "tool_run.h"
#include "tools/drop_reasons.h"

namespace kscope {
namespace {

using namespace test;
namespace dr = tools::drop_reasons;

static_assert(sizeof(ks_drop_event) == 128);
static_assert(sizeof(ks_drop_count_event) == 88);

struct BtfFree {
  void operator()(btf* b) const { btf__free(b); }
};

TEST(DropReasons, EnumValuesComeFromTheBtf) {
  std::unique_ptr<btf, BtfFree> b(btf__new_empty());
  ASSERT_NE(b, nullptr);
  ASSERT_GT(btf__add_enum(b.get(), "skb_drop_reason", 4), 0);
  ASSERT_EQ(btf__add_enum_value(b.get(), "SKB_NOT_DROPPED_YET", 0), 0);
  ASSERT_EQ(btf__add_enum_value(b.get(), "SKB_DROP_REASON_NOT_SPECIFIED", 1), 0);
  ASSERT_EQ(btf__add_enum_value(b.get(), "SKB_DROP_REASON_NO_SOCKET", 2), 0);
  ASSERT_GT(btf__add_enum64(b.get(), "wide", 8, false), 0);
  ASSERT_EQ(btf__add_enum64_value(b.get(), "WIDE_TOP", 1ull << 40), 0);

  auto e = KernelEnum::from_btf(b.get(), "skb_drop_reason");
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(e->values().size(), 3u);
  ASSERT_NE(e->name_of(2), nullptr);
  EXPECT_EQ(*e->name_of(2), "SKB_DROP_REASON_NO_SOCKET");
  EXPECT_EQ(e->name_of(3), nullptr);
  EXPECT_EQ(e->value_of("SKB_DROP_REASON_NOT_SPECIFIED"), 1);
  EXPECT_EQ(e->value_of("NO_SOCKET"), std::nullopt);

  auto wide = KernelEnum::from_btf(b.get(), "wide");
  ASSERT_TRUE(wide) << wide.error().message;
  EXPECT_EQ(wide->value_of("WIDE_TOP"), int64_t{1} << 40);
  EXPECT_FALSE(KernelEnum::from_btf(b.get(), "absent"));
}

TEST(DropReasons, NamesWithoutTheKernelsPrefix) {
  EXPECT_EQ(dr::short_name("SKB_DROP_REASON_NO_SOCKET"), "NO_SOCKET");
  EXPECT_EQ(dr::short_name("SKB_CONSUMED"), "CONSUMED");
  EXPECT_EQ(dr::short_name("OTHER"), "OTHER");
  EXPECT_EQ(dr::normalized("no_socket"), "NO_SOCKET");
  EXPECT_EQ(dr::normalized("skb_drop_reason_tcp_csum"), "TCP_CSUM");
}

TEST(DropReasons, FlagsMeanReasonAndNetnsClauses) {
  const Tool& drops = tool("drops");
  {
    Filter f;
    ASSERT_TRUE(drops.add_clauses(ToolArgs(drops.flags()), f));
    const Clause* c = f.find("reason", Op::ne);
    ASSERT_NE(c, nullptr) << "NOT_SPECIFIED is left out by default";
    EXPECT_EQ(std::get<std::string>(c->operand), "NOT_SPECIFIED");
  }
  {
    ToolArgs args(drops.flags());
    args.set("--all-reasons").on = true;
    Filter f;
    ASSERT_TRUE(drops.add_clauses(args, f));
    EXPECT_EQ(f.size(), 0u);
    args.set("--reason").text = "tcp_csum";
    EXPECT_FALSE(drops.add_clauses(args, f)) << "--reason with --all-reasons";
    args.set("--all-reasons").on = false;
    ASSERT_TRUE(drops.add_clauses(args, f));
    const Clause* c = f.find("reason", Op::eq);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(std::get<std::string>(c->operand), "TCP_CSUM");
  }
  {
    ToolArgs args(drops.flags());
    args.set("--netns").text = "4026531840";
    Filter f;
    ASSERT_TRUE(drops.add_clauses(args, f));
    const Clause* c = f.find("netns", Op::eq);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(std::get<int64_t>(c->operand), 4026531840);
    args.set("--netns").text = "/nonexistent/ns";
    EXPECT_FALSE(drops.add_clauses(args, f));
  }
}

Bytes drop_record(uint8_t family, uint8_t l4proto, uint8_t tcp_flags) {
  ks_drop_event e{};
  e.hdr.type = KS_EVENT_DROP;
  e.hdr.size = sizeof(e);
  e.hdr.tgid = 77;
  e.reason = 0xffff0001;  // no kernel names this: shown as the number
  e.location = 0;         // before every symbol: shown in hex
  e.protocol = 0x0800;
  e.family = family;
  e.l4proto = l4proto;
  const uint8_t s[] = {10, 0, 0, 1}, d[] = {10, 0, 0, 2};
  std::memcpy(e.saddr, s, 4);
  std::memcpy(e.daddr, d, 4);
  e.sport = 1234;
  e.dport = 80;
  e.tcp_flags = tcp_flags;
  e.netns = 4026531840;
  Bytes b(sizeof(e));
  std::memcpy(b.data(), &e, sizeof(e));
  return b;
}

TEST(DropsDecode, PacketFields) {
  const Tool& drops = tool("drops");
  auto e = drops.decode(drop_record(4, 6, 0x12), ToolArgs(drops.flags()));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->text("protocol"), "IPv4");
  EXPECT_EQ(e->text("proto"), "tcp");
  EXPECT_EQ(e->ip("saddr"), "10.0.0.1");
  EXPECT_EQ(e->ip("daddr"), "10.0.0.2");
  EXPECT_EQ(e->integer("dport"), 80);
  EXPECT_EQ(e->uinteger("tcp_flags"), 0x12u);
  EXPECT_EQ(e->text("reason"), "4294901761");
  EXPECT_EQ(e->text("location"), "0x0");
  EXPECT_EQ(e->integer("netns"), 4026531840);
  auto shown = run_records("drops", {drop_record(4, 6, 0x12)});
  EXPECT_NE(shown.text.find("\"tcp_flags\":\"SYN|ACK\""), std::string::npos) << shown.text;

  auto unparsed = drops.decode(drop_record(0, 0, 0), ToolArgs(drops.flags()));
  ASSERT_TRUE(unparsed);
  EXPECT_EQ(unparsed->ip("saddr"), "");
  EXPECT_EQ(unparsed->text("proto"), "");

  Bytes shorter = drop_record(4, 17, 0);
  shorter.pop_back();
  EXPECT_FALSE(drops.decode(shorter, ToolArgs(drops.flags())));
}

TEST(DropcountDecode, CountFields) {
  ks_drop_count_event c{};
  c.hdr.type = KS_EVENT_DROP_COUNT;
  c.hdr.size = sizeof(c);
  c.key = {.location = 0, .reason = 0xffff0002, .netns = 7, .protocol = 0x86dd, .family = 6,
           .l4proto = 58};
  c.count = 42;
  Bytes b(sizeof(c));
  std::memcpy(b.data(), &c, sizeof(c));
  const Tool& dropcount = tool("dropcount");
  EXPECT_TRUE(dropcount.aggregates());
  auto e = dropcount.decode(b, ToolArgs(dropcount.flags()));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->uinteger("count"), 42u);
  EXPECT_EQ(e->text("reason"), "4294901762");
  EXPECT_EQ(e->integer("netns"), 7);
  EXPECT_EQ(e->text("protocol"), "IPv6");
  EXPECT_EQ(e->text("proto"), "icmpv6");
  b.push_back(std::byte{0});
  EXPECT_FALSE(dropcount.decode(b, ToolArgs(dropcount.flags())));
}

}  // namespace
}  // namespace kscope
