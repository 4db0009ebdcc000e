// What trace tcpretrans and trace tcpretranscount share on the user side: --failed, and the
// hooks of probes/common/tcp_retransmit.bpf.h.
#pragma once

#include <vector>

#include "registry/tool.h"

namespace kscope::tools::tcp_retransmits {

// Like trace exec: segments sent by default, the failed attempts with --failed. The probe
// compiles both into failed_only.
inline constexpr FlagSpec kFailedFlag{
    "-x,--failed", "Only retransmit attempts that sent nothing, with the error (kernels whose "
                   "tcp_retransmit_skb has err, 6.18; never on 6.1)"};

inline std::vector<HookAlternative> hooks() {
  return {{"tracepoint", Hook::tracepoint, {"tp_tcp_retransmit_skb", "tp_tcp_retransmit_synack"},
           "tcp:tcp_retransmit_{skb,synack}", {}}};
}

}  // namespace kscope::tools::tcp_retransmits
