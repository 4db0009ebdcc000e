// The trace pipeline without the kernel: record files written with RecordWriter (header and
// framing), read back with ReplayFile, fed through a tool's sink + run_replay as
// `kscope trace NAME --replay` does.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "filter/task_filter.h"
#include "sources/record_file.h"
#include "tool_run.h"

namespace kscope {
namespace {

using namespace std::string_view_literals;
using namespace test;

constexpr std::string_view kTime = "2099-01-02T03:04:05.123456789Z";  // test::kWallNs

Header header(uint32_t type, uint32_t tgid, uint32_t uid, std::string_view comm) {
  return {.ts_ns = boot_ns(), .cgroup_id = 1, .type = type, .pid = tgid, .tgid = tgid, .uid = uid,
          .comm = comm};
}

Bytes exec_rec(uint32_t tgid, uint32_t uid, int32_t ret, std::string_view args) {
  return exec_record(header(KS_EVENT_EXEC, tgid, uid, ret ? "exec_many" : "exec_target"),
                     {.ppid = 1, .ns_tgid = tgid, .ret = ret, .args = args});
}

Bytes open_rec(uint32_t tgid, std::string_view path) {
  return open_record(header(KS_EVENT_OPEN, tgid, 0, "open_known"),
                     {.flags = 0, .ret = 3, .dfd = -100, .mode = 0, .path = path});
}

std::string exec_line(uint32_t pid, uint32_t uid, int ret, std::string_view args_json,
                      std::string_view time = kTime) {
  return fmt::format(
      R"({{"type":"exec","time":"{}","comm":"{}","pid":{},"ns_pid":{},"ppid":1,"uid":{},)"
      R"("cgroup_id":1,"ret":{},"args":{},"args_truncated":false,"args_unreadable":false,)"
      R"("argv_missing":false}})"
      "\n",
      time, ret ? "exec_many" : "exec_target", pid, pid, uid, ret, args_json);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void append(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Keeps every record it is fed.
struct Collect : RecordSink {
  std::vector<Bytes> records;
  void on_record(std::span<const std::byte> r) override { records.emplace_back(r.begin(), r.end()); }
};

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    char tmpl[] = "/tmp/kscope-replay-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    use_boot_wall_offset(this_boot_wall_offset_ns());  // a test may have replayed another boot
    std::filesystem::remove_all(dir_);
  }

  std::string write_file(const std::vector<Bytes>& records, std::string name = "trace.rec",
                         std::string_view tool_name = "exec",
                         int64_t offset = this_boot_wall_offset_ns()) {
    std::string path = dir_ + "/" + name;
    auto w = RecordWriter::create(path, tool_name, offset);
    EXPECT_TRUE(w.has_value()) << w.error().message;
    for (const auto& r : records) w->write(r);
    auto closed = w->close();
    EXPECT_TRUE(closed.has_value()) << closed.error().message;
    return path;
  }

  // exec 100 (uid 1000), an open record, exec 200 (uid 0, failed), 7 garbage bytes,
  // exec 300 (uid 1000).
  std::string standard_file() {
    return write_file({exec_rec(100, 1000, 0, "exec_target\0a b\0"sv),
                       open_rec(150, "/etc/passwd\0"sv),
                       exec_rec(200, 0, -2, "/nonexistent\0"sv),
                       Bytes(7, std::byte{0xab}),
                       exec_rec(300, 1000, 0, "exec_target\0\0"sv)});
  }

  std::unique_ptr<TraceSinkBase> sink(std::string_view tool_name, const TraceOptions& options,
                                      Captured& c, const Filter& filter = {}) {
    const Tool& t = tool(tool_name);
    auto s = t.sink(options, c.out(), ToolArgs(t.flags()), filter, /*live=*/false);
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return std::move(*s);
  }

  // Opens and replays in one call, as `trace --replay` does.
  Result<TraceStats> replay(const std::string& path, TraceSinkBase& s) {
    auto file = ReplayFile::open(path);
    if (!file) return std::unexpected(file.error());
    return run_replay(*file, s);
  }

  std::string dir_;
};

TEST_F(ReplayTest, EveryExecRecordRendered) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  auto s = sink("exec", options, c);
  auto stats = replay(path, *s);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["exec_target","a b"])") +
                          exec_line(200, 0, -2, R"(["/nonexistent"])") +
                          exec_line(300, 1000, 0, R"(["exec_target",""])"));
  EXPECT_EQ(stats->shown, 3u);
  EXPECT_EQ(stats->filtered, 0u);
  EXPECT_EQ(stats->malformed, 2u);  // the open record and the garbage
  EXPECT_EQ(stats->lost, 0u);
  EXPECT_EQ(stats->partial, 0u);
  EXPECT_EQ(stats->signal, 0);
  EXPECT_FALSE(stats->output_closed);
}

TEST_F(ReplayTest, OpenSinkOverTheSameFile) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  auto s = sink("open", options, c);
  auto stats = replay(path, *s);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), fmt::format(
                          R"({{"type":"open","time":"{}","pid":150,"tid":150,"comm":"open_known",)"
                          R"("uid":0,"cgroup_id":1,"fd":3,"errno":0,"flags":"O_RDONLY","mode":0,)"
                          R"("syscall":"openat","dfd":-100,"path":"/etc/passwd",)"
                          R"("path_unreadable":false,"how_unreadable":false}})"
                          "\n",
                          kTime));
  EXPECT_EQ(stats->shown, 1u);
  EXPECT_EQ(stats->malformed, 4u);
}

TEST_F(ReplayTest, TableHasHeaderThenRows) {
  std::string path = write_file({exec_rec(100, 1000, 0, "exec_target\0a b\0"sv)});
  TraceOptions options{.format = Format::table};
  Captured c;
  auto s = sink("exec", options, c);
  auto stats = replay(path, *s);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(),
            "TIME     PCOMM            PID     PPID    UID    RET  ARGS\n"
            "03:04:05 exec_target      100     1       1000   0    exec_target 'a b'\n");
}

TEST_F(ReplayTest, CountStopsTheRun) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json, .count = 2};
  Captured c;
  auto s = sink("exec", options, c);
  int stops = 0;
  s->set_stop([&] { ++stops; });
  auto stats = replay(path, *s);
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
  Filter filter;  // --uid 0
  ASSERT_TRUE(add_task_clauses(TaskFlags{.uid = 0}, filter).has_value());
  auto s = sink("exec", options, c, filter);
  auto stats = replay(path, *s);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), exec_line(200, 0, -2, R"(["/nonexistent"])"));
  EXPECT_EQ(stats->shown, 1u);
  EXPECT_EQ(stats->filtered, 1u);
  EXPECT_EQ(stats->malformed, 1u);
}

TEST_F(ReplayTest, FilterAsTheCliBuildsIt) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  // `--uid 1000` and, without --failed, successful execs only: pids 100 and 300.
  const Tool& exec = tool("exec");
  Filter filter;
  ASSERT_TRUE(add_task_clauses(TaskFlags{.uid = 1000}, filter).has_value());
  ASSERT_TRUE(exec.add_clauses(ToolArgs(exec.flags()), filter).has_value());
  auto s = sink("exec", options, c, filter);
  auto stats = replay(path, *s);
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["exec_target","a b"])") +
                          exec_line(300, 1000, 0, R"(["exec_target",""])"));
  EXPECT_EQ(stats->shown, 2u);
  EXPECT_EQ(stats->filtered, 1u);
  EXPECT_EQ(stats->malformed, 2u);
}

TEST_F(ReplayTest, ClauseSelectsFailures) {
  std::string path = standard_file();
  TraceOptions options{.format = Format::json};
  Captured c;
  Filter filter;
  filter.add({"ret", Op::ne, int64_t{0}, "ret != 0"});
  auto s = sink("exec", options, c, filter);
  auto stats = replay(path, *s);
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
    auto file = ReplayFile::open(first);
    ASSERT_TRUE(file.has_value()) << file.error().message;
    auto w = RecordWriter::create(again, file->header().tool, file->header().boot_wall_offset_ns);
    ASSERT_TRUE(w.has_value());
    Captured c;
    auto s = sink("exec", options, c);
    s->set_recorder(&*w);
    ASSERT_TRUE(run_replay(*file, *s).has_value());
    ASSERT_TRUE(w->close().has_value());
    text1 = c.text();
  }
  EXPECT_EQ(slurp(first), slurp(again)) << "the header and the malformed records are kept";

  Captured c;
  auto s = sink("exec", options, c);
  auto stats = replay(again, *s);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(c.text(), text1);
  EXPECT_EQ(stats->shown, 3u);
}

TEST_F(ReplayTest, FileFraming) {
  std::string path =
      write_file({exec_rec(100, 1000, 0, "a\0"sv), Bytes{}}, "framing.rec", "exec", 0x0102030405060708);
  std::string bytes = slurp(path);
  ASSERT_EQ(bytes.size(), 40u + 4 + 82 + 4);
  EXPECT_EQ(bytes.substr(0, 8), "KSCOPERC"sv);
  EXPECT_EQ(bytes.substr(8, 4), "\1\0\0\0"sv);  // file format 1
  EXPECT_EQ(static_cast<uint8_t>(bytes[12]), KS_ABI_VERSION);
  EXPECT_EQ(bytes.substr(13, 3), "\0\0\0"sv);
  EXPECT_EQ(bytes.substr(16, 8), "\x08\x07\x06\x05\x04\x03\x02\x01"sv);  // the offset
  EXPECT_EQ(bytes.substr(24, 16), "exec\0\0\0\0\0\0\0\0\0\0\0\0"sv);
  EXPECT_EQ(bytes.substr(40, 4), "\x52\0\0\0"sv);  // 82, little-endian
  EXPECT_EQ(bytes.substr(126, 4), "\0\0\0\0"sv);   // an empty record is a zero length
}

TEST_F(ReplayTest, ReportLostJson) {
  TraceOptions options{.format = Format::json};
  Captured c;
  auto s = sink("exec", options, c);
  s->report_lost(0);  // nothing lost yet: no line
  s->report_lost(5);
  s->report_lost(5);  // unchanged: no line
  s->report_lost(8);
  s->report_lost(7);  // a smaller total never goes backwards
  EXPECT_EQ(c.text(),
            "{\"type\":\"lost\",\"lost\":5,\"total_lost\":5}\n"
            "{\"type\":\"lost\",\"lost\":3,\"total_lost\":8}\n");
  EXPECT_EQ(s->stats().lost, 8u);
}

// Missed runs (the kernel's recursion guard) are their own record, beside lost writes.
TEST_F(ReplayTest, ReportMissedJsonBesideLost) {
  TraceOptions options{.format = Format::json};
  Captured c;
  auto s = sink("exit", options, c);
  s->report_missed(2);
  s->report_lost(1);
  s->report_missed(2);  // unchanged: no line
  s->report_missed(3);
  EXPECT_EQ(c.text(),
            "{\"type\":\"missed\",\"missed\":2,\"total_missed\":2}\n"
            "{\"type\":\"lost\",\"lost\":1,\"total_lost\":1}\n"
            "{\"type\":\"missed\",\"missed\":1,\"total_missed\":3}\n");
  EXPECT_EQ(s->stats().missed, 3u);
  EXPECT_EQ(s->stats().lost, 1u);
}

// A tool's own kernel counter (exec's argv_missing) is reported as lost is, by its kind.
TEST_F(ReplayTest, ReportToolCounterJson) {
  TraceOptions options{.format = Format::json};
  Captured c;
  auto s = sink("exec", options, c);
  ASSERT_EQ(s->counters().size(), 1u);
  EXPECT_EQ(s->counters()[0].kind, "argv_missing");
  EXPECT_STREQ(s->counters()[0].map, "exec_argv_missing");
  s->report_counted(0, 0);  // nothing yet: no line
  s->report_counted(0, 2);
  s->report_lost(1);
  s->report_counted(0, 2);  // unchanged: no line
  s->report_counted(0, 5);
  EXPECT_EQ(c.text(),
            "{\"type\":\"argv_missing\",\"argv_missing\":2,\"total_argv_missing\":2}\n"
            "{\"type\":\"lost\",\"lost\":1,\"total_lost\":1}\n"
            "{\"type\":\"argv_missing\",\"argv_missing\":3,\"total_argv_missing\":5}\n");
  ASSERT_EQ(s->stats().counted.size(), 1u);
  EXPECT_EQ(s->stats().counted[0].first, "argv_missing");
  EXPECT_EQ(s->stats().counted[0].second, 5u);
  EXPECT_TRUE(sink("open", options, c)->counters().empty());
}

TEST_F(ReplayTest, ReportLostTableGoesToTheLogNotTheTable) {
  TraceOptions options{.format = Format::table};
  Captured c;
  auto s = sink("exec", options, c);
  s->report_lost(4);
  EXPECT_EQ(c.text(), "");
  EXPECT_EQ(s->stats().lost, 4u);
}

TEST_F(ReplayTest, MissingFileIsAnError) {
  auto file = ReplayFile::open(dir_ + "/missing.rec");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().message,
            "open replay file " + dir_ + "/missing.rec: No such file or directory");
}

TEST_F(ReplayTest, CutFilesAreErrorsAfterTheGoodRecords) {
  std::string path = write_file({exec_rec(100, 1000, 0, "exec_target\0a b\0"sv)});
  append(path, "\x10\0\0\0abc"sv);  // a 16-byte record with 3 bytes present
  TraceOptions options{.format = Format::json};
  Captured c;
  auto s = sink("exec", options, c);
  auto stats = replay(path, *s);
  ASSERT_FALSE(stats.has_value());
  EXPECT_EQ(stats.error().message, path + ": record 2 is cut short");
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["exec_target","a b"])"));

  std::string prefix = write_file({}, "prefix.rec");
  append(prefix, "\x10\0"sv);
  auto cut = replay(prefix, *s);
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().message, prefix + ": record 1 has a cut length prefix");

  std::string huge = write_file({}, "huge.rec");
  append(huge, "\0\0\0\x10"sv);  // 256 MiB
  auto claim = replay(huge, *s);
  ASSERT_FALSE(claim.has_value());
  EXPECT_EQ(claim.error().message, huge + ": record 1 claims 268435456 bytes");
}

TEST_F(ReplayTest, EmptyFileIsZeroRecords) {
  std::string path = write_file({});
  auto file = ReplayFile::open(path);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  Collect all;
  auto n = file->records(all);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(all.records.empty());
}

// ---- the record file header ----

TEST_F(ReplayTest, HeaderRoundTrip) {
  std::vector<Bytes> records = {open_rec(150, "/etc/passwd\0"sv), Bytes{}, Bytes(3, std::byte{7})};
  std::string path = write_file(records, "open.rec", "open", -1'234'567'890'123);
  auto file = ReplayFile::open(path);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->header().tool, "open");
  EXPECT_EQ(file->header().boot_wall_offset_ns, -1'234'567'890'123);
  EXPECT_EQ(file->header().abi_version, uint32_t{KS_ABI_VERSION});
  Collect all;
  auto n = file->records(all);
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(all.records, records);

  // The same bytes from memory, as the fuzz target reads them.
  std::string bytes = slurp(path);
  auto mem = ReplayFile::from_memory(std::as_bytes(std::span(bytes)));
  ASSERT_TRUE(mem.has_value()) << mem.error().message;
  EXPECT_EQ(mem->header().tool, "open");
  EXPECT_EQ(mem->header().boot_wall_offset_ns, -1'234'567'890'123);
  Collect again;
  ASSERT_TRUE(mem->records(again).has_value());
  EXPECT_EQ(again.records, records);
}

TEST_F(ReplayTest, ToolNameFillsSixteenBytesAndIsCutAfter) {
  auto full = ReplayFile::open(write_file({}, "full.rec", "abcdefghijklmnop", 0));
  ASSERT_TRUE(full.has_value()) << full.error().message;
  EXPECT_EQ(full->header().tool, "abcdefghijklmnop");
  auto longer = ReplayFile::open(write_file({}, "long.rec", "abcdefghijklmnopqrst", 0));
  ASSERT_TRUE(longer.has_value()) << longer.error().message;
  EXPECT_EQ(longer->header().tool, "abcdefghijklmnop");
}

TEST_F(ReplayTest, ForeignFileIsRefused) {
  std::string path = dir_ + "/foreign.rec";
  append(path, "\x52\0\0\0 an old headerless record file, or anything else at all"sv);
  auto file = ReplayFile::open(path);
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().message, path + " is not a kscope record file (no KSCOPERC header)");
  EXPECT_EQ(file.error().hint, "replay a file written by kscope trace --record");

  std::string tiny = dir_ + "/tiny.rec";
  append(tiny, "NOTKSCOPE"sv);  // shorter than a header, and not ours
  auto t = ReplayFile::open(tiny);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().message, tiny + " is not a kscope record file (no KSCOPERC header)");
}

TEST_F(ReplayTest, TruncatedHeaderIsAnError) {
  std::string whole = slurp(write_file({}));
  ASSERT_EQ(whole.size(), kRecordFileHeaderSize);
  for (size_t keep : {size_t{8}, size_t{20}, kRecordFileHeaderSize - 1}) {
    std::string path = dir_ + "/cut" + std::to_string(keep) + ".rec";
    append(path, std::string_view(whole).substr(0, keep));
    auto file = ReplayFile::open(path);
    ASSERT_FALSE(file.has_value()) << keep;
    EXPECT_EQ(file.error().message, path + ": the file ends inside its 40-byte header");
  }
  std::string empty = dir_ + "/empty.rec";
  append(empty, ""sv);
  auto file = ReplayFile::open(empty);
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().message, empty + ": the file ends inside its 40-byte header");

  auto mem = ReplayFile::from_memory({});
  ASSERT_FALSE(mem.has_value());
  EXPECT_EQ(mem.error().message, "<memory>: the file ends inside its header");
  auto mem_cut = ReplayFile::from_memory(std::as_bytes(std::span(whole)).first(30));
  ASSERT_FALSE(mem_cut.has_value());
  EXPECT_EQ(mem_cut.error().message, "<memory>: the file ends inside its 40-byte header");
}

TEST_F(ReplayTest, OtherAbiOrFormatVersionIsRefused) {
  std::string whole = slurp(write_file({exec_rec(100, 1000, 0, "a\0"sv)}));
  std::string abi = whole;
  abi[12] = static_cast<char>(KS_ABI_VERSION + 1);
  auto a = ReplayFile::from_memory(std::as_bytes(std::span(abi)));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().message,
            fmt::format("<memory>: record file format 1 with probe ABI {}; this kscope reads "
                        "format 1 with ABI {}",
                        KS_ABI_VERSION + 1, KS_ABI_VERSION));
  EXPECT_EQ(a.error().hint, "replay it with the kscope version that recorded it");

  std::string format = whole;
  format[8] = 2;
  auto f = ReplayFile::from_memory(std::as_bytes(std::span(format)));
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().message,
            fmt::format("<memory>: record file format 2 with probe ABI {}; this kscope reads "
                        "format 1 with ABI {}",
                        KS_ABI_VERSION, KS_ABI_VERSION));
}

TEST_F(ReplayTest, TruncatedRecordFromMemory) {
  std::string whole = slurp(write_file({exec_rec(100, 1000, 0, "a\0"sv)}));
  auto file = ReplayFile::from_memory(std::as_bytes(std::span(whole)).first(whole.size() - 1));
  ASSERT_TRUE(file.has_value()) << file.error().message;
  Collect all;
  auto n = file->records(all);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().message, "<memory>: record 1 is cut short");
  EXPECT_TRUE(all.records.empty());
}

// A replay shows the wall time of the boot that recorded it, whatever this boot's offset.
TEST_F(ReplayTest, RecordedOffsetGivesTheRecordedWallTime) {
  constexpr uint64_t kBootNs = 1'000'000'000'000;  // 1000 s after that boot
  Header h = header(KS_EVENT_EXEC, 100, 1000, "exec_target");
  h.ts_ns = kBootNs;
  std::string path = write_file({exec_record(h, {.ppid = 1, .ns_tgid = 100, .args = "x\0"sv})},
                                "other-boot.rec", "exec", kWallNs - static_cast<int64_t>(kBootNs));
  auto file = ReplayFile::open(path);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  use_boot_wall_offset(file->header().boot_wall_offset_ns);  // as `trace --replay` does
  TraceOptions options{.format = Format::json};
  Captured c;
  auto s = sink("exec", options, c);
  ASSERT_TRUE(run_replay(*file, *s).has_value());
  EXPECT_EQ(c.text(), exec_line(100, 1000, 0, R"(["x"])", "2099-01-02T03:04:05.123456789Z"));
}

}  // namespace
}  // namespace kscope
