// trace oomkill: every victim of the OOM killer with the task that triggered it, the victim's
// memory, and what ran out, a memory cgroup (which) or the machine (oomkill, which needs
// kprobes). The whole user side of the tool; the kernel side is probes/oomkill.bpf.c and
// probes/oomkill.h.
#include <unistd.h>

#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "model/header_fields.h"
#include "oomkill.h"
#include "oomkill.skel.h"
#include "registry/tool.h"

KSCOPE_SKELETON(oomkill_bpf);

namespace kscope::tools {
namespace {

using Event = ks_oomkill_event;  // fixed-size: the record is the event

Result<void> add_clauses(const ToolArgs&, Filter&) { return {}; }

Result<Event> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_OOMKILL || record.size() != sizeof(Event))
    return fail(fmt::format("not an oomkill record (type {}, {} bytes)", h->type, record.size()));
  Event e;
  std::memcpy(&e, record.data(), sizeof(e));
  return e;
}

std::string_view domain_name(const Event& e) {
  switch (e.domain) {
    case KS_OOM_MEMCG:
      return "memcg";
    case KS_OOM_GLOBAL:
      return "global";
    case KS_OOM_CPUSET:
      return "cpuset";
    case KS_OOM_MEMPOLICY:
      return "mempolicy";
  }
  return "unknown";
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
    {{"victim_pid", "VPID", 7, FieldType::integer},
     [](const Event& e) { return int_value(e.victim_pid); }},
    {{"victim_tid", "", 0, FieldType::integer},
     [](const Event& e) { return int_value(e.victim_tid); }},
    {{"victim_comm", "VCOMM", 16, FieldType::text},
     [](const Event& e) { return Value(c_string(e.victim_comm, sizeof(e.victim_comm))); }},
    {{"victim_uid", "", 0, FieldType::integer},
     [](const Event& e) { return int_value(e.victim_uid); }},
    {{"victim_cgroup_id", "", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.victim_cgroup_id); }},
    {{"oom_score_adj", "", 0, FieldType::integer},
     [](const Event& e) { return int_value(e.oom_score_adj); }},
    {{"rss_kb", "RSS_KB", 9, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.anon_rss_kb + e.file_rss_kb + e.shmem_rss_kb); }},
    {{"total_vm_kb", "VM_KB", 10, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.total_vm_kb); }},
    {{"anon_rss_kb", "", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.anon_rss_kb); }},
    {{"file_rss_kb", "", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.file_rss_kb); }},
    {{"shmem_rss_kb", "", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.shmem_rss_kb); }},
    {{"pgtables_kb", "", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.pgtables_kb); }},
    {{"domain", "DOMAIN", 9, FieldType::text},
     [](const Event& e) { return Value(domain_name(e)); }},
    {{"oom_cgroup_id", "OOM_CGROUP", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.oom_cgroup_id); }},
    {{"totalpages", "", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.totalpages); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<oomkill_bpf>(
      setup, hooks, [&](Skeleton<oomkill_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->page_shift =
            std::countr_zero(static_cast<unsigned long>(sysconf(_SC_PAGESIZE)));
        return {};
      });
}

}  // namespace

const Tool& oomkill_tool() {
  static const ToolDef<Event> tool({
      .info = {"oomkill",
               "every OOM kill: victim, trigger, the victim's memory, and the memcg or machine "
               "that ran out",
               {"kscope trace oomkill",
                "kscope trace oomkill --cgroup /sys/fs/cgroup/app -o json"}},
      .flags = {},
      // mark_victim fires once per victim: tp_btf sees the victim's task, the tracepoint only
      // its record, and both learn the memcg from the trigger's last reclaim. fentry and kprobe
      // on oom_kill_process() read the oom_control (the memcg, the kind of global OOM, the page
      // count) exactly, once per kill decided.
      .hooks =
          {{"tp_btf",
            Hook::tp_btf,
            {"btf_mark_victim", "btf_memcg_reclaim_begin", "btf_direct_reclaim_begin"},
            "tp_btf mark_victim, mm_vmscan_{memcg,direct}_reclaim_begin",
            {}},
           {"tracepoint",
            Hook::tracepoint,
            {"tp_mark_victim", "tp_memcg_reclaim_begin", "tp_direct_reclaim_begin"},
            "oom:mark_victim, vmscan:mm_vmscan_{memcg,direct}_reclaim_begin",
            {}},
           {"fentry", Hook::fentry, {"fentry_oom_kill_process"}, "fentry oom_kill_process", {}},
           {"kprobe", Hook::kprobe, {"kprobe_oom_kill_process"}, "kprobe oom_kill_process", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
