#include "bpf/tracefs.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "bpf/log.h"

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

Result<std::string> bpffs_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string dev, dir, type;
    fields >> dev >> dir >> type;
    if (type == "bpf") return dir;
  }
  return fail("bpffs is not mounted (needed only to pin maps and links)",
              "mount -t bpf bpf /sys/fs/bpf");
}

}  // namespace kscope
