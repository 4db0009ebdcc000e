// trace exec against the real kernel: exec_many execs 1000 known argvs (spaces, quotes, an
// empty argument, a 2000-byte argument, failing execs, another uid) and every field of
// every exec must come back exactly, on each hook alternative this kernel supports.
#include <map>

#include "harness.h"
#include "pipeline/header.h"
#include "sources/exec_source.h"

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

// Applies the same limits the user asked for to the argv the program passed.
std::pair<std::vector<std::string>, bool> limited(std::vector<std::string> args, const ArgLimits& l) {
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
  std::map<uint32_t, std::vector<ExecEvent>> by_pid;
  unsigned long long lost = 0;
  size_t malformed = 0;
};

Traced trace_exec_many(const ProbeConfig& config, const ArgLimits& limits, int n) {
  Traced run;
  auto probe = open_exec_probe(config, limits);
  EXPECT_TRUE(probe) << probe.error().message;
  if (!probe) return run;
  auto decode = [limits](std::span<const std::byte> r) { return decode_exec(r, limits); };
  CollectSink sink(decode);
  auto rb = RingBuffer::create((*probe)->events_fd(), sink);
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
  for (auto& e : sink.events) run.by_pid[e.hdr.tgid].push_back(std::move(e));
  run.lost = read_percpu_sum((*probe)->lost_fd()).value_or(~0ull);
  run.malformed = sink.malformed;
  std::remove(expected.c_str());
  std::remove(target.c_str());
  rmdir(dir.c_str());
  return run;
}

class TraceExec : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceExec, EveryExecWithEveryFieldExact) {
  KSCOPE_REQUIRE_PRIVILEGES();
  ProbeConfig config;
  config.hook = GetParam();
  config.failed = true;  // failed execs too
  ArgLimits limits;
  Traced run = trace_exec_many(config, limits, 1000);
  ASSERT_EQ(run.expected.size(), 1000u);
  EXPECT_EQ(run.lost, 0u);
  EXPECT_EQ(run.malformed, 0u);
  size_t failed = 0, other_uid = 0, cut = 0;
  for (const auto& x : run.expected) {
    auto it = run.by_pid.find(x.pid);
    ASSERT_NE(it, run.by_pid.end()) << "no exec event for pid " << x.pid << " (" << x.args[1] << ")";
    ASSERT_EQ(it->second.size(), 1u) << "pid " << x.pid;
    const ExecEvent& e = it->second.front();
    auto [args, truncated] = limited(x.args, limits);
    EXPECT_EQ(e.hdr.tgid, x.pid);
    EXPECT_EQ(e.hdr.pid, x.pid);
    EXPECT_EQ(e.ppid, x.ppid);
    EXPECT_EQ(e.ns_pid, x.pid);  // no pid namespace here: the same number
    EXPECT_EQ(e.hdr.uid, x.uid);
    EXPECT_EQ(comm_of(e.hdr), x.comm);
    EXPECT_EQ(e.ret, x.ret);
    EXPECT_EQ(e.args, args) << "pid " << x.pid;
    EXPECT_EQ(e.args_truncated, truncated) << "pid " << x.pid;
    failed += x.ret != 0;
    other_uid += x.uid == 65534;
    cut += truncated;
  }
  // The program really exercised every case.
  EXPECT_EQ(failed, 200u);
  EXPECT_GT(other_uid, 100u);
  EXPECT_EQ(cut, 20u);
}

// Without --failed only successful execs come out; with it, failed ones too. The uid
// filter works in the kernel either way.
TEST_P(TraceExec, FailedExecsOnlyWithFailedAndUidFilterInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  for (bool failed : {false, true}) {
    SCOPED_TRACE(failed ? "--failed" : "default");
    ProbeConfig config;
    config.hook = GetParam();
    config.failed = failed;
    config.filter.uid = 65534;
    Traced run = trace_exec_many(config, ArgLimits{}, 200);
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
        EXPECT_EQ(e.hdr.uid, 65534u);
        failures += e.ret != 0;
      }
    if (failed) EXPECT_GT(failures, 0u);
    else EXPECT_EQ(failures, 0u);
  }
}

TEST_P(TraceExec, ArgumentLimitsCutAndMark) {
  KSCOPE_REQUIRE_PRIVILEGES();
  ProbeConfig config;
  config.hook = GetParam();
  config.failed = true;  // the failed-exec path applies the limits in the probe
  ArgLimits limits{.max_args = 3, .max_arg_len = 5};
  Traced run = trace_exec_many(config, limits, 40);
  ASSERT_EQ(run.expected.size(), 40u);
  for (const auto& x : run.expected) {
    auto it = run.by_pid.find(x.pid);
    ASSERT_NE(it, run.by_pid.end());
    const ExecEvent& e = it->second.front();
    auto [args, truncated] = limited(x.args, limits);
    EXPECT_EQ(e.args, args) << "pid " << x.pid << " ret " << x.ret;
    EXPECT_TRUE(e.args_truncated);
    EXPECT_TRUE(truncated);
  }
}

// A process in its own pid namespace: the host pid, and pid 1 inside.
TEST_P(TraceExec, PidInsideItsOwnPidNamespace) {
  KSCOPE_REQUIRE_PRIVILEGES();
  ProbeConfig config;
  config.hook = GetParam();
  config.filter.comm = "exec_target";
  ArgLimits limits;
  auto probe = open_exec_probe(config, limits);
  ASSERT_TRUE(probe) << probe.error().message;
  CollectSink sink([limits](std::span<const std::byte> r) { return decode_exec(r, limits); });
  auto rb = RingBuffer::create((*probe)->events_fd(), sink);
  ASSERT_TRUE(rb);
  ASSERT_EQ(run_while_draining({"/usr/bin/unshare", "--pid", "--fork", testprog("exec_target"),
                                "kscope-pidns"},
                               *rb),
            0);
  std::vector<const ExecEvent*> mine;
  for (const auto& e : sink.events)
    if (e.args == std::vector<std::string>{testprog("exec_target"), "kscope-pidns"}) mine.push_back(&e);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]->ns_pid, 1u);
  EXPECT_NE(mine[0]->hdr.tgid, 1u);
  EXPECT_EQ(mine[0]->ret, 0);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceExec, ::testing::Values("tracepoint", "tp_btf"));

}  // namespace
}  // namespace kscope::test
