#include "bpf/features.h"

#include <sys/utsname.h>

#include <fstream>
#include <string_view>

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <mutex>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "bpf/capabilities.h"
#include "base/log.h"
#include "bpf/skeleton.h"
#include "bpf/mounts.h"
#include "feature_probes.skel.h"

KSCOPE_SKELETON(feature_probes_bpf);

namespace kscope {

bool kernel_is_preempt_rt() {
  static const bool rt = [] {
    std::ifstream f("/sys/kernel/realtime");
    int v = 0;
    if (f >> v) return v == 1;
    utsname u{};
    return uname(&u) == 0 && std::string_view(u.version).find("PREEMPT_RT") != std::string_view::npos;
  }();
  return rt;
}

std::string_view hook_name(Hook h) {
  switch (h) {
    case Hook::btf: return "btf";
    case Hook::ringbuf: return "ringbuf";
    case Hook::tracepoint: return "tracepoint";
    case Hook::raw_tp: return "raw_tp";
    case Hook::tp_btf: return "tp_btf";
    case Hook::kprobe: return "kprobe";
    case Hook::fentry: return "fentry";
    case Hook::tc: return "tc";
    case Hook::cgroup_skb: return "cgroup_skb";
    case Hook::perf_event: return "perf_event";
  }
  return "unknown";
}

std::optional<Hook> hook_from_name(std::string_view name) {
  for (Hook h : kAllHooks)
    if (hook_name(h) == name) return h;
  return std::nullopt;
}

namespace {

using ProbeSkeleton = Skeleton<feature_probes_bpf>;

FeatureResult works(std::string what) { return {true, std::move(what)}; }
FeatureResult missing(std::string why) { return {false, std::move(why)}; }

std::string errno_words(int err) {
  if (err < 0) err = -err;
  if (err == 524) return "ENOTSUPP (524, operation not supported by this kernel)";
  return fmt::format("{} ({})", std::strerror(err), err);
}

// "what failed: errno words" for a failed open or load of the probe object.
std::string load_error(std::string_view what, const Error& e) {
  return e.code ? fmt::format("{}: {}", what, errno_words(e.code))
                : fmt::format("{}: {}", what, e.message);
}

std::string with_libbpf(std::string what, const log::LibbpfCapture& capture) {
  if (auto reason = capture.reason(); !reason.empty())
    what += fmt::format(" [libbpf: {}]", reason);
  return what;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Opens the probe object with only `program` set to load (none for the ring buffer probe),
// and loads it. The ring buffer map is created only when asked, so that a kernel without
// ring buffers still reports its other hooks truthfully.
Result<ProbeSkeleton> load_only(const char* program, bool with_ringbuf = false) {
  auto skel = ProbeSkeleton::open();
  if (!skel) return std::unexpected(skel.error());
  std::vector<std::string> programs;
  if (program) programs.emplace_back(program);
  if (auto r = object::enable_only(skel->object(), programs); !r) return std::unexpected(r.error());
  if (int err = bpf_map__set_autocreate((*skel)->maps.probe_ringbuf, with_ringbuf))
    return fail_errno("feature probe: set autocreate of probe_ringbuf", err);
  if (auto r = skel->load(); !r) return std::unexpected(r.error());
  return skel;
}

bpf_program* program(const ProbeSkeleton& skel, const char* name) {
  return bpf_object__find_program_by_name(skel.object(), name);
}

// Loads `prog_name` and attaches it with libbpf's auto-attach for its SEC(), then detaches.
// `what` names the hook in the reason, e.g. "tracepoint syscalls:sys_enter_getpid".
FeatureResult load_and_attach(const char* prog_name, const std::string& what) {
  log::LibbpfCapture capture;
  auto skel = load_only(prog_name);
  if (!skel) return missing(with_libbpf(load_error("load " + what, skel.error()), capture));
  bpf_link* link = bpf_program__attach(program(*skel, prog_name));
  if (!link) {
    int err = errno;
    return missing(with_libbpf(fmt::format("attach {}: {}", what, errno_words(err)), capture));
  }
  bpf_link__destroy(link);
  return works("loaded and attached " + what);
}

FeatureResult probe_btf() {
  constexpr const char* kPath = "/sys/kernel/btf/vmlinux";
  log::LibbpfCapture capture;
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) {
    int err = errno;
    std::string why = exists(kPath) ? fmt::format("{} does not load: {}", kPath, errno_words(err))
                                    : fmt::format("{} is absent: kernel built without "
                                                  "CONFIG_DEBUG_INFO_BTF", kPath);
    return missing(with_libbpf(std::move(why), capture));
  }
  unsigned types = btf__type_cnt(vmlinux);
  btf__free(vmlinux);
  return works(fmt::format("{} loads ({} types)", kPath, types));
}

FeatureResult probe_ringbuf() {
  log::LibbpfCapture capture;
  auto skel = load_only(nullptr, /*with_ringbuf=*/true);
  if (!skel)
    return missing(with_libbpf(load_error("create a BPF_MAP_TYPE_RINGBUF map", skel.error()) +
                                   (skel.error().code == EPERM ? "" : " (needs Linux 5.8+)"),
                               capture));
  if (bpf_map__fd((*skel)->maps.probe_ringbuf) < 0)
    return missing("create a BPF_MAP_TYPE_RINGBUF map: libbpf did not create it");
  return works("created a BPF_MAP_TYPE_RINGBUF map");
}

FeatureResult probe_tracepoint() {
  auto fs = ensure_tracefs();
  if (!fs) return missing(fs.error().message + " (" + fs.error().hint + ")");
  auto r = load_and_attach("probe_tracepoint", "tracepoint syscalls:sys_enter_getpid");
  if (fs->mounted_by_us) r.reason += " (kscope mounted tracefs at " + fs->path + ")";
  return r;
}

FeatureResult probe_kprobe() {
  auto r = load_and_attach("probe_kprobe", "kprobe do_sys_openat2");
  if (r.works) return r;
  bool pmu = exists("/sys/bus/event_source/devices/kprobe/type");
  bool events = exists("/sys/kernel/tracing/kprobe_events") ||
                exists("/sys/kernel/debug/tracing/kprobe_events");
  if (!pmu && !events)
    r.reason = "kernel built without CONFIG_KPROBES (no kprobe PMU, no kprobe_events): " + r.reason;
  return r;
}

FeatureResult probe_fentry() {
  auto r = load_and_attach("probe_fentry", "fentry do_sys_openat2");
  if (!r.works)
    r.reason += "; fentry/fexit needs a BPF trampoline (CONFIG_FUNCTION_TRACER + "
                "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS)";
  return r;
}

// In a child, in a network namespace of its own, attaches the TC program to that
// namespace's lo (ifindex 1) and removes it again. The machine's interfaces are never
// touched, and the namespace dies with the child. Returns an empty string on success.
std::string tc_attach_in_private_netns(int prog_fd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe: " + errno_words(errno);
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return "fork: " + errno_words(err);
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg;
    log::LibbpfCapture capture;
    if (::unshare(CLONE_NEWNET) != 0) {
      msg = "unshare(CLONE_NEWNET): " + errno_words(errno);
    } else {
      LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);
      LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
      if (int err = bpf_tc_hook_create(&hook); err && err != -EEXIST) {
        msg = with_libbpf("create clsact qdisc on lo: " + errno_words(err), capture);
      } else if ((err = bpf_tc_attach(&hook, &opts))) {
        msg = with_libbpf("attach tc ingress on lo: " + errno_words(err), capture);
      } else {
        opts.prog_fd = 0;
        opts.prog_id = 0;
        opts.flags = 0;
        if ((err = bpf_tc_detach(&hook, &opts)))
          msg = with_libbpf("detach tc ingress on lo: " + errno_words(err), capture);
        hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
        bpf_tc_hook_destroy(&hook);
      }
    }
    if (!msg.empty() && ::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(2);
    ::_exit(msg.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return fmt::format("tc probe child died of signal {}", WTERMSIG(status));
  if (WEXITSTATUS(status) != 0 && msg.empty()) return "tc probe child failed";
  return msg;
}

FeatureResult probe_tc() {
  log::LibbpfCapture capture;
  auto skel = load_only("probe_tc");
  if (!skel)
    return missing(with_libbpf(load_error("load tc (sched_cls) program", skel.error()), capture));
  std::string err = tc_attach_in_private_netns(bpf_program__fd(program(*skel, "probe_tc")));
  if (!err.empty()) return missing(err);
  return works("attached tc clsact ingress on lo of a private network namespace");
}

FeatureResult probe_cgroup_skb() {
  auto root = cgroup2_mount();
  if (!root) return missing(root.error().message + " (" + root.error().hint + ")");
  log::LibbpfCapture capture;
  auto skel = load_only("probe_cgroup_skb");
  if (!skel)
    return missing(
        with_libbpf(load_error("load cgroup_skb/egress program", skel.error()), capture));

  std::string dir = *root + "/kscope-probe-XXXXXX";
  if (!::mkdtemp(dir.data()))
    return missing(fmt::format("create a cgroup under {}: {}", *root, errno_words(errno)));
  FeatureResult result;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    result = missing(fmt::format("open {}: {}", dir, errno_words(errno)));
  } else if (bpf_link* link = bpf_program__attach_cgroup(program(*skel, "probe_cgroup_skb"), fd)) {
    bpf_link__destroy(link);
    result = works("attached cgroup_skb/egress to a temporary cgroup under " + *root);
  } else {
    int err = errno;
    result = missing(with_libbpf(fmt::format("attach cgroup_skb/egress to {}: {}", dir,
                                             errno_words(err)),
                                 capture));
  }
  if (fd >= 0) ::close(fd);
  if (::rmdir(dir.c_str()) != 0)
    log::warn("feature probe: remove temporary cgroup {}: {}", dir, std::strerror(errno));
  return result;
}

FeatureResult probe_perf_event() {
  log::LibbpfCapture capture;
  auto skel = load_only("probe_perf_event");
  if (!skel)
    return missing(with_libbpf(load_error("load perf_event program", skel.error()), capture));
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.sample_period = 1'000'000'000;  // once a second: the probe detaches long before
  int pfd = static_cast<int>(
      ::syscall(__NR_perf_event_open, &attr, -1 /*any pid*/, 0 /*cpu*/, -1, PERF_FLAG_FD_CLOEXEC));
  if (pfd < 0)
    return missing("perf_event_open(software cpu-clock, cpu 0): " + errno_words(errno) +
                   " (see /proc/sys/kernel/perf_event_paranoid; needs CAP_PERFMON)");
  bpf_link* link = bpf_program__attach_perf_event(program(*skel, "probe_perf_event"), pfd);
  if (!link) {
    int err = errno;
    ::close(pfd);
    return missing(
        with_libbpf("attach perf_event program to cpu-clock: " + errno_words(err), capture));
  }
  bpf_link__destroy(link);  // closes pfd too
  return works("attached to a software cpu-clock perf event on CPU 0");
}

FeatureResult probe_kernel(Hook h) {
  // Without privileges every load fails with EPERM, which says nothing about the kernel.
  if (h != Hook::btf)
    if (!require_tracing_privileges())
      return missing("not probed: this process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
  switch (h) {
    case Hook::btf: return probe_btf();
    case Hook::ringbuf: return probe_ringbuf();
    case Hook::tracepoint: return probe_tracepoint();
    case Hook::raw_tp: return load_and_attach("probe_raw_tp", "raw_tp sys_enter");
    case Hook::tp_btf: return load_and_attach("probe_tp_btf", "tp_btf sys_enter");
    case Hook::kprobe: return probe_kprobe();
    case Hook::fentry: return probe_fentry();
    case Hook::tc: return probe_tc();
    case Hook::cgroup_skb: return probe_cgroup_skb();
    case Hook::perf_event: return probe_perf_event();
  }
  return missing("unknown hook");
}

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

Features& Features::system() {
  static Features features;
  return features;
}

const FeatureResult& Features::probe(Hook h) {
  std::lock_guard lock(cache_mutex());
  auto& slot = cache_[static_cast<size_t>(h)];
  if (!slot) {
    // libbpf's words must reach our logger (quiet unless -v) and the capture, not stderr.
    static std::once_flag logger;
    std::call_once(logger, log::install_libbpf_logger);
    slot = probe_kernel(h);
    log::debug("feature {}: {}: {}", hook_name(h), slot->works ? "works" : "missing",
               slot->reason);
  }
  return *slot;
}

namespace {

bpf_prog_type helper_prog_type(Hook h) {
  return h == Hook::kprobe ? BPF_PROG_TYPE_KPROBE : BPF_PROG_TYPE_TRACEPOINT;
}

}  // namespace

const FeatureResult& Features::helper(Hook h, int id, std::string_view name) {
  std::lock_guard lock(cache_mutex());
  auto key = std::pair{static_cast<int>(helper_prog_type(h)), id};
  if (auto it = helpers_.find(key); it != helpers_.end()) return it->second;
  static std::once_flag logger;
  std::call_once(logger, log::install_libbpf_logger);
  int r = libbpf_probe_bpf_helper(helper_prog_type(h), static_cast<bpf_func_id>(id), nullptr);
  FeatureResult result =
      r > 0    ? works(fmt::format("the kernel offers {}", name))
      : r == 0 ? missing(fmt::format("this kernel lacks the helper {} (BPF_FUNC #{})", name, id))
               : missing(fmt::format("could not ask whether the kernel offers {}: {}", name,
                                     errno_words(r)));
  log::debug("helper {} for {}: {}", name, hook_name(h), result.reason);
  return helpers_.emplace(key, std::move(result)).first->second;
}

namespace {

// Whether a tracepoint format file declares `field`: a line "\tfield:TYPE NAME;\toffset:...".
bool format_has_field(std::istream& format, std::string_view field) {
  std::string line;
  while (std::getline(format, line)) {
    if (line.find("field:") == std::string::npos) continue;
    size_t end = line.find(';');
    std::string_view decl = std::string_view(line).substr(0, end);
    if (decl.ends_with(field) && decl.size() > field.size() &&
        decl[decl.size() - field.size() - 1] == ' ')
      return true;
  }
  return false;
}

}  // namespace

const FeatureResult& Features::tracepoint_field(std::string_view event, std::string_view field,
                                                std::string_view what) {
  std::lock_guard lock(cache_mutex());
  auto key = std::pair{std::string(event), std::string(field)};
  if (auto it = fields_.find(key); it != fields_.end()) return it->second;
  FeatureResult result;
  auto fs = ensure_tracefs();
  std::string path = fs ? fmt::format("{}/events/{}/format", fs->path, event) : std::string();
  std::ifstream format(path);
  if (!fs || !format) {
    result = missing(fmt::format("cannot tell whether the kernel has {}: {}", what,
                                 fs ? "no " + path : fs.error().message));
  } else {
    result = format_has_field(format, field)
                 ? works(fmt::format("the kernel has {}", what))
                 : missing(fmt::format("the kernel lacks {} (no field {} in {})", what, field,
                                       path));
  }
  return fields_[key] = std::move(result);
}

void Features::fake_tracepoint_field(std::string_view event, std::string_view field,
                                     FeatureResult r) {
  std::lock_guard lock(cache_mutex());
  fields_[{std::string(event), std::string(field)}] = std::move(r);
}

void Features::fake_helper(Hook h, int id, FeatureResult r) {
  std::lock_guard lock(cache_mutex());
  helpers_[{static_cast<int>(helper_prog_type(h)), id}] = std::move(r);
}

std::optional<FeatureResult> Features::known(Hook h) {
  std::lock_guard lock(cache_mutex());
  return cache_[static_cast<size_t>(h)];
}

void Features::fake(Hook h, FeatureResult r) {
  std::lock_guard lock(cache_mutex());
  cache_[static_cast<size_t>(h)] = std::move(r);
}

}  // namespace kscope
