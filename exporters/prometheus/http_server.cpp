#include "exporters/prometheus/http_server.h"

#include "base/bearer_token.h"
#include "exporters/prometheus/http_request.h"
#include "exporters/prometheus/http_tokens.h"
#include "exporters/tls/maybe_tls.h"

#include <cerrno>
#include <charconv>
#include <exception>
#include <optional>
#include <unordered_set>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace kscope::prom {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class Connection;

struct HttpServer::Core {
  Core(asio::io_context& io, Handler h) : acceptor(io), retry(io), handler(std::move(h)) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // a failed accept (EMFILE) waits before the next try
  Handler handler;
  std::string bearer_token;  // "": every request is served
  std::shared_ptr<asio::ssl::context> tls;  // null: plain HTTP
  Stats stats;
  bool stopped = false;
  std::unordered_set<Connection*> connections;  // each removes itself when destroyed
  tcp::endpoint local;                          // kept: the acceptor forgets it once closed
};

namespace {

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace

// ---- One connection --------------------------------------------------------------------

// Lives as long as an operation on its socket is pending: each holds a shared_ptr to it.
// The timer holds only a weak one, so an idle timeout never keeps a dead connection.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<HttpServer::Core> core, tcp::socket socket)
      : core_(std::move(core)),
        stream_(std::move(socket), core_->tls),
        timer_(stream_.socket().get_executor()) {
    core_->connections.insert(this);
  }
  ~Connection() { core_->connections.erase(this); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    if (!stream_.tls()) return read_head();
    arm_timer(std::chrono::seconds(HttpServer::kIdleSeconds));
    stream_.async_handshake([self = shared_from_this()](error_code ec) {
      if (self->core_->stopped) return;
      if (!ec) return self->read_head();
      // Plain HTTP at a TLS port, an untrusted client certificate, a client that left or
      // timed out: this connection's end, never the server's.
      ++self->core_->stats.tls_handshake_failures;
      self->close();
    });
  }

  // Pending operations end with operation_aborted and release the connection.
  void close() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    timer_.cancel();
  }

 private:
  void arm_timer(std::chrono::seconds after) {
    timer_.expires_after(after);
    timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;  // re-armed or cancelled
      if (auto self = weak.lock()) self->close();
    });
  }

  void read_head() {
    arm_timer(std::chrono::seconds(HttpServer::kIdleSeconds));
    stream_.visit([this](auto& s) {
      asio::async_read_until(
          s, asio::dynamic_buffer(in_, HttpServer::kMaxHeadBytes), "\r\n\r\n",
          [self = shared_from_this()](error_code ec, size_t n) { self->on_head(ec, n); });
    });
  }

  void on_head(error_code ec, size_t n) {
    if (core_->stopped) return;
    if (ec == asio::error::not_found) {  // the limit filled up before the empty line
      ++core_->stats.bad_requests;
      answer(
          HttpResponse{431, "text/plain; charset=utf-8", "request head larger than 16 KiB\n", ""},
          Reply{.keep_alive = false});
      return;
    }
    if (ec) return close();  // the client left, or the timer closed the socket
    std::optional<HttpRequest> req = parse_http_head(std::string_view(in_).substr(0, n));
    in_.erase(0, n);
    if (!req) {
      ++core_->stats.bad_requests;
      answer(HttpResponse{400, "text/plain; charset=utf-8", "malformed request\n", ""},
             Reply{.keep_alive = false});
      return;
    }
    const std::string& method = req->info.method;
    bool head_only = method == "HEAD";
    if (method != "GET" && !head_only) {
      // Closed after: the body such a request usually has is not read.
      answer(
          HttpResponse{405, "text/plain; charset=utf-8", "only GET and HEAD are served here\n", ""},
          Reply{.keep_alive = false, .allow = true});
      return;
    }
    if (!core_->bearer_token.empty() &&
        !bearer_matches(req->info.authorization, core_->bearer_token)) {
      ++core_->stats.unauthorized;
      answer(HttpResponse{401, "text/plain; charset=utf-8",
                          "this endpoint needs its bearer token (Authorization: Bearer ...)\n",
                          ""},
             Reply{.keep_alive = req->keep_alive && !req->has_body,
                   .head_only = head_only,
                   .challenge = true,
                   .http10 = req->http10});
      return;
    }
    HttpResponse resp;
    try {
      resp = core_->handler(req->info);
    } catch (const std::exception& e) {
      resp = HttpResponse{500, "text/plain; charset=utf-8",
                          fmt::format("internal error: {}\n", e.what()), ""};
    }
    answer(std::move(resp), Reply{.keep_alive = req->keep_alive && !req->has_body,
                                  .head_only = head_only,
                                  .http10 = req->http10});
  }

  struct Reply {
    bool keep_alive = true;
    bool head_only = false;  // HEAD: the headers GET would have, no body
    bool allow = false;      // 405: name the methods served
    bool challenge = false;  // 401: say which scheme (RFC 6750 §3)
    bool http10 = false;
  };

  void answer(HttpResponse resp, Reply how) {
    bool keep_alive = how.keep_alive;
    ++core_->stats.requests;
    // 1xx, 204 and 304 carry no body, not even a length (RFC 9110 8.6).
    bool bodyless = resp.status < 200 || resp.status == 204 || resp.status == 304;
    out_ = fmt::format("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    if (!resp.content_type.empty()) out_ += fmt::format("Content-Type: {}\r\n", resp.content_type);
    if (!resp.content_encoding.empty())
      out_ += fmt::format("Content-Encoding: {}\r\n", resp.content_encoding);
    if (!bodyless) out_ += fmt::format("Content-Length: {}\r\n", resp.body.size());
    if (how.allow) out_ += "Allow: GET, HEAD\r\n";
    if (how.challenge) out_ += "WWW-Authenticate: Bearer realm=\"kscope\"\r\n";
    if (!keep_alive)
      out_ += "Connection: close\r\n";
    else if (how.http10)
      out_ += "Connection: keep-alive\r\n";
    out_ += "\r\n";
    if (!how.head_only && !bodyless) out_ += resp.body;
    stream_.visit([this, keep_alive](auto& s) {
      asio::async_write(s, asio::buffer(out_),
                        [self = shared_from_this(), keep_alive](error_code ec, size_t) {
                          if (self->core_->stopped) return;
                          if (ec) return self->close();
                          if (keep_alive) return self->read_head();
                          self->linger();
                        });
    });
  }

  // Closing with unread input makes the kernel send RST, which can destroy the answer before
  // the client reads it (the 431 case). So: send FIN, drain what still comes for a moment,
  // then close. Over TLS, close_notify says the same, and the wait for the client's reads
  // what still comes.
  void linger() {
    out_.clear();
    in_.clear();
    arm_timer(std::chrono::seconds(2));
    if (stream_.tls())
      return stream_.async_shutdown([self = shared_from_this()](error_code) { self->close(); });
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    drain();
  }

  void drain() {
    in_.resize(4096);
    stream_.socket().async_read_some(asio::buffer(in_),
                                     [self = shared_from_this()](error_code ec, size_t) {
                                       if (ec || self->core_->stopped) return self->close();
                                       self->drain();
                                     });
  }

  std::shared_ptr<HttpServer::Core> core_;
  tls::MaybeTls<tcp::socket> stream_;
  asio::steady_timer timer_;
  std::string in_;   // bytes read and not yet parsed; may hold the start of the next request
  std::string out_;  // the answer being written
};

// ---- The server ------------------------------------------------------------------------

namespace {

void accept_next(const std::shared_ptr<HttpServer::Core>& core) {
  core->acceptor.async_accept([core](error_code ec, tcp::socket socket) {
    if (core->stopped) return;
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of fds, say: retrying at once would spin, so wait a little.
      core->retry.expires_after(std::chrono::milliseconds(100));
      core->retry.async_wait([core](error_code wait_ec) {
        if (!wait_ec && !core->stopped) accept_next(core);
      });
      return;
    }
    if (core->connections.size() >= HttpServer::kMaxConnections) {
      ++core->stats.refused_connections;
      socket.close(ec);
    } else {
      std::make_shared<Connection>(core, std::move(socket))->start();
    }
    accept_next(core);
  });
}

std::string format_endpoint(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// "HOST:PORT" or "[V6]:PORT" split in two; nullopt when it is neither.
std::optional<std::pair<std::string, uint16_t>> split_listen(std::string_view s) {
  std::string_view host, port;
  if (s.starts_with('[')) {
    size_t close = s.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
  }
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
      n > 65535)
    return std::nullopt;
  return std::pair{std::string(host), static_cast<uint16_t>(n)};
}

std::string bind_hint(const error_code& ec) {
  switch (ec.value()) {
    case EADDRINUSE:
      return "another process listens there; pick another port in the config's listen:";
    case EACCES:
    case EPERM:
      return "ports below 1024 need root or CAP_NET_BIND_SERVICE; pick a port from 1024 up in the "
             "config's listen:";
    case EADDRNOTAVAIL:
      return "no interface of this host has that address; 127.0.0.1 or 0.0.0.0 (every interface) "
             "work";
    case EAFNOSUPPORT: return "this host has no IPv6; listen on an IPv4 address";
    default: return {};
  }
}

// Opens, binds and listens; the socket is closed again on failure.
error_code listen_on(tcp::acceptor& acceptor, const tcp::endpoint& ep) {
  error_code ec;
  error_code ignored;
  acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  // A restart within TIME_WAIT of the previous run would otherwise fail with EADDRINUSE.
  acceptor.set_option(tcp::acceptor::reuse_address(true), ignored);
  acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) acceptor.close(ignored);
  return ec;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(asio::io_context& io, std::string_view listen,
                                                      Handler handler) {
  auto split = split_listen(listen);
  if (!split)
    return fail(fmt::format("listen '{}': expected ADDRESS:PORT, e.g. 127.0.0.1:9437", listen),
                "write an IPv6 address in brackets: [::1]:9437");
  auto& [host, port] = *split;

  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(address, port);
  } else {
    // A host name, e.g. localhost: bind the first of its addresses that binds.
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec)
      return fail(fmt::format("listen '{}': cannot resolve '{}': {}", listen, host, ec.message()),
                  "use an IP address, e.g. 127.0.0.1:9437");
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }

  auto core = std::make_shared<Core>(io, std::move(handler));
  for (const auto& ep : endpoints) {
    ec = listen_on(core->acceptor, ep);
    if (!ec) break;
  }
  if (ec)
    return fail(fmt::format("listen {}: {}", listen, ec.message()), bind_hint(ec), ec.value());
  core->local = core->acceptor.local_endpoint(ec);
  accept_next(core);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(core)));
}

HttpServer::HttpServer(std::shared_ptr<Core> core) : core_(std::move(core)) {}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::port() const { return core_->local.port(); }

void HttpServer::set_bearer_token(std::string token) { core_->bearer_token = std::move(token); }

void HttpServer::set_tls(std::shared_ptr<asio::ssl::context> context) {
  core_->tls = std::move(context);
}

std::string HttpServer::address() const { return format_endpoint(core_->local); }

void HttpServer::stop() {
  if (core_->stopped) return;
  core_->stopped = true;
  error_code ec;
  core_->acceptor.close(ec);
  core_->retry.cancel();
  // close() does not destroy: each connection goes when its aborted operations return.
  for (Connection* c :
       std::vector<Connection*>(core_->connections.begin(), core_->connections.end()))
    c->close();
}

const HttpServer::Stats& HttpServer::stats() const { return core_->stats; }

}  // namespace kscope::prom
