// Feature results and hook choice, with faked features: no kernel, no privileges.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "bpf/features.h"
#include "tools.h"

namespace kscope {
namespace {

// A Features whose every hook is faked, so nothing here touches the kernel.
Features faked(bool works) {
  Features f;
  for (Hook h : kAllHooks)
    f.fake(h, {works, std::string(works ? "faked: works" : "faked: missing, ") +
                          std::string(hook_name(h)) + " not in this test kernel"});
  return f;
}

TEST(HookNames, RoundTripEveryHook) {
  std::set<std::string_view> seen;
  for (Hook h : kAllHooks) {
    std::string_view name = hook_name(h);
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(seen.insert(name).second) << "duplicate hook name " << name;
    auto back = hook_from_name(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, h) << name;
  }
  EXPECT_EQ(seen.size(), kAllHooks.size());
}

TEST(HookNames, KnownSpellings) {
  EXPECT_EQ(hook_name(Hook::tracepoint), "tracepoint");
  EXPECT_EQ(hook_name(Hook::tp_btf), "tp_btf");
  EXPECT_EQ(hook_name(Hook::raw_tp), "raw_tp");
  EXPECT_EQ(hook_name(Hook::cgroup_skb), "cgroup_skb");
  EXPECT_EQ(hook_name(Hook::perf_event), "perf_event");
  EXPECT_EQ(hook_from_name("kprobe"), Hook::kprobe);
}

TEST(HookNames, UnknownNamesAreRejected) {
  EXPECT_FALSE(hook_from_name("").has_value());
  EXPECT_FALSE(hook_from_name("Tracepoint").has_value());
  EXPECT_FALSE(hook_from_name("tracepoint ").has_value());
  EXPECT_FALSE(hook_from_name("uprobe").has_value());
}

TEST(Features, FakeIsReturnedAndCanBeReplaced) {
  Features f;
  f.fake(Hook::kprobe, {true, "faked kprobe"});
  const FeatureResult& r = f.probe(Hook::kprobe);
  EXPECT_TRUE(r.works);
  EXPECT_EQ(r.reason, "faked kprobe");

  f.fake(Hook::kprobe, {false, "now missing"});
  EXPECT_FALSE(f.probe(Hook::kprobe).works);
  EXPECT_EQ(f.probe(Hook::kprobe).reason, "now missing");
}

TEST(Features, CachedResultIsStable) {
  Features f = faked(true);
  const FeatureResult& a = f.probe(Hook::tc);
  const FeatureResult& b = f.probe(Hook::tc);
  EXPECT_EQ(&a, &b);
}

TEST(Features, SystemIsOneInstance) { EXPECT_EQ(&Features::system(), &Features::system()); }

TEST(ToolTable, HasExecAndOpenWithUsableAlternatives) {
  ASSERT_NE(find_tool("exec"), nullptr);
  ASSERT_NE(find_tool("open"), nullptr);
  EXPECT_EQ(find_tool("no-such-tool"), nullptr);
  for (const ToolSpec& tool : tool_table()) {
    EXPECT_FALSE(tool.hooks.empty()) << tool.name;
    for (const auto& alt : tool.hooks) {
      EXPECT_FALSE(alt.name.empty()) << tool.name;
      EXPECT_FALSE(alt.programs.empty()) << tool.name << " " << alt.name;
      EXPECT_TRUE(hook_from_name(hook_name(alt.hook)).has_value());
    }
  }
}

TEST(ChooseHook, PicksTheFirstAlternativeWhenAllWork) {
  Features f = faked(true);
  for (const ToolSpec& tool : tool_table()) {
    auto chosen = choose_hook(tool, f);
    ASSERT_TRUE(chosen.has_value()) << tool.name << ": " << chosen.error().message;
    EXPECT_EQ(*chosen, &tool.hooks.front()) << tool.name;
  }
}

TEST(ChooseHook, SkipsAMissingFirstAlternative) {
  for (const ToolSpec& tool : tool_table()) {
    if (tool.hooks.size() < 2 || tool.hooks[0].hook == tool.hooks[1].hook) continue;
    Features f = faked(true);
    f.fake(tool.hooks[0].hook, {false, "faked: missing"});
    auto chosen = choose_hook(tool, f);
    ASSERT_TRUE(chosen.has_value()) << tool.name << ": " << chosen.error().message;
    EXPECT_EQ(*chosen, &tool.hooks[1]) << tool.name;
  }
}

TEST(ChooseHook, HonoursForcedAlternative) {
  Features f = faked(true);
  for (const ToolSpec& tool : tool_table()) {
    const HookAlternative& last = tool.hooks.back();
    auto chosen = choose_hook(tool, f, last.name);
    ASSERT_TRUE(chosen.has_value()) << tool.name << ": " << chosen.error().message;
    EXPECT_EQ(*chosen, &last) << tool.name;
  }
}

TEST(ChooseHook, ForcedMissingHookNamesIt) {
  for (const ToolSpec& tool : tool_table()) {
    const HookAlternative& last = tool.hooks.back();
    Features f = faked(true);
    f.fake(last.hook, {false, "faked: the kernel refused it"});
    auto chosen = choose_hook(tool, f, last.name);
    ASSERT_FALSE(chosen.has_value()) << tool.name;
    EXPECT_NE(chosen.error().message.find(hook_name(last.hook)), std::string::npos)
        << chosen.error().message;
    EXPECT_NE(chosen.error().message.find("faked: the kernel refused it"), std::string::npos)
        << chosen.error().message;
    EXPECT_FALSE(chosen.error().hint.empty());
  }
}

TEST(ChooseHook, ForcedUnknownAlternativeIsAnError) {
  Features f = faked(true);
  const ToolSpec& tool = *find_tool("exec");
  auto chosen = choose_hook(tool, f, "no-such-hook");
  ASSERT_FALSE(chosen.has_value());
  EXPECT_NE(chosen.error().message.find("no-such-hook"), std::string::npos)
      << chosen.error().message;
  // The hint lists what can be chosen instead.
  EXPECT_NE(chosen.error().hint.find(tool.hooks.front().name), std::string::npos)
      << chosen.error().hint;
}

TEST(ChooseHook, NoneWorkingNamesEveryMissingFeature) {
  Features f = faked(false);
  for (const ToolSpec& tool : tool_table()) {
    auto chosen = choose_hook(tool, f);
    ASSERT_FALSE(chosen.has_value()) << tool.name;
    const std::string& msg = chosen.error().message;
    for (const auto& alt : tool.hooks) {
      EXPECT_NE(msg.find(hook_name(alt.hook)), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::string(hook_name(alt.hook)) + " not in this test kernel"),
                std::string::npos)
          << msg;
    }
    EXPECT_FALSE(chosen.error().hint.empty());
  }
}

}  // namespace
}  // namespace kscope
