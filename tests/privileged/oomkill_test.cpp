// trace oomkill against the real kernel: oom_known's child moves itself into a memory cgroup
// limited to 32 MiB without swap and touches memory until the OOM killer ends it. The child
// is the trigger and the victim; every field of the one event must name it exactly, the
// cgroup must be the limited one, and the memory must fit the limit, on each hook alternative
// this kernel supports. The cgroup is v2 where cgroup2 has the memory controller (the vm
// tier), else the v1 memory hierarchy of a hybrid host; it is removed afterwards.
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "bpf/mounts.h"
#include "harness.h"

namespace kscope::test {
namespace {

constexpr uint64_t kLimit = 32u << 20;
constexpr uint64_t kMapMib = 256;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return out.good();
}

uint64_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

bool has_word(const std::string& list, const std::string& word, char sep) {
  for (const auto& w : split(list, sep))
    if (w == word || w == word + "\n") return true;
  return false;
}

// The mount point of the cgroup v1 hierarchy that holds the memory controller, or "".
std::string v1_memory_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, opts;
  while (mounts >> dev >> dir >> type >> opts && mounts.ignore(256, '\n'))
    if (type == "cgroup" && has_word(opts, "memory", ',')) return dir;
  return "";
}

// This process's cgroup v2 id (what bpf_get_current_cgroup_id() says of it and its children).
uint64_t own_v2_cgroup_id(const std::string& mount) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("0::")) return inode_of(mount + line.substr(3));
  return 0;
}

// A memory cgroup limited to kLimit bytes without swap, removed (and the root's
// subtree_control restored) on destruction.
class MemoryCgroup {
 public:
  // Empty, with the reason in `why`, when this machine offers no memory controller to use.
  static std::optional<MemoryCgroup> make(std::string& why) {
    MemoryCgroup cg;
    std::string name = "/kscope-oomkill-test-" + std::to_string(::getpid());
    auto v2 = cgroup2_mount();
    if (v2 && has_word(read_text(*v2 + "/cgroup.controllers"), "memory", ' ')) {
      cg.v2_ = true;
      cg.root_ = *v2;
      if (!has_word(read_text(*v2 + "/cgroup.subtree_control"), "memory", ' ')) {
        if (!write_text(*v2 + "/cgroup.subtree_control", "+memory")) {
          why = "cannot enable the memory controller in " + *v2 + "/cgroup.subtree_control";
          return std::nullopt;
        }
        cg.enabled_memory_ = true;
      }
    } else {
      cg.root_ = v1_memory_mount();
      if (cg.root_.empty()) {
        why = "no memory cgroup controller: neither cgroup2 nor a v1 hierarchy has it";
        return std::nullopt;
      }
    }
    cg.path_ = cg.root_ + name;
    if (::mkdir(cg.path_.c_str(), 0755) != 0) {
      why = "cannot create " + cg.path_ + ": " + std::strerror(errno);
      cg.path_.clear();
      return std::nullopt;
    }
    std::string limit = std::to_string(kLimit);
    bool ok = cg.v2_ ? write_text(cg.path_ + "/memory.max", limit)
                     : write_text(cg.path_ + "/memory.limit_in_bytes", limit);
    // No swap to escape to: absent files mean the kernel accounts no swap here.
    if (cg.v2_ && access((cg.path_ + "/memory.swap.max").c_str(), F_OK) == 0)
      ok = ok && write_text(cg.path_ + "/memory.swap.max", "0");
    if (!cg.v2_ && access((cg.path_ + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0)
      ok = ok && write_text(cg.path_ + "/memory.memsw.limit_in_bytes", limit);
    if (!ok) {
      why = "cannot limit " + cg.path_;
      return std::nullopt;
    }
    return cg;
  }
  MemoryCgroup(MemoryCgroup&& o) noexcept
      : v2_(o.v2_),
        enabled_memory_(std::exchange(o.enabled_memory_, false)),
        root_(o.root_),
        path_(std::exchange(o.path_, "")) {}
  MemoryCgroup& operator=(MemoryCgroup&&) = delete;
  ~MemoryCgroup() {
    // The reaped child leaves the cgroup at once; its memory's release may lag a little.
    for (int i = 0; !path_.empty() && ::rmdir(path_.c_str()) != 0 && i < 100; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!path_.empty() && access(path_.c_str(), F_OK) == 0)
      ADD_FAILURE() << "cannot remove " << path_ << ": " << std::strerror(errno);
    if (enabled_memory_) {
      EXPECT_TRUE(write_text(root_ + "/cgroup.subtree_control", "-memory"));
    }
  }
  std::string procs() const { return path_ + "/cgroup.procs"; }
  uint64_t id() const { return inode_of(path_); }
  bool v2() const { return v2_; }
  const std::string& root() const { return root_; }

 private:
  MemoryCgroup() = default;
  bool v2_ = false;
  bool enabled_memory_ = false;  // this test turned the controller on in the root
  std::string root_, path_;
};

struct Expected {
  int64_t pid = 0;
  std::string comm;
  int64_t score_adj = 0;
  uint64_t map_kib = 0;
};

struct Traced {
  Expected want;
  std::vector<EventRecord> events;  // whose victim is oom_known's child
  unsigned long long lost = 0;
  bool all_claimed = false;
};

Traced trace_oom_known(const std::string& hook, const MemoryCgroup& cg, TaskFlags task = {}) {
  Traced run;
  LiveTool live("oomkill");
  auto opened = live.open(hook, task);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  std::string dir = temp_dir();
  std::string expected = dir + "/expected.tsv";
  EXPECT_EQ(run_while_draining(
                {testprog("oom_known"), cg.procs(), expected, std::to_string(kMapMib)}, *rb),
            0);
  auto rows = read_tsv(expected);
  EXPECT_EQ(rows.size(), 1u);
  if (rows.size() == 1) {
    const auto& f = rows[0];
    run.want = {std::stoll(f.at(0)), f.at(1), std::stoll(f.at(2)), std::stoull(f.at(3))};
  }
  for (auto& e : sink.events)
    if (e.integer("victim_tid") == run.want.pid) run.events.push_back(std::move(e));
  run.lost = live.lost();
  run.all_claimed = live.all_claimed();
  std::remove(expected.c_str());
  rmdir(dir.c_str());
  return run;
}

class TraceOomkill : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KSCOPE_REQUIRE_PRIVILEGES();
    KSCOPE_REQUIRE_HOOK("oomkill", GetParam());
    std::string why;
    auto made = MemoryCgroup::make(why);
    if (!made) GTEST_SKIP() << "oomkill test skipped: " << why;
    cg.emplace(std::move(*made));
  }
  std::optional<MemoryCgroup> cg;
};

TEST_P(TraceOomkill, VictimTriggerMemoryAndCgroupExact) {
  Traced run = trace_oom_known(GetParam(), *cg);
  EXPECT_EQ(run.lost, 0u);
  ASSERT_EQ(run.events.size(), 1u) << "one event for the one victim";
  const EventRecord& e = run.events[0];
  const bool task_seen = GetParam() != "tracepoint";  // the record has no task
  const bool oom_control_seen = GetParam() == "kprobe" || GetParam() == "fentry";

  // The child allocated: it is the trigger as well as the victim.
  EXPECT_EQ(e.integer("pid"), run.want.pid);
  EXPECT_EQ(e.integer("tid"), run.want.pid);
  EXPECT_EQ(e.text("comm"), run.want.comm);
  EXPECT_EQ(e.integer("victim_tid"), run.want.pid);
  EXPECT_EQ(e.integer("victim_pid"), task_seen ? run.want.pid : 0);
  EXPECT_EQ(e.text("victim_comm"), run.want.comm);
  EXPECT_EQ(e.integer("victim_uid"), 0);
  EXPECT_EQ(e.integer("oom_score_adj"), run.want.score_adj);

  // The limited cgroup ran out, whatever the hook: the tracepoint hooks tell it from the
  // child's reclaim, kprobe and fentry from the oom_control, which also holds the limit.
  EXPECT_EQ(e.text("domain"), "memcg");
  EXPECT_EQ(e.uinteger("oom_cgroup_id"), cg->id());
  uint64_t page = sysconf(_SC_PAGESIZE);
  EXPECT_EQ(e.uinteger("totalpages"), oom_control_seen ? kLimit / page : 0);
  // The victim's cgroup v2: the limited one on v2; on a v1 memory hierarchy the child's v2
  // cgroup is this test's, as the trigger's (the same task) says too.
  uint64_t v2_id = cg->v2() ? cg->id() : own_v2_cgroup_id(cgroup2_mount().value_or(""));
  EXPECT_EQ(e.uinteger("cgroup_id"), v2_id);
  EXPECT_EQ(e.uinteger("victim_cgroup_id"), task_seen ? v2_id : 0);

  // Its memory: the whole mapping in total_vm; resident, what the limit let it touch, within
  // the kernel's own pages charged to the cgroup and its per-CPU counters' slack, and the
  // mapped program and C library (shmem on the vm tier's initramfs, file pages elsewhere).
  uint64_t limit_kib = kLimit >> 10;
  EXPECT_GE(e.uinteger("total_vm_kb"), run.want.map_kib);
  EXPECT_LE(e.uinteger("total_vm_kb"), run.want.map_kib + 64 * 1024);
  EXPECT_GE(e.uinteger("anon_rss_kb"), limit_kib / 2);
  EXPECT_LE(e.uinteger("anon_rss_kb"), limit_kib + 2048);
  EXPECT_LE(e.uinteger("file_rss_kb") + e.uinteger("shmem_rss_kb"), 16u * 1024);
  EXPECT_EQ(e.uinteger("rss_kb"),
            e.uinteger("anon_rss_kb") + e.uinteger("file_rss_kb") + e.uinteger("shmem_rss_kb"));
  EXPECT_GT(e.uinteger("pgtables_kb"), 0u);
  EXPECT_LE(e.uinteger("pgtables_kb"), 1024u);
}

// --comm matches the trigger, in the probe: another name hides the kill.
TEST_P(TraceOomkill, TriggerFilterInTheKernel) {
  Traced run = trace_oom_known(GetParam(), *cg, {.comm = "ok_other"});
  EXPECT_TRUE(run.all_claimed) << "the probe left a clause to user space";
  EXPECT_GT(run.want.pid, 0);
  EXPECT_TRUE(run.events.empty()) << "a kill whose trigger --comm excludes";
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceOomkill, ::testing::ValuesIn(hook_names("oomkill")),
                         hook_param_name);

}  // namespace
}  // namespace kscope::test
