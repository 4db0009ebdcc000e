// Flow records as IPFIX messages (RFC 7011, docs/ipfix.md), without sockets: the sink sends
// what this builds. Eight data templates (IPv4 or IPv6, with or without the owning process,
// with or without the TCP socket's state), so a record never carries a made-up zero for a
// field it does not know; two options templates report what was lost (RFC 7011 §4.2, §4.3).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "exporters/sinks/sink.h"

namespace kscope::ipfix {

// The Private Enterprise Number RFC 5612 reserves for documentation: a default that is
// nobody's, until an operator configures the PEN their collectors know kscope's elements by.
inline constexpr uint32_t kDocumentationPen = 32473;
// The largest UDP payload on a 1500-byte path over IPv4 (1500 - 20 - 8): no fragments.
inline constexpr size_t kUdpIpv4MaxMessage = 1472;
// Longer container ids are cut here: one length octet, so that a record's size is bounded.
inline constexpr size_t kMaxContainerId = 254;

// Template ids: 256 + the variant bits below; the options templates follow.
inline constexpr uint16_t kTemplateBase = 256;
inline constexpr uint16_t kTemplateIpv6Bit = 1, kTemplateProcessBit = 2, kTemplateTcpBit = 4;
inline constexpr uint16_t kTemplateExportingReliability = 264;  // RFC 7011 §4.3
inline constexpr uint16_t kTemplateMeteringReliability = 265;   // RFC 7011 §4.2

// kscope's enterprise-specific Information Elements, under the configured PEN.
enum class KscopeIe : uint16_t {
  process_id = 1,    // u32: the owning process (tgid)
  thread_id = 2,     // u32: the thread that last used the socket
  user_id = 3,       // u32
  cgroup_id = 4,     // u64
  process_name = 5,  // string, variable length: comm, at most 16 octets
  container_id = 6,  // string, variable length, at most kMaxContainerId octets
  tcp_srtt_us = 7,   // u32: the socket's smoothed RTT, microseconds
  tcp_retransmissions = 8,  // u32: the socket's retransmitted segments so far
};

struct EncoderOptions {
  uint32_t observation_domain = 1;
  size_t max_message = kUdpIpv4MaxMessage;  // octets, header included
  uint32_t enterprise_number = kDocumentationPen;
  // Templates go out again once this much time has passed (UDP); zero: only at the start of
  // a session (TCP, where the collector keeps them for the connection's life).
  std::chrono::seconds template_interval{60};
  sinks::Context context;  // turns the records' boot times into wall-clock times
};

using Message = std::vector<uint8_t>;

class Encoder {
 public:
  // The error says why the options cannot work (e.g. a maximum size no record fits in).
  static Result<Encoder> create(EncoderOptions options);

  // The batch as messages of at most max_message octets, in order; export time `now_s` in
  // seconds since the epoch. Templates lead the first message when they are due. `flows`, if
  // given, gets the flow records of each message.
  std::vector<Message> encode(std::span<const sinks::Item> batch, uint32_t now_s,
                              std::vector<size_t>* flows = nullptr);

  // A new transport session (a TCP reconnection): templates go first again and the
  // sequence number starts from zero (RFC 7011 §3.1 counts per session and domain).
  void new_session();

  // Data records sent in this session so far: the next message's sequence number.
  uint32_t sequence() const { return sequence_; }

  // The cumulative loss totals the options records carry, added to as reports are encoded.
  // A sink whose batch did not go out puts back the totals from before it: the runner hands
  // that batch's reports to the next one, whose encoding adds them again.
  struct LossTotals {
    uint64_t not_sent_flows = 0;    // every loss point that counts flow records
    uint64_t ignored_packets = 0;   // kernel.table_full
    uint64_t flows_first_ms = 0, flows_last_ms = 0;  // the windows the losses fell into
    uint64_t packets_first_ms = 0, packets_last_ms = 0;
  };
  const LossTotals& loss_totals() const { return losses_; }
  void restore_loss_totals(const LossTotals& t) { losses_ = t; }

 private:
  explicit Encoder(EncoderOptions options) : options_(std::move(options)) {}

  void add_losses(const sinks::LossReport& report);

  EncoderOptions options_;
  uint32_t sequence_ = 0;
  bool templates_sent_ = false;
  uint32_t templates_sent_s_ = 0;
  LossTotals losses_;
};

}  // namespace kscope::ipfix
