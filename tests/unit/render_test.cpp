// The exec and open tools' fields through the real encoders into a real file descriptor, fed
// as records through each tool's sink: exact table header and rows, exact NDJSON lines, and
// the argv shell quoting.
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <string>

#include <gtest/gtest.h>

#include "render/encoder.h"
#include "tool_run.h"

namespace kscope {
namespace {

using namespace test;
using namespace std::string_view_literals;

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The table's TIME column is local time.
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

Header exec_header() {
  return {.ts_ns = boot_ns(), .cgroup_id = 12345, .type = KS_EVENT_EXEC, .comm = "exec_target"};
}

// The host's pid namespace: ns_tgid is the tgid.
ExecBody exec_body() {
  return {.ppid = 4000,
          .ns_tgid = 4242,
          .ret = 0,
          .args = "exec_target\0kscope-bar-1\0with space\0\0q\"uote\0it's\0"sv};
}

Header open_hdr() {
  Header h = exec_header();
  h.type = KS_EVENT_OPEN;
  h.comm = "open_known";
  return h;
}

OpenBody open_body() {
  return {.flags = O_WRONLY | O_CREAT | O_TRUNC,
          .ret = 3,
          .dfd = -100,
          .mode = 0644,
          .syscall = KS_OPEN_OPENAT,
          .path = "/tmp/kscope known\0"sv};
}

std::string render(Format format, std::string_view tool_name, const Bytes& rec,
                   bool header = false) {
  Shown r = run_records(tool_name, {rec}, {.format = format, .header = header});
  EXPECT_EQ(r.stats.shown, 1u) << "malformed: " << r.stats.malformed;
  return r.text;
}

std::string exec_row(const Header& h, const ExecBody& e) {
  return render(Format::table, "exec", exec_record(h, e));
}
std::string exec_json(const Header& h, const ExecBody& e) {
  return render(Format::json, "exec", exec_record(h, e));
}
std::string open_row(const OpenBody& o) { return render(Format::table, "open", open_record(open_hdr(), o)); }
std::string open_json(const OpenBody& o) { return render(Format::json, "open", open_record(open_hdr(), o)); }

// ---- exec ----

TEST_F(RenderTest, ExecTableHeaderAndRow) {
  EXPECT_EQ(render(Format::table, "exec", exec_record(exec_header(), exec_body()), /*header=*/true),
            "TIME     PCOMM            PID     PPID    UID    RET  ARGS\n"
            "03:04:05 exec_target      4242    4000    1000   0    "
            "exec_target kscope-bar-1 'with space' '' 'q\"uote' 'it'\\''s'\n");
}

TEST_F(RenderTest, ExecTableFailedAndTruncated) {
  Header h = exec_header();
  h.comm = "exec_many";
  ExecBody e = exec_body();
  e.ret = -13;
  e.args = "/bin/x\0a\0"sv;
  e.flags = KS_EXEC_MORE_ARGS;
  EXPECT_EQ(exec_row(h, e), "03:04:05 exec_many        4242    4000    1000   -13  /bin/x a ...\n");

  e.args = ""sv;
  EXPECT_EQ(exec_row(h, e), "03:04:05 exec_many        4242    4000    1000   -13  ...\n");

  e.flags = 0;  // nothing in the last column: no trailing padding
  EXPECT_EQ(exec_row(h, e), "03:04:05 exec_many        4242    4000    1000   -13\n");
}

TEST_F(RenderTest, ExecTableWideValuesStillSeparated) {
  Header h = exec_header();
  ExecBody e = exec_body();
  h.tgid = e.ns_tgid = 12345678;  // wider than the 7-column PID
  e.ppid = 4194304;               // exactly 7
  h.uid = 4294967294u;
  e.args = "x\0"sv;
  EXPECT_EQ(exec_row(h, e), "03:04:05 exec_target      12345678 4194304 4294967294 0    x\n");
}

TEST_F(RenderTest, ExecInAnotherPidNamespace) {
  Header h = exec_header();
  ExecBody e = exec_body();
  e.ns_tgid = 7;
  e.args = "x\0"sv;
  EXPECT_EQ(exec_row(h, e), "03:04:05 exec_target      4242/7  4000    1000   0    x\n");
  h.tgid = 4194304;  // wider than the column once the inner pid is added
  EXPECT_EQ(exec_row(h, e), "03:04:05 exec_target      4194304/7 4000    1000   0    x\n");
  EXPECT_EQ(exec_json(h, e),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"exec_target",)"
            R"("pid":4194304,"ns_pid":7,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":0,)"
            R"("args":["x"],"args_truncated":false,"args_unreadable":false,"argv_missing":false})"
            "\n");
}

TEST_F(RenderTest, ExecTableControlCharactersAreVisible) {
  Header h = exec_header();
  h.comm = "a\tb";
  ExecBody e = exec_body();
  e.args = "line\nbreak\0tab\there\0"sv;
  EXPECT_EQ(exec_row(h, e), "03:04:05 a\\x09b           4242    4000    1000   0    "
                            "'line'$'\\x0a''break' 'tab'$'\\x09''here'\n");
}

TEST_F(RenderTest, ExecJson) {
  EXPECT_EQ(exec_json(exec_header(), exec_body()),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"exec_target",)"
            R"("pid":4242,"ns_pid":4242,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":0,)"
            R"("args":["exec_target","kscope-bar-1","with space","","q\"uote","it's"],)"
            R"("args_truncated":false,"args_unreadable":false,"argv_missing":false})"
            "\n");
}

TEST_F(RenderTest, ExecJsonTruncatedAndEscaped) {
  Header h = exec_header();
  h.comm = "a\"b";
  ExecBody e = exec_body();
  e.ret = -2;
  e.args = "back\\slash\0\x01\0caf\xc3\xa9\0bad\xff\0"sv;
  e.flags = KS_EXEC_MORE_ARGS;
  EXPECT_EQ(exec_json(h, e),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"a\"b",)"
            R"("pid":4242,"ns_pid":4242,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":-2,)"
            "\"args\":[\"back\\\\slash\",\"\\u0001\",\"caf\xc3\xa9\",\"bad\\ufffd\"],"
            R"("args_truncated":true,"args_unreadable":false,"argv_missing":false})"
            "\n");
}

TEST_F(RenderTest, JsonHasNoHeader) {
  auto rec = exec_record(exec_header(), exec_body());
  EXPECT_EQ(render(Format::json, "exec", rec, /*header=*/true), render(Format::json, "exec", rec));
}

TEST_F(RenderTest, SeveralRowsOneLineEach) {
  Header other = exec_header();
  other.tgid = 5;
  ExecBody e = exec_body();
  Shown r = run_records("exec", {exec_record(exec_header(), e), exec_record(other, e)});
  EXPECT_EQ(r.stats.shown, 2u);
  EXPECT_EQ(r.text, exec_json(exec_header(), e) + exec_json(other, e));
}

// An argv the probe could read only in part ends its ARGS cell with a mark, and says so in
// JSON; the run counts it as partly read.
TEST_F(RenderTest, ExecPartialReadsMarkedInTableAndJson) {
  Header h = exec_header();
  h.comm = "abi_known";
  ExecBody e = exec_body();
  e.ret = -14;
  e.flags = KS_EXEC_ARGS_UNREADABLE;
  e.args = "kscope-abi-unmapped\0"sv;
  EXPECT_EQ(exec_row(h, e),
            "03:04:05 abi_known        4242    4000    1000   -14  kscope-abi-unmapped <unreadable>\n");
  EXPECT_EQ(exec_json(h, e),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"abi_known",)"
            R"("pid":4242,"ns_pid":4242,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":-14,)"
            R"("args":["kscope-abi-unmapped"],"args_truncated":false,"args_unreadable":true,)"
            R"("argv_missing":false})"
            "\n");

  e.ret = -2;
  e.flags = KS_EXEC_ARGV_MISSING;
  e.args = ""sv;
  EXPECT_EQ(exec_row(h, e), "03:04:05 abi_known        4242    4000    1000   -2   <argv missing>\n");
  EXPECT_EQ(exec_json(h, e),
            R"({"type":"exec","time":"2099-01-02T03:04:05.123456789Z","comm":"abi_known",)"
            R"("pid":4242,"ns_pid":4242,"ppid":4000,"uid":1000,"cgroup_id":12345,"ret":-2,)"
            R"("args":[],"args_truncated":false,"args_unreadable":false,"argv_missing":true})"
            "\n");

  Shown r = run_records("exec", {exec_record(h, e), exec_record(h, exec_body())});
  EXPECT_EQ(r.stats.shown, 2u);
  EXPECT_EQ(r.stats.partial, 1u);
}

// ---- open ----

TEST_F(RenderTest, OpenTableHeaderAndRow) {
  EXPECT_EQ(render(Format::table, "open", open_record(open_hdr(), open_body()), /*header=*/true),
            "TIME     PID     COMM             UID    FD   ERR     FLAGS                    MODE  PATH\n"
            "03:04:05 4242    open_known       1000   3    0       O_WRONLY|O_CREAT|O_TRUNC 0644  "
            "/tmp/kscope known\n");
}

TEST_F(RenderTest, OpenTableFailed) {
  OpenBody o = open_body();
  o.flags = O_RDONLY | O_CLOEXEC;
  o.ret = -ENOENT;
  o.mode = 0;
  o.path = "/etc/kscope-missing\0"sv;
  EXPECT_EQ(open_row(o), "03:04:05 4242    open_known       1000   -1   ENOENT  O_RDONLY|O_CLOEXEC       "
                         "0000  /etc/kscope-missing\n");
}

TEST_F(RenderTest, OpenJson) {
  EXPECT_EQ(open_json(open_body()),
            R"({"type":"open","time":"2099-01-02T03:04:05.123456789Z","pid":4242,"tid":4243,)"
            R"("comm":"open_known","uid":1000,"cgroup_id":12345,"fd":3,"errno":0,)"
            R"("flags":"O_WRONLY|O_CREAT|O_TRUNC","mode":420,"syscall":"openat","dfd":-100,)"
            R"("path":"/tmp/kscope known","path_unreadable":false,"how_unreadable":false})"
            "\n");
}

TEST_F(RenderTest, OpenJsonFailedOpenat2) {
  OpenBody o = open_body();
  o.flags = O_RDONLY | O_CLOEXEC;
  o.ret = -EACCES;
  o.mode = 0;
  o.dfd = 3;
  o.syscall = KS_OPEN_OPENAT2;
  o.path = "rel\npath\0"sv;
  EXPECT_EQ(open_json(o),
            R"({"type":"open","time":"2099-01-02T03:04:05.123456789Z","pid":4242,"tid":4243,)"
            R"("comm":"open_known","uid":1000,"cgroup_id":12345,"fd":-1,"errno":13,)"
            R"("flags":"O_RDONLY|O_CLOEXEC","mode":0,"syscall":"openat2","dfd":3,)"
            R"("path":"rel\npath","path_unreadable":false,"how_unreadable":false})"
            "\n");
}

// A path or open_how the probe could not read ends the PATH cell with a mark naming it, and
// JSON says which; the run counts each as partly read.
TEST_F(RenderTest, OpenPartialReadsMarkedInTableAndJson) {
  OpenBody o = open_body();
  o.ret = -EFAULT;
  o.path = ""sv;
  o.partial = KS_OPEN_PATH_UNREADABLE;
  EXPECT_EQ(open_row(o), "03:04:05 4242    open_known       1000   -1   EFAULT  O_WRONLY|O_CREAT|O_TRUNC "
                         "0644  <path unreadable>\n");
  EXPECT_EQ(open_json(o),
            R"({"type":"open","time":"2099-01-02T03:04:05.123456789Z","pid":4242,"tid":4243,)"
            R"("comm":"open_known","uid":1000,"cgroup_id":12345,"fd":-1,"errno":14,)"
            R"("flags":"O_WRONLY|O_CREAT|O_TRUNC","mode":420,"syscall":"openat","dfd":-100,)"
            R"("path":"","path_unreadable":true,"how_unreadable":false})"
            "\n");

  OpenBody how = open_body();
  how.flags = 0;
  how.mode = 0;
  how.ret = -EFAULT;
  how.syscall = KS_OPEN_OPENAT2;
  how.partial = KS_OPEN_HOW_UNREADABLE;
  EXPECT_EQ(open_row(how), "03:04:05 4242    open_known       1000   -1   EFAULT  O_RDONLY                 "
                           "0000  /tmp/kscope known <open_how unreadable>\n");
  EXPECT_EQ(open_json(how),
            R"({"type":"open","time":"2099-01-02T03:04:05.123456789Z","pid":4242,"tid":4243,)"
            R"("comm":"open_known","uid":1000,"cgroup_id":12345,"fd":-1,"errno":14,)"
            R"("flags":"O_RDONLY","mode":0,"syscall":"openat2","dfd":-100,)"
            R"("path":"/tmp/kscope known","path_unreadable":false,"how_unreadable":true})"
            "\n");

  how.partial |= KS_OPEN_PATH_UNREADABLE;
  how.path = ""sv;
  EXPECT_EQ(open_row(how), "03:04:05 4242    open_known       1000   -1   EFAULT  O_RDONLY                 "
                           "0000  <path and open_how unreadable>\n");

  Shown r = run_records("open", {open_record(open_hdr(), o), open_record(open_hdr(), open_body()),
                                 open_record(open_hdr(), how)});
  EXPECT_EQ(r.stats.shown, 3u);
  EXPECT_EQ(r.stats.partial, 2u);
}

TEST_F(RenderTest, OpenFlagsCacheFollowsEveryValue) {
  // The FLAGS column caches the last value's text: alternate values must not go stale.
  OpenBody a = open_body(), b = open_body();
  b.flags = O_RDONLY;
  Shown r = run_records("open", {open_record(open_hdr(), a), open_record(open_hdr(), b),
                               open_record(open_hdr(), a)},
                      {.format = Format::table});
  EXPECT_EQ(r.text, open_row(a) + open_row(b) + open_row(a));
  EXPECT_NE(open_row(a).find(" O_WRONLY|O_CREAT|O_TRUNC "), std::string::npos);
  EXPECT_NE(open_row(b).find(" O_RDONLY "), std::string::npos);
}

// The flags cache must not mistake an all-ones first value for a cached one.
TEST_F(RenderTest, OpenFlagsAllOnesFirst) {
  OpenBody o = open_body();
  o.flags = ~0ull;
  std::string json = open_json(o);
  EXPECT_NE(json.find("\"flags\":\"O_ACCMODE|"), std::string::npos) << json;
}

TEST_F(RenderTest, OpenTablePathTrailingSpaceKept) {
  OpenBody o = open_body();
  o.path = "/tmp/x \0"sv;
  EXPECT_EQ(open_row(o), "03:04:05 4242    open_known       1000   3    0       O_WRONLY|O_CREAT|O_TRUNC "
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

// Shell operators and glob characters are quoted, so `grep 'a|b'` reads back as the same argv.
TEST(ShellWord, ShellMetacharactersQuoted) {
  for (std::string_view arg : {"a|b", "a;b", "a&b", "*.c", "a>b", "(x)", "#x", "~x", "a?"}) {
    // Built with append: GCC 12 at -O3 reports a false -Wrestrict in "'" + std::string(arg).
    std::string quoted(1, '\'');
    quoted.append(arg).push_back('\'');
    EXPECT_EQ(shell_word(arg), quoted) << arg;
  }
}

}  // namespace
}  // namespace kscope
