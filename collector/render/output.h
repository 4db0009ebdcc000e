// Buffered writes to a file descriptor: renderers append, flush() writes in one go. Event
// storms make a write(2) per event the bottleneck, so flushing happens per drain tick.
#pragma once

#include <fmt/format.h>

namespace kscope {

class Output {
 public:
  explicit Output(int fd) : fd_(fd) {}
  // In memory only: flush() keeps what was written for the caller to take from buffer().
  Output() = default;
  ~Output() { flush(); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  fmt::memory_buffer& buffer() { return buf_; }
  // Writes once the buffer passes the high-water mark; call after each appended line.
  void maybe_flush() {
    if (buf_.size() >= kHighWater) flush();
  }
  void flush();
  // The reader went away (EPIPE): later output is dropped, and a trace run ends cleanly.
  bool closed() const { return closed_; }

 private:
  static constexpr size_t kHighWater = 256 * 1024;
  int fd_ = -1;
  bool closed_ = false;
  fmt::memory_buffer buf_;
};

}  // namespace kscope
