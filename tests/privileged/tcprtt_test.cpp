// trace tcprtt against the real kernel: tcp_pingpong makes a known number of request/response
// round trips between two namespaces. Each response reaches the client as at least one
// segment that tcp_rcv_established() takes (the client sends its next request only once the
// response is in), each request the server likewise; the client's TCP_INFO segs_in, read
// before its close, bounds what its socket can have received (its SYN-ACK went elsewhere).
// So each end's histogram must hold between ROUNDS and that many samples, every one in a slot
// a veth round trip can take, on each hook alternative this kernel supports; and every hook
// must take exactly the samples the tracepoint's record carries.
#include <sys/stat.h>

#include <numeric>

#include "bpf/mounts.h"
#include "tcp_pingpong.h"

namespace kscope::test {
namespace {

constexpr int kRounds = 40;
constexpr int kRequest = 100, kResponse = 2000;

uint64_t sum(const OwnedHist& h) { return std::accumulate(h.begin(), h.end(), uint64_t{0}); }

// A smoothed RTT between two namespaces of one machine: from 1 us to under a second (slot 19
// holds 524288..1048575 us), under TCG too, where a cold first connection took over 130 ms.
void expect_plausible(const EventRecord& e, size_t last_slot) {
  const auto& slots = e.hist("hist");
  EXPECT_EQ(sum(slots), e.uinteger("count"));
  for (size_t i = last_slot + 1; i < slots.size(); ++i) EXPECT_EQ(slots[i], 0u) << "slot " << i;
}

// tcp_pingpong's one connection under a live tcprtt with `set` applied to its flags; all its
// filters run in the kernel.
template <class Set>
TracedPingPong trace_pingpong(const std::string& hook, Set set, TaskFlags task = {},
                              bool ipv6 = false) {
  LiveTool live("tcprtt");
  set(live.args, pingpong_net());
  TracedPingPong t =
      trace_pingpong(live, hook, task, {kRequest, kResponse, {kRounds}, ipv6}, "tcprtt_hists_full");
  EXPECT_TRUE(t.all_claimed) << "the probe left a clause to user space";
  return t;
}

// This process's cgroup v2, relative to the cgroup2 mount: "0::/PATH" in /proc/self/cgroup.
std::string own_cgroup() {
  std::ifstream self("/proc/self/cgroup");
  for (std::string line; std::getline(self, line);)
    if (line.rfind("0::", 0) == 0) return "." + line.substr(3);
  return "";
}

void set_port(ToolArgs& a, const char* flag) { a.set(flag).number = pingpong_port(); }

class TraceTcprtt : public ::testing::TestWithParam<std::string> {};

// -a: the client's samples, under the server's address, filtered to the server's port.
TEST_P(TraceTcprtt, ByRemoteCountsEveryRoundTrip) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcprtt", GetParam());
  TracedPingPong t = trace_pingpong(GetParam(), [](ToolArgs& a, const NetnsPair&) {
    a.set("--by-remote").on = true;
    set_port(a, "--rport");
  });
  ASSERT_EQ(t.run.of("client").size(), 1u);
  const PingPongEnd client = t.run.of("client")[0];
  ASSERT_EQ(t.rows.size(), 1u) << "one remote address: the server's";
  const EventRecord& h = t.rows[0];
  EXPECT_EQ(h.text("scope"), "remote");
  EXPECT_EQ(h.ip("addr"), client.raddr);
  EXPECT_GE(h.uinteger("count"), uint64_t{kRounds});
  EXPECT_LE(h.uinteger("count"), uint64_t(client.segs_in - 1));
  EXPECT_EQ(h.text("unit"), "usecs");
  EXPECT_GE(h.uinteger("avg"), 1u);
  EXPECT_LT(h.uinteger("avg"), 1000000u);
  expect_plausible(h, 19);
  EXPECT_TRUE(t.next_rows.empty()) << "the snapshot did not empty the map";
  EXPECT_EQ(t.ring_records, 0u) << "an aggregating probe wrote to the ring buffer";
  EXPECT_EQ(t.lost, 0u);
  EXPECT_EQ(t.full, 0u);
}

// Every hook samples the same segments at the same point (tcp_rcv_established() holds the
// socket's lock meanwhile), so each must agree exactly with the tracepoint, whose record
// carries srtt as the kernel computes it: one connection traced through both at once.
TEST_P(TraceTcprtt, SameSamplesAsTheTracepointRecord) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcprtt", GetParam());
  const std::string reference = GetParam() == "tracepoint" ? "tp_btf" : "tracepoint";
  KSCOPE_REQUIRE_HOOK("tcprtt", reference);
  LiveTool live("tcprtt"), ref("tcprtt");
  for (LiveTool* l : {&live, &ref}) {
    l->args.set("--by-remote").on = true;
    set_port(l->args, "--rport");
  }
  auto opened = ref.open(reference);
  ASSERT_TRUE(opened) << opened.error().message;
  TracedPingPong t =
      trace_pingpong(live, GetParam(), {}, {kRequest, kResponse, {kRounds}}, "tcprtt_hists_full");
  ASSERT_EQ(t.run.status, 0);
  const auto& got = t.rows;
  auto want = take_snapshot(ref);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(want.size(), 1u);
  EXPECT_GE(want[0].uinteger("count"), uint64_t{kRounds});
  EXPECT_EQ(got[0].hist("hist"), want[0].hist("hist"));
  EXPECT_EQ(got[0].uinteger("avg"), want[0].uinteger("avg"));
}

// -b with every address and port knob: the server's samples, under its own address.
TEST_P(TraceTcprtt, ByLocalWithAddressAndPortFilters) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcprtt", GetParam());
  TracedPingPong t = trace_pingpong(GetParam(), [](ToolArgs& a, const NetnsPair& net) {
    a.set("--by-local").on = true;
    set_port(a, "--lport");
    a.set("--laddr").text = net.addr_a;
    a.set("--raddr").text = net.addr_b;
  });
  ASSERT_EQ(t.run.of("server").size(), 1u);
  const PingPongEnd server = t.run.of("server")[0];
  ASSERT_EQ(t.rows.size(), 1u) << "one local address: the server's";
  const EventRecord& h = t.rows[0];
  EXPECT_EQ(h.text("scope"), "local");
  EXPECT_EQ(h.ip("addr"), server.laddr);
  EXPECT_GE(h.uinteger("count"), uint64_t{kRounds});
  EXPECT_LE(h.uinteger("count"), uint64_t(server.segs_in));
  expect_plausible(h, 19);
}

// An address no connection has: nothing is counted.
TEST_P(TraceTcprtt, AddressFilterThatMatchesNothing) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcprtt", GetParam());
  TracedPingPong t = trace_pingpong(GetParam(), [](ToolArgs& a, const NetnsPair&) {
    set_port(a, "--rport");
    a.set("--raddr").text = "192.0.2.1";
  });
  EXPECT_TRUE(t.rows.empty());
}

// The total, in milliseconds, over IPv6 (both ends on ::1 in one namespace).
TEST_P(TraceTcprtt, TotalInMillisecondsOverIpv6) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcprtt", GetParam());
  TracedPingPong t = trace_pingpong(
      GetParam(),
      [](ToolArgs& a, const NetnsPair&) {
        a.set("--milliseconds").on = true;
        set_port(a, "--rport");
        a.set("--raddr").text = "::1";
      },
      {}, /*ipv6=*/true);
  ASSERT_EQ(t.run.of("client").size(), 1u);
  ASSERT_EQ(t.rows.size(), 1u);
  const EventRecord& h = t.rows[0];
  EXPECT_EQ(h.text("scope"), "total");
  EXPECT_EQ(h.ip("addr"), "");
  EXPECT_EQ(h.text("unit"), "msecs");
  EXPECT_GE(h.uinteger("count"), uint64_t{kRounds});
  EXPECT_LE(h.uinteger("count"), uint64_t(t.run.of("client")[0].segs_in - 1));
  expect_plausible(h, 9);  // 512..1023 ms
}

// --uid and --cgroup are the socket's owner's. The tracepoint hook can apply them only where
// the tcp_probe record names the socket; elsewhere it refuses them.
TEST_P(TraceTcprtt, SocketOwnerFilters) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcprtt", GetParam());
  if (GetParam() == "tracepoint" &&
      !Features::system().tracepoint_field("tcp/tcp_probe", "skaddr", "skaddr").works) {
    LiveTool live("tcprtt");
    auto opened = live.open(GetParam(), TaskFlags{.uid = 0});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("--uid and --cgroup need the socket"), std::string::npos)
        << opened.error().message;
    return;
  }
  auto by_port = [](ToolArgs& a, const NetnsPair&) { set_port(a, "--rport"); };
  TracedPingPong mine = trace_pingpong(GetParam(), by_port, TaskFlags{.uid = getuid()});
  ASSERT_EQ(mine.rows.size(), 1u);
  EXPECT_GE(mine.rows[0].uinteger("count"), uint64_t{kRounds});
  TracedPingPong other = trace_pingpong(GetParam(), by_port, TaskFlags{.uid = getuid() + 4242});
  EXPECT_TRUE(other.rows.empty());
  std::string mine_cgroup = own_cgroup();
  ASSERT_FALSE(mine_cgroup.empty());
  TracedPingPong in_cgroup = trace_pingpong(GetParam(), by_port, TaskFlags{.cgroup = mine_cgroup});
  ASSERT_EQ(in_cgroup.rows.size(), 1u);
  EXPECT_GE(in_cgroup.rows[0].uinteger("count"), uint64_t{kRounds});
  auto mount = cgroup2_mount();
  ASSERT_TRUE(mount) << mount.error().message;
  std::string empty = *mount + "/kscope-tcprtt-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(empty.c_str(), 0755), 0) << empty;
  TracedPingPong elsewhere = trace_pingpong(GetParam(), by_port, TaskFlags{.cgroup = empty});
  EXPECT_EQ(rmdir(empty.c_str()), 0) << empty;
  EXPECT_TRUE(elsewhere.rows.empty());
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceTcprtt, ::testing::ValuesIn(hook_names("tcprtt")),
                         hook_param_name);

// A sample is taken in whatever task the CPU was in: --pid and --comm are refused, with a
// hint, before anything is loaded.
TEST(TraceTcprttFlags, ProcessFiltersAndBadInputRefused) {
  const Tool& tool = *find_tool("tcprtt");
  for (TaskFlags task : {TaskFlags{.pid = 1}, TaskFlags{.comm = "curl"}}) {
    ToolArgs args(tool.flags());
    Filter f;
    ASSERT_TRUE(add_task_clauses(task, f));
    auto r = tool.add_clauses(args, f);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("cannot filter by"), std::string::npos) << r.error().message;
    EXPECT_FALSE(r.error().hint.empty());
  }
  ToolArgs bad(tool.flags());
  bad.set("--raddr").text = "10.0.0.256";
  Filter f;
  EXPECT_FALSE(tool.add_clauses(bad, f));
  ToolArgs both(tool.flags());
  both.set("--by-remote").on = true;
  both.set("--by-local").on = true;
  EXPECT_FALSE(tool.add_clauses(both, f));
}

}  // namespace
}  // namespace kscope::test
