// Feature results and hook choice (find_hook, assess_hook, predict_hooks) for every tool in
// the registry, with faked features: no kernel, no privileges.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpf/features.h"
#include "registry/registry.h"
#include "sources/hooks.h"

namespace kscope {
namespace {

// A Features whose every hook, and every helper any tool's alternatives call, is faked, so
// nothing here touches the kernel.
Features faked(bool works) {
  Features f;
  for (Hook h : kAllHooks)
    f.fake(h, {works, works ? std::string("faked: works")
                            : "faked: missing, " + std::string(hook_name(h)) +
                                  " not in this test kernel"});
  for (const Tool* tool : all_tools())
    for (const auto& alt : tool->hooks()) {
      for (const auto& helper : alt.helpers)
        f.fake_helper(alt.hook, helper.id, {true, "faked: helper present"});
      if (alt.exact_with)
        f.fake_tracepoint_field(alt.exact_with->event, alt.exact_with->field, {true, "faked: present"});
    }
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

TEST(Features, FakeHelperIsReturnedPerHookFamily) {
  Features f;
  f.fake_helper(Hook::tracepoint, 42, {false, "faked: no helper 42"});
  EXPECT_FALSE(f.helper(Hook::tracepoint, 42, "helper 42").works);
  EXPECT_EQ(f.helper(Hook::tracepoint, 42, "helper 42").reason, "faked: no helper 42");
  // The tracing-family hooks share their helpers: asked as tracepoint programs.
  EXPECT_EQ(f.helper(Hook::tp_btf, 42, "helper 42").reason, "faked: no helper 42");
  f.fake_helper(Hook::tp_btf, 42, {true, "faked: now present"});
  EXPECT_TRUE(f.helper(Hook::tracepoint, 42, "helper 42").works);
}

std::vector<std::string> statuses(const std::vector<HookChoice>& choices) {
  std::vector<std::string> s;
  for (const auto& c : choices) s.push_back(c.status);
  return s;
}

TEST(PredictHooks, PicksTheFirstAlternativeWhenAllWork) {
  Features f = faked(true);
  for (const Tool* tool : all_tools()) {
    auto choices = predict_hooks(tool->hooks(), f);
    ASSERT_EQ(choices.size(), tool->hooks().size()) << tool->info().name;
    for (size_t i = 0; i < choices.size(); ++i) {
      EXPECT_EQ(choices[i].alt, &tool->hooks()[i]) << tool->info().name;
      EXPECT_EQ(choices[i].status, i == 0 ? "chosen" : "fallback") << tool->info().name;
      EXPECT_TRUE(choices[i].feature.works);
    }
  }
}

TEST(PredictHooks, SkipsAMissingFirstAlternative) {
  int checked = 0;
  for (const Tool* tool : all_tools()) {
    auto hooks = tool->hooks();
    if (hooks.size() < 2 || hooks[0].hook == hooks[1].hook) continue;
    Features f = faked(true);
    f.fake(hooks[0].hook, {false, "faked: missing"});
    auto choices = predict_hooks(hooks, f);
    EXPECT_EQ(choices[0].status, "skipped") << tool->info().name;
    EXPECT_EQ(choices[0].feature.reason, "faked: missing");
    EXPECT_EQ(choices[1].status, "chosen") << tool->info().name;
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no tool has two alternatives of different hook types";
}

TEST(PredictHooks, AMissingHelperSkipsItsAlternative) {
  int checked = 0;
  for (const Tool* tool : all_tools()) {
    auto hooks = tool->hooks();
    if (hooks.size() < 2 || hooks[0].helpers.empty()) continue;
    const HelperNeed& need = hooks[0].helpers.front();
    // A helper every alternative calls (trace syscount's task storage) leaves none to choose.
    if (std::ranges::any_of(hooks[1].helpers, [&](const HelperNeed& h) { return h.id == need.id; }))
      continue;
    Features f = faked(true);
    f.fake_helper(hooks[0].hook, need.id, {false, "faked: no " + std::string(need.name)});
    FeatureResult r = assess_hook(hooks[0], f);
    EXPECT_FALSE(r.works);
    EXPECT_EQ(r.reason, "faked: no " + std::string(need.name));
    EXPECT_EQ(statuses(predict_hooks(hooks, f))[0], "skipped");
    EXPECT_EQ(statuses(predict_hooks(hooks, f))[1], "chosen");
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no tool's first alternative needs a helper";
}

// Where the kernel lacks what makes an alternative exact, every exact alternative is tried
// first (in the tool's order), then the inexact ones, each saying why it is inexact.
TEST(PredictHooks, ExactAlternativesBeforeInexactOnes) {
  int checked = 0;
  for (const Tool* tool : all_tools()) {
    auto hooks = tool->hooks();
    std::vector<const HookAlternative*> exact, inexact;
    for (const auto& alt : hooks) (alt.exact_with ? inexact : exact).push_back(&alt);
    if (inexact.empty() || exact.empty()) continue;
    Features f = faked(true);
    const TracepointFieldNeed& need = *inexact.front()->exact_with;
    f.fake_tracepoint_field(need.event, need.field, {false, "faked: no group_dead"});
    auto choices = predict_hooks(hooks, f);
    ASSERT_EQ(choices.size(), hooks.size());
    for (size_t i = 0; i < choices.size(); ++i) {
      bool early = i < exact.size();
      EXPECT_EQ(choices[i].alt, early ? exact[i] : inexact[i - exact.size()]) << i;
      EXPECT_EQ(choices[i].status, i == 0 ? "chosen" : "fallback");
      EXPECT_EQ(choices[i].inexact, early ? std::nullopt
                                          : std::optional<std::string>("faked: no group_dead"));
    }
    // Where the kernel has it, the tool's own order stands and nothing is inexact.
    f.fake_tracepoint_field(need.event, need.field, {true, "faked: present"});
    auto ranked = rank_hooks(hooks, f);
    for (size_t i = 0; i < hooks.size(); ++i) EXPECT_EQ(ranked[i], &hooks[i]);
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no tool has an alternative that is inexact on some kernels";
}

TEST(PredictHooks, NoneWorkingNamesEveryMissingFeature) {
  Features f = faked(false);
  for (const Tool* tool : all_tools()) {
    auto choices = predict_hooks(tool->hooks(), f);
    ASSERT_EQ(choices.size(), tool->hooks().size());
    for (const auto& c : choices) {
      EXPECT_EQ(c.status, "missing") << tool->info().name;
      EXPECT_FALSE(c.feature.works);
      EXPECT_EQ(c.feature.reason,
                "faked: missing, " + std::string(hook_name(c.alt->hook)) + " not in this test kernel");
    }
  }
}

TEST(AssessHook, HookTypeThenHelpers) {
  Features f = faked(true);
  for (const Tool* tool : all_tools())
    for (const auto& alt : tool->hooks()) {
      EXPECT_TRUE(assess_hook(alt, f).works) << tool->info().name << " " << alt.name;
      EXPECT_EQ(assess_hook(alt, f).reason, "faked: works");
      // Without the hook type probe (the load itself tests it), a hook type already known
      // to be missing still fails; otherwise only the helpers are asked.
      f.fake(alt.hook, {false, "faked: missing"});
      EXPECT_FALSE(assess_hook(alt, f).works);
      FeatureResult known_missing = assess_hook(alt, f, /*probe_hook_type=*/false);
      EXPECT_FALSE(known_missing.works);
      EXPECT_EQ(known_missing.reason, "faked: missing");
      f.fake(alt.hook, {true, "faked: works"});
      FeatureResult helpers_only = assess_hook(alt, f, /*probe_hook_type=*/false);
      EXPECT_TRUE(helpers_only.works);
      EXPECT_EQ(helpers_only.reason, "helpers present");
    }
}

TEST(FindHook, EveryAlternativeByName) {
  for (const Tool* tool : all_tools())
    for (const auto& alt : tool->hooks()) {
      auto found = find_hook(tool->info().name, tool->hooks(), alt.name);
      ASSERT_TRUE(found.has_value()) << found.error().message;
      EXPECT_EQ(*found, &alt);
    }
}

TEST(FindHook, UnknownAlternativeListsTheOthers) {
  const Tool& exec = *find_tool("exec");
  auto found = find_hook("exec", exec.hooks(), "no-such-hook");
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().message, "--hook no-such-hook: trace exec has no such hook");
  EXPECT_EQ(found.error().hint, "choose one of: tracepoint, tp_btf");
}

}  // namespace
}  // namespace kscope
