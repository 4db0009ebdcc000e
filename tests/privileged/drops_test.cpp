// trace drops and trace dropcount against the real kernel: drops_known in namespace a sends
// UDP datagrams and TCP SYNs to ports of namespace b where nothing listens, and b drops each
// for want of a socket. Every drop must come back exactly (reason named through the kernel's
// BTF, the dropping function, protocol, addresses, ports, SYN, device, namespace), and
// dropcount must count exactly as many, on each hook alternative this kernel supports.
#include <sys/stat.h>

#include <cstdio>
#include <thread>

#include "bpf/kernel_enum.h"
#include "harness.h"
#include "netns.h"

namespace kscope::test {
namespace {

constexpr int kUdpPort = 9, kTcpPort = 10;

struct Flow {  // one line of drops_known's EXPECTED
  std::string proto, saddr;
  int64_t sport;
  std::string daddr;
  int64_t dport, packets, payload;
};

struct DropsRun {
  std::vector<Flow> flows;
  std::vector<EventRecord> events;
  uint64_t netns = 0;   // b's
  int64_t ifindex = 0;  // b's veth0
  unsigned long long lost = 0;
  bool all_claimed = false;
};

int64_t ifindex_in(const std::string& ns) {
  std::string cmd = std::string(NetnsPair::kIp) + " netns exec " + ns + " cat /sys/class/net/veth0/ifindex";
  FILE* p = popen(cmd.c_str(), "r");
  long long v = 0;
  if (p) {
    if (fscanf(p, "%lld", &v) != 1) v = 0;
    pclose(p);
  }
  return v;
}

// drops_known run under `tool` (drops or dropcount) limited to b's namespace; for dropcount
// the events are the snapshot taken once it has run.
DropsRun run_drops(const std::string& tool, const std::string& hook, const std::string& reason) {
  DropsRun run;
  NetnsPair net;
  EXPECT_TRUE(net.ok());
  struct stat st {};
  EXPECT_EQ(stat(("/run/netns/" + net.b).c_str(), &st), 0);
  run.netns = st.st_ino;
  run.ifindex = ifindex_in(net.b);

  LiveTool live(tool);
  live.args.set("--netns").text = "/run/netns/" + net.b;
  live.args.set("--reason").text = reason;
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  std::string dir = temp_dir();
  std::string expected = dir + "/expected.tsv";
  EXPECT_EQ(run_while_draining(NetnsPair::in(net.a, {testprog("drops_known"), net.addr_a, net.addr_b,
                                                     std::to_string(kUdpPort),
                                                     std::to_string(kTcpPort), expected}),
                               *rb),
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a softirq finishing late
  (void)rb->consume();
  if (live.tool.aggregates()) {
    auto r = live.tool.snapshot(*live.probe, live.args, sink);
    EXPECT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(sink.malformed, 0u);
  for (const auto& f : read_tsv(expected))
    run.flows.push_back({f.at(0), f.at(1), std::stoll(f.at(2)), f.at(3), std::stoll(f.at(4)),
                         std::stoll(f.at(5)), std::stoll(f.at(6))});
  run.events = std::move(sink.events);
  run.lost = live.lost();
  run.all_claimed = live.all_claimed();
  std::remove(expected.c_str());
  rmdir(dir.c_str());
  return run;
}

int64_t no_socket_code() {
  auto e = KernelEnum::running("skb_drop_reason");
  EXPECT_TRUE(e) << e.error().message;
  auto v = e ? (*e)->value_of("SKB_DROP_REASON_NO_SOCKET") : std::nullopt;
  EXPECT_TRUE(v) << "this kernel has no SKB_DROP_REASON_NO_SOCKET";
  return v.value_or(-1);
}

class TraceDrops : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceDrops, EachPacketToAPortWithoutSocketExactly) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("drops", GetParam());
  for (std::string reason : {"", "no_socket"}) {
    SCOPED_TRACE(reason.empty() ? "every reason but NOT_SPECIFIED" : "--reason no_socket");
    DropsRun run = run_drops("drops", GetParam(), reason);
    ASSERT_EQ(run.flows.size(), 4u);
    EXPECT_EQ(run.lost, 0u);
    EXPECT_TRUE(run.all_claimed);
    size_t ours = 0;
    for (const auto& flow : run.flows) {
      SCOPED_TRACE(flow.proto + " port " + std::to_string(flow.sport));
      int64_t seen = 0;
      for (const auto& e : run.events) {
        if (e.text("proto") != flow.proto || e.ip("saddr") != flow.saddr ||
            e.integer("sport") != flow.sport || e.ip("daddr") != flow.daddr ||
            e.integer("dport") != flow.dport)
          continue;
        ++seen;
        EXPECT_EQ(e.text("reason"), "NO_SOCKET");
        EXPECT_EQ(e.integer("reason_code"), no_socket_code());
        EXPECT_EQ(e.text("protocol"), "IPv4");
        EXPECT_EQ(e.integer("ifindex"), run.ifindex);
        EXPECT_EQ(static_cast<uint64_t>(e.integer("netns")), run.netns);
        // The function that dropped it: UDP's receive path or TCP's, named through kallsyms.
        const std::string& where = e.text("location");
        EXPECT_NE(where.find(flow.proto), std::string::npos) << where;
        EXPECT_NE(where.find("+0x"), std::string::npos) << where;
        if (flow.proto == "udp") {
          EXPECT_EQ(e.integer("len"), 8 + flow.payload);  // the UDP header and the payload
          EXPECT_EQ(e.uinteger("tcp_flags"), 0u);
        } else {
          EXPECT_EQ(e.uinteger("tcp_flags"), 0x02u) << "a lone SYN";
        }
      }
      EXPECT_EQ(seen, flow.packets);
      ours += seen;
    }
    EXPECT_EQ(ours, 5u + 3u);
    for (const auto& e : run.events) {  // the filters, in the kernel
      EXPECT_NE(e.text("reason"), "NOT_SPECIFIED");
      if (!reason.empty()) {
        EXPECT_EQ(e.text("reason"), "NO_SOCKET");
      }
      EXPECT_EQ(static_cast<uint64_t>(e.integer("netns")), run.netns);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceDrops, ::testing::ValuesIn(hook_names("drops")), hook_param_name);

class TraceDropcount : public ::testing::TestWithParam<std::string> {};

// The counts of b's NO_SOCKET drops, by function and protocol: one row for UDP's 5
// datagrams, one for the 3 SYNs.
TEST_P(TraceDropcount, CountsEachPacketToAPortWithoutSocket) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("dropcount", GetParam());
  DropsRun run = run_drops("dropcount", GetParam(), "NO_SOCKET");
  ASSERT_EQ(run.flows.size(), 4u);
  EXPECT_TRUE(run.all_claimed);
  uint64_t udp = 0, tcp = 0;
  for (const auto& e : run.events) {
    SCOPED_TRACE(e.text("location"));
    EXPECT_EQ(e.text("reason"), "NO_SOCKET");
    EXPECT_EQ(e.integer("reason_code"), no_socket_code());
    EXPECT_EQ(static_cast<uint64_t>(e.integer("netns")), run.netns);
    const std::string& where = e.text("location");
    bool is_udp = where.find("udp") != std::string::npos;
    (is_udp ? udp : tcp) += e.uinteger("count");
    // The protocol read from the dropped packet agrees with the receive path that dropped it.
    EXPECT_EQ(e.text("protocol"), "IPv4");
    EXPECT_EQ(e.text("proto"), is_udp ? "udp" : "tcp");
  }
  EXPECT_EQ(udp, 5u);
  EXPECT_EQ(tcp, 3u);
  EXPECT_EQ(run.events.size(), 2u) << "one row for each receive path";
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceDropcount, ::testing::ValuesIn(hook_names("dropcount")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
