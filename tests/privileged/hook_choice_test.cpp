// How a live run picks its hook alternative, against the real kernel: the kernel helpers an
// alternative calls are checked first, and an alternative that cannot work falls through to
// the next one; a forced alternative that cannot work is an error naming the reason.
#include <linux/bpf.h>

#include "harness.h"

namespace kscope::test {
namespace {

// This kernel's features, but without bpf_task_pt_regs: as on a kernel older than 5.15.
Features without_task_pt_regs() {
  Features f;
  f.fake_helper(Hook::tracepoint, BPF_FUNC_task_pt_regs,
                {false, "faked: this kernel lacks the helper bpf_task_pt_regs"});
  return f;
}

TEST(HookChoice, MissingHelperFallsThroughToTheNextAlternative) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("open", "tp_btf");
  Features f = without_task_pt_regs();
  LiveTool live("open");
  auto opened = live.open(std::nullopt, {}, 16u << 20, &f);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(live.probe->hook().name, "tp_btf");
  // doctor and --list say the same, with the reason.
  auto choices = predict_hooks(live.tool.hooks(), f);
  ASSERT_GE(choices.size(), 2u);
  EXPECT_EQ(choices[0].status, "skipped");
  EXPECT_NE(choices[0].feature.reason.find("bpf_task_pt_regs"), std::string::npos);
  EXPECT_EQ(choices[1].status, "chosen");
}

TEST(HookChoice, ForcedAlternativeThatCannotWorkIsAnErrorWithTheReason) {
  KSCOPE_REQUIRE_PRIVILEGES();
  Features f = without_task_pt_regs();
  LiveTool live("open");
  auto opened = live.open("tracepoint", {}, 16u << 20, &f);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message,
            "--hook tracepoint: faked: this kernel lacks the helper bpf_task_pt_regs");
  EXPECT_FALSE(opened.error().hint.empty());
}

// exec's alternatives need no such helper: the same kernel picks the tracepoint.
TEST(HookChoice, AlternativesWithoutTheHelperAreUnaffected) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("exec", "tracepoint");
  Features f = without_task_pt_regs();
  LiveTool live("exec");
  ASSERT_TRUE(live.open(std::nullopt, {}, 16u << 20, &f));
  EXPECT_EQ(live.probe->hook().name, "tracepoint");
}

// A kernel where none of a tool's alternatives can work: one error naming each, and a hint.
TEST(HookChoice, NoAlternativeWorksIsOneErrorNamingEach) {
  KSCOPE_REQUIRE_PRIVILEGES();
  Features f;
  f.fake(Hook::tp_btf, {false, "faked: no tp_btf here"});
  f.fake(Hook::raw_tp, {false, "faked: no raw_tp here"});
  LiveTool live("runqlat");
  auto opened = live.open(std::nullopt, {}, 16u << 20, &f);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message.rfind("trace runqlat cannot attach on this kernel: ", 0), 0u)
      << opened.error().message;
  EXPECT_NE(opened.error().message.find("faked: no tp_btf here"), std::string::npos);
  EXPECT_NE(opened.error().message.find("faked: no raw_tp here"), std::string::npos);
  EXPECT_NE(opened.error().hint.find("kscope doctor"), std::string::npos);
}

}  // namespace
}  // namespace kscope::test
