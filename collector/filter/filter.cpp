#include "filter/filter.h"

#include <optional>

namespace kscope {
namespace {

// The integer a value compares as: pids compare by the host pid, booleans as 0 and 1.
std::optional<int64_t> as_integer(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<int64_t>(*u);
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  if (auto* p = std::get_if<PidInNs>(&v)) return p->host;
  return std::nullopt;
}

bool integer_type(FieldType t) {
  switch (t) {
    case FieldType::text:
    case FieldType::argv:
    case FieldType::ip:
    case FieldType::log2_hist: return false;
    default: return true;
  }
}

}  // namespace

bool clause_fits(const Clause& c, FieldType type) {
  bool number = std::holds_alternative<int64_t>(c.operand);
  if (c.op == Op::prefix) return !number && type == FieldType::text;
  return number ? integer_type(type) : type == FieldType::text || type == FieldType::ip;
}

bool clause_matches(const Clause& c, const Value& v) {
  if (auto* want = std::get_if<int64_t>(&c.operand)) {
    auto got = as_integer(v);
    if (!got) return false;
    return c.op == Op::eq ? *got == *want : c.op == Op::ne && *got != *want;
  }
  const auto& want = std::get<std::string>(c.operand);
  if (auto* ip = std::get_if<IpAddr>(&v)) {  // as spelled: "::ffff:10.0.0.1" is not "10.0.0.1"
    bool same = *ip == parse_ip(want);
    return c.op == Op::eq ? same : c.op == Op::ne && !same;
  }
  auto* got = std::get_if<std::string_view>(&v);
  if (!got) return false;
  switch (c.op) {
    case Op::eq: return *got == want;
    case Op::ne: return *got != want;
    case Op::prefix: return got->starts_with(want);
  }
  return false;
}

const Clause* Filter::find(std::string_view key, Op op) const {
  for (const auto& e : clauses_)
    if (e.clause.key == key && e.clause.op == op) return &e.clause;
  return nullptr;
}

void Filter::claim(const Clause& c) {
  for (auto& e : clauses_)
    if (&e.clause == &c) e.claimed = true;
}

void Filter::reset_claims() {
  for (auto& e : clauses_) e.claimed = false;
}

}  // namespace kscope
