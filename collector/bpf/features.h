// Which hook types this kernel really supports, found by loading and attaching a tiny
// program for each (probes/feature_probes.bpf.c). Each probe runs at most once per process
// and is cached; unit tests fake results instead of touching the kernel.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kscope {

enum class Hook {
  btf,
  ringbuf,
  tracepoint,
  raw_tp,
  tp_btf,
  kprobe,
  fentry,
  tc,
  cgroup_skb,
  perf_event,
};

inline constexpr std::array kAllHooks = {
    Hook::btf,    Hook::ringbuf, Hook::tracepoint, Hook::raw_tp,     Hook::tp_btf,
    Hook::kprobe, Hook::fentry,  Hook::tc,         Hook::cgroup_skb, Hook::perf_event,
};

std::string_view hook_name(Hook h);            // "tracepoint", "tp_btf", ...
std::optional<Hook> hook_from_name(std::string_view name);

struct FeatureResult {
  bool works = false;
  std::string reason;  // why it is missing (kernel option, errno, libbpf's words); or what worked
};

// Whether the running kernel is PREEMPT_RT (/sys/kernel/realtime, or uname's version string),
// where BPF programs run preemptibly: two runs on one CPU can interleave.
bool kernel_is_preempt_rt();

class Features {
 public:
  // The process-wide cache over the running kernel.
  static Features& system();

  // Probes on first use, then answers from the cache.
  const FeatureResult& probe(Hook h);
  // Replaces a result, for tests: later probe(h) calls return it without touching the kernel.
  void fake(Hook h, FeatureResult r);
  // What is already known of hook type h (probed or faked), without probing it.
  std::optional<FeatureResult> known(Hook h);

  // Whether programs of this hook type may call kernel helper `id` (a BPF_FUNC_* number),
  // asked of the kernel with libbpf_probe_bpf_helper() once per process; `name` is for the
  // reason. The tracing-family hooks share their helpers, so they are asked as tracepoint
  // programs (libbpf cannot probe BTF-typed programs without an attach target).
  const FeatureResult& helper(Hook h, int id, std::string_view name);
  void fake_helper(Hook h, int id, FeatureResult r);

  // Whether tracepoint `event` ("sched/sched_process_exit") records field `field`, read from
  // its format file in tracefs once per pair (mounting tracefs if needed): a small file,
  // where parsing the kernel's BTF would add ~50 ms to a run's start. The record and the
  // raw tracepoint's arguments come from one TRACE_EVENT, so this answers for tp_btf and
  // raw_tp too. `what` names the feature for the reason.
  const FeatureResult& tracepoint_field(std::string_view event, std::string_view field,
                                        std::string_view what);
  void fake_tracepoint_field(std::string_view event, std::string_view field, FeatureResult r);

 private:
  std::array<std::optional<FeatureResult>, kAllHooks.size()> cache_;
  std::map<std::pair<int, int>, FeatureResult> helpers_;  // (program type, helper id)
  std::map<std::pair<std::string, std::string>, FeatureResult> fields_;  // (event, field)
};

}  // namespace kscope
