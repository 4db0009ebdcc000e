// The collector's series, under a budget: each metric is declared once (name, help, kind,
// label names), and a series is made for a new label set only while the metric's and the
// whole set's caps allow. Past a cap, an update goes to the metric's `other` series (every
// label "other") and is counted as folded; a series not updated for the TTL is removed, and
// so is every series of a container that is gone. Single-threaded: the collector's loop
// updates and scrapes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace kscope::prom {

enum class MetricKind { counter, gauge, histogram };

struct MetricSpec {
  std::string name;  // kscope_exec_total
  std::string help;
  MetricKind kind = MetricKind::counter;
  std::vector<std::string> labels;  // label names, in the order values are given
  std::vector<double> buckets;      // histograms: finite upper bounds, ascending
  bool budgeted = true;             // false: the collector's own few series, never folded
};

struct Budget {
  uint32_t per_metric = 2000;
  uint32_t total = 20000;
  std::chrono::seconds ttl{600};
};

// The bounds of a log2 histogram of microseconds (probes/common/histogram.h) in seconds:
// slot i holds values below 2^(i+1) us, the last slot everything above (+Inf alone).
const std::vector<double>& log2_microsecond_bounds();

// What one series takes in memory, by account: its map node and state, each label value's
// string (heap-allocated past the small-string buffer) and a histogram's buckets, with the
// allocator's overhead per allocation. Measured against RssAnon: within 20 % for comm-labelled
// counters.
size_t series_bytes(std::span<const std::string> values, size_t buckets);

class MetricSet;

class Metric {
 public:
  using Clock = std::chrono::steady_clock;
  const MetricSpec& spec() const { return spec_; }
  // Counters: adds `by`. Gauges: use set(). `cgroup_id` ties the series to a cgroup whose
  // removal removes it (0: none).
  void add(std::span<const std::string> values, double by, uint64_t cgroup_id = 0);
  void set(std::span<const std::string> values, double v);
  // Histograms: per-bucket (not cumulative) counts, one per bound and one for +Inf, and the
  // sum of the values in the bounds' unit.
  void observe(std::span<const std::string> values, std::span<const unsigned long long> counts, double sum,
               uint64_t cgroup_id = 0);
  // One value into a histogram.
  void observe_one(std::span<const std::string> values, double value, uint64_t cgroup_id = 0);

  size_t series() const { return series_.size(); }
  uint64_t folded() const { return folded_; }
  // Drops every series: for the collector's own metrics, set anew at each scrape, so that a
  // probe a reload turned off has none left.
  void clear();

 private:
  friend class MetricSet;
  struct Series {
    double value = 0;
    std::vector<uint64_t> buckets;  // histograms: per-bucket counts
    double sum = 0;
    uint64_t count = 0;
    Clock::time_point touched;
    uint64_t cgroup_id = 0;
    size_t bytes = 0;  // as series_bytes() accounted it
  };
  Metric(MetricSet& set, MetricSpec spec) : set_(set), spec_(std::move(spec)) {}
  Series* find(std::span<const std::string> values, uint64_t cgroup_id);
  size_t other_bytes() const;  // what its other series would take, 0 once it has one
  prometheus::MetricFamily family() const;

  MetricSet& set_;
  MetricSpec spec_;
  std::map<std::vector<std::string>, Series> series_;
  uint64_t folded_ = 0;
};

class MetricSet {
 public:
  explicit MetricSet(Budget budget) : budget_(budget) {}
  MetricSet(const MetricSet&) = delete;
  MetricSet& operator=(const MetricSet&) = delete;

  // Declares a metric, or finds the one of that name (a source opened again on a reload);
  // the reference stays valid as long as the set.
  Metric& add(MetricSpec spec);
  void set_budget(Budget b) { budget_ = b; }
  // The memory the series may take, as accounted by series_bytes(): a new series that would
  // pass it is not made, and its update folds into the metric's other series, counted as
  // shed (the memory budget's first step). No limit by default.
  void set_byte_limit(size_t bytes) { byte_limit_ = bytes; }
  size_t bytes() const { return bytes_; }
  uint64_t shed() const { return shed_; }
  const Budget& budget() const { return budget_; }

  // Removes series idle for the TTL, and those of cgroups `gone` says are gone.
  void expire(const std::function<bool(uint64_t cgroup_id)>& gone);
  // Every metric with a series, in declaration order.
  std::vector<prometheus::MetricFamily> collect() const;

  size_t series() const { return total_; }
  uint64_t expired() const { return expired_; }
  std::span<const std::unique_ptr<Metric>> metrics() const { return metrics_; }

 private:
  friend class Metric;
  size_t other_reserve() const;
  Budget budget_;
  std::vector<std::unique_ptr<Metric>> metrics_;
  size_t total_ = 0;
  uint64_t expired_ = 0;
  size_t bytes_ = 0;  // what the series take, as series_bytes() accounts them
  size_t byte_limit_ = SIZE_MAX;
  uint64_t shed_ = 0;  // updates folded because the byte limit had no room
};

}  // namespace kscope::prom
