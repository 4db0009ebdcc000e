// trace signal: every signal generated, with its sender, target, si_code and result, and every
// kill/tkill/tgkill that failed before generating one (sigsnoop, with the failed calls and the
// target's process). The whole user side of the tool; the kernel side is probes/signal.bpf.c
// and probes/signal_event.h.
#include <linux/bpf.h>
#include <signal.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "model/header_fields.h"
#include "model/symbols.h"
#include "registry/tool.h"
#include "signal.skel.h"
#include "signal_event.h"

KSCOPE_SKELETON(signal_bpf);

namespace kscope::tools {
namespace {

using Event = ks_signal_event;  // fixed-size: the record is the event

constexpr int kMaxSignal = 64;  // the kernel's _NSIG

const FlagSpec kFlags[] = {
    {"-x,--failed",
     "Only signals that were not delivered (ignored, already pending, queue full) and "
     "kill/tkill/tgkill calls that failed (implies --calls)"},
    {"--calls",
     "Also kill/tkill/tgkill calls that failed before generating a signal (ESRCH, EPERM, "
     "EINVAL): hooks the syscalls' exit, which every syscall on the machine then pays for"},
    {"-s,--signal",
     "Only this signal, a number or a name (9, KILL, SIGKILL); without it every signal but "
     "SIGCHLD",
     FlagKind::text},
};

// "SIGUSR1", "usr1" or "10" -> 10; 0 is kill(pid, 0), which checks a pid without a signal.
Result<int> parse_signal(const std::string& text) {
  int sig = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), sig);
  if (ec == std::errc() && end == text.data() + text.size() && sig >= 0 && sig <= kMaxSignal)
    return sig;
  std::string name;
  for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!name.starts_with("SIG")) name = "SIG" + name;
  for (int s = 1; s <= kMaxSignal; ++s)
    if (signal_name(s) == name) return s;
  return fail("--signal " + text + ": not a signal",
              "give a number from 0 to 64 or a name: KILL, SIGTERM, usr1");
}

// All compiled into the probe: failed_only, only_sig, skip_sigchld.
Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (a.flag("--failed")) f.add({"failed", Op::eq, int64_t{1}, "--failed"});
  if (const auto& s = a.text("--signal"); !s.empty()) {
    auto sig = parse_signal(s);
    if (!sig) return std::unexpected(sig.error());
    f.add({"signal", Op::eq, int64_t{*sig}, "--signal " + s});
  } else {
    f.add({"signal", Op::ne, int64_t{SIGCHLD}, "without --signal"});
  }
  return {};
}

Result<Event> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_SIGNAL || record.size() != sizeof(Event))
    return fail(fmt::format("not a signal record (type {}, {} bytes)", h->type, record.size()));
  Event e;
  std::memcpy(&e, record.data(), sizeof(e));
  return e;
}

bool failed_call(const Event& e) { return e.flags & KS_SIGNAL_FAILED_CALL; }

bool failed(const Event& e) {
  return failed_call(e) || e.result == KS_SIGNAL_IGNORED || e.result == KS_SIGNAL_ALREADY_PENDING ||
         e.result == KS_SIGNAL_OVERFLOW_FAIL;
}

// The result of a generated signal as include/trace/events/signal.h names it, or the errno of
// a failed call ("ESRCH"; the errno field has the number).
std::string_view result_name(const Event& e) {
  if (failed_call(e)) {
    const char* name = strerrorname_np(e.err);
    return name ? name : "failed";
  }
  switch (e.result) {
    case KS_SIGNAL_DELIVERED:
      return "delivered";
    case KS_SIGNAL_IGNORED:
      return "ignored";
    case KS_SIGNAL_ALREADY_PENDING:
      return "already_pending";
    case KS_SIGNAL_OVERFLOW_FAIL:
      return "overflow_fail";
    case KS_SIGNAL_LOSE_INFO:
      return "lose_info";
  }
  return "unknown";
}

std::string_view via_name(const Event& e) {
  switch (e.via) {
    case KS_SIGNAL_VIA_KILL:
      return "kill";
    case KS_SIGNAL_VIA_TKILL:
      return "tkill";
    case KS_SIGNAL_VIA_TGKILL:
      return "tgkill";
    case KS_SIGNAL_VIA_TIMER:
      return "timer";
  }
  return "-";
}

// si_code by name: the codes any signal may carry, and those of the signals the kernel sends
// most (SIGCHLD's, SIGSEGV's, SIGBUS's); "" for others (si_code has every code's number).
std::string_view code_name(const Event& e) {
  switch (e.code) {
    case SI_USER:
      return "SI_USER";
    case SI_KERNEL:
      return "SI_KERNEL";
    case SI_QUEUE:
      return "SI_QUEUE";
    case SI_TIMER:
      return "SI_TIMER";
    case SI_MESGQ:
      return "SI_MESGQ";
    case SI_ASYNCIO:
      return "SI_ASYNCIO";
    case SI_SIGIO:
      return "SI_SIGIO";
    case SI_TKILL:
      return "SI_TKILL";
    case SI_ASYNCNL:
      return "SI_ASYNCNL";
  }
  static constexpr struct {
    int sig, code;
    const char* name;
  } kPerSignal[] = {
      {SIGCHLD, CLD_EXITED, "CLD_EXITED"},   {SIGCHLD, CLD_KILLED, "CLD_KILLED"},
      {SIGCHLD, CLD_DUMPED, "CLD_DUMPED"},   {SIGCHLD, CLD_TRAPPED, "CLD_TRAPPED"},
      {SIGCHLD, CLD_STOPPED, "CLD_STOPPED"}, {SIGCHLD, CLD_CONTINUED, "CLD_CONTINUED"},
      {SIGSEGV, SEGV_MAPERR, "SEGV_MAPERR"}, {SIGSEGV, SEGV_ACCERR, "SEGV_ACCERR"},
      {SIGBUS, BUS_ADRALN, "BUS_ADRALN"},    {SIGBUS, BUS_ADRERR, "BUS_ADRERR"},
      {SIGBUS, BUS_OBJERR, "BUS_OBJERR"},
  };
  for (const auto& c : kPerSignal)
    if (c.sig == e.sig && c.code == e.code) return c.name;
  return "";
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
    {{"signal", "SIGNAL", 9, FieldType::signal}, [](const Event& e) { return int_value(e.sig); }},
    {{"target_pid", "TPID", 7, FieldType::integer},
     [](const Event& e) { return int_value(e.target_pid); }},
    {{"target_tid", "TTID", 7, FieldType::integer},
     [](const Event& e) { return int_value(e.target_tid); }},
    {{"target_comm", "TCOMM", 16, FieldType::text},
     [](const Event& e) { return Value(c_string(e.target_comm, sizeof(e.target_comm))); }},
    {{"via", "VIA", 6, FieldType::text}, [](const Event& e) { return Value(via_name(e)); }},
    {{"code", "CODE", 11, FieldType::text}, [](const Event& e) { return Value(code_name(e)); }},
    {{"si_code", "", 0, FieldType::integer}, [](const Event& e) { return int_value(e.code); }},
    {{"group", "", 0, FieldType::boolean},
     [](const Event& e) { return Value((e.flags & KS_SIGNAL_GROUP) != 0); }},
    {{"errno", "", 0, FieldType::errno_code},
     [](const Event& e) { return int_value(failed_call(e) ? e.err : 0); }},
    {{"failed", "", 0, FieldType::boolean}, [](const Event& e) { return Value(failed(e)); }},
    {{"result", "RESULT", 0, FieldType::text},
     [](const Event& e) { return Value(result_name(e)); }},
};

// The programs an alternative attaches after the rest (programs() puts them first): an
// hrtimer entry whose exit is not attached yet would leave its callback open, and the task it
// interrupted would seem to send the timer's signals; a signal_generate that notes a call whose
// exit is not attached yet would hide that thread's next failed call.
constexpr size_t kAttachedLast = 2;

Result<std::vector<Link>> attach_last(Skeleton<signal_bpf>& skel, const HookAlternative& alt) {
  std::vector<Link> links;
  for (size_t i = 0; i < kAttachedLast; ++i) {
    const std::string& name = alt.programs.at(i);
    bpf_program* prog = bpf_object__find_program_by_name(skel.object(), name.c_str());
    bpf_link* link = prog ? bpf_program__attach(prog) : nullptr;
    if (!link) return fail_errno("attach " + name, prog ? errno : ENOENT);
    links.emplace_back(link);
  }
  return links;
}

// Programs of an alternative from this index on are the calls' exits (programs()).
constexpr size_t kFirstExit = 3;

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<signal_bpf>(
      setup, hooks,
      [&](Skeleton<signal_bpf>& skel, const HookAlternative& alt) -> Result<void> {
        auto* ro = skel->rodata;
        ro->failed_only = setup.filter->claim("failed", Op::eq) != nullptr;
        if (const Clause* c = setup.filter->claim("signal", Op::eq)) {
          ro->only_sig_set = 1;
          ro->only_sig = std::get<int64_t>(c->operand);
        }
        ro->skip_sigchld = setup.filter->claim("signal", Op::ne) != nullptr;
        // Without the calls, no syscall exit is hooked, and the machine's syscalls stay off
        // the tracing slow path (a kill storm: 87 % of its untraced rate, not 75 %;
        // docs/benchmarks.md).
        ro->trace_calls = args.flag("--calls") || ro->failed_only;
        if (!ro->trace_calls)
          for (size_t i = kFirstExit; i < alt.programs.size(); ++i)
            bpf_program__set_autoload(
                bpf_object__find_program_by_name(skel.object(), alt.programs[i].c_str()), false);
        for (size_t i = 0; i < kAttachedLast; ++i)
          bpf_program__set_autoattach(
              bpf_object__find_program_by_name(skel.object(), alt.programs.at(i).c_str()), false);
        return {};
      },
      attach_last);
}

// An alternative's programs, all of its hook type: signal_generate and hrtimer_expire_entry
// (attached last: kAttachedLast), hrtimer_expire_exit, and the calls' exits (kFirstExit on).
std::vector<std::string> programs(const std::string& prefix, std::vector<std::string> exits) {
  std::vector<std::string> p = {prefix + "_signal_generate", prefix + "_hrtimer_entry",
                                prefix + "_hrtimer_exit"};
  p.insert(p.end(), exits.begin(), exits.end());
  return p;
}

// The saved user registers: the syscall a signal is generated in, a failed call's arguments.
const std::vector<HelperNeed> kUserRegs = {
    {BPF_FUNC_task_pt_regs, "bpf_task_pt_regs (Linux 5.15)"},
    {BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf (Linux 5.11)"}};

}  // namespace

const Tool& signal_tool() {
  static const ToolDef<Event> tool({
      .info = {"signal",
               "every signal sent: sender, target, signal, si_code and result; failed kills with --calls",
               {"kscope trace signal --failed", "kscope trace signal --calls --signal SIGTERM -o json"}},
      .flags = kFlags,
      // tp_btf and raw_tp see the target's task (its process id) and, through the raw
      // sys_exit, 32-bit tasks' calls too; the tracepoint's record names only the target
      // thread, and the syscalls tracepoints fire for these calls only, never for a 32-bit
      // task's.
      .hooks = {{"tp_btf", Hook::tp_btf, programs("btf", {"btf_sys_exit"}),
                 "tp_btf signal_generate, hrtimer_expire_{entry,exit}, sys_exit", kUserRegs},
                {"raw_tp", Hook::raw_tp, programs("raw", {"raw_sys_exit"}),
                 "raw_tp signal_generate, hrtimer_expire_{entry,exit}, sys_exit", kUserRegs},
                {"tracepoint", Hook::tracepoint,
                 programs("tp", {"tp_exit_kill", "tp_exit_tkill", "tp_exit_tgkill"}),
                 "signal:signal_generate, timer:hrtimer_expire_{entry,exit}, "
                 "syscalls:sys_exit_{kill,tkill,tgkill}",
                 kUserRegs}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
