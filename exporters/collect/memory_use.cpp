#include "exporters/collect/memory_use.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <string>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/allocator_interface.h>
#define KSCOPE_ASAN 1
#endif
#endif

namespace kscope::collect {

uint64_t anon_resident_bytes() {
#ifdef KSCOPE_ASAN
  // The sanitizer build of the tests: RssAnon is then mostly AddressSanitizer's shadow memory
  // and quarantine (about 300 MB at start, none of it the collector's), which would leave every
  // budget exceeded. The heap the collector holds stands for it.
  return __sanitizer_get_current_allocated_bytes();
#else
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("RssAnon:")) return std::strtoull(line.c_str() + 8, nullptr, 10) * 1024;
  return 0;
#endif
}

uint64_t bpf_map_bytes() {
  uint64_t total = 0;
  DIR* d = opendir("/proc/self/fdinfo");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream info(std::string("/proc/self/fdinfo/") + e->d_name);
    std::string line;
    bool map = false;
    uint64_t memlock = 0;
    while (std::getline(info, line)) {
      if (line.starts_with("map_type:")) map = true;
      else if (line.starts_with("memlock:")) memlock = std::strtoull(line.c_str() + 8, nullptr, 10);
    }
    if (map) total += memlock;
  }
  closedir(d);
  return total;
}

}  // namespace kscope::collect
