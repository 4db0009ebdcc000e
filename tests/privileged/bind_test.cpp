// trace bind against the real kernel: tcp_known's servers bind TCP and UDP sockets, IPv4 and
// IPv6, with and without options (SO_REUSEADDR, SO_REUSEPORT, IP_FREEBIND,
// IP_BIND_ADDRESS_NO_PORT, IPV6_TRANSPARENT, IPV6_V6ONLY), to a port of their own, to port 0
// and to a port in use, and every bind must come back with its process, protocol, address,
// port, options and result, on each hook alternative this kernel supports.
#include <netinet/in.h>

#include "bind.h"
#include "tcp_known.h"

namespace kscope::test {
namespace {

const std::vector<std::string> kRoles = {"exchange", "addrinuse", "bindopts", "exchange6",
                                         "listenfail"};

// The options a socket has after a bind: those tcp_known set (its bits are the probe's), and
// IPV6_V6ONLY, which the kernel sets itself when an IPv6 socket binds a specific address
// that is not IPv4-mapped (__inet6_bind()).
uint64_t opts_after(const TcpStep& s) {
  bool specific_v6 = s.family == 6 && s.laddr != "::" && !s.laddr.starts_with("::ffff:");
  return uint64_t(s.value) | (s.err == 0 && specific_v6 ? KS_BIND_V6ONLY : 0);
}

std::vector<TcpStep> binds(const TcpKnownRun& run) { return run.steps_of("bind"); }

void expect_exactly(const TcpKnownRun& run, const std::vector<TcpStep>& want) {
  expect_steps(
      run, want,
      [](const EventRecord& e, const TcpStep& s) {
        return e.integer("lport") == s.lport && e.integer("errno") == s.err &&
               e.ip("laddr") == s.laddr;
      },
      [](const EventRecord& e, const TcpStep& s) {
        EXPECT_EQ(e.uinteger("protocol"), s.proto == "udp" ? IPPROTO_UDP : IPPROTO_TCP);
        EXPECT_EQ(e.integer("family"), s.family);
        EXPECT_EQ(e.uinteger("opts"), opts_after(s));
        EXPECT_EQ(e.integer("bound_dev_if"), 0);
        EXPECT_FALSE(e.boolean("addr_unreadable"));
      },
      {"pid", "protocol", "laddr", "lport", "opts", "errno"});
}

class TraceBind : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceBind, EveryBindWithItsProcessAddressOptionsAndResult) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("bind", GetParam());
  expect_filtered("bind", GetParam(), kRoles, fresh_tcp_known_port(), no_flags, binds,
                  every_line, 7, expect_exactly);
}

// --failed keeps failed binds only, --port the binds to one port; the probe compiles both.
TEST_P(TraceBind, FailedAndPortInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("bind", GetParam());
  {
    SCOPED_TRACE("--failed");  // addrinuse's EADDRINUSE
    expect_filtered("bind", GetParam(), kRoles, fresh_tcp_known_port(), failed_only, binds,
                    [](const TcpStep& s) { return s.err != 0; }, 1, expect_exactly);
  }
  {
    SCOPED_TRACE("--port");  // addrinuse's: the bind that worked and the one that found it in use
    int port = fresh_tcp_known_port();
    expect_filtered("bind", GetParam(), kRoles, port, port_only(port + 5), binds,
                    [&](const TcpStep& s) { return s.lport == port + 5; }, 2, expect_exactly);
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceBind, ::testing::ValuesIn(hook_names("bind")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
