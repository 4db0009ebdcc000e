#include "bpf/mounts.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/log.h"

namespace kscope {
namespace {

bool is_fs(const char* path, long magic) {
  struct statfs fs;
  return ::statfs(path, &fs) == 0 && static_cast<long>(fs.f_type) == magic;
}

}  // namespace

Result<TracefsStatus> ensure_tracefs() {
  if (is_fs("/sys/kernel/tracing", TRACEFS_MAGIC)) return TracefsStatus{"/sys/kernel/tracing"};
  if (is_fs("/sys/kernel/debug/tracing", TRACEFS_MAGIC))
    return TracefsStatus{"/sys/kernel/debug/tracing"};
  if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
    int err = errno;
    auto e = fail_errno("tracefs is not mounted and mounting it at /sys/kernel/tracing failed", err);
    e.error().hint = "mount it as root: mount -t tracefs tracefs /sys/kernel/tracing";
    return e;
  }
  log::info("mounted tracefs at /sys/kernel/tracing (tracepoint ids live there)");
  return TracefsStatus{"/sys/kernel/tracing", true};
}

namespace {

// Where the first file system of this type is mounted, from /proc/self/mounts.
std::optional<std::string> mount_of(std::string_view fs_type) {
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string dev, dir, type;
    fields >> dev >> dir >> type;
    if (type == fs_type) return dir;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> bpffs_mount() {
  if (auto dir = mount_of("bpf")) return *dir;
  return fail("bpffs is not mounted (needed only to pin maps and links)",
              "mount -t bpf bpf /sys/fs/bpf");
}

Result<std::string> cgroup2_mount() {
  if (auto dir = mount_of("cgroup2")) return *dir;
  return fail("no cgroup2 file system is mounted",
              "mount it: mount -t cgroup2 none /sys/fs/cgroup/unified");
}

Result<std::string> ensure_cgroup2() {
  if (auto dir = mount_of("cgroup2")) return *dir;
  const char* dir = "/run/kscope/cgroup2";
  ::mkdir("/run/kscope", 0755);
  ::mkdir(dir, 0755);
  if (::mount("none", dir, "cgroup2", 0, nullptr) != 0) {
    int err = errno;
    auto e = fail_errno(std::string("no cgroup2 is mounted and mounting it at ") + dir + " failed",
                        err);
    e.error().hint = "mount it as root: mount -t cgroup2 none /sys/fs/cgroup/unified";
    return e;
  }
  log::info("mounted cgroup2 at {} (the cgroup hooks attach there)", dir);
  return std::string(dir);
}

}  // namespace kscope
