// trace tcpreset against the real kernel: tcpflow_known's resets between two network
// namespaces, both ways. A connect to a port nobody listens on: the server's kernel sends a
// reset for a packet no socket took, the client receives it. A close with SO_LINGER 0: the
// client sends a reset from close(), the server receives it. Each with its exact addresses,
// ports, state, process and reason, on each hook alternative this kernel supports.
#include "tcpflow.h"

namespace kscope::test {
namespace {

struct Traced {
  FlowRun run;
  bool exact = true;  // the hook sees resets sent without a socket
};

Traced trace_tcpflow(const std::string& hook, const std::string& which) {
  Traced t;
  LiveTool live("tcpreset");
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return t;
  t.exact = !inexact_here(live.probe->hook(), Features::system());
  t.run = run_tcpflow(live, which);
  EXPECT_EQ(t.run.status, 0);
  EXPECT_EQ(t.run.lost, 0u);
  return t;
}

const EventRecord* only(const std::vector<const EventRecord*>& es, const std::string& direction) {
  const EventRecord* found = nullptr;
  for (const auto* e : es)
    if (e->text("direction") == direction) {
      EXPECT_EQ(found, nullptr) << "two " << direction << " resets";
      found = e;
    }
  return found;
}

// A reset the socket's own process took or sent names it; one the kernel handled in softirq
// names none.
void expect_process(const EventRecord& e, const FlowSocket& s) {
  if (e.boolean("in_process")) {
    EXPECT_EQ(e.integer("pid"), s.pid);
    EXPECT_EQ(e.text("comm"), s.comm);
  } else {
    EXPECT_EQ(e.integer("pid"), 0);
    EXPECT_EQ(e.text("comm"), "");
  }
}

class TraceTcpreset : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceTcpreset, ClosedPortSendsAndTheClientReceives) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcpreset", GetParam());
  Traced t = trace_tcpflow(GetParam(), "refused");
  const FlowSocket* client = t.run.socket("client");
  ASSERT_TRUE(client);
  // The client's SYN_SENT socket takes the reset (in softirq, or in connect()'s release_sock).
  auto at_client = t.run.of(*client);
  ASSERT_EQ(at_client.size(), 1u);
  const EventRecord* received = only(at_client, "received");
  ASSERT_TRUE(received);
  EXPECT_EQ(received->ip("raddr"), client->raddr);
  EXPECT_EQ(received->integer("rport"), client->rport);
  EXPECT_EQ(received->text("state"), "SYN_SENT");
  EXPECT_EQ(received->text("reason"), "");
  EXPECT_NE(received->uinteger("skaddr"), 0u);
  expect_process(*received, *client);
  // The server's kernel answers the SYN with no socket: no state, no process, no owner's ids.
  auto at_server = t.run.at(client->raddr, client->rport);
  if (!t.exact) {
    EXPECT_TRUE(at_server.empty()) << "this kernel does not trace resets sent without a socket";
    return;
  }
  ASSERT_EQ(at_server.size(), 1u);
  const EventRecord* sent = only(at_server, "sent");
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->ip("raddr"), client->laddr);
  EXPECT_EQ(sent->integer("rport"), client->lport);
  EXPECT_EQ(sent->uinteger("skaddr"), 0u);
  EXPECT_EQ(sent->text("state"), "");
  if (sent->integer("reason_code") >= 0) {
    EXPECT_EQ(sent->text("reason"), "NO_SOCKET");
  } else {  // the kernel passes no reasons (6.1, through fentry or kprobes)
    EXPECT_EQ(sent->text("reason"), "");
  }
  EXPECT_FALSE(sent->boolean("in_process"));
  EXPECT_EQ(sent->integer("pid"), 0);
  EXPECT_EQ(sent->uinteger("cgroup_id"), 0u);
}

TEST_P(TraceTcpreset, LingerZeroCloseSendsAndThePeerReceives) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcpreset", GetParam());
  Traced t = trace_tcpflow(GetParam(), "linger0");
  const FlowSocket *client = t.run.socket("client"), *server = t.run.socket("server");
  ASSERT_TRUE(client && server);
  EXPECT_EQ(t.run.events.size(), 2u);
  // close() aborts the connection: tcp_disconnect() moves it to CLOSE, then sends the reset,
  // in the client's own call.
  auto at_client = t.run.of(*client);
  ASSERT_EQ(at_client.size(), 1u);
  const EventRecord* sent = only(at_client, "sent");
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->ip("raddr"), client->raddr);
  EXPECT_EQ(sent->integer("rport"), client->rport);
  EXPECT_EQ(sent->text("state"), "CLOSE");
  EXPECT_TRUE(sent->boolean("in_process"));
  expect_process(*sent, *client);
  EXPECT_NE(sent->uinteger("skaddr"), 0u);
  EXPECT_GT(sent->uinteger("cgroup_id"), 0u);
  // Where the kernel passes reasons: tcp_disconnect()'s for a connection it aborts (6.12+).
  if (sent->integer("reason_code") >= 0) {
    EXPECT_EQ(sent->text("reason"), "TCP_STATE");
  } else {
    EXPECT_EQ(sent->text("reason"), "");
  }
  // The server's established socket takes it while its process waits in recv().
  auto at_server = t.run.of(*server);
  ASSERT_EQ(at_server.size(), 1u);
  const EventRecord* received = only(at_server, "received");
  ASSERT_TRUE(received);
  EXPECT_EQ(received->ip("raddr"), server->raddr);
  EXPECT_EQ(received->integer("rport"), server->rport);
  EXPECT_EQ(received->text("state"), "ESTABLISHED");
  EXPECT_EQ(received->text("reason"), "");
  expect_process(*received, *server);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceTcpreset, ::testing::ValuesIn(hook_names("tcpreset")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
