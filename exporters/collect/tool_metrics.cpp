#include "exporters/collect/tool_metrics.h"

#include <array>
#include <vector>

#include "registry/registry.h"

namespace kscope::collect {
namespace {

using prom::Metric;
using prom::MetricKind;
using prom::MetricSet;
using prom::MetricSpec;

constexpr double kNs = 1e-9;

MetricSpec counter(std::string name, std::string help, std::vector<std::string> labels) {
  return {std::move(name), std::move(help), MetricKind::counter, std::move(labels), {}};
}

MetricSpec histogram(std::string name, std::string help, std::vector<std::string> labels) {
  return {std::move(name), std::move(help), MetricKind::histogram, std::move(labels),
          prom::log2_microsecond_bounds()};
}

// A log2 histogram of microseconds (or milliseconds: the collector never asks for them)
// from a snapshot record, with its sum in nanoseconds.
void add_log2(Metric& m, std::span<const std::string> values, const EventRecord& r) {
  const OwnedHist& slots = r.hist("hist");
  m.observe(values, slots, static_cast<double>(r.uinteger("sum_ns")) * kNs);
}

void no_flags(ToolArgs&) {}

// A counter of the tool's events by workload, from the header's comm and cgroup.
template <const char* Name, const char* Help>
Feed per_workload(MetricSet& set, Workload& w) {
  Metric& m = set.add(counter(Name, Help, label_names({}, w)));
  return [&m, &w, values = std::vector<std::string>()](const EventRecord& r) mutable {
    values.clear();
    uint64_t cgroup = r.uinteger("cgroup_id");
    w.append(r.text("comm"), cgroup, values);
    m.add(values, 1, cgroup);
  };
}

constexpr char kExec[] = "kscope_exec_total";
constexpr char kExecHelp[] = "Successful execve and execveat calls, by the new program's workload";
constexpr char kExit[] = "kscope_exit_total";
constexpr char kExitHelp[] = "Processes that exited (all their threads), by workload";

Feed oom_kills(MetricSet& set, Workload& w) {
  Metric& m = set.add(counter("kscope_oom_kills_total",
                              "Processes the kernel's OOM killer killed, by the victim's workload",
                              label_names({}, w)));
  return [&m, &w, values = std::vector<std::string>()](const EventRecord& r) mutable {
    values.clear();
    uint64_t cgroup = r.uinteger("victim_cgroup_id");
    w.append(r.text("victim_comm"), cgroup, values);
    m.add(values, 1, cgroup);
  };
}

// Connections from their state changes: an active open is SYN_SENT -> ESTABLISHED, a
// passive one SYN_RECV -> ESTABLISHED, a failed connect SYN_SENT -> CLOSE. The state changes
// run where the kernel handles the segment (often softirq): no workload to name.
Feed tcp_connections(MetricSet& set, Workload&) {
  Metric& opened = set.add(counter("kscope_tcp_connections_opened_total",
                                   "TCP connections established, by who opened them: "
                                   "direction=outbound (connect) or inbound (accept)",
                                   {"direction"}));
  Metric& failed = set.add(counter("kscope_tcp_connections_failed_total",
                                   "TCP connects that never established (SYN_SENT -> CLOSE)", {}));
  static const std::array<std::string, 1> out{"outbound"}, in{"inbound"};
  return [&](const EventRecord& r) {
    const std::string& from = r.text("oldstate");
    const std::string& to = r.text("newstate");
    if (to == "ESTABLISHED" && from == "SYN_SENT") opened.add(out, 1);
    else if (to == "ESTABLISHED" && from == "SYN_RECV") opened.add(in, 1);
    else if (to == "CLOSE" && from == "SYN_SENT") failed.add({}, 1);
  };
}

// Closed connections with their bytes, from tcplife: the socket's owner is known there.
Feed tcp_life(MetricSet& set, Workload& w) {
  Metric& closed = set.add(counter("kscope_tcp_connections_closed_total",
                                   "TCP connections closed, by direction (outbound, inbound, or "
                                   "unknown when kscope started after the connection) and the "
                                   "workload owning the socket",
                                   label_names({"direction"}, w)));
  Metric& sent = set.add(counter("kscope_tcp_sent_bytes_total",
                                 "Bytes closed TCP connections sent (acknowledged), by workload",
                                 label_names({}, w)));
  Metric& received = set.add(counter("kscope_tcp_received_bytes_total",
                                     "Bytes closed TCP connections received, by workload",
                                     label_names({}, w)));
  return [&, values = std::vector<std::string>()](const EventRecord& r) mutable {
    const std::string& dir = r.text("direction");
    values.assign(1, dir == "out" ? "outbound" : dir == "in" ? "inbound" : "unknown");
    uint64_t cgroup = r.uinteger("cgroup_id");
    w.append(r.text("comm"), cgroup, values);
    closed.add(values, 1, cgroup);
    auto workload = std::span(values).subspan(1);
    sent.add(workload, static_cast<double>(r.uinteger("tx_bytes")), cgroup);
    received.add(workload, static_cast<double>(r.uinteger("rx_bytes")), cgroup);
  };
}

Feed tcp_resets(MetricSet& set, Workload&) {
  Metric& m = set.add(counter("kscope_tcp_resets_total",
                              "TCP resets, by direction=sent or received", {"direction"}));
  return [&m, values = std::vector<std::string>(1)](const EventRecord& r) mutable {
    values[0] = r.text("direction");
    m.add(values, 1);
  };
}

Feed tcp_retransmits(MetricSet& set, Workload&) {
  Metric& m = set.add(counter("kscope_tcp_retransmits_total",
                              "TCP retransmissions, by kind=segment or synack", {"kind"}));
  return [&m, values = std::vector<std::string>(1)](const EventRecord& r) mutable {
    values[0] = r.text("kind");
    m.add(values, 1);
  };
}

Feed tcp_connect_latency(MetricSet& set, Workload&) {
  Metric& m = set.add(histogram("kscope_tcp_connect_latency_seconds",
                                "Time from a connect's SYN to ESTABLISHED", {}));
  return [&m](const EventRecord& r) { m.observe_one({}, static_cast<double>(r.uinteger("latency_ns")) * kNs); };
}

Feed tcp_rtt(MetricSet& set, Workload&) {
  Metric& m = set.add(histogram("kscope_tcp_rtt_seconds",
                                "Smoothed round-trip times of TCP connections, sampled on "
                                "every received segment",
                                {}));
  return [&m](const EventRecord& r) { add_log2(m, {}, r); };
}

Feed drops(MetricSet& set, Workload&) {
  Metric& m = set.add(counter("kscope_drops_total",
                              "Packets the kernel dropped (skb:kfree_skb), by the kernel's drop "
                              "reason and protocol (tcp, udp, icmp... from the IP header, else "
                              "the ethertype: ARP, IPv4, 0x88cc); NOT_SPECIFIED is left out",
                              {"reason", "protocol"}));
  return [&m, values = std::vector<std::string>(2)](const EventRecord& r) mutable {
    values[0] = r.text("reason");
    values[1] = r.text("proto").empty() ? r.text("protocol") : r.text("proto");
    m.add(values, static_cast<double>(r.uinteger("count")));
  };
}

Feed dns(MetricSet& set, Workload& w) {
  Metric& queries = set.add(counter("kscope_dns_queries_total",
                                    "DNS queries seen on port 53, by direction=out (sent by this "
                                    "host) or in, query type and the workload of the socket",
                                    label_names({"direction", "qtype"}, w)));
  Metric& responses = set.add(counter("kscope_dns_responses_total",
                                      "DNS responses seen on port 53, by direction, response code "
                                      "and workload",
                                      label_names({"direction", "rcode"}, w)));
  Metric& latency = set.add(histogram("kscope_dns_latency_seconds",
                                      "Time from a DNS query to its response, for responses whose "
                                      "query was seen, by direction and workload",
                                      label_names({"direction"}, w)));
  return [&, values = std::vector<std::string>()](const EventRecord& r) mutable {
    bool query = r.text("qr") == "query";
    uint64_t cgroup = r.uinteger("cgroup_id");
    values.assign({r.text("direction"), r.text(query ? "qtype" : "rcode")});
    w.append(r.text("comm"), cgroup, values);
    (query ? queries : responses).add(values, 1, cgroup);
    if (query) return;
    if (uint64_t us = r.uinteger("latency_us")) {
      values.erase(values.begin() + 1);
      latency.observe_one(values, static_cast<double>(us) * 1e-6, cgroup);
    }
  };
}

Feed runqueue(MetricSet& set, Workload&) {
  Metric& m = set.add(histogram("kscope_runqueue_latency_seconds",
                                "Time tasks waited on a run queue to get a CPU", {}));
  return [&m](const EventRecord& r) { add_log2(m, {}, r); };
}

void per_disk(ToolArgs& a) { a.set("--per-disk").on = true; }

Feed block_io(MetricSet& set, Workload&) {
  Metric& m = set.add(histogram("kscope_block_io_latency_seconds",
                                "Block I/O latency from issue to completion, by disk", {"disk"}));
  return [&m, values = std::vector<std::string>(1)](const EventRecord& r) mutable {
    values[0] = r.text("disk");
    add_log2(m, values, r);
  };
}

Feed syscalls(MetricSet& set, Workload&) {
  Metric& m = set.add(histogram("kscope_syscall_latency_seconds",
                                "System call latency from entry to exit, by syscall", {"syscall"}));
  return [&m, values = std::vector<std::string>(1)](const EventRecord& r) mutable {
    values[0] = r.text("syscall");
    add_log2(m, values, r);
  };
}

const ToolBinding kBindings[] = {
    {"process", "exec", no_flags, per_workload<kExec, kExecHelp>},
    {"process", "exit", no_flags, per_workload<kExit, kExitHelp>},
    {"process", "oomkill", no_flags, oom_kills},
    {"tcp", "tcpstates", no_flags, tcp_connections},
    {"tcp", "tcplife", no_flags, tcp_life},
    {"tcp", "tcpreset", no_flags, tcp_resets},
    {"tcp", "tcpretrans", no_flags, tcp_retransmits},
    {"tcp", "connlat", no_flags, tcp_connect_latency},
    {"tcp", "tcprtt", no_flags, tcp_rtt},
    {"drops", "dropcount", no_flags, drops},
    {"dns", "dns", no_flags, dns},
    {"runqlat", "runqlat", no_flags, runqueue},
    {"biolatency", "biolatency", per_disk, block_io},
    {"syscalls", "syslat", no_flags, syscalls},
};

}  // namespace

std::span<const ToolBinding> tool_bindings() { return kBindings; }

const ToolBinding* event_binding(std::string_view tool) {
  static const std::vector<ToolBinding> bindings = [] {
    std::vector<ToolBinding> out;
    for (const Tool* t : all_tools())
      if (!t->aggregates()) out.push_back({kSinkSource, t->info().name, no_flags, nullptr});
    return out;
  }();
  for (const auto& b : bindings)
    if (b.tool == tool) return &b;
  return nullptr;
}

bool source_enabled(const Config& c, std::string_view source) {
  if (source == "process") return c.process;
  if (source == "tcp") return c.tcp;
  if (source == "drops") return c.drops;
  if (source == "dns") return c.dns;
  if (source == "runqlat") return c.runqlat;
  if (source == "biolatency") return c.biolatency;
  if (source == "syscalls") return c.syscalls;
  return source == kSinkSource;  // while a sink wants it: the collector checks that
}

}  // namespace kscope::collect
