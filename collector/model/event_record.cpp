#include "model/event_record.h"

#include <stdexcept>

namespace kscope {

void EventRecord::add(const FieldInfo& info, const Value& v) {
  OwnedValue owned = std::visit(
      [](const auto& x) -> OwnedValue {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string_view>) return std::string(x);
        else if constexpr (std::is_same_v<T, ArgvView>)
          return OwnedArgv{{x.args.begin(), x.args.end()}, x.truncated};
        else if constexpr (std::is_same_v<T, Log2Hist>)
          return OwnedHist(x.slots.begin(), x.slots.end());
        else return x;
      },
      v);
  entries_.push_back({std::string(info.key), info.type, std::move(owned)});
}

Value view_of(const OwnedValue& v) {
  return std::visit(
      [](const auto& x) -> Value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return std::string_view(x);
        else if constexpr (std::is_same_v<T, OwnedArgv>) return ArgvView{x.args, x.truncated};
        else if constexpr (std::is_same_v<T, OwnedHist>) return Log2Hist{x, ""};
        else return x;
      },
      v);
}

const EventRecord::Entry* EventRecord::find(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

const EventRecord::Entry& EventRecord::at(std::string_view key) const {
  if (const Entry* e = find(key)) return *e;
  throw std::out_of_range("event has no field " + std::string(key));
}

template <class T>
static const T& get_as(const OwnedValue& v, std::string_view key) {
  if (auto* x = std::get_if<T>(&v)) return *x;
  throw std::out_of_range("field " + std::string(key) + " has another type");
}

int64_t EventRecord::integer(std::string_view key) const {
  const auto& v = at(key).value;
  if (auto* p = std::get_if<PidInNs>(&v)) return p->host;
  return get_as<int64_t>(v, key);
}
uint64_t EventRecord::uinteger(std::string_view key) const {
  return get_as<uint64_t>(at(key).value, key);
}
bool EventRecord::boolean(std::string_view key) const { return get_as<bool>(at(key).value, key); }
const std::string& EventRecord::text(std::string_view key) const {
  return get_as<std::string>(at(key).value, key);
}
const OwnedArgv& EventRecord::argv(std::string_view key) const {
  return get_as<OwnedArgv>(at(key).value, key);
}
PidInNs EventRecord::pid(std::string_view key) const { return get_as<PidInNs>(at(key).value, key); }
std::string EventRecord::ip(std::string_view key) const {
  return ip_text(get_as<IpAddr>(at(key).value, key));
}
const OwnedHist& EventRecord::hist(std::string_view key) const {
  return get_as<OwnedHist>(at(key).value, key);
}
FieldType EventRecord::type(std::string_view key) const { return at(key).type; }

}  // namespace kscope
