// trace syscount: syscall counts and the time spent in them, kept in the kernel (syscount of
// libbpf-tools), by syscall or by process (-P), the top N by count or by time, printed every
// --interval. The kernel side is probes/syscount.bpf.c and probes/syscount.h.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "bpf/map_read.h"
#include "model/header.h"
#include "model/symbols.h"
#include "registry/tool.h"
#include "syscount.h"
#include "syscount.skel.h"
#include "tools/syscall_hooks.h"
#include "tools/syscall_name.h"

KSCOPE_SKELETON(syscount_bpf);

namespace kscope::tools {
namespace {

// The record and the name of its syscall ("read", "ia32:read"; "" by process).
struct SyscountEvent {
  ks_syscount_record r;
  std::string syscall;
};

const FlagSpec kFlags[] = {
    {"-P,--process", "One row per process instead of per syscall"},
    {"-T,--top", "Show the top N rows of each interval", FlagKind::number, 1, 100000, 10},
    {"--sort", "Order the rows by count (the default) or by time spent in the kernel: count|time",
     FlagKind::text},
    {"-L,--latency", "Order the rows by time spent in the kernel (--sort time)"},
    {"-x,--failed", "Only calls that returned an error"},
    {"-e,--errno", "Only calls that failed with this error: a name (ENOENT) or a number",
     FlagKind::text},
};

constexpr int kMaxErrno = 4095;

// --errno's value: a name errno_name() knows, or a number of an error.
Result<int> parse_errno(const std::string& text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size() && n >= 1 && n <= kMaxErrno) return n;
  for (int e = 1; e <= kMaxErrno; ++e)
    if (errno_name(e) == text) return e;
  return fail(fmt::format("--errno {}: not an error name or number", text),
              "give a name such as ENOENT or EAGAIN, or its number (1..4095)");
}

bool by_time(const ToolArgs& a) { return a.flag("--latency") || a.text("--sort") == "time"; }

// The flags only shape the counts the probe keeps; no clause filters the records.
Result<void> add_clauses(const ToolArgs& a, Filter&) {
  const std::string& sort = a.text("--sort");
  if (!sort.empty() && sort != "count" && sort != "time")
    return fail(fmt::format("--sort {}: not a sort order", sort),
                "use --sort count or --sort time");
  if (a.flag("--latency") && sort == "count")
    return fail("--latency and --sort count both given", "-L is --sort time: pick one");
  if (const std::string& err = a.text("--errno"); !err.empty())
    if (auto e = parse_errno(err); !e) return std::unexpected(e.error());
  return {};
}

Result<SyscountEvent> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_SYSCOUNT || record.size() != sizeof(ks_syscount_record))
    return fail(fmt::format("not a syscount record (type {}, {} bytes)", h->type, record.size()));
  SyscountEvent e;
  std::memcpy(&e.r, record.data(), sizeof(e.r));
  if (!(e.r.flags & KS_SYSCOUNT_BY_PROCESS))
    e.syscall = syscall_name(e.r.nr, e.r.flags & KS_SYSCOUNT_COMPAT);
  return e;
}

uint64_t avg_ns(const ks_syscount_record& r) { return r.count ? r.total_ns / r.count : 0; }

using F = Field<SyscountEvent>;
const F kFields[] = {
    {{"time", "TIME", 8, FieldType::boot_time},
     [](const SyscountEvent& e) { return uint_value(e.r.hdr.ts_ns); }},
    {{"pid", "PID", 7, FieldType::integer},
     [](const SyscountEvent& e) { return int_value(e.r.hdr.tgid); }},
    {{"comm", "COMM", 16, FieldType::text},
     [](const SyscountEvent& e) { return Value(comm_of(e.r.hdr)); }},
    {{"syscall", "SYSCALL", 22, FieldType::text},
     [](const SyscountEvent& e) { return Value(std::string_view(e.syscall)); }},
    {{"nr", "", 0, FieldType::integer}, [](const SyscountEvent& e) { return int_value(e.r.nr); }},
    {{"compat", "", 0, FieldType::boolean},
     [](const SyscountEvent& e) { return Value((e.r.flags & KS_SYSCOUNT_COMPAT) != 0); }},
    {{"count", "COUNT", 10, FieldType::uinteger},
     [](const SyscountEvent& e) { return uint_value(e.r.count); }},
    {{"total_ns", "TIME(ns)", 14, FieldType::uinteger},
     [](const SyscountEvent& e) { return uint_value(e.r.total_ns); }},
    {{"avg_ns", "AVG(ns)", 10, FieldType::uinteger},
     [](const SyscountEvent& e) { return uint_value(avg_ns(e.r)); }},
    {{"failed_only", "", 0, FieldType::boolean},
     [](const SyscountEvent& e) { return Value((e.r.flags & KS_SYSCOUNT_FAILED) != 0); }},
    {{"errno", "", 0, FieldType::errno_code},
     [](const SyscountEvent& e) { return int_value(e.r.err); }},
};

const ProbeCounter kCounters[] = {
    {"sys_start_failed", "start_failed",
     "calls not counted: their start could not be noted in the task's storage (no memory, or "
     "another BPF program of the CPU held it)"},
    {"proc_counts_full", "counts_full",
     "calls not counted: the map of processes was full (10240 processes in one interval)"},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  int only_errno = 0;
  if (const std::string& err = args.text("--errno"); !err.empty()) {
    auto e = parse_errno(err);
    if (!e) return std::unexpected(e.error());
    only_errno = *e;
  }
  return load_live_probe<syscount_bpf>(
      setup, hooks, [&](Skeleton<syscount_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->by_process = args.flag("--process");
        skel->rodata->failed_only = args.flag("--failed");
        skel->rodata->only_errno = only_errno;
        return {};
      });
}

// One row of an interval: a syscall slot or a process, what it added.
struct Row {
  uint32_t key;
  ks_syscount_proc counted;
};

// What each syscall slot added since the last interval: the probe keeps totals since it
// started, and sys_reported what was reported of them.
Result<std::vector<Row>> syscall_rows(LiveProbe& probe) {
  int counts = probe.map_fd("sys_counts"), reported = probe.map_fd("sys_reported");
  int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return fail_errno("count possible CPUs", -cpus);
  std::vector<ks_syscount_value> per_cpu(cpus);
  std::vector<Row> rows;
  for (uint32_t slot = 0; slot < 2 * KS_SYSCALL_SLOTS; ++slot) {
    ks_syscount_value total{}, seen{};
    if (bpf_map_lookup_elem(counts, &slot, per_cpu.data()) != 0)
      return fail_errno("read trace syscount's counts", errno);
    for (const auto& v : per_cpu) {
      total.count += v.count;
      total.total_ns += v.total_ns;
    }
    if (total.count == 0) continue;
    if (bpf_map_lookup_elem(reported, &slot, &seen) != 0)
      return fail_errno("read trace syscount's reported counts", errno);
    if (total.count == seen.count) continue;  // counts only grow: nothing new
    if (bpf_map_update_elem(reported, &slot, &total, BPF_ANY) != 0)
      return fail_errno("note trace syscount's reported counts", errno);
    rows.push_back({slot, {total.count - seen.count, total.total_ns - seen.total_ns, {}}});
  }
  return rows;
}

// What each process counted in the interval, taken out of the map.
Result<std::vector<Row>> process_rows(LiveProbe& probe) {
  auto taken = take_percpu_map<uint32_t, ks_syscount_proc>(
      probe.map_fd("proc_counts"), [](ks_syscount_proc& sum, const ks_syscount_proc& v) {
        sum.count += v.count;
        sum.total_ns += v.total_ns;
        if (!sum.comm[0]) std::memcpy(sum.comm, v.comm, sizeof(sum.comm));
      });
  if (!taken) return std::unexpected(taken.error());
  std::vector<Row> rows;
  for (const auto& [tgid, v] : *taken) rows.push_back({tgid, v});
  return rows;
}

// The top N of the interval, one record each, by count or by time (ties by key).
Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) {
  bool by_process = args.flag("--process");
  auto rows = by_process ? process_rows(probe) : syscall_rows(probe);
  if (!rows) return std::unexpected(rows.error());
  bool time = by_time(args);
  auto rank = [time](const Row& r) { return time ? r.counted.total_ns : r.counted.count; };
  std::sort(rows->begin(), rows->end(), [&](const Row& a, const Row& b) {
    return rank(a) != rank(b) ? rank(a) > rank(b) : a.key < b.key;
  });
  if (rows->size() > args.number("--top")) rows->resize(args.number("--top"));
  int err = 0;
  if (const std::string& e = args.text("--errno"); !e.empty()) err = parse_errno(e).value_or(0);
  for (const Row& row : *rows) {
    ks_syscount_record r{};
    r.hdr = snapshot_header(KS_EVENT_SYSCOUNT, sizeof(r));
    if (by_process) {
      r.hdr.tgid = row.key;
      std::memcpy(r.hdr.comm, row.counted.comm, sizeof(r.hdr.comm));
    } else {
      r.nr = row.key % KS_SYSCALL_SLOTS;
    }
    r.flags = (by_process ? KS_SYSCOUNT_BY_PROCESS : 0) |
              (!by_process && row.key >= KS_SYSCALL_SLOTS ? KS_SYSCOUNT_COMPAT : 0) |
              (args.flag("--failed") || err ? KS_SYSCOUNT_FAILED : 0);
    r.count = row.counted.count;
    r.total_ns = row.counted.total_ns;
    r.err = err;
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& syscount_tool() {
  static const ToolDef<SyscountEvent> tool({
      .info = {"syscount",
               "syscall counts and time in the kernel, the top N by syscall or by process",
               {"kscope trace syscount --interval 1 --count 5",
                "kscope trace syscount -P --latency --top 20", "kscope trace syscount -x -o json"}},
      .flags = kFlags,
      .hooks = syscall_hooks(),
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<SyscountEvent>::Decode { return decode; },
      .open = open,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
