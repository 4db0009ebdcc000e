// kscope: a thin main over the collector library. Errors become one line, a hint, an exit code.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.h"
#include "commands.h"

namespace kscope::cli {

int report(const Error& error) {
  fmt::print(stderr, "kscope: error: {}\n", error.message);
  if (!error.hint.empty()) fmt::print(stderr, "hint: {}\n", error.hint);
  return 1;
}

namespace {

// CLI11's own errors (unknown flag, bad number) in the same one-line-plus-hint shape; the
// hint names the deepest command the user reached.
std::string failure_message(const CLI::App* app, const CLI::Error& e) {
  // `kscope bogus`: CLI11 says only that a subcommand is required.
  if (dynamic_cast<const CLI::RequiredError*>(&e) && app->get_subcommands().empty() &&
      !app->remaining().empty()) {
    std::vector<std::string> names;
    for (const CLI::App* sub : app->get_subcommands({})) names.push_back(sub->get_name());
    return fmt::format(
        "kscope: error: kscope has no subcommand '{}'\nhint: the subcommands are: {} (see "
        "`kscope --help`)\n",
        app->remaining().front(), fmt::join(names, ", "));
  }
  std::string path = app->get_name();
  for (;;) {
    auto chosen = app->get_subcommands();
    if (chosen.empty()) break;
    app = chosen.front();
    path += " " + app->get_name();
  }
  return fmt::format("kscope: error: {}\nhint: see `{} --help`\n", e.what(), path);
}

}  // namespace
}  // namespace kscope::cli

int main(int argc, char** argv) {
  using namespace kscope;
  CLI::App app{"kscope: eBPF tracing and observability for Linux", "kscope"};
  app.require_subcommand(1);
  int verbosity = 0;
  app.add_flag("-v,--verbose", verbosity, "More output: -v shows libbpf warnings, -vv everything");
  app.footer("Examples:\n  kscope doctor\n  kscope trace exec --failed\n  kscope trace open --path /etc\n  kscope flows");
  app.failure_message(cli::failure_message);

  cli::Command run;
  cli::add_doctor(app, run);
  cli::add_trace(app, run);
  cli::add_flows(app, run);
  cli::add_collect(app, run);
  cli::add_observe(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // 2: a usage error, as with other command-line tools
  }
  // A closed stdout (`kscope trace exec | head`) ends a run cleanly, with its summary,
  // instead of killing the process.
  std::signal(SIGPIPE, SIG_IGN);
  log::set_verbosity(verbosity);
  log::install_libbpf_logger();
  return run ? run() : 0;
}
