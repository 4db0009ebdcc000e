// decode_exec / decode_open over records built byte for byte, as the probes lay them out,
// and the open flag and errno names.
#include <fcntl.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/header.h"
#include "sources/exec_event.h"
#include "sources/open_event.h"

namespace kscope {
namespace {

// The ABI the records below are built against: a change here is a change in the probes.
static_assert(sizeof(ks_event_header) == 56);
static_assert(offsetof(ks_exec_event, args) == 80);
static_assert(offsetof(ks_open_event, path) == 80);

using Bytes = std::vector<std::byte>;

// Little-endian appends, so each record is built field by field at its ABI offset.
struct RecordBuilder {
  Bytes b;
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void chars(std::string_view s, size_t n) {  // a fixed char[n], NUL padded
    for (size_t i = 0; i < n; ++i) b.push_back(std::byte(i < s.size() ? s[i] : 0));
  }
  void raw(std::string_view s) {
    for (char c : s) b.push_back(std::byte(c));
  }
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(std::byte(v >> (8 * i)));
  }
  // Writes the header's size field (offset 20) once the record is complete.
  void set_size(uint32_t size) {
    for (int i = 0; i < 4; ++i) b[20 + i] = std::byte(size >> (8 * i));
  }
};

struct Header {
  uint64_t ts_ns = 123'456'789'012;
  uint64_t cgroup_id = 0x1122334455667788;
  uint32_t type = KS_EVENT_EXEC;
  uint32_t pid = 4243;
  uint32_t tgid = 4242;
  uint32_t uid = 1000;
  std::string_view comm = "exec_target";
};

void put_header(RecordBuilder& r, const Header& h) {
  r.u64(h.ts_ns);
  r.u64(h.cgroup_id);
  r.u32(h.type);
  r.u32(0);  // size, set by set_size()
  r.u32(h.pid);
  r.u32(h.tgid);
  r.u32(h.uid);
  r.u32(0);  // pad
  r.chars(h.comm, KS_COMM_LEN);
}

struct ExecBody {
  uint32_t ppid = 4000;
  uint32_t ns_tgid = 7;
  int32_t ret = 0;
  uint32_t flags = 0;
  std::string_view args;  // the NUL-separated argv bytes as the probe copied them
  std::optional<uint32_t> args_size;  // default: args.size()
};

Bytes exec_record(const Header& h, const ExecBody& e, std::optional<uint32_t> size = {}) {
  RecordBuilder r;
  put_header(r, h);
  r.u32(e.ppid);
  r.u32(e.ns_tgid);
  r.u32(static_cast<uint32_t>(e.ret));
  r.u32(e.flags);
  r.u32(e.args_size.value_or(static_cast<uint32_t>(e.args.size())));
  r.u32(0);  // pad
  r.raw(e.args);
  r.set_size(size.value_or(static_cast<uint32_t>(r.b.size())));
  return r.b;
}

struct OpenBody {
  uint64_t flags = O_WRONLY | O_CREAT | O_TRUNC;
  int32_t ret = 3;
  int32_t dfd = -100;
  uint32_t mode = 0644;
  uint16_t syscall = KS_OPEN_OPENAT;
  std::string_view path;
  std::optional<uint16_t> path_size;  // default: path.size()
};

Bytes open_record(const Header& h, const OpenBody& o) {
  RecordBuilder r;
  put_header(r, h);
  r.u64(o.flags);
  r.u32(static_cast<uint32_t>(o.ret));
  r.u32(static_cast<uint32_t>(o.dfd));
  r.u32(o.mode);
  r.u16(o.syscall);
  r.u16(o.path_size.value_or(static_cast<uint16_t>(o.path.size())));
  r.raw(o.path);
  r.set_size(static_cast<uint32_t>(r.b.size()));
  return r.b;
}

Header open_header() {
  Header h;
  h.type = KS_EVENT_OPEN;
  h.comm = "open_known";
  return h;
}

using Args = std::vector<std::string>;
using namespace std::string_view_literals;

// ---- decode_exec ----

// Every field of the common header, as the record builders above fill it.
void expect_header(const ks_event_header& h, uint32_t type, size_t size, std::string_view comm) {
  EXPECT_EQ(h.ts_ns, 123'456'789'012u);
  EXPECT_EQ(h.cgroup_id, 0x1122334455667788u);
  EXPECT_EQ(h.type, type);
  EXPECT_EQ(h.size, size);
  EXPECT_EQ(h.pid, 4243u);
  EXPECT_EQ(h.tgid, 4242u);
  EXPECT_EQ(h.uid, 1000u);
  EXPECT_EQ(comm_of(h), comm);
}

TEST(DecodeExec, EveryField) {
  const auto argv = "exec_target\0kscope-bar-1\0with space\0\0q\"uote\0it's\0--flag=7\0"sv;
  auto rec = exec_record(Header{}, {.ppid = 4000, .ns_tgid = 7, .ret = 0, .args = argv});
  ASSERT_EQ(rec.size(), 80 + argv.size());

  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  expect_header(e->hdr, KS_EVENT_EXEC, rec.size(), "exec_target");
  EXPECT_EQ(e->ppid, 4000u);
  EXPECT_EQ(e->ns_pid, 7u);
  EXPECT_EQ(e->ret, 0);
  EXPECT_EQ(e->args,
            (Args{"exec_target", "kscope-bar-1", "with space", "", "q\"uote", "it's", "--flag=7"}));
  EXPECT_FALSE(e->args_truncated);
}

TEST(DecodeExec, FailedExecKeepsNegativeErrno) {
  auto rec = exec_record(Header{.comm = "exec_many"},
                         {.ret = -ENOENT, .args = "/nonexistent/x\0a\0"sv});
  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->ret, -2);
  EXPECT_EQ(comm_of(e->hdr), "exec_many");
  EXPECT_EQ(e->args, (Args{"/nonexistent/x", "a"}));
}

TEST(DecodeExec, EmptyArgumentsAnywhere) {
  auto e = decode_exec(exec_record(Header{}, {.args = "\0a\0\0\0b\0\0"sv}), ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->args, (Args{"", "a", "", "", "b", ""}));
  EXPECT_FALSE(e->args_truncated);
}

TEST(DecodeExec, NoArguments) {
  auto rec = exec_record(Header{}, {.args = ""sv});
  ASSERT_EQ(rec.size(), 80u);
  auto e = decode_exec(rec, ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->args, Args{});
  EXPECT_FALSE(e->args_truncated);
}

TEST(DecodeExec, FullSixteenByteCommWithoutNul) {
  auto e = decode_exec(exec_record(Header{.comm = "abcdefghijklmnopXYZ"}, {.args = "a\0"sv}),
                       ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(comm_of(e->hdr), "abcdefghijklmnop");
}

TEST(DecodeExec, MaxArgsCutsAndMarks) {
  auto rec = exec_record(Header{}, {.args = "a\0b\0c\0d\0"sv});
  auto two = decode_exec(rec, ArgLimits{.max_args = 2});
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->args, (Args{"a", "b"}));
  EXPECT_TRUE(two->args_truncated);

  auto four = decode_exec(rec, ArgLimits{.max_args = 4});  // exactly the limit: nothing cut
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(four->args, (Args{"a", "b", "c", "d"}));
  EXPECT_FALSE(four->args_truncated);

  auto one = decode_exec(exec_record(Header{}, {.args = "a\0\0"sv}), ArgLimits{.max_args = 1});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->args, Args{"a"});
  EXPECT_TRUE(one->args_truncated) << "the empty second argument was dropped";
}

TEST(DecodeExec, MaxArgLenCutsAndMarks) {
  auto rec = exec_record(Header{}, {.args = "abcd\0abcdef\0xy\0"sv});
  auto e = decode_exec(rec, ArgLimits{.max_arg_len = 4});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->args, (Args{"abcd", "abcd", "xy"}));
  EXPECT_TRUE(e->args_truncated);

  auto exact = decode_exec(exec_record(Header{}, {.args = "abcd\0xy\0"sv}),
                           ArgLimits{.max_arg_len = 4});
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->args, (Args{"abcd", "xy"}));
  EXPECT_FALSE(exact->args_truncated) << "an argument of exactly max_arg_len is not cut";
}

TEST(DecodeExec, BothLimitsAtOnce) {
  auto e = decode_exec(exec_record(Header{}, {.args = "abc\0defgh\0ij\0"sv}),
                       ArgLimits{.max_args = 2, .max_arg_len = 3});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->args, (Args{"abc", "def"}));
  EXPECT_TRUE(e->args_truncated);
}

TEST(DecodeExec, MoreArgsFlagMarksTruncated) {
  auto e = decode_exec(exec_record(Header{}, {.flags = KS_EXEC_MORE_ARGS, .args = "a\0b\0"sv}),
                       ArgLimits{});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->args, (Args{"a", "b"}));
  EXPECT_TRUE(e->args_truncated);
}

TEST(DecodeExec, ArgsCutFlagWithLastArgumentWithoutNul) {
  // The probe's buffer filled up inside the last string: it has no NUL.
  auto e = decode_exec(exec_record(Header{}, {.flags = KS_EXEC_ARGS_CUT, .args = "a\0bc"sv}),
                       ArgLimits{});
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->args, (Args{"a", "bc"}));
  EXPECT_TRUE(e->args_truncated);

  auto cut = decode_exec(exec_record(Header{}, {.flags = KS_EXEC_ARGS_CUT, .args = "a\0bcdef"sv}),
                         ArgLimits{.max_arg_len = 3});
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->args, (Args{"a", "bcd"}));
  EXPECT_TRUE(cut->args_truncated);
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
  ASSERT_EQ(e->args.size(), 2u);
  EXPECT_EQ(e->args[0], "a");
  EXPECT_EQ(e->args[1], std::string(KS_EXEC_MAX_ARG_LEN, 'x'));
  EXPECT_TRUE(e->args_truncated);
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
  EXPECT_EQ(open.error().message, "not an exec record (type 2, 92 bytes)");
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

TEST(ArgLimitsValidate, Bounds) {
  EXPECT_TRUE(validate(ArgLimits{}).has_value());
  EXPECT_TRUE(validate(ArgLimits{.max_args = 1, .max_arg_len = 1}).has_value());
  EXPECT_TRUE(validate(ArgLimits{.max_args = KS_EXEC_MAX_ARGS, .max_arg_len = KS_EXEC_MAX_ARG_LEN})
                  .has_value());
  auto args = validate(ArgLimits{.max_args = 0});
  ASSERT_FALSE(args.has_value());
  EXPECT_EQ(args.error().message, "--max-args 0 is outside 1..1024");
  auto many = validate(ArgLimits{.max_args = 1025});
  ASSERT_FALSE(many.has_value());
  EXPECT_EQ(many.error().message, "--max-args 1025 is outside 1..1024");
  auto len = validate(ArgLimits{.max_arg_len = 8193});
  ASSERT_FALSE(len.has_value());
  EXPECT_EQ(len.error().message, "--max-arg-len 8193 is outside 1..8192");
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
  ASSERT_EQ(rec.size(), 80u + 18);
  auto e = decode_open(rec);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  expect_header(e->hdr, KS_EVENT_OPEN, rec.size(), "open_known");
  EXPECT_EQ(e->flags, uint64_t{O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC});
  EXPECT_EQ(e->ret, 3);
  EXPECT_EQ(e->dfd, -100);
  EXPECT_EQ(e->mode, 0640u);
  EXPECT_EQ(e->syscall, uint16_t{KS_OPEN_OPENAT2});
  EXPECT_EQ(e->path, "/tmp/kscope-known");
  // The path is a view into the record, not a copy.
  EXPECT_EQ(static_cast<const void*>(e->path.data()), static_cast<const void*>(rec.data() + 80));
}

TEST(DecodeOpen, FailedOpenAndSixtyFourBitFlags) {
  // The event's path views the record: the record must outlive it.
  auto rec = open_record(open_header(), {.flags = (1ull << 40) | O_RDONLY,
                                         .ret = -ENOENT,
                                         .dfd = 5,
                                         .mode = 0,
                                         .path = "rel/path\0"sv});
  auto e = decode_open(rec);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->flags, 1ull << 40);
  EXPECT_EQ(e->ret, -2);
  EXPECT_EQ(e->dfd, 5);
  EXPECT_EQ(e->syscall, uint16_t{KS_OPEN_OPENAT});
  EXPECT_EQ(e->path, "rel/path");
}

TEST(DecodeOpen, PathStopsAtFirstNulOrAtItsSize) {
  auto nul_rec = open_record(open_header(), {.path = "/a\0garbage\0"sv});
  auto nul = decode_open(nul_rec);
  ASSERT_TRUE(nul.has_value());
  EXPECT_EQ(nul->path, "/a");
  auto no_nul_rec = open_record(open_header(), {.path = "/abc"sv});
  auto no_nul = decode_open(no_nul_rec);
  ASSERT_TRUE(no_nul.has_value());
  EXPECT_EQ(no_nul->path, "/abc");
  auto none_rec = open_record(open_header(), {.path = ""sv});
  auto none = decode_open(none_rec);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->path, "");
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
  EXPECT_EQ(size.error().message, "record header says 83 bytes, record has 84");

  auto exec = decode_open(exec_record(Header{}, {.args = "a\0"sv}));
  ASSERT_FALSE(exec.has_value());
  EXPECT_EQ(exec.error().message, "not an open record (type 1, 82 bytes)");

  auto mismatch = decode_open(open_record(open_header(), {.path = "/x\0"sv, .path_size = 4}));
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().message, "open record says 4 path bytes, carries 3");
}

// ---- open flags and errno names ----

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
