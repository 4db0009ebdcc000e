// The feature probes against the real kernel of this project's machines (Linux 6.18, BTF,
// no kprobes, no fentry; see ARCHITECTURE.md), and proof that probing leaves nothing behind.
#include <dirent.h>
#include <linux/capability.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "bpf/capabilities.h"
#include "bpf/features.h"
#include "bpf/mounts.h"

namespace kscope {
namespace {

class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Capabilities caps = current_capabilities();
    if (::geteuid() != 0 && !caps.has(CAP_BPF))
      GTEST_SKIP() << "needs root or CAP_BPF: the feature probes load real BPF programs";
    if (auto p = require_tracing_privileges(caps); !p)
      GTEST_SKIP() << "needs tracing privileges: " << p.error().message;
  }
};

// Ids of the loaded BPF programs whose names start with "probe_" (feature_probes.bpf.c).
std::set<uint32_t> probe_program_ids() {
  std::set<uint32_t> ids;
  for (uint32_t id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
        std::string_view(info.name).starts_with("probe_"))
      ids.insert(id);
    ::close(fd);
  }
  return ids;
}

std::set<std::string> entries(const std::string& dir, std::string_view prefix = {}) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename();
    if (name.starts_with(prefix)) names.insert(name);
  }
  return names;
}

std::string netns_of_self() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/ns/net", ec).string();
}

bool exists(const char* path) { return std::filesystem::exists(path); }

// The kernel's build configuration, when it can be read (/proc/config.gz needs IKCONFIG_PROC;
// distributions ship /boot/config-RELEASE). Empty when neither is there.
std::string kernel_config() {
  std::string text;
  if (FILE* p = ::popen("zcat /proc/config.gz 2>/dev/null", "r")) {
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) text.append(buf, n);
    ::pclose(p);
  }
  if (!text.empty()) return text;
  utsname u;
  ::uname(&u);
  std::ifstream f(std::string("/boot/config-") + u.release);
  return {std::istreambuf_iterator<char>(f), {}};
}

// Whether ftrace can trace this function: fentry attaches through an ftrace trampoline, so a
// function missing from (or an unreadable) available_filter_functions cannot be attached.
bool ftrace_can_trace(std::string_view function) {
  for (const char* path : {"/sys/kernel/tracing/available_filter_functions",
                           "/sys/kernel/debug/tracing/available_filter_functions"}) {
    std::ifstream f(path);
    if (!f) continue;
    std::string line;
    while (std::getline(f, line))
      if (line.substr(0, line.find(' ')) == function) return true;
    return false;
  }
  return false;
}

TEST_F(DoctorTest, HooksAgreeWithTheKernelsOwnEvidence) {
  Features f;  // a fresh cache: every probe really runs
  for (Hook h : {Hook::btf, Hook::ringbuf, Hook::tracepoint, Hook::raw_tp, Hook::tp_btf, Hook::tc,
                 Hook::cgroup_skb, Hook::perf_event}) {
    const FeatureResult& r = f.probe(h);
    EXPECT_TRUE(r.works) << hook_name(h) << ": " << r.reason;
    EXPECT_FALSE(r.reason.empty()) << hook_name(h);
  }

  // kprobes: the kernel has them when it offers the kprobe PMU or tracefs' kprobe_events.
  bool kprobes = exists("/sys/bus/event_source/devices/kprobe/type") ||
                 exists("/sys/kernel/tracing/kprobe_events") ||
                 exists("/sys/kernel/debug/tracing/kprobe_events");
  const FeatureResult& kprobe = f.probe(Hook::kprobe);
  EXPECT_EQ(kprobe.works, kprobes) << kprobe.reason;
  if (!kprobes) {
    EXPECT_NE(kprobe.reason.find("CONFIG_KPROBES"), std::string::npos) << kprobe.reason;
  }

  // fentry: a BPF trampoline on an ftrace-traceable function, in a kernel built for it.
  std::string config = kernel_config();
  bool trampolines = config.empty() ||
                     config.find("CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y") != std::string::npos;
  bool fentry_expected = trampolines && ftrace_can_trace("do_sys_openat2");
  const FeatureResult& fentry = f.probe(Hook::fentry);
  EXPECT_EQ(fentry.works, fentry_expected)
      << fentry.reason << " (config " << (config.empty() ? "unreadable" : "read")
      << ", ftrace can trace do_sys_openat2: " << ftrace_can_trace("do_sys_openat2") << ")";
  if (!fentry.works) {
    EXPECT_NE(fentry.reason.find("fentry"), std::string::npos) << fentry.reason;
  }
}

TEST_F(DoctorTest, ProbingLeavesNothingBehind) {
  auto cgroup_root = cgroup2_mount();
  ASSERT_TRUE(cgroup_root.has_value()) << cgroup_root.error().message;
  const auto cgroups_before = entries(*cgroup_root, "kscope-probe-");
  const auto netns_before = entries("/run/netns");
  const auto progs_before = probe_program_ids();
  const std::string netns_before_self = netns_of_self();

  {
    Features f;
    for (Hook h : kAllHooks) f.probe(h);
    EXPECT_TRUE(f.probe(Hook::tc).works) << f.probe(Hook::tc).reason;
    EXPECT_TRUE(f.probe(Hook::cgroup_skb).works) << f.probe(Hook::cgroup_skb).reason;
  }

  EXPECT_EQ(entries(*cgroup_root, "kscope-probe-"), cgroups_before)
      << "a temporary cgroup of the cgroup_skb probe is left under " << *cgroup_root;
  EXPECT_EQ(entries("/run/netns"), netns_before) << "a named network namespace appeared";
  EXPECT_EQ(netns_of_self(), netns_before_self) << "the probe moved this process' netns";
  // The tc probe's child (and so its network namespace) is gone: no child is left to reap.
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  // Programs go away once their last fd and link are closed; the kernel may take a moment.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto left = [&] {
    std::set<uint32_t> ids;
    for (uint32_t id : probe_program_ids())
      if (!progs_before.contains(id)) ids.insert(id);
    return ids;
  };
  auto progs = left();
  while (!progs.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    progs = left();
  }
  EXPECT_TRUE(progs.empty()) << progs.size() << " feature probe program(s) still loaded";
}

}  // namespace
}  // namespace kscope
