// trace signal against the real kernel: signal_known sends signals with known results (a
// delivered one, an already pending one, an ignored one, a queue overflow and a lost siginfo,
// thread-directed ones, a fault's SIGSEGV, a timer's SIGALRM, the SIGCHLD of each child) and
// makes calls the kernel refuses (ESRCH, EPERM, EINVAL); every field of every signal must
// come back exactly, on each hook alternative this kernel supports, with --failed and
// --signal compiled into the probe. The refused calls come back with --calls (or --failed)
// only: without, no syscall exit is hooked.
#include <csignal>
#include <set>

#include "harness.h"

namespace kscope::test {
namespace {

struct Expected {
  int64_t sender_pid, sender_tid;  // 0: any (see signal_known.c)
  int64_t target_pid, target_tid, sig, code;
  std::string result, via;
  bool group;
  std::string target_comm;
  bool failed_call() const { return result.starts_with('E'); }
  bool failed() const { return failed_call() || (result != "delivered" && result != "lose_info"); }
};

struct Traced {
  std::vector<Expected> expected;
  std::vector<EventRecord> events;  // those that involve signal_known's processes
  unsigned long long lost = 0;
  unsigned long long missed = 0;  // runs the kernel skipped (recursion_misses)
  bool all_claimed = false;
};

Traced trace_signal_known(const std::string& hook, bool failed, const std::string& signal,
                          bool calls = false) {
  Traced run;
  LiveTool live("signal");
  live.args.set("--failed").on = failed;
  live.args.set("--calls").on = calls;
  live.args.set("--signal").text = signal;
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  std::string dir = temp_dir();
  std::string expected = dir + "/expected.tsv";
  EXPECT_EQ(run_while_draining({testprog("signal_known"), expected}, *rb), 0);
  std::set<int64_t> ours;
  for (const auto& f : read_tsv(expected)) {
    Expected x{std::stoll(f.at(0)),
               std::stoll(f.at(1)),
               std::stoll(f.at(2)),
               std::stoll(f.at(3)),
               std::stoll(f.at(4)),
               std::stoll(f.at(5)),
               f.at(6),
               f.at(7),
               f.at(8) == "1",
               f.at(9) == "-" ? "" : f.at(9)};
    for (int64_t id : {x.sender_pid, x.target_pid, x.target_tid})
      if (id > 0) ours.insert(id);
    run.expected.push_back(x);
  }
  // Signals to signal_known's processes, and the calls they made that failed: not its own
  // SIGCHLD to the test, nor the signals of the rest of the machine.
  for (auto& e : sink.events)
    if (ours.contains(e.integer("target_tid")) || ours.contains(e.integer("target_pid")) ||
        (e.integer("errno") != 0 && ours.contains(e.integer("pid"))))
      run.events.push_back(std::move(e));
  run.lost = live.lost();
  run.missed = live.missed();
  run.all_claimed = live.all_claimed();
  std::remove(expected.c_str());
  rmdir(dir.c_str());
  return run;
}

std::string describe(const EventRecord& e) {
  return std::to_string(e.integer("pid")) + " -> " + std::to_string(e.integer("target_pid")) + "/" +
         std::to_string(e.integer("target_tid")) + " signal " +
         std::to_string(e.integer("signal")) + " " + e.text("result") + " via " + e.text("via");
}

// Each expected signal matched to one event, then every field compared. The tracepoint's
// record names only the target thread: there a generated signal's target_pid is 0.
void expect_exactly(const Traced& run, const std::vector<Expected>& want, bool target_pid_known) {
  std::vector<bool> used(run.events.size());
  for (const auto& x : want) {
    SCOPED_TRACE("signal " + std::to_string(x.sig) + " to " + std::to_string(x.target_pid) + "/" +
                 std::to_string(x.target_tid) + " " + x.result + " via " + x.via);
    const EventRecord* got = nullptr;
    for (size_t i = 0; i < run.events.size() && !got; ++i) {
      const auto& e = run.events[i];
      if (!used[i] && e.integer("signal") == x.sig && e.integer("target_tid") == x.target_tid &&
          e.text("result") == x.result && e.text("via") == x.via &&
          (x.sender_pid == 0 || e.integer("pid") == x.sender_pid)) {
        used[i] = true;
        got = &e;
      }
    }
    if (!got) {
      ADD_FAILURE() << "no event for this signal (" << run.events.size() << " events, "
                    << run.lost << " lost, " << run.missed << " runs missed)";
      continue;
    }
    if (x.sender_tid) {
      EXPECT_EQ(got->integer("tid"), x.sender_tid);
    }
    bool pid_known = x.failed_call() || target_pid_known;
    EXPECT_EQ(got->integer("target_pid"), pid_known ? x.target_pid : 0);
    EXPECT_EQ(got->text("target_comm"), x.target_comm);
    EXPECT_EQ(got->integer("si_code"), x.code);
    EXPECT_EQ(got->boolean("group"), x.group);
    EXPECT_EQ(got->boolean("failed"), x.failed());
    EXPECT_EQ(got->integer("errno") != 0, x.failed_call());
  }
  for (size_t i = 0; i < run.events.size(); ++i)
    if (!used[i]) {
      ADD_FAILURE() << "an event signal_known does not account for: " << describe(run.events[i]);
    }
}

class TraceSignal : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceSignal, EverySignalWithEveryFieldExact) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("signal", GetParam());
  for (bool calls : {true, false}) {
    SCOPED_TRACE(calls ? "--calls" : "without --calls");
    Traced run = trace_signal_known(GetParam(), /*failed=*/false, /*signal=*/"", calls);
    ASSERT_GE(run.expected.size(), 20u);
    EXPECT_EQ(run.lost, 0u);
    EXPECT_TRUE(run.all_claimed) << "the probe left a clause to user space";
    std::vector<Expected> want;
    for (const auto& x : run.expected)  // without --signal, SIGCHLD is left out
      if (x.sig != SIGCHLD && (calls || !x.failed_call())) want.push_back(x);
    ASSERT_GE(run.expected.size() - want.size(), calls ? 1u : 4u);
    expect_exactly(run, want, GetParam() != "tracepoint");
  }
}

// --failed keeps the undelivered signals and the failed calls; --signal SIGCHLD only that
// signal. Both run in the probe.
TEST_P(TraceSignal, FailedAndSignalFiltersInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("signal", GetParam());
  for (bool failed : {true, false}) {
    SCOPED_TRACE(failed ? "--failed" : "--signal chld");
    Traced run = trace_signal_known(GetParam(), failed, failed ? "" : "chld");
    EXPECT_TRUE(run.all_claimed) << "the probe left a clause to user space";
    std::vector<Expected> want;
    for (const auto& x : run.expected)
      if (failed ? x.failed() && x.sig != SIGCHLD : x.sig == SIGCHLD) want.push_back(x);
    ASSERT_GE(want.size(), 4u);
    expect_exactly(run, want, GetParam() != "tracepoint");
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceSignal, ::testing::ValuesIn(hook_names("signal")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
