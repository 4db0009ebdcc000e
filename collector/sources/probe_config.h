// Settings every trace probe shares, and how they reach a skeleton before load.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "bpf/result.h"
#include "bpf/skeleton.h"
#include "filter/task_filter.h"
#include "tools.h"

namespace kscope {

struct ProbeConfig {
  TaskFilter filter;
  // --failed, as the peers mean it: exec shows failed execs too (execsnoop -x); open shows
  // only failed opens (opensnoop -x).
  bool failed = false;
  std::optional<std::string> hook;         // --hook: force one alternative
  uint32_t ring_bytes = 16u << 20;          // --buffer-size; a power of two, >= page size
  uint32_t wakeup_bytes = 1u << 20;         // wake the consumer once this much waits
};

// --buffer-size must be a power-of-two multiple of the page size (the kernel's rule).
Result<void> validate_ring_bytes(uint64_t bytes);

// The filter and wake-up knobs every probe's rodata carries (common/filter.bpf.h and
// common/ringbuf.bpf.h), written between open and load.
template <class Rodata>
void apply_common_rodata(Rodata* ro, const ProbeConfig& c) {
  ro->filter_tgid = c.filter.tgid.value_or(0);
  ro->filter_uid_set = c.filter.uid.has_value();
  ro->filter_uid = c.filter.uid.value_or(0);
  ro->filter_cgroup_id = c.filter.cgroup_id.value_or(0);
  ro->filter_comm_set = c.filter.comm.has_value();
  if (c.filter.comm) std::memcpy(const_cast<char*>(ro->filter_comm), c.filter.comm->c_str(), c.filter.comm->size() + 1);
  ro->wakeup_bytes = c.wakeup_bytes;
}

// The shared part of a probe's configure step: pick the hook, switch the other programs off,
// size the ring buffer. Returns the chosen alternative.
Result<const HookAlternative*> configure_probe(bpf_object* obj, const ToolSpec& tool,
                                              const ProbeConfig& c);

}  // namespace kscope
