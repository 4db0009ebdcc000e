// Waiting in tests on servers that run on threads of their own: a question put to a server's
// io thread, and a condition polled for at most 5 s (a server that never gets there fails the
// test instead of hanging it).
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace kscope::test {

// Runs fn on the thread that runs io and returns what it returns: a single-threaded
// server's state is read there.
template <class Fn>
auto run_on(boost::asio::io_context& io, Fn fn) {
  std::packaged_task<decltype(fn())()> task(fn);
  auto result = task.get_future();
  boost::asio::post(io, [&task] { task(); });
  return result.get();
}

// Waits at most 5 s for `done`.
inline bool eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace kscope::test
