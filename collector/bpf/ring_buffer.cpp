#include "bpf/ring_buffer.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/event_header.h"

namespace kscope {
namespace {

int deliver(void* ctx, void* data, size_t size) {
  deliver_records({static_cast<const std::byte*>(data), size}, *static_cast<RecordSink*>(ctx));
  return 0;
}

}  // namespace

size_t deliver_records(std::span<const std::byte> record, RecordSink& sink) {
  constexpr size_t kHeader = sizeof(ks_event_header);
  ks_event_header h;
  if (record.size() < kHeader) {
    sink.on_record(record);
    return 1;
  }
  std::memcpy(&h, record.data(), kHeader);
  if (h.type != KS_EVENT_BATCH) {
    sink.on_record(record);
    return 1;
  }
  size_t delivered = 0;
  // The ring buffer's own record length bounds the batch, not the header's size field.
  auto rest = record.subspan(kHeader);
  while (!rest.empty()) {
    ks_event_header inner;
    size_t size = rest.size();
    if (rest.size() >= kHeader) {
      std::memcpy(&inner, rest.data(), kHeader);
      if (inner.size >= kHeader && inner.size <= rest.size()) size = inner.size;
    }
    sink.on_record(rest.first(size));
    ++delivered;
    rest = rest.subspan(size);
  }
  return delivered;
}

Result<RingBuffer> RingBuffer::create(int map_fd, RecordSink& sink,
                                      std::function<void()> before_drain) {
  auto drain = std::make_unique<Drain>(Drain{sink, std::move(before_drain)});
  ring_buffer* rb = ring_buffer__new(map_fd, deliver, &drain->sink, nullptr);
  if (!rb) return fail_errno("create ring buffer", errno);
  return RingBuffer(rb, std::move(drain));
}

RingBuffer::~RingBuffer() {
  if (rb_) ring_buffer__free(rb_);
}

RingBuffer& RingBuffer::operator=(RingBuffer&& o) noexcept {
  if (this != &o) {
    if (rb_) ring_buffer__free(rb_);
    rb_ = std::exchange(o.rb_, nullptr);
    drain_ = std::move(o.drain_);
  }
  return *this;
}

int RingBuffer::epoll_fd() const { return ring_buffer__epoll_fd(rb_); }

Result<size_t> RingBuffer::consume() {
  if (drain_->before) drain_->before();
  int n = ring_buffer__consume(rb_);
  if (n < 0) return fail_errno("consume ring buffer", n);
  return static_cast<size_t>(n);
}

Result<std::vector<unsigned long long>> read_percpu(int map_fd) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return fail_errno("count possible CPUs", cpus);
  std::vector<unsigned long long> values(cpus);
  unsigned int key = 0;
  if (bpf_map_lookup_elem(map_fd, &key, values.data()))
    return fail_errno("read per-CPU counter", errno);
  return values;
}

Result<unsigned long long> read_percpu_sum(int map_fd) {
  auto values = read_percpu(map_fd);
  if (!values) return std::unexpected(values.error());
  unsigned long long sum = 0;
  for (auto v : *values) sum += v;
  return sum;
}

}  // namespace kscope
