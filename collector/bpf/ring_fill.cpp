#include "bpf/ring_fill.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace kscope {

Result<RingFill> RingFill::open(int map_fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) return fail_errno("read ring buffer info", errno);
  long page = sysconf(_SC_PAGESIZE);
  // Page 0 holds the consumer position, page 1 the producer's; both read-only here.
  void* consumer = mmap(nullptr, page, PROT_READ, MAP_SHARED, map_fd, 0);
  if (consumer == MAP_FAILED) return fail_errno("map the ring buffer's consumer page", errno);
  void* producer = mmap(nullptr, page, PROT_READ, MAP_SHARED, map_fd, page);
  if (producer == MAP_FAILED) {
    int err = errno;
    munmap(consumer, page);
    return fail_errno("map the ring buffer's producer page", err);
  }
  return RingFill(consumer, producer, info.max_entries);
}

RingFill::~RingFill() {
  long page = sysconf(_SC_PAGESIZE);
  if (consumer_) munmap(consumer_, page);
  if (producer_) munmap(producer_, page);
}

double RingFill::fill() const {
  auto pos = [](const void* p) {
    return __atomic_load_n(static_cast<const unsigned long*>(p), __ATOMIC_ACQUIRE);
  };
  unsigned long cons = pos(consumer_), prod = pos(producer_);
  return size_ ? static_cast<double>(prod - cons) / size_ : 0;
}

}  // namespace kscope
