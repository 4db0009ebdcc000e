// `kscope doctor`'s checks: what this kernel and this process allow, found by really loading
// and attaching a tiny program per hook type, and which hook every tool will use here and
// why. The CLI only prints the report.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "bpf/capabilities.h"
#include "bpf/features.h"
#include "bpf/mounts.h"
#include "registry/tool.h"
#include "sources/hooks.h"

namespace kscope::doctor {

inline constexpr const char* kBtfPath = "/sys/kernel/btf/vmlinux";

// The capabilities kscope's work touches, and what each is for.
struct NeededCap {
  int cap;
  const char* why;
};
std::span<const NeededCap> needed_caps();
std::string cap_name(int cap);

struct ToolRow {
  const Tool* tool;
  std::vector<HookChoice> alternatives;
  const HookChoice* chosen() const;  // null when no alternative can work here
  std::string why_none() const;      // every alternative's reason, when none can work
};

struct Report {
  std::string release, machine;
  Result<TracefsStatus> tracefs;
  Result<std::string> bpffs;
  Capabilities caps;
  int last_cap = 40;
  std::vector<std::pair<Hook, const FeatureResult*>> hooks;
  std::vector<ToolRow> tools;
  std::optional<Error> fatal;  // why kscope cannot work here at all

  const FeatureResult& feature(Hook h) const;
};

Report collect();

// Which alternative each tool would use here (the feature probes' prediction), for
// `kscope trace --list`.
std::vector<ToolRow> tool_rows(Features& features);

}  // namespace kscope::doctor
