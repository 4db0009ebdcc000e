// trace profile: CPU stack sampling (profile of libbpf-tools). A software cpu-clock perf
// event per online CPU samples at --frequency; the probe counts each (process, kernel stack,
// user stack, thread name), and every snapshot symbolizes the stacks (kallsyms, the ELF
// symbols of the files the process maps) into records of names. Shown libbpf-tools' way,
// as folded lines for flamegraph.pl (--folded), as NDJSON, and as an SVG flame graph kscope
// writes itself (--svg). The kernel side is probes/profile.bpf.c and probes/profile.h.
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "base/log.h"
#include "bpf/map_read.h"
#include "model/header_fields.h"
#include "profile.h"
#include "profile.skel.h"
#include "registry/tool.h"
#include "render/flamegraph.h"
#include "render/renderer.h"
#include "render/time_format.h"
#include "symbolize/symbolizer.h"

KSCOPE_SKELETON(profile_bpf);

namespace kscope::tools {
namespace {

constexpr int kEfault = 14;             // bpf_get_stackid(): no stack of that kind
constexpr size_t kMaxFrameBytes = 1024;  // a longer (demangled C++) name is cut

// A record decoded: the fixed part and its frames, leaf first.
struct ProfileEvent {
  ks_event_header hdr{};
  uint64_t samples = 0;
  uint32_t flags = 0;
  uint32_t frequency = 0;
  std::vector<std::string> kernel, user;
};

const FlagSpec kFlags[] = {
    {"-F,--frequency", "Samples a second on each CPU (libbpf-tools profile -F)", FlagKind::number,
     1, 100000, 49},
    {"-U,--user-stacks-only", "Only user stacks, no kernel stacks"},
    {"-K,--kernel-stacks-only", "Only kernel stacks, no user stacks"},
    {"-I,--include-idle", "Also count the CPUs' idle task (pid 0)"},
    {"--stack-storage-size", "Distinct stacks kept per interval (a power of two is used as is)",
     FlagKind::number, 1024, 262144, 8192},
    {"-f,--folded", "Print folded stacks (comm;caller;...;callee count) for flamegraph.pl"},
    {"--svg", "Also write an SVG flame graph of the whole run to FILE", FlagKind::text},
};

Result<void> add_clauses(const ToolArgs& a, Filter&) {
  if (a.flag("--user-stacks-only") && a.flag("--kernel-stacks-only"))
    return fail("--user-stacks-only and --kernel-stacks-only both given",
                "pick one, or neither for both stacks");
  return {};
}

Result<ProfileEvent> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_PROFILE || record.size() < sizeof(ks_profile_record))
    return fail(fmt::format("not a profile record (type {}, {} bytes)", h->type, record.size()));
  ks_profile_record r;
  std::memcpy(&r, record.data(), sizeof(r));
  if (r.kernel_frames > KS_PROFILE_MAX_FRAMES || r.user_frames > KS_PROFILE_MAX_FRAMES)
    return fail(fmt::format("profile record with {} + {} frames", r.kernel_frames, r.user_frames));
  ProfileEvent e{r.hdr, r.samples, r.flags, r.frequency, {}, {}};
  std::string_view names(reinterpret_cast<const char*>(record.data()) + sizeof(r),
                         record.size() - sizeof(r));
  for (size_t i = 0; i < size_t{r.kernel_frames} + r.user_frames; ++i) {
    size_t end = names.find('\0');
    if (end == std::string_view::npos) return fail("profile record: a frame name runs past its end");
    (i < r.kernel_frames ? e.kernel : e.user).emplace_back(names.substr(0, end));
    names.remove_prefix(end + 1);
  }
  if (!names.empty()) return fail("profile record: bytes after its frames");
  return e;
}

bool partial(const ProfileEvent& e) {
  return e.flags & (KS_PROFILE_KERNEL_LOST | KS_PROFILE_USER_LOST | KS_PROFILE_USER_UNSYMBOLIZED);
}

namespace hf = header_fields;
using F = Field<ProfileEvent>;
const F kFields[] = {
    hf::time<ProfileEvent>(),
    hf::comm<ProfileEvent>(),
    hf::pid<ProfileEvent>(),
    hf::uid<ProfileEvent>(),
    hf::cgroup_id<ProfileEvent>(),
    {{"samples", "SAMPLES", 8, FieldType::uinteger},
     [](const ProfileEvent& e) { return uint_value(e.samples); }},
    {{"frequency_hz", "", 0, FieldType::uinteger},
     [](const ProfileEvent& e) { return uint_value(e.frequency); }},
    // Lists of names, leaf first: the list type is argv's (an array of strings in JSON).
    {{"kernel_stack", "", 0, FieldType::argv},
     [](const ProfileEvent& e) { return Value(ArgvView{e.kernel}); }},
    {{"user_stack", "", 0, FieldType::argv},
     [](const ProfileEvent& e) { return Value(ArgvView{e.user}); }},
    {{"kernel_stack_lost", "", 0, FieldType::boolean},
     [](const ProfileEvent& e) { return Value((e.flags & KS_PROFILE_KERNEL_LOST) != 0); }},
    {{"user_stack_lost", "", 0, FieldType::boolean},
     [](const ProfileEvent& e) { return Value((e.flags & KS_PROFILE_USER_LOST) != 0); }},
    {{"user_unsymbolized", "", 0, FieldType::boolean},
     [](const ProfileEvent& e) { return Value((e.flags & KS_PROFILE_USER_UNSYMBOLIZED) != 0); }},
};

const ProbeCounter kCounters[] = {
    {"stacks_lost", "stacks_lost",
     "samples whose stack was not stored: a hash collision or a full stack map (raise "
     "--stack-storage-size); they are counted under a [lost ... stack] frame"},
    {"counts_full", "samples_lost",
     "samples not counted: the map of stacks was full (raise --stack-storage-size)"},
};

// The probe, and what its snapshots keep between intervals: the generation and the
// symbolizer's cache.
class ProfileProbe final : public LiveProbe {
 public:
  ProfileProbe(std::unique_ptr<SkeletonProbe<profile_bpf>> p, uint32_t frequency)
      : p_(std::move(p)), frequency_(frequency) {}
  int events_fd() const override { return p_->events_fd(); }
  int map_fd(const char* name) const override { return p_->map_fd(name); }
  Result<uint64_t> missed() const override { return p_->missed(); }
  Result<std::vector<object::ProgramStats>> programs() const override { return p_->programs(); }
  Result<std::vector<object::MapStats>> maps() const override { return p_->maps(); }
  const HookAlternative& hook() const override { return p_->hook(); }
  Result<void> flush_staged() override { return p_->flush_staged(); }
  // Starts the next generation; returns the one that ended, whose maps are now only read.
  uint32_t next_generation() {
    uint32_t* g = &p_->skeleton()->bss->generation;
    uint32_t ended = __atomic_load_n(g, __ATOMIC_RELAXED);
    __atomic_store_n(g, ended + 1, __ATOMIC_RELEASE);
    return ended;
  }
  uint32_t frequency() const { return frequency_; }
  Symbolizer symbolizer;

 private:
  std::unique_ptr<SkeletonProbe<profile_bpf>> p_;
  uint32_t frequency_;
};

std::optional<uint64_t> read_number(const char* path) {
  std::ifstream in(path);
  uint64_t v;
  if (in >> v) return v;
  return std::nullopt;
}

// The online CPUs, from the kernel's list ("0-3,5").
Result<std::vector<int>> online_cpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string list;
  if (!(in >> list)) return fail_errno("read /sys/devices/system/cpu/online", errno);
  std::vector<int> cpus;
  for (const std::string& range : [&] {
         std::vector<std::string> parts;
         for (size_t start = 0; start <= list.size();) {
           size_t comma = std::min(list.find(',', start), list.size());
           parts.push_back(list.substr(start, comma - start));
           start = comma + 1;
         }
         return parts;
       }()) {
    int first = 0, last = 0;
    if (std::sscanf(range.c_str(), "%d-%d", &first, &last) == 2) {
    } else if (std::sscanf(range.c_str(), "%d", &first) == 1) {
      last = first;
    } else {
      return fail(fmt::format("/sys/devices/system/cpu/online: cannot read '{}'", list));
    }
    for (int c = first; c <= last; ++c) cpus.push_back(c);
  }
  return cpus;
}

// One cpu-clock perf event per online CPU, profile_sample attached to each.
Result<std::vector<Link>> attach_sampling(bpf_program* prog, uint64_t frequency) {
  auto cpus = online_cpus();
  if (!cpus) return std::unexpected(cpus.error());
  std::vector<Link> links;
  for (int cpu : *cpus) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.freq = 1;
    attr.sample_freq = frequency;
    int fd = static_cast<int>(
        syscall(__NR_perf_event_open, &attr, -1 /*any task*/, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      if (errno == ENODEV) continue;  // went offline since the list was read
      return fail(fmt::format("perf_event_open(cpu-clock at {} Hz, cpu {}): {}", frequency, cpu,
                              std::strerror(errno)),
                  "check /proc/sys/kernel/perf_event_paranoid and "
                  "/proc/sys/kernel/perf_event_max_sample_rate",
                  errno);
    }
    bpf_link* link = bpf_program__attach_perf_event(prog, fd);
    if (!link) {
      int err = errno;
      close(fd);
      return fail_errno(fmt::format("attach {} to cpu {}'s perf event", bpf_program__name(prog), cpu),
                        err);
    }
    links.emplace_back(link);  // the link owns fd from here on
  }
  if (links.empty()) return fail("no online CPU to sample");
  return links;
}

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  uint64_t hz = args.number("--frequency");
  if (auto max = read_number("/proc/sys/kernel/perf_event_max_sample_rate"); max && hz > *max)
    return fail(fmt::format("--frequency {}: above this kernel's perf_event_max_sample_rate ({})",
                            hz, *max),
                fmt::format("pick --frequency {} or less", *max));
  uint32_t storage = static_cast<uint32_t>(args.number("--stack-storage-size"));
  auto probe = load_probe<profile_bpf>(
      setup, hooks,
      [&](Skeleton<profile_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->kernel_stacks = !args.flag("--user-stacks-only");
        skel->rodata->user_stacks = !args.flag("--kernel-stacks-only");
        skel->rodata->include_idle = args.flag("--include-idle");
        // A stack map has as many buckets as entries, rounded up to a power of two.
        for (const char* map : {"stacks_even", "stacks_odd"})
          if (auto r = object::resize_map(skel.object(), map, storage); !r) return r;
        // A count names two stacks, so there are more distinct counts than stacks.
        for (const char* map : {"counts_even", "counts_odd"})
          if (auto r = object::resize_map(skel.object(), map, 2 * storage); !r) return r;
        bpf_program__set_autoattach(skel->progs.profile_sample, false);
        return {};
      },
      [&](Skeleton<profile_bpf>& skel, const HookAlternative&) {
        return attach_sampling(skel->progs.profile_sample, hz);
      });
  if (!probe) return std::unexpected(probe.error());
  return std::unique_ptr<LiveProbe>(
      std::make_unique<ProfileProbe>(std::move(*probe), static_cast<uint32_t>(hz)));
}

std::string cut(std::string name) {
  if (name.size() > kMaxFrameBytes) name = name.substr(0, kMaxFrameBytes - 3) + "...";
  return name;
}

// The addresses of stack `id` of a stack map, leaf first; nothing when it is not there.
std::optional<std::vector<uint64_t>> read_stack(int fd, int32_t id) {
  uint64_t ips[KS_PROFILE_MAX_FRAMES] = {};
  uint32_t key = static_cast<uint32_t>(id);
  if (bpf_map_lookup_elem(fd, &key, ips) != 0) return std::nullopt;
  std::vector<uint64_t> out;
  for (uint64_t ip : ips) {
    if (!ip) break;
    out.push_back(ip);
  }
  return out;
}

// The stacks of the generation that ended, read once each.
class Stacks {
 public:
  Stacks(int fd, uint32_t generation) : fd_(fd), generation_(generation) {}
  // Stack `id` of a count of `generation`: nothing when it was not stored (id < 0 but not
  // -EFAULT), is gone, or belongs to an older generation whose map was emptied since.
  const std::vector<uint64_t>* get(int32_t id, uint32_t generation) {
    if (id < 0 || generation != generation_) return nullptr;
    auto it = read_.find(id);
    if (it == read_.end()) it = read_.emplace(id, read_stack(fd_, id)).first;
    return it->second ? &*it->second : nullptr;
  }

 private:
  int fd_;
  uint32_t generation_;
  std::unordered_map<int32_t, std::optional<std::vector<uint64_t>>> read_;
};

// A record's frames: the names, or one placeholder and a flag when the stack is lost.
void add_frames(int32_t id, const std::vector<uint64_t>* ips, std::string_view kind, uint32_t lost_flag,
                const std::function<std::string(uint64_t, bool)>& name, std::vector<std::string>& out,
                uint32_t& flags) {
  if (id == -kEfault) return;  // no stack of this kind: nothing lost
  if (!ips) {
    out.push_back(fmt::format("[lost {} stack]", kind));
    flags |= lost_flag;
    return;
  }
  for (size_t i = 0; i < ips->size(); ++i) out.push_back(cut(name((*ips)[i], i == 0)));
}

std::vector<std::byte> encode(const ProfileEvent& e) {
  size_t size = sizeof(ks_profile_record);
  for (const auto* frames : {&e.kernel, &e.user})
    for (const auto& f : *frames) size += f.size() + 1;
  ks_profile_record r{};
  r.hdr = e.hdr;
  r.hdr.size = static_cast<uint32_t>(size);
  r.samples = e.samples;
  r.kernel_frames = static_cast<uint16_t>(e.kernel.size());
  r.user_frames = static_cast<uint16_t>(e.user.size());
  r.flags = e.flags;
  r.frequency = e.frequency;
  std::vector<std::byte> out(size);
  std::memcpy(out.data(), &r, sizeof(r));
  size_t at = sizeof(r);
  for (const auto* frames : {&e.kernel, &e.user})
    for (const auto& f : *frames) {
      std::memcpy(out.data() + at, f.c_str(), f.size() + 1);
      at += f.size() + 1;
    }
  return out;
}

// One record per count of the generation that ended, hottest first, with names for every
// address; then that generation's stack map is emptied for the generation after next.
Result<void> snapshot(LiveProbe& live, const ToolArgs&, RecordSink& sink) {
  auto& probe = static_cast<ProfileProbe&>(live);  // what open() made
  uint32_t ended = probe.next_generation();
  bool odd = ended & 1;
  auto counts = take_map<ks_profile_key, uint64_t>(probe.map_fd(odd ? "counts_odd" : "counts_even"));
  if (!counts) return std::unexpected(counts.error());
  int stacks_fd = probe.map_fd(odd ? "stacks_odd" : "stacks_even");
  std::sort(counts->begin(), counts->end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.tgid, a.first.start_ns) < std::tie(b.first.tgid, b.first.start_ns);
  });

  Stacks stacks(stacks_fd, ended);
  Symbolizer& sym = probe.symbolizer;
  std::unordered_map<uint64_t, std::string> kernel_names;
  auto kernel_name = [&](uint64_t ip, bool leaf) {
    auto it = kernel_names.find(ip * 2 + leaf);
    if (it == kernel_names.end()) it = kernel_names.emplace(ip * 2 + leaf, sym.kernel_frame(ip, leaf)).first;
    return it->second;
  };
  const ks_event_header hdr = snapshot_header(KS_EVENT_PROFILE, 0);  // encode() sets the size
  std::vector<ProfileEvent> events;
  std::optional<Symbolizer::Process> proc;  // of the (pid, start) below
  std::pair<uint32_t, uint64_t> proc_of{};
  for (const auto& [key, samples] : *counts) {
    ProfileEvent e;
    e.hdr = hdr;  // one time for the whole snapshot
    e.hdr.tgid = key.tgid;
    e.hdr.uid = key.uid;
    e.hdr.cgroup_id = key.cgroup_id;
    std::memcpy(e.hdr.comm, key.comm, sizeof(e.hdr.comm));
    e.samples = samples;
    e.frequency = probe.frequency();
    add_frames(key.kernel_stack_id, stacks.get(key.kernel_stack_id, key.generation), "kernel",
               KS_PROFILE_KERNEL_LOST, kernel_name, e.kernel, e.flags);
    const auto* user = stacks.get(key.user_stack_id, key.generation);
    if (user) {
      // /proc/PID/maps read once per process and snapshot: the counts are in that order.
      std::pair<uint32_t, uint64_t> id{key.tgid, key.start_ns};
      if (!proc || proc_of != id) {
        proc.emplace(sym.process(key.tgid, key.start_ns));
        proc_of = id;
      }
      if (!proc->alive()) e.flags |= KS_PROFILE_USER_UNSYMBOLIZED;
    }
    add_frames(key.user_stack_id, user, "user", KS_PROFILE_USER_LOST,
               [&](uint64_t ip, bool leaf) { return proc->frame(ip, leaf); }, e.user, e.flags);
    events.push_back(std::move(e));
  }
  auto ids = map_keys<uint32_t>(stacks_fd);
  if (!ids) return std::unexpected(ids.error());
  for (uint32_t id : *ids) bpf_map_delete_elem(stacks_fd, &id);

  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.samples > b.samples; });
  for (const ProfileEvent& e : events) {
    auto bytes = encode(e);
    sink.on_record(bytes);
  }
  return {};
}

// A frame or thread name as one printable line piece: control bytes shown as '?', and in
// folded lines ';' (their separator) as ':'.
std::string printable(std::string_view name, bool folded) {
  std::string out(name);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    else if (folded && c == ';') c = ':';
  }
  return out;
}

// A placeholder frame ("[unknown] 0x...", "[lost user stack]", "[libc.so.6]"): no symbol
// names begin with '['.
FrameKind kind_of(std::string_view frame, FrameKind named) {
  return frame.starts_with('[') ? FrameKind::unknown : named;
}

enum class Mode { table, json, folded };

// Renders profile records libbpf-tools' way (each stack's frames, leaf first, then
// "-  comm (pid)" and the count), as NDJSON, or as folded lines; and with --svg adds every
// stack to a flame graph written when the run ends.
class ProfileSink final : public TraceSinkBase {
 public:
  ProfileSink(const TraceOptions& options, Output& out, Mode mode,
              CompiledFilter<ProfileEvent> filter, std::string svg_path, std::FILE* svg)
      : TraceSinkBase(options, out, kCounters),
        mode_(mode),
        filter_(std::move(filter)),
        svg_path_(std::move(svg_path)),
        svg_(svg) {
    if (mode == Mode::json) json_.emplace(Format::json, "profile", std::span<const F>(kFields), out);
  }
  ~ProfileSink() override {
    if (!svg_) return;
    // Written once, at the end of the run: the graph of every snapshot's stacks.
    std::string doc = graph_.svg(
        "kscope trace profile",
        fmt::format("{} samples at {} Hz on each CPU{}", graph_.total(), frequency_,
                    snapshots_ > 1 ? fmt::format(", {} intervals", snapshots_) : ""));
    bool ok = std::fwrite(doc.data(), 1, doc.size(), svg_) == doc.size();
    ok = std::fclose(svg_) == 0 && ok;
    if (!ok) log::error("write {}: {}", svg_path_, std::strerror(errno));
  }
  ProfileSink(const ProfileSink&) = delete;
  ProfileSink& operator=(const ProfileSink&) = delete;
  void header() override {}

 protected:
  Result<Handled> handle(std::span<const std::byte> record) override {
    auto e = decode(record);
    if (!e) return std::unexpected(e.error());
    if (!filter_.matches(*e)) return Handled::filtered;
    if (e->hdr.ts_ns != last_ts_) ++snapshots_;
    switch (mode_) {
      case Mode::table: table(*e); break;
      case Mode::json: json_->render(*e); break;
      case Mode::folded: folded(*e); break;
    }
    last_ts_ = e->hdr.ts_ns;
    if (svg_) add_to_graph(*e);
    return partial(*e) ? Handled::shown_partial : Handled::shown;
  }

 private:
  void table(const ProfileEvent& e) {
    auto put = std::back_inserter(out_.buffer());
    if (e.hdr.ts_ns != last_ts_)  // each snapshot starts with its time
      fmt::format_to(put, "{}{}\n", last_ts_ ? "\n" : "", time_of_day(e.hdr.ts_ns));
    for (const auto& f : e.kernel) fmt::format_to(put, "    {}\n", printable(f, false));
    if (!e.kernel.empty() && !e.user.empty()) fmt::format_to(put, "    --\n");
    for (const auto& f : e.user) fmt::format_to(put, "    {}\n", printable(f, false));
    fmt::format_to(put, "    {:<16} {} ({})\n        {}\n\n", "-",
                   printable(comm_of(e.hdr), false), e.hdr.tgid, e.samples);
    out_.maybe_flush();
  }
  // Root first: the thread's name, the user frames, then the kernel's, suffixed "_[k]".
  void folded(const ProfileEvent& e) {
    auto put = std::back_inserter(out_.buffer());
    fmt::format_to(put, "{}", printable(comm_of(e.hdr), true));
    for (auto f = e.user.rbegin(); f != e.user.rend(); ++f)
      fmt::format_to(put, ";{}", printable(*f, true));
    for (auto f = e.kernel.rbegin(); f != e.kernel.rend(); ++f)
      fmt::format_to(put, ";{}_[k]", printable(*f, true));
    fmt::format_to(put, " {}\n", e.samples);
    out_.maybe_flush();
  }
  void add_to_graph(const ProfileEvent& e) {
    std::string comm(comm_of(e.hdr));
    std::vector<FlameFrame> frames{{comm, FrameKind::process}};
    for (auto f = e.user.rbegin(); f != e.user.rend(); ++f)
      frames.push_back({*f, kind_of(*f, FrameKind::user)});
    for (auto f = e.kernel.rbegin(); f != e.kernel.rend(); ++f)
      frames.push_back({*f, kind_of(*f, FrameKind::kernel)});
    graph_.add(frames, e.samples);
    frequency_ = e.frequency;
  }

  Mode mode_;
  CompiledFilter<ProfileEvent> filter_;
  std::optional<Renderer<ProfileEvent>> json_;
  std::string svg_path_;
  std::FILE* svg_;
  FlameGraph graph_;
  uint64_t last_ts_ = 0;
  uint32_t frequency_ = 0;
  uint64_t snapshots_ = 0;
};

// ToolDef's tool with its own sink: a stack is not a row of columns.
class ProfileTool final : public Tool {
 public:
  explicit ProfileTool(ToolSpec<ProfileEvent> spec) : def_(std::move(spec)) {}
  const ToolInfo& info() const override { return def_.info(); }
  bool symbolizes() const override { return true; }
  std::span<const FlagSpec> flags() const override { return def_.flags(); }
  std::span<const HookAlternative> hooks() const override { return def_.hooks(); }
  std::vector<FieldInfo> fields() const override { return def_.fields(); }
  std::span<const ProbeCounter> counters() const override { return def_.counters(); }
  Result<void> add_clauses(const ToolArgs& args, Filter& filter) const override {
    return def_.add_clauses(args, filter);
  }
  Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args) const override {
    return def_.open(setup, args);
  }
  Result<EventRecord> decode(std::span<const std::byte> record, const ToolArgs& args) const override {
    return def_.decode(record, args);
  }
  bool aggregates() const override { return true; }
  Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) const override {
    return def_.snapshot(probe, args, sink);
  }
  Result<std::unique_ptr<TraceSinkBase>> sink(const TraceOptions& options, Output& out,
                                              const ToolArgs& args, const Filter& filter,
                                              bool live) const override {
    bool folded = args.flag("--folded");
    if (folded && options.format == Format::json)
      return fail("--folded and -o json both given", "pick one output");
    auto compiled = CompiledFilter<ProfileEvent>::compile(filter, kFields, live);
    if (!compiled) return std::unexpected(compiled.error());
    const std::string& path = args.text("--svg");
    std::FILE* svg = nullptr;
    if (!path.empty() && !(svg = std::fopen(path.c_str(), "we")))
      return fail_errno(fmt::format("--svg: create {}", path), errno);
    Mode mode = folded ? Mode::folded : options.format == Format::json ? Mode::json : Mode::table;
    return std::make_unique<ProfileSink>(options, out, mode, std::move(*compiled), path, svg);
  }

 private:
  ToolDef<ProfileEvent> def_;
};

}  // namespace

const Tool& profile_tool() {
  static const ProfileTool tool({
      .info = {"profile",
               "CPU stack sampling: kernel and user stacks by process, symbolized; folded "
               "lines and an SVG flame graph",
               {"kscope trace profile -d 10 --svg profile.svg",
                "kscope trace profile -F 99 --pid 1234 --folded -d 30 > out.folded",
                "kscope trace profile -o json -i 5 -n 3"}},
      .flags = kFlags,
      // Only perf events sample CPUs; a perf_event program is attached to each CPU's event.
      .hooks = {{"perf_event", Hook::perf_event, {"profile_sample"},
                 "perf cpu-clock event per online CPU", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<ProfileEvent>::Decode { return decode; },
      .open = open,
      .partial = partial,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
