// trace listen against the real kernel: tcp_known's servers listen on IPv4 and IPv6 TCP
// sockets with known backlogs, on an unbound socket (which listen() binds) and on a UDP
// socket (EOPNOTSUPP), and every listen must come back with its process, protocol, address,
// port, backlogs and result, on each hook alternative this kernel supports.
#include <netinet/in.h>

#include "tcp_known.h"

namespace kscope::test {
namespace {

const std::vector<std::string> kRoles = {"exchange", "addrinuse", "listenfail", "accept_empty",
                                         "exchange6"};

std::vector<TcpStep> listens(const TcpKnownRun& run) { return run.steps_of("listen"); }

void expect_exactly(const TcpKnownRun& run, const std::vector<TcpStep>& want) {
  expect_steps(
      run, want,
      [](const EventRecord& e, const TcpStep& s) { return e.integer("lport") == s.lport; },
      [](const EventRecord& e, const TcpStep& s) {
        EXPECT_EQ(e.uinteger("protocol"), s.proto == "udp" ? IPPROTO_UDP : IPPROTO_TCP);
        EXPECT_EQ(e.integer("family"), s.family);
        EXPECT_EQ(e.ip("laddr"), s.laddr);
        EXPECT_EQ(e.integer("backlog"), s.value);
        // tcp_known's backlogs are far below net.core.somaxconn; a UDP socket has no queue
        EXPECT_EQ(e.integer("max_backlog"), s.err ? 0 : s.value);
        EXPECT_EQ(e.integer("errno"), s.err);
      },
      {"pid", "protocol", "laddr", "lport", "backlog", "errno"});
}

class TraceListen : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceListen, EveryListenWithItsProcessAddressBacklogAndResult) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("listen", GetParam());
  expect_filtered("listen", GetParam(), kRoles, fresh_tcp_known_port(), no_flags, listens,
                  every_line, 6, expect_exactly);
}

// --failed keeps failed listens only, --port the listens on one port; the probe compiles
// both.
TEST_P(TraceListen, FailedAndPortInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("listen", GetParam());
  {
    SCOPED_TRACE("--failed");  // listenfail's UDP socket
    expect_filtered("listen", GetParam(), kRoles, fresh_tcp_known_port(), failed_only, listens,
                    [](const TcpStep& s) { return s.err != 0; }, 1, expect_exactly);
  }
  {
    SCOPED_TRACE("--port");  // accept_empty's
    int port = fresh_tcp_known_port();
    expect_filtered("listen", GetParam(), kRoles, port, port_only(port + 6), listens,
                    [&](const TcpStep& s) { return s.lport == port + 6; }, 1, expect_exactly);
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceListen, ::testing::ValuesIn(hook_names("listen")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
