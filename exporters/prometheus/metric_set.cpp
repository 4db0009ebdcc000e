#include "exporters/prometheus/metric_set.h"

#include <cmath>

namespace kscope::prom {

const std::vector<double>& log2_microsecond_bounds() {
  static const std::vector<double> bounds = [] {
    std::vector<double> b;
    for (int i = 0; i < 31; ++i) b.push_back(std::ldexp(1.0, i + 1) * 1e-6);
    return b;
  }();
  return bounds;
}

size_t series_bytes(std::span<const std::string> values, size_t buckets) {
  constexpr size_t kAlloc = 16;  // malloc's header and rounding, per allocation
  size_t b = 48 + sizeof(std::vector<std::string>) + 72 + kAlloc;  // map node, key, Series
  b += values.size() * sizeof(std::string) + kAlloc;                // the key's array
  for (const auto& v : values)
    if (v.size() > 15) b += v.size() + 1 + kAlloc;
  if (buckets) b += buckets * sizeof(uint64_t) + kAlloc;
  return b;
}

Metric::Series* Metric::find(std::span<const std::string> values, uint64_t cgroup_id) {
  std::vector<std::string> key(values.begin(), values.end());
  auto now = Clock::now();
  auto it = series_.find(key);
  if (it == series_.end()) {
    const Budget& b = set_.budget_;
    size_t buckets = spec_.kind == MetricKind::histogram ? spec_.buckets.size() + 1 : 0;
    size_t cost = series_bytes(key, buckets);
    bool room = !spec_.budgeted || (series_.size() < b.per_metric && set_.total_ < b.total);
    // Room is kept for every metric's other series, so that folding never passes the limit.
    bool memory = !spec_.budgeted || set_.bytes_ + cost + set_.other_reserve() <= set_.byte_limit_;
    if (!room || !memory) {
      // The other series is made even past the caps: one per metric, so the set is bounded
      // by total + metrics.
      if (room) ++set_.shed_;
      else ++folded_;
      key.assign(spec_.labels.size(), "other");
      cgroup_id = 0;
      it = series_.find(key);
      cost = series_bytes(key, buckets);
    }
    if (it == series_.end()) {
      it = series_.emplace(std::move(key), Series{}).first;
      it->second.bytes = cost;
      set_.bytes_ += cost;
      ++set_.total_;
      if (buckets) it->second.buckets.assign(buckets, 0);
    }
  }
  it->second.touched = now;
  if (cgroup_id) it->second.cgroup_id = cgroup_id;
  return &it->second;
}

void Metric::add(std::span<const std::string> values, double by, uint64_t cgroup_id) {
  find(values, cgroup_id)->value += by;
}

void Metric::clear() {
  set_.total_ -= series_.size();
  for (const auto& kv : series_) set_.bytes_ -= kv.second.bytes;
  series_.clear();
}

void Metric::set(std::span<const std::string> values, double v) { find(values, 0)->value = v; }

void Metric::observe(std::span<const std::string> values, std::span<const unsigned long long> counts,
                     double sum, uint64_t cgroup_id) {
  Series* s = find(values, cgroup_id);
  for (size_t i = 0; i < counts.size() && i < s->buckets.size(); ++i) {
    s->buckets[i] += counts[i];
    s->count += counts[i];
  }
  s->sum += sum;
}

void Metric::observe_one(std::span<const std::string> values, double value, uint64_t cgroup_id) {
  Series* s = find(values, cgroup_id);
  size_t i = 0;
  while (i < spec_.buckets.size() && value > spec_.buckets[i]) ++i;
  ++s->buckets[i];
  ++s->count;
  s->sum += value;
}

prometheus::MetricFamily Metric::family() const {
  prometheus::MetricFamily f;
  f.name = spec_.name;
  f.help = spec_.help;
  f.type = spec_.kind == MetricKind::counter ? prometheus::MetricType::Counter
           : spec_.kind == MetricKind::gauge ? prometheus::MetricType::Gauge
                                             : prometheus::MetricType::Histogram;
  for (const auto& [values, s] : series_) {
    prometheus::ClientMetric m;
    for (size_t i = 0; i < values.size(); ++i) m.label.push_back({spec_.labels[i], values[i]});
    switch (spec_.kind) {
      case MetricKind::counter: m.counter.value = s.value; break;
      case MetricKind::gauge: m.gauge.value = s.value; break;
      case MetricKind::histogram: {
        uint64_t cumulative = 0;
        for (size_t i = 0; i < s.buckets.size(); ++i) {
          cumulative += s.buckets[i];
          double bound = i < spec_.buckets.size() ? spec_.buckets[i] : INFINITY;
          m.histogram.bucket.push_back({cumulative, bound});
        }
        m.histogram.sample_count = s.count;
        m.histogram.sample_sum = s.sum;
        break;
      }
    }
    f.metric.push_back(std::move(m));
  }
  return f;
}

Metric& MetricSet::add(MetricSpec spec) {
  for (const auto& m : metrics_)
    if (m->spec_.name == spec.name) return *m;
  metrics_.push_back(std::unique_ptr<Metric>(new Metric(*this, std::move(spec))));
  return *metrics_.back();
}

size_t Metric::other_bytes() const {
  std::vector<std::string> other(spec_.labels.size(), "other");
  if (series_.contains(other)) return 0;
  return series_bytes(other, spec_.kind == MetricKind::histogram ? spec_.buckets.size() + 1 : 0);
}

size_t MetricSet::other_reserve() const {
  size_t n = 0;
  for (const auto& m : metrics_)
    if (m->spec_.budgeted) n += m->other_bytes();
  return n;
}

void MetricSet::expire(const std::function<bool(uint64_t)>& gone) {
  auto oldest = Metric::Clock::now() - budget_.ttl;
  for (auto& m : metrics_) {
    if (!m->spec_.budgeted) continue;
    std::erase_if(m->series_, [&](const auto& kv) {
      const Metric::Series& s = kv.second;
      bool drop = s.touched < oldest || (s.cgroup_id && gone && gone(s.cgroup_id));
      if (drop) {
        --total_;
        bytes_ -= s.bytes;
        ++expired_;
      }
      return drop;
    });
  }
}

std::vector<prometheus::MetricFamily> MetricSet::collect() const {
  std::vector<prometheus::MetricFamily> out;
  for (const auto& m : metrics_)
    if (m->series() > 0) out.push_back(m->family());
  return out;
}

}  // namespace kscope::prom
