// Shared by the privileged tests: the privilege, hook and ia32 checks that skip with a
// reason, a live probe of any registered tool, a sink that keeps its decoded events, the
// testprog runner that drains a probe's ring buffer while the program runs, TSV parsing, and
// abi_known (native or ia32) run under a probe.
#pragma once

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/log.h"
#include "base/record_sink.h"
#include "bpf/capabilities.h"
#include "bpf/ring_buffer.h"
#include "filter/task_filter.h"
#include "registry/registry.h"

extern char** environ;

namespace kscope::test {

// Skips (never passes) when this process cannot load tracing probes, and says why.
#define KSCOPE_REQUIRE_PRIVILEGES()                                                     \
  do {                                                                                \
    if (auto p = ::kscope::require_tracing_privileges(); !p)                          \
      GTEST_SKIP() << "privileged test skipped: " << p.error().message << " (" << p.error().hint \
                   << ")";                                                            \
  } while (0)

inline std::string testprog(const std::string& name) {
  return std::string(KSCOPE_TESTPROGS_DIR) + "/" + name;
}

inline std::string temp_dir() {
  char tmpl[] = "/tmp/kscope-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "";
}

// The names of a tool's hook alternatives, to instantiate a test once per alternative.
inline std::vector<std::string> hook_names(std::string_view tool) {
  std::vector<std::string> names;
  for (const auto& h : find_tool(tool)->hooks()) names.emplace_back(h.name);
  return names;
}

// Names each instance of a test after its hook: Hooks/TraceExec.X/tp_btf.
inline std::string hook_param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

// Skips (never passes) when the alternative cannot work on this kernel, and says why: each
// tool's tests run with every alternative that works here (kprobe and fentry ones on the
// vm tier's 6.1 kernels).
#define KSCOPE_REQUIRE_HOOK(tool, hook)                                                        \
  do {                                                                                       \
    auto alt = ::kscope::find_hook(tool, ::kscope::find_tool(tool)->hooks(), hook);           \
    ASSERT_TRUE(alt) << alt.error().message;                                                 \
    if (auto f = ::kscope::assess_hook(**alt, ::kscope::Features::system()); !f.works)        \
      GTEST_SKIP() << "hook " << (hook) << " of trace " << (tool)                             \
                   << " does not work on this kernel: " << f.reason;                          \
  } while (0)

// A tool's live probe through one hook alternative, with the run's filter, as `kscope trace`
// sets it up.
struct LiveTool {
  const Tool& tool;
  ToolArgs args;
  Filter filter;
  std::unique_ptr<LiveProbe> probe;

  explicit LiveTool(std::string_view name) : tool(*find_tool(name)), args(tool.flags()) {}
  Result<void> open(const std::optional<std::string>& hook, TaskFlags task = {},
                    uint32_t ring_bytes = 16u << 20, Features* features = &Features::system()) {
    if (auto r = add_task_clauses(task, filter); !r) return r;
    if (auto r = tool.add_clauses(args, filter); !r) return r;
    ProbeSetup setup{.tool = tool.info().name, .filter = &filter, .hook = hook,
                     .ring_bytes = ring_bytes, .wakeup_bytes = ring_bytes / 4,
                     .features = features};
    auto p = tool.open(setup, args);
    if (!p) return std::unexpected(p.error());
    probe = std::move(*p);
    return {};
  }
  // Whether the probe compiled every clause of the filter into its rodata.
  bool all_claimed() const {
    for (size_t i = 0; i < filter.size(); ++i)
      if (!filter.claimed(i)) return false;
    return true;
  }
  unsigned long long lost() const { return read_percpu_sum(probe->lost_fd()).value_or(~0ull); }
  // One of the tool's own counters (a ProbeCounter's map), summed over the CPUs.
  unsigned long long counted(const char* map) const {
    return read_percpu_sum(probe->map_fd(map)).value_or(~0ull);
  }
  unsigned long long missed() const { return probe->missed().value_or(~0ull); }
};

// Keeps every record the probe delivers, decoded by its tool.
class CollectSink final : public RecordSink {
 public:
  explicit CollectSink(const LiveTool& live) : live_(live) {}
  void on_record(std::span<const std::byte> record) override {
    auto e = live_.tool.decode(record, live_.args);
    if (e) events.push_back(std::move(*e));
    else ++malformed;
  }
  std::vector<EventRecord> events;
  size_t malformed = 0;

 private:
  const LiveTool& live_;
};

// What an aggregating tool's maps hold now, as decoded records; the maps start the next
// interval empty.
inline std::vector<EventRecord> take_snapshot(const LiveTool& live) {
  CollectSink sink(live);
  auto taken = live.tool.snapshot(*live.probe, live.args, sink);
  EXPECT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(sink.malformed, 0u);
  return std::move(sink.events);
}

// Runs argv to completion while draining the ring buffer (or, with drain false, without
// draining until it has exited); returns its exit status.
inline int run_while_draining(const std::vector<std::string>& argv, RingBuffer& rb,
                              bool drain = true) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (drain) (void)rb.consume();
    usleep(5000);
  }
  (void)rb.consume();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string::npos ? std::string::npos : i - start));
    if (i == std::string::npos) return out;
    start = i + 1;
  }
}

inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) rows.push_back(split(line, '\t'));
  return rows;
}

// Why no 32-bit program can run here, or "" when one can: abi_known32 was not built (no
// 32-bit C compiler), or the kernel refuses ia32 programs (IA32 emulation off or absent).
inline std::string ia32_unavailable() {
  std::string prog = testprog("abi_known32");
  if (access(prog.c_str(), X_OK) != 0)
    return prog + " was not built: no 32-bit C compiler (install gcc-multilib)";
  char* argv[] = {prog.data(), const_cast<char*>("noop"), nullptr};
  pid_t pid;
  int err = posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ);
  if (err == ENOEXEC) return "this kernel runs no 32-bit programs (exec: ENOEXEC; IA32 emulation off)";
  if (err == 0) waitpid(pid, nullptr, 0);
  return "";
}

// Skips (never passes) when no 32-bit program can run here, and says why.
#define KSCOPE_REQUIRE_IA32()                                                                   \
  do {                                                                                        \
    if (auto why = ::kscope::test::ia32_unavailable(); !why.empty())                          \
      GTEST_SKIP() << "ia32 test skipped: " << why;                                            \
  } while (0)

// A run of abi_known (x86-64) or abi_known32 (ia32) to completion under a live probe, in a
// new directory: the argv it was started with, the lines it wrote to EXPECTED (see
// tests/testprogs/abi_known.c), and every event the probe delivered meanwhile.
struct AbiKnown {
  std::string dir;
  std::vector<std::string> argv;
  std::vector<std::vector<std::string>> lines;
  std::vector<EventRecord> events;
  size_t malformed = 0;
  uint32_t pid() const { return lines.empty() ? 0 : std::stoul(lines.front().at(0)); }
};

// abi_known's PARTIAL column for an event: the first of the boolean `flags` it has set, or "-".
inline std::string partial_flag(const EventRecord& e, std::initializer_list<const char*> flags) {
  for (const char* f : flags)
    if (e.boolean(f)) return f;
  return "-";
}

inline AbiKnown run_abi_known(const LiveTool& live, bool ia32) {
  AbiKnown run;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  if (!rb) return run;
  run.dir = temp_dir();
  std::string expected = run.dir + "-expected.tsv";
  run.argv = {testprog(ia32 ? "abi_known32" : "abi_known"), run.dir, expected,
              testprog("exec_target")};
  EXPECT_EQ(run_while_draining(run.argv, *rb), 0);
  run.lines = read_tsv(expected);
  std::remove(expected.c_str());
  std::system(("rm -rf '" + run.dir + "'").c_str());
  run.events = std::move(sink.events);
  run.malformed = sink.malformed;
  return run;
}

}  // namespace kscope::test
