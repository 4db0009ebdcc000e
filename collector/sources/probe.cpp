#include "sources/probe.h"

#include <unistd.h>

namespace kscope {

Result<void> validate_ring_bytes(uint64_t bytes) {
  uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (bytes < page || (bytes & (bytes - 1)) != 0 || bytes > (1ull << 30))
    return fail(fmt::format("--buffer-size {} must be a power of two between {} and {}", bytes,
                            page, 1ull << 30),
                "for example --buffer-size 16777216 (16 MiB)");
  return {};
}

std::string attempt_failed(const HookAlternative& alt, const Error& e) {
  return fmt::format("{}: {}", alt.name, e.message);
}

}  // namespace kscope
