// The scrape endpoint: a small HTTP/1.1 server, enough for Prometheus, curl and a browser.
// It runs on the caller's io_context and nowhere else (single-threaded: no locks); what each
// path answers is the handler's business. With a TLS context, every connection starts with
// the TLS handshake, bounded by the same idle timeout as a request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "base/result.h"
#include "exporters/prometheus/http_request.h"

namespace boost::asio::ssl {
class context;
}

namespace kscope::prom {

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string content_encoding;  // "" sends no Content-Encoding; the server never compresses
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequestInfo&)>;

  struct Stats {
    uint64_t requests = 0;             // every request answered, bad ones included
    uint64_t bad_requests = 0;         // answered 400 or 431
    uint64_t refused_connections = 0;  // closed at once: kMaxConnections were open
    uint64_t unauthorized = 0;         // answered 401: no or a wrong bearer token
    uint64_t tls_handshake_failures = 0;  // TLS connections closed before their handshake ended
  };

  static constexpr size_t kMaxConnections = 64;
  static constexpr size_t kMaxHeadBytes = 16 * 1024;
  static constexpr int kIdleSeconds = 30;

  // Listens on "127.0.0.1:9437", "[::1]:9437", "0.0.0.0:0" (port 0: the kernel picks one;
  // port() tells which) and starts accepting on `io`.
  static Result<std::unique_ptr<HttpServer>> start(boost::asio::io_context& io,
                                                   std::string_view listen, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // From now on only requests with "Authorization: Bearer TOKEN" are served; the others get
  // 401 with a WWW-Authenticate challenge. "" serves everyone (the default).
  void set_bearer_token(std::string token);
  // From now on new connections speak TLS with this context (exporters/tls/tls_context.h);
  // null: plain HTTP (the default). Connections already open keep what they started with.
  void set_tls(std::shared_ptr<boost::asio::ssl::context> context);
  std::string address() const;  // e.g. "127.0.0.1:9437", "[::1]:9437"
  // Closes the acceptor and every connection; the handler is not called again.
  void stop();
  const Stats& stats() const;

  struct Core;  // shared with the connections, which may outlive the server by a callback

 private:
  explicit HttpServer(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace kscope::prom
