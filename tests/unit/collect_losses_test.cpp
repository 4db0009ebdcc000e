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

UpstreamLosses upstream(const std::vector<LossPoint>& flow_losses) {
  UpstreamLosses u;
  for (const auto& l : flow_losses) u.push_back({"kernel." + l.point, "flows", l.total});
  return u;
}

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

// The in-band reports across a reload and the stop: 436 once, never a wrapped-around delta,
// and the report at stop (after the engine closed) still names the kernel's losses.
TEST(CollectLosses, ReportsAcrossAReloadAndTheStopAddUpExactly) {
  fs::path dir = fs::temp_directory_path() / fmt::format("kscope-collect-losses-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    SinkSet sinks(sinks::Context{"node-a", 0});
    SinkConfig c;
    c.name = "f";
    c.file.path = (dir / "flows.json").string();
    std::vector<Error> failed;
    sinks.apply({c}, failed);
    ASSERT_TRUE(failed.empty());
    FlowTotals totals;
    std::vector<LossPoint> engine = {{"table_full", 436}, {"notification_ring", 0}};
    sinks.report(upstream(totals.losses(engine)), std::chrono::milliseconds(0));
    totals.close(0, engine);  // the reload: a new engine, from 0
    engine = {{"table_full", 0}, {"notification_ring", 0}};
    sinks.report(upstream(totals.losses(engine)), std::chrono::milliseconds(0));
    engine = {{"table_full", 7}, {"notification_ring", 0}};
    totals.close(0, engine);  // stop(): the engine closes before the last report
    sinks.report(upstream(totals.losses({})), std::chrono::milliseconds(0));
    sinks.stop();
  }
  std::ifstream in(dir / "flows.json");
  std::vector<std::string> full;
  for (std::string l; std::getline(in, l);) {
    auto at = l.find("\"kernel.table_full\":");
    ASSERT_NE(at, std::string::npos) << l;
    full.push_back(l.substr(at + 20, l.find_first_of(",}", at) - at - 20));
  }
  EXPECT_EQ(full, (std::vector<std::string>{"436", "0", "7"}));
  fs::remove_all(dir);
}

// A tool that a reload turns off and on again counts from 0 in its new source: the reports
// go on from the closed source's total (5, then 0 twice, then the new source's 3), where the
// growth of the running source's total alone would have wrapped around.
TEST(CollectLosses, AToolReopenedByAReloadReportsExactly) {
  fs::path dir = fs::temp_directory_path() / fmt::format("kscope-tool-losses-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    SinkSet sinks(sinks::Context{"node-a", 0});
    SinkConfig c;
    c.name = "e";
    c.events = {"exec"};
    c.file.path = (dir / "events.json").string();
    std::vector<Error> failed;
    sinks.apply({c}, failed);
    ASSERT_TRUE(failed.empty());
    auto report = [&](const std::vector<LossPoint>& losses) {
      UpstreamLosses u;
      for (const auto& l : losses) u.push_back({"exec." + l.point, "exec", l.total});
      sinks.report(u, std::chrono::milliseconds(0));
    };
    LossTotals exec;
    report(exec.losses({{"ring_reserve", 5}}));
    exec.close({{"ring_reserve", 5}});  // the reload that turns exec off
    report(exec.losses({}));
    report(exec.losses({{"ring_reserve", 0}}));  // the one that turns it on again
    report(exec.losses({{"ring_reserve", 3}}));
    sinks.stop();
  }
  std::ifstream in(dir / "events.json");
  std::vector<std::string> lost;
  for (std::string l; std::getline(in, l);) {
    auto at = l.find("\"exec.ring_reserve\":");
    ASSERT_NE(at, std::string::npos) << l;
    lost.push_back(l.substr(at + 20, l.find_first_of(",}", at) - at - 20));
  }
  EXPECT_EQ(lost, (std::vector<std::string>{"5", "0", "0", "3"}));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kscope::collect
