// The trace pipeline without the kernel: a replay file written with RecordWriter, fed through
// TraceSink + run_replay as `kscope trace exec --replay` does.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "captured_output.h"
#include "filter/task_filter.h"
#include "pipeline/replay_source.h"
#include "pipeline/trace_run.h"
#include "render/header_fields.h"
#include "sources/exec_event.h"
#include "sources/open_event.h"

namespace kscope {
namespace {

// Opens and replays in one call, as run_replay does.
Result<size_t> replay_file(const std::string& path, RecordSink& sink) {
  auto file = ReplayFile::open(path);
  if (!file) return std::unexpected(file.error());
  return file->records(sink);
}

using namespace std::string_view_literals;
using Bytes = std::vector<std::byte>;

using test::boot_ns;
using test::Captured;
constexpr std::string_view kTime = "2099-01-02T03:04:05.123456789Z";  // test::kWallNs

template <class T>
void append_struct(Bytes& b, const T& v, size_t n) {
  auto p = reinterpret_cast<const std::byte*>(&v);
  b.insert(b.end(), p, p + n);
}

ks_event_header header(uint32_t type, uint32_t tgid, uint32_t uid, const char* comm) {
  ks_event_header h{};
  h.ts_ns = boot_ns();
  h.cgroup_id = 1;
  h.type = type;
  h.pid = tgid;
  h.tgid = tgid;
  h.uid = uid;
  std::snprintf(h.comm, sizeof(h.comm), "%s", comm);
  return h;
}

Bytes exec_record(uint32_t tgid, uint32_t uid, int32_t ret, std::string_view args) {
  constexpr size_t fixed = offsetof(ks_exec_event, args);
  auto e = std::make_unique<ks_exec_event>();
  e->hdr = header(KS_EVENT_EXEC, tgid, uid, ret ? "exec_many" : "exec_target");
  e->hdr.size = static_cast<uint32_t>(fixed + args.size());
  e->ppid = 1;
  e->ns_tgid = tgid;
  e->ret = ret;
  e->args_size = static_cast<uint32_t>(args.size());
  Bytes b;
  append_struct(b, *e, fixed);
  for (char c : args) b.push_back(std::byte(c));
  return b;
}

Bytes open_record(uint32_t tgid, std::string_view path) {
  constexpr size_t fixed = offsetof(ks_open_event, path);
  auto e = std::make_unique<ks_open_event>();
  e->hdr = header(KS_EVENT_OPEN, tgid, 0, "open_known");
  e->hdr.size = static_cast<uint32_t>(fixed + path.size());
  e->flags = 0;
  e->ret = 3;
  e->dfd = -100;
  e->path_size = static_cast<uint16_t>(path.size());
  Bytes b;
  append_struct(b, *e, fixed);
  for (char c : path) b.push_back(std::byte(c));
  return b;
}

std::string exec_line(uint32_t pid, uint32_t uid, int ret, std::string_view args_json) {
  return fmt::format(
      R"({{"type":"exec","time":"{}","comm":"{}","pid":{},"ns_pid":{},"ppid":1,"uid":{},)"
      R"("cgroup_id":1,"ret":{},"args":{},"args_truncated":false}})"
      "\n",
      kTime, ret ? "exec_many" : "exec_target", pid, pid, uid, ret, args_json);
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    char tmpl[] = "/tmp/kscope-replay-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write_file(const std::vector<Bytes>& records, std::string name = "trace.rec") {
    std::string path = dir_ + "/" + name;
    auto w = RecordWriter::create(path);
    EXPECT_TRUE(w.has_value()) << w.error().message;
    for (const auto& r : records) w->write(r);
    return path;  // the writer closes (and flushes) the file here
  }

  // exec 100 (uid 1000), an open record, exec 200 (uid 0, failed), 7 garbage bytes,
  // exec 300 (uid 1000).
  std::string standard_file() {
    return write_file({exec_record(100, 1000, 0, "exec_target\0a b\0"sv),
                       open_record(150, "/etc/passwd\0"sv),
                       exec_record(200, 0, -2, "/nonexistent\0"sv),
                       Bytes(7, std::byte{0xab}),
                       exec_record(300, 1000, 0, "exec_target\0\0"sv)});
  }

  std::string dir_;
};

TraceSink<ExecEvent>::Decode exec_decoder() {
  return [](std::span<const std::byte> r) { return decode_exec(r, ArgLimits{}); };
}

TEST_F(ReplayTest, EveryExecRecordRendered) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  auto stats = run_replay(path, sink);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["exec_target","a b"])") +
                          exec_line(200, 0, -2, R"(["/nonexistent"])") +
                          exec_line(300, 1000, 0, R"(["exec_target",""])"));
  EXPECT_EQ(stats->shown, 3u);
  EXPECT_EQ(stats->filtered, 0u);
  EXPECT_EQ(stats->malformed, 2u);  // the open record and the garbage
  EXPECT_EQ(stats->lost, 0u);
  EXPECT_EQ(stats->signal, 0);
}

TEST_F(ReplayTest, OpenSinkOverTheSameFile) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  TraceSink<OpenEvent> sink(options, c.out(), "open", open_fields(), decode_open, nullptr);
  auto stats = run_replay(path, sink);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), fmt::format(
                          R"({{"type":"open","time":"{}","pid":150,"tid":150,"comm":"open_known",)"
                          R"("uid":0,"cgroup_id":1,"fd":3,"errno":0,"flags":"O_RDONLY","mode":0,)"
                          R"("syscall":"openat","dfd":-100,"path":"/etc/passwd"}})"
                          "\n",
                          kTime));
  EXPECT_EQ(stats->shown, 1u);
  EXPECT_EQ(stats->malformed, 4u);
}

TEST_F(ReplayTest, TableHasHeaderThenRows) {
  std::string path = write_file({exec_record(100, 1000, 0, "exec_target\0a b\0"sv)});
  TraceOptions options{.format = Format::table};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  auto stats = run_replay(path, sink);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(),
            "TIME     PCOMM            PID     PPID    UID    RET  ARGS\n"
            "03:04:05 exec_target      100     1       1000   0    exec_target 'a b'\n");
}

TEST_F(ReplayTest, CountStopsTheRun) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json, .count = 2};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  int stops = 0;
  sink.set_stop([&] { ++stops; });
  auto stats = run_replay(path, sink);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["exec_target","a b"])") +
                          exec_line(200, 0, -2, R"(["/nonexistent"])"));
  EXPECT_EQ(stats->shown, 2u);
  EXPECT_EQ(stats->malformed, 1u) << "records after the stop are not looked at";
  EXPECT_EQ(stops, 1);
}

TEST_F(ReplayTest, CountCountsShownNotFiltered) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json, .count = 1};
  Captured c;
  TaskFilter filter{.uid = 0};
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(),
                            [filter](const ExecEvent& e) { return filter.matches(e.hdr); });
  auto stats = run_replay(path, sink);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), exec_line(200, 0, -2, R"(["/nonexistent"])"));
  EXPECT_EQ(stats->shown, 1u);
  EXPECT_EQ(stats->filtered, 1u);
  EXPECT_EQ(stats->malformed, 1u);
}

TEST_F(ReplayTest, KeepFilterAsTheCliBuildsIt) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  // `--uid 1000` (without --failed: successful execs only) keeps pids 100 and 300.
  TaskFilter filter{.uid = 1000};
  bool failed = false;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(),
                            [filter, failed](const ExecEvent& e) {
                              return filter.matches(e.hdr) && exec_wanted(e, failed);
                            });
  auto stats = run_replay(path, sink);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["exec_target","a b"])") +
                          exec_line(300, 1000, 0, R"(["exec_target",""])"));
  EXPECT_EQ(stats->shown, 2u);
  EXPECT_EQ(stats->filtered, 1u);
  EXPECT_EQ(stats->malformed, 2u);
}

TEST_F(ReplayTest, KeepPredicateSelectsFailures) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(),
                            [](const ExecEvent& e) { return e.ret < 0; });
  auto stats = run_replay(path, sink);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(c.text(), exec_line(200, 0, -2, R"(["/nonexistent"])"));
  EXPECT_EQ(stats->shown, 1u);
  EXPECT_EQ(stats->filtered, 2u);
}

TEST_F(ReplayTest, RecorderWritesWhatItSaw) {
  std::string first = standard_file();
  std::string again = dir_ + "/again.rec";
  TraceOptions options{.format = Format::json};
  std::string text1;
  {
    auto w = RecordWriter::create(again);
    ASSERT_TRUE(w.has_value());
    Captured c;
    TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
    sink.set_recorder(&*w);
    ASSERT_TRUE(run_replay(first, sink).has_value());
    text1 = c.text();
  }
  std::ifstream a(first, std::ios::binary), b(again, std::ios::binary);
  std::string bytes_a((std::istreambuf_iterator<char>(a)), {});
  std::string bytes_b((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(bytes_a, bytes_b) << "malformed records are recorded too";

  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  auto stats = run_replay(again, sink);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(c.text(), text1);
  EXPECT_EQ(stats->shown, 3u);
}

TEST_F(ReplayTest, FileFraming) {
  std::string path = write_file({exec_record(100, 1000, 0, "a\0"sv), Bytes{}});
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  ASSERT_EQ(bytes.size(), 4u + 82 + 4);
  EXPECT_EQ(bytes.substr(0, 4), "\x52\0\0\0"sv);  // 82, little-endian
  EXPECT_EQ(bytes.substr(86, 4), "\0\0\0\0"sv);   // an empty record is a zero length
}

TEST_F(ReplayTest, ReportLostJson) {
  TraceOptions options{.format = Format::json};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  sink.report_lost(0);  // nothing lost yet: no line
  sink.report_lost(5);
  sink.report_lost(5);  // unchanged: no line
  sink.report_lost(8);
  sink.report_lost(7);  // a smaller total never goes backwards
  EXPECT_EQ(c.text(),
            "{\"type\":\"lost\",\"lost\":5,\"total_lost\":5}\n"
            "{\"type\":\"lost\",\"lost\":3,\"total_lost\":8}\n");
  EXPECT_EQ(sink.stats().lost, 8u);
}

TEST_F(ReplayTest, ReportLostTableGoesToTheLogNotTheTable) {
  TraceOptions options{.format = Format::table};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  sink.report_lost(4);
  EXPECT_EQ(c.text(), "");
  EXPECT_EQ(sink.stats().lost, 4u);
}

TEST_F(ReplayTest, MissingFileIsAnError) {
  TraceOptions options{.format = Format::json};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  auto stats = run_replay(dir_ + "/missing.rec", sink);
  ASSERT_FALSE(stats.has_value());
  EXPECT_EQ(stats.error().message,
            "open replay file " + dir_ + "/missing.rec: No such file or directory");
  EXPECT_EQ(c.text(), "");
}

TEST_F(ReplayTest, CutFilesAreErrorsAfterTheGoodRecords) {
  std::string path = write_file({exec_record(100, 1000, 0, "exec_target\0a b\0"sv)});
  {
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f.write("\x10\0\0\0abc", 7);  // a 16-byte record with 3 bytes present
  }
  TraceOptions options{.format = Format::json};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  auto stats = run_replay(path, sink);
  ASSERT_FALSE(stats.has_value());
  EXPECT_EQ(stats.error().message, path + ": record 2 is cut short");
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["exec_target","a b"])"));

  std::string prefix = write_file({}, "prefix.rec");
  {
    std::ofstream f(prefix, std::ios::binary);
    f.write("\x10\0", 2);
  }
  auto cut = replay_file(prefix, sink);
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().message, prefix + ": record 1 has a cut length prefix");

  std::string huge = write_file({}, "huge.rec");
  {
    std::ofstream f(huge, std::ios::binary);
    f.write("\0\0\0\x10", 4);  // 256 MiB
  }
  auto claim = replay_file(huge, sink);
  ASSERT_FALSE(claim.has_value());
  EXPECT_EQ(claim.error().message, huge + ": record 1 claims 268435456 bytes");
}

TEST_F(ReplayTest, EmptyFileIsZeroRecords) {
  std::string path = write_file({});
  TraceOptions options{.format = Format::json};
  Captured c;
  TraceSink<ExecEvent> sink(options, c.out(), "exec", exec_fields(), exec_decoder(), nullptr);
  auto n = replay_file(path, sink);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(sink.stats().shown, 0u);
}

}  // namespace
}  // namespace kscope
