// trace tcpstates against the real kernel: tcpflow_known's exchange between two network
// namespaces, and the exact sequence of state changes of its client, accepted and listening
// sockets, with their processes, addresses, ports and times, on each hook alternative this
// kernel supports.
#include "tcpflow.h"

namespace kscope::test {
namespace {

struct Change {
  std::string from, to;
  bool in_process;  // the change runs in the socket's process (a syscall): always
};

std::vector<std::pair<std::string, std::string>> sequence(const std::vector<const EventRecord*>& es) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto* e : es) out.emplace_back(e->text("oldstate"), e->text("newstate"));
  return out;
}

// Every change of one socket, in order: its states, addresses, ports and process, and times
// within the socket's life as the program measured it. `owner_from` is the first change that
// must name the process (a passive socket names none until accept() returned it, and the
// change to ESTABLISHED may come before or after that).
void expect_changes(const FlowRun& run, const FlowSocket& s, const std::vector<Change>& want,
                    size_t owner_from, size_t owner_maybe_before) {
  SCOPED_TRACE(s.role);
  auto got = run.of(s);
  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& c : want) expected.emplace_back(c.from, c.to);
  ASSERT_EQ(sequence(got), expected);
  uint64_t in_states = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const EventRecord& e = *got[i];
    SCOPED_TRACE(want[i].from + " -> " + want[i].to);
    EXPECT_EQ(e.uinteger("skaddr"), got[0]->uinteger("skaddr"));
    // Only a passive socket's first change may still name its listener's ends (6.1).
    std::string raddr = s.raddr == "-" ? "0.0.0.0" : s.raddr;
    if (e.ip("raddr") != raddr || e.integer("rport") != s.rport) {
      EXPECT_EQ(want[i].from, "LISTEN");
      EXPECT_EQ(e.ip("raddr"), "0.0.0.0");
      EXPECT_EQ(e.integer("rport"), 0);
    }
    if (i >= owner_from || (i >= owner_maybe_before && e.integer("pid") != 0)) {
      EXPECT_EQ(e.integer("pid"), s.pid);
      EXPECT_EQ(e.text("comm"), s.comm);
    } else {
      EXPECT_EQ(e.integer("pid"), 0);
      EXPECT_EQ(e.text("comm"), "");
    }
    if (want[i].in_process) {
      EXPECT_TRUE(e.boolean("in_process"));
    }
    if (e.boolean("in_process")) {
      EXPECT_EQ(e.integer("pid"), s.pid);
    }
    EXPECT_EQ(e.boolean("time_unknown"), i == 0);
    if (i > 0) in_states += e.uinteger("old_state_ns");
    EXPECT_EQ(e.integer("uid"), 0);
    EXPECT_GT(e.uinteger("cgroup_id"), 0u);
  }
  EXPECT_EQ(got.front()->uinteger("old_state_ns"), 0u);
  // The states it passed through, from its first change to its last, lie within its life.
  EXPECT_GT(in_states, 0u);
  EXPECT_LE(in_states, s.end_ns - s.start_ns);
}

class TraceTcpstates : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceTcpstates, EveryChangeOfAConnectionInOrder) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcpstates", GetParam());
  LiveTool live("tcpstates");
  auto opened = live.open(GetParam());
  ASSERT_TRUE(opened) << opened.error().message;
  FlowRun run = run_tcpflow(live, "exchange");
  ASSERT_EQ(run.status, 0);
  EXPECT_EQ(run.lost, 0u);
  const FlowSocket *client = run.socket("client"), *server = run.socket("server"),
                   *listener = run.socket("listener");
  ASSERT_TRUE(client && server && listener);
  EXPECT_EQ(run.events.size(), 12u);
  // connect(), the SYN-ACK (in softirq, or in connect()'s release_sock), shutdown(), the ACK
  // of its FIN, the peer's FIN (the socket then lives on as a timewait socket).
  expect_changes(run, *client,
                 {{"CLOSE", "SYN_SENT", true},
                  {"SYN_SENT", "ESTABLISHED", false},
                  {"ESTABLISHED", "FIN_WAIT1", true},
                  {"FIN_WAIT1", "FIN_WAIT2", false},
                  {"FIN_WAIT2", "CLOSE", false}},
                 0, 0);
  // The listener clones it for the SYN and the ACK establishes it, both in softirq before
  // accept() names the process, or the second just after; the client's FIN, shutdown(), the
  // ACK of its own FIN.
  expect_changes(run, *server,
                 {{"LISTEN", "SYN_RECV", false},
                  {"SYN_RECV", "ESTABLISHED", false},
                  {"ESTABLISHED", "CLOSE_WAIT", false},
                  {"CLOSE_WAIT", "LAST_ACK", true},
                  {"LAST_ACK", "CLOSE", false}},
                 2, 1);
  expect_changes(run, *listener, {{"CLOSE", "LISTEN", true}, {"LISTEN", "CLOSE", true}}, 0, 0);
}

// --comm is the socket's process, compiled into the probe: all five changes of the client's
// socket, also those the kernel made in softirq, and none of the server's.
TEST_P(TraceTcpstates, CommFilterKeepsTheSocketsOfThatProcess) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("tcpstates", GetParam());
  LiveTool live("tcpstates");
  auto opened = live.open(GetParam(), TaskFlags{.comm = "tf_client"});
  ASSERT_TRUE(opened) << opened.error().message;
  FlowRun run = run_tcpflow(live, "exchange");
  ASSERT_EQ(run.status, 0);
  EXPECT_TRUE(run.all_claimed);
  const FlowSocket* client = run.socket("client");
  ASSERT_TRUE(client);
  EXPECT_EQ(run.events.size(), 5u);
  EXPECT_EQ(run.of(*client).size(), 5u);
  for (const auto& e : run.events) EXPECT_EQ(e.integer("pid"), client->pid);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceTcpstates, ::testing::ValuesIn(hook_names("tcpstates")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
