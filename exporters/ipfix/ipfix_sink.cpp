#include "exporters/ipfix/ipfix_sink.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include <fmt/format.h>

#include "base/log.h"

namespace kscope::ipfix {
namespace {

// A collector that stops reading (or a host that never answers a connect) fails the batch
// after this long instead of holding the sink's thread, and so its queue, forever.
constexpr timeval kSendTimeout{5, 0};

std::string_view transport_name(Transport t) { return t == Transport::tcp ? "tcp" : "udp"; }

std::string endpoint_text(const sockaddr* sa, Transport t) {
  char host[NI_MAXHOST] = {}, port[NI_MAXSERV] = {};
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  getnameinfo(sa, len, host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
  return sa->sa_family == AF_INET6 ? fmt::format("[{}]:{}/{}", host, port, transport_name(t))
                                   : fmt::format("{}:{}/{}", host, port, transport_name(t));
}

}  // namespace

IpfixSink::IpfixSink(IpfixOptions options, Encoder encoder)
    : options_(std::move(options)), encoder_(std::move(encoder)) {}

IpfixSink::~IpfixSink() {
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<IpfixSink>> IpfixSink::open(IpfixOptions options) {
  auto encoder = Encoder::create({.observation_domain = options.observation_domain,
                                  .max_message = options.max_message,
                                  .enterprise_number = options.enterprise_number,
                                  .template_interval = options.transport == Transport::udp
                                                           ? options.template_interval
                                                           : std::chrono::seconds(0),
                                  .context = options.context});
  if (!encoder) return std::unexpected(encoder.error());
  std::unique_ptr<IpfixSink> sink(new IpfixSink(std::move(options), std::move(*encoder)));
  // A name that does not resolve is a mistake in the configuration; a TCP collector that is
  // down now is not: the collector starts, and each write tries to connect again (what it
  // could not send is counted as sink.write).
  if (auto ok = sink->connect(); !ok) {
    if (ok.error().code == 0 || sink->options_.transport == Transport::udp)
      return std::unexpected(ok.error());
    log::warn("{} (the sink connects again at its next write)", ok.error().message);
  }
  return sink;
}

Result<void> IpfixSink::connect() {
  std::string target = fmt::format("{}:{}/{}", options_.host, options_.port,
                                   transport_name(options_.transport));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = options_.transport == Transport::tcp ? SOCK_STREAM : SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options_.port);
  if (int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return fail(fmt::format("IPFIX collector {}: cannot resolve '{}': {}", target, options_.host,
                            gai_strerror(rc)),
                "give the collector's host name or IP address");
  // Each address the name has, in the resolver's order, until one connects.
  int err = 0;
  std::string tried;
  for (addrinfo* a = found; a; a = a->ai_next) {
    tried = endpoint_text(a->ai_addr, options_.transport);
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kSendTimeout, sizeof(kSendTimeout));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
      address_ = tried;
      break;
    }
    err = errno;
    close(fd);
  }
  freeaddrinfo(found);
  if (fd_ < 0)
    return fail(fmt::format("IPFIX collector {}: connect: {}", tried.empty() ? target : tried,
                            std::strerror(err)),
                options_.transport == Transport::tcp
                    ? "is the collector listening on that TCP port? (nfcapd and nfacctd take UDP only)"
                    : "",
                err);
  encoder_.new_session();
  return {};
}

Result<void> IpfixSink::send_all(const Message& message) {
  size_t sent = 0;
  while (sent < message.size()) {
    ssize_t n = send(fd_, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      if (options_.transport == Transport::tcp) {
        // The stream is broken mid-message: only a new connection resynchronises.
        close(fd_);
        fd_ = -1;
      }
      return fail(fmt::format("IPFIX collector {}: send: {}", address_, std::strerror(err)),
                  err == ECONNREFUSED ? "is the collector listening on that UDP port?" : "", err);
    }
    sent += static_cast<size_t>(n);
  }
  return {};
}

// Over UDP the kernel tells of a refused datagram (ICMP port unreachable) only at the next
// send, which fails with ECONNREFUSED and sends nothing. So a refusal recalls the datagram
// before it (sent without an error, its records counted written) unless the outage was known
// already, and fails this batch. While refused, each datagram is still sent once more (the
// failed send took the error), so that the next send learns whether the collector is back;
// those batches count lost, the last one possibly in error (docs/ipfix.md).
Result<void> IpfixSink::write(std::span<const sinks::Item> batch) {
  if (fd_ < 0)
    if (auto ok = connect(); !ok) return ok;
  bool udp = options_.transport == Transport::udp;
  auto totals = encoder_.loss_totals();
  std::vector<size_t> flows;
  auto messages = encoder_.encode(batch, static_cast<uint32_t>(std::time(nullptr)), &flows);
  for (size_t i = 0; i < messages.size(); ++i) {
    auto ok = send_all(messages[i]);
    if (ok) {
      if (udp) {  // and so the datagram before was not refused
        refused_ = false;
        last_sent_flows_ = flows[i];
      }
      continue;
    }
    if (udp && ok.error().code == ECONNREFUSED) {
      if (!refused_) recalled_ += last_sent_flows_;
      refused_ = true;
      (void)send_all(messages[i]);
    }
    // The batch failed: its loss reports go to the next one, whose encoding adds them again.
    encoder_.restore_loss_totals(totals);
    return ok;
  }
  return {};
}

uint64_t IpfixSink::take_recalled() { return std::exchange(recalled_, 0); }

}  // namespace kscope::ipfix
