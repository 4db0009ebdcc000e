// The names of a kernel enum's values, read from the running kernel's BTF at run time, not
// from a list compiled in: kernels add values and renumber them (enum skb_drop_reason's
// NO_SOCKET is 2 on 6.1 and 3 on 6.18). Parsing vmlinux's BTF takes tens of milliseconds,
// so a process reads each enum once, on first use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

struct btf;

namespace kscope {

class KernelEnum {
 public:
  // The enum called `name` in `b` (enum or enum64); an error when `b` has none.
  static Result<KernelEnum> from_btf(const btf* b, std::string_view name);
  // The running kernel's enum `name` (/sys/kernel/btf/vmlinux), read once per process.
  static Result<const KernelEnum*> running(std::string_view name);

  // The value's name as the kernel spells it ("SKB_DROP_REASON_NO_SOCKET"), or nullptr
  // when no value of the enum has this number.
  const std::string* name_of(int64_t value) const;
  std::optional<int64_t> value_of(std::string_view name) const;
  // Every value in the kernel's order.
  const std::vector<std::pair<int64_t, std::string>>& values() const { return values_; }

 private:
  std::vector<std::pair<int64_t, std::string>> values_;
};

}  // namespace kscope
