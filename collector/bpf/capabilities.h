// The capabilities this process holds, and the check every command that loads BPF makes.
#pragma once

#include <linux/capability.h>

#include <cstdint>
#include <string>
#include <string_view>

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

// `kscope collect` loads both kinds: CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, or
// CAP_SYS_ADMIN. The error names every one missing, and the hint all three.
Result<void> require_collect_privileges(const Capabilities& caps = current_capabilities());

inline constexpr uint64_t cap_bit(int cap) { return uint64_t{1} << cap; }

struct CapabilityDrop {
  uint64_t kept = 0;     // permitted (and effective) after
  uint64_t dropped = 0;  // permitted before and not after
};

// Gives up for good every capability not in `keep`: from the effective, permitted and
// inheritable sets, the ambient set and (with CAP_SETPCAP) the bounding set, and sets
// no_new_privs, so that nothing this process runs later can get them back. Capabilities are
// per thread: call it while this is the only thread, so that every later one inherits the
// reduced sets. The error names what the kernel refused.
Result<CapabilityDrop> drop_capabilities_except(uint64_t keep);

// drop_capabilities_except for a command after its setup: -v logs what it kept; a failure is
// a warning (the command goes on with what it holds).
void give_up_capabilities(std::string_view who, uint64_t keep);

// "cap_bpf, cap_perfmon": the names of the bits set, lowest first.
std::string capability_names(uint64_t caps);

}  // namespace kscope
