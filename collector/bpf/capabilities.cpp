#include "bpf/capabilities.h"

#include <linux/capability.h>

#include <fstream>
#include <string>

namespace kscope {

Capabilities current_capabilities() {
  Capabilities caps;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("CapEff:")) caps.effective = std::stoull(line.substr(7), nullptr, 16);
  return caps;
}

Result<void> require_tracing_privileges(const Capabilities& caps) {
  if (caps.has(CAP_SYS_ADMIN)) return {};
  if (caps.has(CAP_BPF) && caps.has(CAP_PERFMON)) return {};
  const char* missing = !caps.has(CAP_BPF) && !caps.has(CAP_PERFMON) ? "CAP_BPF and CAP_PERFMON"
                        : !caps.has(CAP_BPF)                         ? "CAP_BPF"
                                                                     : "CAP_PERFMON";
  return fail(std::string("missing privileges: loading tracing probes needs ") + missing +
                  " (or CAP_SYS_ADMIN)",
              "run as root (sudo kscope ...), or: setcap cap_bpf,cap_perfmon+ep $(which kscope)",
              1 /* EPERM */);
}

Result<void> require_network_privileges(const Capabilities& caps) {
  if (caps.has(CAP_SYS_ADMIN)) return {};
  if (caps.has(CAP_BPF) && caps.has(CAP_NET_ADMIN)) return {};
  const char* missing = !caps.has(CAP_BPF) && !caps.has(CAP_NET_ADMIN) ? "CAP_BPF and CAP_NET_ADMIN"
                        : !caps.has(CAP_BPF)                           ? "CAP_BPF"
                                                                       : "CAP_NET_ADMIN";
  return fail(std::string("missing privileges: counting flows needs ") + missing +
                  " (or CAP_SYS_ADMIN)",
              "run as root (sudo kscope flows ...), or: setcap cap_bpf,cap_net_admin+ep "
              "$(which kscope)",
              1 /* EPERM */);
}

}  // namespace kscope
