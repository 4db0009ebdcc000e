// The exec and open tools' decoders, reached through the registry as the CLI and the fuzzers
// reach them, over records built byte for byte as the probes lay them out; and the open flag
// and errno names.
#include <fcntl.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "model/symbols.h"
#include "tool_run.h"

namespace kscope {
namespace {

using namespace test;
using Args = std::vector<std::string>;
using namespace std::string_view_literals;

// The exec tool's --max-args and --max-arg-len; unset: the flags' defaults.
struct ArgLimits {
  std::optional<uint64_t> max_args, max_arg_len;
};

Result<EventRecord> decode_exec(std::span<const std::byte> rec, ArgLimits l) {
  const Tool& exec = tool("exec");
  ToolArgs args(exec.flags());
  if (l.max_args) args.set("--max-args").number = *l.max_args;
  if (l.max_arg_len) args.set("--max-arg-len").number = *l.max_arg_len;
  return exec.decode(rec, args);
}

Result<EventRecord> decode_open(std::span<const std::byte> rec) {
  const Tool& open = tool("open");
  return open.decode(rec, ToolArgs(open.flags()));
}

Args args_of(const EventRecord& e) { return e.argv("args").args; }
bool truncated(const EventRecord& e) {
  EXPECT_EQ(e.argv("args").truncated, e.boolean("args_truncated"));
  return e.boolean("args_truncated");
}

// ---- decode_exec ----

// The common header's fields every tool shows, as the record builders fill them.
void expect_header(const EventRecord& e, std::string_view comm) {
  EXPECT_EQ(e.uinteger("time"), 123'456'789'012u);
  EXPECT_EQ(e.uinteger("cgroup_id"), 0x1122334455667788u);
  EXPECT_EQ(e.integer("pid"), 4242);
  EXPECT_EQ(e.integer("uid"), 1000);
  EXPECT_EQ(e.text("comm"), comm);
}

TEST(DecodeExec, EveryField) {
  const auto argv = "exec_target\0kscope-bar-1\0with space\0\0q\"uote\0it's\0--flag=7\0"sv;
  auto rec = exec_record(Header{}, {.ppid = 4000, .ns_tgid = 7, .ret = 0, .args = argv});
  ASSERT_EQ(rec.size(), 80 + argv.size());

  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  expect_header(*e, "exec_target");
  EXPECT_EQ(e->pid("pid").host, 4242u);
  EXPECT_EQ(e->pid("pid").inner, 7u);
  EXPECT_EQ(e->integer("ppid"), 4000);
  EXPECT_EQ(e->integer("ns_pid"), 7);
  EXPECT_EQ(e->integer("ret"), 0);
  EXPECT_EQ(args_of(*e),
            (Args{"exec_target", "kscope-bar-1", "with space", "", "q\"uote", "it's", "--flag=7"}));
  EXPECT_FALSE(truncated(*e));
}

TEST(DecodeExec, FailedExecKeepsNegativeErrno) {
  auto rec = exec_record(Header{.comm = "exec_many"},
                         {.ret = -ENOENT, .args = "/nonexistent/x\0a\0"sv});
  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->integer("ret"), -2);
  EXPECT_EQ(e->text("comm"), "exec_many");
  EXPECT_EQ(args_of(*e), (Args{"/nonexistent/x", "a"}));
}

TEST(DecodeExec, EmptyArgumentsAnywhere) {
  auto e = decode_exec(exec_record(Header{}, {.args = "\0a\0\0\0b\0\0"sv}), ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(args_of(*e), (Args{"", "a", "", "", "b", ""}));
  EXPECT_FALSE(truncated(*e));
}

TEST(DecodeExec, NoArguments) {
  auto rec = exec_record(Header{}, {.args = ""sv});
  ASSERT_EQ(rec.size(), 80u);
  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(args_of(*e), Args{});
  EXPECT_FALSE(truncated(*e));
}

TEST(DecodeExec, FullSixteenByteCommWithoutNul) {
  auto e = decode_exec(exec_record(Header{.comm = "abcdefghijklmnopXYZ"}, {.args = "a\0"sv}),
                       ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->text("comm"), "abcdefghijklmnop");
}

TEST(DecodeExec, MaxArgsCutsAndMarks) {
  auto rec = exec_record(Header{}, {.args = "a\0b\0c\0d\0"sv});
  auto two = decode_exec(rec, ArgLimits{.max_args = 2});
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(args_of(*two), (Args{"a", "b"}));
  EXPECT_TRUE(truncated(*two));

  auto four = decode_exec(rec, ArgLimits{.max_args = 4});  // exactly the limit: nothing cut
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(args_of(*four), (Args{"a", "b", "c", "d"}));
  EXPECT_FALSE(truncated(*four));

  auto one = decode_exec(exec_record(Header{}, {.args = "a\0\0"sv}), ArgLimits{.max_args = 1});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(args_of(*one), Args{"a"});
  EXPECT_TRUE(truncated(*one)) << "the empty second argument was dropped";
}

TEST(DecodeExec, MaxArgLenCutsAndMarks) {
  auto rec = exec_record(Header{}, {.args = "abcd\0abcdef\0xy\0"sv});
  auto e = decode_exec(rec, ArgLimits{.max_arg_len = 4});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(args_of(*e), (Args{"abcd", "abcd", "xy"}));
  EXPECT_TRUE(truncated(*e));

  auto exact = decode_exec(exec_record(Header{}, {.args = "abcd\0xy\0"sv}),
                           ArgLimits{.max_arg_len = 4});
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(args_of(*exact), (Args{"abcd", "xy"}));
  EXPECT_FALSE(truncated(*exact)) << "an argument of exactly max_arg_len is not cut";
}

TEST(DecodeExec, BothLimitsAtOnce) {
  auto e = decode_exec(exec_record(Header{}, {.args = "abc\0defgh\0ij\0"sv}),
                       ArgLimits{.max_args = 2, .max_arg_len = 3});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(args_of(*e), (Args{"abc", "def"}));
  EXPECT_TRUE(truncated(*e));
}

TEST(DecodeExec, MoreArgsFlagMarksTruncated) {
  auto e = decode_exec(exec_record(Header{}, {.flags = KS_EXEC_MORE_ARGS, .args = "a\0b\0"sv}),
                       ArgLimits{});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(args_of(*e), (Args{"a", "b"}));
  EXPECT_TRUE(truncated(*e));
}

TEST(DecodeExec, ArgsCutFlagWithLastArgumentWithoutNul) {
  // The probe's buffer filled up inside the last string: it has no NUL.
  auto e = decode_exec(exec_record(Header{}, {.flags = KS_EXEC_ARGS_CUT, .args = "a\0bc"sv}),
                       ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(args_of(*e), (Args{"a", "bc"}));
  EXPECT_TRUE(truncated(*e));

  auto cut = decode_exec(exec_record(Header{}, {.flags = KS_EXEC_ARGS_CUT, .args = "a\0bcdef"sv}),
                         ArgLimits{.max_arg_len = 3});
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(args_of(*cut), (Args{"a", "bcd"}));
  EXPECT_TRUE(truncated(*cut));
}

TEST(DecodeExec, FullProbeBuffer) {
  // args[] full: 64 KiB of 'x' without a NUL, as read_new_args() leaves a huge argv.
  std::string big(KS_EXEC_ARGS_SIZE, 'x');
  big[0] = 'a';
  big[1] = '\0';
  auto rec = exec_record(Header{}, {.flags = KS_EXEC_ARGS_CUT, .args = big});
  ASSERT_EQ(rec.size(), sizeof(ks_exec_event));
  auto e = decode_exec(rec, ArgLimits{.max_arg_len = KS_EXEC_MAX_ARG_LEN});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  Args args = args_of(*e);
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0], "a");
  EXPECT_EQ(args[1], std::string(KS_EXEC_MAX_ARG_LEN, 'x'));
  EXPECT_TRUE(truncated(*e));
}

TEST(DecodeExec, ShortRecordIsAnError) {
  auto rec = exec_record(Header{}, {.args = "a\0"sv});
  rec.resize(10);
  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message, "record of 10 bytes is shorter than its 56-byte header");

  auto empty = decode_exec({}, ArgLimits{});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message, "record of 0 bytes is shorter than its 56-byte header");
}

TEST(DecodeExec, HeaderOnlyIsAnError) {
  // A whole header claiming its own 60 bytes, but no room for the exec fields.
  RecordBuilder r;
  put_header(r, Header{});
  r.u32(0);
  r.set_size(60);
  auto e = decode_exec(r.b, ArgLimits{});
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message, "not an exec record (type 1, 60 bytes)");
}

TEST(DecodeExec, HeaderSizeDifferentFromRecordIsAnError) {
  auto rec = exec_record(Header{}, {.args = "ab\0"sv}, /*size=*/84);
  ASSERT_EQ(rec.size(), 83u);
  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message, "record header says 84 bytes, record has 83");
}

TEST(DecodeExec, WrongTypeIsAnError) {
  Header h;
  h.type = KS_EVENT_OPEN;
  auto e = decode_exec(exec_record(h, {.args = "a\0"sv}), ArgLimits{});
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message, "not an exec record (type 2, 82 bytes)");

  auto open = decode_exec(open_record(open_header(), {.path = "/etc/passwd\0"sv}), ArgLimits{});
  ASSERT_FALSE(open.has_value());
  EXPECT_EQ(open.error().message, "not an exec record (type 2, 100 bytes)");
}

// What the probe could not read is flagged in the event, apart from what a limit cut.
TEST(DecodeExec, PartialReadFlags) {
  auto whole = decode_exec(exec_record(Header{}, {.ret = -2, .args = "a\0"sv}), ArgLimits{});
  ASSERT_TRUE(whole.has_value());
  EXPECT_FALSE(whole->boolean("args_unreadable"));
  EXPECT_FALSE(whole->boolean("argv_missing"));

  auto unreadable = decode_exec(
      exec_record(Header{}, {.ret = -14, .flags = KS_EXEC_ARGS_UNREADABLE, .args = "a\0"sv}),
      ArgLimits{});
  ASSERT_TRUE(unreadable.has_value());
  EXPECT_EQ(args_of(*unreadable), Args{"a"});
  EXPECT_TRUE(unreadable->boolean("args_unreadable"));
  EXPECT_FALSE(unreadable->boolean("argv_missing"));
  EXPECT_FALSE(truncated(*unreadable)) << "a fault is not a cut";

  auto missing = decode_exec(
      exec_record(Header{}, {.ret = -2, .flags = KS_EXEC_ARGV_MISSING, .args = ""sv}), ArgLimits{});
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(args_of(*missing), Args{});
  EXPECT_FALSE(missing->boolean("args_unreadable"));
  EXPECT_TRUE(missing->boolean("argv_missing"));
}

TEST(DecodeExec, ArgsSizeMismatchIsAnError) {
  auto more = decode_exec(exec_record(Header{}, {.args = "abcde\0"sv, .args_size = 10}),
                          ArgLimits{});
  ASSERT_FALSE(more.has_value());
  EXPECT_EQ(more.error().message, "exec record says 10 argv bytes, carries 6");

  auto less = decode_exec(exec_record(Header{}, {.args = "abcde\0"sv, .args_size = 2}),
                          ArgLimits{});
  ASSERT_FALSE(less.has_value());
  EXPECT_EQ(less.error().message, "exec record says 2 argv bytes, carries 6");
}

// The CLI validates --max-args and --max-arg-len against the ranges the tool declares: the
// probe's bounds, with the defaults a run uses when the flags are not given.
TEST(ExecFlags, RangesAreTheProbeBounds) {
  const Tool& exec = tool("exec");
  auto spec = [&](std::string_view name) -> const FlagSpec& {
    for (const auto& f : exec.flags())
      if (long_name(f) == name) return f;
    throw std::runtime_error("no flag " + std::string(name));
  };
  const FlagSpec& args = spec("--max-args");
  EXPECT_EQ(args.kind, FlagKind::number);
  EXPECT_EQ(args.min, 1u);
  EXPECT_EQ(args.max, uint64_t{KS_EXEC_MAX_ARGS});
  EXPECT_EQ(args.max, 1024u);
  const FlagSpec& len = spec("--max-arg-len");
  EXPECT_EQ(len.min, 1u);
  EXPECT_EQ(len.max, uint64_t{KS_EXEC_MAX_ARG_LEN});
  EXPECT_EQ(len.max, 8192u);
  ToolArgs defaults(exec.flags());
  EXPECT_EQ(defaults.number("--max-args"), 128u);
  EXPECT_EQ(defaults.number("--max-arg-len"), 1024u);
  EXPECT_FALSE(defaults.flag("--failed"));
  EXPECT_EQ(long_name(spec("--failed")), "--failed");
}

// ---- decode_open ----

TEST(DecodeOpen, EveryField) {
  Header h = open_header();
  auto rec = open_record(h, {.flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                             .ret = 3,
                             .dfd = -100,
                             .mode = 0640,
                             .syscall = KS_OPEN_OPENAT2,
                             .path = "/tmp/kscope-known\0"sv});
  ASSERT_EQ(rec.size(), 88u + 18);
  auto e = decode_open(rec);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  expect_header(*e, "open_known");
  EXPECT_EQ(e->integer("tid"), 4243);
  EXPECT_EQ(e->uinteger("flags"), uint64_t{O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC});
  EXPECT_EQ(e->integer("fd"), 3);
  EXPECT_EQ(e->integer("errno"), 0);
  EXPECT_EQ(e->integer("dfd"), -100);
  EXPECT_EQ(e->uinteger("mode"), 0640u);
  EXPECT_EQ(e->text("syscall"), "openat2");
  EXPECT_EQ(e->text("path"), "/tmp/kscope-known");
}

TEST(DecodeOpen, FailedOpenat) {
  auto rec = open_record(open_header(), {.flags = O_RDONLY | O_DIRECTORY,
                                         .ret = -ENOENT,
                                         .dfd = 5,
                                         .mode = 0,
                                         .path = "rel/path\0"sv});
  auto e = decode_open(rec);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->uinteger("flags"), uint64_t{O_RDONLY | O_DIRECTORY});
  EXPECT_EQ(e->integer("fd"), -1);
  EXPECT_EQ(e->integer("errno"), ENOENT);
  EXPECT_EQ(e->integer("dfd"), 5);
  EXPECT_EQ(e->uinteger("mode"), 0u);
  EXPECT_EQ(e->text("syscall"), "openat");
  EXPECT_EQ(e->text("path"), "rel/path");
}

// openat's flags are an int (the probe keeps 32 bits); openat2's open_how carries 64, and an
// unknown high bit (which the kernel refuses with EINVAL) is shown as it was passed.
TEST(DecodeOpen, Openat2KeepsSixtyFourBitFlags) {
  auto rec = open_record(open_header(), {.flags = (1ull << 40) | O_RDONLY,
                                         .ret = -EINVAL,
                                         .syscall = KS_OPEN_OPENAT2,
                                         .path = "rel/path\0"sv});
  auto e = decode_open(rec);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->uinteger("flags"), 1ull << 40);
  EXPECT_EQ(e->integer("errno"), EINVAL);
  EXPECT_EQ(e->text("syscall"), "openat2");
}

TEST(DecodeOpen, PartialReadFlags) {
  auto whole = decode_open(open_record(open_header(), {.path = "/x\0"sv}));
  ASSERT_TRUE(whole.has_value());
  EXPECT_FALSE(whole->boolean("path_unreadable"));
  EXPECT_FALSE(whole->boolean("how_unreadable"));

  auto path = decode_open(open_record(
      open_header(), {.ret = -EFAULT, .path = ""sv, .partial = KS_OPEN_PATH_UNREADABLE}));
  ASSERT_TRUE(path.has_value()) << path.error().message;
  EXPECT_EQ(path->text("path"), "");
  EXPECT_TRUE(path->boolean("path_unreadable"));
  EXPECT_FALSE(path->boolean("how_unreadable"));

  auto how = decode_open(open_record(open_header(), {.flags = 0,
                                                     .ret = -EFAULT,
                                                     .mode = 0,
                                                     .syscall = KS_OPEN_OPENAT2,
                                                     .path = "/x\0"sv,
                                                     .partial = KS_OPEN_HOW_UNREADABLE}));
  ASSERT_TRUE(how.has_value());
  EXPECT_FALSE(how->boolean("path_unreadable"));
  EXPECT_TRUE(how->boolean("how_unreadable"));
}

TEST(DecodeOpen, PathStopsAtFirstNulOrAtItsSize) {
  auto nul_rec = open_record(open_header(), {.path = "/a\0garbage\0"sv});
  auto nul = decode_open(nul_rec);
  ASSERT_TRUE(nul.has_value());
  EXPECT_EQ(nul->text("path"), "/a");
  auto no_nul_rec = open_record(open_header(), {.path = "/abc"sv});
  auto no_nul = decode_open(no_nul_rec);
  ASSERT_TRUE(no_nul.has_value());
  EXPECT_EQ(no_nul->text("path"), "/abc");
  auto none_rec = open_record(open_header(), {.path = ""sv});
  auto none = decode_open(none_rec);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->text("path"), "");
}

TEST(DecodeOpen, MalformedRecordsAreErrors) {
  auto rec = open_record(open_header(), {.path = "/x\0"sv});
  auto cut = rec;
  cut.resize(55);
  auto short_rec = decode_open(cut);
  ASSERT_FALSE(short_rec.has_value());
  EXPECT_EQ(short_rec.error().message, "record of 55 bytes is shorter than its 56-byte header");

  auto grown = rec;
  grown.push_back(std::byte{0});
  auto size = decode_open(grown);
  ASSERT_FALSE(size.has_value());
  EXPECT_EQ(size.error().message, "record header says 91 bytes, record has 92");

  auto exec = decode_open(exec_record(Header{}, {.args = "a\0"sv}));
  ASSERT_FALSE(exec.has_value());
  EXPECT_EQ(exec.error().message, "not an open record (type 1, 82 bytes)");

  auto mismatch = decode_open(open_record(open_header(), {.path = "/x\0"sv, .path_size = 4}));
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().message, "open record says 4 path bytes, carries 3");
}

// ---- open flag and errno names ----

// The names the open tool gives the bits of its "flags" field, in the table and in JSON.
std::string open_flags_string(uint64_t flags) {
  for (const FieldInfo& f : tool("open").fields())
    if (f.key == "flags" && f.symbols) return f.symbols(flags);
  throw std::runtime_error("the open tool has no named flags field");
}

TEST(OpenFlagsString, AccessModes) {
  EXPECT_EQ(open_flags_string(O_RDONLY), "O_RDONLY");
  EXPECT_EQ(open_flags_string(O_WRONLY), "O_WRONLY");
  EXPECT_EQ(open_flags_string(O_RDWR), "O_RDWR");
  EXPECT_EQ(open_flags_string(O_ACCMODE), "O_ACCMODE");
}

TEST(OpenFlagsString, CommonCombinations) {
  EXPECT_EQ(open_flags_string(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC),
            "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
  EXPECT_EQ(open_flags_string(O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW),
            "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC");
  EXPECT_EQ(open_flags_string(O_RDWR | O_APPEND | O_NONBLOCK | O_EXCL),
            "O_RDWR|O_EXCL|O_APPEND|O_NONBLOCK");
  EXPECT_EQ(open_flags_string(O_PATH), "O_RDONLY|O_PATH");
  EXPECT_EQ(open_flags_string(00100000), "O_RDONLY|O_LARGEFILE");  // the kernel's bit
}

TEST(OpenFlagsString, SyncShownOnceNotAlsoDsync) {
  EXPECT_EQ(open_flags_string(O_WRONLY | O_SYNC), "O_WRONLY|O_SYNC");
  EXPECT_EQ(open_flags_string(O_WRONLY | O_DSYNC), "O_WRONLY|O_DSYNC");
}

TEST(OpenFlagsString, TmpfileShownOnceNotAlsoDirectory) {
  EXPECT_EQ(open_flags_string(O_RDWR | O_TMPFILE), "O_RDWR|O_TMPFILE");
  EXPECT_EQ(open_flags_string(O_RDWR | O_TMPFILE | O_EXCL), "O_RDWR|O_TMPFILE|O_EXCL");
  EXPECT_EQ(open_flags_string(O_DIRECTORY), "O_RDONLY|O_DIRECTORY");
}

TEST(OpenFlagsString, UnknownBitsAsHex) {
  EXPECT_EQ(open_flags_string(0x40000000), "O_RDONLY|0x40000000");
  EXPECT_EQ(open_flags_string(O_WRONLY | O_CREAT | (1ull << 40)), "O_WRONLY|O_CREAT|0x10000000000");
}

TEST(ErrnoName, KnownAndUnknown) {
  EXPECT_EQ(errno_name(ENOENT), "ENOENT");
  EXPECT_EQ(errno_name(EACCES), "EACCES");
  EXPECT_EQ(errno_name(EPERM), "EPERM");
  EXPECT_EQ(errno_name(ENAMETOOLONG), "ENAMETOOLONG");
  EXPECT_EQ(errno_name(9999), "9999");
  EXPECT_EQ(std::string(errno_name(-5)), "-5");
}

}  // namespace
}  // namespace kscope
