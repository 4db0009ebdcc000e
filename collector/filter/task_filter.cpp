#include "filter/task_filter.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "pipeline/header.h"

namespace kscope {

bool TaskFilter::matches(const ks_event_header& h) const {
  if (tgid && h.tgid != *tgid) return false;
  if (uid && h.uid != *uid) return false;
  if (cgroup_id && h.cgroup_id != *cgroup_id) return false;
  if (comm && comm_of(h) != *comm) return false;
  return true;
}

Result<std::string> parse_comm(std::string_view comm) {
  if (comm.empty()) return fail("--comm: empty name", "give the process name as ps -o comm shows it");
  if (comm.size() >= KS_COMM_LEN)
    return fail(fmt::format("--comm: '{}' is {} bytes; the kernel keeps at most {}", comm,
                            comm.size(), KS_COMM_LEN - 1),
                fmt::format("use the first {} bytes: '{}'", KS_COMM_LEN - 1,
                            comm.substr(0, KS_COMM_LEN - 1)));
  return std::string(comm);
}

Result<std::string> cgroup2_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string dev, dir, type;
    fields >> dev >> dir >> type;
    if (type == "cgroup2") return dir;
  }
  return fail("no cgroup2 file system is mounted",
              "mount it: mount -t cgroup2 none /sys/fs/cgroup/unified");
}

Result<uint64_t> resolve_cgroup(std::string_view spec) {
  if (spec.empty()) return fail("--cgroup: empty value", "give a cgroup v2 path or id");
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), id);
  if (ec == std::errc() && end == spec.data() + spec.size()) {
    if (id == 0) return fail("--cgroup 0 matches nothing", "cgroup ids start at 1 (the root cgroup)");
    return id;
  }

  std::string path(spec);
  if (path.front() != '/' || ::access(path.c_str(), F_OK) != 0) {
    auto root = cgroup2_mount();
    if (!root) return std::unexpected(root.error());
    std::string under = *root + (path.front() == '/' ? "" : "/") + path;
    if (path.front() != '/' || ::access(under.c_str(), F_OK) == 0) path = under;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return fail(fmt::format("--cgroup: {}: {}", path, std::strerror(errno)),
                "give a directory under the cgroup2 mount, or a numeric cgroup id");
  struct statfs fs;
  if (!S_ISDIR(st.st_mode) || ::statfs(path.c_str(), &fs) != 0 ||
      fs.f_type != CGROUP2_SUPER_MAGIC)
    return fail(fmt::format("--cgroup: {} is not a cgroup v2 directory", path),
                "cgroup ids come from the cgroup2 hierarchy; `kscope doctor` shows its mount");
  return static_cast<uint64_t>(st.st_ino);
}

}  // namespace kscope
