#include "sources/hooks.h"

#include <fmt/format.h>

namespace kscope {

Result<const HookAlternative*> find_hook(std::string_view tool,
                                         std::span<const HookAlternative> hooks,
                                         std::string_view name) {
  std::string names;
  for (const auto& alt : hooks) {
    if (alt.name == name) return &alt;
    names += (names.empty() ? "" : ", ") + std::string(alt.name);
  }
  return fail(fmt::format("--hook {}: trace {} has no such hook", name, tool),
              fmt::format("choose one of: {}", names));
}

FeatureResult assess_hook(const HookAlternative& alt, Features& features, bool probe_hook_type) {
  if (probe_hook_type) {
    if (const auto& f = features.probe(alt.hook); !f.works) return f;
  } else if (auto f = features.known(alt.hook); f && !f->works) {
    return *f;  // known missing already (doctor probed it, or a test faked it): not tried again
  }
  for (const auto& h : alt.helpers)
    if (const auto& f = features.helper(alt.hook, h.id, h.name); !f.works) return f;
  return {true, probe_hook_type ? features.probe(alt.hook).reason : "helpers present"};
}

std::optional<std::string> inexact_here(const HookAlternative& alt, Features& features) {
  if (!alt.exact_with) return std::nullopt;
  const auto& need = *alt.exact_with;
  if (const auto& f = features.tracepoint_field(need.event, need.field, need.what); !f.works)
    return f.reason;
  return std::nullopt;
}

std::vector<const HookAlternative*> rank_hooks(std::span<const HookAlternative> hooks,
                                               Features& features) {
  std::vector<const HookAlternative*> exact, inexact;
  for (const auto& alt : hooks) (inexact_here(alt, features) ? inexact : exact).push_back(&alt);
  exact.insert(exact.end(), inexact.begin(), inexact.end());
  return exact;
}

std::vector<HookChoice> predict_hooks(std::span<const HookAlternative> hooks, Features& features) {
  std::vector<HookChoice> out;
  const HookAlternative* chosen = nullptr;
  for (const HookAlternative* alt : rank_hooks(hooks, features)) {
    FeatureResult f = assess_hook(*alt, features);
    std::string status = chosen ? "fallback" : f.works ? "chosen" : "skipped";
    if (!chosen && f.works) chosen = alt;
    out.push_back({alt, std::move(status), std::move(f), inexact_here(*alt, features)});
  }
  if (!chosen)
    for (auto& c : out) c.status = "missing";
  return out;
}

}  // namespace kscope
