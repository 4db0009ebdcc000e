// Syscall slots (probes/common/syscall_slot.h) by name and back, for trace syscount and trace
// syslat: "read" is native read, "ia32:read" the 32-bit one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/syscall_slot.h"
#include "tools/syscall_names.h"

namespace kscope::tools {

// The tables of this architecture's native and 32-bit syscall names, and the 32-bit ones'
// prefix.
struct SyscallTables {
  std::span<const std::string_view> native, compat;
  std::string_view compat_prefix;
};

inline SyscallTables syscall_tables() {
#if defined(__x86_64__)
  return {syscall_names::kX86_64, syscall_names::kIa32, "ia32:"};
#else
  return {{}, {}, "compat:"};  // only x86's tables are generated
#endif
}

// "read", "ia32:read"; a number the tables do not name is "syscall_451", and the slot of
// every number from KS_SYSCALL_SLOTS - 1 up "syscall_1023+".
inline std::string syscall_name(uint32_t nr, bool compat) {
  SyscallTables t = syscall_tables();
  std::span<const std::string_view> names = compat ? t.compat : t.native;
  std::string_view prefix = compat ? t.compat_prefix : "";
  if (nr < names.size() && !names[nr].empty()) return fmt::format("{}{}", prefix, names[nr]);
  if (nr == KS_SYSCALL_SLOTS - 1) return fmt::format("{}syscall_{}+", prefix, nr);  // shared slot
  return fmt::format("{}syscall_{}", prefix, nr);
}

// The slot of a syscall named as syscall_name() names it, or nullopt.
inline std::optional<uint32_t> syscall_slot_of(std::string_view name) {
  SyscallTables t = syscall_tables();
  bool compat = name.starts_with(t.compat_prefix);
  if (compat) name.remove_prefix(t.compat_prefix.size());
  std::span<const std::string_view> names = compat ? t.compat : t.native;
  for (uint32_t nr = 0; nr < names.size() && nr < KS_SYSCALL_SLOTS - 1; ++nr)
    if (!names[nr].empty() && names[nr] == name) return compat ? KS_SYSCALL_SLOTS + nr : nr;
  return std::nullopt;
}

}  // namespace kscope::tools
