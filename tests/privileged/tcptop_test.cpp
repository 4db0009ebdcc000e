// trace tcptop against the real kernel: tcp_pingpong moves an exactly known number of bytes
// each way on each of its connections (and peeks once, which moves nothing), so every
// connection's row must carry exactly its process, ends, bytes sent and bytes received, on
// each hook alternative this kernel supports.
#include <algorithm>

#include "tcp_pingpong.h"

namespace kscope::test {
namespace {

constexpr int kRequest = 1000, kResponse = 3000;
const std::vector<int> kRounds = {20, 40};  // two connections of different sizes

// tcp_pingpong's connections under a live tcptop; the rows of its processes only.
TracedPingPong trace_pingpong(const std::string& hook, uint64_t top, TaskFlags task = {},
                              bool ipv6 = false) {
  LiveTool live("tcptop");
  live.args.set("--top").number = top;
  TracedPingPong t =
      trace_pingpong(live, hook, task, {kRequest, kResponse, kRounds, ipv6}, "tcptop_bytes_full");
  auto mine = [&](std::vector<EventRecord>& rows) {
    std::erase_if(rows, [&](const EventRecord& r) {
      return std::none_of(t.run.ends.begin(), t.run.ends.end(),
                          [&](const PingPongEnd& end) { return r.integer("pid") == end.pid; });
    });
  };
  mine(t.rows);
  mine(t.next_rows);
  return t;
}

// The row of one end of one connection: its process and its ends are the key.
const EventRecord* row_of(const TracedPingPong& t, const PingPongEnd& end) {
  for (const auto& r : t.rows)
    if (r.integer("pid") == end.pid && r.ip("laddr") == end.laddr &&
        r.integer("lport") == end.lport && r.ip("raddr") == end.raddr &&
        r.integer("rport") == end.rport)
      return &r;
  return nullptr;
}

void expect_exact(const TracedPingPong& t, const std::vector<PingPongEnd>& ends) {
  for (const auto& end : ends) {
    SCOPED_TRACE(end.role + " " + end.laddr + ":" + std::to_string(end.lport));
    const EventRecord* r = row_of(t, end);
    ASSERT_NE(r, nullptr) << "no row for this end";
    EXPECT_EQ(r->text("comm"), end.comm);
    EXPECT_EQ(r->uinteger("sent"), uint64_t(end.sent));
    EXPECT_EQ(r->uinteger("received"), uint64_t(end.received));
  }
  EXPECT_EQ(t.rows.size(), ends.size()) << "rows no end of tcp_pingpong's accounts for";
}

// Each hook alternative where it can work: the tracepoint hooks also need the sock tracepoints
// (Linux 6.3+), which the vm tier's 6.1 lacks.
#define REQUIRE_TCPTOP_HOOK(hook)                                                       \
  do {                                                                                  \
    KSCOPE_REQUIRE_HOOK("tcptop", hook);                                                \
    if ((hook) != "fentry" && (hook) != "kprobe")                                       \
      if (auto& f = Features::system().tracepoint_field("sock/sock_send_length", "ret", \
                                                        "sock:sock_send_length");       \
          !f.works)                                                                     \
        GTEST_SKIP() << "hook " << (hook) << " of trace tcptop: " << f.reason;          \
  } while (0)

class TraceTcptop : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceTcptop, ExactBytesPerProcessAndConnection) {
  KSCOPE_REQUIRE_PRIVILEGES();
  REQUIRE_TCPTOP_HOOK(GetParam());
  TracedPingPong t = trace_pingpong(GetParam(), 1000000);
  ASSERT_EQ(t.run.ends.size(), 4u);
  for (size_t c = 0; c < kRounds.size(); ++c) {  // client and server lines alternate
    const PingPongEnd& client = t.run.ends[2 * c];
    EXPECT_EQ(client.role, "client");
    EXPECT_EQ(client.sent, int64_t{kRequest} * kRounds[c]);
    EXPECT_EQ(client.received, int64_t{kResponse} * kRounds[c]);
  }
  expect_exact(t, t.run.ends);
  EXPECT_TRUE(t.next_rows.empty()) << "the snapshot did not empty the map";
  EXPECT_EQ(t.ring_records, 0u) << "an aggregating probe wrote to the ring buffer";
  EXPECT_EQ(t.lost, 0u);
  EXPECT_EQ(t.full, 0u);
}

TEST_P(TraceTcptop, ExactBytesOverIpv6) {
  KSCOPE_REQUIRE_PRIVILEGES();
  REQUIRE_TCPTOP_HOOK(GetParam());
  TracedPingPong t = trace_pingpong(GetParam(), 1000000, {}, /*ipv6=*/true);
  ASSERT_EQ(t.run.ends.size(), 4u);
  for (const auto& end : t.run.ends) EXPECT_EQ(end.laddr, "::1");
  expect_exact(t, t.run.ends);
}

// --comm runs in the kernel; --top 1 keeps the client's bigger connection only.
TEST_P(TraceTcptop, TopConnectionOfOneCommand) {
  KSCOPE_REQUIRE_PRIVILEGES();
  REQUIRE_TCPTOP_HOOK(GetParam());
  TracedPingPong t = trace_pingpong(GetParam(), 1, TaskFlags{.comm = "tp_client"});
  EXPECT_TRUE(t.all_claimed) << "the probe left a clause to user space";
  auto clients = t.run.of("client");
  ASSERT_EQ(clients.size(), 2u);
  const PingPongEnd& bigger = clients[0].sent > clients[1].sent ? clients[0] : clients[1];
  EXPECT_EQ(bigger.sent, int64_t{kRequest} * 40);
  expect_exact(t, {bigger});
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceTcptop, ::testing::ValuesIn(hook_names("tcptop")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
