// trace tcpretrans against the real kernel: tcpflow_known's retrans case, where the server's
// namespace drops every packet it sends for 700 ms (a pfifo qdisc of limit 0 on its link)
// while the client sends, so the client's segments go unacknowledged and are sent again.
// Every retransmit of the connection must come with its exact addresses, ports and state,
// as many as the kernel counted for the socket (TCP_INFO tcpi_total_retrans), on each hook
// alternative this kernel supports.
#include "tcpflow.h"

namespace kscope::test {
namespace {

FlowRun trace_retrans(const std::string& hook, bool failed) {
  LiveTool live("tcpretrans");
  live.args.set("--failed").on = failed;
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return {};
  FlowRun run = run_tcpflow(live, "retrans");
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.lost, 0u);
  EXPECT_TRUE(run.all_claimed);
  return run;
}

class TraceTcpretrans : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceTcpretrans, EveryRetransmitOfTheConnection) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcpretrans", GetParam());
  FlowRun run = trace_retrans(GetParam(), false);
  const FlowSocket *client = run.socket("client"), *server = run.socket("server");
  ASSERT_TRUE(client && server);
  auto got = run.of(*client);
  EXPECT_GE(got.size(), 1u);
  EXPECT_EQ(got.size(), client->retrans);
  for (const auto* e : got) {
    EXPECT_EQ(e->ip("raddr"), client->raddr);
    EXPECT_EQ(e->integer("rport"), client->rport);
    EXPECT_EQ(e->text("state"), "ESTABLISHED");
    EXPECT_EQ(e->text("kind"), "segment");
    EXPECT_EQ(e->integer("err"), 0);
    EXPECT_NE(e->uinteger("skaddr"), 0u);
    EXPECT_GT(e->uinteger("cgroup_id"), 0u);
    if (e->boolean("in_process")) {
      EXPECT_EQ(e->integer("pid"), client->pid);
    } else {
      EXPECT_EQ(e->integer("pid"), 0);
    }
  }
  // The server sent nothing that went unacknowledged.
  EXPECT_EQ(run.of(*server).size(), server->retrans);
}

// --failed keeps only the attempts that sent nothing (kernels whose tracepoint has err), in
// the kernel: none of the segments the kernel counted as sent.
TEST_P(TraceTcpretrans, FailedKeepsOnlyAttemptsThatSentNothing) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcpretrans", GetParam());
  FlowRun run = trace_retrans(GetParam(), true);
  const FlowSocket* client = run.socket("client");
  ASSERT_TRUE(client);
  EXPECT_GE(client->retrans, 1u);
  for (const auto& e : run.events) EXPECT_NE(e.integer("err"), 0);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceTcpretrans, ::testing::ValuesIn(hook_names("tcpretrans")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
