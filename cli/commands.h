// Each command family adds its subcommands to the app. A subcommand's callback stores the
// work to run; main runs it and turns its result into the exit code.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "base/result.h"

namespace kscope::cli {

// Returns the process exit code.
using Command = std::function<int()>;

void add_doctor(CLI::App& app, Command& run);
void add_trace(CLI::App& app, Command& run);
void add_flows(CLI::App& app, Command& run);
void add_collect(CLI::App& app, Command& run);
void add_observe(CLI::App& app, Command& run);

// Prints "kscope: error: <message>" and "hint: <hint>" to stderr; returns exit code 1.
int report(const Error& error);

}  // namespace kscope::cli
