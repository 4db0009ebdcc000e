// trace exec's live source: configure, load and attach probes/exec.bpf.c.
#pragma once

#include <memory>

#include "sources/exec_event.h"
#include "sources/live_probe.h"
#include "sources/probe_config.h"

namespace kscope {

Result<std::unique_ptr<LiveProbe>> open_exec_probe(const ProbeConfig& config,
                                                   const ArgLimits& limits);

}  // namespace kscope
