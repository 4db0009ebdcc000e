// Every trace tool, in one list that the CLI, `trace --list`, doctor, the tests and the
// fuzzers iterate. The list is generated at build time from collector/tools/*.cpp: adding a
// tool is adding its file.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "registry/tool.h"

namespace kscope {

std::span<const Tool* const> all_tools();
const Tool* find_tool(std::string_view name);
// The width of a column of tool names in a table (`trace --list`, doctor): the longest name
// and two spaces, at least 12.
size_t tool_column_width();

}  // namespace kscope
