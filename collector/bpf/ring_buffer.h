// RAII over libbpf's ring_buffer: records go to a RecordSink; epoll_fd() for the event loop.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/record_sink.h"

struct ring_buffer;

namespace kscope {

// Hands `record` to the sink, or, for a KS_EVENT_BATCH record (probes/common/stage.bpf.h),
// each record it holds, in order. A held record whose header's size does not fit goes to the
// sink as the rest of the batch, which then fails to decode there and counts as malformed:
// nothing of a damaged batch is dropped unseen.
// Returns how many records the sink got.
size_t deliver_records(std::span<const std::byte> record, RecordSink& sink);

class RingBuffer {
 public:
  // `before_drain` runs at the start of every consume(): the probe's staged events go out
  // into the ring there (LiveProbe::flush_staged()).
  static Result<RingBuffer> create(int map_fd, RecordSink& sink,
                                   std::function<void()> before_drain = {});
  ~RingBuffer();
  RingBuffer(RingBuffer&& o) noexcept
      : rb_(std::exchange(o.rb_, nullptr)), drain_(std::move(o.drain_)) {}
  RingBuffer& operator=(RingBuffer&& o) noexcept;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  int epoll_fd() const;
  // Hands every waiting record to the sink; returns how many ring buffer records held them
  // (a batch counts once).
  Result<size_t> consume();

 private:
  // What libbpf's callback reaches: on the heap, so that a moved RingBuffer keeps it.
  struct Drain {
    RecordSink& sink;
    std::function<void()> before;
  };
  RingBuffer(ring_buffer* rb, std::unique_ptr<Drain> drain) : rb_(rb), drain_(std::move(drain)) {}
  ring_buffer* rb_ = nullptr;
  std::unique_ptr<Drain> drain_;
};

// Slot 0 of a BPF_MAP_TYPE_PERCPU_ARRAY of __u64, one value per possible CPU.
Result<std::vector<unsigned long long>> read_percpu(int map_fd);
// Their sum (the drop counters).
Result<unsigned long long> read_percpu_sum(int map_fd);

}  // namespace kscope
