#include "flows/flow_probe.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <cerrno>
#include <optional>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "base/log.h"
#include "bpf/map_read.h"
#include "bpf/ring_buffer.h"
#include "bpf/mounts.h"
#include "bpf/skeleton.h"
#include "flows.skel.h"

KSCOPE_SKELETON(flows_bpf);

namespace kscope::flows {
namespace {

// kscope's TC filters: one handle and priority, so that a start finds what a killed run
// left ('ks').
constexpr uint32_t kTcHandle = 0x6b73;
constexpr uint32_t kTcPriority = 0x6b73;
constexpr const char* kLockDir = "/run/kscope";

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

ino_t netns_inode(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// Runs f in the network namespace `ns` (this thread's own when it already is).
template <class F>
void in_netns(int ns, F&& f) {
  Fd here(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  bool move = here.get() >= 0 && ns >= 0 && netns_inode(here.get()) != netns_inode(ns);
  if (move && setns(ns, CLONE_NEWNET) != 0) move = false;
  f();
  if (move) setns(here.get(), CLONE_NEWNET);
}

const char* hook_word(bpf_tc_attach_point at) {
  return at == BPF_TC_INGRESS ? "ingress" : "egress";
}

// A filter with kscope's handle that a killed run left on the clsact qdisc (if there is
// one: none is made to look) is removed, and the user told.
void remove_stale_filter(int ifindex, bpf_tc_attach_point at, std::vector<std::string>& notes,
                         const std::string& ifname) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
  LIBBPF_OPTS(bpf_tc_opts, old, .handle = kTcHandle, .priority = kTcPriority);
  log::LibbpfCapture quiet(true);  // no qdisc, or no such filter: the usual case
  if (bpf_tc_query(&hook, &old) != 0) return;
  LIBBPF_OPTS(bpf_tc_opts, gone, .handle = kTcHandle, .priority = kTcPriority);
  bpf_tc_detach(&hook, &gone);
  notes.push_back(fmt::format("removed the {} filter a killed kscope left on {} (program {})",
                              hook_word(at), ifname, old.prog_id));
}

// tcx (Linux 6.6): a BPF link per hook, which the kernel removes when its last descriptor
// closes, also when the process is killed. Libbpf 1.1 (Debian 12) predates the attach types.
constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);  // BPF_TCX_INGRESS
constexpr auto kTcxEgress = static_cast<bpf_attach_type>(47);   // BPF_TCX_EGRESS

Result<Fd> attach_tcx(int prog_fd, int ifindex, bpf_tc_attach_point at, const std::string& ifname) {
  int fd = bpf_link_create(prog_fd, ifindex, at == BPF_TC_INGRESS ? kTcxIngress : kTcxEgress,
                           nullptr);
  if (fd < 0)
    return fail_errno(fmt::format("attach a tcx link to {} of {}", hook_word(at), ifname), errno);
  return Fd(fd);
}

// One kscope cls_bpf filter on one TC hook of an interface, removed on destruction (in the
// network namespace it was attached in), with the clsact qdisc when kscope made it.
class TcFilter {
 public:
  static Result<std::unique_ptr<TcFilter>> attach(int prog_fd, int ifindex, bpf_tc_attach_point at,
                                                  bool& created_qdisc,
                                                  std::vector<std::string>& notes,
                                                  const std::string& ifname) {
    auto f = std::unique_ptr<TcFilter>(new TcFilter(ifindex, at));
    f->netns_ = Fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST)
      return fail_errno(fmt::format("create the clsact qdisc on {}", ifname), -err);
    if (!err) created_qdisc = true;
    remove_stale_filter(ifindex, at, notes, ifname);
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = kTcHandle,
                .priority = kTcPriority);
    if (int e = bpf_tc_attach(&hook, &opts))
      return fail_errno(fmt::format("attach to TC {} of {}", hook_word(at), ifname), -e);
    f->attached_ = true;
    return f;
  }
  ~TcFilter() {
    if (!attached_) return;
    in_netns(netns_.get(), [&] {
      LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = at_);
      LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
      bpf_tc_detach(&hook, &opts);
    });
  }

 private:
  TcFilter(int ifindex, bpf_tc_attach_point at) : ifindex_(ifindex), at_(at) {}
  int ifindex_;
  bpf_tc_attach_point at_;
  Fd netns_;
  bool attached_ = false;
};

// The interface's lock file also says that the clsact qdisc on it is kscope's: a run that
// made it writes this mark, and clears it once it has removed the qdisc at exit. A run killed
// before leaves the mark, and the next run that takes the lock owns the qdisc from then on.
constexpr std::string_view kQdiscMark = "clsact qdisc made by kscope\n";

bool qdisc_marked(int lock_fd) {
  char text[kQdiscMark.size()] = {};
  return pread(lock_fd, text, sizeof(text), 0) == static_cast<ssize_t>(sizeof(text)) &&
         std::string_view(text, sizeof(text)) == kQdiscMark;
}

// The clsact qdisc kscope made (this run or a killed one), removed last (with it any filter
// still on it), and its mark in the lock file (`lock_fd`, held by the probe) with it.
class Qdisc {
 public:
  Qdisc(int ifindex, int netns, int lock_fd) : ifindex_(ifindex), netns_(netns), lock_fd_(lock_fd) {
    if (pwrite(lock_fd_, kQdiscMark.data(), kQdiscMark.size(), 0) < 0)
      log::debug("flows: cannot mark the clsact qdisc as kscope's: {}", std::strerror(errno));
  }
  ~Qdisc() {
    in_netns(netns_.get(), [&] {
      LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_,
                  .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
      bpf_tc_hook_destroy(&hook);
    });
    (void)ftruncate(lock_fd_, 0);
  }

 private:
  int ifindex_;
  Fd netns_;
  int lock_fd_;
};

class LiveFlowProbe final : public FlowProbe {
 public:
  LiveFlowProbe(Skeleton<flows_bpf> skel, uint8_t point, std::string where)
      : skel_(std::move(skel)), point_(point), where_(std::move(where)) {}
  ~LiveFlowProbe() override {
    // Detach before the programs go: the tcx links or the TC filters, then the qdisc
    // kscope made.
    tcx_.clear();
    tc_.clear();
    qdisc_.reset();
  }

  Result<void> sweep(const Slice& each, OverflowDelta& overflow) override;
  uint8_t point() const override { return point_; }
  int ring_fd() const override { return bpf_map__fd(skel_->maps.events); }
  uint64_t lost_notifications() const override {
    return read_percpu_sum(bpf_map__fd(skel_->maps.lost_events)).value_or(0);
  }
  const std::vector<std::string>& notes() const override { return notes_; }
  std::string where() const override { return where_; }
  Result<std::vector<object::ProgramStats>> programs() const override {
    return object::program_stats(skel_.object());
  }
  Result<std::vector<object::MapStats>> maps() const override {
    return object::hash_map_stats(skel_.object());
  }

  Skeleton<flows_bpf> skel_;
  uint8_t point_;
  std::string where_;
  std::vector<std::string> notes_;
  std::vector<Fd> tcx_;
  std::vector<std::unique_ptr<TcFilter>> tc_;
  std::unique_ptr<Qdisc> qdisc_;
  std::vector<Link> links_;
  Fd lock_;
  int active_ = 0;  // 0: flows_a counts now, 1: flows_b
  std::array<ks_flow_overflow, 2> overflow_seen_{};
  bool batch_works_ = true;

 private:
  Result<void> drain(int fd, const Slice& each);
  Result<void> read_overflow(OverflowDelta& delta);
};

Result<void> LiveFlowProbe::drain(int fd, const Slice& each) {
  constexpr uint32_t kChunk = 1024;
  std::vector<ks_flow_key> keys(kChunk);
  std::vector<ks_flow_counts> values(kChunk);
  std::vector<FlowDelta> slice;
  slice.reserve(kChunk);
  uint32_t in = 0, next = 0;  // a hash map's batch position is a bucket index
  bool first = true;
  while (batch_works_) {
    uint32_t count = kChunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_and_delete_batch(fd, first ? nullptr : &in, &next, keys.data(),
                                              values.data(), &count, &opts);
    int e = err ? errno : 0;
    slice.clear();
    for (uint32_t i = 0; i < count && (!err || e == ENOENT); ++i) slice.push_back({keys[i], values[i]});
    if (!slice.empty()) each(slice);
    if (!err) {
      in = next;
      first = false;
      continue;
    }
    if (e == ENOENT) return {};
    if (first && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP)) {
      batch_works_ = false;  // one element at a time from now on
      break;
    }
    return fail_errno("read the flow table (lookup_and_delete_batch)", e);
  }
  auto all = take_map<ks_flow_key, ks_flow_counts>(fd);
  if (!all) return std::unexpected(all.error());
  for (auto& [k, v] : *all) {
    slice.push_back({k, v});
    if (slice.size() == kChunk) {
      each(slice);
      slice.clear();
    }
  }
  if (!slice.empty()) each(slice);
  return {};
}

Result<void> LiveFlowProbe::read_overflow(OverflowDelta& delta) {
  int fd = bpf_map__fd(skel_->maps.flow_overflow);
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return fail_errno("count the possible CPUs", -cpus);
  std::vector<ks_flow_overflow> per_cpu(cpus);
  for (uint32_t dir = 0; dir < 2; ++dir) {
    if (bpf_map_lookup_elem(fd, &dir, per_cpu.data()) != 0)
      return fail_errno("read the flow overflow counters", errno);
    ks_flow_overflow sum{};
    for (const auto& c : per_cpu) {
      sum.packets += c.packets;
      sum.bytes += c.bytes;
    }
    delta.packets[dir] = sum.packets - overflow_seen_[dir].packets;
    delta.bytes[dir] = sum.bytes - overflow_seen_[dir].bytes;
    overflow_seen_[dir] = sum;
  }
  return {};
}

Result<void> LiveFlowProbe::sweep(const Slice& each, OverflowDelta& overflow) {
  int tables = bpf_map__fd(skel_->maps.flow_tables);
  int fds[2] = {bpf_map__fd(skel_->maps.flows_a), bpf_map__fd(skel_->maps.flows_b)};
  uint32_t zero = 0;
  // Updating an array of maps from user space returns only once every program that may
  // still hold the old table has finished (synchronize_rcu): nothing writes it after this.
  if (bpf_map_update_elem(tables, &zero, &fds[1 - active_], BPF_ANY) != 0)
    return fail_errno("swap the flow tables", errno);
  int old = fds[active_];
  active_ = 1 - active_;
  if (auto d = drain(old, each); !d) return d;
  // Read after the swap: a packet the overflow counted belongs to this sweep or the next,
  // never to both.
  return read_overflow(overflow);
}

Result<int> cgroup_fd(const std::string& path, std::string& shown) {
  std::string full = path;
  if (path.empty() || path[0] != '/') {
    auto root = ensure_cgroup2();
    if (!root) return std::unexpected(root.error());
    full = path.empty() ? *root : *root + "/" + path;
  }
  shown = full;
  int fd = ::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail(fmt::format("cannot open cgroup {}: {}", full, std::strerror(errno)),
                "give a cgroup2 directory, e.g. /sys/fs/cgroup/system.slice", errno);
  return fd;
}

// Only one kscope counts on one interface at a time; a lock held by nobody over a filter
// that is there means a killed run left it.
Result<Fd> lock_interface(int ifindex, const std::string& ifname, int netns_fd) {
  ::mkdir(kLockDir, 0755);
  std::string path = fmt::format("{}/flows-tc-{}-{}.lock", kLockDir, netns_inode(netns_fd), ifindex);
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return fail_errno("create " + path, errno);
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
    return fail(fmt::format("another kscope flows counts on {} already", ifname),
                "stop it first: two would share one TC filter handle", EBUSY);
  return fd;
}

}  // namespace

Result<std::unique_ptr<FlowProbe>> FlowProbe::open(const FlowProbeOptions& o) {
  if (!o.interface.empty() && !o.cgroup.empty())
    return fail("--interface and --cgroup are two observation points: choose one",
                "run two kscope flows for both");
  if (o.interface.empty() && o.tc_attach != TcAttach::any)
    return fail("--tc-attach chooses how TC hooks of an interface are attached",
                "give --interface too, e.g. -I eth0 --tc-attach clsact");
  if (o.max_flows < 1)
    return fail("--max-flows must be at least 1", "e.g. --max-flows 65536");
  int ifindex = 0;
  if (!o.interface.empty()) {
    ifindex = static_cast<int>(if_nametoindex(o.interface.c_str()));
    if (!ifindex)
      return fail(fmt::format("no interface called '{}' in this network namespace", o.interface),
                  "see `ip link`");
  }

  auto skel = Skeleton<flows_bpf>::open();
  if (!skel) return std::unexpected(skel.error());
  bpf_object* obj = skel->object();
  for (const char* m : {"flows_a", "flows_b"})
    if (auto r = object::resize_map(obj, m, o.max_flows); !r) return std::unexpected(r.error());
  // Notifications are small and rare (one per FIN or RST): 256 KiB holds thousands.
  if (auto r = object::resize_map(obj, "events", 256 * 1024); !r) return std::unexpected(r.error());
  std::vector<std::string> programs = {"flows_sock_create", "flows_connect4", "flows_connect6",
                                       "flows_sendmsg4", "flows_sendmsg6"};
  if (ifindex) {
    programs.insert(programs.end(), {"flows_tc_ingress", "flows_tc_egress"});
  } else {
    programs.insert(programs.end(), {"flows_cgroup_ingress", "flows_cgroup_egress"});
  }
  if (auto r = object::enable_only(obj, programs); !r) return std::unexpected(r.error());
  if (auto r = skel->load(); !r) return std::unexpected(r.error());

  std::string where;
  uint8_t point = ifindex ? KS_FLOW_POINT_TC : KS_FLOW_POINT_CGROUP;
  if (ifindex) where = fmt::format("tc {} (ifindex {}", o.interface, ifindex);
  auto probe = std::make_unique<LiveFlowProbe>(std::move(*skel), point, "");

  // The socket hooks on the cgroup counted (the root for TC: every socket's owner).
  std::string shown;
  auto cg = cgroup_fd(ifindex ? std::string() : o.cgroup, shown);
  if (!cg) return std::unexpected(cg.error());
  Fd cgroup(*cg);
  if (!ifindex) where = "cgroup " + shown;
  probe->where_ = where;
  for (const auto& name : programs) {
    bool tc = name.starts_with("flows_tc_");
    bpf_program* prog = bpf_object__find_program_by_name(probe->skel_.object(), name.c_str());
    if (!prog) return fail("the flows probe has no program " + name);
    if (tc) continue;
    bpf_link* link = bpf_program__attach_cgroup(prog, cgroup.get());
    if (!link) return fail_errno(fmt::format("attach {} to cgroup {}", name, shown), errno);
    probe->links_.emplace_back(link);
  }
  if (ifindex) {
    Fd netns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    auto lock = lock_interface(ifindex, o.interface, netns.get());
    if (!lock) return std::unexpected(lock.error());
    probe->lock_ = std::move(*lock);
    // A qdisc a killed kscope made is this run's to remove at exit, whichever way it attaches.
    bool own_qdisc = qdisc_marked(probe->lock_.get());
    auto keep_qdisc = [&] {
      if (own_qdisc) probe->qdisc_ = std::make_unique<Qdisc>(ifindex, dup(netns.get()), probe->lock_.get());
    };
    constexpr std::array<std::pair<const char*, bpf_tc_attach_point>, 2> kHooks = {
        {{"flows_tc_ingress", BPF_TC_INGRESS}, {"flows_tc_egress", BPF_TC_EGRESS}}};
    auto prog_fd = [&](const char* name) {
      return bpf_program__fd(bpf_object__find_program_by_name(probe->skel_.object(), name));
    };
    bool clsact = o.tc_attach == TcAttach::clsact;
    if (!clsact) {
      for (auto [name, at] : kHooks) {
        auto link = attach_tcx(prog_fd(name), ifindex, at, o.interface);
        if (link) {
          probe->tcx_.push_back(std::move(*link));
          remove_stale_filter(ifindex, at, probe->notes_, o.interface);
          continue;
        }
        // An older kernel knows neither the attach type nor its link (EINVAL).
        if (link.error().code != EINVAL || o.tc_attach == TcAttach::tcx || !probe->tcx_.empty()) {
          auto e = link.error();
          if (e.code == EINVAL) e.hint = "tcx links need Linux 6.6: use --tc-attach clsact";
          return std::unexpected(e);
        }
        probe->notes_.push_back(
            "tcx links are missing on this kernel (Linux 6.6 added them): attached cls_bpf "
            "filters on a clsact qdisc instead");
        clsact = true;
        break;
      }
    }
    if (clsact) {
      for (auto [name, at] : kHooks) {
        auto f = TcFilter::attach(prog_fd(name), ifindex, at, own_qdisc, probe->notes_,
                                  o.interface);
        if (!f) {
          keep_qdisc();
          return std::unexpected(f.error());
        }
        probe->tc_.push_back(std::move(*f));
      }
    }
    keep_qdisc();
    probe->where_ += clsact ? ", cls_bpf filters on clsact)" : ", tcx links)";
  }
  return std::unique_ptr<FlowProbe>(std::move(probe));
}

}  // namespace kscope::flows
