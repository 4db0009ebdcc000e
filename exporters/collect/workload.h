// The workload labels a per-process metric carries, as the configuration chose them: the
// command name, the container id and the cgroup path, resolved from the record's comm and
// cgroup id. Never a pid or an address: those are unbounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collect/config.h"
#include "flows/container_id.h"

namespace kscope::collect {

class Workload {
 public:
  // `cgroups` may be null (no cgroup2 mount): container and cgroup are then "".
  Workload(std::vector<Label> labels, flows::CgroupPaths* cgroups);
  const std::vector<std::string>& names() const { return names_; }
  // Appends the configured labels' values for a task of this comm and cgroup.
  void append(std::string_view comm, uint64_t cgroup_id, std::vector<std::string>& out);
  // Whether the cgroup is gone (its series are removed); false when it cannot be known.
  bool gone(uint64_t cgroup_id);

 private:
  std::vector<Label> labels_;
  std::vector<std::string> names_;
  flows::CgroupPaths* cgroups_;
};

// Label names: `fixed` first, then the workload's.
std::vector<std::string> label_names(std::initializer_list<std::string_view> fixed,
                                     const Workload& w);

}  // namespace kscope::collect
