// `kscope flows`: every IP flow through an interface or the cgroups, counted exactly in the
// kernel, with the process that owns its socket: a live top-N table by bytes, or flow
// records as NDJSON (each finished flow, and each active-timeout report of a long one).
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "base/boot_clock.h"
#include "base/log.h"
#include "bpf/capabilities.h"
#include "bpf/mounts.h"
#include "bpf/ring_buffer.h"
#include "commands.h"
#include "flows/container_id.h"
#include "flows/flow_filter.h"
#include "flows/flow_probe.h"
#include "flows/flow_table.h"
#include "pipeline/session.h"
#include "render/output.h"
#include "render/renderer.h"

namespace kscope::cli {
namespace {

using namespace kscope::flows;

struct FilterFlags {
  std::vector<std::string> ips, ports, protocols, comms;
  std::vector<uint32_t> pids;
};

struct FlowsFlags {
  FlowProbeOptions probe;
  double idle_timeout = 15, active_timeout = 60, sweep_interval = 1, interval = 1;
  std::optional<double> duration;
  std::optional<uint64_t> count;
  std::optional<uint32_t> top;  // table only; 20 when not given
  std::string format = "table";
  FilterFlags allow, deny;
};

Result<FlowFilter> build_filter(const FilterFlags& f, std::string_view prefix) {
  FlowFilter out;
  for (const auto& ip : f.ips) {
    auto c = parse_cidr(ip);
    if (!c) return fail(fmt::format("--{}ip: {}", prefix, c.error().message), c.error().hint);
    out.ips.push_back(*c);
  }
  for (const auto& p : f.ports) {
    unsigned long v = 0;
    size_t used = 0;
    try {
      v = std::stoul(p, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != p.size() || p.empty() || v > 65535)
      return fail(fmt::format("--{}port '{}' is not a port number (0-65535)", prefix, p),
                  "e.g. --port 443");
    out.ports.push_back(static_cast<uint16_t>(v));
  }
  for (const auto& p : f.protocols) {
    int n = parse_protocol(p);
    if (n < 0)
      return fail(fmt::format("--{}protocol '{}' is not a protocol", prefix, p),
                  "tcp, udp, icmp, icmpv6, or a number 0-255");
    out.protocols.push_back(static_cast<uint8_t>(n));
  }
  out.pids = f.pids;
  for (const auto& c : f.comms) {
    if (c.empty())
      return fail(fmt::format("--{}comm: empty name", prefix),
                  "give the process name as ps -o comm shows it");
    if (c.size() > 15)
      return fail(fmt::format("--{}comm '{}' is longer than a command name (15 bytes)", prefix, c),
                  "give the name as `ps -o comm` shows it");
    out.comms.push_back(c);
  }
  return out;
}

void add_filter_flags(CLI::App& cmd, FilterFlags& f, const std::string& prefix,
                      const std::string& what) {
  cmd.add_option("--" + prefix + "ip", f.ips, what + " flows from or to this address or CIDR");
  cmd.add_option("--" + prefix + "port", f.ports, what + " flows from or to this TCP/UDP port");
  cmd.add_option("--" + prefix + "protocol", f.protocols,
                 what + " flows of this protocol: tcp, udp, icmp, icmpv6 or a number");
  cmd.add_option("--" + prefix + "pid", f.pids, what + " flows whose socket this process owns");
  cmd.add_option("--" + prefix + "comm", f.comms,
                 what + " flows whose socket a process of this command name owns");
}

// The live view: the top flows by bytes since they began, and what ended since.
void print_top(const FlowTable& table, uint32_t top, Output& out,
               Renderer<FlowRecord>& renderer, const FlowFilters& filters, uint64_t ended) {
  std::vector<FlowRecord> live;
  table.for_each([&](const FlowRecord& r) {
    if (filters.passes(r)) live.push_back(r);
  });
  std::sort(live.begin(), live.end(),
            [](const FlowRecord& a, const FlowRecord& b) { return a.bytes > b.bytes; });
  fmt::format_to(std::back_inserter(out.buffer()), "\n{} flows ({} shown), {} ended so far\n",
                 live.size(), std::min<size_t>(live.size(), top), ended);
  renderer.header();
  for (size_t i = 0; i < live.size() && i < top; ++i) renderer.render(live[i]);
  out.flush();
}

int run_flows(const FlowsFlags& f) {
  const bool json = f.format == "json";
  if (f.count && !json)
    return report(Error{"--count counts NDJSON records: it needs -o json",
                        "the table runs until --duration or Ctrl-C"});
  if (f.top && json)
    return report(Error{"--top sizes the table: -o json prints every record",
                        "leave out --top, or -o json"});
  if (!f.probe.cgroup.empty() && f.probe.interface.empty()) {
    // A directory of another file system (a v1 hierarchy, /proc) fails later with a bare
    // EBADF from the attach; a missing one FlowProbe names itself.
    std::string path = f.probe.cgroup;
    if (!path.starts_with('/'))  // under the cgroup2 mount, as FlowProbe reads it
      if (auto mount = cgroup2_mount()) path = *mount + "/" + path;
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) == 0 && fs.f_type != CGROUP2_SUPER_MAGIC)
      return report(Error{fmt::format("--cgroup {}: not a cgroup2 directory", f.probe.cgroup),
                          "give a cgroup2 directory, e.g. /sys/fs/cgroup/system.slice"});
  }
  if (auto p = require_network_privileges(); !p) return report(p.error());
  FlowFilters filters;
  auto allow = build_filter(f.allow, "");
  if (!allow) return report(allow.error());
  auto deny = build_filter(f.deny, "not-");
  if (!deny) return report(deny.error());
  if (!allow->empty()) filters.allow.push_back(*allow);
  if (!deny->empty()) filters.deny.push_back(*deny);

  auto probe = FlowProbe::open(f.probe);
  if (!probe) return report(probe.error());
  for (const auto& note : (*probe)->notes()) log::warn("flows: {}", note);
  log::info("flows: counting at {}", (*probe)->where());

  std::optional<CgroupPaths> cgroups;
  if (auto mount = ensure_cgroup2()) cgroups.emplace(*mount);
  // Attached and mounted: reading the maps through the fds held needs no capability (Linux
  // 5.19 and later ask for CAP_BPF only to create maps and load programs); taking a clsact
  // filter off at the end does (CAP_NET_ADMIN, where there is no tcx).
  give_up_capabilities("flows", cap_bit(CAP_NET_ADMIN));
  auto to_ns = [](double s) { return static_cast<uint64_t>(s * 1e9); };
  FlowTable table({.idle_ns = to_ns(f.idle_timeout), .active_ns = to_ns(f.active_timeout)},
                  [&](uint64_t cgroup_id) {
                    return cgroups ? cgroups->container_of(cgroup_id, boot_now_ns()) : "";
                  });

  Output out(STDOUT_FILENO);
  Renderer<FlowRecord> renderer(json ? Format::json : Format::table, "flow", flow_fields(), out);

  // A FIN or RST wakes the loop: the flow ends at the first sweep that finds it quiet.
  struct Poke final : RecordSink {
    bool poked = false;
    void on_record(std::span<const std::byte>) override { poked = true; }
  } poke;
  auto rb = RingBuffer::create((*probe)->ring_fd(), poke);
  if (!rb) return report(rb.error());

  uint64_t last_sweep = boot_now_ns(), last_view = last_sweep;
  uint64_t records = 0, ended = 0, packets = 0, bytes = 0, overflow_packets = 0;
  std::vector<FlowDelta> deltas;
  std::vector<FlowRecord> done;
  std::optional<Error> failure;
  std::unique_ptr<Session> session;

  auto emit = [&](const std::vector<FlowRecord>& rs) {
    for (const auto& r : rs) {
      ++records;
      packets += r.packets;
      bytes += r.bytes;
      if (r.overflow()) overflow_packets += r.packets;
      if (r.end != EndReason::active_timeout && !r.overflow()) ++ended;
      // The overflow record passes every filter: what it counts has no flow to match.
      if (!json || !(r.overflow() || filters.passes(r))) continue;
      renderer.render(r);
      out.maybe_flush();
      if (f.count && records >= *f.count && session) session->stop();
    }
  };
  auto sweep = [&](uint64_t now) {
    deltas.clear();
    done.clear();
    OverflowDelta overflow;
    if (auto s = (*probe)->sweep(deltas, overflow); !s) {
      failure = s.error();
      if (session) session->stop();
      return;
    }
    table.sweep(deltas, overflow, (*probe)->point(), now, done);
    emit(done);
    // Each sweep's records out at once: a reader following the NDJSON (tail -f, a pipe into
    // jq) sees a flow when it ends, not when 256 KiB have piled up or kscope exits.
    if (json) out.flush();
    last_sweep = now;
  };
  const uint64_t sweep_ns = to_ns(f.sweep_interval), view_ns = to_ns(f.interval);
  constexpr uint64_t kEndingSweepNs = 200'000'000;  // how soon a FIN's flow is looked at again
  auto tick = [&] {
    uint64_t now = boot_now_ns();
    bool due = now - last_sweep >= sweep_ns || poke.poked ||
               (table.ending() && now - last_sweep >= kEndingSweepNs);
    if (due) {
      poke.poked = false;
      sweep(now);
    }
    if (!json && now - last_view >= view_ns) {
      print_top(table, f.top.value_or(20), out, renderer, filters, ended);
      last_view = now;
    }
  };

  SessionOptions so{.tick = std::chrono::milliseconds(50)};
  if (f.duration) so.duration = std::chrono::milliseconds(static_cast<int64_t>(*f.duration * 1000));
  session = std::make_unique<Session>(*rb, so, tick, tick);
  auto ran = session->run();
  // Whatever the kernel still holds, then every flow still open ends (forced end).
  sweep(boot_now_ns());
  done.clear();
  table.end_all(boot_now_ns(), done);
  emit(done);
  out.flush();
  if (!ran) return report(ran.error());
  if (failure) return report(*failure);
  fmt::print(stderr,
             "kscope flows: {} records, {} packets, {} bytes; {} packets in overflow records "
             "(no table room); {} FIN/RST notifications lost\n",
             records, packets, bytes, overflow_packets, (*probe)->lost_notifications());
  return 0;
}

}  // namespace

void add_flows(CLI::App& app, Command& run) {
  auto f = std::make_shared<FlowsFlags>();
  auto* cmd = app.add_subcommand(
      "flows", "IP flows counted exactly in the kernel, with the process behind each socket");
  cmd->add_option("-I,--interface", f->probe.interface,
                  "Count at TC ingress/egress of this interface (this network namespace)");
  cmd->add_option_function<std::string>(
         "--tc-attach",
         [f](const std::string& v) { f->probe.tc_attach = v == "tcx" ? TcAttach::tcx : TcAttach::clsact; },
         "With --interface: tcx (links, Linux 6.6) or clsact (cls_bpf filters); default: tcx "
         "where the kernel has it, else clsact")
      ->check(CLI::IsMember({"tcx", "clsact"}));
  cmd->add_option("--cgroup", f->probe.cgroup,
                  "Count at this cgroup's cgroup_skb hooks (default: the root, every socket)");
  cmd->add_option("--max-flows", f->probe.max_flows,
                  "Flows each kernel table holds between sweeps (default 16384); more are "
                  "counted in an overflow record")
      ->check(CLI::Range(1u, 1u << 24));
  cmd->add_option("--idle-timeout", f->idle_timeout,
                  "A flow with no packet for this many seconds ends (default 15)")
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--active-timeout", f->active_timeout,
                  "A flow that goes on reports every this many seconds (default 60, at most 60)")
      ->check(CLI::Range(0.1, 60.0));
  cmd->add_option("--sweep-interval", f->sweep_interval,
                  "Read the kernel's counts every this many seconds (default 1)")
      ->check(CLI::Range(0.01, 60.0));
  cmd->add_option("-i,--interval", f->interval, "Table: refresh every this many seconds (default 1)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--top", f->top, "Table: show this many flows, by bytes (default 20)")
      ->check(CLI::Range(1u, 100000u));
  cmd->add_option("-d,--duration", f->duration, "Stop after this many seconds")
      ->check(CLI::Range(0.01, 1e9));
  cmd->add_option("-n,--count", f->count, "json: stop after this many records")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  cmd->add_option("-o,--output", f->format,
                  "table: live top flows; json: NDJSON flow records as flows end or report")
      ->check(CLI::IsMember({"table", "json"}));
  add_filter_flags(*cmd, f->allow, "", "Only");
  add_filter_flags(*cmd, f->deny, "not-", "Not");
  cmd->footer(
      "Filters: the allow flags form one filter, the --not-* flags another; a flow passes when "
      "it matches the allow filter (every kind given; any of a kind's values) and not the deny "
      "filter.\nExamples:\n  kscope flows\n  kscope flows -I eth0 -o json --protocol tcp "
      "--port 443\n  kscope flows --cgroup system.slice/nginx.service --not-ip 10.0.0.0/8");
  cmd->callback([&run, f] { run = [f] { return run_flows(*f); }; });
}

}  // namespace kscope::cli
