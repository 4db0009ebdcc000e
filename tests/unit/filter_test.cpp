// The one filter model: clauses and their operators, the task flags (--pid, --uid, --comm,
// --cgroup) as clauses, the tools' own flags as clauses, and what a sink evaluates (all of a
// replay's clauses; only the unclaimed ones live). Hermetic: --cgroup paths resolve against
// a directory of the test's own (tests/privileged/cgroup_test.cpp uses a real cgroup).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "filter/task_filter.h"
#include "tool_run.h"

namespace kscope {
namespace {

using namespace test;
using namespace std::string_view_literals;

// A failed result with exactly this message (and hint, when one is given).
template <class T>
void expect_error(const Result<T>& r, std::string_view message, std::string_view hint = {}) {
  ASSERT_FALSE(r.has_value()) << "expected: " << message;
  EXPECT_EQ(r.error().message, message);
  if (!hint.empty()) {
    EXPECT_EQ(r.error().hint, hint);
  }
}

// ---- --comm ----

TEST(ParseComm, FifteenBytesAccepted) {
  auto c = parse_comm("abcdefghijklmno");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(*c, "abcdefghijklmno");
  auto short_name = parse_comm("sh");
  ASSERT_TRUE(short_name.has_value());
  EXPECT_EQ(*short_name, "sh");
}

TEST(ParseComm, SixteenBytesRejectedWithHint) {
  expect_error(parse_comm("abcdefghijklmnop"),
               "--comm: 'abcdefghijklmnop' is 16 bytes; the kernel keeps at most 15",
               "use the first 15 bytes: 'abcdefghijklmno'");
}

TEST(ParseComm, LongerAndMultiByteCountBytes) {
  // "é" is two bytes: 8 of them are 16 bytes, over the limit.
  auto c = parse_comm("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("is 16 bytes"), std::string::npos) << c.error().message;
  auto long_name = parse_comm("kscope_very_long_process_name");
  ASSERT_FALSE(long_name.has_value());
  EXPECT_EQ(long_name.error().hint, "use the first 15 bytes: 'kscope_very_lon'");
}

TEST(ParseComm, EmptyRejected) {
  expect_error(parse_comm(""), "--comm: empty name", "give the process name as ps -o comm shows it");
}

// ---- --cgroup, hermetic ----

TEST(ResolveCgroup, NumericId) {
  auto id = resolve_cgroup("12345");
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(*id, 12345u);
  auto big = resolve_cgroup("18446744073709551615");
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(*big, UINT64_MAX);
}

// No cgroup has id 0, and live probes read 0 as "no cgroup filter": refused as --pid 0 is.
TEST(ResolveCgroup, ZeroIdRejected) {
  expect_error(resolve_cgroup("0"), "--cgroup 0 matches nothing",
               "cgroup ids start at 1 (the root cgroup)");
}

TEST(ResolveCgroup, EmptyIsAnError) {
  expect_error(resolve_cgroup(""), "--cgroup: empty value", "give a cgroup v2 path or id");
}

// A temporary directory standing in for the cgroup2 mount: paths resolve under it, and the
// resolver's file system check refuses it (it is no cgroup2 file system).
class FakeCgroupRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kscope-cgroup-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_EQ(::mkdir((root_ + "/child").c_str(), 0755), 0);
    std::ofstream(root_ + "/cgroup.procs") << "1\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  Result<uint64_t> resolve(std::string_view spec) {
    return resolve_cgroup(spec, [this]() -> Result<std::string> { return root_; });
  }
  std::string root_;
};

TEST_F(FakeCgroupRoot, NonCgroupDirectoryIsAnError) {
  expect_error(resolve(root_ + "/child"), "--cgroup: " + root_ + "/child is not a cgroup v2 directory",
               "cgroup ids come from the cgroup2 hierarchy; `kscope doctor` shows its mount");
}

TEST_F(FakeCgroupRoot, RegularFileIsAnError) {
  expect_error(resolve(root_ + "/cgroup.procs"),
               "--cgroup: " + root_ + "/cgroup.procs is not a cgroup v2 directory");
}

TEST_F(FakeCgroupRoot, RelativeAndHierarchyPathsResolveUnderTheMount) {
  expect_error(resolve("child"), "--cgroup: " + root_ + "/child is not a cgroup v2 directory");
  // As /proc/PID/cgroup shows it: absolute within the hierarchy.
  expect_error(resolve("/child"), "--cgroup: " + root_ + "/child is not a cgroup v2 directory");
}

TEST_F(FakeCgroupRoot, MissingPathsAreErrors) {
  expect_error(resolve("/nonexistent/kscope-no-such-cgroup"),
               "--cgroup: /nonexistent/kscope-no-such-cgroup: No such file or directory",
               "give a directory under the cgroup2 mount, or a numeric cgroup id");
  expect_error(resolve("kscope-no-such-cgroup"),
               "--cgroup: " + root_ + "/kscope-no-such-cgroup: No such file or directory");
}

TEST(ResolveCgroup, NoCgroup2MountIsAnErrorForPathsThatNeedIt) {
  int asked = 0;
  auto no_mount = [&]() -> Result<std::string> {
    ++asked;
    return fail("no cgroup2 file system is mounted", "mount it");
  };
  expect_error(resolve_cgroup("some/cgroup", no_mount), "no cgroup2 file system is mounted");
  EXPECT_EQ(asked, 1);
  // Ids and existing absolute paths need no mount.
  EXPECT_EQ(resolve_cgroup("42", no_mount).value_or(0), 42u);
  expect_error(resolve_cgroup("/", no_mount), "--cgroup: / is not a cgroup v2 directory");
  EXPECT_EQ(asked, 1);
}

// ---- clauses ----

Clause clause(std::string key, Op op, std::variant<int64_t, std::string> operand) {
  return {std::move(key), op, std::move(operand), "test"};
}

TEST(ClauseMatches, IntegerEqNe) {
  EXPECT_TRUE(clause_matches(clause("uid", Op::eq, int64_t{1000}), int_value(1000)));
  EXPECT_FALSE(clause_matches(clause("uid", Op::eq, int64_t{1000}), int_value(0)));
  EXPECT_TRUE(clause_matches(clause("uid", Op::ne, int64_t{0}), int_value(1000)));
  EXPECT_FALSE(clause_matches(clause("uid", Op::ne, int64_t{0}), int_value(0)));
  EXPECT_TRUE(clause_matches(clause("ret", Op::eq, int64_t{-2}), int_value(-2)));
  // Unsigned values compare by their bits: a cgroup id above INT64_MAX still matches itself.
  EXPECT_TRUE(clause_matches(clause("cgroup_id", Op::eq, int64_t{-1}), uint_value(UINT64_MAX)));
  EXPECT_TRUE(clause_matches(clause("cgroup_id", Op::eq, int64_t{77}), uint_value(77)));
  EXPECT_FALSE(clause_matches(clause("cgroup_id", Op::eq, int64_t{77}), uint_value(78)));
}

TEST(ClauseMatches, TextEqNePrefix) {
  auto text = [](std::string_view s) { return Value(s); };
  EXPECT_TRUE(clause_matches(clause("comm", Op::eq, "exec_target"), text("exec_target")));
  EXPECT_FALSE(clause_matches(clause("comm", Op::eq, "exec_targe"), text("exec_target")));
  EXPECT_FALSE(clause_matches(clause("comm", Op::eq, "exec_target2"), text("exec_target")));
  EXPECT_TRUE(clause_matches(clause("comm", Op::ne, "sh"), text("exec_target")));
  EXPECT_FALSE(clause_matches(clause("comm", Op::ne, "sh"), text("sh")));
  EXPECT_TRUE(clause_matches(clause("path", Op::prefix, "/etc/"), text("/etc/hosts")));
  EXPECT_TRUE(clause_matches(clause("path", Op::prefix, "/etc/hosts"), text("/etc/hosts")));
  EXPECT_TRUE(clause_matches(clause("path", Op::prefix, ""), text("")));
  EXPECT_FALSE(clause_matches(clause("path", Op::prefix, "/etc/hostsx"), text("/etc/hosts")));
  EXPECT_FALSE(clause_matches(clause("path", Op::prefix, "/usr/"), text("/etc/hosts")));
  // Bytes, not characters: a NUL in the operand is compared like any byte.
  EXPECT_FALSE(clause_matches(clause("path", Op::eq, std::string("a\0b", 3)), text("a")));
}

TEST(ClauseMatches, PidComparesTheHostPid) {
  Value in_ns(PidInNs{4242, 7});
  EXPECT_TRUE(clause_matches(clause("pid", Op::eq, int64_t{4242}), in_ns));
  EXPECT_FALSE(clause_matches(clause("pid", Op::eq, int64_t{7}), in_ns));
  EXPECT_TRUE(clause_matches(clause("pid", Op::ne, int64_t{7}), in_ns));
  EXPECT_FALSE(clause_matches(clause("pid", Op::ne, int64_t{4242}), in_ns));
}

TEST(ClauseMatches, BooleanAsZeroAndOne) {
  EXPECT_TRUE(clause_matches(clause("args_truncated", Op::eq, int64_t{1}), Value(true)));
  EXPECT_FALSE(clause_matches(clause("args_truncated", Op::eq, int64_t{1}), Value(false)));
  EXPECT_TRUE(clause_matches(clause("args_truncated", Op::eq, int64_t{0}), Value(false)));
  EXPECT_TRUE(clause_matches(clause("args_truncated", Op::ne, int64_t{0}), Value(true)));
  EXPECT_FALSE(clause_matches(clause("args_truncated", Op::ne, int64_t{0}), Value(false)));
}

TEST(ClauseMatches, MismatchedKindsNeverPass) {
  EXPECT_FALSE(clause_matches(clause("comm", Op::eq, int64_t{1}), Value("1"sv)));
  EXPECT_FALSE(clause_matches(clause("comm", Op::ne, int64_t{1}), Value("1"sv)));
  EXPECT_FALSE(clause_matches(clause("uid", Op::eq, "1000"), int_value(1000)));
  EXPECT_FALSE(clause_matches(clause("uid", Op::ne, "1000"), int_value(1000)));
  EXPECT_FALSE(clause_matches(clause("uid", Op::prefix, int64_t{1}), int_value(1)));
}

TEST(ClauseFits, NumbersOnNumbersPrefixOnText) {
  for (FieldType t : {FieldType::integer, FieldType::uinteger, FieldType::boolean,
                      FieldType::boot_time, FieldType::duration, FieldType::errno_code,
                      FieldType::signal, FieldType::flags, FieldType::octal, FieldType::pid}) {
    EXPECT_TRUE(clause_fits(clause("k", Op::eq, int64_t{1}), t)) << field_type_name(t);
    EXPECT_TRUE(clause_fits(clause("k", Op::ne, int64_t{1}), t)) << field_type_name(t);
    EXPECT_FALSE(clause_fits(clause("k", Op::eq, "1"), t)) << field_type_name(t);
    EXPECT_FALSE(clause_fits(clause("k", Op::prefix, "1"), t)) << field_type_name(t);
  }
  EXPECT_TRUE(clause_fits(clause("k", Op::eq, "x"), FieldType::text));
  EXPECT_TRUE(clause_fits(clause("k", Op::ne, "x"), FieldType::text));
  EXPECT_TRUE(clause_fits(clause("k", Op::prefix, "x"), FieldType::text));
  EXPECT_FALSE(clause_fits(clause("k", Op::eq, int64_t{1}), FieldType::text));
  EXPECT_FALSE(clause_fits(clause("k", Op::prefix, int64_t{1}), FieldType::text));
  for (Op op : {Op::eq, Op::ne, Op::prefix}) {
    EXPECT_FALSE(clause_fits(clause("k", op, "x"), FieldType::argv));
    EXPECT_FALSE(clause_fits(clause("k", op, int64_t{1}), FieldType::argv));
  }
}

TEST(FilterClaims, FindClaimReset) {
  Filter f;
  f.add(clause("pid", Op::eq, int64_t{1}));
  f.add(clause("path", Op::prefix, "/etc"));
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.find("pid", Op::ne), nullptr);
  EXPECT_EQ(f.find("uid", Op::eq), nullptr);
  const Clause* pid = f.find("pid", Op::eq);
  ASSERT_NE(pid, nullptr);
  EXPECT_EQ(pid, &f.clause(0));
  EXPECT_EQ(f.claim("path", Op::prefix), &f.clause(1));
  EXPECT_FALSE(f.claimed(0));
  EXPECT_TRUE(f.claimed(1));
  EXPECT_EQ(f.claim("uid", Op::eq), nullptr);
  f.claim(*pid);
  EXPECT_TRUE(f.claimed(0));
  f.reset_claims();
  EXPECT_FALSE(f.claimed(0));
  EXPECT_FALSE(f.claimed(1));
}

// ---- clauses through a tool's sink ----

Header task_header() {
  return {.ts_ns = 1, .cgroup_id = 77, .type = KS_EVENT_EXEC, .pid = 4243, .tgid = 4242,
          .uid = 1000, .comm = "exec_target"};
}

Bytes exec_rec(const Header& h, int32_t ret = 0, uint32_t flags = 0) {
  return exec_record(h, {.ppid = 1, .ns_tgid = 7, .ret = ret, .flags = flags, .args = "x\0"sv});
}

// Whether the exec tool's replay sink shows the record under this filter.
bool shown(const Filter& f, const Bytes& rec, bool live = false) {
  Shown r = run_records(tool("exec"), {rec}, f, ToolArgs(tool("exec").flags()), {.live = live});
  EXPECT_EQ(r.stats.malformed, 0u);
  EXPECT_EQ(r.stats.shown + r.stats.filtered, 1u);
  return r.stats.shown == 1;
}

Filter task_filter(const TaskFlags& flags) {
  Filter f;
  auto r = add_task_clauses(flags, f);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return f;
}

TEST(TaskClauses, OneClausePerFlagNamedByIt) {
  Filter f = task_filter({.pid = 4242, .uid = 0, .comm = "sh", .cgroup = "77"});
  ASSERT_EQ(f.size(), 4u);
  auto expect = [&](size_t i, std::string_view key, std::variant<int64_t, std::string> operand,
                    std::string_view origin) {
    EXPECT_EQ(f.clause(i).key, key);
    EXPECT_EQ(f.clause(i).op, Op::eq);
    EXPECT_EQ(f.clause(i).operand, operand);
    EXPECT_EQ(f.clause(i).origin, origin);
    EXPECT_FALSE(f.claimed(i));
  };
  expect(0, "pid", int64_t{4242}, "--pid 4242");
  expect(1, "uid", int64_t{0}, "--uid 0");
  expect(2, "comm", "sh", "--comm sh");
  expect(3, "cgroup_id", int64_t{77}, "--cgroup 77");
  EXPECT_EQ(task_filter({}).size(), 0u);
}

TEST(TaskClauses, InvalidFlagsAreErrorsNamingThem) {
  Filter f;
  expect_error(add_task_clauses({.pid = 0}, f), "--pid 0 matches nothing",
               "give a process id above 0");
  expect_error(add_task_clauses({.comm = "abcdefghijklmnop"}, f),
               "--comm: 'abcdefghijklmnop' is 16 bytes; the kernel keeps at most 15");
  expect_error(add_task_clauses({.cgroup = "0"}, f), "--cgroup 0 matches nothing");
  EXPECT_EQ(f.size(), 0u);
}

TEST(TaskClauses, EmptyFilterMatchesAll) {
  EXPECT_TRUE(shown(Filter{}, exec_rec(task_header())));
  EXPECT_TRUE(shown(Filter{}, exec_rec(Header{.ts_ns = 0, .cgroup_id = 0, .pid = 0, .tgid = 0,
                                               .uid = 0, .comm = ""})));
}

TEST(TaskClauses, Pid) {
  EXPECT_TRUE(shown(task_filter({.pid = 4242}), exec_rec(task_header())));
  // The thread id is not the process id, nor is the pid in the process's own namespace.
  EXPECT_FALSE(shown(task_filter({.pid = 4243}), exec_rec(task_header())));
  EXPECT_FALSE(shown(task_filter({.pid = 7}), exec_rec(task_header())));
}

TEST(TaskClauses, Uid) {
  EXPECT_TRUE(shown(task_filter({.uid = 1000}), exec_rec(task_header())));
  // --uid 0 is a filter on root, not "any".
  EXPECT_FALSE(shown(task_filter({.uid = 0}), exec_rec(task_header())));
  Header root = task_header();
  root.uid = 0;
  EXPECT_TRUE(shown(task_filter({.uid = 0}), exec_rec(root)));
}

TEST(TaskClauses, CgroupId) {
  EXPECT_TRUE(shown(task_filter({.cgroup = "77"}), exec_rec(task_header())));
  EXPECT_FALSE(shown(task_filter({.cgroup = "78"}), exec_rec(task_header())));
  Header big = task_header();
  big.cgroup_id = UINT64_MAX;
  EXPECT_TRUE(shown(task_filter({.cgroup = "18446744073709551615"}), exec_rec(big)));
}

TEST(TaskClauses, CommIsExact) {
  EXPECT_TRUE(shown(task_filter({.comm = "exec_target"}), exec_rec(task_header())));
  EXPECT_FALSE(shown(task_filter({.comm = "exec_targe"}), exec_rec(task_header())));
  EXPECT_FALSE(shown(task_filter({.comm = "exec_target2"}), exec_rec(task_header())));
  Header full = task_header();
  full.comm = "abcdefghijklmno";  // 15 bytes and the NUL
  EXPECT_TRUE(shown(task_filter({.comm = "abcdefghijklmno"}), exec_rec(full)));
}

TEST(TaskClauses, AllFlagsMustMatch) {
  Filter f = task_filter({.pid = 4242, .uid = 1000, .comm = "exec_target", .cgroup = "77"});
  EXPECT_TRUE(shown(f, exec_rec(task_header())));
  Header h = task_header();
  h.cgroup_id = 1;
  EXPECT_FALSE(shown(f, exec_rec(h)));
  h = task_header();
  h.uid = 1;
  EXPECT_FALSE(shown(f, exec_rec(h)));
  h = task_header();
  h.tgid = 1;
  EXPECT_FALSE(shown(f, exec_rec(h)));
  h = task_header();
  h.comm = "Xxec_target";
  EXPECT_FALSE(shown(f, exec_rec(h)));
}

TEST(ToolClauses, ExecBooleanAndPidFields) {
  Filter cut;
  cut.add({"args_truncated", Op::eq, int64_t{1}, "args_truncated == 1"});
  EXPECT_TRUE(shown(cut, exec_rec(task_header(), 0, KS_EXEC_MORE_ARGS)));
  EXPECT_FALSE(shown(cut, exec_rec(task_header())));
  Filter not_pid;
  not_pid.add({"pid", Op::ne, int64_t{4242}, "pid != 4242"});
  EXPECT_FALSE(shown(not_pid, exec_rec(task_header())));
  Filter comm_prefix;
  comm_prefix.add({"comm", Op::prefix, "exec_", "comm ^= exec_"});
  EXPECT_TRUE(shown(comm_prefix, exec_rec(task_header())));
}

// What a replay keeps without the probe: each tool's own flags as clauses.
TEST(ToolClauses, ExecFailedAddsFailures) {
  const Tool& exec = tool("exec");
  Filter ok_only;
  ASSERT_TRUE(exec.add_clauses(ToolArgs(exec.flags()), ok_only).has_value());
  ASSERT_EQ(ok_only.size(), 1u);
  EXPECT_EQ(ok_only.clause(0).origin, "without --failed");
  EXPECT_TRUE(shown(ok_only, exec_rec(task_header(), 0)));
  EXPECT_FALSE(shown(ok_only, exec_rec(task_header(), -2)));

  ToolArgs failed(exec.flags());
  failed.set("--failed").on = true;
  Filter all;
  ASSERT_TRUE(exec.add_clauses(failed, all).has_value());
  EXPECT_EQ(all.size(), 0u);
  EXPECT_TRUE(shown(all, exec_rec(task_header(), 0)));
  EXPECT_TRUE(shown(all, exec_rec(task_header(), -2)));
}

TEST(ToolClauses, OpenFailedAndPathPrefix) {
  const Tool& open = tool("open");
  auto wanted = [&](bool failed, std::string path_prefix, int32_t ret, std::string_view path) {
    ToolArgs args(open.flags());
    args.set("--failed").on = failed;
    args.set("--path").text = path_prefix;
    Filter f;
    EXPECT_TRUE(open.add_clauses(args, f).has_value());
    Shown r = run_records(open, {open_record(open_header(), {.ret = ret, .path = path})}, f, args);
    EXPECT_EQ(r.stats.malformed, 0u);
    return r.stats.shown == 1;
  };
  EXPECT_TRUE(wanted(false, "", 3, "/etc/hosts\0"sv));
  EXPECT_FALSE(wanted(true, "", 3, "/etc/hosts\0"sv));
  EXPECT_TRUE(wanted(true, "/etc/", -2, "/etc/none\0"sv));
  EXPECT_FALSE(wanted(true, "/usr/", -2, "/etc/none\0"sv));
  EXPECT_FALSE(wanted(false, "/etc/hostsx", 3, "/etc/hosts\0"sv));
  EXPECT_TRUE(wanted(false, "/etc/hosts", 3, "/etc/hosts\0"sv));

  ToolArgs args(open.flags());
  args.set("--failed").on = true;
  args.set("--path").text = "/etc";
  Filter f;
  ASSERT_TRUE(open.add_clauses(args, f).has_value());
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f.clause(0).origin, "--failed");
  EXPECT_EQ(f.clause(1).origin, "--path /etc");
}

// A probe claims what it compiles: a live sink does not check it again, a replay does.
TEST(ToolClauses, ClaimedClausesSkippedLiveEvaluatedOnReplay) {
  Filter f = task_filter({.uid = 0});
  auto rec = exec_rec(task_header());  // uid 1000
  EXPECT_FALSE(shown(f, rec, /*live=*/false));
  EXPECT_FALSE(shown(f, rec, /*live=*/true)) << "unclaimed: user space still checks it";
  f.claim("uid", Op::eq);
  EXPECT_TRUE(shown(f, rec, /*live=*/true)) << "the probe applied it";
  EXPECT_FALSE(shown(f, rec, /*live=*/false)) << "a replay has no probe";
}

TEST(ToolClauses, ClauseOnAMissingFieldNamesTheFlag) {
  const Tool& open = tool("open");
  TraceOptions options;
  Captured c;
  Filter f;
  f.add({"ppid", Op::eq, int64_t{1}, "--ppid 1"});  // exec has ppid, open does not
  expect_error(open.sink(options, c.out(), ToolArgs(open.flags()), f, false),
               "--ppid 1: this tool has no field 'ppid' to compare that way",
               "see the tool's --help for its fields");

  Filter wrong_type;
  wrong_type.add({"fd", Op::prefix, "3", "--fd-prefix 3"});
  expect_error(open.sink(options, c.out(), ToolArgs(open.flags()), wrong_type, false),
               "--fd-prefix 3: this tool has no field 'fd' to compare that way");

  // Claimed by a probe, it is no longer the sink's to bind on a live run.
  f.claim("ppid", Op::eq);
  EXPECT_TRUE(open.sink(options, c.out(), ToolArgs(open.flags()), f, true).has_value());
}

}  // namespace
}  // namespace kscope
