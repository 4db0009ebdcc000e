// trace exit against the real kernel: exit_known's children end in known ways (an exit code,
// SIGKILL, abort(), a known lifetime, a lone thread, a killed multi-threaded process, pid 1
// of a pid namespace) and every field of every exit must come back exactly, on each hook
// alternative this kernel supports.
#include <iostream>
#include <set>

#include "harness.h"

namespace kscope::test {
namespace {

struct Expected {
  int64_t pid, tid, ppid;  // tid 0: any thread of pid (the scheduler picks the last one)
  std::string comm;
  int64_t status;
  bool whole;
  uint64_t min_age, max_age;
  int64_t ns_pid;
};

struct Traced {
  std::vector<Expected> expected;
  std::vector<EventRecord> events;  // of exit_known's processes only
  unsigned long long lost = 0;
  unsigned long long missed = 0;  // runs the kernel skipped (fentry on PREEMPT_RT)
  bool all_claimed = false;
  bool exact = true;  // the hook knows which thread ended a process (group_dead)
};

Traced trace_exit_known(const std::string& hook, bool threads, bool failed) {
  Traced run;
  LiveTool live("exit");
  live.args.set("--threads").on = threads;
  live.args.set("--failed").on = failed;
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  run.exact = !inexact_here(live.probe->hook(), Features::system());
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  std::string dir = temp_dir();
  std::string expected = dir + "/expected.tsv";
  EXPECT_EQ(run_while_draining({testprog("exit_known"), expected}, *rb), 0);
  for (const auto& f : read_tsv(expected))
    run.expected.push_back({std::stoll(f.at(0)), std::stoll(f.at(1)), std::stoll(f.at(2)), f.at(3),
                            std::stoll(f.at(4)), f.at(5) == "1", std::stoull(f.at(6)),
                            std::stoull(f.at(7)), std::stoll(f.at(8))});
  std::set<int64_t> pids;
  for (const auto& x : run.expected) pids.insert(x.pid);
  for (auto& e : sink.events)
    if (pids.contains(e.integer("pid"))) run.events.push_back(std::move(e));
  run.lost = live.lost();
  run.missed = live.missed();
  run.all_claimed = live.all_claimed();
  std::remove(expected.c_str());
  rmdir(dir.c_str());
  return run;
}

// Each expected exit matched to one event of its process and scope (and thread, when known).
// An exit without an event must be one the kernel reported as missed: a fentry trampoline
// preempted on PREEMPT_RT makes the kernel skip a concurrent exit, and count it. A hook that
// is inexact here (no group_dead) may name another thread of the process as the one that
// ended it: then the process-wide fields must still be exact, and the thread's own (tid,
// comm, a thread's age) are checked only where the event names the expected thread.
void expect_exactly(const Traced& run, const std::vector<Expected>& want) {
  std::vector<bool> used(run.events.size());
  unsigned long long unseen = 0;
  for (const auto& x : want) {
    SCOPED_TRACE(x.comm + " pid " + std::to_string(x.pid) + (x.whole ? " process" : " thread"));
    const EventRecord* got = nullptr;
    for (size_t i = 0; i < run.events.size() && !got; ++i) {
      const auto& e = run.events[i];
      if (!used[i] && e.integer("pid") == x.pid && (e.text("scope") == "process") == x.whole &&
          (x.tid == 0 || !run.exact || e.integer("tid") == x.tid)) {
        used[i] = true;
        got = &e;
      }
    }
    if (!got) {
      ++unseen;
      std::cerr << "unseen: " << x.comm << " pid " << x.pid << " tid " << x.tid
                << (x.whole ? " process" : " thread") << " status " << x.status << "\n";
      continue;
    }
    EXPECT_EQ(got->integer("ppid"), x.ppid);
    bool same_thread = x.tid == 0 || got->integer("tid") == x.tid;
    if (same_thread) {
      EXPECT_EQ(got->text("comm"), x.comm);
    }
    EXPECT_EQ(got->integer("status"), x.status);
    EXPECT_EQ(got->integer("exit_code"), (x.status & 0x7f) ? 0 : x.status >> 8);
    EXPECT_EQ(got->integer("signal"), x.status & 0x7f);
    EXPECT_EQ(got->boolean("core_dumped"), (x.status & 0x80) != 0);
    EXPECT_EQ(got->integer("ns_pid"), x.ns_pid);
    if (same_thread || x.whole) {  // a process exit carries the leader's age, whoever ends it
      EXPECT_GE(got->uinteger("age_ns"), x.min_age);
      EXPECT_LE(got->uinteger("age_ns"), x.max_age);
    }
  }
  EXPECT_LE(unseen, run.missed) << "exits with no event that the kernel did not count as missed";
  if (unseen) std::cerr << unseen << " exits unseen, " << run.missed << " runs missed\n";
  size_t extra = std::count(used.begin(), used.end(), false);
  for (size_t i = 0; i < run.events.size(); ++i)
    if (!used[i])
      std::cerr << "extra: " << run.events[i].text("comm") << " pid "
                << run.events[i].integer("pid") << " tid " << run.events[i].integer("tid") << " "
                << run.events[i].text("scope") << " status " << run.events[i].integer("status")
                << "\n";
  EXPECT_EQ(extra, 0u) << "events no exit of exit_known accounts for";
}

class TraceExit : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceExit, EveryExitWithEveryFieldExact) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exit", GetParam());
  Traced run = trace_exit_known(GetParam(), /*threads=*/true, /*failed=*/false);
  ASSERT_GE(run.expected.size(), 11u);  // 12 with the pid namespace case
  EXPECT_EQ(run.lost, 0u);
  expect_exactly(run, run.expected);
}

// By default only whole-process exits; --failed keeps non-zero statuses only; both are
// compiled into the probe.
TEST_P(TraceExit, ProcessExitsByDefaultAndFailedOnlyInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exit", GetParam());
  for (bool failed : {false, true}) {
    SCOPED_TRACE(failed ? "--failed" : "default");
    Traced run = trace_exit_known(GetParam(), /*threads=*/false, failed);
    EXPECT_TRUE(run.all_claimed) << "the probe left a clause to user space";
    std::vector<Expected> want;
    for (const auto& x : run.expected)
      if (x.whole && (!failed || x.status != 0)) want.push_back(x);
    ASSERT_FALSE(want.empty());
    expect_exactly(run, want);
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceExit, ::testing::ValuesIn(hook_names("exit")), hook_param_name);

}  // namespace
}  // namespace kscope::test
