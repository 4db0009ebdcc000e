#include "model/symbols.h"

#include <cstring>

namespace kscope {

std::string errno_name(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  return std::to_string(err);
}

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return std::to_string(sig);
}

}  // namespace kscope
