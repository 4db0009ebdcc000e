// The collector's loss totals across flow engines: a reload that changes sources.flows opens
// a new engine that counts from 0, and stop() closes the last one before its final report.
// The totals carried from closed engines keep the counters monotonic and the sinks' in-band
// reports (each the growth since the last) exact.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "exporters/collect/flow_source.h"
#include "exporters/collect/sink_set.h"

namespace kscope::collect {
namespace {

namespace fs = std::filesystem;

TEST(CollectLosses, ClosedEnginesTotalsAreCarried) {
  FlowTotals totals;
  EXPECT_FALSE(totals.any());
  EXPECT_TRUE(totals.losses({}).empty());
  totals.close(64, {{"table_full", 436}, {"notification_ring", 1}});
  EXPECT_TRUE(totals.any());
  // The new engine counts from 0: the totals do not go back.
  auto now = totals.losses({{"table_full", 0}, {"notification_ring", 0}});
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0].point, "table_full");
  EXPECT_EQ(now[0].total, 436u);
  EXPECT_EQ(now[1].total, 1u);
  EXPECT_EQ(totals.records(5), 69u);
  totals.close(5, {{"table_full", 10}, {"notification_ring", 0}});
  // No engine running (stop() closed it, or a reload turned flows off): still reported.
  now = totals.losses({});
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0].total, 446u);
  EXPECT_EQ(totals.records(0), 69u);
}

// One file sink taking `of` ("flows" or a tool's events) behind a SinkSet; lost() reads back
// one loss point's value from each report line it wrote.
class ReportedLosses {
 public:
  explicit ReportedLosses(const std::string& of)
      : dir_(fs::temp_directory_path() / fmt::format("kscope-losses-{}-{}", of, getpid())),
        of_(of) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    SinkConfig c;
    c.name = of;
    c.events = {of};
    c.file.path = (dir_ / "out.json").string();
    std::vector<Error> failed;
    sinks_.apply({c}, failed);
    EXPECT_TRUE(failed.empty());
  }
  ~ReportedLosses() { fs::remove_all(dir_); }

  // One report: each point's total, named "<prefix>.<point>".
  void report(const std::string& prefix, const std::vector<LossPoint>& totals) {
    UpstreamLosses u;
    for (const auto& l : totals) u.push_back({fmt::format("{}.{}", prefix, l.point), of_, l.total});
    sinks_.report(u, std::chrono::milliseconds(0));
  }
  // Stops the sink, then the value of `point` in each report, in order.
  std::vector<std::string> lost(const std::string& point) {
    sinks_.stop();
    std::ifstream in(dir_ / "out.json");
    std::vector<std::string> values;
    std::string key = fmt::format("\"{}\":", point);
    for (std::string l; std::getline(in, l);) {
      auto at = l.find(key);
      if (at == std::string::npos) continue;
      at += key.size();
      values.push_back(l.substr(at, l.find_first_of(",}", at) - at));
    }
    return values;
  }

 private:
  fs::path dir_;
  std::string of_;
  SinkSet sinks_{sinks::Context{"node-a", 0}};
};

// The in-band reports across a reload and the stop: 436 once, never a wrapped-around delta,
// and the report at stop (after the engine closed) still names the kernel's losses.
TEST(CollectLosses, ReportsAcrossAReloadAndTheStopAddUpExactly) {
  ReportedLosses out("flows");
  FlowTotals totals;
  std::vector<LossPoint> engine = {{"table_full", 436}, {"notification_ring", 0}};
  out.report("kernel", totals.losses(engine));
  totals.close(0, engine);  // the reload: a new engine, from 0
  engine = {{"table_full", 0}, {"notification_ring", 0}};
  out.report("kernel", totals.losses(engine));
  engine = {{"table_full", 7}, {"notification_ring", 0}};
  totals.close(0, engine);  // stop(): the engine closes before the last report
  out.report("kernel", totals.losses({}));
  EXPECT_EQ(out.lost("kernel.table_full"), (std::vector<std::string>{"436", "0", "7"}));
}

// A tool that a reload turns off and on again counts from 0 in its new source: the reports
// go on from the closed source's total (5, then 0 twice, then the new source's 3), where the
// growth of the running source's total alone would have wrapped around.
TEST(CollectLosses, AToolReopenedByAReloadReportsExactly) {
  ReportedLosses out("exec");
  LossTotals exec;
  out.report("exec", exec.losses({{"ring_reserve", 5}}));
  exec.close({{"ring_reserve", 5}});  // the reload that turns exec off
  out.report("exec", exec.losses({}));
  out.report("exec", exec.losses({{"ring_reserve", 0}}));  // the one that turns it on again
  out.report("exec", exec.losses({{"ring_reserve", 3}}));
  EXPECT_EQ(out.lost("exec.ring_reserve"), (std::vector<std::string>{"5", "0", "0", "3"}));
}

}  // namespace
}  // namespace kscope::collect
