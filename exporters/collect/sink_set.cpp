#include "exporters/collect/sink_set.h"

#include <time.h>

#include <algorithm>

#include "base/log.h"
#include "exporters/ipfix/ipfix_sink.h"
#include "exporters/kafka/kafka_sink.h"
#include "exporters/sinks/file_sink.h"
#include "exporters/stream/stream_sink.h"

namespace kscope::collect {
namespace {

Refusals refusals_of(const stream::StreamSink& s) {
  auto st = s.stats();
  return {st.unauthorized, st.tls_handshake_failures};
}

uint64_t wall_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// "host:port" or "[v6]:port", as the configuration checked it.
std::pair<std::string, uint16_t> host_port(const std::string& address) {
  size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {host, static_cast<uint16_t>(std::stoul(address.substr(colon + 1)))};
}

// A sink's shutdown: this long to write what it holds, then the rest is counted lost.
constexpr auto kStopLimit = std::chrono::seconds(2);

}  // namespace

Result<std::unique_ptr<sinks::Sink>> open_sink(const SinkConfig& c, const sinks::Context& context) {
  auto mask = sinks::FieldMask::parse(c.fields);
  if (!mask) return fail(fmt::format("{}: fields: {}", c.where, mask.error().message), mask.error().hint);
  auto located = [&](const Error& e) {
    return fail(fmt::format("{}: {}", c.where, e.message), e.hint, e.code);
  };
  switch (c.type) {
    case SinkType::file:
    case SinkType::stdout_: {
      sinks::FileOptions o{.name = c.name,
                           .path = c.type == SinkType::stdout_ ? "-" : c.file.path,
                           .max_size = c.file.max_size,
                           .max_backups = c.file.max_backups,
                           .rotate_interval = std::chrono::duration_cast<std::chrono::seconds>(
                               c.file.rotate_interval),
                           .compress = c.file.compress,
                           .fields = *mask,
                           .context = context};
      auto s = sinks::FileSink::open(std::move(o));
      if (!s) return located(s.error());
      return std::unique_ptr<sinks::Sink>(std::move(*s));
    }
    case SinkType::kafka: {
      const KafkaSinkConfig& k = c.kafka;
      sinks::KafkaOptions o{.name = c.name,
                            .brokers = k.brokers,
                            .topic = k.topic,
                            .compression = k.compression,
                            .batch_size = k.batch_size,
                            .linger = k.linger,
                            .buffer = k.buffer,
                            .message_timeout = k.message_timeout,
                            .properties = k.properties,
                            .fields = *mask,
                            .context = context};
      auto s = sinks::KafkaSink::open(std::move(o));
      if (!s) return located(s.error());
      return std::unique_ptr<sinks::Sink>(std::move(*s));
    }
    case SinkType::ipfix: {
      const IpfixSinkConfig& i = c.ipfix;
      auto [host, port] = host_port(i.address);
      ipfix::IpfixOptions o{.host = host,
                            .port = port,
                            .transport = i.tcp ? ipfix::Transport::tcp : ipfix::Transport::udp,
                            .observation_domain = i.observation_domain,
                            .max_message = i.max_message,
                            .template_interval = std::chrono::duration_cast<std::chrono::seconds>(
                                i.template_interval),
                            .enterprise_number = i.enterprise_number,
                            .context = context};
      auto s = ipfix::IpfixSink::open(std::move(o));
      if (!s) return located(s.error());
      return std::unique_ptr<sinks::Sink>(std::move(*s));
    }
    case SinkType::stream: {
      stream::StreamOptions o{.name = c.name,
                              .fields = *mask,
                              .listen = c.stream.listen,
                              .unix_path = c.stream.unix_path,
                              .ring_records = c.stream.buffer,
                              .client_queue = c.stream.client_queue,
                              .max_clients = c.stream.max_clients,
                              .context = context};
      auto s = stream::StreamSink::start(std::move(o));
      if (!s) return located(s.error());
      return std::unique_ptr<sinks::Sink>(std::move(*s));
    }
  }
  return fail(fmt::format("{}: unknown sink type", c.where));
}

SinkSet::~SinkSet() { stop(); }

void SinkSet::apply(const std::vector<SinkConfig>& configs, std::vector<Error>& failed) {
  // Those no longer configured as they run: stopped first, so a renamed file or a moved port
  // is free for the new one.
  std::erase_if(running_, [&](Running& r) {
    bool keep = std::find(configs.begin(), configs.end(), r.config) != configs.end();
    if (!keep && r.stream) stream_refusals_gone_ += refusals_of(*r.stream);
    if (!keep) r.runner->stop(kStopLimit);
    return !keep;
  });
  for (const auto& c : configs) {
    bool running = std::any_of(running_.begin(), running_.end(),
                               [&](const Running& r) { return r.config == c; });
    if (running) continue;
    auto sink = open_sink(c, context_);
    if (!sink) {
      failed.push_back(sink.error());
      continue;
    }
    log::info("collect: sink {} ({}) open", c.name, sink_type_name(c.type));
    auto* stream = dynamic_cast<stream::StreamSink*>(sink->get());
    if (stream) {
      stream->set_token(stream_token_);
      if (c.stream.tls.enabled()) stream->set_tls(stream_tls_[c.name]);
    }
    running_.push_back({c,
                        std::make_unique<sinks::SinkRunner>(
                            c.name, std::string(sink_type_name(c.type)), std::move(*sink),
                            c.queue, c.filters, c.events),
                        stream});
  }
  if (!window_start_ns_) window_start_ns_ = wall_now_ns();
}

void SinkSet::offer(const flows::FlowRecord& r) {
  for (auto& s : running_) s.runner->offer(r);
}

void SinkSet::offer(const sinks::EventItem& e) {
  for (auto& s : running_) s.runner->offer(e);
}

std::vector<std::pair<std::string, std::string>> SinkSet::event_tools() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : running_)
    for (const auto& e : s.config.events)
      if (e != "flows" && std::none_of(out.begin(), out.end(), [&](const auto& o) { return o.first == e; }))
        out.emplace_back(e, s.config.where);
  return out;
}

void SinkSet::report(const UpstreamLosses& upstream, std::chrono::milliseconds interval) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_report_ < interval) return;
  last_report_ = now;
  uint64_t end = wall_now_ns();
  for (auto& s : running_) {
    // Each sink hears of the losses of what it takes: flows, or a tool's events.
    sinks::LossReport r{.window_start_ns = window_start_ns_, .window_end_ns = end};
    for (const auto& u : upstream) {
      const auto& events = s.config.events;
      if (std::find(events.begin(), events.end(), u.of) == events.end()) continue;
      auto last = last_.find(u.point);
      r.lost.emplace_back(u.point, u.total - (last == last_.end() ? 0 : last->second));
    }
    s.runner->offer(std::move(r));
  }
  for (const auto& u : upstream) last_[u.point] = u.total;
  window_start_ns_ = end;
}

void SinkSet::set_stream_token(const std::string& token) {
  stream_token_ = token;
  for (auto& s : running_)
    if (s.stream) s.stream->set_token(token);
}

void SinkSet::set_stream_tls(StreamTls tls) {
  stream_tls_ = std::move(tls);
  for (auto& s : running_)
    if (s.stream && s.config.stream.tls.enabled()) s.stream->set_tls(stream_tls_[s.config.name]);
}

Refusals SinkSet::stream_refusals() const {
  Refusals n = stream_refusals_gone_;
  for (const auto& s : running_)
    if (s.stream) n += refusals_of(*s.stream);
  return n;
}

void SinkSet::stop() {
  for (auto& s : running_) s.runner->stop(kStopLimit);
}

std::vector<SinkState> SinkSet::states() const {
  std::vector<SinkState> out;
  for (const auto& s : running_) out.push_back({s.config.name, s.runner->kind(), s.runner->totals()});
  return out;
}

}  // namespace kscope::collect
