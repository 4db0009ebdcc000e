// Runs tests/testprogs/tcp_known (its roles and line format are documented at its top) in
// the network namespaces the socket tools' tests share, under a live probe, and keeps its
// lines and the events of its processes.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "harness.h"
#include "netns.h"

namespace kscope::test {

// One line of tcp_known's OUT.
struct TcpStep {
  std::string step;
  int64_t pid, tid;
  std::string comm, proto;
  int64_t family;
  std::string laddr;
  int64_t lport;
  std::string raddr;
  int64_t rport, err, value;
};

// An address of a tcp_known line as a tool shows it: "-" (none) is the family's any address.
inline std::string shown_addr(const std::string& addr, int64_t family) {
  return addr != "-" ? addr : family == 6 ? "::" : "0.0.0.0";
}

struct TcpKnownRun {
  int status = -1;
  int port = 0;  // the PORT tcp_known was given
  std::vector<TcpStep> steps;
  std::vector<EventRecord> events;  // of tcp_known's processes only
  unsigned long long lost = 0;

  std::vector<TcpStep> steps_of(const std::string& step) const {
    std::vector<TcpStep> out;
    for (const auto& s : steps)
      if (s.step == step) out.push_back(s);
    return out;
  }
};

// One pair of namespaces for every run of the binary (removed at its exit): a pair per test
// would run out of NetnsPair's names.
inline NetnsPair& tcp_known_netns() {
  static NetnsPair pair;
  return pair;
}

// A PORT for tcp_known that no earlier run of this binary used: no TIME_WAIT in the way.
inline int fresh_tcp_known_port() {
  static int next = 5000;
  next += 100;
  return next;
}

// tcp_known ROLES... under `live`, from PORT `port` (fresh by default).
inline TcpKnownRun run_tcp_known(const LiveTool& live, const std::vector<std::string>& roles,
                                 int port = fresh_tcp_known_port()) {
  TcpKnownRun run;
  NetnsPair& ns = tcp_known_netns();
  EXPECT_TRUE(ns.ok()) << "could not make the network namespaces";
  if (!ns.ok()) return run;
  run.port = port;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  if (!rb) return run;
  std::string dir = temp_dir(), out = dir + "/steps.tsv";
  std::vector<std::string> argv = {testprog("tcp_known"), out,  ns.a, ns.addr_a,
                                   ns.b,                  ns.addr_b, std::to_string(run.port)};
  argv.insert(argv.end(), roles.begin(), roles.end());
  run.status = run_while_draining(argv, *rb);
  EXPECT_EQ(run.status, 0) << "tcp_known did not do what its roles say";
  std::set<int64_t> pids;
  for (const auto& f : read_tsv(out)) {
    if (f.size() != 12) continue;
    run.steps.push_back({f[0], std::stoll(f[1]), std::stoll(f[2]), f[3], f[4], std::stoll(f[5]),
                         f[6], std::stoll(f[7]), f[8], std::stoll(f[9]), std::stoll(f[10]),
                         std::stoll(f[11])});
    pids.insert(run.steps.back().pid);
  }
  for (auto& e : sink.events)
    if (pids.contains(e.integer("pid"))) run.events.push_back(std::move(e));
  run.lost = live.lost();
  std::remove(out.c_str());
  rmdir(dir.c_str());
  return run;
}

// tcp_known ROLES from PORT under trace TOOL through HOOK, the tool's own flags set by
// `flags`; with `all_claimed`, the probe must have compiled every clause of the filter.
template <class Flags>
TcpKnownRun trace_tcp_known(std::string_view tool, const std::string& hook,
                            const std::vector<std::string>& roles, Flags flags,
                            bool all_claimed = true, int port = fresh_tcp_known_port()) {
  LiveTool live(tool);
  flags(live.args);
  auto opened = live.open(hook);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return {};
  if (all_claimed) {
    EXPECT_TRUE(live.all_claimed()) << "the probe left a clause to user space";
  }
  return run_tcp_known(live, roles, port);
}

inline void no_flags(ToolArgs&) {}
inline void failed_only(ToolArgs& a) { a.set("--failed").on = true; }
inline auto port_only(int port) {
  return [port](ToolArgs& a) { a.set("--port").number = port; };
}

inline bool every_line(const TcpStep&) { return true; }

// tcp_known ROLES from PORT under TOOL with `flags`, whose clauses the probe must compile:
// exactly `count` of the lines `lines(run)` gives pass `keep`, `expect(run, lines)` checks
// them, and the ring buffer lost nothing.
template <class Flags, class Lines, class Keep, class Expect>
void expect_filtered(std::string_view tool, const std::string& hook,
                     const std::vector<std::string>& roles, int port, Flags flags, Lines lines,
                     Keep keep, size_t count, Expect expect) {
  TcpKnownRun run = trace_tcp_known(tool, hook, roles, flags, true, port);
  EXPECT_EQ(run.lost, 0u);
  std::vector<TcpStep> want;
  for (const auto& s : lines(run))
    if (keep(s)) want.push_back(s);
  ASSERT_EQ(want.size(), count);
  expect(run, want);
}

// Matches each wanted line to one event of its process that `same(event, line)` says is
// its own, checks the pair with `check(event, line)`, and fails for every line without an
// event and every event no line took (printing `keys` of it).
template <class Same, class Check>
void expect_steps(const TcpKnownRun& run, const std::vector<TcpStep>& want, Same same,
                  Check check, const std::vector<std::string>& keys) {
  std::vector<bool> used(run.events.size());
  for (const auto& s : want) {
    SCOPED_TRACE(s.step + " by " + s.comm + " " + s.laddr + ":" + std::to_string(s.lport) +
                 " -> " + s.raddr + ":" + std::to_string(s.rport) + " errno " +
                 std::to_string(s.err));
    const EventRecord* got = nullptr;
    for (size_t i = 0; i < run.events.size() && !got; ++i) {
      if (!used[i] && run.events[i].integer("pid") == s.pid && same(run.events[i], s)) {
        used[i] = true;
        got = &run.events[i];
      }
    }
    if (!got) {
      ADD_FAILURE() << "no event";
      continue;
    }
    EXPECT_EQ(got->integer("tid"), s.tid);
    EXPECT_EQ(got->text("comm"), s.comm);
    EXPECT_EQ(got->integer("uid"), int64_t(getuid()));
    check(*got, s);
  }
  for (size_t i = 0; i < run.events.size(); ++i) {
    if (used[i]) continue;
    const auto& e = run.events[i];
    std::string line = "an event no line of tcp_known accounts for:";
    for (const auto& k : keys) {
      line += " " + k + "=";
      switch (e.type(k)) {
        case FieldType::ip: line += e.ip(k); break;
        case FieldType::text: line += e.text(k); break;
        case FieldType::boolean: line += e.boolean(k) ? "true" : "false"; break;
        case FieldType::uinteger:
        case FieldType::boot_time:
        case FieldType::flags:
        case FieldType::duration: line += std::to_string(e.uinteger(k)); break;
        default: line += std::to_string(e.integer(k)); break;
      }
    }
    ADD_FAILURE() << line;
  }
}

}  // namespace kscope::test
