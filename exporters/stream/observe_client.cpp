#include "exporters/stream/observe_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "exporters/sinks/flow_json.h"
#include "exporters/tls/tls_context.h"

namespace kscope::stream {
namespace {

constexpr uint64_t kDefaultLast = 20;  // hubble observe's default
constexpr size_t kMaxLineBytes = 16 * 1024 * 1024;
constexpr uint64_t kSecond = 1'000'000'000;

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

Result<void> add_flag(flows::FlowFilter& f, const FilterFlag& flag) {
  const std::string as_given =
      fmt::format("{}--{} '{}'", flag.negated ? "--not " : "", flag.name, flag.value);
  const std::string& v = flag.value;
  auto cidr_into = [&](std::vector<flows::Cidr>& out) -> Result<void> {
    auto c = flows::parse_cidr(v);
    if (!c) return fail(fmt::format("--{}: {}", flag.name, c.error().message), c.error().hint);
    out.push_back(*c);
    return {};
  };
  if (flag.name == "ip") return cidr_into(f.ips);
  if (flag.name == "from-ip") return cidr_into(f.source_ips);
  if (flag.name == "to-ip") return cidr_into(f.destination_ips);
  if (flag.name == "port") {
    uint16_t port = 0;
    if (!parse_number(v, port))
      return fail(fmt::format("{} is not a port number (0-65535)", as_given), "e.g. --port 443");
    f.ports.push_back(port);
    return {};
  }
  if (flag.name == "protocol") {
    std::string lower(v);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int p = flows::parse_protocol(lower);
    if (p < 0)
      return fail(fmt::format("{} is not a protocol", as_given),
                  "tcp, udp, icmp, icmpv6, or a number 0-255");
    f.protocols.push_back(static_cast<uint8_t>(p));
    return {};
  }
  if (flag.name == "pid") {
    uint32_t pid = 0;
    if (!parse_number(v, pid))
      return fail(fmt::format("{} is not a process id", as_given), "e.g. --pid 1234");
    f.pids.push_back(pid);
    return {};
  }
  if (flag.name == "comm") {
    if (v.size() > 15)
      return fail(fmt::format("{} is longer than a command name (15 bytes)", as_given),
                  "give the name as `ps -o comm` shows it");
    // The request is JSON: text that is not UTF-8 (or holds control characters) would not
    // reach the collector as it was given.
    if (!utf8_text(v))
      return fail(fmt::format("--{}: not UTF-8 text", flag.name),
                  "give the name as `ps -o comm` shows it");
    f.comms.push_back(v);
    return {};
  }
  if (flag.name == "drop-reason") {
    // The kernel's names (enum skb_drop_reason without SKB_DROP_REASON_): upper case.
    bool name = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!name)
      return fail(fmt::format("{} is not a drop reason", as_given),
                  "the kernel's names, as `kscope trace drops` shows them: NO_SOCKET, "
                  "TCP_CSUM, NETFILTER_DROP...");
    f.drop_reasons.push_back(v);
    return {};
  }
  return fail(fmt::format("--{} is not a filter flag", flag.name));
}

// "1h30m", "90s", "1500ms": nullopt when it is not a duration.
std::optional<uint64_t> parse_duration(std::string_view s) {
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"ms", kSecond / 1000}, {"s", kSecond}, {"m", 60 * kSecond}, {"h", 3600 * kSecond},
      {"d", 86400 * kSecond}};
  if (s.empty()) return std::nullopt;
  uint64_t total = 0;
  while (!s.empty()) {
    size_t digits = 0;
    while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
    uint64_t n = 0;
    if (!parse_number(s.substr(0, digits), n)) return std::nullopt;
    s.remove_prefix(digits);
    auto unit = std::find_if(std::begin(kUnits), std::end(kUnits),
                             [&](const auto& u) { return s.starts_with(u.first); });
    if (unit == std::end(kUnits)) return std::nullopt;
    s.remove_prefix(unit->first.size());
    total += n * unit->second;
  }
  return total;
}

// ---- Showing records ---------------------------------------------------------------------

std::string text_of(const YAML::Node& map, const char* key) {
  const YAML::Node n = map[key];
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

// "Dec  3 09:26:53.123" in local time, as hubble shows a flow's time.
std::string local_time(std::string_view rfc3339) {
  auto ns = parse_rfc3339(rfc3339);
  if (!ns) return std::string(rfc3339);
  time_t sec = static_cast<time_t>(*ns / kSecond);
  tm t{};
  localtime_r(&sec, &t);
  char text[32];
  strftime(text, sizeof text, "%b %e %H:%M:%S", &t);
  return fmt::format("{}.{:03d}", text, *ns % kSecond / 1'000'000);
}

std::string endpoint(const std::string& addr, const std::string& port) {
  if (port.empty()) return addr;
  return addr.find(':') != std::string::npos ? fmt::format("[{}]:{}", addr, port)
                                             : fmt::format("{}:{}", addr, port);
}

// A trace event on one line: "TIME: exec bash[4242] bash -c :" (its arguments when it has
// them, else its other fields as key=value).
std::string event_text(const YAML::Node& r) {
  std::string out = fmt::format("{}: {} {}[{}]", local_time(text_of(r, "time")), text_of(r, "type"),
                                text_of(r, "comm"), text_of(r, "pid"));
  if (const YAML::Node args = r["args"]; args && args.IsSequence()) {
    for (const auto& a : args) out += " " + (a.IsScalar() ? a.Scalar() : std::string("?"));
    return out + "\n";
  }
  static constexpr std::string_view kShown[] = {"schema", "node_name", "type", "time", "comm", "pid"};
  for (auto it = r.begin(); it != r.end(); ++it) {
    std::string key = it->first.Scalar();
    if (std::find(std::begin(kShown), std::end(kShown), key) != std::end(kShown)) continue;
    if (it->second.IsScalar()) out += fmt::format(" {}={}", key, it->second.Scalar());
  }
  return out + "\n";
}

struct Row {
  std::string time, source, destination, protocol, flags, bytes, packets, process;
};

Row flow_row(const YAML::Node& r) {
  Row row{.time = local_time(text_of(r, "time")),
          .bytes = text_of(r, "bytes"),
          .packets = text_of(r, "packets")};
  const YAML::Node ip = r["IP"];
  std::string src = ip ? text_of(ip, "source") : "", dst = ip ? text_of(ip, "destination") : "";
  std::string sport, dport;
  if (const YAML::Node l4 = r["l4"]; l4 && l4.IsMap()) {
    for (const char* proto : {"TCP", "UDP"}) {
      if (const YAML::Node p = l4[proto]) {
        row.protocol = proto;
        sport = text_of(p, "source_port");
        dport = text_of(p, "destination_port");
      }
    }
    for (const char* proto : {"ICMPv4", "ICMPv6"}) {
      if (const YAML::Node p = l4[proto]) {
        row.protocol = proto;
        row.flags = fmt::format("type {} code {}", text_of(p, "type"), text_of(p, "code"));
      }
    }
    if (row.protocol.empty() && l4["protocol"]) row.protocol = "proto " + text_of(l4, "protocol");
  }
  if (row.protocol == "TCP") row.flags = text_of(r, "tcp_flags");
  if (text_of(r, "end_reason") == "lack_of_resources") {
    // The overflow record: packets of flows no table had room for, without their 5-tuple.
    src = dst = row.protocol = "-";
    row.process = "(overflow: flows no table had room for)";
  }
  row.source = endpoint(src, sport);
  row.destination = endpoint(dst, dport);
  if (const YAML::Node p = r["process"])
    row.process = fmt::format("{}[{}]", text_of(p, "comm"), text_of(p, "pid"));
  return row;
}

std::string compact(const Row& r) {
  std::string out = fmt::format("{}: {} -> {} {}", r.time, r.source, r.destination, r.protocol);
  if (!r.flags.empty()) out += " " + r.flags;
  out += fmt::format(" {} bytes {} packets", r.bytes, r.packets);
  if (!r.process.empty()) out += " " + r.process;
  return out + "\n";
}

constexpr std::string_view kTableRow = "{:<19} {:<24} {:<24} {:<6} {:<14} {:>10} {:>8} {}\n";

std::string table_row(const Row& r) {
  return fmt::format(fmt::runtime(kTableRow), r.time, r.source, r.destination, r.protocol, r.flags,
                     r.bytes, r.packets, r.process);
}

// A loss report says nothing worth a line when its window lost nothing.
std::string loss_text(const YAML::Node& r) {
  if (text_of(r, "complete") == "true") return {};
  std::string lost;
  if (const YAML::Node points = r["lost"]; points && points.IsMap())
    for (const auto& kv : points)
      if (kv.second.IsScalar() && kv.second.Scalar() != "0")
        lost += fmt::format(", {} {}", kv.second.Scalar(), kv.first.Scalar());
  return fmt::format("INCOMPLETE window to {} (sink {}): lost{}\n",
                     local_time(text_of(r, "window_end")), text_of(r, "sink"),
                     lost.empty() ? std::string(" records") : lost.substr(1));
}

}  // namespace

Result<StreamRequest> build_request(const ObserveOptions& o, uint64_t now_ns) {
  StreamRequest r;
  r.follow = o.follow;
  r.last = o.last;
  if (!o.since.empty()) {
    auto since = parse_since(o.since, now_ns);
    if (!since) return std::unexpected(since.error());
    r.since_ns = *since;
  } else if (!o.last) {
    r.last = o.follow ? 0 : kDefaultLast;
  }
  flows::FlowFilter allow, deny;
  for (const auto& flag : o.filters)
    if (auto added = add_flag(flag.negated ? deny : allow, flag); !added)
      return std::unexpected(added.error());
  if (!allow.empty()) r.filters.allow.push_back(std::move(allow));
  if (!deny.empty()) r.filters.deny.push_back(std::move(deny));
  return r;
}

Result<uint64_t> parse_since(std::string_view text, uint64_t now_ns) {
  if (text.size() > 10 && text[4] == '-') {
    auto t = parse_rfc3339(text);
    if (!t) return fail(fmt::format("--since: {}", t.error().message), t.error().hint);
    return *t;
  }
  auto d = parse_duration(text);
  if (!d || *d > now_ns)
    return fail(fmt::format("--since '{}' is neither an RFC 3339 time nor a duration", text),
                "e.g. --since 5m, --since 1h30m or --since 2026-12-03T09:00:00Z");
  return now_ns - *d;
}

// ---- The connection ----------------------------------------------------------------------

namespace {

std::string connect_hint(int err, std::string_view address) {
  switch (err) {
    case ENOENT:
    case ECONNREFUSED:
      return fmt::format(
          "start the collector (`sudo kscope collect`; its stream listens on {} unless its "
          "config says otherwise), or point --server at the address it listens on",
          kDefaultAddress);
    case EACCES:
      return "the stream's unix socket lets in root and its group: run as root or as a member";
    default: return fmt::format("is {} the collector's stream address?", address);
  }
}

// connect() gives up after this long rather than the kernel's two minutes.
constexpr timeval kConnectTimeout{5, 0};

}  // namespace

Result<StreamConnection> StreamConnection::open(const StreamAddress& a,
                                                boost::asio::ssl::context* tls) {
  const std::string address = address_text(a);
  auto refused = [&](int err) {
    return fail(fmt::format("no stream at {}: {}", address, std::strerror(err)),
                connect_hint(err, address), err);
  };
  if (!a.unix_path.empty()) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (a.unix_path.size() >= sizeof sa.sun_path)
      return fail(fmt::format("{}: longer than a unix socket path can be", address));
    std::memcpy(sa.sun_path, a.unix_path.data(), a.unix_path.size());
    // A file that is there but no socket (a typo'd path to the config, say) would only be
    // "refused", as if the collector were down.
    struct stat st {};
    if (::stat(a.unix_path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
      return fail(fmt::format("no stream at {}: not a unix socket", address),
                  "point --server at the stream sink's unix: path, or at its HOST:PORT");
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("socket", errno);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      int err = errno;
      ::close(fd);
      return refused(err);
    }
    return StreamConnection(fd, address);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(a.host.c_str(), std::to_string(a.port).c_str(), &hints, &found); rc)
    return fail(fmt::format("{}: cannot resolve '{}': {}", address, a.host, gai_strerror(rc)),
                "use an IP address, e.g. 127.0.0.1:9438");
  int err = ECONNREFUSED;
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kConnectTimeout, sizeof kConnectTimeout);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      StreamConnection c(fd, address);
      if (tls) {
        // The handshake is bounded as the connect is: a server that accepts and never
        // answers (a plain one, say) does not hold observe for ever.
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kConnectTimeout, sizeof kConnectTimeout);
        if (auto ok = c.handshake(*tls, a.host); !ok) return std::unexpected(ok.error());
      }
      timeval none{};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
      return c;
    }
    err = errno;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return refused(err);
}

void StreamConnection::SslFree::operator()(ssl_st* ssl) const { SSL_free(ssl); }

Result<void> StreamConnection::handshake(boost::asio::ssl::context& tls, const std::string& host) {
  ssl_.reset(SSL_new(tls.native_handle()));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1)
    return fail(fmt::format("TLS with {}: {}", address_, tls::openssl_error()));
  // An IP address is checked against the certificate's IP addresses and sent as no server
  // name (RFC 6066 allows only host names there); a name is both sent and checked.
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  bool named = not_ip ? SSL_set_tlsext_host_name(ssl_.get(), host.c_str()) == 1 &&
                            SSL_set1_host(ssl_.get(), host.c_str()) == 1
                      : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), host.c_str()) == 1;
  if (!named) return fail(fmt::format("TLS with {}: {}", address_, tls::openssl_error()));
  if (SSL_connect(ssl_.get()) == 1) return {};
  int err = errno;
  long verified = SSL_get_verify_result(ssl_.get());
  if (verified != X509_V_OK) {
    bool wrong_host = verified == X509_V_ERR_HOSTNAME_MISMATCH ||
                      verified == X509_V_ERR_IP_ADDRESS_MISMATCH;
    tls::openssl_error();  // said better by the verify result
    return fail(fmt::format("TLS with {}: the collector's certificate failed verification: {}",
                            address_, X509_verify_cert_error_string(verified)),
                wrong_host ? fmt::format("the certificate is not for {}: connect by a name or "
                                         "address of its subjectAltName",
                                         host)
                           : "give the CA that signed the collector's certificate: --tls-ca FILE");
  }
  std::string why = tls::openssl_error();
  if (why == "no reason given")
    why = err == EAGAIN || err == EWOULDBLOCK ? "no answer within 5 s"
          : err != 0                          ? std::strerror(err)
                                              : "the server closed the connection";
  return fail(fmt::format("TLS with {}: handshake failed: {}", address_, why),
              "is the stream sink's TCP listener configured with tls:? Without it, drop --tls");
}

StreamConnection::~StreamConnection() {
  ssl_.reset();
  if (fd_ >= 0) ::close(fd_);
}

StreamConnection::StreamConnection(StreamConnection&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      ssl_(std::move(o.ssl_)),
      address_(std::move(o.address_)),
      buf_(std::move(o.buf_)),
      at_(o.at_) {}

Result<void> StreamConnection::send(std::string_view text) {
  while (!text.empty()) {
    if (ssl_) {
      // The request is one short line: one record, one write.
      int n = SSL_write(ssl_.get(), text.data(), static_cast<int>(text.size()));
      if (n <= 0)
        return fail(fmt::format("send to {}: {}", address_, tls::openssl_error()));
      text.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    ssize_t n = ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("send to {}", address_), errno);
    text.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

bool StreamConnection::line_buffered() const { return buf_.find('\n', at_) != std::string::npos; }

void StreamConnection::shut_down() const { ::shutdown(fd_, SHUT_RDWR); }

Result<std::optional<std::string>> StreamConnection::read_line() {
  for (;;) {
    if (size_t nl = buf_.find('\n', at_); nl != std::string::npos) {
      std::string line = buf_.substr(at_, nl - at_);
      at_ = nl + 1;
      return line;
    }
    buf_.erase(0, at_);
    at_ = 0;
    if (buf_.size() > kMaxLineBytes)
      return fail(fmt::format("{} sent a line longer than 16 MiB", address_),
                  "is --server the collector's stream address?");
    char chunk[64 * 1024];
    auto n = receive(chunk, sizeof chunk);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) {
      if (buf_.empty()) return std::nullopt;
      return std::exchange(buf_, {});  // a last line without its newline
    }
    buf_.append(chunk, *n);
  }
}

Result<size_t> StreamConnection::receive(char* buf, size_t size) {
  for (;;) {
    if (!ssl_) {
      ssize_t n = ::recv(fd_, buf, size, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno(fmt::format("read from {}", address_), errno);
      return static_cast<size_t>(n);
    }
    int n = SSL_read(ssl_.get(), buf, static_cast<int>(size));
    if (n > 0) return static_cast<size_t>(n);
    int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    if (err == SSL_ERROR_SYSCALL && errno == EINTR) continue;
    // Over TLS 1.3 the server checks the client's certificate after the client's handshake
    // is done: its refusal arrives here, as an alert.
    std::string why = tls::openssl_error();
    return fail(fmt::format("read from {}: {}", address_, why),
                why.find("certificate") != std::string::npos
                    ? "the collector asks for a client certificate its client_ca_file signed: "
                      "--tls-cert FILE --tls-key FILE"
                    : "");
  }
}

// ---- Formatting --------------------------------------------------------------------------

Result<Shown> LineFormatter::format(std::string_view line) {
  // A line of the right shape with a value of another (an object where text belongs) makes
  // yaml-cpp throw from deep inside; it is the same bad line.
  try {
    return format_line(line);
  } catch (const YAML::Exception& e) {
    return fail(fmt::format("the stream sent a line kscope cannot read: {}", e.msg),
                "is --server the collector's stream address, of this kscope's version?");
  }
}

Result<Shown> LineFormatter::format_line(std::string_view line) {
  // Every line the server writes starts with its schema, so json passes lines on unparsed.
  static const std::string error_start = fmt::format("{{\"schema\":\"{}\"", kErrorSchema);
  bool maybe_error = line.starts_with(error_start);
  // json passes lines on unparsed: kscope's own, which all start with a schema. Anything else
  // is not the collector talking (an HTTP server at that port, say).
  if (format_ == OutputFormat::json && !maybe_error) {
    if (!line.starts_with("{\"schema\":\"kscope."))
      return fail("the stream sent a line that is not a JSON object",
                  "is --server the collector's stream address?");
    return Shown{std::string(line) + "\n", {}};
  }
  YAML::Node r;
  try {
    r = YAML::Load(std::string(line));
  } catch (const YAML::Exception& e) {
    return fail(fmt::format("the stream sent a line that is not JSON: {}", e.msg),
                "is --server the collector's stream address?");
  }
  if (!r.IsMap())
    return fail("the stream sent a line that is not a JSON object",
                "is --server the collector's stream address?");
  const std::string schema = text_of(r, "schema");
  if (schema == kErrorSchema)
    return fail("the collector: " + text_of(r, "error"), text_of(r, "hint"));
  if (schema == kLostSchema)
    return Shown{{}, fmt::format("LOST {} records (client queue)\n", text_of(r, "lost"))};
  if (schema == sinks::kLossSchema) return Shown{{}, loss_text(r)};
  if (schema == sinks::kEventSchema) return Shown{event_text(r), {}};
  if (schema != sinks::kFlowSchema) return Shown{};  // a kind of line newer than this client
  Row row = flow_row(r);
  if (format_ == OutputFormat::compact) return Shown{compact(row), {}};
  Shown shown;
  if (!std::exchange(header_shown_, true))
    shown.out = table_row(
        Row{"TIME", "SOURCE", "DESTINATION", "PROTO", "FLAGS", "BYTES", "PACKETS", "PROCESS"});
  shown.out += table_row(row);
  return shown;
}

}  // namespace kscope::stream
