// `kscope collect`: the long-running collector. Runs the probes its configuration turns on
// (the built-in default without a file), serves their metrics over HTTP, reloads the file
// on SIGHUP and detaches everything on SIGTERM or SIGINT.
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bpf/capabilities.h"
#include "bpf/features.h"
#include "bpf/mounts.h"
#include "collect/config.h"
#include "commands.h"
#include "exporters/collect/collector.h"

namespace kscope::cli {
namespace {

namespace asio = boost::asio;
using collect::Collector;
using collect::Config;

struct CollectFlags {
  std::string config;
  std::string check;
  bool print_default = false;
};

Result<Config> load(const std::string& path) {
  if (path.empty()) return Config{};
  return collect::load_config(path);
}

// What a running collector may need again: a reload opens sources (CAP_BPF, CAP_PERFMON,
// CAP_NET_ADMIN; CAP_DAC_READ_SEARCH for a user other than root to read tracepoint ids in
// tracefs) and may bind a new listen port below 1024 (CAP_NET_BIND_SERVICE); bpf_stats needs
// CAP_SYS_ADMIN, kept only when the configuration it starts with has it on.
uint64_t collect_capabilities(const Config& c) {
  uint64_t keep = cap_bit(CAP_BPF) | cap_bit(CAP_PERFMON) | cap_bit(CAP_NET_ADMIN) |
                  cap_bit(CAP_DAC_READ_SEARCH) | cap_bit(CAP_NET_BIND_SERVICE);
  if (c.bpf_stats) keep |= cap_bit(CAP_SYS_ADMIN);
  return keep;
}

int run_collect(const CollectFlags& f) {
  if (f.print_default) {
    fmt::print("{}", collect::default_config_yaml());
    return 0;
  }
  if (!f.check.empty()) {
    auto c = collect::load_config(f.check);
    if (!c) return report(c.error());
    if (auto ok = collect::check_config(*c); !ok) return report(ok.error());
    fmt::print("{}: the configuration is valid\n", f.check);
    return 0;
  }
  auto config = load(f.config);
  if (!config) return report(config.error());
  if (auto p = require_collect_privileges(); !p) return report(p.error());

  // What needs more than attaching probes happens first, while this is the only thread:
  // mounting tracefs and cgroup2 when absent, and the kernel's feature checks. Then every
  // capability a reload does not need goes, before any thread starts (they inherit the sets).
  (void)ensure_tracefs();
  (void)ensure_cgroup2();
  (void)Features::system();
  give_up_capabilities("collect", collect_capabilities(*config));

  asio::io_context io;
  auto collector = Collector::start(*config, io);
  if (!collector) return report(collector.error());
  fmt::print(stderr, "kscope collect: metrics at {}://{}/metrics ({})\n",
             config->tls.enabled() ? "https" : "http", (*collector)->address(),
             config->file.empty() ? "built-in configuration" : config->file);
  for (const auto& s : (*collector)->skipped()) fmt::print(stderr, "kscope collect: left out {}\n", s);

  asio::signal_set stop(io, SIGINT, SIGTERM), hup(io, SIGHUP);
  int stopped_by = 0;
  stop.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    stopped_by = sig;
    (*collector)->stop();
    hup.cancel();
    io.stop();
  });
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (f.config.empty()) {
        fmt::print(stderr, "kscope collect: SIGHUP: no configuration file to reload (started "
                           "with the built-in one)\n");
      } else if (auto next = collect::load_config(f.config); !next) {
        fmt::print(stderr, "kscope collect: reload refused, the running configuration stays: {}\n",
                   next.error().message);
      } else if (auto r = (*collector)->reload(*next); !r) {
        fmt::print(stderr, "kscope collect: reload refused: {}\n", r.error().message);
      } else {
        fmt::print(stderr, "kscope collect: reloaded {}\n", f.config);
        for (const auto& s : (*collector)->skipped())
          fmt::print(stderr, "kscope collect: left out {}\n", s);
      }
      wait_hup();
    });
  };
  wait_hup();
  io.run();
  fmt::print(stderr, "kscope collect: stopped by {}, every probe detached\n",
             stopped_by == SIGINT ? "SIGINT" : "SIGTERM");
  return 0;
}

}  // namespace

void add_collect(CLI::App& app, Command& run) {
  auto f = std::make_shared<CollectFlags>();
  auto* cmd = app.add_subcommand(
      "collect", "The long-running collector: probes' metrics for Prometheus, at 127.0.0.1:9437 by default");
  auto* config = cmd->add_option("-c,--config", f->config,
                                 "The YAML configuration (docs/config.md); default: built in");
  auto* check = cmd->add_option("--check-config", f->check, "Check this configuration file and exit");
  auto* print = cmd->add_flag("--print-default-config", f->print_default,
                              "Print the built-in configuration as YAML and exit");
  // Each is a different run: together, one would be silently ignored.
  check->excludes(config);
  print->excludes(config)->excludes(check);
  cmd->footer(
      "Signals: SIGHUP reloads the file (counters and flows carry on), SIGTERM and SIGINT "
      "detach everything and exit.\nExamples:\n  kscope collect\n  kscope collect -c "
      "/etc/kscope/collect.yaml\n  kscope collect --check-config /etc/kscope/collect.yaml\n"
      "  curl -s http://127.0.0.1:9437/metrics");
  cmd->callback([&run, f] { run = [f] { return run_collect(*f); }; });
}

}  // namespace kscope::cli
