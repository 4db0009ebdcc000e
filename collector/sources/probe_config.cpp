#include "sources/probe_config.h"

#include <fmt/format.h>

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

Result<const HookAlternative*> configure_probe(bpf_object* obj, const ToolSpec& tool,
                                              const ProbeConfig& c) {
  auto hook = choose_hook(tool, Features::system(), c.hook);
  if (!hook) return hook;
  if (auto r = object::enable_only(obj, (*hook)->programs); !r) return std::unexpected(r.error());
  if (auto r = object::resize_map(obj, "events", c.ring_bytes); !r)
    return std::unexpected(r.error());
  return hook;
}

}  // namespace kscope
