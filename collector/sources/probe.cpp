#include "sources/probe.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

namespace kscope {

Result<void> validate_ring_bytes(uint64_t bytes) {
  uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (bytes < page || (bytes & (bytes - 1)) != 0 || bytes > (1ull << 30))
    return fail(fmt::format("--buffer-size {} must be a power of two between {} and {}", bytes,
                            page, 1ull << 30),
                "for example --buffer-size 16777216 (16 MiB)");
  return {};
}

Result<RingBuffer> event_ring(LiveProbe& probe, RecordSink& sink) {
  return RingBuffer::create(probe.events_fd(), sink, [&probe] {
    // A failed flush leaves the events staged for the next drain; say so once.
    static bool warned = false;
    if (auto r = probe.flush_staged(); !r && !warned) {
      warned = true;
      log::warn("{}", r.error().message);
    }
  });
}

Result<uint64_t> recursion_misses(const bpf_object* obj) {
  auto stats = object::program_stats(obj);
  if (!stats) return std::unexpected(stats.error());
  uint64_t total = 0;
  for (const auto& p : *stats) total += p.recursion_misses;
  return total;
}

std::string attempt_failed(const HookAlternative& alt, const Error& e) {
  return fmt::format("{}: {}", alt.name, e.message);
}

}  // namespace kscope
