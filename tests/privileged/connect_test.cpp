// trace connect against the real kernel: tcp_known connects between two network namespaces
// (blocking and not, over IPv4 and IPv6, accepted, refused, unroutable), and every connect()
// and every failed handshake must come back with its process, both ends and its result,
// on each hook alternative this kernel supports.
#include <cerrno>

#include "tcp_known.h"

namespace kscope::test {
namespace {

const std::vector<std::string> kRoles = {"exchange", "refused", "nonblock", "refused_nonblock",
                                         "unreachable", "exchange6"};

// The event of each connect line, and of each handshake line that failed (stage handshake).
std::vector<TcpStep> expected_events(const TcpKnownRun& run) {
  std::vector<TcpStep> want;
  for (const auto& s : run.steps)
    if (s.step == "connect" || (s.step == "handshake" && s.err)) want.push_back(s);
  return want;
}

void expect_exactly(const TcpKnownRun& run, const std::vector<TcpStep>& want) {
  expect_steps(
      run, want,
      [](const EventRecord& e, const TcpStep& s) {
        return e.text("stage") == s.step && e.integer("rport") == s.rport;
      },
      [](const EventRecord& e, const TcpStep& s) {
        EXPECT_EQ(e.integer("family"), s.family);
        EXPECT_EQ(e.ip("laddr"), shown_addr(s.laddr, s.family));
        EXPECT_EQ(e.integer("lport"), s.lport);
        EXPECT_EQ(e.ip("raddr"), s.raddr);
        EXPECT_EQ(e.integer("errno"), s.err);
        EXPECT_FALSE(e.boolean("addr_unreadable"));
      },
      {"pid", "stage", "laddr", "lport", "raddr", "rport", "errno"});
}

class TraceConnect : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceConnect, EveryConnectWithItsProcessEndsAndResult) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("connect", GetParam());
  // exchange, refused, nonblock, refused_nonblock (and its handshake), unreachable, exchange6
  expect_filtered("connect", GetParam(), kRoles, fresh_tcp_known_port(), no_flags, expected_events,
                  every_line, 7, expect_exactly);
}

// --failed keeps errors only (not EINPROGRESS, but the handshake that failed after it), and
// --port one remote port; the probe compiles both.
TEST_P(TraceConnect, FailedAndPortInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("connect", GetParam());
  {
    SCOPED_TRACE("--failed");  // refused, refused_nonblock's handshake, unreachable
    expect_filtered("connect", GetParam(), kRoles, fresh_tcp_known_port(), failed_only,
                    expected_events,
                    [](const TcpStep& s) {
                      return s.err != 0 && !(s.step == "connect" && s.err == EINPROGRESS);
                    },
                    3, expect_exactly);
  }
  {
    SCOPED_TRACE("--port");  // refused's
    int port = fresh_tcp_known_port();
    expect_filtered("connect", GetParam(), kRoles, port, port_only(port + 3), expected_events,
                    [&](const TcpStep& s) { return s.rport == port + 3; }, 1, expect_exactly);
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceConnect, ::testing::ValuesIn(hook_names("connect")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
