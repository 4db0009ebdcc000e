// The collector's sinks: each configured sink opened behind its runner, the flow records of
// every sweep offered to all, and at every report interval a loss report (what the kernel,
// the collector and each sink lost in the window) written into every sink's own stream.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collect/config.h"
#include "exporters/sinks/sink.h"
#include "exporters/sinks/sink_runner.h"

namespace boost::asio::ssl {
class context;
}

namespace kscope::stream {
class StreamSink;
}

namespace kscope::collect {

// A loss upstream of the sinks, as a running total: the set reports its growth to the sinks
// that take what it lost (`of`: "flows", or the tool whose events it is).
struct UpstreamLoss {
  std::string point;  // "kernel.table_full", "exec.ring_reserve"
  std::string of;
  uint64_t total = 0;
};
using UpstreamLosses = std::vector<UpstreamLoss>;

// Clients an endpoint turned away: without the bearer token, or whose TLS handshake failed.
struct Refusals {
  uint64_t unauthorized = 0;
  uint64_t tls_handshake_failures = 0;
  Refusals& operator+=(const Refusals& o) {
    unauthorized += o.unauthorized;
    tls_handshake_failures += o.tls_handshake_failures;
    return *this;
  }
};

// Each stream sink's TLS context (exporters/tls/tls_context.h), by sink name.
using StreamTls = std::map<std::string, std::shared_ptr<boost::asio::ssl::context>>;

struct SinkState {
  std::string name, type;
  sinks::SinkRunner::Totals totals;
};

class SinkSet {
 public:
  explicit SinkSet(sinks::Context context) : context_(std::move(context)) {}
  ~SinkSet();

  // Opens the sinks of `configs` that are not running as configured, stops those no longer
  // configured (after writing what they hold). A sink that cannot open is left out, its
  // error (which names where it is configured) added to `failed`; the others run.
  void apply(const std::vector<SinkConfig>& configs, std::vector<Error>& failed);
  void offer(const flows::FlowRecord& r);
  void offer(const sinks::EventItem& e);
  // The trace tools whose events some sink takes, each with where the first sink asking for
  // it is configured.
  std::vector<std::pair<std::string, std::string>> event_tools() const;
  // At the report interval (checked by the caller's tick): a loss report into every sink.
  void report(const UpstreamLosses& upstream, std::chrono::milliseconds interval);
  // The bearer token every stream sink asks its clients for, those running and those opened
  // later ("": none).
  void set_stream_token(const std::string& token);
  // The TLS contexts of the stream sinks with tls:, those running (a reload's new certificate)
  // and those opened later.
  void set_stream_tls(StreamTls tls);
  // Stream clients turned away, by every stream sink since the start.
  Refusals stream_refusals() const;
  // Every sink writes what it holds and stops.
  void stop();

  bool empty() const { return running_.empty(); }
  std::vector<SinkState> states() const;

 private:
  struct Running {
    SinkConfig config;
    std::unique_ptr<sinks::SinkRunner> runner;
    stream::StreamSink* stream = nullptr;  // the runner's sink, when it is a stream
  };
  sinks::Context context_;
  std::string stream_token_;
  StreamTls stream_tls_;
  Refusals stream_refusals_gone_;  // of stream sinks since stopped
  std::vector<Running> running_;
  std::map<std::string, uint64_t> last_;  // each point's total at the last report
  uint64_t window_start_ns_ = 0;  // CLOCK_REALTIME
  std::chrono::steady_clock::time_point last_report_ = std::chrono::steady_clock::now();
};

// Opens one sink from its configuration.
Result<std::unique_ptr<sinks::Sink>> open_sink(const SinkConfig& c, const sinks::Context& context);

}  // namespace kscope::collect
