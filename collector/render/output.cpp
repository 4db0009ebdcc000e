#include "render/output.h"

#include <unistd.h>

#include <cerrno>

namespace kscope {

void Output::flush() {
  if (fd_ < 0) return;  // in memory: the caller takes the buffer
  if (closed_) {
    buf_.clear();
    return;
  }
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;  // EPIPE (SIGPIPE is ignored), or no room: nothing more can go out
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buf_.clear();
}

}  // namespace kscope
