// A server connection's byte stream: the socket itself, or TLS over it when the server has a
// TLS context. One type for both, so that a connection's code is written once: visit() hands
// each read or write whichever stream it is.
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace kscope::tls {

template <class Socket>
class MaybeTls {
 public:
  // With a null context the bytes go as they are.
  MaybeTls(Socket socket, std::shared_ptr<boost::asio::ssl::context> context)
      : socket_(std::move(socket)), context_(std::move(context)) {
    if (context_) tls_.emplace(socket_, *context_);
  }
  // The TLS stream refers to socket_: neither may move.
  MaybeTls(const MaybeTls&) = delete;
  MaybeTls& operator=(const MaybeTls&) = delete;

  bool tls() const { return tls_.has_value(); }
  Socket& socket() { return socket_; }

  // Calls f with the stream to read and write: the TLS stream, else the socket.
  template <class F>
  void visit(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(socket_);
  }

  // TLS only: the server's side of the handshake.
  template <class Handler>
  void async_handshake(Handler&& h) {
    tls_->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(h));
  }
  // TLS only: sends close_notify (so that the client knows the answer was whole) and waits for
  // the client's.
  template <class Handler>
  void async_shutdown(Handler&& h) {
    tls_->async_shutdown(std::forward<Handler>(h));
  }

 private:
  Socket socket_;
  std::shared_ptr<boost::asio::ssl::context> context_;  // kept for the connection's life
  std::optional<boost::asio::ssl::stream<Socket&>> tls_;
};

}  // namespace kscope::tls
