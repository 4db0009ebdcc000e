// The drain loop: one boost::asio::io_context watches the ring buffer's epoll fd, a tick
// timer (producers do not wake us per event, so the tick collects what they leave), SIGINT
// and SIGTERM, and an optional duration. Whatever is left is drained before run() returns.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "base/result.h"
#include "bpf/ring_buffer.h"

namespace kscope {

struct SessionOptions {
  std::chrono::milliseconds tick{100};
  std::optional<std::chrono::milliseconds> duration;
};

class Session {
 public:
  // on_tick runs after every periodic drain and once more after the final drain; on_drain
  // after every drain a producer's wake-up caused (so that what it woke us for goes out now).
  Session(RingBuffer& rb, SessionOptions options, std::function<void()> on_tick,
          std::function<void()> on_drain = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Result<void> run();
  // Ends run() after the current drain (e.g. --count reached). Safe from inside a sink.
  void stop();
  // The signal that ended the run, or 0.
  int signal() const { return signal_; }

 private:
  struct Loop;
  RingBuffer& rb_;
  SessionOptions options_;
  std::function<void()> on_tick_;
  std::function<void()> on_drain_;
  Loop* loop_ = nullptr;
  int signal_ = 0;
  bool stopping_ = false;
};

}  // namespace kscope
