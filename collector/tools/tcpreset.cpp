// trace tcpreset: TCP resets this host sends and receives: addresses, ports, the socket's
// state, the process where there is one, and the kernel's reason for a sent one. The whole
// user side of the tool; the kernel side is probes/tcpreset.bpf.c and probes/tcpreset.h.
#include <bpf/btf.h>

#include <mutex>
#include <string>
#include <vector>

#include "model/header_fields.h"
#include "registry/tool.h"
#include "tcp_fields.h"
#include "tcpreset.h"
#include "tcpreset.skel.h"

KSCOPE_SKELETON(tcpreset_bpf);

namespace kscope::tools {
namespace {

using Event = ks_tcpreset_event;  // fixed-size: the record is the event

Result<void> add_clauses(const ToolArgs&, Filter&) { return {}; }

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_TCPRESET, "tcpreset");
}

// The names of the running kernel's enum sk_rst_reason (6.10+), read from its BTF on the
// first reset that carries a reason, without the SK_RST_REASON_ prefix: the numbers change
// between kernels, so no list is built in. Empty where the kernel has no such enum.
const std::vector<std::string>& reset_reasons() {
  static std::vector<std::string> names;
  static std::once_flag once;
  std::call_once(once, [] {
    btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return;
    int id = btf__find_by_name_kind(vmlinux, "sk_rst_reason", BTF_KIND_ENUM);
    if (id > 0) {
      const btf_type* t = btf__type_by_id(vmlinux, id);
      const struct btf_enum* e = btf_enum(t);
      for (int i = 0; i < btf_vlen(t); ++i, ++e) {
        std::string_view name = btf__name_by_offset(vmlinux, e->name_off);
        if (name.starts_with("SK_RST_REASON_")) name.remove_prefix(14);
        if (e->val < 0 || e->val > 1024) continue;  // a bound on a table indexed by value
        if (names.size() <= size_t(e->val)) names.resize(e->val + 1);
        names[e->val] = name;
      }
    }
    btf__free(vmlinux);
  });
  return names;
}

std::string_view reason_name(int32_t reason) {
  if (reason == KS_TCPRESET_NO_REASON) return "";
  const auto& names = reset_reasons();
  if (reason >= 0 && size_t(reason) < names.size() && !names[reason].empty()) return names[reason];
  return "UNKNOWN";
}

namespace hf = header_fields;
using F = Field<Event>;
const F kFields[] = {
    hf::time<Event>(),
    hf::pid<Event>(),
    hf::tid<Event>(),
    hf::comm<Event>(),
    hf::uid<Event>(),
    hf::cgroup_id<Event>(),
    tcp::in_process<Event, KS_TCPRESET_IN_TASK>(),
    {{"direction", "DIR", 8, FieldType::text},
     [](const Event& e) {
       return Value(std::string_view(e.flags & KS_TCPRESET_RECEIVED ? "received" : "sent"));
     }},
    tcp::skaddr<Event>(),
    tcp::laddr<Event>(),
    tcp::lport<Event>(),
    tcp::raddr<Event>(),
    tcp::rport<Event>(),
    tcp::state<Event>(),
    {{"reason", "REASON", 0, FieldType::text},
     [](const Event& e) { return Value(reason_name(e.reason)); }},
    {{"reason_code", "", 0, FieldType::integer},
     [](const Event& e) { return int_value(e.reason); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<tcpreset_bpf>(
      setup, hooks,
      [](Skeleton<tcpreset_bpf>&, const HookAlternative&) -> Result<void> { return {}; });
}

// Where tcp_send_reset has no reason (before 6.10) it does not fire for a reset sent
// without a socket either (a closed port): the same kernel change brought both.
constexpr TracepointFieldNeed kNoSocketResets{
    "tcp/tcp_send_reset", "reason",
    "resets sent without a socket in tcp_send_reset (6.10; 6.18 has them, 6.1 not)"};

}  // namespace

const Tool& tcpreset_tool() {
  static const ToolDef<Event> tool({
      .info = {"tcpreset",
               "TCP resets sent and received: addresses, ports, state, process, and reason",
               {"kscope trace tcpreset", "kscope trace tcpreset -o json"}},
      .flags = {},
      // The tracepoints first; where they miss resets sent without a socket (6.1), fentry and
      // kprobes on the functions that send and take resets see them too.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_tcp_send_reset", "tp_tcp_receive_reset"},
                 "tcp:tcp_{send,receive}_reset", {}, kNoSocketResets},
                {"fentry", Hook::fentry,
                 {"fentry_tcp_v4_send_reset", "fentry_tcp_v6_send_reset",
                  "fentry_tcp_send_active_reset", "fentry_tcp_reset"},
                 "fentry tcp_v{4,6}_send_reset, tcp_send_active_reset, tcp_reset", {}},
                {"kprobe", Hook::kprobe,
                 {"kprobe_tcp_v4_send_reset", "kprobe_tcp_v6_send_reset",
                  "kprobe_tcp_send_active_reset", "kprobe_tcp_reset"},
                 "kprobe tcp_v{4,6}_send_reset, tcp_send_active_reset, tcp_reset", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
