// What the socket-call tools' files share (connect, accept, connlat, bind, listen), besides
// the endpoint fields of tcp_fields.h: the address family and the protocol of a socket, the
// clauses of --failed and --port and the probe knobs that compile them, and the hook
// alternatives' needs.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/skeleton.h"
#include "filter/filter.h"
#include "model/field.h"
#include "registry/tool.h"
#include "sources/hooks.h"
#include "sources/probe.h"

namespace kscope::tools::socket_call {

// 4 or 6, as tcpconnect's IP column (for any event with a member `ends`).
template <class Event>
constexpr Field<Event> family() {
  return {{"family", "IP", 2, FieldType::integer},
          [](const Event& e) { return int_value(e.ends.family); }};
}

// A socket's IP protocol as bindsnoop names it, or its number: the symbols of a `flags`
// field, so that the table and JSON show the name and a filter compares the number.
inline std::string protocol_name(uint64_t protocol) {
  switch (protocol) {
    case 6: return "TCP";
    case 17: return "UDP";
    case 132: return "SCTP";
    case 136: return "UDPLITE";
    case 262: return "MPTCP";
    default: return std::to_string(protocol);
  }
}

// What a syscalls exit tracepoint program needs to read the call's arguments from the
// registers it was entered with.
inline const std::vector<HelperNeed> kSavedRegsHelpers = {
    {BPF_FUNC_task_pt_regs, "bpf_task_pt_regs (Linux 5.15)"},
    {BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf (Linux 5.11)"},
};

// --failed: errno != 0 (trace connect adds errno != EINPROGRESS).
inline void add_failed_clause(const ToolArgs& a, Filter& f) {
  if (a.flag("--failed")) f.add({"errno", Op::ne, int64_t{0}, "--failed"});
}

// --port N on the tool's port field: rport (the peer's) or lport (this host's).
inline void add_port_clause(const ToolArgs& a, Filter& f, std::string_view port_key) {
  if (auto port = a.number("--port"))
    f.add({std::string(port_key), Op::eq, int64_t(port), "--port"});
}

// The clauses of accept, bind and listen: --failed, and --port on the local port.
inline Result<void> failed_and_local_port(const ToolArgs& a, Filter& f) {
  add_failed_clause(a, f);
  add_port_clause(a, f, "lport");
  return {};
}

// Loads probe T, its knobs claiming the clauses they compile: every `errno != N` (--failed)
// into failed_only, where the probe has one, and `port_key == N` (--port) into port_filter.
// Where only the kprobe alternative keeps each call's arguments from entry to exit
// (probes/common/sock_call.bpf.h), the other alternatives' sock_calls map shrinks to one entry.
template <class T>
Result<std::unique_ptr<LiveProbe>> open_probe(ProbeSetup& setup,
                                              std::span<const HookAlternative> hooks,
                                              std::string_view port_key,
                                              bool only_kprobe_keeps_calls) {
  return load_live_probe<T>(
      setup, hooks, [&](Skeleton<T>& skel, const HookAlternative& alt) -> Result<void> {
        auto* ro = skel->rodata;
        Filter& f = *setup.filter;
        if constexpr (requires { ro->failed_only; }) {
          for (size_t i = 0; i < f.size(); ++i) {
            if (f.clause(i).key == "errno" && f.clause(i).op == Op::ne) {
              f.claim(f.clause(i));
              ro->failed_only = 1;
            }
          }
        }
        if (auto* c = f.claim(port_key, Op::eq)) ro->port_filter = std::get<int64_t>(c->operand);
        if (only_kprobe_keeps_calls && alt.hook != Hook::kprobe)
          return object::resize_map(skel.object(), "sock_calls", 1);
        return {};
      });
}

}  // namespace kscope::tools::socket_call
