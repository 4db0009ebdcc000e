// Tracepoint attach reads event ids from tracefs; this makes sure it is there.
#pragma once

#include <string>

#include "bpf/result.h"

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

}  // namespace kscope
