// Runs tests/testprogs/tcpflow_known (its cases and line format are documented at its top)
// between two network namespaces under a live probe of a TCP tool (tcplife, tcpstates,
// tcpreset, tcpretrans), and keeps its lines and the events of its connection.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "netns.h"

namespace kscope::test {

// One line of tcpflow_known's OUT: a socket and what was done with it.
struct FlowSocket {
  std::string role;  // client, server (the accepted socket), listener
  int64_t pid;
  std::string comm, laddr;
  int64_t lport;
  std::string raddr;
  int64_t rport;
  uint64_t start_ns, end_ns, tx, rx, retrans;
};

struct FlowRun {
  int status = -1;
  std::string server_addr, client_addr;
  int port = 0;  // the server's; the client's is port + 1
  std::vector<FlowSocket> sockets;
  std::vector<EventRecord> events;  // those with the connection's ports
  unsigned long long lost = 0;
  bool all_claimed = false;

  const FlowSocket* socket(const std::string& role) const {
    for (const auto& s : sockets)
      if (s.role == role) return &s;
    return nullptr;
  }
  // The events whose local end is addr:port.
  std::vector<const EventRecord*> at(const std::string& addr, int64_t lport) const {
    std::vector<const EventRecord*> out;
    for (const auto& e : events)
      if (e.ip("laddr") == addr && e.integer("lport") == lport) out.push_back(&e);
    return out;
  }
  // The events of socket s, tied by its kernel address to those naming both its ends: a
  // passive socket's first change can name only its listener's end (6.1 clones the socket
  // and changes its state before copying the peer's address), and a listener has no peer.
  std::vector<const EventRecord*> of(const FlowSocket& s) const {
    std::string raddr = s.raddr == "-" ? "0.0.0.0" : s.raddr;
    std::map<uint64_t, std::pair<std::string, int64_t>> peer;  // skaddr -> a peer it named
    for (const auto* e : at(s.laddr, s.lport))
      if (e->integer("rport") != 0 || !peer.contains(e->uinteger("skaddr")))
        peer[e->uinteger("skaddr")] = {e->ip("raddr"), e->integer("rport")};
    std::vector<const EventRecord*> out;
    for (const auto* e : at(s.laddr, s.lport))
      if (peer[e->uinteger("skaddr")] == std::pair{raddr, s.rport}) out.push_back(e);
    return out;
  }
};

// One pair of namespaces for the whole binary (removed at its exit): NetnsPair's names run
// out after a dozen pairs.
inline NetnsPair& tcpflow_netns() {
  static NetnsPair pair;
  return pair;
}

// A server port no earlier run in this binary used (no TIME_WAIT in the way), and apart from
// other test binaries' ports: every binary's first pair has the same addresses, and the
// tracepoints see every namespace.
inline int fresh_tcpflow_port() {
  static int next = 40000 + getpid() % 1000 * 20;
  next += 2;
  return next;
}

// tcpflow_known CASE under `live` (opened), draining its ring buffer meanwhile.
inline FlowRun run_tcpflow(LiveTool& live, const std::string& which) {
  FlowRun run;
  NetnsPair& net = tcpflow_netns();
  EXPECT_TRUE(net.ok()) << "could not make the network namespaces";
  if (!net.ok()) return run;
  run.server_addr = net.addr_b;
  run.client_addr = net.addr_a;
  run.port = fresh_tcpflow_port();
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  if (!rb) return run;
  std::string dir = temp_dir();
  std::string out = dir + "/sockets.tsv";
  run.status = run_while_draining({testprog("tcpflow_known"), out, which, net.b, net.addr_b, net.a,
                                   net.addr_a, std::to_string(run.port)},
                                  *rb);
  for (const auto& f : read_tsv(out))
    run.sockets.push_back({f.at(0), std::stoll(f.at(1)), f.at(2), f.at(3), std::stoll(f.at(4)),
                           f.at(5), std::stoll(f.at(6)), std::stoull(f.at(7)), std::stoull(f.at(8)),
                           std::stoull(f.at(9)), std::stoull(f.at(10)), std::stoull(f.at(11))});
  std::remove(out.c_str());
  rmdir(dir.c_str());
  for (auto& e : sink.events) {
    int64_t l = e.integer("lport"), r = e.integer("rport");
    if ((l == run.port || l == run.port + 1) && (r == run.port || r == run.port + 1 || r == 0))
      run.events.push_back(std::move(e));
  }
  EXPECT_EQ(sink.malformed, 0u);
  run.lost = live.lost();
  run.all_claimed = live.all_claimed();
  return run;
}

}  // namespace kscope::test
