// `kscope observe`'s work apart from its flags: the request its flags make, the connection to
// the collector's stream, and how each line received is shown.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "exporters/stream/stream_protocol.h"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;

namespace kscope::stream {

// One filter flag as given, in order: `--port 443`, or negated: `--not --port 443`.
struct FilterFlag {
  std::string name;  // ip, from-ip, to-ip, port, protocol, pid, comm
  std::string value;
  bool negated = false;
};

struct ObserveOptions {
  bool follow = false;
  std::optional<uint64_t> last;
  std::string since;  // "": none
  std::vector<FilterFlag> filters;
};

// As hubble observe: the plain flags form one allow filter, the negated ones one deny filter.
// Without --last, --since or --follow the backlog is the last 20 records; --follow alone
// starts now. The error names the flag and what it expects.
Result<StreamRequest> build_request(const ObserveOptions& o, uint64_t now_ns);

// --since: an RFC 3339 time, or a duration back from now_ns: "90s", "5m", "1h30m", "2d".
Result<uint64_t> parse_since(std::string_view text, uint64_t now_ns);

// A blocking connection to the stream, which reads it line by line.
class StreamConnection {
 public:
  // The error says when no collector listens there, and how to start one. With `tls` (from
  // tls::client_context) the connection is TLS, the server's certificate verified for a.host
  // (an IP address against its IP addresses); a failed verification says why.
  static Result<StreamConnection> open(const StreamAddress& a,
                                       boost::asio::ssl::context* tls = nullptr);
  ~StreamConnection();
  StreamConnection(StreamConnection&& o) noexcept;
  StreamConnection& operator=(StreamConnection&&) = delete;
  StreamConnection(const StreamConnection&) = delete;

  Result<void> send(std::string_view text);
  // The next line, without its newline; nullopt at the end of the stream.
  Result<std::optional<std::string>> read_line();
  // Whether read_line() has a whole line without waiting for the server.
  bool line_buffered() const;
  // Async-signal-safe (for SIGINT): read_line() now waiting, or called later, sees the end.
  void shut_down() const;

 private:
  StreamConnection(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
  Result<void> handshake(boost::asio::ssl::context& tls, const std::string& host);
  // Bytes read into buf, 0 at the end of the stream.
  Result<size_t> receive(char* buf, size_t size);
  struct SslFree {
    void operator()(ssl_st* ssl) const;
  };
  int fd_ = -1;
  std::unique_ptr<ssl_st, SslFree> ssl_;  // null: plain
  std::string address_;
  std::string buf_;
  size_t at_ = 0;  // buf_[at_..] is not read yet
};

enum class OutputFormat { compact, json, table };

// What one line of the stream shows: text for stdout and for stderr (either may be empty).
struct Shown {
  std::string out;
  std::string err;
};

// Turns received lines into output. Times are shown in local time (compact, table).
class LineFormatter {
 public:
  explicit LineFormatter(OutputFormat f) : format_(f) {}
  // The server's error line becomes the error; a line that is not JSON is one too.
  Result<Shown> format(std::string_view line);

 private:
  Result<Shown> format_line(std::string_view line);
  OutputFormat format_;
  bool header_shown_ = false;
};

}  // namespace kscope::stream
