// trace open's live source: configure, load and attach probes/open.bpf.c.
#pragma once

#include <memory>
#include <string>

#include "sources/live_probe.h"
#include "sources/open_event.h"
#include "sources/probe_config.h"

namespace kscope {

// --path: at most KS_OPEN_PREFIX_MAX bytes, compared in the probe.
Result<void> validate_path_prefix(const std::string& prefix);

Result<std::unique_ptr<LiveProbe>> open_open_probe(const ProbeConfig& config,
                                                   const std::string& path_prefix);

}  // namespace kscope
