#include "exporters/collect/memory_use.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace kscope::collect {

uint64_t anon_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("RssAnon:")) return std::strtoull(line.c_str() + 8, nullptr, 10) * 1024;
  return 0;
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
