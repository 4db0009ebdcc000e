// trace biolatency against the real kernel: biolatency_known's direct 4 KiB reads and writes
// of a loop device over a file, each one request of its own, must all be counted, in total,
// per disk, per operation and with queue time, on each hook alternative this kernel
// supports, in plausible slots, and with nothing sent through the ring buffer.
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>

#include <numeric>

#include "biolatency.h"
#include "harness.h"

namespace kscope::test {
namespace {

constexpr int kReads = 200, kWrites = 50;
constexpr size_t kBlock = 4096;

// A loop device over a new file, set to detach when its last user closes it: this process
// holds it open, so it goes away with the test, however the test ends.
class LoopDevice {
 public:
  LoopDevice() {
    char backing[] = "/tmp/kscope-loop-XXXXXX";
    int file = mkstemp(backing);
    if (file < 0) return;
    unlink(backing);
    if (ftruncate(file, (kReads + kWrites) * kBlock) == 0) attach(file);
    close(file);
  }
  ~LoopDevice() {
    if (fd_ >= 0) {
      ioctl(fd_, LOOP_CLR_FD);
      close(fd_);
    }
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  bool ok() const { return fd_ >= 0; }
  int number() const { return n_; }
  std::string name() const { return "loop" + std::to_string(n_); }
  std::string path() const { return "/dev/" + name(); }
  // Requests the device completed, as its block statistics count them: reads, writes.
  std::pair<uint64_t, uint64_t> completed() const {
    std::ifstream in("/sys/block/" + name() + "/stat");
    uint64_t f[5] = {};
    for (auto& x : f) in >> x;
    return {f[0], f[4]};
  }

 private:
  void attach(int file) {
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) return;
    for (int attempt = 0; attempt < 10 && fd_ < 0; ++attempt) {
      n_ = ioctl(control, LOOP_CTL_GET_FREE);
      if (n_ < 0) break;
      int fd = open(("/dev/loop" + std::to_string(n_)).c_str(), O_RDWR | O_CLOEXEC);
      loop_config config{};
      config.fd = file;
      config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      if (fd >= 0 && ioctl(fd, LOOP_CONFIGURE, &config) == 0) fd_ = fd;
      else if (fd >= 0) close(fd);  // taken meanwhile by someone else: ask again
    }
    close(control);
  }
  int fd_ = -1, n_ = -1;
};

struct Traced {
  std::vector<EventRecord> hists;
  size_t ring_records = 0;
  unsigned long long lost = 0, start_full = 0, hists_full = 0;
  uint64_t reads = 0, writes = 0;  // completed on the loop device meanwhile, by its statistics
  int status = -1;
};

Traced trace_loop_io(const std::string& hook, const LoopDevice& loop,
                  std::initializer_list<const char*> flags, bool only_this_disk) {
  Traced run;
  LiveTool live("biolatency");
  for (const char* f : flags) live.args.set(f).on = true;
  if (only_this_disk) live.args.set("--disk").text = loop.name();
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  EXPECT_TRUE(live.all_claimed()) << "the probe left a clause to user space";
  CollectSink ring(live);
  auto rb = event_ring(*live.probe, ring);
  EXPECT_TRUE(rb);
  if (!rb) return run;
  auto [reads, writes] = loop.completed();
  run.status = run_while_draining({testprog("biolatency_known"), loop.path(),
                                   std::to_string(kReads), std::to_string(kWrites)},
                                  *rb);
  auto [reads_after, writes_after] = loop.completed();
  run.reads = reads_after - reads;
  run.writes = writes_after - writes;
  run.hists = take_snapshot(live);
  run.ring_records = ring.events.size() + ring.malformed;
  run.lost = live.lost();
  run.start_full = live.counted("bio_start_full");
  run.hists_full = live.counted("bio_hists_full");
  return run;
}

uint64_t total(const OwnedHist& h) { return std::accumulate(h.begin(), h.end(), uint64_t{0}); }

// Every request took at least 2 us (slot 0 holds 0 and 1) and less than 2^21 units (2 s, or
// 35 minutes in ms): a loop request goes through a kernel worker and the page cache.
void expect_plausible(const EventRecord& e) {
  const auto& h = e.hist("hist");
  ASSERT_EQ(h.size(), size_t{KS_LOG2_SLOTS});
  if (e.text("unit") == "usecs") {
    EXPECT_EQ(h[0], 0u) << "a request under 2 us";
  }
  for (size_t i = 21; i < h.size(); ++i) EXPECT_EQ(h[i], 0u) << "a request of 2^" << i << " units";
  EXPECT_EQ(e.uinteger("count"), total(h));
}

void expect_clean(const Traced& run) {
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.ring_records, 0u) << "an aggregating probe sent ring buffer records";
  EXPECT_EQ(run.lost, 0u);
  EXPECT_EQ(run.start_full, 0u);
  EXPECT_EQ(run.hists_full, 0u);
  // Nothing but biolatency_known used the device, one request per read or write.
  EXPECT_EQ(run.reads, uint64_t{kReads});
  EXPECT_EQ(run.writes, uint64_t{kWrites});
}

class TraceBiolatency : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KSCOPE_REQUIRE_PRIVILEGES();
    KSCOPE_REQUIRE_HOOK("biolatency", GetParam());
    if (access("/dev/loop-control", F_OK) != 0)
      GTEST_SKIP() << "no /dev/loop-control: the loop driver is not loaded (modprobe loop)";
    ASSERT_TRUE(loop_.ok()) << "could not set up a loop device: " << strerror(errno);
  }
  LoopDevice loop_;
};

// --disk: one histogram, of that disk, counting every request exactly once.
TEST_P(TraceBiolatency, EveryRequestOfOneDiskCountedOnce) {
  Traced run = trace_loop_io(GetParam(), loop_, {}, /*only_this_disk=*/true);
  expect_clean(run);
  ASSERT_EQ(run.hists.size(), 1u);
  const EventRecord& e = run.hists[0];
  EXPECT_EQ(e.text("disk"), loop_.name());
  EXPECT_EQ(e.integer("major"), 7);  // LOOP_MAJOR
  EXPECT_EQ(e.integer("minor"), loop_.number());
  EXPECT_EQ(e.text("op"), "");
  EXPECT_EQ(e.text("unit"), "usecs");
  EXPECT_FALSE(e.boolean("queued"));
  EXPECT_EQ(e.uinteger("count"), uint64_t{kReads + kWrites});
  expect_plausible(e);
}

// -D: a histogram per disk; the loop device's has its requests, named by its name.
TEST_P(TraceBiolatency, PerDiskHistogramNamesTheDisk) {
  Traced run = trace_loop_io(GetParam(), loop_, {"--per-disk"}, /*only_this_disk=*/false);
  expect_clean(run);
  const EventRecord* mine = nullptr;
  for (const auto& e : run.hists) {
    EXPECT_FALSE(e.text("disk").empty()) << "a disk with no name, minor " << e.integer("minor");
    if (e.text("disk") == loop_.name()) {
      EXPECT_EQ(mine, nullptr) << "two histograms of one disk";
      mine = &e;
    }
  }
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->integer("minor"), loop_.number());
  EXPECT_EQ(mine->uinteger("count"), uint64_t{kReads + kWrites});
  expect_plausible(*mine);
}

// -F: reads and writes apart; a direct write is a sync write (REQ_SYNC | REQ_IDLE).
TEST_P(TraceBiolatency, PerFlagsHistogramsSplitReadsAndWrites) {
  Traced run = trace_loop_io(GetParam(), loop_, {"--flags"}, /*only_this_disk=*/true);
  expect_clean(run);
  uint64_t reads = 0, writes = 0;
  for (const auto& e : run.hists) {
    SCOPED_TRACE(e.text("op") + " " + std::to_string(e.uinteger("flags")));
    EXPECT_EQ(e.text("disk"), loop_.name());
    if (e.text("op") == "read") {
      reads += e.uinteger("count");
    } else if (e.text("op") == "write") {
      writes += e.uinteger("count");
      EXPECT_TRUE(e.uinteger("flags") & KS_BIO_SYNC);
    } else {
      ADD_FAILURE() << "an operation biolatency_known did not ask for";
    }
    expect_plausible(e);
  }
  EXPECT_EQ(reads, uint64_t{kReads});
  EXPECT_EQ(writes, uint64_t{kWrites});
}

// -Q -m: from insertion (or issue, for a request that skips the queue), in milliseconds.
TEST_P(TraceBiolatency, QueuedInMilliseconds) {
  Traced run =
      trace_loop_io(GetParam(), loop_, {"--queued", "--milliseconds"}, /*only_this_disk=*/true);
  expect_clean(run);
  ASSERT_EQ(run.hists.size(), 1u);
  const EventRecord& e = run.hists[0];
  EXPECT_TRUE(e.boolean("queued"));
  EXPECT_EQ(e.text("unit"), "msecs");
  EXPECT_EQ(e.uinteger("count"), uint64_t{kReads + kWrites});
  expect_plausible(e);
}

// A snapshot empties the maps: the next interval starts from nothing.
TEST_P(TraceBiolatency, SnapshotStartsTheNextIntervalEmpty) {
  LiveTool live("biolatency");
  live.args.set("--disk").text = loop_.name();
  auto opened = live.open(GetParam());
  ASSERT_TRUE(opened) << opened.error().message;
  std::string dev = loop_.path();
  for (int interval = 0; interval < 2; ++interval) {
    pid_t pid;
    std::vector<std::string> argv = {testprog("biolatency_known"), dev, "20", "0"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_EQ(status, 0);
    auto hists = take_snapshot(live);
    ASSERT_EQ(hists.size(), 1u) << "interval " << interval;
    EXPECT_EQ(hists[0].uinteger("count"), 20u) << "interval " << interval;
  }
  EXPECT_TRUE(take_snapshot(live).empty()) << "an interval without I/O has no histogram";
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceBiolatency, ::testing::ValuesIn(hook_names("biolatency")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
