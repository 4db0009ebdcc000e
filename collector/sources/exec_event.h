// trace exec in user space: the decoded event, its fields, and the argv limits.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bpf/result.h"
#include "exec.h"
#include "render/fields.h"

namespace kscope {

struct ArgLimits {
  uint32_t max_args = 128;      // --max-args
  uint32_t max_arg_len = 1024;  // --max-arg-len, bytes
};

// Checks the limits against what the probe can carry; the error names the flag.
Result<void> validate(const ArgLimits& limits);

struct ExecEvent {
  ks_event_header hdr;
  uint32_t ppid = 0;
  uint32_t ns_pid = 0;  // pid in the process's own pid namespace
  int32_t ret = 0;
  std::vector<std::string> args;
  bool args_truncated = false;  // an argument was cut, or argv had more than max_args
};

// Splits the NUL-separated argv and applies the limits, marking whatever they cut.
Result<ExecEvent> decode_exec(std::span<const std::byte> record, const ArgLimits& limits);

// The probe's own filter, for a replay (which bypasses the probe): successful execs, and with
// --failed the failed ones too.
inline bool exec_wanted(const ExecEvent& e, bool failed) { return failed || e.ret == 0; }

std::span<const Field<ExecEvent>> exec_fields();

}  // namespace kscope
