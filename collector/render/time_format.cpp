#include "render/time_format.h"

#include <time.h>

#include <atomic>

#include <fmt/format.h>

namespace kscope {
namespace {

int64_t now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::atomic<int64_t>& offset() {
  static std::atomic<int64_t> o{this_boot_wall_offset_ns()};
  return o;
}

}  // namespace

int64_t this_boot_wall_offset_ns() {
  static const int64_t o = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
  return o;
}

void use_boot_wall_offset(int64_t offset_ns) { offset() = offset_ns; }

// Wraps rather than overflows: a corrupt record's timestamp still renders (as a wrong time).
int64_t boot_to_wall_ns(uint64_t boot_ns) {
  return static_cast<int64_t>(boot_ns + static_cast<uint64_t>(offset().load()));
}

std::string_view time_of_day(uint64_t boot_ns) {
  // localtime_r is slow enough to matter in a storm: convert once per second.
  static thread_local time_t cached_sec = -1;
  static thread_local char cached[9];
  time_t sec = boot_to_wall_ns(boot_ns) / 1'000'000'000;
  if (sec != cached_sec) {
    tm t{};
    localtime_r(&sec, &t);  // leaves t zeroed for a time it cannot represent
    strftime(cached, sizeof(cached), "%H:%M:%S", &t);
    cached_sec = sec;
  }
  return {cached, 8};
}

std::string rfc3339(uint64_t boot_ns) {
  int64_t wall = boot_to_wall_ns(boot_ns);
  time_t sec = wall / 1'000'000'000;
  tm t{};
  gmtime_r(&sec, &t);
  char date[32];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &t);
  return fmt::format("{}.{:09d}Z", date, wall % 1'000'000'000);
}

}  // namespace kscope
