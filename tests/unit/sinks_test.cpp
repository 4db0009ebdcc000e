// The sinks' common parts without a kernel: the flow log's record schema (whole lines), field
// masks, the file sink's rotation and compression, and the runner's bounded queue, whose
// drops are counted exactly and written into the sink's own stream with the next report.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "exporters/sinks/file_sink.h"
#include "exporters/sinks/flow_json.h"
#include "exporters/sinks/sink_runner.h"
#include "base/log.h"
#include "flows.h"

namespace kscope::sinks {
namespace {

namespace fs = std::filesystem;

// 2026-12-03T10:00:00Z as boot time 1 s: the offset makes every time exact.
constexpr int64_t kWallAtBoot = 1'796'292'000'000'000'000 - 1'000'000'000;

flows::FlowRecord tcp_record() {
  flows::FlowRecord r;
  IpAddr a = parse_ip("10.1.2.3"), b = parse_ip("10.9.8.7");
  r.key = flows::flow_key(a, 40000, b, 443, 6, KS_FLOW_EGRESS, KS_FLOW_POINT_CGROUP, 1);
  r.packets = 12;
  r.bytes = 3456;
  r.flow_start_ns = 1'000'000'000;
  r.first_ns = 1'000'000'000;
  r.last_ns = 1'500'000'001;
  r.tcp_flags = 0x12 | 0x01;  // SYN ACK FIN
  r.end = flows::EndReason::end_of_flow;
  r.sequence = 2;
  r.owner_flags = KS_FLOW_OWNER_KNOWN | KS_FLOW_TCP_SOCK | KS_FLOW_SOCKET;
  r.owner.tgid = 4242;
  r.owner.pid = 4243;
  r.owner.uid = 1000;
  r.owner.cgroup_id = 77;
  std::strcpy(r.owner.comm, "curl");
  r.container_id = "abcdef123456";
  r.srtt_us = 250;
  r.retransmits = 1;
  r.socket_cookie = 99;
  return r;
}

std::string line_of(const Item& item, const FieldMask& mask = {}) {
  fmt::memory_buffer out;
  append_item_json(out, item, Context{"node-a", kWallAtBoot}, "s1", mask);
  return fmt::to_string(out);
}

TEST(SinksFlowJson, TcpRecordWhole) {
  EXPECT_EQ(line_of(tcp_record()),
            "{\"schema\":\"kscope.flow.v1\",\"time\":\"2026-12-03T10:00:00.500000001Z\","
            "\"flow_start\":\"2026-12-03T10:00:00.000000000Z\","
            "\"first\":\"2026-12-03T10:00:00.000000000Z\",\"last\":\"2026-12-03T10:00:00.500000001Z\","
            "\"node_name\":\"node-a\","
            "\"IP\":{\"source\":\"10.1.2.3\",\"destination\":\"10.9.8.7\",\"ipVersion\":\"IPv4\"},"
            "\"l4\":{\"TCP\":{\"source_port\":40000,\"destination_port\":443,"
            "\"flags\":{\"FIN\":true,\"SYN\":true,\"ACK\":true}}},"
            "\"traffic_direction\":\"EGRESS\",\"observation_point\":\"cgroup\","
            "\"interface\":{\"index\":1,\"name\":\"lo\"},\"packets\":12,\"bytes\":3456,"
            "\"tcp_flags\":\"FIN|SYN|ACK\",\"end_reason\":\"end_of_flow\",\"sequence\":2,"
            "\"pair_id\":" + std::to_string(flows::pair_id(tcp_record().key)) + ","
            "\"process\":{\"pid\":4242,\"tid\":4243,\"comm\":\"curl\",\"uid\":1000,\"cgroup_id\":77,"
            "\"container_id\":\"abcdef123456\"},\"tcp\":{\"srtt_us\":250,\"retransmits\":1},"
            "\"socket_cookie\":99}\n");
}

TEST(SinksFlowJson, IcmpV6AndUnknownOwner) {
  flows::FlowRecord r;
  r.key = flows::flow_key(parse_ip("fd00::1"), 0, parse_ip("fd00::2"), 128 << 8, 58,
                          KS_FLOW_INGRESS, KS_FLOW_POINT_TC, 0);
  r.packets = 1;
  r.bytes = 104;
  r.first_ns = r.last_ns = 2'000'000'000;
  r.end = flows::EndReason::idle_timeout;
  EXPECT_EQ(line_of(r, *FieldMask::parse({"IP", "l4", "traffic_direction", "process", "end_reason"})),
            "{\"schema\":\"kscope.flow.v1\",\"IP\":{\"source\":\"fd00::1\",\"destination\":\"fd00::2\","
            "\"ipVersion\":\"IPv6\"},\"l4\":{\"ICMPv6\":{\"type\":128,\"code\":0}},"
            "\"traffic_direction\":\"INGRESS\",\"end_reason\":\"idle_timeout\"}\n");
}

TEST(SinksFlowJson, OverflowRecordHasNoTuple) {
  flows::FlowRecord r;
  r.key.direction = KS_FLOW_EGRESS;
  r.key.point = KS_FLOW_POINT_TC;
  r.packets = 5;
  r.bytes = 500;
  r.first_ns = r.last_ns = 1'000'000'000;
  r.end = flows::EndReason::lack_of_resources;
  EXPECT_EQ(line_of(r, *FieldMask::parse({"IP", "l4", "packets", "bytes", "end_reason"})),
            "{\"schema\":\"kscope.flow.v1\",\"packets\":5,\"bytes\":500,"
            "\"end_reason\":\"lack_of_resources\"}\n");
}

TEST(SinksFlowJson, LossReportWhole) {
  LossReport r{.window_start_ns = 1'796'292'000'000'000'000,
               .window_end_ns = 1'796'292'010'000'000'000,
               .records = 7,
               .lost = {{"kernel.table_full", 0}, {"sink.queue", 3}}};
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(line_of(r), "{\"schema\":\"kscope.loss.v1\",\"sink\":\"s1\",\"node_name\":\"node-a\","
                        "\"window_start\":\"2026-12-03T10:00:00.000000000Z\","
                        "\"window_end\":\"2026-12-03T10:00:10.000000000Z\",\"records\":7,"
                        "\"complete\":false,\"lost\":{\"kernel.table_full\":0,\"sink.queue\":3}}\n");
}

TEST(SinksFlowJson, UnknownMaskField) {
  auto m = FieldMask::parse({"bytes", "byts"});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().message, "unknown flow record field \"byts\"");
  EXPECT_NE(m.error().hint.find("the fields are: time, flow_start"), std::string::npos);
}

class SinksFile : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("kscope-sinks-{}", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  fs::path dir_;
};

std::vector<Item> records(int n, uint64_t first_bytes = 1) {
  std::vector<Item> out;
  for (int i = 0; i < n; ++i) {
    auto r = tcp_record();
    r.bytes = first_bytes + static_cast<uint64_t>(i);
    out.emplace_back(r);
  }
  return out;
}

TEST_F(SinksFile, RotatesBySizeKeepingBackups) {
  std::string one = line_of(records(1)[0]);
  auto path = dir_ / "flows.json";
  // Room for exactly three lines a file (all lines the same length: bytes 1..9, one digit).
  auto s = FileSink::open({.name = "f", .path = path, .max_size = 3 * one.size(), .max_backups = 2,
                           .context = {"node-a", kWallAtBoot}});
  ASSERT_TRUE(s.has_value()) << s.error().message;
  ASSERT_TRUE((*s)->write(records(9)).has_value());
  ASSERT_TRUE((*s)->flush().has_value());
  // 9 lines, 3 a file: FILE.2 holds 1..3, FILE.1 4..6 and FILE 7..9.
  auto cur = lines(path), b1 = lines(dir_ / "flows.json.1"), b2 = lines(dir_ / "flows.json.2");
  ASSERT_EQ(cur.size(), 3u);
  ASSERT_EQ(b1.size(), 3u);
  ASSERT_EQ(b2.size(), 3u);
  EXPECT_NE(b2[0].find("\"bytes\":1,"), std::string::npos) << b2[0];
  EXPECT_NE(b1[0].find("\"bytes\":4,"), std::string::npos) << b1[0];
  EXPECT_NE(cur[2].find("\"bytes\":9,"), std::string::npos) << cur[2];
  EXPECT_FALSE(fs::exists(dir_ / "flows.json.3"));
  ASSERT_TRUE((*s)->write(records(3, 1)).has_value());  // one more rotation: 1..3 go
  EXPECT_NE(lines(dir_ / "flows.json.2")[0].find("\"bytes\":4,"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "flows.json.3"));
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST_F(SinksFile, CompressesRotatedFiles) {
  std::string one = line_of(records(1)[0]);
  auto path = dir_ / "flows.json";
  auto s = FileSink::open({.name = "f", .path = path, .max_size = 2 * one.size(), .max_backups = 5,
                           .compress = true, .context = {"node-a", kWallAtBoot}});
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE((*s)->write(records(5)).has_value());
  EXPECT_FALSE(fs::exists(dir_ / "flows.json.1"));
  gzFile z = gzopen((dir_ / "flows.json.2.gz").c_str(), "rb");
  ASSERT_NE(z, nullptr);
  std::string text(4096, '\0');
  int n = gzread(z, text.data(), static_cast<unsigned>(text.size()));
  gzclose(z);
  ASSERT_EQ(n, static_cast<int>(2 * one.size()));
  EXPECT_NE(text.find("\"bytes\":1,"), std::string::npos);
  EXPECT_NE(text.find("\"bytes\":2,"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "flows.json.1.gz"));
  EXPECT_EQ(lines(path).size(), 1u);
}

TEST_F(SinksFile, OpenErrorNamesThePath) {
  auto s = FileSink::open({.name = "f", .path = (dir_ / "missing" / "flows.json").string()});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message,
            fmt::format("open flow log {}: No such file or directory", (dir_ / "missing" / "flows.json").string()));
  EXPECT_EQ(s.error().hint, "check that the directory exists and is writable by the collector");
}

// A full disk in the middle of a line (RLIMIT_FSIZE: a short write, then EFBIG as ENOSPC
// would be): the part written is cut off again, so the file holds whole lines only, the
// items before the error are said written, and the next write starts a line of its own.
TEST_F(SinksFile, ShortWriteLeavesWholeLinesOnly) {
  std::string one = line_of(records(1)[0]);
  auto path = dir_ / "flows.json";
  auto s = FileSink::open({.name = "f", .path = path, .max_size = 0, .context = {"node-a", kWallAtBoot}});
  ASSERT_TRUE(s.has_value());
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = one.size() * 3 / 2;  // room for a line and a half
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  auto w = (*s)->write(records(3));
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().message, fmt::format("write flow log {}: {}", path.string(), std::strerror(EFBIG)));
  EXPECT_EQ((*s)->whole_before_error(), 1u);
  EXPECT_EQ(fs::file_size(path), one.size());
  ASSERT_TRUE((*s)->write(records(2, 5)).has_value());
  auto got = lines(path);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1] + "\n", line_of(records(1, 5)[0]));
}

// A rotation that cannot rename (here FILE.1 is a directory, as a read-only directory would
// refuse it too) fails the batch with its own reason; the lines before the rotation point are
// in the file and said written, the rest not.
TEST_F(SinksFile, FailedRotationSaysWhyAndCountsTheLinesBeforeIt) {
  std::string one = line_of(records(1)[0]);
  auto path = dir_ / "flows.json";
  fs::create_directories(dir_ / "flows.json.1" / "x");
  auto s = FileSink::open({.name = "f", .path = path, .max_size = 2 * one.size(), .max_backups = 1,
                           .context = {"node-a", kWallAtBoot}});
  ASSERT_TRUE(s.has_value());
  auto w = (*s)->write(records(5));
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().message, fmt::format("rotate {}: Is a directory", path.string()));
  EXPECT_EQ((*s)->whole_before_error(), 2u);
  EXPECT_EQ(lines(path).size(), 2u);
}

// A sink whose destination is stuck until the test lets it go, that keeps what it got. It
// refuses the next `refuse` writes, after `whole` items of each reached it, and can recall
// records it took.
class GatedSink final : public Sink {
 public:
  Result<void> write(std::span<const Item> batch) override {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    bool refused = refuse > 0;
    refuse -= refuse > 0;
    size_t kept = refused ? std::min(whole, batch.size()) : batch.size();
    got.insert(got.end(), batch.begin(), batch.begin() + static_cast<long>(kept));
    if (refused) return fail("refused");
    return {};
  }
  size_t whole_before_error() const override { return whole; }
  uint64_t take_recalled() override { return std::exchange(recalled, 0); }
  void let_in() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  void wait_entered() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  std::mutex mu;
  std::condition_variable cv;
  bool open = false, entered = false;
  int refuse = 0;
  size_t whole = 0;
  uint64_t recalled = 0;
  std::vector<Item> got;
};

TEST(SinksRunner, FullQueueDropsAreCountedAndReportedInBand) {
  auto owned = std::make_unique<GatedSink>();
  GatedSink& sink = *owned;
  SinkRunner runner("g", "test", std::move(owned), 10, {});
  runner.offer(tcp_record());  // taken by the thread, which then blocks in write()
  {
    std::unique_lock lock(sink.mu);
    ASSERT_TRUE(sink.cv.wait_for(lock, std::chrono::seconds(10), [&] { return sink.entered; }));
  }
  for (int i = 0; i < 25; ++i) runner.offer(tcp_record());  // 10 queue, 15 dropped
  runner.offer(LossReport{.window_start_ns = 1, .window_end_ns = 2});
  EXPECT_EQ(runner.totals().lost.at("sink.queue"), 15u);
  EXPECT_EQ(runner.totals().queued, 10u);
  {
    std::lock_guard lock(sink.mu);
    sink.open = true;
  }
  sink.cv.notify_all();
  runner.stop(std::chrono::seconds(10));
  ASSERT_EQ(sink.got.size(), 12u);  // 1 + 10 records and the report
  const auto& report = std::get<LossReport>(sink.got.back());
  EXPECT_EQ(report.records, 11u);
  EXPECT_EQ(report.lost, (std::vector<std::pair<std::string, uint64_t>>{{"sink.queue", 15},
                                                                          {"sink.write", 0}}));
  EXPECT_EQ(runner.totals().records, 11u);
}

TEST(SinksRunner, RefusedBatchIsCountedInTheNextReport) {
  auto owned = std::make_unique<GatedSink>();
  GatedSink& sink = *owned;
  sink.open = true;
  // Every write refused until the 3 records are lost: the runner's thread may take them in one
  // batch or in several, as they arrive.
  sink.refuse = 3;
  SinkRunner runner("g", "test", std::move(owned), 100, {});
  for (int i = 0; i < 3; ++i) runner.offer(tcp_record());
  // Wait for the refused batches, then a report in a batch of its own.
  for (int i = 0; i < 1000 && runner.totals().lost.at("sink.write") < 3; ++i) usleep(1000);
  EXPECT_EQ(runner.totals().lost.at("sink.write"), 3u);
  {
    std::lock_guard lock(sink.mu);
    sink.refuse = 0;
  }
  runner.offer(LossReport{});
  runner.stop(std::chrono::seconds(10));
  const auto& report = std::get<LossReport>(sink.got.back());
  EXPECT_EQ(report.records, 0u);
  EXPECT_EQ(report.lost[1], (std::pair<std::string, uint64_t>{"sink.write", 3}));
  EXPECT_FALSE(report.complete());
}

TEST(SinksRunner, DropReasonsMatchNoFlow) {
  flows::FlowFilters allow_drops;
  allow_drops.allow.push_back(flows::FlowFilter{.drop_reasons = {"NO_SOCKET"}});
  EXPECT_FALSE(allow_drops.passes(tcp_record()));
  EXPECT_TRUE(allow_drops.passes_event(1, "x", "NO_SOCKET"));
  EXPECT_FALSE(allow_drops.passes_event(1, "x", ""));
}

TEST(SinksRunner, FiltersPickRecords) {
  auto owned = std::make_unique<GatedSink>();
  GatedSink& sink = *owned;
  sink.open = true;
  flows::FlowFilters filters;
  filters.allow.push_back(flows::FlowFilter{.ports = {443}});
  filters.deny.push_back(flows::FlowFilter{.comms = {"wget"}});
  SinkRunner runner("g", "test", std::move(owned), 100, filters);
  auto a = tcp_record();  // port 443, curl: passes
  auto b = tcp_record();
  b.key.dport = 80;  // fails the allow filter
  auto c = tcp_record();
  std::strcpy(c.owner.comm, "wget");  // denied
  for (const auto& r : {a, b, c, a}) runner.offer(r);
  runner.stop(std::chrono::seconds(10));
  EXPECT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(runner.totals().records, 2u);
}

TEST(SinksRunner, EventsByToolAndProcessFilters) {
  auto owned = std::make_unique<GatedSink>();
  GatedSink& sink = *owned;
  sink.open = true;
  flows::FlowFilters filters;
  filters.deny.push_back(flows::FlowFilter{.comms = {"sshd"}});
  filters.deny.push_back(flows::FlowFilter{.ports = {22}});  // names a port: matches no event
  filters.deny.push_back(flows::FlowFilter{.drop_reasons = {"NETFILTER_DROP"}});
  SinkRunner runner("g", "test", std::move(owned), 100, filters, {"exec", "drops"});
  runner.offer(tcp_record());  // flows are not among its events
  runner.offer(EventItem{.tool = "exec", .pid = 7, .comm = "curl", .json = "{}\n"});
  runner.offer(EventItem{.tool = "exec", .pid = 8, .comm = "sshd", .json = "{}\n"});
  runner.offer(EventItem{.tool = "exit", .pid = 9, .comm = "curl", .json = "{}\n"});
  runner.offer(EventItem{.tool = "drops", .pid = 10, .comm = "curl", .reason = "NETFILTER_DROP", .json = "{}\n"});
  runner.offer(EventItem{.tool = "drops", .pid = 11, .comm = "curl", .reason = "NO_SOCKET", .json = "{}\n"});
  runner.offer(LossReport{});
  runner.stop(std::chrono::seconds(10));
  ASSERT_EQ(sink.got.size(), 3u);
  EXPECT_EQ(std::get<EventItem>(sink.got[0]).pid, 7u);
  EXPECT_EQ(std::get<EventItem>(sink.got[1]).pid, 11u);
  EXPECT_EQ(std::get<LossReport>(sink.got[2]).records, 2u);
  EXPECT_EQ(line_of(sink.got[0]), "{}\n");  // an event is written as the collector rendered it
}

std::map<std::string, uint64_t> lost_of(const LossReport& r) { return {r.lost.begin(), r.lost.end()}; }

// The runner's totals: records written, and lost at write.
void expect_totals(const SinkRunner& runner, uint64_t written, uint64_t lost) {
  auto t = runner.totals();
  EXPECT_EQ(t.records, written);
  EXPECT_EQ(t.lost.at("sink.write"), lost);
}

// Until the runner counted `n` records lost at write (10 s at most).
void wait_write_lost(const SinkRunner& runner, uint64_t n) {
  for (int i = 0; i < 10000 && runner.totals().lost.at("sink.write") < n; ++i) usleep(1000);
}

// A report that could not be written hands what it counted (its window, the records written
// before it, the upstream and sink losses) to the next report that is.
TEST(SinksRunner, ReportNotWrittenHandsItsLossesToTheNext) {
  auto owned = std::make_unique<GatedSink>();
  GatedSink& sink = *owned;
  SinkRunner runner("g", "test", std::move(owned), 100, {});
  runner.offer(tcp_record());  // written
  sink.let_in();
  for (int i = 0; i < 1000 && runner.totals().records == 0; ++i) usleep(1000);
  ASSERT_EQ(runner.totals().records, 1u);
  {
    std::lock_guard lock(sink.mu);
    sink.refuse = 2;
    sink.open = false;
    sink.entered = false;
  }
  runner.offer(tcp_record());  // the first refused batch, alone
  sink.wait_entered();
  runner.offer(tcp_record());  // the second: two records and report A
  runner.offer(tcp_record());
  runner.offer(LossReport{.window_start_ns = 10, .window_end_ns = 20, .lost = {{"kernel.table_full", 5}}});
  sink.let_in();
  wait_write_lost(runner, 3);
  runner.offer(LossReport{.window_start_ns = 20, .window_end_ns = 30, .lost = {{"kernel.table_full", 0}}});
  runner.stop(std::chrono::seconds(10));
  ASSERT_EQ(sink.got.size(), 2u);  // the first record and report B
  const auto& b = std::get<LossReport>(sink.got.back());
  EXPECT_EQ(b.window_start_ns, 10u);
  EXPECT_EQ(b.records, 1u);  // the first record: no report said it yet
  EXPECT_EQ(lost_of(b), (std::map<std::string, uint64_t>{
                            {"kernel.table_full", 5}, {"sink.queue", 0}, {"sink.write", 3}}));
  EXPECT_FALSE(b.complete());
  expect_totals(runner, 1, 3);
}

// A batch refused after its first items reached the destination: those are written, with the
// report among them; the rest are lost, each record counted once; a recalled record (one the
// sink took earlier but learnt was lost) moves from written to lost.
TEST(SinksRunner, PartlyWrittenBatchCountsEachRecordOnce) {
  auto owned = std::make_unique<GatedSink>();
  GatedSink& sink = *owned;
  sink.refuse = 1;
  sink.whole = 3;
  SinkRunner runner("g", "test", std::move(owned), 100, {});
  runner.offer(tcp_record());  // blocks in write(): the rest makes one batch
  sink.wait_entered();
  {
    std::lock_guard lock(sink.mu);
    sink.refuse = 2;  // this batch and the next: [r] then [r, A, r, r]
  }
  runner.offer(tcp_record());
  runner.offer(LossReport{.window_start_ns = 1, .window_end_ns = 2});
  runner.offer(tcp_record());
  runner.offer(tcp_record());
  sink.let_in();
  wait_write_lost(runner, 1);
  {
    std::lock_guard lock(sink.mu);
    sink.recalled = 1;
  }
  runner.offer(tcp_record());  // written; an earlier record recalled
  wait_write_lost(runner, 2);
  runner.offer(LossReport{.window_start_ns = 2, .window_end_ns = 3});
  runner.stop(std::chrono::seconds(10));
  // The first batch: its one record (whole 3 > 1). The second: [r, A, r] whole, r lost.
  ASSERT_EQ(sink.got.size(), 6u);
  const auto& a = std::get<LossReport>(sink.got[2]);
  EXPECT_EQ(a.records, 2u);
  const auto& b = std::get<LossReport>(sink.got.back());
  EXPECT_EQ(b.records, 1u);  // the record after A and the last one, less the recalled
  EXPECT_EQ(lost_of(b).at("sink.write"), 2u);
  expect_totals(runner, 3, 2);
}

// The end of an outage is said as its start was: a warning, shown at the default verbosity.
TEST(SinksRunner, RecoveryIsSaidByDefault) {
  auto owned = std::make_unique<GatedSink>();
  GatedSink& sink = *owned;
  sink.refuse = 1;
  sink.open = true;
  log::set_verbosity(0);
  testing::internal::CaptureStderr();
  SinkRunner runner("g", "test", std::move(owned), 100, {});
  runner.offer(tcp_record());
  wait_write_lost(runner, 1);
  runner.offer(tcp_record());
  runner.stop(std::chrono::seconds(10));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("warning: sink g: refused (its records are lost"), std::string::npos) << err;
  EXPECT_NE(err.find("warning: sink g: writes again, 1 records lost meanwhile"), std::string::npos) << err;
}

}  // namespace
}  // namespace kscope::sinks
