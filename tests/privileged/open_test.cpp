// trace open against the real kernel: open_known opens known paths with known flags and
// modes through openat and openat2, some failing with known errnos; every field of every
// open must come back exactly, on each hook alternative this kernel supports.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <iostream>

#include <map>
#include <tuple>

#include "harness.h"

namespace kscope::test {
namespace {

struct Expected {
  uint32_t pid, tid;
  std::string syscall;
  int32_t dfd;
  uint64_t flags;
  uint32_t mode;
  int32_t ret;
  std::string path;
};

struct Traced {
  std::vector<Expected> expected;
  std::vector<EventRecord> events;  // of open_known only
  unsigned long long lost = 0;
  bool all_claimed = false;
};

Traced trace_open_known(const std::string& hook, bool failed = false,
                        const std::string& prefix_in_dir = {}) {
  Traced run;
  std::string dir = temp_dir();
  LiveTool live("open");
  live.args.set("--failed").on = failed;
  if (!prefix_in_dir.empty()) live.args.set("--path").text = dir + prefix_in_dir;
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  std::string expected = dir + "-expected.tsv";
  EXPECT_EQ(run_while_draining({testprog("open_known"), dir, expected}, *rb), 0);
  for (const auto& f : read_tsv(expected))
    run.expected.push_back({static_cast<uint32_t>(std::stoul(f.at(0))),
                            static_cast<uint32_t>(std::stoul(f.at(1))), f.at(2), std::stoi(f.at(3)),
                            std::stoull(f.at(4)), static_cast<uint32_t>(std::stoul(f.at(5))),
                            std::stoi(f.at(6)), f.at(7)});
  int64_t pid = run.expected.empty() ? 0 : run.expected.front().pid;
  for (auto& e : sink.events)
    if (e.integer("pid") == pid && e.text("comm") == "open_known") run.events.push_back(std::move(e));
  run.lost = live.lost();
  run.all_claimed = live.all_claimed();
  std::remove(expected.c_str());
  std::system(("rm -rf '" + dir + "'").c_str());
  return run;
}

// open_known also opens its libraries and EXPECTED; the known opens are those of the test
// directory, of paths in it, and of paths relative to it.
std::vector<size_t> known_events(const Traced& run, const std::string& dir) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < run.events.size(); ++i) {
    const std::string& p = run.events[i].text("path");
    if (p == dir || p.starts_with(dir + "/") || p.front() != '/') idx.push_back(i);
  }
  return idx;
}

class TraceOpen : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceOpen, EveryOpenWithEveryFieldExact) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  Traced run = trace_open_known(GetParam());
  ASSERT_EQ(run.expected.size(), 16u);
  EXPECT_EQ(run.lost, 0u);
  std::string dir = run.expected.front().path.substr(0, run.expected.front().path.rfind('/'));
  auto idx = known_events(run, dir);
  ASSERT_EQ(idx.size(), run.expected.size());
  for (size_t k = 0; k < idx.size(); ++k) {
    const EventRecord& e = run.events[idx[k]];
    const Expected& x = run.expected[k];
    SCOPED_TRACE(x.path);
    EXPECT_EQ(e.integer("pid"), x.pid);
    EXPECT_EQ(e.integer("tid"), x.tid);
    EXPECT_EQ(e.text("syscall"), x.syscall);
    EXPECT_EQ(e.integer("dfd"), x.dfd);
    EXPECT_EQ(e.uinteger("flags"), x.flags);
    EXPECT_EQ(e.uinteger("mode"), x.mode);
    EXPECT_EQ(e.integer("fd"), x.ret >= 0 ? x.ret : -1);
    EXPECT_EQ(e.integer("errno"), x.ret < 0 ? -x.ret : 0);
    EXPECT_EQ(e.text("path"), x.path);
    EXPECT_FALSE(e.boolean("path_unreadable"));
    EXPECT_FALSE(e.boolean("how_unreadable"));
    EXPECT_EQ(e.integer("uid"), 0);
  }
  // The errnos the program provoked, in order.
  std::vector<int> errs;
  for (const auto& x : run.expected)
    if (x.ret < 0) errs.push_back(-x.ret);
  EXPECT_EQ(errs, (std::vector<int>{EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTDIR, ENOENT}));
}

// openat's flags are an int and its mode a umode_t: open_known passes both with garbage in the
// upper bits of their registers, and the events carry only what the kernel uses.
TEST_P(TraceOpen, OpenatFlagsAndModeIgnoreUpperRegisterBits) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  Traced run = trace_open_known(GetParam());
  std::vector<const EventRecord*> wide;
  for (const auto& e : run.events)
    if (e.text("path").ends_with("/upper-bits.txt")) wide.push_back(&e);
  ASSERT_EQ(wide.size(), 2u);
  EXPECT_EQ(wide[0]->text("syscall"), "openat");
  EXPECT_EQ(wide[0]->uinteger("flags"), uint64_t{O_WRONLY | O_CREAT});
  EXPECT_EQ(wide[0]->uinteger("mode"), 0640u);
  EXPECT_GE(wide[0]->integer("fd"), 0);
  EXPECT_EQ(wide[1]->uinteger("flags"), uint64_t{O_RDONLY});
  EXPECT_EQ(wide[1]->uinteger("mode"), 0u);
  EXPECT_GE(wide[1]->integer("fd"), 0);
}

TEST_P(TraceOpen, FailedOnlyAndPathPrefixInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  Traced run = trace_open_known(GetParam(), /*failed=*/true, "/created.txt");
  ASSERT_EQ(run.expected.size(), 16u);
  EXPECT_TRUE(run.all_claimed) << "the probe left a clause to user space";
  std::vector<std::string> want;
  std::string dir = run.expected.front().path.substr(0, run.expected.front().path.rfind('/'));
  for (const auto& x : run.expected)
    if (x.ret < 0 && x.path.starts_with(dir + "/created.txt")) want.push_back(x.path);
  std::vector<std::string> got;
  for (const auto& e : run.events) got.push_back(e.text("path"));
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), 3u);  // EEXIST, ENOTDIR (openat), ENOTDIR (openat2)
}

// A --path longer than the probe compares stays a user-space clause: the probe claims
// --failed but not the prefix, and the sink still shows only the matching paths.
TEST_P(TraceOpen, LongPathPrefixStaysInUserSpace) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  LiveTool live("open");
  live.args.set("--failed").on = true;
  live.args.set("--path").text = "/" + std::string(299, 'p');
  ASSERT_TRUE(live.open(GetParam()));
  ASSERT_EQ(live.filter.size(), 2u);
  EXPECT_EQ(live.filter.clause(0).key, "errno");
  EXPECT_TRUE(live.filter.claimed(0));
  EXPECT_EQ(live.filter.clause(1).key, "path");
  EXPECT_FALSE(live.filter.claimed(1));
}

// A file for open_storm in a directory of its own, removed with it, and the open probe on
// the storm's opens of that file only (--comm, --path).
struct OpenStorm {
  std::string dir = temp_dir();
  std::string file = dir + "/storm.txt";
  LiveTool live{"open"};
  Result<void> opened;

  OpenStorm(const std::string& hook, std::optional<uint32_t> ring_bytes = std::nullopt) {
    std::fclose(std::fopen(file.c_str(), "w"));
    live.args.set("--path").text = file;
    opened = ring_bytes ? live.open(hook, {.comm = "open_storm"}, *ring_bytes)
                        : live.open(hook, {.comm = "open_storm"});
  }
  ~OpenStorm() { std::system(("rm -rf '" + dir + "'").c_str()); }
};

// A ring buffer of one page that nobody drains during a storm: every open is either
// delivered or counted lost, exactly.
TEST_P(TraceOpen, EveryEventDeliveredOrCountedLost) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  constexpr int kOpens = 20000;
  OpenStorm storm(GetParam(), static_cast<uint32_t>(sysconf(_SC_PAGESIZE)));
  ASSERT_TRUE(storm.opened) << storm.opened.error().message;
  CollectSink sink(storm.live);
  auto rb = event_ring(*storm.live.probe, sink);
  ASSERT_TRUE(rb);
  ASSERT_EQ(run_while_draining({testprog("open_storm"), std::to_string(kOpens), storm.file}, *rb,
                               /*drain=*/false),
            0);
  (void)rb->consume();
  auto lost = read_percpu_sum(storm.live.probe->lost_fd());
  ASSERT_TRUE(lost);
  EXPECT_GT(sink.events.size(), 0u);
  EXPECT_GT(*lost, 0u);
  EXPECT_EQ(sink.events.size() + *lost, static_cast<size_t>(kOpens));
}

// A storm through the probe's per-CPU stage (probes/common/stage.bpf.h): every open arrives,
// none lost, and the ring buffer carries them in batches, far fewer records than events.
// PREEMPT_RT leaves the stage off: one record per event.
TEST_P(TraceOpen, AStormGoesOutInBatchesAndArrivesWhole) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  constexpr size_t kOpens = 5000;
  OpenStorm storm(GetParam());
  ASSERT_TRUE(storm.opened) << storm.opened.error().message;
  CollectSink sink(storm.live);
  auto rb = event_ring(*storm.live.probe, sink);
  ASSERT_TRUE(rb);
  size_t ring_records = 0;
  std::string prog = testprog("open_storm"), count = std::to_string(kOpens);
  std::vector<char*> argv = {prog.data(), count.data(), storm.file.data(), nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  int status = 0;
  for (bool done = false; !done; usleep(5000)) {
    done = waitpid(pid, &status, WNOHANG) != 0;
    auto n = rb->consume();  // after the exit too: the last drain sends out what is staged
    ASSERT_TRUE(n);
    ring_records += *n;
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(storm.live.lost(), 0u);
  ASSERT_EQ(sink.events.size(), kOpens);
  for (const auto& e : sink.events) {
    EXPECT_EQ(e.text("path"), storm.file);
    EXPECT_EQ(e.integer("pid"), pid);
  }
  std::cerr << "open storm: " << kOpens << " events in " << ring_records
            << " ring buffer records\n";
  if (kernel_is_preempt_rt())
    EXPECT_EQ(ring_records, kOpens);
  else
    EXPECT_LE(ring_records * 8, kOpens) << "batches of up to 32 events";
}

// abi_known opens files through openat and openat2 natively, two with a path or open_how in
// unmapped memory (flagged path_unreadable, how_unreadable); abi_known32 the same as a
// 32-bit task (ia32 openat is 295, openat2 437 in both ABIs), which also makes syscall 257,
// x86-64's openat, with a path where openat's would be. tp_btf reports each open with its
// arguments read from the ABI's own registers; the syscalls tracepoints see no 32-bit
// syscall; neither reports the unrelated one.
void expect_abi_known_opens(const std::string& hook, bool ia32) {
  LiveTool live("open");
  auto opened = live.open(hook);
  ASSERT_TRUE(opened) << opened.error().message;
  AbiKnown run = run_abi_known(live, ia32);

  // syscall, what could not be read, dfd, flags, mode, fd, errno, path
  using Open = std::tuple<std::string, std::string, int64_t, uint64_t, uint64_t, int64_t, int64_t,
                          std::string>;
  std::vector<Open> want;
  for (const auto& l : run.lines)
    if (l.at(1) == "open" && (!ia32 || hook == "tp_btf")) {
      int64_t ret = std::stol(l.at(2));
      want.emplace_back(l.at(4), l.at(3), std::stol(l.at(5)), std::stoull(l.at(6)),
                        std::stoull(l.at(7)), ret >= 0 ? ret : -1, ret < 0 ? -ret : 0, l.at(8));
    }
  // abi_known32 is static: every open it makes is one of EXPECTED's. abi_known's loader opens
  // libraries too.
  std::vector<Open> got;
  for (const auto& e : run.events) {
    std::string partial = partial_flag(e, {"path_unreadable", "how_unreadable"});
    if (e.integer("pid") == run.pid() &&
        (ia32 || e.text("path").starts_with(run.dir) || partial != "-"))
      got.emplace_back(e.text("syscall"), partial, e.integer("dfd"), e.uinteger("flags"),
                       e.uinteger("mode"), e.integer("fd"), e.integer("errno"), e.text("path"));
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), ia32 && hook != "tp_btf" ? 0u : 5u);
  EXPECT_EQ(live.lost(), 0u);
}

TEST_P(TraceOpen, NativeOpensOfAbiKnown) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  expect_abi_known_opens(GetParam(), /*ia32=*/false);
}

TEST_P(TraceOpen, ThirtyTwoBitTaskOpensInTheirOwnAbi) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", GetParam());
  KSCOPE_REQUIRE_IA32();
  expect_abi_known_opens(GetParam(), /*ia32=*/true);
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceOpen, ::testing::ValuesIn(hook_names("open")), hook_param_name);

}  // namespace
}  // namespace kscope::test
