// Every trace tool, in one list that the CLI, `trace --list`, doctor, the tests and the
// fuzzers iterate. The list is generated at build time from collector/tools/*.cpp: adding a
// tool is adding its file.
#pragma once

#include <span>
#include <string_view>

#include "registry/tool.h"

namespace kscope {

std::span<const Tool* const> all_tools();
const Tool* find_tool(std::string_view name);

}  // namespace kscope
