#include "render/output.h"

#include <unistd.h>

#include <cerrno>

namespace kscope {

void Output::flush() {
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // reader gone (EPIPE): nothing left to do with the output
    p += n;
    left -= static_cast<size_t>(n);
  }
  buf_.clear();
}

}  // namespace kscope
