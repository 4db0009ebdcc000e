// A decoder of IPFIX messages (RFC 7011 §3) written from the RFC for the tests, sharing
// nothing with the encoder it checks: ipfix_encoder_test and the ipfix fuzz target read the
// encoder's bytes back with it. Malformed input throws std::out_of_range.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kscope::ipfix::readback {

struct Spec {
  uint16_t id;
  uint16_t length;
  uint32_t pen;
  bool operator==(const Spec&) const = default;
};
struct Template {
  uint16_t id = 0;
  uint16_t scope_count = 0;  // 0 for a data template
  std::vector<Spec> fields;
};
struct Record {
  uint16_t template_id = 0;
  std::map<std::pair<uint32_t, uint16_t>, std::vector<uint8_t>> values;  // (pen, id) -> octets

  const std::vector<uint8_t>& raw(uint16_t id, uint32_t pen = 0) const {
    auto it = values.find({pen, id});
    if (it == values.end())
      throw std::out_of_range("no element " + std::to_string(pen) + "/" + std::to_string(id));
    return it->second;
  }
  uint64_t num(uint16_t id, uint32_t pen = 0) const {
    uint64_t v = 0;
    for (uint8_t b : raw(id, pen)) v = v << 8 | b;
    return v;
  }
  std::string str(uint16_t id, uint32_t pen = 0) const {
    const auto& r = raw(id, pen);
    return std::string(r.begin(), r.end());
  }
  std::string ip(uint16_t id) const {
    const auto& r = raw(id);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(r.size() == 4 ? AF_INET : AF_INET6, r.data(), text, sizeof(text));
    return text;
  }
  bool has(uint16_t id, uint32_t pen = 0) const { return values.contains({pen, id}); }
};
struct Decoded {
  uint16_t version = 0, length = 0;
  uint32_t export_time = 0, sequence = 0, domain = 0;
  std::vector<uint16_t> set_ids;
  std::vector<Template> templates;
  std::vector<Record> records;
};

struct Reader {
  const std::vector<uint8_t>& b;
  size_t at = 0;
  uint64_t get(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | b.at(at++);
    return v;
  }
};

// Templates persist across messages, as a collector keeps them per session and domain.
Decoded decode(const std::vector<uint8_t>& msg, std::map<uint16_t, Template>& known) {
  Decoded d;
  Reader r{msg};
  d.version = static_cast<uint16_t>(r.get(2));
  d.length = static_cast<uint16_t>(r.get(2));
  d.export_time = static_cast<uint32_t>(r.get(4));
  d.sequence = static_cast<uint32_t>(r.get(4));
  d.domain = static_cast<uint32_t>(r.get(4));
  while (r.at < msg.size()) {
    size_t set_start = r.at;
    uint16_t set_id = static_cast<uint16_t>(r.get(2));
    uint16_t set_len = static_cast<uint16_t>(r.get(2));
    d.set_ids.push_back(set_id);
    size_t set_end = set_start + set_len;
    if (set_len < 4 || set_end > msg.size()) throw std::out_of_range("set past the message");
    while (r.at + 4 <= set_end) {
      if (set_id == 2 || set_id == 3) {
        Template t;
        t.id = static_cast<uint16_t>(r.get(2));
        uint16_t count = static_cast<uint16_t>(r.get(2));
        if (set_id == 3) t.scope_count = static_cast<uint16_t>(r.get(2));
        for (int i = 0; i < count; ++i) {
          uint16_t id = static_cast<uint16_t>(r.get(2));
          uint16_t len = static_cast<uint16_t>(r.get(2));
          uint32_t pen = id & 0x8000 ? static_cast<uint32_t>(r.get(4)) : 0;
          t.fields.push_back({static_cast<uint16_t>(id & 0x7fff), len, pen});
        }
        known[t.id] = t;
        d.templates.push_back(t);
      } else {
        const Template& t = known.at(set_id);
        Record rec{set_id, {}};
        for (const Spec& f : t.fields) {
          size_t len = f.length;
          if (len == 0xffff) {
            len = r.get(1);
            if (len == 255) len = r.get(2);
          }
          if (r.at + len > set_end) throw std::out_of_range("field past its set");
          std::vector<uint8_t> v(msg.begin() + r.at, msg.begin() + r.at + len);
          r.at += len;
          rec.values[{f.pen, f.id}] = v;
        }
        d.records.push_back(rec);
      }
    }
    r.at = set_end;  // padding, if any
  }
  return d;
}

}  // namespace kscope::ipfix::readback
