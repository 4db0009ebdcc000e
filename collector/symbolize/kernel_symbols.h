// The kernel's symbols from /proc/kallsyms (vmlinux and modules), sorted once, looked up by
// binary search: the function a kernel stack address falls in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace kscope {

struct KernelSymbol {
  std::string_view name;
  uint64_t addr;  // where it starts
};

class KernelSymbols {
 public:
  // Fails when the file cannot be read, or when it shows every address as 0
  // (kptr_restrict hides them from this process: the hint says so).
  static Result<KernelSymbols> load(const std::string& path = "/proc/kallsyms");
  // The text symbol at or before `addr`; nothing before the first one. kallsyms has no
  // sizes: an address past a symbol's end is named after it, as every kallsyms reader does.
  std::optional<KernelSymbol> symbol_at(uint64_t addr) const;
  size_t size() const { return addrs_.size(); }

 private:
  std::vector<uint64_t> addrs_;   // sorted
  std::vector<uint32_t> names_;   // offsets in pool_, in addrs_' order
  std::string pool_;              // NUL-terminated names
};

}  // namespace kscope
