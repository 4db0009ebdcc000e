#include "base/result.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kscope {

std::unexpected<Error> fail_errno(std::string what, int err) {
  if (err < 0) err = -err;
  std::string hint;
  switch (err) {
    case EPERM:
    case EACCES:
      hint = "run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8)";
      break;
    case ENOENT:
      hint = "the kernel lacks this hook or object; `kscope doctor` lists what this kernel supports";
      break;
    case ENOMEM:
      hint = "lower the buffer size, or raise the memlock limit (ulimit -l)";
      break;
    case EOPNOTSUPP:
    case EINVAL:
      hint = "this kernel refuses the hook; `kscope doctor` shows which hook types work here";
      break;
    default:
      break;
  }
  return fail(fmt::format("{}: {}", what, std::strerror(err)), std::move(hint), err);
}

}  // namespace kscope
