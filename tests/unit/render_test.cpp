// The exec and open field lists through the real renderers into a real file descriptor:
// exact table header and rows, exact NDJSON lines, and the argv shell quoting.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "captured_output.h"
#include "render/fields.h"
#include "render/header_fields.h"
#include "sources/exec_event.h"
#include "sources/open_event.h"

namespace kscope {
namespace {

using test::boot_ns;
using test::Captured;

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The table's TIME column is local time.
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

void fill_header(ks_event_header& h, uint32_t type, const char* comm) {
  h = {};
  h.ts_ns = boot_ns();
  h.cgroup_id = 12345;
  h.type = type;
  h.pid = 4243;
  h.tgid = 4242;
  h.uid = 1000;
  std::snprintf(h.comm, sizeof(h.comm), "%s", comm);
}

ExecEvent exec_event() {
  ExecEvent e;
  fill_header(e.hdr, KS_EVENT_EXEC, "exec_target");
  e.ppid = 4000;
  e.ns_pid = 4242;  // the host's pid namespace
  e.ret = 0;
  e.args = {"exec_target", "kscope-bar-1", "with space", "", "q\"uote", "it's"};
  return e;
}

OpenEvent open_event() {
  OpenEvent e;
  fill_header(e.hdr, KS_EVENT_OPEN, "open_known");
  e.flags = O_WRONLY | O_CREAT | O_TRUNC;
  e.ret = 3;
  e.dfd = -100;
  e.mode = 0644;
  e.syscall = KS_OPEN_OPENAT;
  e.path = "/tmp/kscope known";
  return e;
}

template <class Event>
std::string render(Format format, std::string_view type, std::span<const Field<Event>> fields,
                   const Event& e, bool header = false) {
  Captured c;
  Renderer<Event> r(format, type, fields, c.out());
  if (header) r.header();
  r.render(e);
  return c.text();
}

std::string exec_row(const ExecEvent& e) {
  return render(Format::table, "exec", exec_fields(), e);
}
std::string exec_json(const ExecEvent& e) { return render(Format::json, "exec", exec_fields(), e); }
std::string open_row(const OpenEvent& e) {
  return render(Format::table, "open", open_fields(), e);
}
std::string open_json(const OpenEvent& e) { return render(Format::json, "open", open_fields(), e); }

// ---- exec ----

TEST_F(RenderTest, ExecTableHeaderAndRow) {
  EXPECT_EQ(render(Format::table, "exec", exec_fields(), exec_event(), /*header=*/true),
            "TIME     PCOMM            PID     PPID    UID    RET  ARGS\n"
            "03:04:05 exec_target      4242    4000    1000   0    "
            "exec_target kscope-bar-1 'with space' '' 'q\"uote' 'it'\\''s'\n");
}

TEST_F(RenderTest, ExecTableFailedAndTruncated) {
  ExecEvent e = exec_event();
  std::snprintf(e.hdr.comm, sizeof(e.hdr.comm), "exec_many");
  e.ret = -13;
  e.args = {"/bin/x", "a"};
  e.args_truncated = true;
  EXPECT_EQ(exec_row(e), "03:04:05 exec_many        4242    4000    1000   -13  /bin/x a ...\n");

  e.args.clear();
  EXPECT_EQ(exec_row(e), "03:04:05 exec_many        4242    4000    1000   -13  ...\n");

  e.args_truncated = false;  // nothing in the last column: no trailing padding
  EXPECT_EQ(exec_row(e), "03:04:05 exec_many        4242    4000    1000   -13\n");
}

TEST_F(RenderTest, ExecTableWideValuesStillSeparated) {
  ExecEvent e = exec_event();
  e.hdr.tgid = e.ns_pid = 12345678;  // wider than the 7-column PID
  e.ppid = 4194304;       // exactly 7
  e.hdr.uid = 4294967294u;
  e.args = {"x"};
  EXPECT_EQ(exec_row(e), "03:04:05 exec_target      12345678 4194304 4294967294 0    x\n");
}

TEST_F(RenderTest, ExecInAnotherPidNamespace) {
  ExecEvent e = exec_event();
  e.ns_pid = 7;
  e.args = {"x"};
  EXPECT_EQ(exec_row(e), "03:04:05 exec_target      4242/7  4000    1000   0    x\n");
  e.hdr.tgid = 4194304;  // wider than the column once the inner pid is added
  EXPECT_EQ(exec_row(e), "03:04:05 exec_target      4194304/7 4000    1000   0    x\n");
  EXPECT_EQ(exec_json(e),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"exec_target",)"
            R"("pid":4194304,"ns_pid":7,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":0,)"
            R"("args":["x"],"args_truncated":false})"
            "\n");
}

TEST_F(RenderTest, ExecTableControlCharactersAreVisible) {
  ExecEvent e = exec_event();
  std::snprintf(e.hdr.comm, sizeof(e.hdr.comm), "a\tb");
  e.args = {"line\nbreak", "tab\there"};
  EXPECT_EQ(exec_row(e), "03:04:05 a\\x09b           4242    4000    1000   0    "
                         "'line'$'\\x0a''break' 'tab'$'\\x09''here'\n");
}

TEST_F(RenderTest, ExecJson) {
  EXPECT_EQ(exec_json(exec_event()),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"exec_target",)"
            R"("pid":4242,"ns_pid":4242,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":0,)"
            R"("args":["exec_target","kscope-bar-1","with space","","q\"uote","it's"],)"
            R"("args_truncated":false})"
            "\n");
}

TEST_F(RenderTest, ExecJsonTruncatedAndEscaped) {
  ExecEvent e = exec_event();
  std::snprintf(e.hdr.comm, sizeof(e.hdr.comm), "a\"b");
  e.ret = -2;
  e.args = {"back\\slash", "\x01", "caf\xc3\xa9", "bad\xff"};
  e.args_truncated = true;
  EXPECT_EQ(exec_json(e),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"a\"b",)"
            R"("pid":4242,"ns_pid":4242,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":-2,)"
            "\"args\":[\"back\\\\slash\",\"\\u0001\",\"caf\xc3\xa9\",\"bad\\ufffd\"],"
            R"("args_truncated":true})"
            "\n");
}

TEST_F(RenderTest, JsonHasNoHeader) {
  EXPECT_EQ(render(Format::json, "exec", exec_fields(), exec_event(), /*header=*/true),
            exec_json(exec_event()));
}

TEST_F(RenderTest, SeveralRowsOneLineEach) {
  Captured c;
  Renderer<ExecEvent> r(Format::json, "exec", exec_fields(), c.out());
  ExecEvent a = exec_event(), b = exec_event();
  b.hdr.tgid = 5;
  r.render(a);
  r.render(b);
  std::string text = c.text();
  EXPECT_EQ(text, exec_json(a) + exec_json(b));
}

// ---- open ----

TEST_F(RenderTest, OpenTableHeaderAndRow) {
  EXPECT_EQ(render(Format::table, "open", open_fields(), open_event(), /*header=*/true),
            "TIME     PID     COMM             UID    FD   ERR     FLAGS                    MODE  PATH\n"
            "03:04:05 4242    open_known       1000   3    0       O_WRONLY|O_CREAT|O_TRUNC 0644  "
            "/tmp/kscope known\n");
}

TEST_F(RenderTest, OpenTableFailed) {
  OpenEvent e = open_event();
  e.flags = O_RDONLY | O_CLOEXEC;
  e.ret = -ENOENT;
  e.mode = 0;
  e.path = "/etc/kscope-missing";
  EXPECT_EQ(open_row(e), "03:04:05 4242    open_known       1000   -1   ENOENT  O_RDONLY|O_CLOEXEC       "
                         "0000  /etc/kscope-missing\n");
}

TEST_F(RenderTest, OpenJson) {
  EXPECT_EQ(open_json(open_event()),
            R"({"type":"open","time":"2099-01-02T03:04:05.123456789Z","pid":4242,"tid":4243,)"
            R"("comm":"open_known","uid":1000,"cgroup_id":12345,"fd":3,"errno":0,)"
            R"("flags":"O_WRONLY|O_CREAT|O_TRUNC","mode":420,"syscall":"openat","dfd":-100,)"
            R"("path":"/tmp/kscope known"})"
            "\n");
}

TEST_F(RenderTest, OpenJsonFailedOpenat2) {
  OpenEvent e = open_event();
  e.flags = O_RDONLY | O_CLOEXEC;
  e.ret = -EACCES;
  e.mode = 0;
  e.dfd = 3;
  e.syscall = KS_OPEN_OPENAT2;
  e.path = "rel\npath";
  EXPECT_EQ(open_json(e),
            R"({"type":"open","time":"2099-01-02T03:04:05.123456789Z","pid":4242,"tid":4243,)"
            R"("comm":"open_known","uid":1000,"cgroup_id":12345,"fd":-1,"errno":13,)"
            R"("flags":"O_RDONLY|O_CLOEXEC","mode":0,"syscall":"openat2","dfd":3,)"
            R"("path":"rel\npath"})"
            "\n");
}

TEST_F(RenderTest, OpenFlagsCacheFollowsEveryValue) {
  // The FLAGS column caches the last value's text: alternate values must not go stale.
  OpenEvent a = open_event(), b = open_event();
  b.flags = O_RDONLY;
  EXPECT_NE(open_row(a).find(" O_WRONLY|O_CREAT|O_TRUNC "), std::string::npos);
  EXPECT_NE(open_row(b).find(" O_RDONLY "), std::string::npos);
  EXPECT_NE(open_row(a).find(" O_WRONLY|O_CREAT|O_TRUNC "), std::string::npos);
}

// Known bug (collector/sources/open_event.cpp, FLAGS writer): the cache starts at ~0ull, so
// the first event on a thread whose flags are all ones renders an empty FLAGS value.
TEST_F(RenderTest, OpenFlagsAllOnesOnAFreshThread) {
  std::string json;
  std::thread([&] {
    OpenEvent e = open_event();
    e.flags = ~0ull;
    json = open_json(e);
  }).join();
  EXPECT_NE(json.find("\"flags\":\"O_ACCMODE|"), std::string::npos) << json;
}

// Known bug (collector/render/fields.cpp, RowRenderer::end_row): trailing spaces are trimmed
// from the row, and so from the last column's own value.
TEST_F(RenderTest, OpenTablePathTrailingSpaceKept) {
  OpenEvent e = open_event();
  e.path = "/tmp/x ";
  EXPECT_EQ(open_row(e), "03:04:05 4242    open_known       1000   3    0       O_WRONLY|O_CREAT|O_TRUNC "
                         "0644  /tmp/x \n");
}

// ---- shell words ----

std::string shell_word(std::string_view arg) {
  fmt::memory_buffer b;
  append_shell_word(b, arg);
  return fmt::to_string(b);
}

TEST(ShellWord, PlainWordsUnquoted) {
  EXPECT_EQ(shell_word("ls"), "ls");
  EXPECT_EQ(shell_word("--flag=7"), "--flag=7");
  EXPECT_EQ(shell_word("/usr/bin/env"), "/usr/bin/env");
  EXPECT_EQ(shell_word("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(ShellWord, QuotedWhenNeeded) {
  EXPECT_EQ(shell_word(""), "''");
  EXPECT_EQ(shell_word("with space"), "'with space'");
  EXPECT_EQ(shell_word("q\"uote"), "'q\"uote'");
  EXPECT_EQ(shell_word("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_word("'"), "''\\'''");
  EXPECT_EQ(shell_word("back\\slash"), "'back\\slash'");
  EXPECT_EQ(shell_word("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_word("`id`"), "'`id`'");
  EXPECT_EQ(shell_word("a\x01z"), "'a'$'\\x01''z'");
  EXPECT_EQ(shell_word("del\x7f"), "'del'$'\\x7f'''");
}

// Known gap (collector/render/fields.cpp, append_shell_word): shell operators and glob
// characters are left unquoted, so `grep 'a|b'` shows as `grep a|b`, which does not read
// back as the same argv.
TEST(ShellWord, ShellMetacharactersQuoted) {
  for (std::string_view arg : {"a|b", "a;b", "a&b", "*.c", "a>b", "(x)", "#x", "~x", "a?"})
    EXPECT_EQ(shell_word(arg), "'" + std::string(arg) + "'") << arg;
}

}  // namespace
}  // namespace kscope
