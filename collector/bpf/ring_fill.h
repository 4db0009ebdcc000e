// How full a BPF ring buffer is: its consumer and producer positions, read from the two
// pages the kernel lets user space map (libbpf 1.1 has no ring__avail_data_size()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/result.h"

namespace kscope {

class RingFill {
 public:
  static Result<RingFill> open(int map_fd);
  ~RingFill();
  RingFill(RingFill&& o) noexcept
      : consumer_(std::exchange(o.consumer_, nullptr)),
        producer_(std::exchange(o.producer_, nullptr)),
        size_(o.size_) {}
  RingFill& operator=(RingFill&&) = delete;
  RingFill(const RingFill&) = delete;

  // The share of the ring written and not yet consumed, 0 to 1.
  double fill() const;

 private:
  RingFill(void* consumer, void* producer, uint32_t size)
      : consumer_(consumer), producer_(producer), size_(size) {}
  void* consumer_;
  void* producer_;
  uint32_t size_;
};

}  // namespace kscope
