// trace exit: every process exit (and with --threads every thread exit) with its exit code
// or signal, its lifetime, and whether the whole process ended (exitsnoop). The whole user
// side of the tool; the kernel side is probes/exit.bpf.c and probes/exit.h.
#include <cstring>

#include <fmt/format.h>

#include "exit.h"
#include "exit.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"

KSCOPE_SKELETON(exit_bpf);

namespace kscope::tools {
namespace {

using ExitEvent = ks_exit_event;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-x,--failed", "Only exits with a non-zero status: an error code or a signal (exitsnoop -x)"},
    {"-t,--threads", "Also show the exits of single threads, not only of whole processes"},
};

// The filter the flags mean: the probe compiles both (failed_only, include_threads).
Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (a.flag("--failed")) f.add({"status", Op::ne, int64_t{0}, "--failed"});
  if (!a.flag("--threads")) f.add({"scope", Op::eq, std::string("process"), "without --threads"});
  return {};
}

Result<ExitEvent> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_EXIT || record.size() != sizeof(ExitEvent))
    return fail(fmt::format("not an exit record (type {}, {} bytes)", h->type, record.size()));
  ExitEvent e;
  std::memcpy(&e, record.data(), sizeof(e));
  return e;
}

// wait(2)'s encoding: a signal in the low 7 bits, 0x80 for a core dump, else code << 8.
uint32_t signal_of(const ExitEvent& e) { return e.status & 0x7f; }
uint32_t code_of(const ExitEvent& e) { return signal_of(e) ? 0 : (e.status >> 8) & 0xff; }

namespace hf = header_fields;
using F = Field<ExitEvent>;
const F kFields[] = {
    hf::time<ExitEvent>(),
    hf::comm<ExitEvent>("PCOMM"),
    {{"pid", "PID", 7, FieldType::pid},
     [](const ExitEvent& e) { return Value(PidInNs{e.hdr.tgid, e.ns_tgid}); }},
    {{"ns_pid", "", 0, FieldType::integer}, [](const ExitEvent& e) { return int_value(e.ns_tgid); }},
    hf::tid<ExitEvent>("TID"),
    {{"ppid", "PPID", 7, FieldType::integer}, [](const ExitEvent& e) { return int_value(e.ppid); }},
    hf::uid<ExitEvent>(),
    hf::cgroup_id<ExitEvent>(),
    {{"age_ns", "AGE(s)", 8, FieldType::duration},
     [](const ExitEvent& e) { return uint_value(e.age_ns); }},
    {{"exit_code", "CODE", 4, FieldType::integer},
     [](const ExitEvent& e) { return int_value(code_of(e)); }},
    {{"signal", "SIGNAL", 7, FieldType::signal},
     [](const ExitEvent& e) { return int_value(signal_of(e)); }},
    {{"core_dumped", "", 0, FieldType::boolean},
     [](const ExitEvent& e) { return Value((e.status & 0x80) != 0); }},
    {{"status", "", 0, FieldType::integer}, [](const ExitEvent& e) { return int_value(e.status); }},
    {{"scope", "SCOPE", 7, FieldType::text},
     [](const ExitEvent& e) {
       return Value(std::string_view(e.flags & KS_EXIT_PROCESS ? "process" : "thread"));
     }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<exit_bpf>(
      setup, hooks, [&](Skeleton<exit_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->failed_only = setup.filter->claim("status", Op::ne) != nullptr;
        skel->rodata->include_threads = setup.filter->claim("scope", Op::eq) == nullptr;
        return {};
      });
}

constexpr TracepointFieldNeed kGroupDead{"sched/sched_process_exit", "group_dead",
                                         "group_dead in sched_process_exit (6.18 has it, 6.1 not)"};

}  // namespace

const Tool& exit_tool() {
  static const ToolDef<ExitEvent> tool({
      .info = {"exit", "every process exit: exit code or signal, lifetime, and threads with -t",
               {"kscope trace exit --failed", "kscope trace exit --threads -o json"}},
      .flags = kFlags,
      // sched_process_exit fires after do_exit() stored the status; kprobe and fentry on
      // taskstats_exit(), which do_exit() calls just before, see the same values. Before
      // the tracepoint passed group_dead, its hooks can only guess which thread ended the
      // process (probes/exit.bpf.c), so where kprobe or fentry work they go first.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_sched_process_exit"},
                 "sched:sched_process_exit", {}, kGroupDead},
                {"tp_btf", Hook::tp_btf, {"btf_sched_process_exit"}, "tp_btf sched_process_exit",
                 {}, kGroupDead},
                {"raw_tp", Hook::raw_tp, {"raw_sched_process_exit"}, "raw_tp sched_process_exit",
                 {}, kGroupDead},
                {"fentry", Hook::fentry, {"fentry_taskstats_exit"}, "fentry taskstats_exit", {}},
                {"kprobe", Hook::kprobe, {"kprobe_taskstats_exit"}, "kprobe taskstats_exit", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<ExitEvent>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
