// The scrape endpoint's HTTP server on 127.0.0.1, port 0: the server runs on its own thread
// (io_context::run), the test talks to it over plain blocking sockets with a receive
// timeout, so a server that fails to answer fails the test instead of hanging it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "exporters/prometheus/http_server.h"
#include "loopback_socket.h"
#include "test_wait.h"

namespace kscope::prom {
namespace {

namespace asio = boost::asio;

// A blocking client socket; reads give up after 5 s.
class Client {
 public:
  explicit Client(uint16_t port) { fd_ = test::loopback_socket(port, connected_); }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size());
  }

  // One response: its head, then as many body bytes as Content-Length says (none for HEAD).
  std::string response(bool head_only = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return take(buf_.size());
    end += 4;
    size_t length = 0;
    size_t at = buf_.find("Content-Length: ");
    if (at != std::string::npos && at < end && !head_only)
      length = std::stoul(buf_.substr(at + 16));
    while (buf_.size() < end + length)
      if (!fill()) break;
    return take(std::min(buf_.size(), end + length));
  }

  // Whether the server closed: the next read ends (EOF or reset), rather than timing out.
  bool closed_by_server() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char b[4096];
    ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n <= 0) return false;
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  std::string take(size_t n) {
    std::string r = buf_.substr(0, n);
    buf_.erase(0, n);
    return r;
  }

  int fd_;
  bool connected_ = false;
  std::string buf_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  // Runs fn on the server's thread, where the server's state may be read.
  template <class Fn>
  auto on_io(Fn fn) {
    return test::run_on(io_, fn);
  }

  void SetUp() override {
    auto s = HttpServer::start(io_, "127.0.0.1:0",
                               [this](const HttpRequestInfo& r) { return handle(r); });
    ASSERT_TRUE(s.has_value()) << s.error().message;
    server_ = std::move(*s);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      on_io([this] {
        server_->stop();
        return 0;
      });
      io_.stop();
      thread_.join();
    }
    server_.reset();
  }

  HttpServer::Stats stats() {
    return on_io([this] { return server_->stats(); });
  }

  HttpResponse handle(const HttpRequestInfo& r) {
    {
      std::lock_guard lock(mu_);
      seen_.push_back(r);
    }
    if (r.path == "/metrics")
      return {200, "text/plain", "accept=" + r.accept + " encoding=" + r.accept_encoding + "\n",
              ""};
    if (r.path == "/gz") return {200, "application/octet-stream", "zz", "gzip"};
    return {404, "text/plain", "not found\n", ""};
  }

  std::vector<HttpRequestInfo> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  uint16_t port() const { return server_->port(); }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<HttpRequestInfo> seen_;
};

TEST_F(HttpServerTest, Address) {
  EXPECT_NE(port(), 0);
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(port()));
}

TEST_F(HttpServerTest, Get) {
  Client c(port());
  ASSERT_TRUE(c.connected());
  c.send(
      "GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\naccept: text/plain\r\nACCEPT-ENCODING:gzip \r\n"
      "Accept: */*\r\n\r\n");
  EXPECT_EQ(c.response(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 37\r\n\r\n"
            "accept=text/plain, */* encoding=gzip\n");
  auto s = seen();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].method, "GET");
  EXPECT_EQ(s[0].path, "/metrics");
  EXPECT_EQ(s[0].accept, "text/plain, */*");
  EXPECT_EQ(s[0].accept_encoding, "gzip");
}

TEST_F(HttpServerTest, ContentEncoding) {
  Client c(port());
  c.send("GET /gz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(
      c.response(),
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Encoding: gzip\r\n"
      "Content-Length: 2\r\n\r\nzz");
}

// HEAD, then the handler's 404 on the same connection.
TEST_F(HttpServerTest, HeadSendsNoBody) {
  Client c(port());
  c.send("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.response(true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\n");
  // Had a body followed, it would be read here as the next response.
  c.send("GET /nope HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.response(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot "
            "found\n");
}

TEST_F(HttpServerTest, OtherMethods) {
  Client c(port());
  c.send("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(c.response(),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 34\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\n"
            "only GET and HEAD are served here\n");
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(seen().empty());
}

TEST_F(HttpServerTest, Garbage) {
  for (std::string bad :
       {"garbage\r\n\r\n", "GET /x\r\n\r\n", "GET x HTTP/1.1\r\n\r\n", "GET /x HTTP/2\r\n\r\n",
        "GET /x HTTP/1.1\r\nno colon\r\n\r\n", "GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n"}) {
    Client c(port());
    c.send(bad);
    EXPECT_EQ(c.response(),
              "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 18\r\nConnection: close\r\n\r\nmalformed request\n")
        << bad;
    EXPECT_TRUE(c.closed_by_server()) << bad;
  }
  EXPECT_TRUE(seen().empty());
  auto st = stats();
  EXPECT_EQ(st.requests, 7u);
  EXPECT_EQ(st.bad_requests, 7u);
}

// With a bearer token set, every path needs it: 401 and a challenge without it or with
// another, the handler's answer with it (the scheme in any case), on one connection.
TEST_F(HttpServerTest, BearerToken) {
  on_io([this] {
    server_->set_bearer_token("abc.DEF-123");
    return 0;
  });
  const std::string challenge =
      "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 65\r\nWWW-Authenticate: Bearer realm=\"kscope\"\r\n\r\n"
      "this endpoint needs its bearer token (Authorization: Bearer ...)\n";
  Client c(port());
  for (std::string auth : {"", "Authorization: Bearer abc.DEF-12\r\n",
                           "Authorization: Basic abc.DEF-123\r\n",
                           "Authorization: Bearer abc.def-123\r\n"}) {
    c.send("GET /metrics HTTP/1.1\r\n" + auth + "\r\n");
    EXPECT_EQ(c.response(), challenge) << auth;
  }
  c.send("GET /metrics HTTP/1.1\r\nauthorization: bearer abc.DEF-123\r\n\r\n");
  EXPECT_EQ(c.response(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\n"
            "accept= encoding=\n");
  EXPECT_EQ(seen().size(), 1u);
  auto st = stats();
  EXPECT_EQ(st.unauthorized, 4u);
  EXPECT_EQ(st.requests, 5u);
}

TEST_F(HttpServerTest, HeadTooLarge) {
  Client c(port());
  c.send("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(
      c.response(),
      "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 32\r\nConnection: close\r\n\r\nrequest head larger than 16 KiB\n");
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(stats().bad_requests, 1u);
}

TEST_F(HttpServerTest, KeepAlive) {
  Client c(port());
  const std::string not_found =
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n";
  c.send("GET /a HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.response(), not_found);
  c.send("GET /b HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.response(), not_found);
  // Pipelined: both in one write, answered in order.
  c.send("GET /c HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(c.response(), not_found);
  EXPECT_EQ(c.response(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
            "Connection: close\r\n\r\nnot found\n");
  EXPECT_TRUE(c.closed_by_server());
  auto s = seen();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].path, "/a");
  EXPECT_EQ(s[3].path, "/d");
  EXPECT_EQ(stats().requests, 4u);
}

TEST_F(HttpServerTest, Http10) {
  Client once(port());
  once.send("GET /x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(once.response(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
            "Connection: close\r\n\r\nnot found\n");
  EXPECT_TRUE(once.closed_by_server());

  Client kept(port());
  kept.send("GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_EQ(kept.response(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
            "Connection: keep-alive\r\n\r\nnot found\n");
  kept.send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_NE(kept.response().find("not found"), std::string::npos);
}

TEST_F(HttpServerTest, SixtyFifthConnectionRefused) {
  std::vector<std::unique_ptr<Client>> open;
  for (size_t i = 0; i < HttpServer::kMaxConnections; ++i) {
    open.push_back(std::make_unique<Client>(port()));
    // Answered: the server holds the connection now.
    open.back()->send("GET /x HTTP/1.1\r\n\r\n");
    ASSERT_NE(open.back()->response().find("404"), std::string::npos) << i;
  }
  Client extra(port());
  ASSERT_TRUE(extra.connected());  // the kernel accepts; the server closes it at once
  EXPECT_TRUE(extra.closed_by_server());
  EXPECT_EQ(stats().refused_connections, 1u);

  // The 64 still work; once one leaves, a newcomer is served.
  open.front()->send("GET /x HTTP/1.1\r\n\r\n");
  EXPECT_NE(open.front()->response().find("404"), std::string::npos);
  open.pop_back();
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    Client late(port());
    late.send("GET /x HTTP/1.1\r\n\r\n");
    served = late.response().find("404") != std::string::npos;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST_F(HttpServerTest, StopClosesEverything) {
  Client c(port());
  c.send("GET /x HTTP/1.1\r\n\r\n");
  ASSERT_NE(c.response().find("404"), std::string::npos);
  on_io([this] {
    server_->stop();
    return 0;
  });
  EXPECT_TRUE(c.closed_by_server());
  Client after(port());
  EXPECT_FALSE(after.connected());
}

TEST(HttpServerStart, Errors) {
  asio::io_context io;
  auto handler = [](const HttpRequestInfo&) { return HttpResponse{}; };

  for (std::string bad : {"x", "9437", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "::1:9437",
                          "[::1]9437", ":9437", "127.0.0.1:94a"}) {
    auto s = HttpServer::start(io, bad, handler);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_EQ(s.error().message,
              "listen '" + bad + "': expected ADDRESS:PORT, e.g. 127.0.0.1:9437");
  }

  auto first = HttpServer::start(io, "127.0.0.1:0", handler);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  std::string taken = (*first)->address();
  auto second = HttpServer::start(io, taken, handler);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().message, "listen " + taken + ": Address already in use");
  EXPECT_EQ(second.error().hint,
            "another process listens there; pick another port in the config's listen:");
  EXPECT_EQ(second.error().code, EADDRINUSE);

  if (::geteuid() != 0) {
    auto low = HttpServer::start(io, "127.0.0.1:1", handler);
    ASSERT_FALSE(low.has_value());
    EXPECT_EQ(low.error().code, EACCES);
    EXPECT_NE(low.error().hint.find("CAP_NET_BIND_SERVICE"), std::string::npos);
  }
}

TEST(HttpServerStart, Ipv6AndNames) {
  asio::io_context io;
  auto handler = [](const HttpRequestInfo&) { return HttpResponse{}; };
  auto v6 = HttpServer::start(io, "[::1]:0", handler);
  if (v6)
    EXPECT_EQ((*v6)->address(), "[::1]:" + std::to_string((*v6)->port()));
  else
    EXPECT_TRUE(v6.error().code == EADDRNOTAVAIL || v6.error().code == EAFNOSUPPORT)
        << v6.error().message;

  auto named = HttpServer::start(io, "localhost:0", handler);
  ASSERT_TRUE(named.has_value()) << named.error().message;
  std::string a = (*named)->address();
  EXPECT_TRUE(a.starts_with("127.0.0.1:") || a.starts_with("[::1]:")) << a;
}

}  // namespace
}  // namespace kscope::prom
