// trace open against the real kernel: open_known opens known paths with known flags and
// modes through openat and openat2, some failing with known errnos; every field of every
// open must come back exactly, on each hook alternative this kernel supports.
#include <map>

#include "harness.h"
#include "pipeline/header.h"
#include "sources/open_source.h"

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
  std::vector<OpenEvent> events;  // of open_known only
  std::vector<std::string> paths;  // owns the bytes events[i].path points at
  unsigned long long lost = 0;
};

Traced trace_open_known(const ProbeConfig& config, const std::string& prefix_in_dir = {}) {
  Traced run;
  std::string dir = temp_dir();
  std::string prefix = prefix_in_dir.empty() ? "" : dir + prefix_in_dir;
  auto probe = open_open_probe(config, prefix);
  EXPECT_TRUE(probe) << probe.error().message;
  if (!probe) return run;
  struct Owned {
    OpenEvent e;
    std::string path;
  };
  auto decode = [](std::span<const std::byte> r) -> Result<Owned> {
    auto e = decode_open(r);
    if (!e) return std::unexpected(e.error());
    return Owned{*e, std::string(e->path)};
  };
  CollectSink sink(decode);
  auto rb = RingBuffer::create((*probe)->events_fd(), sink);
  EXPECT_TRUE(rb);
  std::string expected = dir + "-expected.tsv";
  EXPECT_EQ(run_while_draining({testprog("open_known"), dir, expected}, *rb), 0);
  for (const auto& f : read_tsv(expected))
    run.expected.push_back({static_cast<uint32_t>(std::stoul(f.at(0))),
                            static_cast<uint32_t>(std::stoul(f.at(1))), f.at(2), std::stoi(f.at(3)),
                            std::stoull(f.at(4)), static_cast<uint32_t>(std::stoul(f.at(5))),
                            std::stoi(f.at(6)), f.at(7)});
  uint32_t pid = run.expected.empty() ? 0 : run.expected.front().pid;
  for (auto& o : sink.events)
    if (o.e.hdr.tgid == pid && comm_of(o.e.hdr) == "open_known") {
      run.paths.push_back(o.path);
      run.events.push_back(o.e);
    }
  run.lost = read_percpu_sum((*probe)->lost_fd()).value_or(~0ull);
  std::remove(expected.c_str());
  std::system(("rm -rf '" + dir + "'").c_str());
  return run;
}

// open_known also opens its libraries and EXPECTED; the known opens are those of the test
// directory, of paths in it, and of paths relative to it.
std::vector<size_t> known_events(const Traced& run, const std::string& dir) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < run.events.size(); ++i) {
    const std::string& p = run.paths[i];
    if (p == dir || p.starts_with(dir + "/") || p.front() != '/') idx.push_back(i);
  }
  return idx;
}

class TraceOpen : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceOpen, EveryOpenWithEveryFieldExact) {
  KSCOPE_REQUIRE_PRIVILEGES();
  ProbeConfig config;
  config.hook = GetParam();
  Traced run = trace_open_known(config);
  ASSERT_EQ(run.expected.size(), 14u);
  EXPECT_EQ(run.lost, 0u);
  std::string dir = run.expected.front().path.substr(0, run.expected.front().path.rfind('/'));
  auto idx = known_events(run, dir);
  ASSERT_EQ(idx.size(), run.expected.size());
  for (size_t k = 0; k < idx.size(); ++k) {
    const OpenEvent& e = run.events[idx[k]];
    const Expected& x = run.expected[k];
    SCOPED_TRACE(x.path);
    EXPECT_EQ(e.hdr.tgid, x.pid);
    EXPECT_EQ(e.hdr.pid, x.tid);
    EXPECT_EQ(e.syscall == KS_OPEN_OPENAT2 ? "openat2" : "openat", x.syscall);
    EXPECT_EQ(e.dfd, x.dfd);
    EXPECT_EQ(e.flags, x.flags);
    EXPECT_EQ(e.mode, x.mode);
    EXPECT_EQ(e.ret, x.ret);
    EXPECT_EQ(run.paths[idx[k]], x.path);
    EXPECT_EQ(e.hdr.uid, 0u);
  }
  // The errnos the program provoked, in order.
  std::vector<int> errs;
  for (const auto& x : run.expected)
    if (x.ret < 0) errs.push_back(-x.ret);
  EXPECT_EQ(errs, (std::vector<int>{EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTDIR, ENOENT}));
}

TEST_P(TraceOpen, FailedOnlyAndPathPrefixInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  ProbeConfig config;
  config.hook = GetParam();
  config.failed = true;
  Traced run = trace_open_known(config, "/created.txt");
  ASSERT_EQ(run.expected.size(), 14u);
  std::vector<std::string> want;
  std::string dir = run.expected.front().path.substr(0, run.expected.front().path.rfind('/'));
  for (const auto& x : run.expected)
    if (x.ret < 0 && x.path.starts_with(dir + "/created.txt")) want.push_back(x.path);
  EXPECT_EQ(run.paths, want);
  EXPECT_EQ(want.size(), 3u);  // EEXIST, ENOTDIR (openat), ENOTDIR (openat2)
}

// A ring buffer of one page that nobody drains during a storm: every open is either
// delivered or counted lost, exactly.
TEST_P(TraceOpen, EveryEventDeliveredOrCountedLost) {
  KSCOPE_REQUIRE_PRIVILEGES();
  constexpr int kOpens = 20000;
  std::string dir = temp_dir();
  std::string file = dir + "/storm.txt";
  std::fclose(std::fopen(file.c_str(), "w"));
  ProbeConfig config;
  config.hook = GetParam();
  config.ring_bytes = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  config.filter.comm = "open_storm";
  auto probe = open_open_probe(config, file);
  ASSERT_TRUE(probe) << probe.error().message;
  // Only the count matters; the path views die with each record.
  CollectSink sink([](std::span<const std::byte> r) -> Result<int32_t> {
    auto e = decode_open(r);
    if (!e) return std::unexpected(e.error());
    return e->ret;
  });
  auto rb = RingBuffer::create((*probe)->events_fd(), sink);
  ASSERT_TRUE(rb);
  ASSERT_EQ(run_while_draining({testprog("open_storm"), std::to_string(kOpens), file}, *rb,
                               /*drain=*/false),
            0);
  (void)rb->consume();
  auto lost = read_percpu_sum((*probe)->lost_fd());
  ASSERT_TRUE(lost);
  EXPECT_GT(sink.events.size(), 0u);
  EXPECT_GT(*lost, 0u);
  EXPECT_EQ(sink.events.size() + *lost, static_cast<size_t>(kOpens));
  std::system(("rm -rf '" + dir + "'").c_str());
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceOpen, ::testing::Values("tracepoint", "tp_btf"));

}  // namespace
}  // namespace kscope::test
