// trace open: every openat/openat2 with flags, mode, fd or errno, and the path (opensnoop).
// The whole user side of the tool; the kernel side is probes/open.bpf.c and probes/open.h.
#include <fcntl.h>
#include <linux/bpf.h>

#include <cstring>

#include <fmt/format.h>

#include "model/header_fields.h"
#include "open.h"
#include "open.skel.h"
#include "registry/tool.h"

KSCOPE_SKELETON(open_bpf);

namespace kscope::tools {
namespace {

// The path is a view into the record, valid while the record is handled: storms cannot
// afford a copy per event.
struct OpenEvent {
  ks_event_header hdr;
  uint64_t flags = 0;
  int32_t ret = 0;  // fd, or -errno
  int32_t dfd = 0;
  uint32_t mode = 0;
  uint16_t syscall = KS_OPEN_OPENAT;
  std::string_view path;
  bool path_unreadable = false;  // the path faulted: path is empty
  bool how_unreadable = false;   // openat2's open_how faulted: flags and mode are 0
};

const FlagSpec kFlags[] = {
    {"-x,--failed", "Only failed opens"},
    {"--path", "Only paths that start with PREFIX (as passed to open)", FlagKind::text},
};

Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (a.flag("--failed")) f.add({"errno", Op::ne, int64_t{0}, "--failed"});
  if (const auto& p = a.text("--path"); !p.empty()) f.add({"path", Op::prefix, p, "--path " + p});
  return {};
}

Result<OpenEvent> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  constexpr size_t fixed = offsetof(ks_open_event, path);
  if (h->type != KS_EVENT_OPEN || record.size() < fixed)
    return fail(fmt::format("not an open record (type {}, {} bytes)", h->type, record.size()));
  ks_open_event raw;
  std::memcpy(&raw, record.data(), fixed);
  if (raw.path_size != record.size() - fixed)
    return fail(fmt::format("open record says {} path bytes, carries {}", raw.path_size,
                            record.size() - fixed));
  OpenEvent e;
  e.hdr = *h;
  e.flags = raw.flags;
  e.ret = raw.ret;
  e.dfd = raw.dfd;
  e.mode = raw.mode;
  e.syscall = raw.syscall;
  e.path_unreadable = raw.partial & KS_OPEN_PATH_UNREADABLE;
  e.how_unreadable = raw.partial & KS_OPEN_HOW_UNREADABLE;
  e.path = c_string(reinterpret_cast<const char*>(record.data()) + fixed, raw.path_size);
  return e;
}

// The kernel's O_LARGEFILE; 64-bit C libraries define the user-space macro as 0.
constexpr uint64_t kLargeFile = 00100000;

// "O_RDONLY|O_CLOEXEC": the access mode first, then each known flag, then any unknown bits.
std::string open_flags(uint64_t flags) {
  static constexpr struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {
      // Multi-bit flags first: O_SYNC includes O_DSYNC, O_TMPFILE includes O_DIRECTORY.
      {O_SYNC, "O_SYNC"},         {O_TMPFILE, "O_TMPFILE"},   {O_CREAT, "O_CREAT"},
      {O_EXCL, "O_EXCL"},         {O_NOCTTY, "O_NOCTTY"},     {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"}, {O_DSYNC, "O_DSYNC"},
      {O_ASYNC, "O_ASYNC"},       {O_DIRECT, "O_DIRECT"},     {kLargeFile, "O_LARGEFILE"},
      {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"},
      {O_CLOEXEC, "O_CLOEXEC"},   {O_PATH, "O_PATH"},
  };
  std::string s;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: s = "O_RDONLY"; break;
    case O_WRONLY: s = "O_WRONLY"; break;
    case O_RDWR: s = "O_RDWR"; break;
    default: s = "O_ACCMODE"; break;
  }
  uint64_t rest = flags & ~uint64_t{O_ACCMODE};
  for (const auto& f : kNames) {
    if ((rest & f.bit) == f.bit) {
      s += '|';
      s += f.name;
      rest &= ~f.bit;
    }
  }
  if (rest) s += fmt::format("|{:#x}", rest);
  return s;
}

// Ends the PATH cell of an event the probe could not read whole.
std::string_view path_mark(const OpenEvent& e) {
  if (e.path_unreadable && e.how_unreadable) return "<path and open_how unreadable>";
  if (e.path_unreadable) return "<path unreadable>";
  return e.how_unreadable ? "<open_how unreadable>" : "";
}

bool partly_read(const OpenEvent& e) { return e.path_unreadable || e.how_unreadable; }

namespace hf = header_fields;
using F = Field<OpenEvent>;
const F kFields[] = {
    hf::time<OpenEvent>(),
    hf::pid<OpenEvent>(),
    hf::tid<OpenEvent>(),
    hf::comm<OpenEvent>(),
    hf::uid<OpenEvent>(),
    hf::cgroup_id<OpenEvent>(),
    {{"fd", "FD", 4, FieldType::integer},
     [](const OpenEvent& e) { return int_value(e.ret >= 0 ? e.ret : -1); }},
    {{"errno", "ERR", 7, FieldType::errno_code},
     [](const OpenEvent& e) { return int_value(e.ret < 0 ? -int64_t{e.ret} : 0); }},
    {{"flags", "FLAGS", 24, FieldType::flags, open_flags},
     [](const OpenEvent& e) { return uint_value(e.flags); }},
    {{"mode", "MODE", 5, FieldType::octal}, [](const OpenEvent& e) { return uint_value(e.mode); }},
    {{"syscall", "", 0, FieldType::text},
     [](const OpenEvent& e) {
       return Value(std::string_view(e.syscall == KS_OPEN_OPENAT2 ? "openat2" : "openat"));
     }},
    {{"dfd", "", 0, FieldType::integer}, [](const OpenEvent& e) { return int_value(e.dfd); }},
    {{"path", "PATH", 0, FieldType::text}, [](const OpenEvent& e) { return Value(e.path); },
     path_mark},
    {{"path_unreadable", "", 0, FieldType::boolean},
     [](const OpenEvent& e) { return Value(e.path_unreadable); }},
    {{"how_unreadable", "", 0, FieldType::boolean},
     [](const OpenEvent& e) { return Value(e.how_unreadable); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<open_bpf>(
      setup, hooks, [&](Skeleton<open_bpf>& skel, const HookAlternative&) -> Result<void> {
        auto* ro = skel->rodata;
        ro->failed_only = setup.filter->claim("errno", Op::ne) != nullptr;
        // A longer prefix than the probe compares stays a user-space clause.
        if (const Clause* c = setup.filter->find("path", Op::prefix)) {
          const auto& prefix = std::get<std::string>(c->operand);
          if (prefix.size() <= KS_OPEN_PREFIX_MAX) {
            setup.filter->claim(*c);
            ro->prefix_len = prefix.size();
            std::memcpy(const_cast<char*>(ro->prefix), prefix.data(), prefix.size());
          }
        }
        return {};
      });
}

}  // namespace

const Tool& open_tool() {
  static const ToolDef<OpenEvent> tool({
      .info = {"open", "every openat/openat2: flags, mode, fd or errno, and the path",
               {"kscope trace open --path /etc --failed", "kscope trace open --comm nginx -o json"}},
      .flags = kFlags,
      // One hook per open: at syscall exit the arguments are still in the saved registers.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_exit_openat", "tp_exit_openat2"},
                 "syscalls:sys_exit_{openat,openat2}",
                 {{BPF_FUNC_task_pt_regs, "bpf_task_pt_regs (Linux 5.15)"},
                  {BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf (Linux 5.11)"}}},
                {"tp_btf", Hook::tp_btf, {"btf_sys_exit"}, "tp_btf sys_exit", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<OpenEvent>::Decode { return decode; },
      .open = open,
      .partial = partly_read,
  });
  return tool;
}

}  // namespace kscope::tools
