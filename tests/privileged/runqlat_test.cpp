// trace runqlat against the real kernel: sleep_known's thread sleeps a known number of times,
// then blocks for good; each of its switch-ins followed a wait on a run queue, so its
// histogram must count exactly its context switches as the kernel counts them (voluntary +
// involuntary: the first run after its creation stands in for the last switch-out, which
// no switch-in follows). And the ring buffer carries nothing while the histograms fill.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include "harness.h"

namespace kscope::test {
namespace {

// voluntary_ctxt_switches + nonvoluntary_ctxt_switches of one thread.
uint64_t context_switches(const std::string& pid, const std::string& tid) {
  std::ifstream in("/proc/" + pid + "/task/" + tid + "/status");
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line))
    if (line.find("ctxt_switches:") != std::string::npos) n += std::stoull(line.substr(line.find(':') + 1));
  return n;
}

struct Sleeper {
  pid_t pid = 0;
  std::string tid;
  std::string done;
  ~Sleeper() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    std::remove(done.c_str());
  }
};

// Starts sleep_known and waits until its thread has done its sleeps and blocked.
void run_sleeper(Sleeper& s, int sleeps) {
  s.done = temp_dir() + "-done.tsv";
  std::string prog = testprog("sleep_known"), n = std::to_string(sleeps);
  char* argv[] = {prog.data(), n.data(), const_cast<char*>("1000"), s.done.data(), nullptr};
  ASSERT_EQ(posix_spawn(&s.pid, argv[0], nullptr, nullptr, argv, environ), 0);
  for (int i = 0; i < 3000; ++i) {
    auto rows = read_tsv(s.done);
    if (!rows.empty() && rows[0].size() == 2) {
      s.tid = rows[0][1];
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // into its last read()
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "sleep_known did not finish its sleeps";
}

// The switch-ins of the known gap a run may miss: 2, or 1 in 20 of many.
uint64_t missed_allowance(uint64_t switches) { return std::max<uint64_t>(2, switches / 20); }

uint64_t sum(const OwnedHist& h) { return std::accumulate(h.begin(), h.end(), uint64_t{0}); }

class TraceRunqlat : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceRunqlat, EveryWaitOfAThreadCountedOnce) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("runqlat", GetParam());
  LiveTool live("runqlat");
  live.args.set("--tids").on = true;
  auto opened = live.open(GetParam(), TaskFlags{.comm = "sleep_known"});
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE(live.all_claimed());
  CollectSink ring(live);
  auto rb = event_ring(*live.probe, ring);
  ASSERT_TRUE(rb);

  constexpr int kSleeps = 200;
  Sleeper s;
  run_sleeper(s, kSleeps);
  ASSERT_FALSE(s.tid.empty());
  CollectSink snap(live);
  auto taken = live.tool.snapshot(*live.probe, live.args, snap);
  ASSERT_TRUE(taken) << taken.error().message;
  uint64_t switches = context_switches(std::to_string(s.pid), s.tid);
  ASSERT_TRUE(rb->consume());

  const EventRecord* mine = nullptr;
  for (const auto& e : snap.events) {
    EXPECT_EQ(e.text("scope"), "thread");
    EXPECT_EQ(e.text("comm"), "sleep_known");  // the filter ran in the kernel
    if (std::to_string(e.integer("tid")) == s.tid) mine = &e;
  }
  ASSERT_NE(mine, nullptr) << "no histogram for thread " << s.tid;
  EXPECT_GE(switches, uint64_t{kSleeps});
  // Every switch-in, but for the known gap (docs/tools/runqlat.md): in some runs of this
  // test 6.18 does not run the sched_switch program for one or two of the thread's
  // switch-ins while it runs it for every switch-out, and no recursion miss is reported.
  EXPECT_LE(mine->uinteger("count"), switches);
  EXPECT_GE(mine->uinteger("count") + missed_allowance(switches), switches);
  EXPECT_EQ(sum(mine->hist("hist")), mine->uinteger("count"));
  EXPECT_EQ(mine->text("unit"), "usecs");
  // A wait of a second or more on a machine running only the tests would be a unit error.
  const auto& slots = mine->hist("hist");
  for (size_t i = 20; i < slots.size(); ++i) EXPECT_EQ(slots[i], 0u) << "slot " << i;
  EXPECT_EQ(ring.events.size(), 0u) << "an aggregating probe wrote to the ring buffer";
  EXPECT_EQ(live.lost(), 0u);

  // The maps were emptied: the next snapshot has no histogram for the blocked thread.
  CollectSink again(live);
  ASSERT_TRUE(live.tool.snapshot(*live.probe, live.args, again));
  for (const auto& e : again.events) EXPECT_NE(std::to_string(e.integer("tid")), s.tid);
}

TEST_P(TraceRunqlat, PerProcessInMilliseconds) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("runqlat", GetParam());
  LiveTool live("runqlat");
  live.args.set("--pids").on = true;
  live.args.set("--milliseconds").on = true;
  auto opened = live.open(GetParam(), TaskFlags{.comm = "sleep_known"});
  ASSERT_TRUE(opened) << opened.error().message;

  constexpr int kSleeps = 50;
  Sleeper s;
  run_sleeper(s, kSleeps);
  CollectSink snap(live);
  ASSERT_TRUE(live.tool.snapshot(*live.probe, live.args, snap));
  uint64_t thread_switches = context_switches(std::to_string(s.pid), s.tid);
  const EventRecord* mine = nullptr;
  for (const auto& e : snap.events)
    if (e.integer("pid") == s.pid) mine = &e;
  ASSERT_NE(mine, nullptr) << "no histogram for process " << s.pid;
  EXPECT_EQ(mine->text("scope"), "process");
  EXPECT_EQ(mine->text("unit"), "msecs");
  EXPECT_EQ(mine->integer("tid"), 0);
  // The process's histogram holds its sleeping thread's waits and its main thread's (but for
  // the known gap: see EveryWaitOfAThreadCountedOnce).
  EXPECT_GE(mine->uinteger("count") + missed_allowance(thread_switches), thread_switches);
  EXPECT_EQ(sum(mine->hist("hist")), mine->uinteger("count"));
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceRunqlat, ::testing::ValuesIn(hook_names("runqlat")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
