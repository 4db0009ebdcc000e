// Which container a process runs in, from its cgroup: the path names it in every runtime's
// layout (docker, containerd, cri-o, podman, under cgroupfs or systemd), and the cgroup id
// the kernel gives is the inode of the cgroup's directory in the cgroup2 hierarchy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kscope::flows {

// The 64-hex-digit container id a cgroup path names, or "" when it names none:
//   /docker/ID, /system.slice/docker-ID.scope                    (docker)
//   /kubepods/.../ID, .../cri-containerd-ID.scope                (containerd)
//   .../crio-ID.scope (crio-conmon-ID.scope is the monitor)       (cri-o)
//   .../libpod-ID.scope, /machine.slice/libpod-ID.scope/container (podman)
// The innermost component that names one wins.
std::string container_id_of_path(std::string_view cgroup_path);

// cgroup id -> path under the cgroup2 mount, from a walk of the hierarchy; a cgroup made
// after the walk is found by walking again (at most once per `rescan_ns`).
class CgroupPaths {
 public:
  explicit CgroupPaths(std::string mount, uint64_t rescan_ns = 1'000'000'000);
  // The path relative to the mount ("/" for the root), or "" when no cgroup has the id.
  std::string path_of(uint64_t cgroup_id, uint64_t now_ns);
  // Whether the cgroup of this id was seen and is no longer there (its directory gone, or
  // another cgroup's in its place); its path is "" from then on.
  bool gone(uint64_t cgroup_id);
  std::string container_of(uint64_t cgroup_id, uint64_t now_ns) {
    return container_id_of_path(path_of(cgroup_id, now_ns));
  }

 private:
  void scan();
  std::string mount_;
  uint64_t rescan_ns_;
  uint64_t last_scan_ns_ = 0;
  bool scanned_ = false;
  std::unordered_map<uint64_t, std::string> paths_;
};

}  // namespace kscope::flows
