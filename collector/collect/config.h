// The configuration of `kscope collect`, the long-running collector: one YAML file, every key
// optional. Its errors carry FILE:LINE:COL and the key path, because a collector that will
// not start is debugged from its config file and the message alone. docs/config.md lists
// every key and every error.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "collect/config_tls.h"
#include "collect/sinks_config.h"

namespace kscope::collect {

enum class Label { comm, container, cgroup };  // workload labels a per-process metric may carry
std::string_view label_name(Label l);          // "comm", "container", "cgroup"

struct FlowsConfig {
  bool enabled = true;
  std::string interface;  // TC hooks of this interface; "" = cgroup hooks
  std::string cgroup;     // cgroup path; "" with no interface = the root cgroup (every socket)
  uint32_t max_flows = 16384;
  std::chrono::milliseconds sweep_interval{1000}, idle_timeout{15000}, active_timeout{60000};
  friend bool operator==(const FlowsConfig&, const FlowsConfig&) = default;
};

struct Limits {
  uint32_t series_per_metric = 2000;  // then new label sets fold into the metric's "other" series
  uint32_t series_total = 20000;
  std::chrono::seconds series_ttl{600};  // a series not updated this long is removed
  uint64_t memory = 128ull << 20;      // the collector's own (anonymous) resident memory
  uint64_t bpf_memory = 256ull << 20;  // the BPF maps its probes hold
  friend bool operator==(const Limits&, const Limits&) = default;
};

// "FILE:LINE:COL" of values whose errors show only when they are used ("": a default). They
// never make two configurations differ: moving a line changes no setting.
struct ConfigPositions {
  std::string listen, token_file;
  friend bool operator==(const ConfigPositions&, const ConfigPositions&) { return true; }
};

struct Config {
  std::string listen = "127.0.0.1:9437";
  // A file holding a bearer token (mode 0600 or stricter): when set, the metrics endpoint and
  // every stream sink serve only requests that carry it. "": none.
  std::string token_file;
  // Where the file set listen and token_file, for the errors found only when the collector
  // binds the address or reads the token.
  ConfigPositions at;
  TlsConfig tls;  // the metrics endpoint's; plain HTTP unless it has a certificate
  std::vector<Label> labels = {Label::comm, Label::container};
  Limits limits;
  FlowsConfig flows;
  bool tcp = true, drops = true, dns = true, process = true, runqlat = true, biolatency = true,
       syscalls = true;
  // Kernel BPF run-time statistics (kernel.bpf_stats_enabled) while running.
  bool bpf_stats = false;
  std::vector<SinkConfig> sinks;
  // Patterns (ECMAScript regular expressions) whose matches in the arguments of trace events
  // are replaced by "*****" before any sink sees them: secrets on command lines.
  std::vector<std::string> redact;
  // How often each sink gets a loss report: the window its consumers check for completeness.
  std::chrono::milliseconds report_interval{10'000};
  std::string file;  // the file it came from; "" for the built-in default
  friend bool operator==(const Config&, const Config&) = default;
};

// `text` is the YAML; `file` names it in errors ("FILE:LINE:COL: key.path: what").
Result<Config> parse_config(std::string_view text, std::string_view file);
// Reads the file (errors: missing, unreadable, with the path), then parse_config.
Result<Config> load_config(const std::string& path);
// The built-in default as YAML with a comment per key (`kscope collect
// --print-default-config`); parse_config of it equals Config{}.
std::string default_config_yaml();

}  // namespace kscope::collect
