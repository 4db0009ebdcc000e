// libFuzzer target: IPFIX encoding round trips. The input makes a batch of flow records (IPv4
// and IPv6, with and without an owner or a TCP socket, any counts, names and container ids),
// loss reports and events, and an encoder's options; the messages it encodes must each fit
// the maximum and say their own length, and read back with the tests' own RFC 7011 decoder
// (tests/unit/ipfix_decoder.h) they must hold every record, in order, with its values.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "exporters/ipfix/ipfix_encoder.h"
#include "flows/flow_record.h"
#include "ipfix_decoder.h"

namespace {

using namespace kscope;
using flows::FlowRecord;

FlowRecord make_record(FuzzedDataProvider& in) {
  FlowRecord r;
  bool v6 = in.ConsumeBool();
  r.key.family = v6 ? 6 : 4;
  in.ConsumeData(r.key.saddr, v6 ? 16 : 4);
  in.ConsumeData(r.key.daddr, v6 ? 16 : 4);
  r.key.sport = in.ConsumeIntegral<uint16_t>();
  r.key.dport = in.ConsumeIntegral<uint16_t>();
  r.key.proto = in.ConsumeIntegral<uint8_t>();
  r.key.direction = in.ConsumeBool() ? KS_FLOW_EGRESS : KS_FLOW_INGRESS;
  r.key.point = in.ConsumeIntegralInRange<uint8_t>(0, 3);
  r.key.ifindex = in.ConsumeIntegral<uint32_t>();
  r.packets = in.ConsumeIntegral<uint64_t>();
  r.bytes = in.ConsumeIntegral<uint64_t>();
  r.first_ns = in.ConsumeIntegral<uint64_t>();
  r.last_ns = in.ConsumeIntegral<uint64_t>();
  r.tcp_flags = in.ConsumeIntegral<uint64_t>();
  r.end = static_cast<flows::EndReason>(in.ConsumeIntegralInRange<int>(0, 5));
  r.owner_flags = in.ConsumeIntegralInRange<uint32_t>(0, 7);
  r.owner.tgid = in.ConsumeIntegral<uint32_t>();
  r.owner.pid = in.ConsumeIntegral<uint32_t>();
  r.owner.uid = in.ConsumeIntegral<uint32_t>();
  r.owner.cgroup_id = in.ConsumeIntegral<uint64_t>();
  std::string comm = in.ConsumeRandomLengthString(sizeof(r.owner.comm));
  std::memcpy(r.owner.comm, comm.data(), std::min(comm.size(), sizeof(r.owner.comm)));
  r.container_id = in.ConsumeRandomLengthString(300);
  r.srtt_us = in.ConsumeIntegral<uint32_t>();
  r.retransmits = in.ConsumeIntegral<uint32_t>();
  return r;
}

uint64_t num(const std::vector<uint8_t>& v) {
  uint64_t n = 0;
  for (uint8_t b : v) n = n << 8 | b;
  return n;
}

void check(const FlowRecord& want, const ipfix::readback::Record& got) {
  if (want.overflow()) {  // no 5-tuple: the IPv4 template, its counts only (docs/ipfix.md)
    if (num(got.raw(1)) != want.bytes || num(got.raw(2)) != want.packets) std::abort();
    return;
  }
  bool v6 = want.key.family == 6;
  size_t alen = v6 ? 16 : 4;
  const auto& s = got.raw(v6 ? 27 : 8);
  const auto& d = got.raw(v6 ? 28 : 12);
  if (s.size() != alen || d.size() != alen || std::memcmp(s.data(), want.key.saddr, alen) ||
      std::memcmp(d.data(), want.key.daddr, alen))
    std::abort();
  if (num(got.raw(1)) != want.bytes || num(got.raw(2)) != want.packets ||
      num(got.raw(4)) != want.key.proto)
    std::abort();
  // ICMP's type and code ride in the destination port and in icmpTypeCode; its source port
  // goes out as 0 (docs/ipfix.md).
  bool icmp = want.key.proto == 1 || want.key.proto == 58;
  if (num(got.raw(7)) != (icmp ? 0 : want.key.sport) || num(got.raw(11)) != want.key.dport ||
      num(got.raw(v6 ? 139 : 32)) != (icmp ? want.key.dport : 0))
    std::abort();
  uint32_t pen = ipfix::kDocumentationPen;
  if (got.has(static_cast<uint16_t>(ipfix::KscopeIe::container_id), pen)) {
    std::string id = got.str(static_cast<uint16_t>(ipfix::KscopeIe::container_id), pen);
    if (id != want.container_id.substr(0, ipfix::kMaxContainerId)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  ipfix::EncoderOptions o;
  o.observation_domain = in.ConsumeIntegral<uint32_t>();
  o.max_message = in.ConsumeIntegralInRange<size_t>(0, 65535);
  o.template_interval = std::chrono::seconds(in.ConsumeIntegralInRange(0, 120));
  o.context.boot_to_wall_ns = in.ConsumeIntegral<int64_t>();
  auto encoder = ipfix::Encoder::create(o);
  if (!encoder) return 0;

  std::vector<sinks::Item> batch;
  std::vector<const FlowRecord*> flows;
  while (batch.size() < 64 && in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0: {
        sinks::LossReport l;
        l.window_start_ns = in.ConsumeIntegral<uint64_t>();
        l.window_end_ns = in.ConsumeIntegral<uint64_t>();
        l.records = in.ConsumeIntegral<uint64_t>();
        for (const char* p : {"kernel.table_full", "sink.queue", "collector.memory_shed"})
          if (in.ConsumeBool()) l.lost.emplace_back(p, in.ConsumeIntegral<uint64_t>());
        batch.emplace_back(std::move(l));
        break;
      }
      case 1: batch.emplace_back(sinks::EventItem{.tool = "exec", .json = "{}\n"}); break;
      default: batch.emplace_back(make_record(in));
    }
  }
  for (const auto& item : batch)
    if (const auto* r = std::get_if<FlowRecord>(&item)) flows.push_back(r);

  std::map<uint16_t, ipfix::readback::Template> known;
  size_t next = 0;
  uint32_t now = 1'780'000'000;
  for (int round = 0; round < 2; ++round, now += 61) {  // the second repeats the templates
    next = 0;
    for (const auto& m : encoder->encode(batch, now)) {
      if (m.size() > o.max_message) std::abort();
      ipfix::readback::Decoded d;
      try {
        d = ipfix::readback::decode(m, known);
        if (d.version != 10 || d.length != m.size() || d.domain != o.observation_domain)
          std::abort();
        for (const auto& rec : d.records)
          if (rec.template_id >= ipfix::kTemplateBase &&
              rec.template_id < ipfix::kTemplateExportingReliability) {
            if (next >= flows.size()) std::abort();
            check(*flows[next++], rec);
          }
      } catch (const std::out_of_range& e) {
        std::fprintf(stderr, "the encoder wrote what its reader cannot read: %s\n", e.what());
        std::abort();
      }
    }
    if (next != flows.size()) std::abort();
  }
  return 0;
}
