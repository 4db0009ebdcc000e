// The capabilities this process holds, and the check every command that loads BPF makes.
#pragma once

#include <cstdint>

#include "base/result.h"

namespace kscope {

struct Capabilities {
  uint64_t effective = 0;  // bit N = capability N
  bool has(int cap) const { return cap >= 0 && cap < 64 && (effective >> cap) & 1; }
};

Capabilities current_capabilities();

// Loading tracing programs needs CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN. The error names
// the missing capability.
Result<void> require_tracing_privileges(const Capabilities& caps = current_capabilities());

// Counting packets (TC and cgroup hooks) needs CAP_BPF + CAP_NET_ADMIN, or CAP_SYS_ADMIN.
Result<void> require_network_privileges(const Capabilities& caps = current_capabilities());

}  // namespace kscope
