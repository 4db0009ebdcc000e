// trace exec against the real kernel: exec_many execs 1000 known argvs (spaces, quotes, an
// empty argument, a 2000-byte argument, failing execs, another uid) and every field of
// every exec must come back exactly, on each hook alternative this kernel supports.
// KSCOPE_TEST_EXECS (a multiple of 50: exec_many's cases repeat every 50) sets how many: the
// vm tier, whose emulated CPUs exec some 30 times a second, runs 100.
#include <bpf/bpf.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "harness.h"

namespace kscope::test {
namespace {

struct Expected {
  uint32_t pid, ppid, uid;
  std::string comm;
  int32_t ret;
  std::vector<std::string> args;
};

std::vector<Expected> read_expected(const std::string& path) {
  std::vector<Expected> out;
  for (const auto& f : read_tsv(path)) {
    Expected e{static_cast<uint32_t>(std::stoul(f.at(0))), static_cast<uint32_t>(std::stoul(f.at(1))),
               static_cast<uint32_t>(std::stoul(f.at(2))), f.at(3), std::stoi(f.at(4)),
               split(f.at(5), '\x1f')};
    out.push_back(std::move(e));
  }
  return out;
}

struct Limits {
  size_t max_args = 128, max_arg_len = 1024;
};

// Applies the same limits the user asked for to the argv the program passed.
std::pair<std::vector<std::string>, bool> limited(std::vector<std::string> args, const Limits& l) {
  bool cut = false;
  if (args.size() > l.max_args) {
    args.resize(l.max_args);
    cut = true;
  }
  for (auto& a : args)
    if (a.size() > l.max_arg_len) {
      a.resize(l.max_arg_len);
      cut = true;
    }
  return {args, cut};
}

struct Traced {
  std::vector<Expected> expected;
  std::map<uint32_t, std::vector<EventRecord>> by_pid;
  unsigned long long lost = 0;
  size_t malformed = 0;
  bool all_claimed = false;
};

struct Options {
  std::string hook;
  bool failed = false;
  TaskFlags task;
  Limits limits;
};

Traced trace_exec_many(const Options& o, int n) {
  Traced run;
  LiveTool live("exec");
  live.args.set("--failed").on = o.failed;
  live.args.set("--max-args").number = o.limits.max_args;
  live.args.set("--max-arg-len").number = o.limits.max_arg_len;
  auto opened = live.open(o.hook, o.task);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  // Some execs run as uid 65534, which may not reach the build tree: exec a copy from a
  // world-readable directory.
  std::string dir = temp_dir();
  std::string expected = dir + "/expected.tsv";
  std::string target = dir + "/exec_target";
  chmod(dir.c_str(), 0755);
  EXPECT_EQ(std::system(("install -m 0755 '" + testprog("exec_target") + "' '" + target + "'").c_str()), 0);
  EXPECT_EQ(run_while_draining({testprog("exec_many"), std::to_string(n), target, expected}, *rb), 0);
  run.expected = read_expected(expected);
  for (auto& e : sink.events) run.by_pid[e.integer("pid")].push_back(std::move(e));
  run.lost = live.lost();
  run.malformed = sink.malformed;
  run.all_claimed = live.all_claimed();
  std::remove(expected.c_str());
  std::remove(target.c_str());
  rmdir(dir.c_str());
  return run;
}

class TraceExec : public ::testing::TestWithParam<std::string> {};

// How many execs a test runs: KSCOPE_TEST_EXECS, else 1000.
size_t test_execs() {
  const char* env = std::getenv("KSCOPE_TEST_EXECS");
  return env ? std::strtoul(env, nullptr, 10) : 1000;
}

TEST_P(TraceExec, EveryExecWithEveryFieldExact) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  Limits limits;
  const size_t n = test_execs();
  ASSERT_TRUE(n >= 50 && n % 50 == 0) << "KSCOPE_TEST_EXECS must be a multiple of 50";
  Traced run = trace_exec_many({.hook = GetParam(), .failed = true}, static_cast<int>(n));
  ASSERT_EQ(run.expected.size(), n);
  EXPECT_EQ(run.lost, 0u);
  EXPECT_EQ(run.malformed, 0u);
  size_t failed = 0, other_uid = 0, cut = 0;
  for (const auto& x : run.expected) {
    auto it = run.by_pid.find(x.pid);
    ASSERT_NE(it, run.by_pid.end()) << "no exec event for pid " << x.pid << " (" << x.args[1] << ")";
    ASSERT_EQ(it->second.size(), 1u) << "pid " << x.pid;
    const EventRecord& e = it->second.front();
    auto [args, truncated] = limited(x.args, limits);
    EXPECT_EQ(e.integer("pid"), x.pid);
    EXPECT_EQ(e.integer("ppid"), x.ppid);
    EXPECT_EQ(e.integer("ns_pid"), x.pid);  // no pid namespace here: the same number
    EXPECT_EQ(e.integer("uid"), x.uid);
    EXPECT_EQ(e.text("comm"), x.comm);
    EXPECT_EQ(e.integer("ret"), x.ret);
    EXPECT_EQ(e.argv("args").args, args) << "pid " << x.pid;
    EXPECT_EQ(e.argv("args").truncated, truncated) << "pid " << x.pid;
    EXPECT_EQ(e.boolean("args_truncated"), truncated) << "pid " << x.pid;
    EXPECT_FALSE(e.boolean("args_unreadable")) << "pid " << x.pid;
    EXPECT_FALSE(e.boolean("argv_missing")) << "pid " << x.pid;
    failed += x.ret != 0;
    other_uid += x.uid == 65534;
    cut += truncated;
  }
  // The program really exercised every case.
  // exec_many: i % 10 in {3, 7} fail, i % 7 == 5 switch uid, i % 50 == 0 is cut.
  EXPECT_EQ(failed, n / 5);
  EXPECT_GT(other_uid, n / 10);
  EXPECT_EQ(cut, n / 50);
}

// Without --failed only successful execs come out; with it, failed ones too. The uid
// filter works in the kernel either way.
TEST_P(TraceExec, FailedExecsOnlyWithFailedAndUidFilterInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  for (bool failed : {false, true}) {
    SCOPED_TRACE(failed ? "--failed" : "default");
    // A fifth of the tier's execs, at least one round of exec_many's 50 cases.
    int n = static_cast<int>(std::max<size_t>(50, test_execs() / 5 / 50 * 50));
    Traced run = trace_exec_many({.hook = GetParam(), .failed = failed, .task = {.uid = 65534}}, n);
    EXPECT_TRUE(run.all_claimed) << "the probe left a clause to user space";
    size_t want = 0;
    for (const auto& x : run.expected) {
      bool wanted = x.uid == 65534 && (failed || x.ret == 0);
      want += wanted;
      auto it = run.by_pid.find(x.pid);
      EXPECT_EQ(it != run.by_pid.end(), wanted) << "pid " << x.pid << " ret " << x.ret;
    }
    EXPECT_GT(want, 0u);
    size_t failures = 0;
    for (const auto& [pid, events] : run.by_pid)
      for (const auto& e : events) {
        EXPECT_EQ(e.integer("uid"), 65534);
        failures += e.integer("ret") != 0;
      }
    if (failed) EXPECT_GT(failures, 0u);
    else EXPECT_EQ(failures, 0u);
  }
}

TEST_P(TraceExec, ArgumentLimitsCutAndMark) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  // --failed: the failed-exec path applies the limits in the probe
  Limits limits{.max_args = 3, .max_arg_len = 5};
  Traced run = trace_exec_many({.hook = GetParam(), .failed = true, .limits = limits}, 40);
  ASSERT_EQ(run.expected.size(), 40u);
  for (const auto& x : run.expected) {
    auto it = run.by_pid.find(x.pid);
    ASSERT_NE(it, run.by_pid.end());
    const EventRecord& e = it->second.front();
    auto [args, truncated] = limited(x.args, limits);
    EXPECT_EQ(e.argv("args").args, args) << "pid " << x.pid << " ret " << x.ret;
    EXPECT_TRUE(e.argv("args").truncated);
    EXPECT_TRUE(truncated);
  }
}

// A process in its own pid namespace: the host pid, and pid 1 inside.
TEST_P(TraceExec, PidInsideItsOwnPidNamespace) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  LiveTool live("exec");
  auto opened = live.open(GetParam(), {.comm = "exec_target"});
  ASSERT_TRUE(opened) << opened.error().message;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  ASSERT_TRUE(rb);
  ASSERT_EQ(run_while_draining({"/usr/bin/unshare", "--pid", "--fork", testprog("exec_target"),
                                "kscope-pidns"},
                               *rb),
            0);
  std::vector<const EventRecord*> mine;
  for (const auto& e : sink.events)
    if (e.argv("args").args == std::vector<std::string>{testprog("exec_target"), "kscope-pidns"})
      mine.push_back(&e);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]->integer("ns_pid"), 1);
  EXPECT_EQ(mine[0]->pid("pid").inner, 1u);
  EXPECT_NE(mine[0]->integer("pid"), 1);
  EXPECT_EQ(mine[0]->integer("ret"), 0);
}

// exec_paused: an execve held inside the kernel (its path on a userfaultfd page) until
// release(); it then fails with ENOENT.
class PausedExec {
 public:
  // Whether the execve waits; when not, why (skipped: no userfaultfd here).
  std::string start() {
    std::string prog = testprog("exec_paused"), ready = dir_ + "/ready";
    char* argv[] = {prog.data(), ready.data(), go_.data(), nullptr};
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv, environ) != 0) return "cannot spawn";
    for (int ms = 0; access(ready.c_str(), F_OK) != 0; ms += 5) {
      if (ms >= 10000 || waitpid(pid_, &status_, WNOHANG) == pid_) {
        if (ms >= 10000) release_and_wait(nullptr);
        return WIFEXITED(status_) && WEXITSTATUS(status_) == 77 ? "no userfaultfd here"
                                                                 : "exec_paused did not wait";
      }
      usleep(5000);
    }
    waiting_ = true;
    return "";
  }
  // Lets the execve go on and waits for the program, draining `rb` meanwhile: its exit code.
  int release(std::optional<RingBuffer>& rb) { return release_and_wait(rb ? &*rb : nullptr); }
  pid_t pid() const { return pid_; }
  ~PausedExec() {
    if (waiting_) release_and_wait(nullptr);
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

 private:
  int release_and_wait(RingBuffer* rb) {
    std::fclose(std::fopen(go_.c_str(), "w"));
    while (waitpid(pid_, &status_, WNOHANG) == 0) {
      if (rb) (void)rb->consume();
      usleep(5000);
    }
    if (rb) (void)rb->consume();
    waiting_ = false;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  std::string dir_ = temp_dir(), go_ = dir_ + "/go";
  pid_t pid_ = 0;
  int status_ = 0;
  bool waiting_ = false;
};

std::optional<RingBuffer> ring_buffer(const LiveTool& live, RecordSink& sink) {
  auto r = event_ring(*live.probe, sink);
  if (!r) return std::nullopt;
  return std::move(*r);
}

// The enter hooks keep a failed exec's argv pointer in exec_argv; only --failed needs it, so
// without it they are not loaded (the map shrinks to one slot): an execve held inside the
// kernel is in the map with --failed, and nowhere without.
TEST_P(TraceExec, EnterHooksKeepArgvOnlyWithFailed) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  for (bool failed : {false, true}) {
    SCOPED_TRACE(failed ? "--failed" : "default");
    LiveTool live("exec");
    live.args.set("--failed").on = failed;
    auto opened = live.open(GetParam());
    ASSERT_TRUE(opened) << opened.error().message;
    int fd = live.probe->map_fd("exec_argv");
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    EXPECT_EQ(info.max_entries, failed ? 10240u : 1u);

    PausedExec paused;
    if (auto why = paused.start(); !why.empty()) GTEST_SKIP() << why;
    uint32_t key = 0;
    int found = bpf_map_get_next_key(fd, nullptr, &key);
    CollectSink sink(live);
    auto rb = ring_buffer(live, sink);
    EXPECT_EQ(paused.release(rb), 0);
    if (failed) {
      EXPECT_EQ(found, 0);
      EXPECT_EQ(key, static_cast<uint32_t>(paused.pid()));
    } else {
      EXPECT_EQ(found, -ENOENT) << "an entry for tid " << key;
    }
  }
}

// A failed execve whose start the probe never saw (exec_paused holds it inside the kernel
// while the probe attaches): reported anyway, without arguments, flagged argv_missing, and
// counted in exec_argv_missing, the count a run reports.
TEST_P(TraceExec, FailedExecBegunBeforeTheProbeIsFlaggedAndCounted) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  PausedExec paused;
  if (auto why = paused.start(); !why.empty()) GTEST_SKIP() << why;
  pid_t pid = paused.pid();
  LiveTool live("exec");
  live.args.set("--failed").on = true;
  auto opened = live.open(GetParam(), {.comm = "exec_paused"});
  CollectSink sink(live);
  std::optional<RingBuffer> rb;
  if (opened) rb = ring_buffer(live, sink);
  int status = paused.release(rb);  // whatever happened: the execve must go on
  ASSERT_TRUE(opened) << opened.error().message;
  ASSERT_TRUE(rb);
  ASSERT_EQ(status, 0);

  std::vector<const EventRecord*> mine;
  for (const auto& e : sink.events)
    if (e.integer("pid") == pid) mine.push_back(&e);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]->integer("ret"), -ENOENT);
  EXPECT_EQ(mine[0]->argv("args").args, std::vector<std::string>{});
  EXPECT_TRUE(mine[0]->boolean("argv_missing"));
  EXPECT_FALSE(mine[0]->boolean("args_unreadable"));
  EXPECT_EQ(read_percpu_sum(live.probe->map_fd("exec_argv_missing")).value_or(~0ull), 1u);
  EXPECT_EQ(live.lost(), 0u);
}

// abi_known makes known execs natively; abi_known32 the same as a 32-bit task, which also
// makes syscalls whose ia32 numbers are x86-64's execve (59) and execveat (322). Each hook
// reports exactly the execs it can see (docs/tools/exec.md), each with its argv (one whose
// argv[1] is unmapped: argv[0] and the args_unreadable flag), and never one of those
// unrelated syscalls: tp_btf sees every exec, in the ABI it was made in; the syscalls
// tracepoints see no 32-bit syscall, so of a 32-bit task only the execs that succeed (the
// one that loads a 32-bit program through sched_process_exec, one that loads a 64-bit
// program through sys_exit_execve).
void expect_abi_known_execs(const std::string& hook, bool ia32) {
  LiveTool live("exec");
  live.args.set("--failed").on = true;
  auto opened = live.open(hook);
  ASSERT_TRUE(opened) << opened.error().message;
  AbiKnown run = run_abi_known(live, ia32);
  ASSERT_GT(run.lines.size(), 4u);

  bool sees_ia32_syscalls = hook == "tp_btf";
  // pid, ret, what could not be read, argv
  using Exec = std::tuple<int64_t, int64_t, std::string, std::vector<std::string>>;
  std::vector<Exec> want = {{run.pid(), 0, "-", run.argv}};  // the exec that started it
  std::set<int64_t> pids = {run.pid()};
  for (const auto& l : run.lines) {
    if (l.at(1) != "exec") continue;
    std::vector<std::string> args;
    if (!l.at(4).empty()) args = split(l.at(4), '\x1f');
    Exec x{std::stol(l.at(0)), std::stol(l.at(2)), l.at(3), args};
    pids.insert(std::get<0>(x));
    if (!ia32 || std::get<1>(x) == 0 || sees_ia32_syscalls) want.push_back(x);
  }
  std::vector<Exec> got;
  for (const auto& e : run.events)
    if (pids.contains(e.integer("pid")))
      got.emplace_back(e.integer("pid"), e.integer("ret"),
                       partial_flag(e, {"args_unreadable", "argv_missing"}), e.argv("args").args);
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), ia32 && !sees_ia32_syscalls ? 3u : 6u);
  EXPECT_EQ(live.lost(), 0u);
  EXPECT_EQ(run.malformed, 0u);
}

TEST_P(TraceExec, NativeExecsOfAbiKnown) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  expect_abi_known_execs(GetParam(), /*ia32=*/false);
}

TEST_P(TraceExec, ThirtyTwoBitTaskExecsInTheirOwnAbi) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", GetParam());
  KSCOPE_REQUIRE_IA32();
  expect_abi_known_execs(GetParam(), /*ia32=*/true);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceExec, ::testing::ValuesIn(hook_names("exec")), hook_param_name);

}  // namespace
}  // namespace kscope::test
