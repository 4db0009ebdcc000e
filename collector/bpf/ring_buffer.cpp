#include "bpf/ring_buffer.h"

#include <cerrno>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace kscope {
namespace {

int deliver(void* ctx, void* data, size_t size) {
  static_cast<RecordSink*>(ctx)->on_record({static_cast<const std::byte*>(data), size});
  return 0;
}

}  // namespace

Result<RingBuffer> RingBuffer::create(int map_fd, RecordSink& sink) {
  ring_buffer* rb = ring_buffer__new(map_fd, deliver, &sink, nullptr);
  if (!rb) return fail_errno("create ring buffer", errno);
  return RingBuffer(rb);
}

RingBuffer::~RingBuffer() {
  if (rb_) ring_buffer__free(rb_);
}

RingBuffer& RingBuffer::operator=(RingBuffer&& o) noexcept {
  if (this != &o) {
    if (rb_) ring_buffer__free(rb_);
    rb_ = std::exchange(o.rb_, nullptr);
  }
  return *this;
}

int RingBuffer::epoll_fd() const { return ring_buffer__epoll_fd(rb_); }

Result<size_t> RingBuffer::consume() {
  int n = ring_buffer__consume(rb_);
  if (n < 0) return fail_errno("consume ring buffer", n);
  return static_cast<size_t>(n);
}

Result<unsigned long long> read_percpu_sum(int map_fd) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return fail_errno("count possible CPUs", cpus);
  std::vector<unsigned long long> values(cpus);
  unsigned int key = 0;
  if (bpf_map_lookup_elem(map_fd, &key, values.data()))
    return fail_errno("read per-CPU counter", errno);
  unsigned long long sum = 0;
  for (auto v : values) sum += v;
  return sum;
}

}  // namespace kscope
