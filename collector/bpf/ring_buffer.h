// RAII over libbpf's ring_buffer: records go to a RecordSink; epoll_fd() for the event loop.
#pragma once

#include <cstddef>
#include <utility>

#include "base/result.h"
#include "base/record_sink.h"

struct ring_buffer;

namespace kscope {

class RingBuffer {
 public:
  static Result<RingBuffer> create(int map_fd, RecordSink& sink);
  ~RingBuffer();
  RingBuffer(RingBuffer&& o) noexcept : rb_(std::exchange(o.rb_, nullptr)) {}
  RingBuffer& operator=(RingBuffer&& o) noexcept;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  int epoll_fd() const;
  // Hands every waiting record to the sink; returns how many.
  Result<size_t> consume();

 private:
  explicit RingBuffer(ring_buffer* rb) : rb_(rb) {}
  ring_buffer* rb_ = nullptr;
};

// Sum over CPUs of slot 0 of a BPF_MAP_TYPE_PERCPU_ARRAY of __u64 (the drop counters).
Result<unsigned long long> read_percpu_sum(int map_fd);

}  // namespace kscope
