// trace syslat against the real kernel: sleep_known's thread sleeps 20 times for 10 ms, so
// its clock_nanosleep histogram must hold exactly 20 calls, none under 8.192 ms (a sleep
// never returns early), none of a second, most in 8.192..32.767 ms; syscount_known, paused until the probe
// is attached, makes exactly 1000 getppid and 10 failing access calls, which must come back
// as exactly those histograms, with --failed, --syscall and --top; on each hook alternative
// this kernel supports, with nothing sent through the ring buffer.
#include <signal.h>

#include <chrono>
#include <map>
#include <numeric>
#include <thread>

#include "syscount_known.h"

namespace kscope::test {
namespace {

constexpr int kSleeps = 20, kSleepUs = 10000;

uint64_t sum(const OwnedHist& h) { return std::accumulate(h.begin(), h.end(), uint64_t{0}); }

struct Traced {
  std::vector<EventRecord> rows;
  size_t ring_records = 0;
  unsigned long long lost = 0, start_failed = 0;
  int status = -1;
};

void expect_clean(const Traced& run) {
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.ring_records, 0u) << "an aggregating probe sent ring buffer records";
  EXPECT_EQ(run.lost, 0u);
  EXPECT_EQ(run.start_failed, 0u);
}

// The rows as syscall -> count, each row's fields checked on the way.
std::map<std::string, uint64_t> by_syscall(const Traced& run, bool failed_only) {
  std::map<std::string, uint64_t> counts;
  for (const auto& e : run.rows) {
    SCOPED_TRACE(e.text("syscall"));
    EXPECT_FALSE(e.boolean("compat"));
    EXPECT_EQ(e.boolean("failed_only"), failed_only);
    EXPECT_EQ(e.text("unit"), "usecs");
    EXPECT_EQ(sum(e.hist("hist")), e.uinteger("count"));
    counts[e.text("syscall")] += e.uinteger("count");
  }
  return counts;
}

// syscount_known under the probe, filtered on its pid; one snapshot after it is done.
Traced trace_known(const std::string& hook, const std::function<void(ToolArgs&)>& set_args) {
  Traced run;
  Paused child;
  EXPECT_GT(child.pid(), 0);
  if (child.pid() <= 0) return run;
  LiveTool live("syslat");
  set_args(live.args);
  auto opened = live.open(hook, TaskFlags{.pid = static_cast<uint32_t>(child.pid())});
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
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
  return run;
}

class TraceSyslat : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KSCOPE_REQUIRE_PRIVILEGES();
    KSCOPE_REQUIRE_HOOK("syslat", GetParam());
  }
};

// Sleeps of a known length land in their slot: 10 ms is slot 13 (8192..16383 us) or, for a
// late wake-up, a later one; in milliseconds, slot 3 (8..15 ms) or later.
TEST_P(TraceSyslat, SleepsOfKnownLengthInTheirSlot) {
  for (bool msecs : {false, true}) {
    SCOPED_TRACE(msecs ? "milliseconds" : "microseconds");
    LiveTool live("syslat");
    live.args.set("--syscall").text = "clock_nanosleep";
    live.args.set("--milliseconds").on = msecs;
    auto opened = live.open(GetParam(), TaskFlags{.comm = "sleep_known"});
    ASSERT_TRUE(opened) << opened.error().message;
    std::string done = temp_dir() + "-done.tsv";
    std::string prog = testprog("sleep_known"), n = std::to_string(kSleeps),
                us = std::to_string(kSleepUs);
    char* argv[] = {prog.data(), n.data(), us.data(), done.data(), nullptr};
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ), 0);
    for (int i = 0; i < 3000 && read_tsv(done).empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::vector<EventRecord> rows = take_snapshot(live);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    std::remove(done.c_str());

    ASSERT_EQ(rows.size(), 1u) << "only clock_nanosleep is traced";
    const EventRecord& e = rows[0];
    EXPECT_EQ(e.text("syscall"), "clock_nanosleep");
#if defined(__x86_64__)
    EXPECT_EQ(e.integer("nr"), 230);
#endif
    EXPECT_EQ(e.uinteger("count"), uint64_t{kSleeps});
    EXPECT_EQ(e.text("unit"), msecs ? "msecs" : "usecs");
    // A sleep never returns early: none below its slot. Late wake-ups happen (the vm tier's
    // TCG kernels once took 33 ms over a 10 ms sleep), so the rest only within a second, and
    // at least half of them in the slot of 10 ms or the next.
    const auto& slots = e.hist("hist");
    size_t slot = msecs ? 3 : 13, second = msecs ? 10 : 20;
    for (size_t i = 0; i < slots.size(); ++i) {
      if (i >= slot && i < second) continue;
      EXPECT_EQ(slots[i], 0u) << "slot " << i;
    }
    EXPECT_GE(2 * (slots[slot] + slots[slot + 1]), uint64_t{kSleeps});
    // The sum is of nanoseconds, whatever the slots count: every sleep at least its length,
    // none a second.
    EXPECT_GE(e.uinteger("sum_ns"), uint64_t{kSleeps} * kSleepUs * 1000);
    EXPECT_LT(e.uinteger("sum_ns"), uint64_t{kSleeps} * 1'000'000'000);
    EXPECT_EQ(live.lost(), 0u);
    EXPECT_EQ(live.counted("sys_start_failed"), 0u);
  }
}

// Every call made after the release, and nothing else: exit_group never returns, and the
// read that waited for the release began before the probe was attached.
TEST_P(TraceSyslat, EveryCallOfTheProcessInItsSyscallsHistogram) {
  Traced run = trace_known(GetParam(), [](ToolArgs&) {});
  expect_clean(run);
  std::map<std::string, uint64_t> want = {{"getppid", kGetppid}, {"access", kAccess}};
  EXPECT_EQ(by_syscall(run, false), want);
  ASSERT_EQ(run.rows.size(), 2u);
  EXPECT_EQ(run.rows[0].text("syscall"), "getppid");  // the most calls first
}

// --failed, --syscall and --top choose in the kernel or from the interval's rows.
TEST_P(TraceSyslat, FailedSyscallAndTop) {
  Traced failed = trace_known(GetParam(), [](ToolArgs& a) { a.set("--failed").on = true; });
  expect_clean(failed);
  std::map<std::string, uint64_t> access = {{"access", kAccess}};
  EXPECT_EQ(by_syscall(failed, true), access);

  Traced one = trace_known(GetParam(), [](ToolArgs& a) { a.set("--syscall").text = "access"; });
  expect_clean(one);
  EXPECT_EQ(by_syscall(one, false), access);

  Traced top = trace_known(GetParam(), [](ToolArgs& a) { a.set("--top").number = 1; });
  expect_clean(top);
  std::map<std::string, uint64_t> getppid = {{"getppid", kGetppid}};
  EXPECT_EQ(by_syscall(top, false), getppid);
}

// The histograms are kept since the probe started and each snapshot reports what they
// added: a second snapshot with no new calls has no rows.
TEST_P(TraceSyslat, ASnapshotReportsOnlyWhatTheIntervalAdded) {
  Paused child;
  ASSERT_GT(child.pid(), 0);
  LiveTool live("syslat");
  ASSERT_TRUE(live.open(GetParam(), TaskFlags{.pid = static_cast<uint32_t>(child.pid())}));
  ASSERT_EQ(child.release(), 0);
  std::map<std::string, uint64_t> first;
  for (const auto& e : take_snapshot(live)) first[e.text("syscall")] = e.uinteger("count");
  std::map<std::string, uint64_t> want = {{"getppid", kGetppid}, {"access", kAccess}};
  EXPECT_EQ(first, want);
  EXPECT_TRUE(take_snapshot(live).empty());
}

// A 32-bit program's syscalls under their own ABI's names: ia32 59 is oldolduname, which
// abi_known32 calls twice (the number of x86-64's execve).
TEST_P(TraceSyslat, Ia32SyscallsUnderTheirOwnNames) {
  KSCOPE_REQUIRE_IA32();
  LiveTool live("syslat");
  live.args.set("--syscall").text = "ia32:oldolduname";
  auto opened = live.open(GetParam(), TaskFlags{.comm = "abi_known32"});
  ASSERT_TRUE(opened) << opened.error().message;
  AbiKnown run = run_abi_known(live, /*ia32=*/true);
  EXPECT_TRUE(run.events.empty()) << "an aggregating probe sent ring buffer records";
  std::vector<EventRecord> rows = take_snapshot(live);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text("syscall"), "ia32:oldolduname");
  EXPECT_TRUE(rows[0].boolean("compat"));
  EXPECT_EQ(rows[0].integer("nr"), 59);
  EXPECT_EQ(rows[0].uinteger("count"), 2u);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceSyslat, ::testing::ValuesIn(hook_names("syslat")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
