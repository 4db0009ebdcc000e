// Two network namespaces joined by a veth pair, made for one test and removed with it (also
// when the test fails): the network tests' only hosts. Nothing here touches the machine's
// own interfaces; the addresses live only inside the two namespaces.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace kscope::test {

class NetnsPair {
 public:
  // iproute2's, by its path: the vm tier's busybox sh runs its own applet for a bare `ip`
  // whatever PATH says, and that one has no netns. Commands given to run_in() name it too.
  static constexpr const char* kIp = "/usr/bin/ip";

  // Namespaces ks<pid>n<n>a and ks<pid>n<n>b for the process's n-th pair (from 0), veth ends
  // `veth0` in each, 10.231.<n>.1/24 in a and 10.231.<n>.2/24 in b, lo up in both.
  NetnsPair() {
    static int pairs = 0;
    int n = pairs++;
    a = fmt::format("ks{}n{}a", getpid(), n);
    b = fmt::format("ks{}n{}b", getpid(), n);
    addr_a = fmt::format("10.231.{}.1", n);
    addr_b = fmt::format("10.231.{}.2", n);
    ok_ = sh(fmt::format("{4} netns add {0} && {4} netns add {1} && "
                         "{4} link add veth0 netns {0} type veth peer name veth0 netns {1} && "
                         "{4} -n {0} addr add {2}/24 dev veth0 && {4} -n {1} addr add {3}/24 dev veth0 && "
                         "{4} -n {0} link set lo up && {4} -n {1} link set lo up && "
                         "{4} -n {0} link set veth0 up && {4} -n {1} link set veth0 up",
                         a, b, addr_a, addr_b, kIp));
  }
  ~NetnsPair() {
    sh(fmt::format("{0} netns del {1} 2>/dev/null; {0} netns del {2} 2>/dev/null", kIp, a, b));
  }
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  // Whether every step worked; a test asserts it first.
  bool ok() const { return ok_; }
  // argv run inside namespace `ns` (a or b): `ip netns exec` execs it, so the spawned pid is
  // the program's own.
  static std::vector<std::string> in(const std::string& ns, std::vector<std::string> argv) {
    argv.insert(argv.begin(), {kIp, "netns", "exec", ns});
    return argv;
  }
  // A shell command inside `ns`; true when it exits 0.
  static bool run_in(const std::string& ns, const std::string& command) {
    return sh(fmt::format("{} netns exec {} sh -c '{}'", kIp, ns, command));
  }

  std::string a, b, addr_a, addr_b;

 private:
  static bool sh(const std::string& command) { return std::system(command.c_str()) == 0; }
  bool ok_ = false;
};

}  // namespace kscope::test
