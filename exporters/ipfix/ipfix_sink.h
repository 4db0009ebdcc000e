// Flow records to an IPFIX collector (docs/ipfix.md) over UDP, one message a datagram, or over
// TCP, whose broken connection fails that batch and is made anew by the next write (with the
// templates first again). Plain blocking sockets: the sink runs on its own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "exporters/ipfix/ipfix_encoder.h"
#include "exporters/sinks/sink.h"

namespace kscope::ipfix {

enum class Transport { udp, tcp };

struct IpfixOptions {
  std::string host;       // a name or a numeric IPv4/IPv6 address
  uint16_t port = 4739;   // IANA's IPFIX port
  Transport transport = Transport::udp;
  uint32_t observation_domain = 1;
  size_t max_message = kUdpIpv4MaxMessage;
  std::chrono::seconds template_interval{60};  // UDP; TCP sends them once a connection
  uint32_t enterprise_number = kDocumentationPen;
  sinks::Context context;
};

class IpfixSink final : public sinks::Sink {
 public:
  // Resolves and connects (TCP: the collector must be listening). The error names the
  // address and the reason.
  static Result<std::unique_ptr<IpfixSink>> open(IpfixOptions options);
  ~IpfixSink() override;
  IpfixSink(const IpfixSink&) = delete;
  IpfixSink& operator=(const IpfixSink&) = delete;

  Result<void> write(std::span<const sinks::Item> batch) override;
  uint64_t take_recalled() override;

  // "127.0.0.1:4739/udp", "[::1]:4739/tcp": the address connected to.
  const std::string& address() const { return address_; }

 private:
  IpfixSink(IpfixOptions options, Encoder encoder);
  Result<void> connect();
  Result<void> send_all(const Message& message);

  IpfixOptions options_;
  Encoder encoder_;
  int fd_ = -1;
  std::string address_;
  // UDP: whether the last send was refused (the collector's port closed), the flow records of
  // the last datagram sent while it was not (counted written), and those recalled since.
  bool refused_ = false;
  size_t last_sent_flows_ = 0;
  uint64_t recalled_ = 0;
};

}  // namespace kscope::ipfix
