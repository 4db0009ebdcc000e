// trace runqlat: run queue latency as log2 histograms kept in the kernel (runqlat of
// libbpf-tools), in total, per process (-P) or per thread (-L), printed every --interval.
// The model of an aggregating tool: the probe fills its maps, snapshot() reads them into
// records, and those take the ring buffer records' road. The kernel side is
// probes/runqlat.bpf.c and probes/runqlat.h.
#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "bpf/map_read.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "runqlat.h"
#include "runqlat.skel.h"

KSCOPE_SKELETON(runqlat_bpf);

namespace kscope::tools {
namespace {

using RunqlatRecord = ks_runqlat_record;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-P,--pids", "One histogram per process"},
    {"-L,--tids", "One histogram per thread"},
    {"-m,--milliseconds", "Count milliseconds instead of microseconds"},
};

uint32_t by_of(const ToolArgs& a) {
  return a.flag("--tids") ? KS_RUNQLAT_THREAD : a.flag("--pids") ? KS_RUNQLAT_PROCESS : KS_RUNQLAT_TOTAL;
}

Result<void> add_clauses(const ToolArgs& a, Filter&) {
  if (a.flag("--pids") && a.flag("--tids"))
    return fail("--pids and --tids both given", "pick one: -P per process, -L per thread");
  return {};
}

Result<RunqlatRecord> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_RUNQLAT || record.size() != sizeof(RunqlatRecord))
    return fail(fmt::format("not a runqlat record (type {}, {} bytes)", h->type, record.size()));
  RunqlatRecord r;
  std::memcpy(&r, record.data(), sizeof(r));
  return r;
}

uint64_t total(const RunqlatRecord& r) {
  return std::accumulate(std::begin(r.hist.slots), std::end(r.hist.slots), uint64_t{0});
}

std::string_view unit(const RunqlatRecord& r) {
  return r.flags & KS_RUNQLAT_MSECS ? "msecs" : "usecs";
}

std::string_view scope(const RunqlatRecord& r) {
  switch (r.by) {
    case KS_RUNQLAT_PROCESS: return "process";
    case KS_RUNQLAT_THREAD: return "thread";
    default: return "total";
  }
}

namespace hf = header_fields;
using F = Field<RunqlatRecord>;
const F kFields[] = {
    hf::time<RunqlatRecord>(),
    {{"scope", "", 0, FieldType::text}, [](const RunqlatRecord& r) { return Value(scope(r)); }},
    hf::pid<RunqlatRecord>(),
    hf::tid<RunqlatRecord>("TID"),
    hf::comm<RunqlatRecord>(),
    {{"count", "COUNT", 8, FieldType::uinteger},
     [](const RunqlatRecord& r) { return uint_value(total(r)); }},
    {{"sum_ns", "", 0, FieldType::uinteger},
     [](const RunqlatRecord& r) { return uint_value(r.hist.sum_ns); }},
    {{"unit", "", 0, FieldType::text}, [](const RunqlatRecord& r) { return Value(unit(r)); }},
    {{"hist", "HIST", 0, FieldType::log2_hist},
     [](const RunqlatRecord& r) { return Value(hist_of(r.hist, unit(r))); }},
};

const ProbeCounter kCounters[] = {
    {"runq_hists_full", "hists_full",
     "waits not counted: the map of histograms was full (10240 processes or threads)"},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<runqlat_bpf>(
      setup, hooks, [&](Skeleton<runqlat_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->by = by_of(args);
        skel->rodata->msecs = args.flag("--milliseconds");
        return {};
      });
}

// One record per histogram, by process or thread id (the total alone has id 0).
Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) {
  auto hists = take_map<uint32_t, ks_runqlat_hist>(probe.map_fd("runq_hists"));
  if (!hists) return std::unexpected(hists.error());
  std::sort(hists->begin(), hists->end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, value] : *hists) {
    RunqlatRecord r{};
    r.hdr = snapshot_header(KS_EVENT_RUNQLAT, sizeof(r));
    r.by = by_of(args);
    r.hdr.tgid = r.by == KS_RUNQLAT_PROCESS ? id : 0;
    r.hdr.pid = r.by == KS_RUNQLAT_THREAD ? id : 0;
    std::memcpy(r.hdr.comm, value.comm, sizeof(r.hdr.comm));
    r.flags = args.flag("--milliseconds") ? KS_RUNQLAT_MSECS : 0;
    r.hist = value.hist;
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& runqlat_tool() {
  static const ToolDef<RunqlatRecord> tool({
      .info = {"runqlat", "run queue latency histograms, in total, per process or per thread",
               {"kscope trace runqlat --interval 1 --count 5", "kscope trace runqlat -P -o json -d 10"}},
      .flags = kFlags,
      // Both hooks get the waking and switching task_structs (the plain sched tracepoints
      // pass only pids, and not the woken task's process), so filters and keys are the
      // waiting task's own.
      .hooks = {{"tp_btf", Hook::tp_btf,
                 {"btf_sched_wakeup", "btf_sched_wakeup_new", "btf_sched_switch"},
                 "tp_btf sched_wakeup, sched_wakeup_new, sched_switch", {}},
                {"raw_tp", Hook::raw_tp,
                 {"raw_sched_wakeup", "raw_sched_wakeup_new", "raw_sched_switch"},
                 "raw_tp sched_wakeup, sched_wakeup_new, sched_switch", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<RunqlatRecord>::Decode { return decode; },
      .open = open,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
