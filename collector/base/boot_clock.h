// CLOCK_BOOTTIME in nanoseconds: the clock the kernel stamps records and flows with.
#pragma once

#include <time.h>

#include <cstdint>

namespace kscope {

inline uint64_t boot_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace kscope
