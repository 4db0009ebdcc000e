// trace profile's records through its own sink, as a replay runs them: decode, the filter,
// the table libbpf-tools' way, folded lines, NDJSON, and the SVG flame graph file.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "filter/task_filter.h"
#include "profile.h"
#include "tool_run.h"

namespace kscope::test {
namespace {

static_assert(sizeof(ks_profile_record) == 80);
static_assert(sizeof(ks_profile_key) == 56);

struct Stack {
  uint32_t pid = 4242;
  std::string_view comm = "spinner";
  uint64_t samples = 7;
  uint32_t flags = 0;
  std::vector<std::string> kernel, user;  // leaf first
  uint64_t ts_ns = 123'456'789'012;
};

Bytes profile_record(const Stack& s) {
  RecordBuilder r;
  put_header(r, {.ts_ns = s.ts_ns, .type = KS_EVENT_PROFILE, .pid = 0, .tgid = s.pid, .comm = s.comm});
  r.u64(s.samples);
  r.u16(static_cast<uint16_t>(s.kernel.size()));
  r.u16(static_cast<uint16_t>(s.user.size()));
  r.u32(s.flags);
  r.u32(49);  // frequency
  r.u32(0);   // pad
  for (const auto* frames : {&s.kernel, &s.user})
    for (const auto& f : *frames) {
      r.raw(f);
      r.raw(std::string_view("\0", 1));
    }
  r.set_size(static_cast<uint32_t>(r.b.size()));
  return r.b;
}

const Stack kSpin{.samples = 90, .user = {"kscope_profile_spin", "main"}};
const Stack kRead{.samples = 10,
                  .kernel = {"clear_user", "read_zero", "vfs_read"},
                  .user = {"kscope_profile_read_zero", "main"}};
const Stack kIdle{.pid = 0, .comm = "swapper/0", .samples = 3, .kernel = {"default_idle"}};

TEST(Profile, DecodesEveryFieldAndFrame) {
  const Tool& t = tool("profile");
  auto e = t.decode(profile_record(kRead), ToolArgs(t.flags()));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->integer("pid"), 4242);
  EXPECT_EQ(e->text("comm"), "spinner");
  EXPECT_EQ(e->uinteger("samples"), 10u);
  EXPECT_EQ(e->uinteger("frequency_hz"), 49u);
  EXPECT_EQ(e->argv("kernel_stack").args, (std::vector<std::string>{"clear_user", "read_zero", "vfs_read"}));
  EXPECT_EQ(e->argv("user_stack").args, (std::vector<std::string>{"kscope_profile_read_zero", "main"}));
  EXPECT_FALSE(e->boolean("kernel_stack_lost"));
  EXPECT_FALSE(e->boolean("user_unsymbolized"));
}

TEST(Profile, RefusesRecordsWhoseFramesDoNotFit) {
  const Tool& t = tool("profile");
  ToolArgs args(t.flags());
  Bytes r = profile_record(kSpin);
  Bytes cut(r.begin(), r.end() - 1);  // the last name loses its NUL
  cut[20] = std::byte(cut.size());
  EXPECT_FALSE(t.decode(cut, args));
  Bytes extra = r;
  extra.push_back(std::byte('x'));
  extra[20] = std::byte(extra.size());
  EXPECT_FALSE(t.decode(extra, args));
  Bytes many = r;
  many[64] = std::byte(200);  // kernel_frames above the kernel's 127
  EXPECT_FALSE(t.decode(many, args));
}

TEST(Profile, TableShowsStacksTheWayLibbpfToolsDoes) {
  auto shown = run_records("profile", {profile_record(kSpin), profile_record(kRead)},
                           {.format = Format::table});
  std::string want_tail =
      "    kscope_profile_spin\n"
      "    main\n"
      "    -                spinner (4242)\n"
      "        90\n"
      "\n"
      "    clear_user\n"
      "    read_zero\n"
      "    vfs_read\n"
      "    --\n"
      "    kscope_profile_read_zero\n"
      "    main\n"
      "    -                spinner (4242)\n"
      "        10\n"
      "\n";
  ASSERT_GT(shown.text.size(), want_tail.size());
  EXPECT_EQ(shown.text.substr(shown.text.size() - want_tail.size()), want_tail);
  // The snapshot's time first, once.
  EXPECT_EQ(shown.text.find('\n'), 8u) << shown.text;
  EXPECT_EQ(shown.stats.shown, 2u);
}

TEST(Profile, FoldedLinesAreRootFirstWithKernelFramesMarked) {
  const Tool& t = tool("profile");
  ToolArgs args(t.flags());
  args.set("--folded").on = true;
  Stack odd{.comm = "a;b", .samples = 1, .user = {"f\x01g"}};
  auto shown = run_records(t, {profile_record(kSpin), profile_record(kRead), profile_record(kIdle),
                               profile_record(odd)},
                           Filter{}, args, {.format = Format::table});
  EXPECT_EQ(shown.text,
            "spinner;main;kscope_profile_spin 90\n"
            "spinner;main;kscope_profile_read_zero;vfs_read_[k];read_zero_[k];clear_user_[k] 10\n"
            "swapper/0;default_idle_[k] 3\n"
            "a:b;f?g 1\n");
}

TEST(Profile, JsonHasTheStacksAsArrays) {
  auto shown = run_records("profile", {profile_record(kRead)});
  EXPECT_NE(shown.text.find("\"type\":\"profile\""), std::string::npos) << shown.text;
  EXPECT_NE(shown.text.find("\"samples\":10"), std::string::npos);
  EXPECT_NE(shown.text.find("\"kernel_stack\":[\"clear_user\",\"read_zero\",\"vfs_read\"]"),
            std::string::npos);
  EXPECT_NE(shown.text.find("\"user_stack\":[\"kscope_profile_read_zero\",\"main\"]"),
            std::string::npos);
}

TEST(Profile, FoldedAndJsonTogetherAreRefused) {
  const Tool& t = tool("profile");
  ToolArgs args(t.flags());
  args.set("--folded").on = true;
  Output out(-1);
  auto sink = t.sink(TraceOptions{.format = Format::json}, out, args, Filter{}, false);
  ASSERT_FALSE(sink);
  EXPECT_NE(sink.error().message.find("--folded"), std::string::npos);
}

TEST(Profile, ReplayFiltersByPid) {
  const Tool& t = tool("profile");
  Filter f;
  ASSERT_TRUE(add_task_clauses(TaskFlags{.pid = 4242}, f));
  Stack other = kSpin;
  other.pid = 77;
  auto shown = run_records(t, {profile_record(kSpin), profile_record(other)}, f, ToolArgs(t.flags()));
  EXPECT_EQ(shown.stats.shown, 1u);
  EXPECT_EQ(shown.stats.filtered, 1u);
  EXPECT_NE(shown.text.find("\"pid\":4242"), std::string::npos) << shown.text;
}

TEST(Profile, LostAndUnsymbolizedStacksArePartial) {
  Stack lost{.flags = KS_PROFILE_KERNEL_LOST, .kernel = {"[lost kernel stack]"}, .user = {"main"}};
  auto shown = run_records("profile", {profile_record(lost), profile_record(kSpin)});
  EXPECT_EQ(shown.stats.partial, 1u);
  EXPECT_NE(shown.text.find("\"kernel_stack_lost\":true"), std::string::npos);
}

TEST(Profile, SvgFileHoldsEveryStackOfTheRun) {
  const Tool& t = tool("profile");
  ToolArgs args(t.flags());
  std::string path = "/tmp/kscope-profile-test-" + std::to_string(getpid()) + ".svg";
  args.set("--svg").text = path;
  Stack later = kSpin;
  later.ts_ns += 1'000'000'000;  // a second interval: the same stack adds up
  run_records(t, {profile_record(kSpin), profile_record(kRead), profile_record(later)}, Filter{},
              args, {.format = Format::table});
  std::ifstream in(path);
  std::stringstream svg;
  svg << in.rdbuf();
  std::remove(path.c_str());
  EXPECT_NE(svg.str().find("<title>kscope_profile_spin (180 samples, 94.74%)</title>"),
            std::string::npos);
  EXPECT_NE(svg.str().find("<title>read_zero (10 samples, 5.26%)</title>"), std::string::npos);
  EXPECT_NE(svg.str().find("190 samples at 49 Hz on each CPU, 2 intervals"), std::string::npos);
  EXPECT_NE(svg.str().find("data-kind=\"kernel\"><title>vfs_read"), std::string::npos);
}

TEST(Profile, SvgToAPathThatCannotBeCreatedFailsBeforeTheRun) {
  const Tool& t = tool("profile");
  ToolArgs args(t.flags());
  args.set("--svg").text = "/no/such/dir/x.svg";
  Output out(-1);
  auto sink = t.sink(TraceOptions{}, out, args, Filter{}, false);
  ASSERT_FALSE(sink);
  EXPECT_NE(sink.error().message.find("/no/such/dir/x.svg"), std::string::npos);
}

TEST(Profile, UserAndKernelOnlyTogetherAreRefused) {
  const Tool& t = tool("profile");
  ToolArgs args(t.flags());
  args.set("--user-stacks-only").on = true;
  args.set("--kernel-stacks-only").on = true;
  Filter f;
  EXPECT_FALSE(t.add_clauses(args, f));
}

}  // namespace
}  // namespace kscope::test
