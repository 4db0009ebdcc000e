// trace accept against the real kernel: tcp_known's servers accept connections from another
// network namespace (IPv4, IPv6, a non-blocking connect) and once from an empty non-blocking
// queue, and every accept must come back with its process, both ends and its fd or errno,
// on each hook alternative this kernel supports.
#include "tcp_known.h"

namespace kscope::test {
namespace {

const std::vector<std::string> kRoles = {"exchange", "nonblock", "accept_empty", "exchange6"};

std::vector<TcpStep> accepts(const TcpKnownRun& run) { return run.steps_of("accept"); }

void expect_exactly(const TcpKnownRun& run, const std::vector<TcpStep>& want) {
  expect_steps(
      run, want,
      [](const EventRecord& e, const TcpStep& s) { return e.integer("lport") == s.lport; },
      [](const EventRecord& e, const TcpStep& s) {
        EXPECT_EQ(e.integer("family"), s.family);
        EXPECT_EQ(e.ip("laddr"), s.laddr);
        EXPECT_EQ(e.ip("raddr"), shown_addr(s.raddr, s.family));
        EXPECT_EQ(e.integer("rport"), s.rport);
        EXPECT_EQ(e.integer("fd"), s.value);
        EXPECT_EQ(e.integer("errno"), s.err);
      },
      {"pid", "laddr", "lport", "raddr", "rport", "fd", "errno"});
}

class TraceAccept : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceAccept, EveryAcceptWithItsProcessEndsAndResult) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("accept", GetParam());
  expect_filtered("accept", GetParam(), kRoles, fresh_tcp_known_port(), no_flags, accepts,
                  every_line, 4, expect_exactly);
}

// --failed keeps failed accepts only, --port the accepts on one local port; the probe
// compiles both.
TEST_P(TraceAccept, FailedAndPortInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("accept", GetParam());
  {
    SCOPED_TRACE("--failed");  // accept_empty's EAGAIN
    expect_filtered("accept", GetParam(), kRoles, fresh_tcp_known_port(), failed_only, accepts,
                    [](const TcpStep& s) { return s.err != 0; }, 1, expect_exactly);
  }
  {
    SCOPED_TRACE("--port");  // nonblock's
    int port = fresh_tcp_known_port();
    expect_filtered("accept", GetParam(), kRoles, port, port_only(port + 2), accepts,
                    [&](const TcpStep& s) { return s.lport == port + 2; }, 1, expect_exactly);
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceAccept, ::testing::ValuesIn(hook_names("accept")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
