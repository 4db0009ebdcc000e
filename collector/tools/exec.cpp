// trace exec: every execve/execveat with pid, ppid, uid, result and the full argv
// (execsnoop). The whole user side of the tool: flags, hook alternatives, probe setup,
// decoder, fields and filter. The kernel side is probes/exec.bpf.c and probes/exec.h.
#include <linux/bpf.h>

#include <cstring>

#include <fmt/format.h>

#include "exec.h"
#include "exec.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"

KSCOPE_SKELETON(exec_bpf);

namespace kscope::tools {
namespace {

struct ExecEvent {
  ks_event_header hdr;
  uint32_t ppid = 0;
  uint32_t ns_pid = 0;  // pid in the process's own pid namespace
  int32_t ret = 0;
  std::vector<std::string> args;
  bool args_truncated = false;   // an argument was cut, or argv had more than --max-args
  bool args_unreadable = false;  // reading argv faulted: args holds what came before
  bool argv_missing = false;     // a failed exec whose argv the probe had not kept: no args
};

const FlagSpec kFlags[] = {
    {"-x,--failed", "Also show failed execs, with their errno (by default only successful ones)"},
    {"--max-args", "Show at most this many arguments", FlagKind::number, 1, KS_EXEC_MAX_ARGS, 128},
    {"--max-arg-len", "Cut each argument to this many bytes", FlagKind::number, 1,
     KS_EXEC_MAX_ARG_LEN, 1024},
};

struct Limits {
  uint32_t max_args, max_arg_len;
};

Limits limits(const ToolArgs& a) {
  return {static_cast<uint32_t>(a.number("--max-args")),
          static_cast<uint32_t>(a.number("--max-arg-len"))};
}

// By default only successful execs: the clause the probe compiles as include_failed = 0.
Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (!a.flag("--failed")) f.add({"ret", Op::eq, int64_t{0}, "without --failed"});
  return {};
}

// Splits the NUL-separated argv and applies the limits, marking whatever they cut.
Result<ExecEvent> decode(std::span<const std::byte> record, Limits limits) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  constexpr size_t fixed = offsetof(ks_exec_event, args);
  if (h->type != KS_EVENT_EXEC || record.size() < fixed)
    return fail(fmt::format("not an exec record (type {}, {} bytes)", h->type, record.size()));
  ks_exec_event raw;
  std::memcpy(&raw, record.data(), fixed);
  if (raw.args_size != record.size() - fixed)
    return fail(fmt::format("exec record says {} argv bytes, carries {}", raw.args_size,
                            record.size() - fixed));
  ExecEvent e;
  e.hdr = *h;
  e.ppid = raw.ppid;
  e.ns_pid = raw.ns_tgid;
  e.ret = raw.ret;
  e.args_truncated = raw.flags & (KS_EXEC_MORE_ARGS | KS_EXEC_ARGS_CUT);
  e.args_unreadable = raw.flags & KS_EXEC_ARGS_UNREADABLE;
  e.argv_missing = raw.flags & KS_EXEC_ARGV_MISSING;
  const char* p = reinterpret_cast<const char*>(record.data()) + fixed;
  const char* end = p + raw.args_size;
  while (p < end) {
    const char* nul = static_cast<const char*>(std::memchr(p, '\0', end - p));
    size_t len = (nul ? nul : end) - p;
    if (e.args.size() == limits.max_args) {
      e.args_truncated = true;
      break;
    }
    if (len > limits.max_arg_len) {
      len = limits.max_arg_len;
      e.args_truncated = true;
    }
    e.args.emplace_back(p, len);
    if (!nul) break;  // the probe's buffer cut this argument (ARGS_CUT is set)
    p = nul + 1;
  }
  return e;
}

// Ends the ARGS cell of an event whose argv the probe could not read whole.
std::string_view args_mark(const ExecEvent& e) {
  if (e.argv_missing) return "<argv missing>";
  return e.args_unreadable ? "<unreadable>" : "";
}

bool partly_read(const ExecEvent& e) { return e.args_unreadable || e.argv_missing; }

namespace hf = header_fields;
using F = Field<ExecEvent>;
const F kFields[] = {
    hf::time<ExecEvent>(),
    hf::comm<ExecEvent>("PCOMM"),
    {{"pid", "PID", 7, FieldType::pid},
     [](const ExecEvent& e) { return Value(PidInNs{e.hdr.tgid, e.ns_pid}); }},
    {{"ns_pid", "", 0, FieldType::integer}, [](const ExecEvent& e) { return int_value(e.ns_pid); }},
    {{"ppid", "PPID", 7, FieldType::integer}, [](const ExecEvent& e) { return int_value(e.ppid); }},
    hf::uid<ExecEvent>(),
    hf::cgroup_id<ExecEvent>(),
    {{"ret", "RET", 4, FieldType::integer}, [](const ExecEvent& e) { return int_value(e.ret); }},
    {{"args", "ARGS", 0, FieldType::argv},
     [](const ExecEvent& e) { return Value(ArgvView{e.args, e.args_truncated}); }, args_mark},
    {{"args_truncated", "", 0, FieldType::boolean},
     [](const ExecEvent& e) { return Value(e.args_truncated); }},
    {{"args_unreadable", "", 0, FieldType::boolean},
     [](const ExecEvent& e) { return Value(e.args_unreadable); }},
    {{"argv_missing", "", 0, FieldType::boolean},
     [](const ExecEvent& e) { return Value(e.argv_missing); }},
};

const ProbeCounter kCounters[] = {
    {"exec_argv_missing", "argv_missing",
     "failed execs whose argv the probe had not kept (evicted from its map, or begun before "
     "the trace)"},
};

// Only a failed exec needs the argv pointer its enter hook stores (a successful one reads
// the new mm), so the enter programs load only when failed execs are asked for.
const std::string_view kEnterPrograms[] = {"tp_enter_execve", "tp_enter_execveat", "btf_sys_enter"};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  Limits l = limits(args);
  return load_live_probe<exec_bpf>(
      setup, hooks, [&](Skeleton<exec_bpf>& skel, const HookAlternative&) -> Result<void> {
        if (auto r = object::resize_map(skel.object(), "exec_scratch", libbpf_num_possible_cpus()); !r)
          return r;
        const Clause* only_ok = setup.filter->find("ret", Op::eq);
        bool include_failed = !only_ok || std::get<int64_t>(only_ok->operand) != 0;
        if (only_ok && !include_failed) setup.filter->claim(*only_ok);
        if (!include_failed) {
          for (auto name : kEnterPrograms)
            if (auto* prog = bpf_object__find_program_by_name(skel.object(), name.data()))
              bpf_program__set_autoload(prog, false);
          // Nothing fills the argv map then; it stays only because the exit program names it.
          if (auto r = object::resize_map(skel.object(), "exec_argv", 1); !r) return r;
        }
        skel->rodata->include_failed = include_failed;
        skel->rodata->max_args = l.max_args;
        skel->rodata->max_arg_len = l.max_arg_len;
        return {};
      });
}

}  // namespace

const Tool& exec_tool() {
  static const ToolDef<ExecEvent> tool({
      .info = {"exec", "every execve/execveat: pid, ppid, uid, result and the full argv",
               {"kscope trace exec --failed --max-args 32", "kscope trace exec -o json --count 10"}},
      .flags = kFlags,
      // The per-syscall tracepoints fire only for the syscalls traced, but never for a 32-bit
      // one: sched_process_exec reports the execs that load a 32-bit program. The raw
      // sys_enter/exit fallback sees every syscall, 32-bit ones too, and filters by number,
      // for kernels built without CONFIG_FTRACE_SYSCALLS.
      .hooks = {{"tracepoint", Hook::tracepoint,
                 {"tp_enter_execve", "tp_enter_execveat", "tp_exit_execve", "tp_exit_execveat",
                  "tp_sched_process_exec"},
                 "syscalls:sys_{enter,exit}_{execve,execveat}, sched:sched_process_exec", {}},
                {"tp_btf", Hook::tp_btf, {"btf_sys_enter", "btf_sys_exit"},
                 "tp_btf sys_enter, sys_exit", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs& a) -> ToolSpec<ExecEvent>::Decode {
        return [l = limits(a)](std::span<const std::byte> r) { return decode(r, l); };
      },
      .open = open,
      .partial = partly_read,
      .counters = kCounters,
  });
  return tool;
}

}  // namespace kscope::tools
