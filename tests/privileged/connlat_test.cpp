// trace connlat against the real kernel: tcp_known connects between two network namespaces
// (blocking and not, IPv4 and IPv6, and a refused one, which has no latency), and every
// established connection must come back once with the connecting process, both ends, and a
// latency above 0 and below the time tcp_known measured around the connect, on each hook
// alternative this kernel supports.
#include "tcp_known.h"

namespace kscope::test {
namespace {

const std::vector<std::string> kRoles = {"exchange", "nonblock", "refused", "exchange6"};

// The connects that established a connection, each with the wall time that bounds its
// handshake in value: connect()'s own, or until poll said a non-blocking one had ended.
std::vector<TcpStep> established(const TcpKnownRun& run) {
  std::vector<TcpStep> want;
  for (const auto& s : run.steps) {
    if (s.step == "connect" && s.err == 0) want.push_back(s);
    if (s.step == "handshake" && s.err == 0) want.push_back(s);
  }
  return want;
}

void expect_exactly(const TcpKnownRun& run, const std::vector<TcpStep>& want) {
  expect_steps(
      run, want,
      [](const EventRecord& e, const TcpStep& s) { return e.integer("lport") == s.lport; },
      [](const EventRecord& e, const TcpStep& s) {
        EXPECT_EQ(e.integer("family"), s.family);
        EXPECT_EQ(e.ip("laddr"), s.laddr);
        EXPECT_EQ(e.ip("raddr"), s.raddr);
        EXPECT_EQ(e.integer("rport"), s.rport);
        EXPECT_GT(e.uinteger("latency_ns"), 0u);
        EXPECT_LT(e.uinteger("latency_ns"), uint64_t(s.value));
      },
      {"pid", "laddr", "lport", "raddr", "rport", "latency_ns"});
}

class TraceConnlat : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceConnlat, EveryHandshakeWithTheConnectingProcessAndABoundedLatency) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("connlat", GetParam());
  // exchange, nonblock, exchange6
  expect_filtered("connlat", GetParam(), kRoles, fresh_tcp_known_port(), no_flags, established,
                  every_line, 3, expect_exactly);
}

// --port keeps the connections to one remote port, compiled into the probe.
TEST_P(TraceConnlat, PortInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("connlat", GetParam());
  int port = fresh_tcp_known_port();  // nonblock's
  expect_filtered("connlat", GetParam(), kRoles, port, port_only(port + 2), established,
                  [&](const TcpStep& s) { return s.rport == port + 2; }, 1, expect_exactly);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceConnlat, ::testing::ValuesIn(hook_names("connlat")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
