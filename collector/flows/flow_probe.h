// The kernel side of the flow engine, loaded and attached: probes/flows.bpf.c on an
// interface's TC hooks or a cgroup's cgroup_skb hooks, with the socket hooks that name each
// socket's process. sweep() swaps the kernel's flow table for the empty one and reads out
// the old: every packet counted once, in exactly one sweep.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "bpf/skeleton.h"
#include "flows/flow_table.h"

namespace kscope::flows {

// How the TC programs attach to an interface.
enum class TcAttach {
  any,     // a tcx link where the kernel has them (Linux 6.6), else a cls_bpf filter
  tcx,     // tcx links only: an error on an older kernel
  clsact,  // a cls_bpf filter on the clsact qdisc (kscope's handle), on any kernel
};

struct FlowProbeOptions {
  std::string interface;  // TC ingress and egress of this interface (this thread's netns)
  std::string cgroup;     // cgroup_skb of this cgroup (a path, absolute or under the mount)
                          // neither: cgroup_skb of the root cgroup, every local socket
  uint32_t max_flows = 16384;  // each of the two kernel tables
  TcAttach tc_attach = TcAttach::any;
};

class FlowProbe {
 public:
  static Result<std::unique_ptr<FlowProbe>> open(const FlowProbeOptions& options);
  virtual ~FlowProbe() = default;

  // The counts since the last sweep, slice by slice as they are read from the kernel, and
  // the packets no table had room for.
  using Slice = std::function<void(std::span<const FlowDelta>)>;
  virtual Result<void> sweep(const Slice& each, OverflowDelta& overflow) = 0;
  // The same into one vector.
  Result<void> sweep(std::vector<FlowDelta>& out, OverflowDelta& overflow) {
    return sweep([&out](std::span<const FlowDelta> d) { out.insert(out.end(), d.begin(), d.end()); },
                 overflow);
  }
  virtual uint8_t point() const = 0;  // KS_FLOW_POINT_*
  // The ring buffer of FIN/RST notifications, and its lost-record counter.
  virtual int ring_fd() const = 0;
  virtual uint64_t lost_notifications() const = 0;
  // The loaded programs' run counters (the collector's kernel BPF statistics).
  virtual Result<std::vector<object::ProgramStats>> programs() const = 0;
  // Its hash maps' occupancy and capacity (the flow tables, the socket owners).
  virtual Result<std::vector<object::MapStats>> maps() const = 0;
  // What the start found and did, for the user: e.g. the filters a killed run left.
  virtual const std::vector<std::string>& notes() const = 0;
  // Where it counts, e.g. "tc eth0 (ifindex 2)", "cgroup /sys/fs/cgroup".
  virtual std::string where() const = 0;
};

}  // namespace kscope::flows
