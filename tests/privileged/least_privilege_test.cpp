// Least privilege on every kernel of the matrix (the vm tier runs this on Debian's 6.1
// kernels too): a process that is nobody, holding only CAP_BPF, CAP_PERFMON and
// CAP_DAC_READ_SEARCH (to read tracepoint ids in tracefs, which is root's), attaches syscount
// through the hook kscope picks, then gives up every capability as `kscope trace` does, and
// still reads exact counts from the maps: with unprivileged BPF off (Debian's default) the
// kernel asks for CAP_BPF only to create maps and load programs (Linux 5.19 and later).
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "harness.h"

namespace kscope::test {
namespace {

constexpr int kGetppid = 1000;
constexpr uid_t kNobody = 65534;

// The child's work; its exit code says which step failed (0: every count exact).
int nobody_counts_syscalls() {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, nullptr) != 0 ||
      setresgid(kNobody, kNobody, kNobody) != 0 || setresuid(kNobody, kNobody, kNobody) != 0)
    return 10;
  auto attach_set = drop_capabilities_except(cap_bit(CAP_BPF) | cap_bit(CAP_PERFMON) |
                                             cap_bit(CAP_DAC_READ_SEARCH));
  if (!attach_set) {
    std::fprintf(stderr, "capset: %s\n", attach_set.error().message.c_str());
    return 11;
  }
  LiveTool live("syscount");
  auto opened = live.open(std::nullopt, TaskFlags{.pid = static_cast<uint32_t>(getpid())});
  if (!opened) {
    std::fprintf(stderr, "open syscount as nobody: %s\n", opened.error().message.c_str());
    return 12;
  }
  auto reading_set = drop_capabilities_except(0);
  if (!reading_set || reading_set->kept != 0) return 13;
  for (int i = 0; i < kGetppid; ++i) syscall(SYS_getppid);
  CollectSink sink(live);
  auto taken = live.tool.snapshot(*live.probe, live.args, sink);
  if (!taken) {
    std::fprintf(stderr, "snapshot without capabilities: %s\n", taken.error().message.c_str());
    return 14;
  }
  for (const auto& e : sink.events)
    if (e.text("syscall") == "getppid") {
      if (e.uinteger("count") == kGetppid) return 0;
      std::fprintf(stderr, "getppid counted %llu times, not %d\n",
                   static_cast<unsigned long long>(e.uinteger("count")), kGetppid);
      return 15;
    }
  std::fprintf(stderr, "no getppid row among %zu\n", sink.events.size());
  return 16;
}

TEST(LeastPrivilege, NobodyWithoutCapabilitiesReadsExactCountsAfterAttach) {
  KSCOPE_REQUIRE_PRIVILEGES();
  if (!current_capabilities().has(CAP_SETUID))
    GTEST_SKIP() << "privileged test skipped: becoming nobody needs CAP_SETUID";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(nobody_counts_syscalls());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: setuid, 11: capset, 12: attach, 13: drop, 14: map read, 15: wrong "
         "count, 16: no row (the child's stderr says more)";
}

}  // namespace
}  // namespace kscope::test
