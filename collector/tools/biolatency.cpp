// trace biolatency: block I/O latency as log2 histograms kept in the kernel (biolatency of
// libbpf-tools), in total, per disk (-D) or per operation and flags (-F), from issue (or with
// -Q from queueing) to completion, printed every --interval. The kernel side is
// probes/biolatency.bpf.c and probes/biolatency.h.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <fmt/format.h>

#include "biolatency.h"
#include "biolatency.skel.h"
#include "bpf/map_read.h"
#include "model/header_fields.h"
#include "registry/tool.h"

KSCOPE_SKELETON(biolatency_bpf);

namespace kscope::tools {
namespace {

using BioRecord = ks_biolatency_record;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-D,--per-disk", "One histogram per disk"},
    {"-F,--flags", "One histogram per operation and flags (write with sync, read-ahead...)"},
    {"-Q,--queued", "Include the time requests wait in the queue: from insertion, not issue"},
    {"-m,--milliseconds", "Count milliseconds instead of microseconds"},
    {"--disk", "Only this disk, by its name in /sys/class/block (sda, nvme0n1, loop0)",
     FlagKind::text},
};

// The kernel's dev_t: 20 bits of minor number.
constexpr uint32_t kMinorBits = 20;
uint32_t major_of(uint32_t dev) { return dev >> kMinorBits; }
uint32_t minor_of(uint32_t dev) { return dev & ((1u << kMinorBits) - 1); }

// The disk called `name`, as the probe compares it. A partition is refused: the kernel
// counts a request against its whole disk.
Result<uint32_t> disk_dev(const std::string& name) {
  std::string dir = "/sys/class/block/" + name;
  unsigned major = 0, minor = 0;
  char colon = 0;
  std::ifstream in(dir + "/dev");
  if (name.empty() || name.find('/') != std::string::npos || !(in >> major >> colon >> minor) ||
      colon != ':')
    return fail(fmt::format("--disk {}: no such block device", name),
                "`lsblk` lists the disks: give a name such as sda, nvme0n1 or loop0");
  if (access((dir + "/partition").c_str(), F_OK) == 0)
    return fail(fmt::format("--disk {}: a partition, and requests count against their disk", name),
                fmt::format("give its disk: `lsblk -no pkname /dev/{}`", name));
  return major << kMinorBits | minor;
}

// The name the disk with kernel dev_t `dev` has now, "" when there is none.
std::string disk_name(uint32_t dev) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(
      fmt::format("/sys/dev/block/{}:{}", major_of(dev), minor_of(dev)), ec);
  return ec ? std::string() : target.filename().string();
}

// --disk is a clause on the records' disk: the probe compiles it into a dev_t, a replay
// compares the names the records carry.
Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  const std::string& disk = a.text("--disk");
  if (disk.empty()) return {};
  if (auto dev = disk_dev(disk); !dev) return std::unexpected(dev.error());
  f.add({"disk", Op::eq, disk, "--disk"});
  return {};
}

Result<BioRecord> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_BIOLATENCY || record.size() != sizeof(BioRecord))
    return fail(fmt::format("not a biolatency record (type {}, {} bytes)", h->type, record.size()));
  BioRecord r;
  std::memcpy(&r, record.data(), sizeof(r));
  return r;
}

uint64_t total(const BioRecord& r) {
  return std::accumulate(std::begin(r.hist.slots), std::end(r.hist.slots), uint64_t{0});
}

std::string_view unit(const BioRecord& r) { return r.flags & KS_BIO_MSECS ? "msecs" : "usecs"; }

std::string_view op_name(const BioRecord& r) {
  if (!(r.flags & KS_BIO_BY_FLAGS)) return "";
  switch (r.key.bio_flags & KS_BIO_OP_MASK) {
    case KS_BIO_OP_READ: return "read";
    case KS_BIO_OP_WRITE: return "write";
    case KS_BIO_OP_FLUSH: return "flush";
    case KS_BIO_OP_DISCARD: return "discard";
    case KS_BIO_OP_SECURE_ERASE: return "secure_erase";
    case KS_BIO_OP_WRITE_ZEROES: return "write_zeroes";
    case KS_BIO_OP_ZONE_APPEND: return "zone_append";
    case KS_BIO_OP_ZONE: return "zone";
    case KS_BIO_OP_DRV_IN: return "drv_in";
    case KS_BIO_OP_DRV_OUT: return "drv_out";
    default: return "other";
  }
}

// "sync|fua": the request flags above the operation, "" for none.
std::string bio_flag_names(uint64_t flags) {
  static constexpr struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {
      {KS_BIO_SYNC, "sync"},       {KS_BIO_META, "meta"},
      {KS_BIO_PRIO, "prio"},       {KS_BIO_NOMERGE, "nomerge"},
      {KS_BIO_IDLE, "idle"},       {KS_BIO_INTEGRITY, "integrity"},
      {KS_BIO_FUA, "fua"},         {KS_BIO_PREFLUSH, "preflush"},
      {KS_BIO_RAHEAD, "readahead"}, {KS_BIO_BACKGROUND, "background"},
      {KS_BIO_NOWAIT, "nowait"},
  };
  std::string s;
  for (const auto& f : kNames) {
    if (!(flags & f.bit)) continue;
    if (!s.empty()) s += '|';
    s += f.name;
  }
  return s;
}

using F = Field<BioRecord>;
const F kFields[] = {
    header_fields::time<BioRecord>(),
    {{"disk", "DISK", 10, FieldType::text},
     [](const BioRecord& r) { return Value(c_string(r.disk, sizeof(r.disk))); }},
    {{"major", "", 0, FieldType::integer},
     [](const BioRecord& r) { return int_value(major_of(r.key.dev)); }},
    {{"minor", "", 0, FieldType::integer},
     [](const BioRecord& r) { return int_value(minor_of(r.key.dev)); }},
    {{"op", "OP", 7, FieldType::text}, [](const BioRecord& r) { return Value(op_name(r)); }},
    {{"flags", "FLAGS", 14, FieldType::flags, bio_flag_names},
     [](const BioRecord& r) { return uint_value(r.key.bio_flags & ~uint64_t{KS_BIO_OP_MASK}); }},
    {{"queued", "", 0, FieldType::boolean},
     [](const BioRecord& r) { return Value((r.flags & KS_BIO_QUEUED) != 0); }},
    {{"count", "COUNT", 8, FieldType::uinteger},
     [](const BioRecord& r) { return uint_value(total(r)); }},
    {{"sum_ns", "", 0, FieldType::uinteger},
     [](const BioRecord& r) { return uint_value(r.hist.sum_ns); }},
    {{"unit", "", 0, FieldType::text}, [](const BioRecord& r) { return Value(unit(r)); }},
    {{"hist", "HIST", 0, FieldType::log2_hist},
     [](const BioRecord& r) { return Value(hist_of(r.hist, unit(r))); }},
};

const ProbeCounter kCounters[] = {
    {"bio_start_full", "start_full",
     "requests not counted: more than 10240 were in flight, and their start was not kept"},
    {"bio_hists_full", "hists_full",
     "requests not counted: the map of histograms was full (1024 disks and flag sets)"},
};

uint32_t record_flags(const ToolArgs& a) {
  return (a.flag("--per-disk") ? KS_BIO_BY_DISK : 0) | (a.flag("--flags") ? KS_BIO_BY_FLAGS : 0) |
         (a.flag("--queued") ? KS_BIO_QUEUED : 0) | (a.flag("--milliseconds") ? KS_BIO_MSECS : 0);
}

// Only -Q needs the insertion (and the merges that end inserted requests without completion).
const std::string_view kQueuePrograms[] = {"btf_block_rq_insert", "btf_block_rq_merge",
                                           "raw_block_rq_insert", "raw_block_rq_merge"};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<biolatency_bpf>(
      setup, hooks, [&](Skeleton<biolatency_bpf>& skel, const HookAlternative&) -> Result<void> {
        if (const Clause* c = setup.filter->claim("disk", Op::eq)) {
          auto dev = disk_dev(std::get<std::string>(c->operand));
          if (!dev) return std::unexpected(dev.error());
          skel->rodata->filter_dev = *dev;
        }
        skel->rodata->by_disk = args.flag("--per-disk");
        skel->rodata->by_flags = args.flag("--flags");
        skel->rodata->queued = args.flag("--queued");
        skel->rodata->msecs = args.flag("--milliseconds");
        if (!args.flag("--queued"))
          for (auto name : kQueuePrograms)
            if (auto* prog = bpf_object__find_program_by_name(skel.object(), name.data()))
              bpf_program__set_autoload(prog, false);
        return {};
      });
}

// One record per histogram, by disk and flags. A record names its disk: the one each
// histogram counts with -D, else the --disk the probe filtered on.
Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) {
  auto hists = take_map<ks_bio_key, ks_log2_hist>(probe.map_fd("bio_hists"));
  if (!hists) return std::unexpected(hists.error());
  std::sort(hists->begin(), hists->end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.dev, a.first.bio_flags) < std::pair(b.first.dev, b.first.bio_flags);
  });
  const std::string& only = args.text("--disk");
  for (const auto& [key, hist] : *hists) {
    BioRecord r{};
    r.hdr = snapshot_header(KS_EVENT_BIOLATENCY, sizeof(r));
    r.key = key;
    r.flags = record_flags(args);
    std::string name = only;
    if (args.flag("--per-disk")) name = disk_name(key.dev);
    else if (!only.empty()) r.key.dev = disk_dev(only).value_or(0);
    std::memcpy(r.disk, name.data(), std::min(name.size(), sizeof(r.disk) - 1));
    r.hist = hist;
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& biolatency_tool() {
  static const ToolDef<BioRecord> tool({
      .info = {"biolatency",
               "block I/O latency histograms, in total, per disk or per operation and flags",
               {"kscope trace biolatency --interval 1 --count 5",
                "kscope trace biolatency -D -F --queued -o json -d 10",
                "kscope trace biolatency --disk nvme0n1 --milliseconds"}},
      .flags = kFlags,
      // Both hooks get the struct request, which keys a request's start time and names its
      // disk and flags; the plain block tracepoints pass only the disk and sector.
      .hooks = {{"tp_btf", Hook::tp_btf,
                 {"btf_block_rq_insert", "btf_block_rq_issue", "btf_block_rq_merge",
                  "btf_block_rq_complete"},
                 "tp_btf block_rq_issue, block_rq_complete (-Q: block_rq_insert, block_rq_merge)",
                 {}},
                {"raw_tp", Hook::raw_tp,
                 {"raw_block_rq_insert", "raw_block_rq_issue", "raw_block_rq_merge",
                  "raw_block_rq_complete"},
                 "raw_tp block_rq_issue, block_rq_complete (-Q: block_rq_insert, block_rq_merge)",
                 {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<BioRecord>::Decode { return decode; },
      .open = open,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
