#include "exporters/collect/workload.h"

#include "base/boot_clock.h"

namespace kscope::collect {

Workload::Workload(std::vector<Label> labels, flows::CgroupPaths* cgroups)
    : labels_(std::move(labels)), cgroups_(cgroups) {
  for (Label l : labels_) names_.emplace_back(label_name(l));
}

void Workload::append(std::string_view comm, uint64_t cgroup_id, std::vector<std::string>& out) {
  std::string path;
  bool have_path = false;
  for (Label l : labels_) {
    if (l == Label::comm) {
      out.emplace_back(comm);
      continue;
    }
    if (!have_path) {
      if (cgroups_ && cgroup_id) path = cgroups_->path_of(cgroup_id, boot_now_ns());
      have_path = true;
    }
    out.push_back(l == Label::cgroup ? path : flows::container_id_of_path(path));
  }
}

bool Workload::gone(uint64_t cgroup_id) { return cgroups_ && cgroups_->gone(cgroup_id); }

std::vector<std::string> label_names(std::initializer_list<std::string_view> fixed,
                                     const Workload& w) {
  std::vector<std::string> names(fixed.begin(), fixed.end());
  names.insert(names.end(), w.names().begin(), w.names().end());
  return names;
}

}  // namespace kscope::collect
