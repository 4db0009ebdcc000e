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

namespace kscope::collect {

// What a start would refuse in `c` and the YAML reader cannot know: the token file, sinks'
// fields (the flow record's) and events (each an event tool of the registry).
// `--check-config`, a start and a reload call it before anything opens; the error names where
// the sink is configured. Returns the bearer token it read ("" for none).
Result<std::string> check_config(const Config& c);

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
