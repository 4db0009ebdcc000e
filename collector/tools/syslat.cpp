// trace syslat: syscall latency, entry to return, as one log2 histogram per syscall kept in
// the kernel (what bpftrace's syscall latency one-liners show; libbpf-tools has no such tool),
// the N syscalls with the most calls of each --interval. The kernel side is probes/syslat.bpf.c
// and probes/syslat.h.
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>

#include <bpf/bpf.h>
#include <fmt/format.h>

#include "model/header.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "syslat.h"
#include "syslat.skel.h"
#include "tools/syscall_hooks.h"
#include "tools/syscall_name.h"

KSCOPE_SKELETON(syslat_bpf);

namespace kscope::tools {
namespace {

struct SyslatEvent {
  ks_syslat_record r;
  std::string syscall;
};

const FlagSpec kFlags[] = {
    {"-s,--syscall", "Only this syscall: its name (clock_nanosleep; ia32:read for a 32-bit one)",
     FlagKind::text},
    {"-T,--top", "Show the N syscalls with the most calls of each interval", FlagKind::number, 1,
     2 * KS_SYSCALL_SLOTS, 10},
    {"-m,--milliseconds", "Count milliseconds instead of microseconds"},
    {"-x,--failed", "Only calls that returned an error"},
};

// --syscall's slot, or -1 without it.
Result<int32_t> only_slot(const ToolArgs& a) {
  const std::string& name = a.text("--syscall");
  if (name.empty()) return -1;
  if (auto slot = syscall_slot_of(name)) return static_cast<int32_t>(*slot);
  return fail(fmt::format("--syscall {}: no syscall of that name", name),
              "give a name as `kscope trace syscount` shows it: read, clock_nanosleep, ia32:read");
}

// The flags shape what the probe counts; no clause filters the records.
Result<void> add_clauses(const ToolArgs& a, Filter&) {
  if (auto s = only_slot(a); !s) return std::unexpected(s.error());
  return {};
}

Result<SyslatEvent> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_SYSLAT || record.size() != sizeof(ks_syslat_record))
    return fail(fmt::format("not a syslat record (type {}, {} bytes)", h->type, record.size()));
  SyslatEvent e;
  std::memcpy(&e.r, record.data(), sizeof(e.r));
  e.syscall = syscall_name(e.r.nr, e.r.flags & KS_SYSLAT_COMPAT);
  return e;
}

uint64_t total(const ks_log2_hist& h) {
  return std::accumulate(std::begin(h.slots), std::end(h.slots), uint64_t{0});
}

std::string_view unit(const ks_syslat_record& r) {
  return r.flags & KS_SYSLAT_MSECS ? "msecs" : "usecs";
}

using F = Field<SyslatEvent>;
const F kFields[] = {
    {{"time", "TIME", 8, FieldType::boot_time},
     [](const SyslatEvent& e) { return uint_value(e.r.hdr.ts_ns); }},
    {{"syscall", "SYSCALL", 22, FieldType::text},
     [](const SyslatEvent& e) { return Value(std::string_view(e.syscall)); }},
    {{"nr", "", 0, FieldType::integer}, [](const SyslatEvent& e) { return int_value(e.r.nr); }},
    {{"compat", "", 0, FieldType::boolean},
     [](const SyslatEvent& e) { return Value((e.r.flags & KS_SYSLAT_COMPAT) != 0); }},
    {{"failed_only", "", 0, FieldType::boolean},
     [](const SyslatEvent& e) { return Value((e.r.flags & KS_SYSLAT_FAILED) != 0); }},
    {{"count", "COUNT", 10, FieldType::uinteger},
     [](const SyslatEvent& e) { return uint_value(total(e.r.hist)); }},
    {{"sum_ns", "", 0, FieldType::uinteger},
     [](const SyslatEvent& e) { return uint_value(e.r.hist.sum_ns); }},
    {{"unit", "", 0, FieldType::text}, [](const SyslatEvent& e) { return Value(unit(e.r)); }},
    {{"hist", "HIST", 0, FieldType::log2_hist},
     [](const SyslatEvent& e) { return Value(hist_of(e.r.hist, unit(e.r))); }},
};

const ProbeCounter kCounters[] = {
    {"sys_start_failed", "start_failed",
     "calls not counted: their start could not be noted in the task's storage (no memory, or "
     "another BPF program of the CPU held it)"},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  auto slot = only_slot(args);
  if (!slot) return std::unexpected(slot.error());
  return load_live_probe<syslat_bpf>(
      setup, hooks, [&](Skeleton<syslat_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->msecs = args.flag("--milliseconds");
        skel->rodata->failed_only = args.flag("--failed");
        skel->rodata->only_slot = *slot;
        return {};
      });
}

// One syscall's calls of the interval.
struct Row {
  uint32_t slot;
  ks_log2_hist added;
};

// What each syscall's histogram added since the last interval: the probe keeps histograms
// since it started, and syslat_reported what was reported of them.
Result<std::vector<Row>> interval_rows(LiveProbe& probe) {
  int hists = probe.map_fd("syslat_hists"), reported = probe.map_fd("syslat_reported");
  std::vector<Row> rows;
  for (uint32_t slot = 0; slot < 2 * KS_SYSCALL_SLOTS; ++slot) {
    ks_log2_hist now{}, seen{};
    if (bpf_map_lookup_elem(hists, &slot, &now) != 0)
      return fail_errno("read trace syslat's histograms", errno);
    uint64_t calls = total(now);
    if (calls == 0) continue;
    if (bpf_map_lookup_elem(reported, &slot, &seen) != 0)
      return fail_errno("read trace syslat's reported histograms", errno);
    if (calls == total(seen)) continue;  // counts only grow: nothing new
    if (bpf_map_update_elem(reported, &slot, &now, BPF_ANY) != 0)
      return fail_errno("note trace syslat's reported histograms", errno);
    Row row{slot, {}};
    for (size_t i = 0; i < KS_LOG2_SLOTS; ++i) row.added.slots[i] = now.slots[i] - seen.slots[i];
    row.added.sum_ns = now.sum_ns - seen.sum_ns;
    rows.push_back(row);
  }
  return rows;
}

// The top N syscalls of the interval by calls (ties by slot), one record each.
Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) {
  auto rows = interval_rows(probe);
  if (!rows) return std::unexpected(rows.error());
  std::sort(rows->begin(), rows->end(), [](const Row& a, const Row& b) {
    uint64_t ca = total(a.added), cb = total(b.added);
    return ca != cb ? ca > cb : a.slot < b.slot;
  });
  if (rows->size() > args.number("--top")) rows->resize(args.number("--top"));
  for (const Row& row : *rows) {
    ks_syslat_record r{};
    r.hdr = snapshot_header(KS_EVENT_SYSLAT, sizeof(r));
    r.nr = row.slot % KS_SYSCALL_SLOTS;
    r.flags = (row.slot >= KS_SYSCALL_SLOTS ? KS_SYSLAT_COMPAT : 0) |
              (args.flag("--milliseconds") ? KS_SYSLAT_MSECS : 0) |
              (args.flag("--failed") ? KS_SYSLAT_FAILED : 0);
    r.hist = row.added;
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& syslat_tool() {
  static const ToolDef<SyslatEvent> tool({
      .info = {"syslat",
               "syscall latency histograms, one per syscall, the N with the most calls",
               {"kscope trace syslat --interval 1 --top 5",
                "kscope trace syslat --syscall read --comm nginx -o json -d 10"}},
      .flags = kFlags,
      .hooks = syscall_hooks(),
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<SyslatEvent>::Decode { return decode; },
      .open = open,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
