// The task filters every trace tool takes (--pid, --uid, --comm, --cgroup), turned into
// clauses on the common header's fields. Every probe compiles them into its rodata
// (probes/common/filter.bpf.h); a replay evaluates them in user space like any clause.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "filter/filter.h"

namespace kscope {

struct TaskFlags {
  std::optional<uint32_t> pid;  // host pid (tgid)
  std::optional<uint32_t> uid;
  std::optional<std::string> comm;
  std::optional<std::string> cgroup;  // a cgroup v2 path or id
};

// Validates the flags and adds one clause per flag given; the error names the flag.
Result<void> add_task_clauses(const TaskFlags& flags, Filter& filter);

// --comm: at most 15 bytes, the kernel's TASK_COMM_LEN less its NUL.
Result<std::string> parse_comm(std::string_view comm);

// --cgroup: a cgroup v2 id, or a path (absolute, or relative to the cgroup2 mount) whose
// directory inode is the id bpf_get_current_cgroup_id() reports.
Result<uint64_t> resolve_cgroup(std::string_view spec);
// The same with the cgroup2 mount found by `mount` (asked only for paths that need it): unit
// tests resolve against a directory of their own, not the host's hierarchy.
Result<uint64_t> resolve_cgroup(std::string_view spec,
                                const std::function<Result<std::string>()>& mount);

}  // namespace kscope
