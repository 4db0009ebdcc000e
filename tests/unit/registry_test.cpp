// The tool registry's contract, for every tool in it (a new tool is checked without a new
// test): unique names, usable hook alternatives, fields with unique keys and the common
// header's, flags the CLI can build, and every program an alternative names present in the
// tool's probe object with a SEC() of the alternative's hook type; and every syscalls:sys_*
// program of every probe object reads its context with the layout of that tracepoint. The
// objects are opened with libbpf without loading them: no privileges.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "bpf/skeleton.h"
#include "registry/registry.h"

namespace kscope {
namespace {

TEST(Registry, NamesAreUniqueAndFound) {
  ASSERT_FALSE(all_tools().empty());
  std::set<std::string_view> names;
  for (const Tool* tool : all_tools()) {
    std::string_view name = tool->info().name;
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << "two tools named " << name;
    EXPECT_EQ(find_tool(name), tool) << name;
    EXPECT_FALSE(tool->info().summary.empty()) << name;
  }
  EXPECT_NE(find_tool("exec"), nullptr);
  EXPECT_NE(find_tool("open"), nullptr);
  EXPECT_EQ(find_tool("no-such-tool"), nullptr);
  EXPECT_EQ(find_tool(""), nullptr);
}

TEST(Registry, FieldsHaveUniqueKeysAndTheCommonHeader) {
  for (const Tool* tool : all_tools()) {
    std::string_view name = tool->info().name;
    std::set<std::string_view> keys;
    bool any_column = false;
    for (const FieldInfo& f : tool->fields()) {
      EXPECT_FALSE(f.key.empty()) << name;
      EXPECT_TRUE(keys.insert(f.key).second) << name << ": two fields keyed " << f.key;
      EXPECT_GE(f.width, 0) << name << " " << f.key;
      EXPECT_NE(f.key, "type") << name << ": \"type\" is the NDJSON record's tool name";
      any_column = any_column || !f.column.empty();
    }
    EXPECT_TRUE(any_column) << name << " shows nothing in the table";
    // --pid, --uid, --comm and --cgroup filter every event tool alike; every record has a
    // time. An aggregating tool's probe applies the task filters before it counts, and its
    // records are keyed by what it counts by (a disk, a syscall), not by a task.
    EXPECT_TRUE(keys.contains("time")) << name << " has no field time";
    if (tool->aggregates()) continue;
    for (std::string_view key : {"pid", "uid", "comm", "cgroup_id"})
      EXPECT_TRUE(keys.contains(key)) << name << " has no field " << key;
  }
}

TEST(Registry, FlagsHaveUniqueLongNamesAndSaneRanges) {
  for (const Tool* tool : all_tools()) {
    std::string_view name = tool->info().name;
    std::set<std::string_view> longs;
    for (const FlagSpec& f : tool->flags()) {
      std::string_view l = long_name(f);
      EXPECT_TRUE(l.starts_with("--")) << name << ": " << f.names;
      EXPECT_TRUE(longs.insert(l).second) << name << ": two flags " << l;
      EXPECT_FALSE(f.help.empty()) << name << " " << l;
      if (f.kind == FlagKind::number) {
        EXPECT_LE(f.min, f.def) << name << " " << l;
        EXPECT_LE(f.def, f.max) << name << " " << l;
      }
    }
    // The defaults add the tool's clauses without error, and a replay sink binds them.
    Filter filter;
    ToolArgs args(tool->flags());
    auto added = tool->add_clauses(args, filter);
    EXPECT_TRUE(added.has_value()) << name << ": " << added.error().message;
  }
}

TEST(Registry, DecodeRefusesWhatIsNotARecord) {
  for (const Tool* tool : all_tools()) {
    ToolArgs args(tool->flags());
    EXPECT_FALSE(tool->decode({}, args).has_value()) << tool->info().name;
    std::vector<std::byte> zeros(64);
    EXPECT_FALSE(tool->decode(zeros, args).has_value()) << tool->info().name;
  }
}

// The SEC() prefixes libbpf gives each hook type's programs.
std::vector<std::string_view> section_prefixes(Hook h) {
  switch (h) {
    case Hook::tracepoint: return {"tracepoint", "tp"};
    case Hook::raw_tp: return {"raw_tracepoint", "raw_tp"};
    case Hook::tp_btf: return {"tp_btf"};
    case Hook::kprobe: return {"kprobe", "kretprobe", "ksyscall", "kretsyscall", "kprobe.multi",
                               "kretprobe.multi"};
    case Hook::fentry: return {"fentry", "fexit", "fmod_ret", "fentry.s", "fexit.s", "fmod_ret.s"};
    case Hook::tc: return {"tc", "classifier", "tcx"};
    // cgroup_skb and the other cgroup socket hooks (sock_addr's cgroup/connect4, ...), which
    // attach to a cgroup the same way.
    case Hook::cgroup_skb: return {"cgroup_skb", "cgroup"};
    case Hook::perf_event: return {"perf_event"};
    case Hook::btf:
    case Hook::ringbuf: return {};  // kernel features, not program types
  }
  return {};
}

bool section_fits(std::string_view section, Hook h) {
  for (std::string_view p : section_prefixes(h))
    if (section == p || (section.starts_with(p) && section.substr(p.size()).starts_with("/")))
      return true;
  return false;
}

struct ObjectCloser {
  void operator()(bpf_object* o) const { bpf_object__close(o); }
};

TEST(Registry, AlternativesNameProgramsOfTheirHookType) {
  for (const Tool* tool : all_tools()) {
    std::string name(tool->info().name);
    ASSERT_FALSE(tool->hooks().empty()) << name << " has no hook alternative";
    std::string path = std::string(KSCOPE_PROBES_DIR) + "/" + name + ".bpf.o";
    std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_file(path.c_str(), nullptr));
    ASSERT_NE(obj, nullptr) << "open " << path << ": " << std::strerror(errno);

    std::set<std::string> used;  // programs some alternative loads
    std::set<std::string_view> alt_names;
    for (const HookAlternative& alt : tool->hooks()) {
      EXPECT_FALSE(alt.name.empty()) << name;
      EXPECT_TRUE(alt_names.insert(alt.name).second) << name << ": two alternatives " << alt.name;
      EXPECT_FALSE(alt.attach_points.empty()) << name << " " << alt.name;
      EXPECT_FALSE(alt.programs.empty()) << name << " " << alt.name;
      EXPECT_FALSE(section_prefixes(alt.hook).empty())
          << name << " " << alt.name << ": " << hook_name(alt.hook) << " is not a program type";
      for (const std::string& prog_name : alt.programs) {
        bpf_program* prog = bpf_object__find_program_by_name(obj.get(), prog_name.c_str());
        ASSERT_NE(prog, nullptr) << name << " " << alt.name << ": no program " << prog_name
                                 << " in " << path;
        EXPECT_EQ(bpf_program__name(prog), prog_name);
        std::string_view section = bpf_program__section_name(prog);
        EXPECT_TRUE(section_fits(section, alt.hook))
            << name << " " << alt.name << ": " << prog_name << " is SEC(\"" << section
            << "\"), not a " << hook_name(alt.hook) << " program";
        used.insert(prog_name);
      }
    }
    // load_probe() loads a staging probe's flush program with every alternative.
    used.insert(object::kStageFlush);
    // A program no alternative names would never load: dead code, or a missing name.
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, obj.get())
        EXPECT_TRUE(used.contains(bpf_program__name(prog)))
        << name << ": program " << bpf_program__name(prog) << " is in no hook alternative";
  }
}

// The struct a program's context argument points to, from the object's BTF ("" if none).
std::string context_struct(const btf* b, const char* prog_name) {
  int id = btf__find_by_name_kind(b, prog_name, BTF_KIND_FUNC);
  if (id < 0) return "";
  const btf_type* proto = btf__type_by_id(b, btf__type_by_id(b, id)->type);
  if (!btf_is_func_proto(proto) || btf_vlen(proto) < 1) return "";
  const btf_type* ptr = btf__type_by_id(b, btf__resolve_type(b, btf_params(proto)[0].type));
  if (!btf_is_ptr(ptr)) return "";
  const btf_type* target = btf__type_by_id(b, btf__resolve_type(b, ptr->type));
  return btf_is_struct(target) ? btf__name_by_offset(b, target->name_off) : "";
}

// A syscalls:sys_enter_* or sys_exit_* record is struct syscall_trace_enter/exit. The raw
// tracepoints' trace_event_raw_sys_enter/exit differs where struct trace_entry does, and
// CO-RE relocates against the kernel: on PREEMPT_RT 6.1 the raw layout reads args[] 8 bytes
// too far and ret past the record (probe_checklist.md, rule 10).
TEST(ProbeObjects, SyscallTracepointsUseTheSyscallRecordLayout) {
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(KSCOPE_PROBES_DIR)) {
    std::string path = entry.path().string();
    if (!path.ends_with(".bpf.o")) continue;
    std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_file(path.c_str(), nullptr));
    ASSERT_NE(obj, nullptr) << "open " << path << ": " << std::strerror(errno);
    const btf* b = bpf_object__btf(obj.get());
    ASSERT_NE(b, nullptr) << path << " has no BTF";
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, obj.get()) {
      std::string_view section = bpf_program__section_name(prog);
      std::string_view event;
      for (std::string_view p : {"tracepoint/syscalls/", "tp/syscalls/"})
        if (section.starts_with(p)) event = section.substr(p.size());
      if (event.empty()) continue;
      std::string want = event.starts_with("sys_enter_") ? "syscall_trace_enter" : "syscall_trace_exit";
      EXPECT_EQ(context_struct(b, bpf_program__name(prog)), want)
          << path << ": " << bpf_program__name(prog) << " in SEC(\"" << section << "\")";
      ++checked;
    }
  }
  // At least exec's four, open's two and the feature probe's one: the walk found the probes.
  EXPECT_GE(checked, 7u);
}

}  // namespace
}  // namespace kscope
