// trace syscount against the real kernel: syscount_known, paused until the probe is attached
// to its pid, makes exactly N getppid calls and M failing access calls, and the counts must
// come back exactly, by syscall and by process, with --failed and --errno, top N and either
// order, on each hook alternative this kernel supports, with nothing sent through the ring
// buffer; and a 32-bit program's syscalls are counted under their own ABI's names.
#include <functional>
#include <map>

#include "syscount_known.h"

namespace kscope::test {
namespace {

struct Traced {
  std::vector<EventRecord> rows;
  size_t ring_records = 0;
  unsigned long long lost = 0, start_failed = 0, counts_full = 0;
  pid_t pid = 0;
  int status = -1;
};

// Runs syscount_known under the probe, filtered on its pid, and takes one snapshot.
Traced trace_known(const std::string& hook, const std::function<void(ToolArgs&)>& set_args) {
  Traced run;
  Paused child;
  EXPECT_GT(child.pid(), 0);
  if (child.pid() <= 0) return run;
  run.pid = child.pid();
  LiveTool live("syscount");
  set_args(live.args);
  auto opened = live.open(hook, TaskFlags{.pid = static_cast<uint32_t>(child.pid())});
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  EXPECT_TRUE(live.all_claimed()) << "the probe left a clause to user space";
  CollectSink ring(live);
  auto rb = event_ring(*live.probe, ring);
  EXPECT_TRUE(rb);
  if (!rb) return run;
  run.status = child.release();
  (void)rb->consume();
  run.rows = take_snapshot(live);
  run.ring_records = ring.events.size() + ring.malformed;
  run.lost = live.lost();
  run.start_failed = live.counted("sys_start_failed");
  run.counts_full = live.counted("proc_counts_full");
  return run;
}

void expect_clean(const Traced& run) {
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.ring_records, 0u) << "an aggregating probe sent ring buffer records";
  EXPECT_EQ(run.lost, 0u);
  EXPECT_EQ(run.start_failed, 0u);
  EXPECT_EQ(run.counts_full, 0u);
}

// The rows as syscall -> count, each row's fields checked on the way.
std::map<std::string, uint64_t> by_syscall(const Traced& run, bool failed_only) {
  std::map<std::string, uint64_t> counts;
  for (const auto& e : run.rows) {
    SCOPED_TRACE(e.text("syscall"));
    EXPECT_EQ(e.integer("pid"), 0);
    EXPECT_FALSE(e.boolean("compat"));
    EXPECT_EQ(e.boolean("failed_only"), failed_only);
    EXPECT_GT(e.uinteger("total_ns"), 0u);
    EXPECT_EQ(e.uinteger("avg_ns"), e.uinteger("total_ns") / e.uinteger("count"));
    EXPECT_LT(e.uinteger("avg_ns"), 1'000'000'000u) << "a getppid or access of a second";
    counts[e.text("syscall")] += e.uinteger("count");
  }
  return counts;
}

class TraceSyscount : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KSCOPE_REQUIRE_PRIVILEGES();
    KSCOPE_REQUIRE_HOOK("syscount", GetParam());
  }
};

// Every call made after the release, and nothing else: exit_group never returns, and the
// read that waited for the release began before the probe was attached.
TEST_P(TraceSyscount, EveryCallOfTheProcessCountedBySyscall) {
  Traced run = trace_known(GetParam(), [](ToolArgs&) {});
  expect_clean(run);
  std::map<std::string, uint64_t> want = {{"getppid", kGetppid}, {"access", kAccess}};
  EXPECT_EQ(by_syscall(run, false), want);
  ASSERT_EQ(run.rows.size(), 2u);
  EXPECT_EQ(run.rows[0].text("syscall"), "getppid");  // by count
#if defined(__x86_64__)
  EXPECT_EQ(run.rows[0].integer("nr"), 110);
  EXPECT_EQ(run.rows[1].integer("nr"), 21);
#endif
}

// --failed and --errno count only the calls that failed (with that error), in the kernel.
TEST_P(TraceSyscount, FailedAndErrnoCountOnlyFailures) {
  Traced failed = trace_known(GetParam(), [](ToolArgs& a) { a.set("--failed").on = true; });
  expect_clean(failed);
  std::map<std::string, uint64_t> want = {{"access", kAccess}};
  EXPECT_EQ(by_syscall(failed, true), want);

  Traced enoent = trace_known(GetParam(), [](ToolArgs& a) { a.set("--errno").text = "ENOENT"; });
  expect_clean(enoent);
  EXPECT_EQ(by_syscall(enoent, true), want);
  for (const auto& e : enoent.rows) EXPECT_EQ(e.integer("errno"), ENOENT);

  Traced eacces = trace_known(GetParam(), [](ToolArgs& a) { a.set("--errno").text = "13"; });
  expect_clean(eacces);
  EXPECT_TRUE(eacces.rows.empty()) << "no call failed with EACCES";
}

// -P: one row for the process, every call in it.
TEST_P(TraceSyscount, ByProcessOneRowWithEveryCall) {
  Traced run = trace_known(GetParam(), [](ToolArgs& a) { a.set("--process").on = true; });
  expect_clean(run);
  ASSERT_EQ(run.rows.size(), 1u);
  const EventRecord& e = run.rows[0];
  EXPECT_EQ(e.integer("pid"), run.pid);
  EXPECT_EQ(e.text("comm"), "syscount_known");
  EXPECT_EQ(e.text("syscall"), "");
  EXPECT_EQ(e.uinteger("count"), uint64_t{kGetppid + kAccess});
  EXPECT_GT(e.uinteger("total_ns"), 0u);
}

// --top keeps the first rows of the order asked for.
TEST_P(TraceSyscount, TopRowsInEitherOrder) {
  Traced top = trace_known(GetParam(), [](ToolArgs& a) { a.set("--top").number = 1; });
  expect_clean(top);
  ASSERT_EQ(top.rows.size(), 1u);
  EXPECT_EQ(top.rows[0].text("syscall"), "getppid");
  EXPECT_EQ(top.rows[0].uinteger("count"), uint64_t{kGetppid});

  Traced by_time = trace_known(GetParam(), [](ToolArgs& a) { a.set("--latency").on = true; });
  expect_clean(by_time);
  ASSERT_EQ(by_time.rows.size(), 2u);
  EXPECT_GE(by_time.rows[0].uinteger("total_ns"), by_time.rows[1].uinteger("total_ns"));
}

// A 32-bit program's syscalls have the ia32 numbers: counted under their own names, never as
// the x86-64 syscalls of the same numbers (ia32 59 is oldolduname, not execve).
TEST_P(TraceSyscount, Ia32SyscallsUnderTheirOwnNames) {
  KSCOPE_REQUIRE_IA32();
  LiveTool live("syscount");
  live.args.set("--top").number = 100000;
  auto opened = live.open(GetParam(), TaskFlags{.comm = "abi_known32"});
  ASSERT_TRUE(opened) << opened.error().message;
  AbiKnown run = run_abi_known(live, /*ia32=*/true);
  EXPECT_TRUE(run.events.empty()) << "an aggregating probe sent ring buffer records";
  std::map<std::string, uint64_t> counts;
  for (const auto& e : take_snapshot(live)) {
    EXPECT_TRUE(e.boolean("compat")) << e.text("syscall");
    EXPECT_EQ(e.text("syscall").rfind("ia32:", 0), 0u) << e.text("syscall");
    counts[e.text("syscall")] = e.uinteger("count");
  }
  EXPECT_EQ(counts["ia32:oldolduname"], 2u);  // the number of x86-64's execve
  EXPECT_EQ(counts["ia32:timerfd_create"], 1u);
  EXPECT_EQ(counts["ia32:remap_file_pages"], 1u);
  // Two that fail, one of this program with "noop" and one into a 64-bit program, counted
  // in the ABI they were made in.
  EXPECT_EQ(counts["ia32:execve"], 4u);
  EXPECT_EQ(counts["ia32:execveat"], 1u);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceSyscount, ::testing::ValuesIn(hook_names("syscount")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
