// The one filter model. A run's filter is a list of clauses over the tools' typed fields
// (`pid == 42`, `path ^= /etc`, `errno != 0`). A probe compiles the clauses it can into its
// rodata and claims them; user space evaluates the rest, and on a replay (no probe) all of
// them. Each operator has one implementation, here, whatever the tool.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "model/field.h"

namespace kscope {

enum class Op { eq, ne, prefix };

struct Clause {
  std::string key;                            // the field it tests
  Op op = Op::eq;
  std::variant<int64_t, std::string> operand;  // integers compare by value, text by bytes
  std::string origin;                         // the flag it came from, for messages
};

// Whether a field's value passes one clause. A value of a type the operator does not apply
// to never passes (compile() rejects such clauses before a run).
bool clause_matches(const Clause& c, const Value& v);
// Whether the clause fits a field of this type (integers against numbers, prefix on text).
bool clause_fits(const Clause& c, FieldType type);

class Filter {
 public:
  void add(Clause c) { clauses_.push_back({std::move(c), false}); }
  // The clause on `key` with `op`, or nullptr when the filter has none.
  const Clause* find(std::string_view key, Op op) const;
  // A probe takes the clause into its rodata: a live run no longer checks it in user space.
  void claim(const Clause& c);
  // find() and claim() in one, for clauses a probe can always compile.
  const Clause* claim(std::string_view key, Op op) {
    const Clause* c = find(key, op);
    if (c) claim(*c);
    return c;
  }
  // Forgets every claim: the next probe (a fallback alternative) claims afresh.
  void reset_claims();
  size_t size() const { return clauses_.size(); }
  const Clause& clause(size_t i) const { return clauses_[i].clause; }
  bool claimed(size_t i) const { return clauses_[i].claimed; }

 private:
  struct Entry {
    Clause clause;
    bool claimed;
  };
  std::vector<Entry> clauses_;
};

// A filter bound to one tool's fields: each clause finds its field once, not per event.
template <class Event>
class CompiledFilter {
 public:
  // `unclaimed_only`: a live run, where the probe already applied what it claimed.
  static Result<CompiledFilter> compile(const Filter& f, std::span<const Field<Event>> fields,
                                        bool unclaimed_only) {
    CompiledFilter cf;
    for (size_t i = 0; i < f.size(); ++i) {
      if (unclaimed_only && f.claimed(i)) continue;
      const Clause& c = f.clause(i);
      const Field<Event>* field = nullptr;
      for (const auto& candidate : fields)
        if (candidate.info.key == c.key) field = &candidate;
      if (!field || !clause_fits(c, field->info.type))
        return fail(c.origin + ": this tool has no field '" + c.key + "' to compare that way",
                    "see the tool's --help for its fields");
      cf.bound_.push_back({&c, field->get});
    }
    return cf;
  }
  bool empty() const { return bound_.empty(); }
  bool matches(const Event& e) const {
    for (const auto& b : bound_)
      if (!clause_matches(*b.clause, b.get(e))) return false;
    return true;
  }

 private:
  struct Bound {
    const Clause* clause;
    Value (*get)(const Event&);
  };
  std::vector<Bound> bound_;
};

}  // namespace kscope
