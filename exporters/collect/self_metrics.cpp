#include "exporters/collect/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <tuple>

namespace kscope::collect {
namespace {

using prom::MetricKind;

prom::MetricSpec spec(std::string name, std::string help, MetricKind kind,
                      std::vector<std::string> labels = {}) {
  return {std::move(name), std::move(help), kind, std::move(labels), {}, /*budgeted=*/false};
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// Resident set size from /proc/self/statm (pages), in bytes.
double rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double open_fds() {
  double n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
    n -= 3;  // ".", ".." and the directory's own fd
  }
  return n;
}

// The process's start, in seconds since the epoch: /proc/self/stat's starttime (clock ticks
// since boot) plus the boot time from /proc/stat's btime.
double start_time() {
  static const double start = [] {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) return 0.0;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i) {
      if (i < 22) continue;
      std::ifstream procstat("/proc/stat");
      std::string key;
      uint64_t btime = 0;
      while (procstat >> key)
        if (key == "btime" && procstat >> btime) break;
      return static_cast<double>(btime) +
             std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    return 0.0;
  }();
  return start;
}

}  // namespace

SelfMetrics::SelfMetrics(prom::MetricSet& self)
    : records_(self.add(spec("kscope_probe_records_total",
                             "Records each probe delivered: events from its ring buffer, or "
                             "aggregates read from its maps",
                             MetricKind::counter, {"probe"}))),
      lost_(self.add(spec("kscope_probe_lost_total",
                          "What each probe could not deliver, by loss point: ring_reserve (ring "
                          "buffer full), recursion (runs the kernel skipped), decode, a probe's "
                          "own (e.g. hists_full), table_full (flow packets counted without their "
                          "flow), notification_ring",
                          MetricKind::counter, {"probe", "point"}))),
      probe_info_(self.add(spec("kscope_probe_info",
                                "1 for each probe running, with the hook alternative it attached "
                                "through",
                                MetricKind::gauge, {"probe", "hook"}))),
      runs_(self.add(spec("kscope_bpf_program_runs_total",
                          "Runs of each BPF program, while bpf_stats is on (kernel BPF statistics)",
                          MetricKind::counter, {"probe", "program"}))),
      run_time_(self.add(spec("kscope_bpf_program_run_seconds_total",
                              "Time each BPF program ran, while bpf_stats is on",
                              MetricKind::counter, {"probe", "program"}))),
      ring_fill_(self.add(spec("kscope_ring_buffer_fill_ratio",
                               "The fullest each probe's ring buffer was at a drain since the "
                               "previous scrape (0 to 1; 1 loses records)",
                               MetricKind::gauge, {"probe"}))),
      map_entries_(self.add(spec("kscope_bpf_map_entries",
                                 "Entries in each hash map of each probe, counted at the scrape",
                                 MetricKind::gauge, {"probe", "map"}))),
      map_capacity_(self.add(spec("kscope_bpf_map_capacity",
                                  "The entries each hash map of each probe can hold",
                                  MetricKind::gauge, {"probe", "map"}))),
      series_(self.add(spec("kscope_series", "Series each metric has now", MetricKind::gauge,
                            {"metric"}))),
      series_limit_(self.add(spec("kscope_series_limit",
                                  "The series budget: scope=per_metric or total",
                                  MetricKind::gauge, {"scope"}))),
      folded_(self.add(spec("kscope_series_folded_total",
                            "Updates of label sets the series budget had no room for, added to "
                            "the metric's series whose labels are all \"other\"",
                            MetricKind::counter, {"metric"}))),
      expired_(self.add(spec("kscope_series_expired_total",
                             "Series removed: idle for the TTL, or of a cgroup that is gone",
                             MetricKind::counter))),
      scrape_(self.add(spec("kscope_scrape_duration_seconds",
                            "How long the previous scrape took to read the probes and serialize",
                            MetricKind::gauge))),
      scrape_errors_(self.add(spec("kscope_scrape_errors_total",
                                   "Scrapes during which a probe could not be read",
                                   MetricKind::counter))),
      unauthorized_(self.add(spec("kscope_unauthorized_requests_total",
                                  "Requests turned away for want of the bearer token (token_file): "
                                  "endpoint=metrics (answered 401) or stream (clients refused)",
                                  MetricKind::counter, {"endpoint"}))),
      tls_failures_(self.add(spec("kscope_tls_handshake_failures_total",
                                  "TLS connections closed before their handshake ended (plain "
                                  "HTTP or TCP at a TLS port, a client certificate the CA did not "
                                  "sign, a client that left or timed out): endpoint=metrics or "
                                  "stream",
                                  MetricKind::counter, {"endpoint"}))),
      flows_(self.add(spec("kscope_flows_active", "Flows in the collector's flow table",
                           MetricKind::gauge))),
      memory_(self.add(spec("kscope_memory_bytes",
                            "Memory the collector uses: kind=accounted (what limits.memory "
                            "governs: its memory at start, flow table and series, by account), "
                            "anon (its resident heap and stacks, measured) or bpf (its BPF maps)",
                            MetricKind::gauge, {"kind"}))),
      memory_limit_(self.add(spec("kscope_memory_limit_bytes",
                                  "The memory budget: kind=accounted (limits.memory) or bpf "
                                  "(limits.bpf_memory)",
                                  MetricKind::gauge, {"kind"}))),
      degraded_(self.add(spec("kscope_degraded",
                              "1 while the collector sheds load: reason=memory (its accounted "
                              "memory passed 90 % of limits.memory, until below 80 %) or "
                              "bpf_memory (a source was left out to stay within "
                              "limits.bpf_memory)",
                              MetricKind::gauge, {"reason"}))),
      shed_(self.add(spec("kscope_shed_total",
                          "What the memory budget shed: what=series (updates of new label sets "
                          "folded into other for want of memory), flows (flows the flow table "
                          "forgot) or sources (sources left out)",
                          MetricKind::counter, {"what"}))),
      reloads_(self.add(spec("kscope_config_reloads_total", "Configuration reloads (SIGHUP) applied",
                             MetricKind::counter))),
      reload_failures_(self.add(spec("kscope_config_reload_failures_total",
                                     "Configuration reloads refused: the running one stays",
                                     MetricKind::counter))),
      cpu_(self.add(spec("process_cpu_seconds_total", "User and system CPU time the collector used",
                         MetricKind::counter))),
      rss_(self.add(spec("process_resident_memory_bytes", "The collector's resident memory",
                         MetricKind::gauge))),
      fds_(self.add(spec("process_open_fds", "File descriptors the collector holds open",
                         MetricKind::gauge))),
      start_(self.add(spec("process_start_time_seconds",
                           "When the collector started, in seconds since the epoch",
                           MetricKind::gauge))),
      build_(self.add(spec("kscope_build_info", "1, with the collector's version",
                           MetricKind::gauge, {"version"}))),
      sink_records_(self.add(spec("kscope_sink_records_total",
                                  "Flow records and trace events each sink wrote to its destination",
                                  MetricKind::counter, {"sink", "type"}))),
      sink_lost_(self.add(spec("kscope_sink_lost_total",
                               "Flow records and trace events each sink lost, by loss point: sink.queue (its "
                               "queue was full), sink.write (its destination refused them), and "
                               "its own (e.g. kafka.delivery_failed)",
                               MetricKind::counter, {"sink", "point"}))),
      sink_queued_(self.add(spec("kscope_sink_queued_records",
                                 "Flow records and trace events waiting in each sink's queue", MetricKind::gauge,
                                 {"sink"}))) {}

void SelfMetrics::update(const SelfState& s, const prom::MetricSet& budgeted) {
  std::array<std::string, 2> two;
  std::array<std::string, 1> one;
  for (prom::Metric* m : {&records_, &lost_, &probe_info_, &runs_, &run_time_, &ring_fill_,
                         &map_entries_, &map_capacity_, &series_, &folded_, &sink_records_,
                         &sink_lost_, &sink_queued_})
    m->clear();
  for (const auto& sink : s.sinks) {
    two = {sink.name, sink.type};
    sink_records_.set(two, static_cast<double>(sink.totals.records));
    one[0] = sink.name;
    sink_queued_.set(one, static_cast<double>(sink.totals.queued));
    for (const auto& [point, n] : sink.totals.lost) {
      two = {sink.name, point};
      sink_lost_.set(two, static_cast<double>(n));
    }
  }
  for (const auto& p : s.probes) {
    one[0] = p.probe;
    records_.set(one, static_cast<double>(p.records));
    two = {p.probe, p.hook};
    probe_info_.set(two, 1);
    for (const auto& l : p.losses) {
      two = {p.probe, l.point};
      lost_.set(two, static_cast<double>(l.total));
    }
    if (p.ring_fill >= 0) ring_fill_.set(one, p.ring_fill);
    for (const auto& m : p.maps) {
      two = {p.probe, m.name};
      map_entries_.set(two, static_cast<double>(m.entries));
      map_capacity_.set(two, static_cast<double>(m.capacity));
    }
    for (const auto& prog : p.programs) {
      two = {p.probe, prog.name};
      runs_.set(two, static_cast<double>(prog.runs));
      run_time_.set(two, static_cast<double>(prog.run_time_ns) * 1e-9);
    }
  }
  for (const auto& m : budgeted.metrics()) {
    one[0] = m->spec().name;
    series_.set(one, static_cast<double>(m->series()));
    folded_.set(one, static_cast<double>(m->folded()));
  }
  one[0] = "per_metric";
  series_limit_.set(one, budgeted.budget().per_metric);
  one[0] = "total";
  series_limit_.set(one, budgeted.budget().total);
  expired_.set({}, static_cast<double>(budgeted.expired()));
  scrape_.set({}, s.last_scrape_seconds);
  scrape_errors_.set({}, static_cast<double>(s.scrape_errors));
  for (auto [endpoint, n] : {std::pair{"metrics", &s.metrics_refusals},
                             std::pair{"stream", &s.stream_refusals}}) {
    one[0] = endpoint;
    unauthorized_.set(one, static_cast<double>(n->unauthorized));
    tls_failures_.set(one, static_cast<double>(n->tls_handshake_failures));
  }
  flows_.set({}, static_cast<double>(s.active_flows));
  for (auto [kind, used] : {std::pair{"accounted", s.accounted_bytes}, std::pair{"anon", s.anon_bytes},
                            std::pair{"bpf", s.bpf_bytes}}) {
    one[0] = kind;
    memory_.set(one, static_cast<double>(used));
  }
  for (auto [kind, limit] : {std::pair{"accounted", s.anon_limit}, std::pair{"bpf", s.bpf_limit}}) {
    one[0] = kind;
    memory_limit_.set(one, static_cast<double>(limit));
  }
  one[0] = "memory";
  degraded_.set(one, s.degraded_memory);
  one[0] = "bpf_memory";
  degraded_.set(one, s.degraded_bpf_memory);
  for (auto [what, n] : {std::pair{"series", budgeted.shed()}, std::pair{"flows", s.shed_flows},
                         std::pair{"sources", s.shed_sources}}) {
    one[0] = what;
    shed_.set(one, static_cast<double>(n));
  }
  reloads_.set({}, static_cast<double>(s.reloads));
  reload_failures_.set({}, static_cast<double>(s.reload_failures));
  cpu_.set({}, cpu_seconds());
  rss_.set({}, rss_bytes());
  fds_.set({}, open_fds());
  start_.set({}, start_time());
  one[0] = KSCOPE_VERSION;  // the project's version, from CMake
  build_.set(one, 1);
}

}  // namespace kscope::collect
