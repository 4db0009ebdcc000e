// trace tcpretranscount against the real kernel: tcpflow_known's retrans case (see
// tcpretrans_test.cpp) under trace tcpretranscount and trace tcpretrans at once. The
// connection's count must be the number of retransmits trace tcpretrans showed, which is
// the kernel's own count for the socket (TCP_INFO tcpi_total_retrans), and a snapshot
// empties the map, on each hook alternative this kernel supports.
#include "tcpflow.h"

namespace kscope::test {
namespace {

std::vector<EventRecord> snapshot(const LiveTool& live) {
  CollectSink sink(live);
  auto r = live.tool.snapshot(*live.probe, live.args, sink);
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(sink.malformed, 0u);
  return std::move(sink.events);
}

class TraceTcpretranscount : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceTcpretranscount, CountsWhatTcpretransShowsPerConnection) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcpretranscount", GetParam());
  LiveTool counting("tcpretranscount");
  auto opened = counting.open(GetParam());
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE(counting.all_claimed());
  LiveTool events("tcpretrans");
  opened = events.open(GetParam());
  ASSERT_TRUE(opened) << opened.error().message;
  FlowRun run = run_tcpflow(events, "retrans");
  ASSERT_EQ(run.status, 0);
  const FlowSocket *client = run.socket("client"), *server = run.socket("server");
  ASSERT_TRUE(client && server);
  ASSERT_GE(client->retrans, 1u);
  size_t shown = run.of(*client).size();
  EXPECT_EQ(shown, client->retrans);

  std::vector<const EventRecord*> rows;
  auto counts = snapshot(counting);
  for (const auto& c : counts)
    if ((c.integer("lport") == run.port || c.integer("lport") == run.port + 1) &&
        (c.integer("rport") == run.port || c.integer("rport") == run.port + 1))
      rows.push_back(&c);
  ASSERT_EQ(rows.size(), 1u) << "only the client's connection retransmitted";
  EXPECT_EQ(rows[0]->ip("laddr"), client->laddr);
  EXPECT_EQ(rows[0]->integer("lport"), client->lport);
  EXPECT_EQ(rows[0]->ip("raddr"), client->raddr);
  EXPECT_EQ(rows[0]->integer("rport"), client->rport);
  EXPECT_EQ(rows[0]->uinteger("count"), shown);
  EXPECT_FALSE(rows[0]->boolean("failed"));
  EXPECT_EQ(counting.lost(), 0u);
  // The snapshot took the counts out of the map: the next interval starts empty.
  for (const auto& c : snapshot(counting))
    EXPECT_FALSE(c.integer("lport") == client->lport && c.integer("rport") == client->rport);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceTcpretranscount,
                         ::testing::ValuesIn(hook_names("tcpretranscount")), hook_param_name);

}  // namespace
}  // namespace kscope::test
