// A live probe: a probe object opened, configured, loaded and attached through the first
// hook alternative that really works here. An alternative that fails to load or attach
// falls through to the next one, and the reason is shown.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "base/log.h"
#include "base/result.h"
#include "bpf/features.h"
#include "bpf/mounts.h"
#include "bpf/ring_buffer.h"
#include "bpf/skeleton.h"
#include "filter/filter.h"
#include "sources/hooks.h"

namespace kscope {

// A count a tool's probe keeps besides lost_events, in a one-slot per-CPU array of __u64
// (exec's failed execs whose argv was not kept), read and reported as lost_events is: a
// {"type":KIND,KIND:N,"total_KIND":M} record or a warning when it grows, and the summary.
struct ProbeCounter {
  const char* map;        // the BPF map
  std::string_view kind;  // the NDJSON record's type and key, the summary's word
  std::string_view why;   // what the table mode's warning says it means
};

class LiveProbe {
 public:
  virtual ~LiveProbe() = default;
  virtual int events_fd() const = 0;  // the ring buffer
  virtual int map_fd(const char* name) const = 0;  // a map of the probe's object
  int lost_fd() const { return map_fd("lost_events"); }  // per-CPU failed ring buffer writes
  // Runs of the probe's programs the kernel skipped: its recursion guard turns away a
  // program while another run of it holds the CPU (a trampoline preempted on PREEMPT_RT,
  // a tracepoint hit from inside a probe). 0 where the kernel does not count them.
  virtual Result<uint64_t> missed() const = 0;
  // The loaded programs' run counters (the collector's kernel BPF statistics).
  virtual Result<std::vector<object::ProgramStats>> programs() const = 0;
  // Its hash maps' occupancy and capacity.
  virtual Result<std::vector<object::MapStats>> maps() const = 0;
  virtual const HookAlternative& hook() const = 0;
  // Sends the events the probe holds staged on its CPUs into the ring buffer
  // (probes/common/stage.bpf.h); nothing for a probe that does not stage.
  virtual Result<void> flush_staged() = 0;
};

// The probe's ring buffer drained into `sink`: every drain first sends out the events the
// probe holds staged, so that a drain after the traced activity has every event of it.
Result<RingBuffer> event_ring(LiveProbe& probe, RecordSink& sink);

// The sum of bpf_prog_info.recursion_misses (5.12+) over the loaded programs of `obj`.
Result<uint64_t> recursion_misses(const bpf_object* obj);

template <class T>
class SkeletonProbe final : public LiveProbe {
 public:
  SkeletonProbe(Skeleton<T> skel, const HookAlternative& hook, std::vector<Link> own_links = {})
      : skel_(std::move(skel)), own_links_(std::move(own_links)), hook_(hook) {}
  int events_fd() const override { return object::map_fd(skel_.object(), "events"); }
  int map_fd(const char* name) const override { return object::map_fd(skel_.object(), name); }
  Result<uint64_t> missed() const override { return recursion_misses(skel_.object()); }
  Result<std::vector<object::ProgramStats>> programs() const override {
    return object::program_stats(skel_.object());
  }
  Result<std::vector<object::MapStats>> maps() const override {
    return object::hash_map_stats(skel_.object());
  }
  const HookAlternative& hook() const override { return hook_; }
  Result<void> flush_staged() override { return object::flush_stages(skel_.object()); }
  T* skeleton() const { return skel_.get(); }

 private:
  Skeleton<T> skel_;
  std::vector<Link> own_links_;  // the tool's own attachments: after skel_, so detached first
  const HookAlternative& hook_;
};

// What every live run of every tool sets up the same way.
struct ProbeSetup {
  std::string_view tool;
  Filter* filter = nullptr;          // the probe claims the clauses it compiles
  std::optional<std::string> hook;   // --hook: only this alternative
  uint32_t ring_bytes = 16u << 20;   // --buffer-size; a power of two, >= page size
  uint32_t wakeup_bytes = 4u << 20;  // wake the consumer once this much waits
  Features* features = &Features::system();
};

// --buffer-size must be a power-of-two multiple of the page size (the kernel's rule).
Result<void> validate_ring_bytes(uint64_t bytes);

// The task filter and wake-up knobs every probe's rodata carries (common/filter.bpf.h and
// common/ringbuf.bpf.h), written between open and load. Claims the task clauses.
template <class Rodata>
void apply_common_rodata(Rodata* ro, const ProbeSetup& s) {
  Filter& f = *s.filter;
  if (auto* c = f.claim("pid", Op::eq)) ro->filter_tgid = std::get<int64_t>(c->operand);
  if (auto* c = f.claim("uid", Op::eq)) {
    ro->filter_uid_set = 1;
    ro->filter_uid = std::get<int64_t>(c->operand);
  }
  if (auto* c = f.claim("cgroup_id", Op::eq)) ro->filter_cgroup_id = std::get<int64_t>(c->operand);
  if (auto* c = f.claim("comm", Op::eq)) {
    const auto& comm = std::get<std::string>(c->operand);  // at most 15 bytes: parse_comm
    ro->filter_comm_set = 1;
    std::memcpy(const_cast<char*>(ro->filter_comm), comm.c_str(), comm.size() + 1);
  }
  ro->wakeup_bytes = s.wakeup_bytes;
  // common/stage.bpf.h, in the probes that stage: off where two runs can share a CPU.
  if constexpr (requires { ro->stage_events; }) ro->stage_events = !kernel_is_preempt_rt();
}

// One attempt's error, kept for the message when no alternative works.
std::string attempt_failed(const HookAlternative& alt, const Error& e);

// Attaches the programs libbpf cannot attach by their section alone (a cgroup_skb program
// needs a cgroup, a perf_event one an event): the tool turns their autoattach off while
// configuring and attaches them here, after the others. The probe keeps the links.
template <class T>
using AttachOwn = std::function<Result<std::vector<Link>>(Skeleton<T>&, const HookAlternative&)>;

// Opens, configures, loads and attaches probe object T through the first alternative that
// works (or the forced one). `configure` writes the tool's own rodata and autoload choices
// between open and load; the tool has validated its flags before, so its errors are
// libbpf's, and count as that alternative failing. A failing `attach_own` does too.
template <class T>
Result<std::unique_ptr<SkeletonProbe<T>>> load_probe(
    ProbeSetup& s, std::span<const HookAlternative> hooks,
    const std::function<Result<void>(Skeleton<T>&, const HookAlternative&)>& configure,
    const AttachOwn<T>& attach_own = nullptr) {
  std::vector<const HookAlternative*> candidates;
  if (s.hook) {
    auto alt = find_hook(s.tool, hooks, *s.hook);
    if (!alt) return std::unexpected(alt.error());
    candidates.push_back(*alt);
  } else {
    candidates = rank_hooks(hooks, *s.features);
  }
  std::string why;
  for (const HookAlternative* alt : candidates) {
    auto attempt = [&]() -> Result<std::unique_ptr<SkeletonProbe<T>>> {
      // The load and attach below are the real test of the hook type; only the helpers are
      // asked first, so that an old kernel names the missing helper, not a verifier error.
      if (auto f = assess_hook(*alt, *s.features, /*probe_hook_type=*/false); !f.works)
        return fail(f.reason);
      if (alt->hook == Hook::tracepoint)
        if (auto fs = ensure_tracefs(); !fs) return std::unexpected(fs.error());
      s.filter->reset_claims();
      auto skel = Skeleton<T>::open();
      if (!skel) return std::unexpected(skel.error());
      if (auto r = object::enable_only(skel->object(), alt->programs); !r)
        return std::unexpected(r.error());
      if (auto r = object::keep_stage_flush(skel->object()); !r) return std::unexpected(r.error());
      if (auto r = object::resize_map(skel->object(), "events", s.ring_bytes); !r)
        return std::unexpected(r.error());
      apply_common_rodata((*skel)->rodata, s);
      if (auto r = configure(*skel, *alt); !r) return std::unexpected(r.error());
      if (auto r = skel->load(); !r) return std::unexpected(r.error());
      if (auto r = skel->attach(); !r) return std::unexpected(r.error());
      std::vector<Link> own;
      if (attach_own) {
        auto links = attach_own(*skel, *alt);
        if (!links) return std::unexpected(links.error());
        own = std::move(*links);
      }
      return std::make_unique<SkeletonProbe<T>>(std::move(*skel), *alt, std::move(own));
    };
    auto probe = attempt();
    if (probe) {
      if (!why.empty()) log::warn("trace {}: using hook {} ({})", s.tool, alt->name, why);
      if (auto inexact = inexact_here(*alt, *s.features))
        log::warn("trace {}: hook {} is inexact here: {}", s.tool, alt->name, *inexact);
      return probe;
    }
    if (s.hook)
      return fail(fmt::format("--hook {}: {}", alt->name, probe.error().message),
                  probe.error().hint.empty()
                      ? "leave --hook out to use the first hook that works; `kscope trace "
                        "--list` shows which one that is"
                      : probe.error().hint,
                  probe.error().code);
    why += (why.empty() ? "" : "; ") + attempt_failed(*alt, probe.error());
  }
  s.filter->reset_claims();
  return fail(fmt::format("trace {} cannot attach on this kernel: {}", s.tool, why),
              "`kscope doctor` shows which hook types this kernel supports");
}

// load_probe() for a tool whose open() keeps nothing of the skeleton's type: the probe as the
// LiveProbe a tool's open() returns.
template <class T>
Result<std::unique_ptr<LiveProbe>> load_live_probe(
    ProbeSetup& s, std::span<const HookAlternative> hooks,
    const std::function<Result<void>(Skeleton<T>&, const HookAlternative&)>& configure,
    const AttachOwn<T>& attach_own = nullptr) {
  auto probe = load_probe<T>(s, hooks, configure, attach_own);
  if (!probe) return std::unexpected(probe.error());
  return std::unique_ptr<LiveProbe>(std::move(*probe));
}

}  // namespace kscope
