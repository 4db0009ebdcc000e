// Shared by the rendering and replay tests: an Output on a memfd that can be read back whole,
// and the fixed wall-clock time their expected lines carry.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "render/time_format.h"
#include "render/output.h"

namespace kscope::test {

// 2099-01-02T03:04:05.123456789Z: fixed, so that expected lines are exact strings, and far
// enough ahead that its boot time is positive on any machine running the tests.
constexpr int64_t kWallNs = 4071006245'123456789;

// The CLOCK_BOOTTIME stamp the renderers turn into kWallNs.
inline uint64_t boot_ns() { return static_cast<uint64_t>(kWallNs - boot_to_wall_ns(0)); }

class Captured {
 public:
  Captured() : fd_(memfd_create("kscope-test-output", 0)), out_(fd_) {}
  ~Captured() { ::close(fd_); }
  Captured(const Captured&) = delete;
  Captured& operator=(const Captured&) = delete;
  Output& out() { return out_; }
  std::string text() {
    out_.flush();
    std::string s;
    char buf[4096];
    ssize_t n;
    for (off_t at = 0; (n = ::pread(fd_, buf, sizeof(buf), at)) > 0; at += n) s.append(buf, n);
    return s;
  }

 private:
  int fd_;
  Output out_;
};

}  // namespace kscope::test
