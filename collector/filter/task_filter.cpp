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

#include "bpf/mounts.h"
#include "common/event_header.h"

namespace kscope {

Result<void> add_task_clauses(const TaskFlags& f, Filter& filter) {
  if (f.pid) {
    if (*f.pid == 0) return fail("--pid 0 matches nothing", "give a process id above 0");
    // A pid past pid_max can never exist: a typo, not a process yet to come.
    uint64_t pid_max = 0;
    if (std::ifstream("/proc/sys/kernel/pid_max") >> pid_max; pid_max && *f.pid > pid_max)
      return fail(fmt::format("--pid {} matches nothing: no pid is above {}", *f.pid, pid_max),
                  "give the id of a running process (pgrep NAME)");
    filter.add({"pid", Op::eq, int64_t{*f.pid}, fmt::format("--pid {}", *f.pid)});
  }
  if (f.uid) filter.add({"uid", Op::eq, int64_t{*f.uid}, fmt::format("--uid {}", *f.uid)});
  if (f.comm) {
    auto comm = parse_comm(*f.comm);
    if (!comm) return std::unexpected(comm.error());
    filter.add({"comm", Op::eq, *comm, "--comm " + *comm});
  }
  if (f.cgroup) {
    auto id = resolve_cgroup(*f.cgroup);
    if (!id) return std::unexpected(id.error());
    filter.add({"cgroup_id", Op::eq, static_cast<int64_t>(*id), "--cgroup " + *f.cgroup});
  }
  return {};
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

Result<uint64_t> resolve_cgroup(std::string_view spec) {
  return resolve_cgroup(spec, cgroup2_mount);
}

Result<uint64_t> resolve_cgroup(std::string_view spec,
                                const std::function<Result<std::string>()>& mount) {
  if (spec.empty()) return fail("--cgroup: empty value", "give a cgroup v2 path or id");
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), id);
  if (ec == std::errc() && end == spec.data() + spec.size()) {
    if (id == 0) return fail("--cgroup 0 matches nothing", "cgroup ids start at 1 (the root cgroup)");
    return id;
  }

  std::string path(spec);
  if (path.front() != '/' || ::access(path.c_str(), F_OK) != 0) {
    auto root = mount();
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
