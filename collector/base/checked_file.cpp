#include "base/checked_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kscope {

Result<std::string> read_checked_file(const std::string& path, std::string_view what,
                                      const FileRules& rules) {
  // Symbolic links are followed (a Kubernetes Secret volume's files are links into ..data);
  // the mode checked below is that of the file itself, from the open descriptor, and the
  // bytes returned are the ones read through it. O_NONBLOCK: a FIFO would wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    return fail(fmt::format("{} {}: {}", what, path, std::strerror(err)),
                err == ENOENT ? rules.missing_hint : rules.unreadable_hint, err);
  }
  struct stat st {};
  std::string text;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  int err = 0;
  while (ok && text.size() < rules.max_bytes) {
    char buf[4096];
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, rules.max_bytes - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    ok = n >= 0;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  if (!ok && err == 0) err = errno;
  ::close(fd);
  if (!ok)
    return fail(fmt::format("{} {}: not a readable regular file", what, path),
                S_ISDIR(st.st_mode) ? rules.directory_hint : "", err);
  if (rules.secret && (st.st_mode & (S_IRWXG | S_IRWXO)))
    return fail(fmt::format("{} {}: group or others may access it (mode {:04o})", what, path,
                            st.st_mode & 07777),
                fmt::format("chmod 600 {}", path));
  return text;
}

}  // namespace kscope
