// An event as owned, typed field values looked up by key: what tests assert on and fuzzers
// exercise, for any tool, without knowing its event struct.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/field.h"

namespace kscope {

struct OwnedArgv {
  std::vector<std::string> args;
  bool truncated = false;
};

using OwnedHist = std::vector<unsigned long long>;  // Log2Hist's slots
using OwnedValue =
    std::variant<int64_t, uint64_t, bool, std::string, PidInNs, OwnedArgv, IpAddr, OwnedHist>;

class EventRecord {
 public:
  void add(const FieldInfo& info, const Value& v);
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Each accessor fails the calling test loudly (throws std::out_of_range) when the key is
  // missing or of another type.
  int64_t integer(std::string_view key) const;  // integers, errnos, signals, pids (host)
  uint64_t uinteger(std::string_view key) const;
  bool boolean(std::string_view key) const;
  const std::string& text(std::string_view key) const;
  const OwnedArgv& argv(std::string_view key) const;
  PidInNs pid(std::string_view key) const;
  std::string ip(std::string_view key) const;  // as ip_text() spells it
  const OwnedHist& hist(std::string_view key) const;  // a log2 histogram's slots
  FieldType type(std::string_view key) const;

  struct Entry {
    std::string key;
    FieldType type;
    OwnedValue value;
  };
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  const Entry* find(std::string_view key) const;
  const Entry& at(std::string_view key) const;
  std::vector<Entry> entries_;
};

// The value as a field getter returns it: views into the owned value, which must outlive it.
Value view_of(const OwnedValue& v);

template <class Event>
EventRecord to_record(const Event& e, std::span<const Field<Event>> fields) {
  EventRecord r;
  for (const auto& f : fields) r.add(f.info, f.get(e));
  return r;
}

}  // namespace kscope
