#include "pipeline/session.h"

#include <csignal>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

namespace kscope {

namespace asio = boost::asio;

struct Session::Loop {
  asio::io_context io;
  asio::posix::stream_descriptor epoll;
  asio::steady_timer tick;
  asio::steady_timer deadline;
  asio::signal_set signals;
  std::optional<Error> error;

  explicit Loop(int epoll_fd)
      : epoll(io, epoll_fd), tick(io), deadline(io), signals(io, SIGINT, SIGTERM) {}
  ~Loop() { epoll.release(); }  // the fd belongs to the ring buffer
};

Session::Session(RingBuffer& rb, SessionOptions options, std::function<void()> on_tick,
                 std::function<void()> on_drain)
    : rb_(rb), options_(options), on_tick_(std::move(on_tick)), on_drain_(std::move(on_drain)) {}

Session::~Session() = default;

void Session::stop() {
  stopping_ = true;
  if (loop_) loop_->io.stop();
}

Result<void> Session::run() {
  Loop loop(rb_.epoll_fd());
  loop_ = &loop;
  auto drain = [&] {
    if (auto n = rb_.consume(); !n && !loop.error) {
      loop.error = n.error();
      loop.io.stop();
    }
  };

  std::function<void()> wait_readable = [&] {
    loop.epoll.async_wait(asio::posix::stream_descriptor::wait_read,
                          [&](const boost::system::error_code& ec) {
                            if (ec) return;
                            drain();
                            if (on_drain_) on_drain_();
                            if (!stopping_) wait_readable();
                          });
  };
  std::function<void()> arm_tick = [&] {
    loop.tick.expires_after(options_.tick);
    loop.tick.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      drain();
      on_tick_();
      if (!stopping_) arm_tick();
    });
  };
  loop.signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    signal_ = sig;
    stop();
  });
  if (options_.duration) {
    loop.deadline.expires_after(*options_.duration);
    loop.deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) stop();
    });
  }

  if (!stopping_) {
    wait_readable();
    arm_tick();
    loop.io.run();
  }
  loop_ = nullptr;
  // What the producers wrote before we stopped is still owed to the user.
  if (!loop.error) drain();
  on_tick_();
  if (loop.error) return std::unexpected(*loop.error);
  return {};
}

}  // namespace kscope
