// Runs tests/testprogs/tcp_pingpong (its arguments and line format are documented at its
// top) between the two namespaces of a NetnsPair under a live aggregating tool, and takes the
// tool's snapshots: shared by the tcptop and tcprtt tests.
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

#include "harness.h"
#include "netns.h"

namespace kscope::test {

// One line of tcp_pingpong's OUT: one end of one connection.
struct PingPongEnd {
  std::string role;
  int64_t pid;
  std::string comm, laddr;
  int64_t lport;
  std::string raddr;
  int64_t rport, sent, received, segs_in;
};

struct PingPong {
  int status = -1;
  std::vector<PingPongEnd> ends;  // in the order written: client and server of each connection

  std::vector<PingPongEnd> of(const std::string& role) const {
    std::vector<PingPongEnd> out;
    for (const auto& e : ends)
      if (e.role == role) out.push_back(e);
    return out;
  }
};

// The namespaces the tcptop and tcprtt tests share, made once and removed at exit: NetnsPair
// names a process's pairs by letters, which run out after a dozen or so.
inline const NetnsPair& pingpong_net() {
  static const NetnsPair net;
  return net;
}

// A server port no other test process picks at the same time: the probes see every network
// namespace, and each test process numbers its namespaces' addresses alike.
inline int pingpong_port() { return 20000 + getpid() % 20000; }

// tcp_pingpong with its server at server_addr:port in namespace server_ns and its client in
// client_ns, one connection per element of `rounds`.
inline PingPong run_pingpong(const std::string& server_ns, const std::string& server_addr,
                             const std::string& client_ns, int port, int req_bytes, int resp_bytes,
                             const std::vector<int>& rounds) {
  PingPong run;
  std::string dir = temp_dir();
  std::string out = dir + "/pingpong.tsv";
  std::vector<std::string> argv = {testprog("tcp_pingpong"),
                                   out,
                                   server_ns,
                                   server_addr,
                                   client_ns,
                                   std::to_string(port),
                                   std::to_string(req_bytes),
                                   std::to_string(resp_bytes)};
  for (int r : rounds) argv.push_back(std::to_string(r));
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  int status = std::system(cmd.c_str());
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (const auto& f : read_tsv(out))
    run.ends.push_back({f.at(0), std::stoll(f.at(1)), f.at(2), f.at(3), std::stoll(f.at(4)),
                        f.at(5), std::stoll(f.at(6)), std::stoll(f.at(7)), std::stoll(f.at(8)),
                        std::stoll(f.at(9))});
  std::remove(out.c_str());
  rmdir(dir.c_str());
  return run;
}

// The traffic of one tcp_pingpong run: REQ_BYTES, RESP_BYTES and one connection per element
// of `rounds`, over the pair's veth or, with ipv6, over ::1 inside its first namespace.
struct PingPongTraffic {
  int request = 0, response = 0;
  std::vector<int> rounds;
  bool ipv6 = false;
};

inline PingPong run_pingpong(const PingPongTraffic& t) {
  const NetnsPair& net = pingpong_net();
  EXPECT_TRUE(net.ok());
  return t.ipv6
             ? run_pingpong(net.a, "::1", net.a, pingpong_port(), t.request, t.response, t.rounds)
             : run_pingpong(net.a, net.addr_a, net.b, pingpong_port(), t.request, t.response,
                            t.rounds);
}

// tcp_pingpong under a live aggregating tool, and what the tool's maps held after it.
struct TracedPingPong {
  PingPong run;
  std::vector<EventRecord> rows;       // the snapshot taken once tcp_pingpong ended
  std::vector<EventRecord> next_rows;  // a second one, taken at once
  unsigned long long lost = 0;
  unsigned long long full = 0;  // what the tool's map-full counter counted
  size_t ring_records = 0;      // what the probe wrote to its ring buffer
  bool all_claimed = false;
};

// Opens `live` (its flags set) through `hook` with the task filter `task`, runs `traffic`;
// `full_map` is the tool's counter of what its full map could not take.
inline TracedPingPong trace_pingpong(LiveTool& live, const std::string& hook, const TaskFlags& task,
                                     const PingPongTraffic& traffic, const char* full_map) {
  TracedPingPong t;
  auto opened = live.open(hook, task);
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return t;
  t.all_claimed = live.all_claimed();
  CollectSink ring(live);
  auto rb = event_ring(*live.probe, ring);
  EXPECT_TRUE(rb);
  t.run = run_pingpong(traffic);
  EXPECT_EQ(t.run.status, 0);
  EXPECT_EQ(t.run.ends.size(), 2 * traffic.rounds.size());
  t.rows = take_snapshot(live);
  t.next_rows = take_snapshot(live);
  if (rb) {
    EXPECT_TRUE(rb->consume());
  }
  t.ring_records = ring.events.size() + ring.malformed;
  t.lost = live.lost();
  t.full = live.counted(full_map);
  return t;
}

}  // namespace kscope::test
