// The scrape formats, asserted whole: the classic text format and OpenMetrics for the same
// families (escaping, number spelling, histograms' +Inf, empty families left out), Accept
// negotiation on the headers Prometheus really sends, and gzip as Prometheus reads it.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/gzip.h"

namespace kscope::prom {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kInf = std::numeric_limits<double>::infinity();

ClientMetric with_labels(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

std::vector<MetricFamily> families() {
  std::vector<MetricFamily> f;

  MetricFamily counter{
      "kscope_exec_total", "Execs by \"comm\" \\ and\nmore", MetricType::Counter, {}};
  ClientMetric c1 = with_labels({{"comm", "sh"}, {"path", "a\"b\\c\nd"}});
  c1.counter.value = 1e6;
  ClientMetric c2 = with_labels({{"comm", "bash"}, {"path", ""}});
  c2.counter.value = 0.5;
  counter.metric = {c1, c2};
  f.push_back(counter);

  MetricFamily empty{"kscope_empty", "Never set", MetricType::Gauge, {}};
  f.push_back(empty);

  MetricFamily gauge{"kscope_up", "Whether up", MetricType::Gauge, {}};
  ClientMetric g1;
  g1.gauge.value = 1;
  ClientMetric g2 = with_labels({{"instance", "nan"}});
  g2.gauge.value = std::nan("");
  ClientMetric g3 = with_labels({{"instance", "neg"}});
  g3.gauge.value = -kInf;
  ClientMetric g4 = with_labels({{"instance", "small"}});
  g4.gauge.value = 1.5e-7;
  gauge.metric = {g1, g2, g3, g4};
  f.push_back(gauge);

  MetricFamily hist{"kscope_latency_seconds", "Latency", MetricType::Histogram, {}};
  ClientMetric h1 = with_labels({{"tool", "run\"q"}});
  h1.histogram.bucket = {{1, 0.001}, {3, 0.5}, {4, 1}, {5, 1e6}, {6, kInf}};
  h1.histogram.sample_count = 6;
  h1.histogram.sample_sum = 12.75;
  // No +Inf bucket given: the serializer adds it from the count.
  ClientMetric h2 = with_labels({{"tool", "io"}});
  h2.histogram.bucket = {{2, 0.1}, {2, 100000}};
  h2.histogram.sample_count = 3;
  h2.histogram.sample_sum = 0.25;
  hist.metric = {h1, h2};
  f.push_back(hist);

  MetricFamily untyped{"kscope_thing", "", MetricType::Untyped, {}};
  ClientMetric u;
  u.untyped.value = 3;
  u.timestamp_ms = 1520879607789;
  untyped.metric = {u};
  f.push_back(untyped);

  MetricFamily summary{"kscope_rpc_seconds", "RPCs", MetricType::Summary, {}};
  ClientMetric s;
  s.summary.quantile = {{0.5, 0.125}, {1, 2}};
  s.summary.sample_count = 7;
  s.summary.sample_sum = 10;
  summary.metric = {s};
  f.push_back(summary);
  return f;
}

TEST(PromExposition, Text) {
  std::string out = "kept\n";
  serialize(families(), Format::text, out);
  EXPECT_EQ(out,
            "kept\n"
            "# HELP kscope_exec_total Execs by \"comm\" \\\\ and\\nmore\n"
            "# TYPE kscope_exec_total counter\n"
            "kscope_exec_total{comm=\"sh\",path=\"a\\\"b\\\\c\\nd\"} 1000000\n"
            "kscope_exec_total{comm=\"bash\",path=\"\"} 0.5\n"
            "# HELP kscope_up Whether up\n"
            "# TYPE kscope_up gauge\n"
            "kscope_up 1\n"
            "kscope_up{instance=\"nan\"} NaN\n"
            "kscope_up{instance=\"neg\"} -Inf\n"
            "kscope_up{instance=\"small\"} 1.5e-07\n"
            "# HELP kscope_latency_seconds Latency\n"
            "# TYPE kscope_latency_seconds histogram\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"0.001\"} 1\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"0.5\"} 3\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"1\"} 4\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"1e+06\"} 5\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"+Inf\"} 6\n"
            "kscope_latency_seconds_count{tool=\"run\\\"q\"} 6\n"
            "kscope_latency_seconds_sum{tool=\"run\\\"q\"} 12.75\n"
            "kscope_latency_seconds_bucket{tool=\"io\",le=\"0.1\"} 2\n"
            "kscope_latency_seconds_bucket{tool=\"io\",le=\"100000\"} 2\n"
            "kscope_latency_seconds_bucket{tool=\"io\",le=\"+Inf\"} 3\n"
            "kscope_latency_seconds_count{tool=\"io\"} 3\n"
            "kscope_latency_seconds_sum{tool=\"io\"} 0.25\n"
            "# TYPE kscope_thing untyped\n"
            "kscope_thing 3 1520879607789\n"
            "# HELP kscope_rpc_seconds RPCs\n"
            "# TYPE kscope_rpc_seconds summary\n"
            "kscope_rpc_seconds{quantile=\"0.5\"} 0.125\n"
            "kscope_rpc_seconds{quantile=\"1\"} 2\n"
            "kscope_rpc_seconds_sum 10\n"
            "kscope_rpc_seconds_count 7\n");
}

TEST(PromExposition, OpenMetrics) {
  std::string out;
  serialize(families(), Format::openmetrics, out);
  EXPECT_EQ(out,
            "# TYPE kscope_exec counter\n"
            "# HELP kscope_exec Execs by \\\"comm\\\" \\\\ and\\nmore\n"
            "kscope_exec_total{comm=\"sh\",path=\"a\\\"b\\\\c\\nd\"} 1000000\n"
            "kscope_exec_total{comm=\"bash\",path=\"\"} 0.5\n"
            "# TYPE kscope_up gauge\n"
            "# HELP kscope_up Whether up\n"
            "kscope_up 1\n"
            "kscope_up{instance=\"nan\"} NaN\n"
            "kscope_up{instance=\"neg\"} -Inf\n"
            "kscope_up{instance=\"small\"} 1.5e-07\n"
            "# TYPE kscope_latency_seconds histogram\n"
            "# HELP kscope_latency_seconds Latency\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"0.001\"} 1\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"0.5\"} 3\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"1.0\"} 4\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"1e+06\"} 5\n"
            "kscope_latency_seconds_bucket{tool=\"run\\\"q\",le=\"+Inf\"} 6\n"
            "kscope_latency_seconds_count{tool=\"run\\\"q\"} 6\n"
            "kscope_latency_seconds_sum{tool=\"run\\\"q\"} 12.75\n"
            "kscope_latency_seconds_bucket{tool=\"io\",le=\"0.1\"} 2\n"
            "kscope_latency_seconds_bucket{tool=\"io\",le=\"100000.0\"} 2\n"
            "kscope_latency_seconds_bucket{tool=\"io\",le=\"+Inf\"} 3\n"
            "kscope_latency_seconds_count{tool=\"io\"} 3\n"
            "kscope_latency_seconds_sum{tool=\"io\"} 0.25\n"
            "# TYPE kscope_thing unknown\n"
            "kscope_thing 3 1520879607.789\n"
            "# TYPE kscope_rpc_seconds summary\n"
            "# HELP kscope_rpc_seconds RPCs\n"
            "kscope_rpc_seconds{quantile=\"0.5\"} 0.125\n"
            "kscope_rpc_seconds{quantile=\"1.0\"} 2\n"
            "kscope_rpc_seconds_sum 10\n"
            "kscope_rpc_seconds_count 7\n"
            "# EOF\n");
}

TEST(PromExposition, NothingToSay) {
  std::string text, om;
  serialize({MetricFamily{"kscope_empty", "Never set", MetricType::Counter, {}}}, Format::text,
            text);
  serialize({}, Format::openmetrics, om);
  EXPECT_EQ(text, "");
  EXPECT_EQ(om, "# EOF\n");
}

// The OpenMetrics counter's family loses _total, and a counter named without it gains it on
// the sample; the text format keeps the name as given.
TEST(PromExposition, CounterNames) {
  MetricFamily f{"kscope_drops", "", MetricType::Counter, {ClientMetric{}}};
  f.metric[0].counter.value = 2;
  std::string text, om;
  serialize({f}, Format::text, text);
  serialize({f}, Format::openmetrics, om);
  EXPECT_EQ(text, "# TYPE kscope_drops counter\nkscope_drops 2\n");
  EXPECT_EQ(om, "# TYPE kscope_drops counter\nkscope_drops_total 2\n# EOF\n");
}

// Values: integers whole up to 2^53, everything else the shortest spelling that reads back.
TEST(PromExposition, Numbers) {
  auto render = [](double v) {
    MetricFamily f{"g", "", MetricType::Gauge, {ClientMetric{}}};
    f.metric[0].gauge.value = v;
    std::string out;
    serialize({f}, Format::text, out);
    return out.substr(std::string("# TYPE g gauge\ng ").size(), out.size() - 1 - 17);
  };
  EXPECT_EQ(render(0), "0");
  EXPECT_EQ(render(-0.0), "0");
  EXPECT_EQ(render(-42), "-42");
  EXPECT_EQ(render(9007199254740992.0), "9007199254740992");
  EXPECT_EQ(render(1e20), "1e+20");
  EXPECT_EQ(render(0.1), "0.1");
  EXPECT_EQ(render(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(render(123456.5), "123456.5");
  EXPECT_EQ(render(1234567.5), "1.2345675e+06");
  EXPECT_EQ(render(0.0001), "0.0001");
  EXPECT_EQ(render(0.00001), "1e-05");
  EXPECT_EQ(render(kInf), "+Inf");
  for (double v : {0.1, 1.0 / 3, 2.5e-300, 1.7976931348623157e308, 123456.5})
    EXPECT_EQ(std::stod(render(v)), v) << render(v);
}

// OpenMetrics' canonical "le" spellings (its spec lists these examples).
TEST(PromExposition, CanonicalBounds) {
  MetricFamily f{"h", "", MetricType::Histogram, {ClientMetric{}}};
  for (double b :
       {0.0, 1e-10, 1e-9, 1e-5, 0.0001, 0.1, 0.95, 1.0, 1.7, 10.0, 100000.0, 1e6, 1e10, 1.1e23})
    f.metric[0].histogram.bucket.push_back({0, b});
  std::string out;
  serialize({f}, Format::openmetrics, out);
  std::string les;
  for (size_t at = out.find("le=\""); at != std::string::npos; at = out.find("le=\"", at + 1))
    les += out.substr(at + 4, out.find('"', at + 4) - at - 4) + " ";
  EXPECT_EQ(
      les, "0.0 1e-10 1e-09 1e-05 0.0001 0.1 0.95 1.0 1.7 10.0 100000.0 1e+06 1e+10 1.1e+23 +Inf ");
}

TEST(PromExposition, ContentTypes) {
  EXPECT_EQ(content_type(Format::text), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(content_type(Format::openmetrics),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST(PromExposition, Negotiate) {
  // Prometheus 2.x's default scrape.
  EXPECT_EQ(negotiate("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                      "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            Format::openmetrics);
  // Prometheus 3.x's default scrape, with escaping parameters.
  EXPECT_EQ(negotiate("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
                      "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
                      "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"),
            Format::openmetrics);
  // Prometheus with scrape_protocols: [PrometheusText0.0.4].
  EXPECT_EQ(negotiate("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), Format::text);
  EXPECT_EQ(negotiate(""), Format::text);
  EXPECT_EQ(negotiate("*/*"), Format::text);
  EXPECT_EQ(negotiate("text/html,application/xhtml+xml,*/*;q=0.8"), Format::text);
  EXPECT_EQ(negotiate("application/openmetrics-text"), Format::openmetrics);
  EXPECT_EQ(negotiate(" Application/OpenMetrics-Text ; Version=1.0.0 ; Q=0.9 , text/plain ; q=0.5"),
            Format::openmetrics);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0"), Format::text);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0.4,text/plain;q=0.5"), Format::text);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0.5,text/plain;q=0.5"), Format::openmetrics);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0.5,*/*"), Format::text);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=0.5,text/*;q=0.4,*/*"), Format::openmetrics);
  EXPECT_EQ(negotiate("application/openmetrics-text;version=2.0.0"), Format::text);
  EXPECT_EQ(negotiate("application/openmetrics-text;q=abc"), Format::text);
  EXPECT_EQ(negotiate(",,;q=1,"), Format::text);
}

TEST(PromGzip, Accepts) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("GZip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("deflate , gzip ; q=0.5"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("identity;q=1, *;q=0.1"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzipped"));
  EXPECT_FALSE(accepts_gzip("gzip;q=nope"));
}

std::string gunzip(const std::string& z) {
  z_stream s{};
  EXPECT_EQ(inflateInit2(&s, 16 + MAX_WBITS), Z_OK);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  s.avail_in = static_cast<uInt>(z.size());
  std::string out;
  char buf[4096];
  int rc;
  do {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof buf;
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof buf - s.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END);
  EXPECT_EQ(s.avail_in, 0u);  // one member, nothing after it
  inflateEnd(&s);
  return out;
}

TEST(PromGzip, RoundTrip) {
  std::string text;
  for (int i = 0; i < 5000; ++i) serialize(families(), Format::text, text);
  auto z = gzip(text);
  ASSERT_TRUE(z.has_value()) << z.error().message;
  ASSERT_GE(z->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*z)[0]), 0x1f);  // the gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*z)[1]), 0x8b);
  EXPECT_LT(z->size(), text.size() / 10);
  EXPECT_EQ(gunzip(*z), text);

  auto empty = gzip("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(gunzip(*empty), "");
}

}  // namespace
}  // namespace kscope::prom
