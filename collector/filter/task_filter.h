// The task filters every trace tool takes (--pid, --uid, --comm, --cgroup). Live sources
// compile them into probe rodata; the replay source applies matches() in user space, so
// each event meets the filter exactly once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bpf/result.h"
#include "common/event_header.h"

namespace kscope {

struct TaskFilter {
  std::optional<uint32_t> tgid;
  std::optional<uint32_t> uid;
  std::optional<uint64_t> cgroup_id;
  std::optional<std::string> comm;

  bool matches(const ks_event_header& h) const;
};

// --comm: at most 15 bytes, the kernel's TASK_COMM_LEN less its NUL.
Result<std::string> parse_comm(std::string_view comm);

// --cgroup: a cgroup v2 id, or a path (absolute, or relative to the cgroup2 mount) whose
// directory inode is the id bpf_get_current_cgroup_id() reports.
Result<uint64_t> resolve_cgroup(std::string_view spec);

// Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems).
Result<std::string> cgroup2_mount();

}  // namespace kscope
