// TLS over loopback, end to end and real: the metrics endpoint's HttpServer and the stream
// sink served with contexts from exporters/tls, certificates made at run time
// (tests/unit/test_pki.h), clients that verify them: a small blocking OpenSSL client here
// (reads give up after 5 s) and `kscope observe`'s own StreamConnection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <fmt/format.h>

#include "exporters/prometheus/http_server.h"
#include "exporters/stream/observe_client.h"
#include "exporters/stream/stream_sink.h"
#include "exporters/tls/tls_context.h"
#include "loopback_socket.h"
#include "test_pki.h"
#include "test_wait.h"

namespace kscope {
namespace {

using test::eventually;

namespace asio = boost::asio;

// One blocking TLS connection to 127.0.0.1:port, verified against the client context's CA
// for the address 127.0.0.1. Reads give up after 5 s.
class TlsClient {
 public:
  TlsClient(uint16_t port, tls::Context& ctx) {
    bool connected = false;
    fd_ = test::loopback_socket(port, connected);
    if (!connected) return;
    ssl_ = SSL_new(ctx.native_handle());
    SSL_set_fd(ssl_, fd_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    if (SSL_connect(ssl_) != 1) error_ = tls::openssl_error();
  }
  ~TlsClient() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // "" when the handshake went through (on this side).
  const std::string& error() const { return error_; }
  // The serial number of the server's certificate.
  long server_serial() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    long serial = cert ? ASN1_INTEGER_get(X509_get_serialNumber(cert)) : -1;
    X509_free(cert);
    return serial;
  }
  // Sends `request`, then reads to the end of the connection; error() says why a read failed.
  std::string exchange(const std::string& request) {
    SSL_write(ssl_, request.data(), static_cast<int>(request.size()));
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    if (SSL_get_error(ssl_, n) != SSL_ERROR_ZERO_RETURN) error_ = tls::openssl_error();
    return out;
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string error_;
};

// A CA and certificates it signs, and a second CA nobody trusts, in a directory of the test's
// own.
class TlsTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kscope_tls_roundtrip_test." + std::to_string(getpid()));
    std::filesystem::create_directories(dir_ / "other");
    pki_ = std::make_unique<test::TestPki>(dir_);
    pki_->issue("server", "IP:127.0.0.1,DNS:localhost", 2);
    pki_->issue("rotated", "IP:127.0.0.1", 3);
    pki_->issue("elsewhere", "DNS:example.com", 4);
    pki_->issue("client", "", 5);
    other_ = std::make_unique<test::TestPki>(dir_ / "other", "another CA");
    other_->issue("client", "", 6);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The server context for NAME.crt and NAME.key; mutual: clients need a certificate of pki_.
  std::shared_ptr<tls::Context> server(const std::string& name, bool mutual = false) {
    collect::TlsConfig c{.cert_file = pki_->crt(name),
                         .key_file = pki_->key(name),
                         .client_ca_file = mutual ? pki_->ca() : "",
                         .cert_where = "cert",
                         .key_where = "key",
                         .client_ca_where = "ca"};
    auto ctx = tls::server_context(c);
    EXPECT_TRUE(ctx) << ctx.error().message;
    return ctx ? *ctx : nullptr;
  }
  std::shared_ptr<tls::Context> client(const tls::ClientFiles& f) {
    auto ctx = tls::client_context(f);
    EXPECT_TRUE(ctx) << ctx.error().message;
    return ctx ? *ctx : nullptr;
  }
  std::shared_ptr<tls::Context> trusting() { return client({.ca_file = pki_->ca()}); }

  std::filesystem::path dir_;
  std::unique_ptr<test::TestPki> pki_, other_;
};

// ---- The metrics endpoint --------------------------------------------------------------

class HttpsTest : public TlsTest {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    auto s = prom::HttpServer::start(io_, "127.0.0.1:0", [](const prom::HttpRequestInfo& r) {
      return prom::HttpResponse{200, "text/plain", "path=" + r.path + "\n", ""};
    });
    ASSERT_TRUE(s.has_value()) << s.error().message;
    server_ = std::move(*s);
    server_->set_tls(server("server"));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    test::run_on(io_, [this] {
      server_->stop();
      return 0;
    });
    io_.stop();
    thread_.join();
    server_.reset();
    TlsTest::TearDown();
  }
  uint64_t failures() {
    return test::run_on(io_, [this] { return server_->stats().tls_handshake_failures; });
  }

  static constexpr const char* kGet = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  static constexpr const char* kOk =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: "
      "close\r\n\r\npath=/metrics\n";

  asio::io_context io_;
  std::unique_ptr<prom::HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpsTest, ServesOverTls) {
  auto ctx = trusting();
  TlsClient c(server_->port(), *ctx);
  ASSERT_EQ(c.error(), "");
  EXPECT_EQ(c.exchange(kGet), kOk);
  EXPECT_EQ(c.error(), "");  // the answer ended with close_notify
  EXPECT_EQ(c.server_serial(), 2);
  EXPECT_EQ(failures(), 0u);
}

TEST_F(HttpsTest, PlainHttpIsRefusedAndCounted) {
  bool connected = false;
  int fd = test::loopback_socket(server_->port(), connected);
  ASSERT_TRUE(connected);
  std::string get = kGet;
  ASSERT_EQ(::send(fd, get.data(), get.size(), MSG_NOSIGNAL), ssize_t(get.size()));
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(n, 0);  // closed, not timed out
  EXPECT_FALSE(got.starts_with("HTTP/"));
  EXPECT_TRUE(eventually([&] { return failures() == 1; }));
  // The server still serves.
  auto ctx = trusting();
  TlsClient c(server_->port(), *ctx);
  EXPECT_EQ(c.exchange(kGet), kOk);
}

TEST_F(HttpsTest, UntrustedServerIsRefusedByTheClient) {
  auto ctx = client({.ca_file = other_->ca()});
  TlsClient c(server_->port(), *ctx);
  EXPECT_EQ(c.error(), "SSL routines: certificate verify failed");
  EXPECT_TRUE(eventually([&] { return failures() == 1; }));
}

TEST_F(HttpsTest, TheTokenStillApplies) {
  test::run_on(io_, [this] {
    server_->set_bearer_token("s3cret");
    return 0;
  });
  auto ctx = trusting();
  {
    TlsClient c(server_->port(), *ctx);
    EXPECT_TRUE(c.exchange(kGet).starts_with("HTTP/1.1 401 Unauthorized\r\n"));
  }
  TlsClient c(server_->port(), *ctx);
  EXPECT_EQ(c.exchange("GET /metrics HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nConnection: "
                       "close\r\n\r\n"),
            kOk);
}

TEST_F(HttpsTest, MutualTlsAsksForACertificateItsCaSigned) {
  test::run_on(io_, [this] {
    server_->set_tls(server("server", true));
    return 0;
  });
  {
    auto ctx = trusting();
    TlsClient c(server_->port(), *ctx);
    EXPECT_EQ(c.exchange(kGet), "");
    EXPECT_EQ(c.error(), "SSL routines: tlsv13 alert certificate required");
  }
  {
    auto ctx = client({.ca_file = pki_->ca(), .cert_file = other_->crt("client"),
                       .key_file = other_->key("client")});
    TlsClient c(server_->port(), *ctx);
    EXPECT_EQ(c.exchange(kGet), "");
    EXPECT_EQ(c.error(), "SSL routines: tlsv1 alert unknown ca");
  }
  EXPECT_TRUE(eventually([&] { return failures() == 2; }));
  auto ctx = client({.ca_file = pki_->ca(), .cert_file = pki_->crt("client"),
                     .key_file = pki_->key("client")});
  TlsClient c(server_->port(), *ctx);
  EXPECT_EQ(c.exchange(kGet), kOk);
}

// A reload's new context: new connections get the new certificate.
TEST_F(HttpsTest, NewContextForNewConnections) {
  auto ctx = trusting();
  EXPECT_EQ(TlsClient(server_->port(), *ctx).server_serial(), 2);
  test::run_on(io_, [this] {
    server_->set_tls(server("rotated"));
    return 0;
  });
  TlsClient c(server_->port(), *ctx);
  EXPECT_EQ(c.server_serial(), 3);
  EXPECT_EQ(c.exchange(kGet), kOk);
}

// ---- The stream and kscope observe's client --------------------------------------------

class StreamTlsTest : public TlsTest {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    unix_path_ = (dir_ / "stream.sock").string();
    auto s = stream::StreamSink::start(
        {.listen = "127.0.0.1:0", .unix_path = unix_path_, .context = {"node-a", 0}});
    ASSERT_TRUE(s) << s.error().message;
    sink_ = std::move(*s);
    sink_->set_tls(server("server"));
    std::vector<sinks::Item> items;
    for (uint32_t i = 0; i < 3; ++i) {
      flows::FlowRecord r;
      r.sequence = i;
      r.packets = 1;
      r.first_ns = r.last_ns = (i + 1) * 1'000'000'000ull;
      items.push_back(r);
    }
    ASSERT_TRUE(sink_->write(items));
  }
  void TearDown() override {
    sink_.reset();
    TlsTest::TearDown();
  }
  std::string tcp() const { return fmt::format("127.0.0.1:{}", sink_->port()); }

  // The lines a `--last 2` request gets, or the error that ended them.
  Result<std::vector<std::string>> observe(const std::string& server, tls::Context* ctx) {
    auto address = stream::parse_address(server);
    if (!address) return std::unexpected(address.error());
    auto conn = stream::StreamConnection::open(*address, ctx);
    if (!conn) return std::unexpected(conn.error());
    if (auto sent = conn->send("{\"last\":2}\n"); !sent) return std::unexpected(sent.error());
    std::vector<std::string> lines;
    for (;;) {
      auto line = conn->read_line();
      if (!line) return std::unexpected(line.error());
      if (!*line) return lines;
      lines.push_back(**line);
    }
  }

  std::string unix_path_;
  std::unique_ptr<stream::StreamSink> sink_;
};

// The sequence numbers of flow record lines; -1 for another line.
std::vector<int> sequences(const std::vector<std::string>& lines) {
  std::vector<int> out;
  for (const auto& l : lines) {
    size_t at = l.find("\"sequence\":");
    out.push_back(l.starts_with("{\"schema\":\"kscope.flow.v1\"") && at != std::string::npos
                      ? std::stoi(l.substr(at + 11))
                      : -1);
  }
  return out;
}

TEST_F(StreamTlsTest, ObserveReceivesRecords) {
  auto ctx = trusting();
  auto lines = observe(tcp(), ctx.get());
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(sequences(*lines), (std::vector<int>{1, 2}));
  // By name: the certificate's DNS name is checked, and sent as the server name.
  lines = observe(fmt::format("localhost:{}", sink_->port()), ctx.get());
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(sequences(*lines), (std::vector<int>{1, 2}));
  // The unix socket stays plain.
  lines = observe(unix_path_, nullptr);
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(sequences(*lines), (std::vector<int>{1, 2}));
  EXPECT_EQ(sink_->stats().tls_handshake_failures, 0u);
}

TEST_F(StreamTlsTest, WrongCaSaysWhy) {
  auto ctx = client({.ca_file = other_->ca()});
  auto lines = observe(tcp(), ctx.get());
  ASSERT_FALSE(lines);
  EXPECT_EQ(lines.error().message,
            fmt::format("TLS with {}: the collector's certificate failed verification: unable to "
                        "get local issuer certificate",
                        tcp()));
  EXPECT_EQ(lines.error().hint, "give the CA that signed the collector's certificate: --tls-ca FILE");
  EXPECT_TRUE(eventually([&] { return sink_->stats().tls_handshake_failures == 1; }));
}

TEST_F(StreamTlsTest, WrongHostSaysWhy) {
  sink_->set_tls(server("elsewhere"));
  auto ctx = trusting();
  auto lines = observe(tcp(), ctx.get());
  ASSERT_FALSE(lines);
  EXPECT_EQ(lines.error().message,
            fmt::format("TLS with {}: the collector's certificate failed verification: IP address "
                        "mismatch",
                        tcp()));
  EXPECT_EQ(lines.error().hint,
            "the certificate is not for 127.0.0.1: connect by a name or address of its "
            "subjectAltName");
}

TEST_F(StreamTlsTest, PlainClientIsCounted) {
  auto lines = observe(tcp(), nullptr);
  EXPECT_TRUE(!lines || lines->empty() || !lines->front().starts_with("{"));
  EXPECT_TRUE(eventually([&] { return sink_->stats().tls_handshake_failures == 1; }));
  // A TLS server that is not: observe's handshake fails and says to check the sink's tls:.
  sink_->set_tls(nullptr);
  auto ctx = trusting();
  auto refused = observe(tcp(), ctx.get());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().hint,
            "is the stream sink's TCP listener configured with tls:? Without it, drop --tls");
}

TEST_F(StreamTlsTest, MutualTls) {
  sink_->set_tls(server("server", true));
  auto ctx = trusting();
  auto lines = observe(tcp(), ctx.get());
  ASSERT_FALSE(lines);
  EXPECT_EQ(lines.error().message,
            fmt::format("read from {}: SSL routines: tlsv13 alert certificate required", tcp()));
  EXPECT_EQ(lines.error().hint,
            "the collector asks for a client certificate its client_ca_file signed: --tls-cert "
            "FILE --tls-key FILE");
  auto with_cert = client({.ca_file = pki_->ca(), .cert_file = pki_->crt("client"),
                           .key_file = pki_->key("client")});
  lines = observe(tcp(), with_cert.get());
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(sequences(*lines), (std::vector<int>{1, 2}));
}

TEST(TlsClientFiles, KeyModeAndPairing) {
  auto dir = std::filesystem::temp_directory_path() / ("kscope_tls_client." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  test::TestPki pki(dir);
  pki.issue("client", "", 2);
  ::chmod(pki.key("client").c_str(), 0644);
  auto ctx = tls::client_context({.ca_file = pki.ca(), .cert_file = pki.crt("client"),
                                  .key_file = pki.key("client")});
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message,
            "--tls-key: key file " + pki.key("client") + ": group or others may access it (mode 0644)");
  ctx = tls::client_context({.ca_file = pki.crt("client") + ".none"});
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().message,
            "--tls-ca: CA file " + pki.crt("client") + ".none: No such file or directory");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kscope
