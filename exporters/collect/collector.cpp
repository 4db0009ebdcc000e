#include "exporters/collect/collector.h"

#include <bpf/bpf.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "base/bearer_token.h"
#include "base/log.h"
#include "bpf/mounts.h"
#include "exporters/collect/event_export.h"
#include "exporters/collect/flow_source.h"
#include "exporters/collect/memory_use.h"
#include "exporters/collect/self_metrics.h"
#include "exporters/collect/sink_set.h"
#include "exporters/collect/tool_source.h"
#include "exporters/collect/workload.h"
#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/gzip.h"
#include "exporters/prometheus/http_server.h"
#include "exporters/sinks/flow_json.h"
#include "exporters/tls/tls_context.h"
#include "render/time_format.h"

namespace kscope::collect {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// How often the rings are drained and the flow table swept when nothing wakes the loop:
// probes wake it only when a quarter of a ring waits.
constexpr auto kTick = std::chrono::milliseconds(200);

std::string host_name() {
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? name : "";
}

prom::Budget budget_of(const Limits& l) {
  return {.per_metric = l.series_per_metric, .total = l.series_total, .ttl = l.series_ttl};
}

// An epoll fd the loop waits on, without owning it (the ring buffer does).
struct Watch {
  asio::posix::stream_descriptor fd;
  Watch(asio::io_context& io, int epoll_fd) : fd(io, epoll_fd) {}
  ~Watch() { fd.release(); }
};

}  // namespace

struct Collector::State {
  asio::io_context& io;
  Config config;
  CheckedConfig checked;      // the token and TLS contexts in use
  Refusals refusals_gone;     // of endpoints a reload replaced
  std::optional<flows::CgroupPaths> cgroups;
  std::unique_ptr<Workload> workload;
  prom::MetricSet metrics;
  prom::MetricSet self_set{prom::Budget{}};
  SelfMetrics self{self_set};
  SelfState self_state;
  struct Running {
    std::unique_ptr<ToolSource> source;
    std::unique_ptr<Watch> watch;
  };
  std::vector<Running> tools;
  std::unique_ptr<FlowSource> flow;
  FlowTotals closed_flows;  // what the flow engines closed so far counted
  std::map<std::string, LossTotals> closed_tools;  // by tool: what a reload's closes counted
  std::unique_ptr<Watch> flow_watch;
  std::unique_ptr<prom::HttpServer> server;
  std::unique_ptr<SinkSet> sinks;
  std::map<std::string, std::unique_ptr<EventExport>> event_exports;  // by tool
  std::vector<std::string> skipped;
  asio::steady_timer tick;
  int stats_fd = -1;  // held while bpf_stats is on: the kernel counts run time meanwhile
  Clock::time_point last_expire = Clock::now();
  uint64_t baseline_bytes = 0;  // the collector's own memory once its sources were open
  bool stopped = false;

  State(asio::io_context& io_, Config c)
      : io(io_), config(std::move(c)), metrics(budget_of(config.limits)), tick(io_) {}

  void watch(int fd, std::unique_ptr<Watch>& slot, std::function<void()> drain) {
    if (fd < 0) return;
    slot = std::make_unique<Watch>(io, fd);
    arm(*slot, std::move(drain));
  }
  void arm(Watch& w, std::function<void()> drain) {
    w.fd.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, &w, drain](const boost::system::error_code& ec) {
                      if (ec || stopped) return;
                      drain();
                      arm(w, drain);
                    });
  }

  void open_tools() {
    for (const ToolBinding& b : tool_bindings()) {
      if (!source_enabled(config, b.source)) continue;
      bool running = false;
      for (const auto& r : tools) running |= &r.source->binding() == &b;
      if (running) continue;
      uint64_t before = bpf_map_bytes();
      auto s = ToolSource::open(b, b.declare(metrics, *workload));
      if (!s) {
        skip(fmt::format("{} ({})", b.tool, b.source), s.error());
        continue;
      }
      if (!within_bpf_budget(fmt::format("{} ({})", b.tool, b.source), before)) continue;
      log::info("collect: {} attached via {} ({})", b.tool, (*s)->probe().hook().name,
                (*s)->probe().hook().attach_points);
      tools.push_back({std::move(*s), nullptr});
      ToolSource* src = tools.back().source.get();
      watch(src->epoll_fd(), tools.back().watch, [this, src] { drain(*src); });
    }
  }
  void close_disabled_tools() {
    std::erase_if(tools, [&](const Running& r) {
      bool off = !source_enabled(config, r.source->binding().source);
      if (off) {
        drain(*r.source);
        // Turned on again later, the tool counts from 0: its sinks' reports go on from here.
        if (auto losses = r.source->losses())
          closed_tools[std::string(r.source->binding().tool)].close(std::move(*losses));
        log::info("collect: {} detached", r.source->binding().tool);
      }
      return off;
    });
  }
  void open_flows() {
    if (!config.flows.enabled) return;
    uint64_t before = bpf_map_bytes();
    auto f = FlowSource::open(config.flows, metrics, *workload, cgroups ? &*cgroups : nullptr);
    if (!f) {
      skip("flows", f.error());
      return;
    }
    if (!within_bpf_budget("flows", before)) return;
    for (const auto& note : (*f)->probe().notes()) log::warn("collect: flows: {}", note);
    log::info("collect: flows counting at {}", (*f)->probe().where());
    flow = std::move(*f);
    flow->set_record_out([this](flows::FlowRecord&& r) { sinks->offer(r); });
    watch(flow->epoll_fd(), flow_watch, [this] { drain_flows(false); });
  }
  void close_flows() {
    if (!flow) return;
    if (auto r = flow->finish(); !r) log::warn("collect: flows: {}", r.error().message);
    closed_flows.close(flow->records(), flow->losses());
    flow_watch.reset();
    flow.reset();
  }
  // A source just opened (and still to be destroyed by the caller when this says no): its
  // maps must leave the BPF maps within limits.bpf_memory, else it is left out, the later
  // sources in the order first.
  bool within_bpf_budget(const std::string& what, uint64_t before) {
    uint64_t after = bpf_map_bytes();
    if (after <= config.limits.bpf_memory) return true;
    ++self_state.shed_sources;
    self_state.degraded_bpf_memory = true;
    skip(what, Error{fmt::format("its BPF maps ({} KiB) would bring the collector's to {} KiB, past "
                                 "limits.bpf_memory ({} KiB)",
                                 (after - before) / 1024, after / 1024,
                                 config.limits.bpf_memory / 1024),
                     "raise limits.bpf_memory, or turn off sources you do not need"});
    return false;
  }

  // The memory budget (limits.memory), by account: what the collector took at start, its
  // flow table and its series. In that order it sheds: first no new series past what is
  // left (MetricSet's byte limit, enforced as each series is made: new label sets fold into
  // other, counted as shed), then, when the flow table alone would pass it, the table's
  // flows. Degraded from 90 % of the budget until it falls below 80 %.
  static constexpr uint64_t kFlowEntryBytes = 320;  // FlowTable's entry and its node, by account
  void check_memory() {
    uint64_t limit = config.limits.memory;
    uint64_t flows_bytes = flow ? flow->flows() * kFlowEntryBytes : 0;
    if (baseline_bytes + flows_bytes > limit && flow) {
      self_state.shed_flows += flow->shed();
      self_state.degraded_memory = true;
      flows_bytes = 0;
    }
    uint64_t fixed = baseline_bytes + flows_bytes;
    metrics.set_byte_limit(limit > fixed ? limit - fixed : 0);
    self_state.accounted_bytes = fixed + metrics.bytes();
    if (self_state.accounted_bytes >= limit / 10 * 9 && !self_state.degraded_memory) {
      self_state.degraded_memory = true;
      log::warn("collect: memory {} KiB of {} KiB (limits.memory): no new series past it",
                self_state.accounted_bytes / 1024, limit / 1024);
    } else if (self_state.accounted_bytes < limit / 10 * 8) {
      self_state.degraded_memory = false;
    }
  }

  // BPF_ENABLE_STATS: on while its fd is open, so a killed collector leaves it off.
  void apply_bpf_stats() {
    if (config.bpf_stats && stats_fd < 0) {
      stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
      if (stats_fd < 0)
        skip("bpf_stats", Error{fmt::format("BPF_ENABLE_STATS: {}", std::strerror(errno)),
                                "it needs CAP_SYS_ADMIN, which kscope collect keeps only when its "
                                "configuration has bpf_stats on at the start: restart it"});
    } else if (!config.bpf_stats && stats_fd >= 0) {
      close(stats_fd);
      stats_fd = -1;
    }
  }
  void skip(std::string what, const Error& e) {
    std::string line = fmt::format("{}: {}", what, e.message);
    if (!e.hint.empty()) line += fmt::format(" (hint: {})", e.hint);
    skipped.push_back(std::move(line));  // the CLI prints them
  }

  void drain(ToolSource& s) {
    if (auto r = s.collect(); !r) {
      ++self_state.scrape_errors;
      log::warn("collect: {}: {}", s.binding().tool, r.error().message);
    }
  }
  void drain_flows(bool force) {
    if (!flow) return;
    if (auto r = flow->collect(force); !r) {
      ++self_state.scrape_errors;
      log::warn("collect: flows: {}", r.error().message);
    }
  }

  void arm_tick() {
    tick.expires_after(kTick);
    tick.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      for (auto& r : tools)
        if (r.watch) drain(*r.source);  // event tools; aggregates are read at scrapes
      drain_flows(false);
      check_memory();
      sinks->report(upstream_losses(), config.report_interval);
      // Idle series a few times per TTL, gone containers within seconds.
      auto every = std::clamp<Clock::duration>(config.limits.series_ttl / 4, std::chrono::seconds(1),
                                               std::chrono::seconds(5));
      if (Clock::now() - last_expire >= every) {
        metrics.expire([this](uint64_t cgroup) { return workload->gone(cgroup); });
        last_expire = Clock::now();
      }
      arm_tick();
    });
  }

  std::vector<prometheus::MetricFamily> scrape() {
    auto started = Clock::now();
    // The flow tables' occupancy before the sweep below empties them.
    std::vector<object::MapStats> flow_maps;
    if (flow) {
      if (auto m = flow->probe().maps()) flow_maps = std::move(*m);
      else ++self_state.scrape_errors;
    }
    for (auto& r : tools) drain(*r.source);
    drain_flows(true);
    self_state.probes.clear();
    for (const auto& r : tools) {
      ProbeState p{std::string(r.source->binding().tool), std::string(r.source->probe().hook().name),
                   r.source->events(), {}};
      if (auto l = r.source->losses()) p.losses = std::move(*l);
      else ++self_state.scrape_errors;
      if (stats_fd >= 0) read_programs(r.source->probe().programs(), p);
      p.ring_fill = r.source->take_max_fill();
      if (auto m = r.source->probe().maps()) p.maps = std::move(*m);
      else ++self_state.scrape_errors;
      self_state.probes.push_back(std::move(p));
    }
    if (flow) {
      ProbeState p{"flows", std::string(flow->hook()), closed_flows.records(flow->records()),
                   flow_losses(), {}};
      if (stats_fd >= 0) read_programs(flow->probe().programs(), p);
      p.ring_fill = flow->take_max_fill();
      p.maps = std::move(flow_maps);
      self_state.probes.push_back(std::move(p));
      self_state.active_flows = flow->flows();
    }
    self_state.sinks = sinks->states();
    self_state.metrics_refusals = refusals_gone;
    if (server) self_state.metrics_refusals += refusals_of(*server);
    self_state.stream_refusals = sinks->stream_refusals();
    self_state.anon_limit = config.limits.memory;
    self_state.bpf_limit = config.limits.bpf_memory;
    self_state.anon_bytes = anon_resident_bytes();
    self_state.bpf_bytes = bpf_map_bytes();
    self.update(self_state, metrics);
    auto families = metrics.collect();
    auto own = self_set.collect();
    families.insert(families.end(), std::make_move_iterator(own.begin()),
                    std::make_move_iterator(own.end()));
    self_state.last_scrape_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return families;
  }

  // Each event tool some sink asked for hands its records to the sinks. A tool no source
  // runs is opened for the sinks alone (no metrics); one that aggregates in the kernel has no
  // events: an error.
  void connect_event_taps(std::vector<Error>& failed) {
    auto wanted = sinks->event_tools();
    auto wants = [&](std::string_view name) {
      return std::any_of(wanted.begin(), wanted.end(), [&](const auto& w) { return w.first == name; });
    };
    std::erase_if(tools, [&](const Running& r) {
      return r.source->binding().source == kSinkSource && !wants(r.source->binding().tool);
    });
    for (const auto& [name, where] : wanted) {
      bool running = std::any_of(tools.begin(), tools.end(), [&](const Running& r) {
        return r.source->binding().tool == name && r.source->epoll_fd() >= 0;
      });
      if (running) continue;
      const ToolBinding* b = event_binding(name);
      if (!b) {
        failed.push_back(Error{fmt::format("{}: events: {} aggregates in the kernel: it has no events", where, name),
                               "name event tools: exec, exit, oomkill, drops, tcpstates, tcplife, dns..."});
        continue;
      }
      auto s = ToolSource::open(*b, Feed{});
      if (!s) {
        failed.push_back(Error{fmt::format("{}: events: {}: {}", where, name, s.error().message), s.error().hint});
        continue;
      }
      log::info("collect: {} attached for the sinks via {}", name, (*s)->probe().hook().name);
      tools.push_back({std::move(*s), nullptr});
      ToolSource* src = tools.back().source.get();
      watch(src->epoll_fd(), tools.back().watch, [this, src] { drain(*src); });
    }
    for (auto& r : tools) {
      std::string name(r.source->binding().tool);
      if (!wants(name) || r.source->epoll_fd() < 0) {
        r.source->set_tap({});
        continue;
      }
      auto& exp = event_exports[name];
      if (!exp) exp = std::make_unique<EventExport>(r.source->tool(), config.redact, host_name());
      EventExport* e = exp.get();
      r.source->set_tap([this, e](const EventRecord& rec) { sinks->offer(e->render(rec)); });
    }
  }

  // The flow engine's losses since the collector started, closed engines' included.
  std::vector<LossPoint> flow_losses() const {
    return closed_flows.losses(flow ? flow->losses() : std::vector<LossPoint>{});
  }
  // What was lost before the sinks: the flow engine's, and each event tool's that a sink takes.
  UpstreamLosses upstream_losses() const {
    UpstreamLosses u;
    if (flow || closed_flows.any()) {
      for (const auto& l : flow_losses())
        u.push_back({fmt::format("kernel.{}", l.point), "flows", l.total});
    }
    u.push_back({"collector.memory_shed", "flows", self_state.shed_flows});
    // Each tool's: its running source's with what its closed ones counted, or theirs alone.
    std::map<std::string, std::vector<LossPoint>> by_tool;
    for (const auto& [tool, closed] : closed_tools) by_tool[tool] = closed.losses({});
    for (const auto& r : tools) {
      std::string tool(r.source->binding().tool);
      if (auto losses = r.source->losses())
        by_tool[tool] = closed_tools.contains(tool) ? closed_tools.at(tool).losses(*losses) : *losses;
    }
    for (const auto& [tool, losses] : by_tool) {
      if (!event_exports.contains(tool)) continue;
      for (const auto& l : losses) u.push_back({fmt::format("{}.{}", tool, l.point), tool, l.total});
    }
    return u;
  }

  void read_programs(Result<std::vector<object::ProgramStats>> programs, ProbeState& p) {
    if (programs) p.programs = std::move(*programs);
    else ++self_state.scrape_errors;
  }

  prom::HttpResponse handle(const prom::HttpRequestInfo& req) {
    if (req.path == "/metrics") {
      prom::Format format = prom::negotiate(req.accept);
      prom::HttpResponse resp;
      resp.content_type = std::string(prom::content_type(format));
      prom::serialize(scrape(), format, resp.body);
      // The scrape's families are freed by now: give their pages back, so that the memory
      // budget measures what the collector keeps, not its last scrape's high-water mark.
      malloc_trim(0);
      if (prom::accepts_gzip(req.accept_encoding)) {
        if (auto z = prom::gzip(resp.body)) {
          resp.body = std::move(*z);
          resp.content_encoding = "gzip";
        }
      }
      return resp;
    }
    if (req.path == "/")
      return {200, "text/html; charset=utf-8",
              "<html><head><title>kscope collect</title></head><body><h1>kscope collect</h1>"
              "<p><a href=\"/metrics\">/metrics</a></p></body></html>\n",
              ""};
    return {404, "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n", ""};
  }

  // Binds the metrics endpoint; an error starts with where the configuration set `at`.
  Result<void> listen(const std::string& address, const std::string& at) {
    auto server_or = prom::HttpServer::start(io, address, [this](const prom::HttpRequestInfo& r) {
      return handle(r);
    });
    if (!server_or) {
      if (at.empty()) return std::unexpected(server_or.error());
      const Error& e = server_or.error();
      return fail(fmt::format("{}: {}", at, e.message), e.hint, e.code);
    }
    if (server) {
      refusals_gone += refusals_of(*server);
      server->stop();
    }
    server = std::move(*server_or);
    server->set_bearer_token(checked.token);
    server->set_tls(checked.metrics_tls);
    return {};
  }

  // The token and the TLS contexts for the endpoint and the stream sinks.
  void use(CheckedConfig next) {
    checked = std::move(next);
    if (server) {
      server->set_bearer_token(checked.token);
      server->set_tls(checked.metrics_tls);
    }
    if (sinks) {
      sinks->set_stream_token(checked.token);
      sinks->set_stream_tls(checked.stream_tls);
    }
  }

  static Refusals refusals_of(const prom::HttpServer& s) {
    return {s.stats().unauthorized, s.stats().tls_handshake_failures};
  }
};

namespace {

// The token config.token_file names: "" when none; an error names the config key.
Result<std::string> token_of(const Config& c) {
  if (c.token_file.empty()) return std::string();
  auto t = read_token_file(c.token_file);
  if (!t)
    return fail(fmt::format("{}token_file: {}",
                            !c.at.token_file.empty() ? c.at.token_file + ": "
                            : c.file.empty()         ? std::string()
                                                     : c.file + ": ",
                            t.error().message),
                t.error().hint, t.error().code);
  return t;
}

}  // namespace

Result<CheckedConfig> check_config(const Config& c) {
  CheckedConfig checked;
  auto token = token_of(c);
  if (!token) return std::unexpected(token.error());
  checked.token = std::move(*token);
  if (c.tls.enabled()) {
    auto tls = tls::server_context(c.tls);
    if (!tls) return std::unexpected(tls.error());
    checked.metrics_tls = std::move(*tls);
  }
  for (const SinkConfig& sink : c.sinks) {
    if (sink.type == SinkType::stream && sink.stream.tls.enabled()) {
      auto tls = tls::server_context(sink.stream.tls);
      if (!tls) return std::unexpected(tls.error());
      checked.stream_tls[sink.name] = std::move(*tls);
    }
    if (auto m = sinks::FieldMask::parse(sink.fields); !m)
      return fail(fmt::format("{}: fields: {}", sink.where, m.error().message), m.error().hint);
    for (const std::string& e : sink.events)
      if (e != "flows" && !event_binding(e))
        return fail(fmt::format("{}: events: {} aggregates in the kernel: it has no events",
                                sink.where, e),
                    "name event tools: exec, exit, oomkill, drops, tcpstates, tcplife, dns...");
  }
  return checked;
}

Collector::Collector(std::unique_ptr<State> s) : s_(std::move(s)) {}

Collector::~Collector() { stop(); }

Result<std::unique_ptr<Collector>> Collector::start(Config config, asio::io_context& io) {
  auto s = std::make_unique<State>(io, std::move(config));
  if (auto mount = ensure_cgroup2()) s->cgroups.emplace(*mount);
  s->workload = std::make_unique<Workload>(s->config.labels, s->cgroups ? &*s->cgroups : nullptr);
  auto checked = check_config(s->config);
  if (!checked) return std::unexpected(checked.error());
  s->use(std::move(*checked));
  // The endpoint first: a port in use fails before any probe is loaded.
  if (auto l = s->listen(s->config.listen, s->config.at.listen); !l) return std::unexpected(l.error());
  // The sinks before the flows, which hand them records from their first sweep.
  s->sinks = std::make_unique<SinkSet>(sinks::Context{host_name(), this_boot_wall_offset_ns()});
  s->sinks->set_stream_token(s->checked.token);
  s->sinks->set_stream_tls(s->checked.stream_tls);
  std::vector<Error> failed;
  s->sinks->apply(s->config.sinks, failed);
  if (!failed.empty()) return std::unexpected(failed.front());
  // Flows first: the BPF budget leaves out the sources opened last.
  s->open_flows();
  s->open_tools();
  s->connect_event_taps(failed);
  if (!failed.empty()) return std::unexpected(failed.front());
  s->apply_bpf_stats();
  malloc_trim(0);  // what loading the probes freed
  s->baseline_bytes = anon_resident_bytes();
  s->check_memory();
  s->arm_tick();
  return std::unique_ptr<Collector>(new Collector(std::move(s)));
}

Result<void> Collector::reload(Config next) {
  State& s = *s_;
  if (next.labels != s.config.labels) {
    ++s.self_state.reload_failures;
    return fail(fmt::format("{}: labels changed: that needs a restart (every series' label names "
                            "would change); nothing of the new configuration was applied",
                            next.file.empty() ? "the configuration" : next.file),
                "put labels back as they were, or restart kscope collect");
  }
  // The token and TLS files are read again on every reload: a new token or certificate
  // takes effect at once; files that do not load leave the running ones in use.
  auto checked = check_config(next);
  if (!checked) {
    ++s.self_state.reload_failures;
    return std::unexpected(checked.error());
  }
  if (next.listen != s.config.listen) {
    if (auto l = s.listen(next.listen, next.at.listen); !l) {
      ++s.self_state.reload_failures;
      return std::unexpected(l.error());
    }
  }
  s.use(std::move(*checked));
  bool flows_changed = next.flows.enabled != s.config.flows.enabled ||
                       next.flows.interface != s.config.flows.interface ||
                       next.flows.cgroup != s.config.flows.cgroup ||
                       next.flows.max_flows != s.config.flows.max_flows ||
                       next.flows.sweep_interval != s.config.flows.sweep_interval ||
                       next.flows.idle_timeout != s.config.flows.idle_timeout ||
                       next.flows.active_timeout != s.config.flows.active_timeout;
  s.config = std::move(next);
  s.metrics.set_budget(budget_of(s.config.limits));
  s.skipped.clear();
  s.self_state.degraded_bpf_memory = false;
  s.close_disabled_tools();
  if (flows_changed) {
    s.close_flows();
    s.open_flows();
  }
  s.open_tools();
  s.apply_bpf_stats();
  s.check_memory();
  // A sink that cannot open is left out, like a source, and named in skipped().
  std::vector<Error> failed;
  s.sinks->apply(s.config.sinks, failed);
  s.event_exports.clear();  // the redaction patterns may have changed
  s.connect_event_taps(failed);
  for (const Error& e : failed) s.skip("sink", e);
  ++s.self_state.reloads;
  return {};
}

void Collector::stop() {
  State& s = *s_;
  if (s.stopped) return;
  for (auto& r : s.tools) s.drain(*r.source);
  s.close_flows();  // its last records and counts: closed_flows has them for the report
  // The last window's report, so that a consumer knows the stream ended complete (or not).
  s.sinks->report(s.upstream_losses(), std::chrono::milliseconds(0));
  s.sinks->stop();
  s.stopped = true;
  s.tick.cancel();
  if (s.server) s.server->stop();
  s.tools.clear();
  s.config.bpf_stats = false;
  s.apply_bpf_stats();
}

std::string Collector::address() const { return s_->server ? s_->server->address() : ""; }

const std::vector<std::string>& Collector::skipped() const { return s_->skipped; }

std::string Collector::scrape_text() {
  std::string out;
  prom::serialize(s_->scrape(), prom::Format::text, out);
  return out;
}

}  // namespace kscope::collect
