// `kscope collect`: the probes the configuration turns on, running on one io_context, their
// metrics under the series budget, served over HTTP. A reload applies a new configuration
// to the running collector: probes that stay keep running and every series keeps counting.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "base/result.h"
#include "collect/config.h"
#include "exporters/collect/sink_set.h"

namespace kscope::collect {

// What check_config read from the files the configuration names, for a start or a reload to
// use: each file is read once.
struct CheckedConfig {
  std::string token;  // the bearer token of token_file; "" for none
  std::shared_ptr<boost::asio::ssl::context> metrics_tls;  // null: plain HTTP
  StreamTls stream_tls;  // of each stream sink with tls:
};

// What a start would refuse in `c` and the YAML reader cannot know: the token file, the TLS
// certificates and keys (each loaded, the key's mode checked), sinks' fields (the flow
// record's) and events (each an event tool of the registry). `--check-config`, a start and a
// reload call it before anything opens; the error names where the file or the sink is
// configured.
Result<CheckedConfig> check_config(const Config& c);

class Collector {
 public:
  // Opens every enabled source and starts the endpoint. A source that cannot open on this
  // kernel is reported and left out; the others run.
  static Result<std::unique_ptr<Collector>> start(Config config, boost::asio::io_context& io);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Applies `next`; on an error the running configuration stays whole.
  Result<void> reload(Config next);
  // A last read of every probe, then everything detached and the endpoint closed.
  void stop();

  std::string address() const;  // where the endpoint listens, e.g. "127.0.0.1:9437"
  // The sources that failed to open, with why: for the start-up message.
  const std::vector<std::string>& skipped() const;
  // What a scrape returns, in text format 0.0.4: for tests.
  std::string scrape_text();

 private:
  struct State;
  explicit Collector(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace kscope::collect
