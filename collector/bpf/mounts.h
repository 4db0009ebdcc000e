// The pseudo file systems kscope needs: tracefs (tracepoint attach reads event ids there),
// bpffs, and cgroup2 (cgroup ids, cgroup hooks).
#pragma once

#include <string>

#include "base/result.h"

namespace kscope {

struct TracefsStatus {
  std::string path;      // where tracefs is reachable
  bool mounted_by_us = false;
};

// Finds tracefs (/sys/kernel/tracing, or debugfs' tracing/), mounting it at
// /sys/kernel/tracing when absent. The error says how to mount it by hand.
Result<TracefsStatus> ensure_tracefs();

// Where bpffs is mounted, or an error when it is not.
Result<std::string> bpffs_mount();

// Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems).
Result<std::string> cgroup2_mount();

// cgroup2_mount(), or when none is visible (`ip netns exec` remounts /sys without it), a
// cgroup2 mounted at /run/kscope/cgroup2 (the same hierarchy; it stays for the next run).
Result<std::string> ensure_cgroup2();

}  // namespace kscope
