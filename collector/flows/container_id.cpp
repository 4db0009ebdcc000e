#include "flows/container_id.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <vector>

namespace kscope::flows {
namespace {

constexpr size_t kIdLen = 64;

bool all_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The id one path component names: "ID", "PREFIX-ID" or "PREFIX-ID.scope".
std::string_view id_in_component(std::string_view c) {
  if (c.ends_with(".scope")) c.remove_suffix(6);
  if (c.size() < kIdLen) return {};
  std::string_view prefix = c.substr(0, c.size() - kIdLen);
  std::string_view id = c.substr(c.size() - kIdLen);
  if (!all_hex(id)) return {};
  if (prefix.empty() || prefix == "docker-" || prefix == "cri-containerd-" ||
      prefix == "crio-" || prefix == "libpod-")
    return id;
  return {};  // crio-conmon-ID, libpod-conmon-ID: the runtime's monitor, not the container
}

}  // namespace

std::string container_id_of_path(std::string_view path) {
  std::string_view found;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view id = id_in_component(path.substr(pos, slash - pos));
    if (!id.empty()) found = id;
    pos = slash + 1;
  }
  return std::string(found);
}

CgroupPaths::CgroupPaths(std::string mount, uint64_t rescan_ns)
    : mount_(std::move(mount)), rescan_ns_(rescan_ns) {}

void CgroupPaths::scan() {
  paths_.clear();
  std::error_code ec;
  struct stat st;
  if (::stat(mount_.c_str(), &st) == 0) paths_.emplace(st.st_ino, std::string(1, '/'));
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(
           mount_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    std::string_view path = it->path().native();
    path.remove_prefix(std::min(path.size(), mount_.size()));
    paths_[st.st_ino] = std::string(path);
  }
}

std::string CgroupPaths::path_of(uint64_t cgroup_id, uint64_t now_ns) {
  if (cgroup_id == 0) return "";
  auto it = paths_.find(cgroup_id);
  if (it != paths_.end()) return it->second;
  if (!scanned_ || now_ns - last_scan_ns_ >= rescan_ns_) {
    scan();
    scanned_ = true;
    last_scan_ns_ = now_ns;
    it = paths_.find(cgroup_id);
    if (it != paths_.end()) return it->second;
  }
  return "";
}

bool CgroupPaths::gone(uint64_t cgroup_id) {
  auto it = paths_.find(cgroup_id);
  if (it == paths_.end()) return false;
  if (it->second.empty()) return true;  // found gone before
  struct stat st;
  if (stat((mount_ + it->second).c_str(), &st) == 0 && st.st_ino == cgroup_id) return false;
  it->second.clear();  // path_of() says "" from now on; the next walk forgets it
  return true;
}

}  // namespace kscope::flows
