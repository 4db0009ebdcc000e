#include "registry/tool.h"

#include <cstdlib>

#include "base/log.h"

namespace kscope {

std::string_view long_name(const FlagSpec& spec) {
  std::string_view n = spec.names;
  if (auto comma = n.rfind(','); comma != std::string_view::npos) n.remove_prefix(comma + 1);
  return n;
}

ToolArgs::ToolArgs(std::span<const FlagSpec> specs) : specs_(specs), slots_(specs.size()) {
  for (size_t i = 0; i < specs.size(); ++i) slots_[i].number = specs[i].def;
}

const ToolArgs::Slot& ToolArgs::slot(std::string_view name) const {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (long_name(specs_[i]) == name) return slots_[i];
  // A tool asking for a flag it did not declare is a bug in that tool's file.
  log::error("internal error: no flag {} declared", name);
  std::abort();
}

}  // namespace kscope
