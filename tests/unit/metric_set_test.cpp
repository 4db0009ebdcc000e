// The series budget: caps per metric and in total fold new label sets into the metric's
// "other" series and count them; idle series and those of gone cgroups expire; histograms
// come out cumulative.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <thread>

#include "exporters/prometheus/metric_set.h"

namespace kscope::prom {
namespace {

using V = std::array<std::string, 1>;

const prometheus::ClientMetric* series_of(const std::vector<prometheus::MetricFamily>& fs,
                                          const std::string& name, const std::string& value) {
  for (const auto& f : fs)
    if (f.name == name)
      for (const auto& m : f.metric)
        if (!m.label.empty() && m.label[0].value == value) return &m;
  return nullptr;
}

TEST(MetricSet, FoldsLabelSetsPastThePerMetricCapIntoOther) {
  MetricSet set({.per_metric = 3, .total = 100, .ttl = std::chrono::seconds(600)});
  Metric& m = set.add({"kscope_exec_total", "execs", MetricKind::counter, {"comm"}, {}});
  for (int i = 0; i < 10; ++i) m.add(V{"comm" + std::to_string(i)}, 1);
  m.add(V{"comm0"}, 5);  // a series that has room keeps counting
  // 3 series of their own, and other with the 7 folded updates.
  EXPECT_EQ(m.series(), 4u);
  EXPECT_EQ(m.folded(), 7u);
  auto fs = set.collect();
  ASSERT_NE(series_of(fs, "kscope_exec_total", "comm0"), nullptr);
  EXPECT_EQ(series_of(fs, "kscope_exec_total", "comm0")->counter.value, 6);
  ASSERT_NE(series_of(fs, "kscope_exec_total", "other"), nullptr);
  EXPECT_EQ(series_of(fs, "kscope_exec_total", "other")->counter.value, 7);
  EXPECT_EQ(series_of(fs, "kscope_exec_total", "comm5"), nullptr);
}

TEST(MetricSet, TheTotalCapHoldsAcrossMetrics) {
  MetricSet set({.per_metric = 100, .total = 4, .ttl = std::chrono::seconds(600)});
  Metric& a = set.add({"a_total", "a", MetricKind::counter, {"x"}, {}});
  Metric& b = set.add({"b_total", "b", MetricKind::counter, {"x"}, {}});
  for (int i = 0; i < 3; ++i) a.add(V{std::to_string(i)}, 1);
  for (int i = 0; i < 3; ++i) b.add(V{std::to_string(i)}, 1);
  EXPECT_EQ(a.series(), 3u);
  EXPECT_EQ(a.folded(), 0u);
  // One of b's fits the total; then b's other series, past the cap (one per metric at most).
  EXPECT_EQ(b.series(), 2u);
  EXPECT_EQ(b.folded(), 2u);
  EXPECT_EQ(set.series(), 5u);
}

TEST(MetricSet, UnbudgetedMetricsNeverFold) {
  MetricSet set({.per_metric = 1, .total = 1, .ttl = std::chrono::seconds(600)});
  Metric& m = set.add({"kscope_series", "s", MetricKind::gauge, {"metric"}, {}, false});
  for (int i = 0; i < 5; ++i) m.set(V{std::to_string(i)}, i);
  EXPECT_EQ(m.series(), 5u);
  EXPECT_EQ(m.folded(), 0u);
}

TEST(MetricSet, AddingAMetricTwiceFindsTheFirst) {
  MetricSet set({});
  Metric& a = set.add({"a_total", "a", MetricKind::counter, {}, {}});
  Metric& b = set.add({"a_total", "a", MetricKind::counter, {}, {}});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(set.metrics().size(), 1u);
}

TEST(MetricSet, IdleSeriesAndThoseOfGoneCgroupsExpire) {
  MetricSet set({.per_metric = 10, .total = 10, .ttl = std::chrono::seconds(3600)});
  Metric& m = set.add({"x_total", "x", MetricKind::counter, {"container"}, {}});
  m.add(V{"a"}, 1, /*cgroup_id=*/11);
  m.add(V{"b"}, 1, /*cgroup_id=*/22);
  m.add(V{"c"}, 1);
  set.expire([](uint64_t cgroup) { return cgroup == 22; });
  EXPECT_EQ(m.series(), 2u);
  EXPECT_EQ(set.series(), 2u);
  EXPECT_EQ(set.expired(), 1u);
  // A TTL of 0: everything not updated since is idle.
  set.set_budget({.per_metric = 10, .total = 10, .ttl = std::chrono::seconds(0)});
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  set.expire({});
  EXPECT_EQ(m.series(), 0u);
  EXPECT_EQ(set.expired(), 3u);
  EXPECT_TRUE(set.collect().empty()) << "a metric without series is not exported";
}

TEST(MetricSet, HistogramsAreCumulativeWithInf) {
  MetricSet set({});
  Metric& h = set.add({"lat_seconds", "l", MetricKind::histogram, {}, {0.001, 0.01}});
  const unsigned long long counts[] = {2, 3, 4};
  h.observe({}, counts, 1.5);
  h.observe_one({}, 0.005);   // into le=0.01
  h.observe_one({}, 0.001);   // le is inclusive
  h.observe_one({}, 7);       // +Inf
  auto fs = set.collect();
  ASSERT_EQ(fs.size(), 1u);
  const auto& m = fs[0].metric.at(0);
  ASSERT_EQ(m.histogram.bucket.size(), 3u);
  EXPECT_EQ(m.histogram.bucket[0].cumulative_count, 3u);
  EXPECT_EQ(m.histogram.bucket[1].cumulative_count, 7u);
  EXPECT_EQ(m.histogram.bucket[2].cumulative_count, 12u);
  EXPECT_TRUE(std::isinf(m.histogram.bucket[2].upper_bound));
  EXPECT_EQ(m.histogram.sample_count, 12u);
  EXPECT_DOUBLE_EQ(m.histogram.sample_sum, 1.5 + 0.005 + 0.001 + 7);
}

TEST(MetricSet, TheByteLimitShedsNewSeriesAndKeepsRoomForOther) {
  MetricSet set({.per_metric = 1000, .total = 1000, .ttl = std::chrono::seconds(600)});
  Metric& m = set.add({"x_total", "x", MetricKind::counter, {"comm"}, {}});
  const size_t each = series_bytes(V{"c0"}, 0);
  EXPECT_EQ(each, series_bytes(V{"other"}, 0)) << "short values live in the string itself";
  // Room for 3 series and the other one.
  set.set_byte_limit(4 * each);
  for (int i = 0; i < 10; ++i) m.add(V{fmt::format("c{}", i)}, 1);
  EXPECT_EQ(m.series(), 4u);
  EXPECT_EQ(set.shed(), 7u);
  EXPECT_EQ(m.folded(), 0u) << "the caps had room: shed, not folded";
  EXPECT_EQ(set.bytes(), 4 * each);
  // A long value costs its heap copy too.
  EXPECT_EQ(series_bytes(V{std::string(40, 'a')}, 0), each + 41 + 16);
  set.set_budget({.per_metric = 1000, .total = 1000, .ttl = std::chrono::seconds(0)});
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  set.expire({});
  EXPECT_EQ(set.bytes(), 0u) << "expired series give their bytes back";
}

TEST(MetricSet, Log2MicrosecondBoundsMatchTheKernelsSlots) {
  const auto& b = log2_microsecond_bounds();
  ASSERT_EQ(b.size(), 31u);  // slots 0..30; slot 31 holds everything above: +Inf
  EXPECT_DOUBLE_EQ(b[0], 2e-6);
  EXPECT_DOUBLE_EQ(b[13], 16384e-6);
  EXPECT_DOUBLE_EQ(b[30], 2147483648e-6);
}

}  // namespace
}  // namespace kscope::prom
