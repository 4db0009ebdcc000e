// trace tcplife against the real kernel: tcpflow_known's connections between two network
// namespaces (an exchange of known sizes, a refused connect, one whose segments had to be
// sent again), each reported once as it closes with its process, addresses, ports, exact
// payload bytes each way and a duration within its measured life, on each hook alternative
// this kernel supports.
#include "tcpflow.h"

namespace kscope::test {
namespace {

FlowRun trace_tcpflow(const std::string& hook, const std::string& which, bool failed = false) {
  LiveTool live("tcplife");
  live.args.set("--failed").on = failed;
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return {};
  FlowRun run = run_tcpflow(live, which);
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.lost, 0u);
  EXPECT_TRUE(run.all_claimed);
  return run;
}

// The one event of socket `s`: who opened it, its ends, its bytes, how it ended.
void expect_life(const FlowRun& run, const FlowSocket& s, const std::string& direction,
                 const std::string& last_state) {
  SCOPED_TRACE(s.role);
  auto got = run.of(s);
  ASSERT_EQ(got.size(), 1u);
  const EventRecord& e = *got[0];
  EXPECT_EQ(e.integer("pid"), s.pid);
  EXPECT_EQ(e.text("comm"), s.comm);
  EXPECT_EQ(e.ip("raddr"), s.raddr);
  EXPECT_EQ(e.integer("rport"), s.rport);
  EXPECT_EQ(e.uinteger("tx_bytes"), s.tx);
  EXPECT_EQ(e.uinteger("rx_bytes"), s.rx);
  EXPECT_EQ(e.text("direction"), direction);
  EXPECT_EQ(e.text("last_state"), last_state);
  EXPECT_EQ(e.boolean("established"), last_state != "SYN_SENT");
  EXPECT_FALSE(e.boolean("start_unknown"));
  EXPECT_GT(e.uinteger("duration_ns"), 0u);
  EXPECT_LT(e.uinteger("duration_ns"), s.end_ns - s.start_ns);
  EXPECT_EQ(e.integer("uid"), 0);
}

class TraceTcplife : public ::testing::TestWithParam<std::string> {};

// The client sends 1000 bytes and receives 3000, then both shut down: the client's socket
// closes from FIN_WAIT2 (the timewait socket takes over), the accepted one from LAST_ACK,
// and the listener is no connection.
TEST_P(TraceTcplife, AConnectionWithItsBytesEachWay) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcplife", GetParam());
  FlowRun run = trace_tcpflow(GetParam(), "exchange");
  const FlowSocket *client = run.socket("client"), *server = run.socket("server");
  ASSERT_TRUE(client && server);
  EXPECT_EQ(client->tx, 1000u);
  EXPECT_EQ(client->rx, 3000u);
  EXPECT_EQ(run.events.size(), 2u);
  expect_life(run, *client, "out", "FIN_WAIT2");
  expect_life(run, *server, "in", "LAST_ACK");
}

// Retransmitted bytes count once.
TEST_P(TraceTcplife, RetransmittedBytesCountOnce) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcplife", GetParam());
  FlowRun run = trace_tcpflow(GetParam(), "retrans");
  const FlowSocket *client = run.socket("client"), *server = run.socket("server");
  ASSERT_TRUE(client && server);
  EXPECT_GE(client->retrans, 1u);
  expect_life(run, *client, "out", "FIN_WAIT2");
  expect_life(run, *server, "in", "LAST_ACK");
}

// A refused connect is a connection that never got established: shown with --failed (in
// the kernel), where a whole exchange is not.
TEST_P(TraceTcplife, FailedShowsOnlyConnectionsNeverEstablished) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcplife", GetParam());
  for (bool failed : {false, true}) {
    SCOPED_TRACE(failed ? "--failed" : "default");
    FlowRun refused = trace_tcpflow(GetParam(), "refused", failed);
    const FlowSocket* client = refused.socket("client");
    ASSERT_TRUE(client);
    EXPECT_EQ(refused.events.size(), 1u);
    expect_life(refused, *client, "out", "SYN_SENT");
  }
  FlowRun exchange = trace_tcpflow(GetParam(), "exchange", true);
  EXPECT_EQ(exchange.sockets.size(), 3u);
  EXPECT_EQ(exchange.events.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceTcplife, ::testing::ValuesIn(hook_names("tcplife")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
