// kscope flows against the real kernel: flow_known sends traffic of known shape between two
// network namespaces joined by a veth pair the test makes (and removes), with kscope's TC
// filters on the veth ends inside them. Every flow's packets and bytes must come back
// exactly: against what was sent and against the interfaces' own counters; flags, end
// reasons, the owning process (also in a container-like cgroup), the overflow record of a
// full table, a long flow's series of records, 10,000 concurrent flows, and a killed run's
// filters found and removed.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "bpf/mounts.h"
#include "flows/container_id.h"
#include "flows/flow_probe.h"
#include "flows/flow_table.h"
#include "harness.h"
#include "netns.h"

namespace kscope::test {
namespace {

using namespace kscope::flows;

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1;
constexpr uint64_t kEthHeader = 14;

std::string read_in(const std::string& ns, const std::string& command) {
  std::string full = fmt::format("{} netns exec {} sh -c '{}'", NetnsPair::kIp, ns, command);
  std::string out;
  if (FILE* p = popen(full.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof(buf), p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct Counters {
  uint64_t tx_packets = 0, tx_bytes = 0, rx_packets = 0, rx_bytes = 0;
};

Counters counters(const std::string& ns) {
  std::string s = read_in(ns, "cd /sys/class/net/veth0/statistics && cat tx_packets tx_bytes "
                              "rx_packets rx_bytes");
  Counters c;
  std::sscanf(s.c_str(), "%lu %lu %lu %lu", &c.tx_packets, &c.tx_bytes, &c.rx_packets,
              &c.rx_bytes);
  return c;
}

// The IPv6 addresses quiet() gives the pair's ends.
std::string net_v6_a, net_v6_b;

// Only the test's own packets cross the veth, each as one skb: static neighbours instead of
// ARP, no IPv6 (no ND, MLD or router solicitations) unless asked for with addresses that skip
// DAD, and one segment per skb so that the interfaces count what leaves as packets.
bool quiet(NetnsPair& net, bool ipv6) {
  std::string mac_a = read_in(net.a, "cat /sys/class/net/veth0/address");
  std::string mac_b = read_in(net.b, "cat /sys/class/net/veth0/address");
  std::string v6 = ipv6 ? "0" : "1";
  auto one = [&](const std::string& ns, const std::string& peer_v4, const std::string& peer_v6,
                 const std::string& own_v6, const std::string& peer_mac) {
    std::string cmd = fmt::format(
        "sysctl -qw net.ipv6.conf.veth0.disable_ipv6={0} net.ipv6.conf.veth0.router_solicitations=0 "
        "net.ipv6.conf.veth0.accept_ra=0 && {1} neigh replace {2} lladdr {3} dev veth0 nud permanent "
        "&& {1} link set veth0 gso_max_segs 1",
        v6, NetnsPair::kIp, peer_v4, peer_mac);
    if (ipv6)
      cmd += fmt::format(" && {0} addr add {1}/64 dev veth0 nodad && {0} neigh replace {2} lladdr "
                         "{3} dev veth0 nud permanent",
                         NetnsPair::kIp, own_v6, peer_v6, peer_mac);
    return NetnsPair::run_in(ns, cmd);
  };
  std::string v6a = "fd00:231::" + net.addr_a.substr(net.addr_a.rfind('.') + 1) + ":1";
  std::string v6b = "fd00:231::" + net.addr_b.substr(net.addr_b.rfind('.') + 1) + ":2";
  net_v6_a = v6a;
  net_v6_b = v6b;
  if (mac_a.empty() || mac_b.empty() || !one(net.a, net.addr_b, v6b, v6a, mac_b) ||
      !one(net.b, net.addr_a, v6a, v6b, mac_a))
    return false;
  // With IPv6 on, the kernel reports its multicast groups (MLD) a few times after the link
  // and each address came up, up to a second apart: wait until a's veth0 has sent nothing
  // for 1.2 s, so that none falls between a test's counters and its probe.
  for (int quiet_ms = 0, waited = 0; ipv6 && quiet_ms < 1200 && waited < 6000;
       quiet_ms += 100, waited += 100) {
    uint64_t sent = counters(net.a).tx_packets;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (counters(net.a).tx_packets != sent) quiet_ms = -100;
  }
  return true;
}

// Runs f with this thread in namespace `ns`.
template <class F>
auto in_ns(const std::string& ns, F&& f) {
  int here = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int there = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  bool moved = here >= 0 && there >= 0 && setns(there, CLONE_NEWNET) == 0;
  auto result = f();
  if (moved) setns(here, CLONE_NEWNET);
  if (here >= 0) ::close(here);
  if (there >= 0) ::close(there);
  return result;
}

// One probe on veth0 of a namespace, its flow table, and every record it made.
struct Point {
  std::unique_ptr<FlowProbe> probe;
  FlowTable table{FlowTimeouts{}, nullptr};
  std::vector<FlowRecord> records;
  OverflowDelta overflow_total;

  void sweep(uint64_t now = 0) {
    std::vector<FlowDelta> deltas;
    OverflowDelta o;
    auto s = probe->sweep(deltas, o);
    ASSERT_TRUE(s) << s.error().message;
    for (int d = 0; d < 2; ++d) overflow_total.packets[d] += o.packets[d];
    table.sweep(deltas, o, probe->point(), now ? now : boot_ns(), records);
  }
  // After the traffic: a sweep that sees the last packets, one that finds FIN flows quiet,
  // then every other flow ends.
  void finish() {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    sweep();
    sweep();
    table.end_all(boot_ns(), records);
  }
  static uint64_t boot_ns() {
    timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return ts.tv_sec * 1'000'000'000ull + ts.tv_nsec;
  }
};

std::unique_ptr<Point> attach(const std::string& ns, FlowTimeouts timeouts = {},
                              uint32_t max_flows = 16384, TcAttach how = TcAttach::any) {
  auto p = std::make_unique<Point>();
  p->table = FlowTable(timeouts, nullptr);
  auto probe = in_ns(ns, [&] {
    return FlowProbe::open({.interface = "veth0", .max_flows = max_flows, .tc_attach = how});
  });
  EXPECT_TRUE(probe) << probe.error().message;
  if (!probe) return nullptr;
  p->probe = std::move(*probe);
  return p;
}

struct Sum {
  uint64_t packets = 0, bytes = 0, tcp_flags = 0, records = 0;
  EndReason last_end = EndReason::none;
  const FlowRecord* first = nullptr;
  const FlowRecord* last = nullptr;
};

// Records summed per flow key, overflow records left out.
std::map<std::string, Sum> by_flow(const std::vector<FlowRecord>& records,
                                   std::map<std::string, ks_flow_key>* keys = nullptr) {
  std::map<std::string, Sum> out;
  for (const auto& r : records) {
    if (r.overflow()) continue;
    std::string k(reinterpret_cast<const char*>(&r.key), sizeof(r.key));
    Sum& s = out[k];
    s.packets += r.packets;
    s.bytes += r.bytes;
    s.tcp_flags |= r.tcp_flags;
    s.records++;
    s.last_end = r.end;
    if (!s.first) s.first = &r;
    s.last = &r;
    if (keys) (*keys)[k] = r.key;
  }
  return out;
}

ks_flow_key key_of(const std::string& saddr, uint16_t sport, const std::string& daddr,
                   uint16_t dport, uint8_t proto, uint8_t direction, int ifindex) {
  return flow_key(parse_ip(saddr), sport, parse_ip(daddr), dport, proto, direction,
                  KS_FLOW_POINT_TC, ifindex);
}

std::string k(const ks_flow_key& key) { return std::string(reinterpret_cast<const char*>(&key), sizeof(key)); }

int ifindex_in(const std::string& ns) {
  return std::stoi(read_in(ns, "cat /sys/class/net/veth0/ifindex"));
}

pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  return posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) == 0 ? pid : -1;
}

int run(const std::vector<std::string>& argv) {
  pid_t pid = spawn(argv);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Known {
  int status = -1;
  int64_t client = 0, server = 0;
};

Known run_known(const NetnsPair& net, const std::string& kase, const std::string& server_addr,
                const std::string& client_addr, int port, long n, long size,
                const std::string& cgroup = "") {
  std::string dir = temp_dir(), out = dir + "/roles.tsv";
  std::vector<std::string> argv = {testprog("flow_known"), out, kase, net.b, server_addr, net.a,
                                   client_addr, std::to_string(port), std::to_string(n),
                                   std::to_string(size)};
  if (!cgroup.empty()) argv.push_back(cgroup);
  Known k;
  k.status = run(argv);
  for (const auto& row : read_tsv(out)) {
    if (row.at(0) == "client") k.client = std::stoll(row.at(1));
    if (row.at(0) == "server") k.server = std::stoll(row.at(1));
  }
  std::remove(out.c_str());
  rmdir(dir.c_str());
  return k;
}

std::string comm(const FlowRecord& r) { return std::string(r.owner.comm, strnlen(r.owner.comm, 16)); }

class Flows : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto p = require_network_privileges(); !p) GTEST_SKIP() << "privileged test skipped: " << p.error().message;
    ASSERT_TRUE(net.ok()) << "could not make the namespaces";
  }
  NetnsPair net;
};

// Both directions of one TCP connection, seen at both ends: exact against the interfaces'
// counters, with flags, the end of flow, and each end's own process. a's end attaches as
// kscope chooses (tcx links where the kernel has them), b's through cls_bpf filters: both
// ends must count the same.
TEST_F(Flows, TcpBothDirectionsExactAgainstTheInterfaceCounters) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a), b = attach(net.b, {}, 16384, TcAttach::clsact);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(b->probe->where().ends_with(", cls_bpf filters on clsact)")) << b->probe->where();
  Counters before = counters(net.a);
  Known known = run_known(net, "tcp", net.addr_b, net.addr_a, 7000, 100000, 30000);
  ASSERT_EQ(known.status, 0);
  a->finish();
  b->finish();
  Counters after = counters(net.a);

  int if_a = ifindex_in(net.a), if_b = ifindex_in(net.b);
  auto up = key_of(net.addr_a, 7001, net.addr_b, 7000, kTcp, KS_FLOW_EGRESS, if_a);
  auto down = key_of(net.addr_b, 7000, net.addr_a, 7001, kTcp, KS_FLOW_INGRESS, if_a);
  EXPECT_TRUE(FlowKeyEq()(reverse_key(up), down));
  EXPECT_EQ(pair_id(up), pair_id(down));
  auto flows = by_flow(a->records);
  ASSERT_EQ(flows.size(), 2u);
  ASSERT_TRUE(flows.contains(k(up)) && flows.contains(k(down)));
  const Sum& u = flows[k(up)];
  const Sum& d = flows[k(down)];
  uint64_t tx = after.tx_packets - before.tx_packets, rx = after.rx_packets - before.rx_packets;
  EXPECT_EQ(u.packets, tx);
  EXPECT_EQ(u.bytes, after.tx_bytes - before.tx_bytes - kEthHeader * tx);
  EXPECT_EQ(d.packets, rx);
  EXPECT_EQ(d.bytes, after.rx_bytes - before.rx_bytes - kEthHeader * rx);
  // The payload is in there, with at least 20 bytes of IP and 20 of TCP per packet.
  EXPECT_GE(u.bytes, 100000 + 40 * u.packets);
  EXPECT_GE(d.bytes, 30000 + 40 * d.packets);
  EXPECT_EQ(u.tcp_flags & (KS_TCP_SYN | KS_TCP_ACK | KS_TCP_FIN | KS_TCP_PSH),
            uint64_t{KS_TCP_SYN | KS_TCP_ACK | KS_TCP_FIN | KS_TCP_PSH});
  EXPECT_EQ(u.tcp_flags & KS_TCP_RST, 0u);
  EXPECT_EQ(d.tcp_flags & (KS_TCP_SYN | KS_TCP_ACK | KS_TCP_FIN), uint64_t{KS_TCP_SYN | KS_TCP_ACK | KS_TCP_FIN});
  EXPECT_EQ(u.last_end, EndReason::end_of_flow);
  EXPECT_EQ(d.last_end, EndReason::end_of_flow);
  for (const Sum* s : {&u, &d}) {
    EXPECT_EQ(int64_t{s->first->owner.tgid}, known.client);
    EXPECT_EQ(comm(*s->first), "fk_client");
    EXPECT_TRUE(s->first->owner_flags & KS_FLOW_TCP_SOCK);
    EXPECT_GT(s->last->srtt_us, 0u);
  }

  // The server's end: its accepted socket took the listener's owner.
  auto srv_in = by_flow(b->records);
  auto in_b = key_of(net.addr_a, 7001, net.addr_b, 7000, kTcp, KS_FLOW_INGRESS, if_b);
  auto out_b = key_of(net.addr_b, 7000, net.addr_a, 7001, kTcp, KS_FLOW_EGRESS, if_b);
  ASSERT_TRUE(srv_in.contains(k(in_b)) && srv_in.contains(k(out_b)));
  EXPECT_EQ(srv_in[k(in_b)].packets, u.packets);
  EXPECT_EQ(srv_in[k(in_b)].bytes, u.bytes);
  EXPECT_EQ(srv_in[k(out_b)].packets, d.packets);
  EXPECT_EQ(srv_in[k(out_b)].bytes, d.bytes);
  for (const auto& kk : {k(in_b), k(out_b)}) {
    EXPECT_EQ(int64_t{srv_in[kk].first->owner.tgid}, known.server);
    EXPECT_EQ(comm(*srv_in[kk].first), "fk_server");
  }
  EXPECT_EQ(a->probe->lost_notifications(), 0u);
}

// The cgroup hooks (the root cgroup: every local socket, in every namespace) count what the
// sockets send and receive: the same packets and bytes as TC on the client's veth end.
TEST_F(Flows, CgroupHooksCountWhatTheSocketsSendAndReceive) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a);
  ASSERT_TRUE(a);
  auto cg = std::make_unique<Point>();
  auto probe = FlowProbe::open({});
  ASSERT_TRUE(probe) << probe.error().message;
  cg->probe = std::move(*probe);
  Known known = run_known(net, "tcp", net.addr_b, net.addr_a, 7050, 50000, 20000);
  ASSERT_EQ(known.status, 0);
  a->finish();
  cg->finish();
  int if_a = ifindex_in(net.a);
  auto tc = by_flow(a->records);
  auto up = key_of(net.addr_a, 7051, net.addr_b, 7050, kTcp, KS_FLOW_EGRESS, if_a);
  auto down = key_of(net.addr_b, 7050, net.addr_a, 7051, kTcp, KS_FLOW_INGRESS, if_a);
  ASSERT_TRUE(tc.contains(k(up)) && tc.contains(k(down)));
  // At the cgroup hooks: the client's socket sends `up` and receives `down`, the server's
  // the other way round; keyed without the interface (the cgroup hook's skb has its own).
  std::map<std::pair<uint8_t, uint16_t>, Sum> seen;  // (direction, sport) -> sums
  for (const auto& r : cg->records) {
    if (r.overflow() || r.key.proto != kTcp) continue;
    IpAddr s = parse_ip(net.addr_a), d = parse_ip(net.addr_b);
    bool ours = (!std::memcmp(r.key.saddr, s.bytes.data(), 4) && !std::memcmp(r.key.daddr, d.bytes.data(), 4)) ||
                (!std::memcmp(r.key.saddr, d.bytes.data(), 4) && !std::memcmp(r.key.daddr, s.bytes.data(), 4));
    if (!ours) continue;
    EXPECT_EQ(r.key.point, KS_FLOW_POINT_CGROUP);
    Sum& sum = seen[{r.key.direction, r.key.sport}];
    sum.packets += r.packets;
    sum.bytes += r.bytes;
    if (!sum.first) sum.first = &r;
  }
  const Sum& client_out = seen[{KS_FLOW_EGRESS, 7051}];
  const Sum& client_in = seen[{KS_FLOW_INGRESS, 7050}];
  const Sum& server_in = seen[{KS_FLOW_INGRESS, 7051}];
  const Sum& server_out = seen[{KS_FLOW_EGRESS, 7050}];
  EXPECT_EQ(client_out.packets, tc[k(up)].packets);
  EXPECT_EQ(client_out.bytes, tc[k(up)].bytes);
  EXPECT_EQ(server_in.packets, tc[k(up)].packets);
  EXPECT_EQ(server_in.bytes, tc[k(up)].bytes);
  EXPECT_EQ(client_in.packets, tc[k(down)].packets);
  EXPECT_EQ(client_in.bytes, tc[k(down)].bytes);
  EXPECT_EQ(server_out.packets, tc[k(down)].packets);
  EXPECT_EQ(server_out.bytes, tc[k(down)].bytes);
  ASSERT_TRUE(client_out.first && server_out.first);
  EXPECT_EQ(int64_t{client_out.first->owner.tgid}, known.client);
  EXPECT_EQ(comm(*client_out.first), "fk_client");
  EXPECT_EQ(int64_t{server_out.first->owner.tgid}, known.server);
  EXPECT_EQ(comm(*server_out.first), "fk_server");
  EXPECT_NE(client_out.first->socket_cookie, 0u);
}

TEST_F(Flows, ResetEndsTheFlowWithRst) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a);
  ASSERT_TRUE(a);
  Known known = run_known(net, "tcp_rst", net.addr_b, net.addr_a, 7100, 5000, 0);
  ASSERT_EQ(known.status, 0);
  a->finish();
  int if_a = ifindex_in(net.a);
  auto flows = by_flow(a->records);
  auto up = key_of(net.addr_a, 7101, net.addr_b, 7100, kTcp, KS_FLOW_EGRESS, if_a);
  ASSERT_TRUE(flows.contains(k(up)));
  EXPECT_TRUE(flows[k(up)].tcp_flags & KS_TCP_RST);
  EXPECT_FALSE(flows[k(up)].tcp_flags & KS_TCP_FIN);
  EXPECT_EQ(flows[k(up)].last_end, EndReason::end_of_flow);
}

// Datagrams of known size and count, and the process behind each end's socket.
TEST_F(Flows, UdpDatagramsExact) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a), b = attach(net.b);
  ASSERT_TRUE(a && b);
  Counters before = counters(net.a);
  Known known = run_known(net, "udp", net.addr_b, net.addr_a, 7200, 50, 1000);
  ASSERT_EQ(known.status, 0);
  a->finish();
  b->finish();
  Counters after = counters(net.a);
  auto up = key_of(net.addr_a, 7201, net.addr_b, 7200, kUdp, KS_FLOW_EGRESS, ifindex_in(net.a));
  auto flows = by_flow(a->records);
  ASSERT_EQ(flows.size(), 1u);
  ASSERT_TRUE(flows.contains(k(up)));
  EXPECT_EQ(flows[k(up)].packets, 50u);
  EXPECT_EQ(flows[k(up)].bytes, 50u * (1000 + 8 + 20));
  EXPECT_EQ(after.tx_packets - before.tx_packets, 50u);
  EXPECT_EQ(after.tx_bytes - before.tx_bytes, 50u * (1000 + 8 + 20 + kEthHeader));
  EXPECT_EQ(flows[k(up)].last_end, EndReason::forced_end);  // UDP has no end: kscope stopped
  EXPECT_EQ(int64_t{flows[k(up)].first->owner.tgid}, known.client);
  EXPECT_EQ(comm(*flows[k(up)].first), "fk_client");
  auto in_b = key_of(net.addr_a, 7201, net.addr_b, 7200, kUdp, KS_FLOW_INGRESS, ifindex_in(net.b));
  auto srv = by_flow(b->records);
  ASSERT_TRUE(srv.contains(k(in_b)));
  EXPECT_EQ(srv[k(in_b)].packets, 50u);
  EXPECT_EQ(srv[k(in_b)].bytes, 50u * 1028);
  EXPECT_EQ(int64_t{srv[k(in_b)].first->owner.tgid}, known.server);
  EXPECT_EQ(comm(*srv[k(in_b)].first), "fk_server");
}

TEST_F(Flows, IcmpEchoRequestsAndRepliesPairUp) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a);
  ASSERT_TRUE(a);
  Known known = run_known(net, "icmp", net.addr_b, net.addr_a, 4242, 5, 56);
  ASSERT_EQ(known.status, 0);
  a->finish();
  int if_a = ifindex_in(net.a);
  auto req = key_of(net.addr_a, 0, net.addr_b, 8 << 8, kIcmp, KS_FLOW_EGRESS, if_a);
  auto rep = key_of(net.addr_b, 0, net.addr_a, 0, kIcmp, KS_FLOW_INGRESS, if_a);
  EXPECT_TRUE(FlowKeyEq()(reverse_key(req), rep));
  auto flows = by_flow(a->records);
  ASSERT_EQ(flows.size(), 2u);
  ASSERT_TRUE(flows.contains(k(req)) && flows.contains(k(rep)));
  EXPECT_EQ(flows[k(req)].packets, 5u);
  EXPECT_EQ(flows[k(req)].bytes, 5u * (56 + 8 + 20));
  EXPECT_EQ(flows[k(rep)].packets, 5u);
  EXPECT_EQ(flows[k(rep)].bytes, 5u * (56 + 8 + 20));
}

TEST_F(Flows, Ipv6UdpAndTcpExact) {
  ASSERT_TRUE(quiet(net, true));
  auto a = attach(net.a);
  ASSERT_TRUE(a);
  Counters before = counters(net.a);
  Known udp = run_known(net, "udp", net_v6_b, net_v6_a, 7300, 20, 500);
  ASSERT_EQ(udp.status, 0);
  Known tcp = run_known(net, "tcp", net_v6_b, net_v6_a, 7400, 20000, 7000);
  ASSERT_EQ(tcp.status, 0);
  a->finish();
  Counters after = counters(net.a);
  int if_a = ifindex_in(net.a);
  auto flows = by_flow(a->records);
  auto u = key_of(net_v6_a, 7301, net_v6_b, 7300, kUdp, KS_FLOW_EGRESS, if_a);
  ASSERT_TRUE(flows.contains(k(u)));
  EXPECT_EQ(flows[k(u)].packets, 20u);
  EXPECT_EQ(flows[k(u)].bytes, 20u * (500 + 8 + 40));
  EXPECT_EQ(int64_t{flows[k(u)].first->owner.tgid}, udp.client);
  auto t = key_of(net_v6_a, 7401, net_v6_b, 7400, kTcp, KS_FLOW_EGRESS, if_a);
  ASSERT_TRUE(flows.contains(k(t)));
  EXPECT_GE(flows[k(t)].bytes, 20000 + 60 * flows[k(t)].packets);  // IPv6 and TCP headers
  // Every packet out is in some flow: with IPv6 on, the kernel's own MLD reports too.
  uint64_t packets = 0, bytes = 0;
  for (const auto& [key, s] : flows)
    if (s.first->key.direction == KS_FLOW_EGRESS) {
      packets += s.packets;
      bytes += s.bytes;
    }
  uint64_t tx = after.tx_packets - before.tx_packets;
  EXPECT_EQ(packets, tx);
  EXPECT_EQ(bytes, after.tx_bytes - before.tx_bytes - kEthHeader * tx);
  EXPECT_EQ(flows[k(t)].last_end, EndReason::end_of_flow);
  EXPECT_EQ(comm(*flows[k(t)].first), "fk_client");
}

// A datagram behind an IPv6 extension header (destination options, 8 bytes) counts under UDP
// and its ports, with the header in its bytes.
TEST_F(Flows, Ipv6ExtensionHeadersAreWalked) {
  ASSERT_TRUE(quiet(net, true));
  auto a = attach(net.a);
  ASSERT_TRUE(a);
  Known udp = run_known(net, "udp_opts", net_v6_b, net_v6_a, 7500, 12, 300);
  ASSERT_EQ(udp.status, 0);
  a->finish();
  auto flows = by_flow(a->records);
  auto u = key_of(net_v6_a, 7501, net_v6_b, 7500, kUdp, KS_FLOW_EGRESS, ifindex_in(net.a));
  ASSERT_TRUE(flows.contains(k(u)));
  EXPECT_EQ(flows[k(u)].packets, 12u);
  EXPECT_EQ(flows[k(u)].bytes, 12u * (300 + 8 + 8 + 40));
  EXPECT_EQ(int64_t{flows[k(u)].first->owner.tgid}, udp.client);
  for (const auto& [key, s] : flows)  // nothing under an extension header's own number
    EXPECT_NE(int{s.first->key.proto}, 60) << "a flow counted under destination options";
}

TEST_F(Flows, IdleFlowEndsAfterTheIdleTimeout) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a, {.idle_ns = 200'000'000, .active_ns = 60'000'000'000});
  ASSERT_TRUE(a);
  ASSERT_EQ(run_known(net, "udp", net.addr_b, net.addr_a, 7500, 3, 100).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  a->sweep();
  EXPECT_TRUE(a->records.empty());  // not idle yet
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  a->sweep();
  ASSERT_EQ(a->records.size(), 1u);
  EXPECT_EQ(a->records[0].end, EndReason::idle_timeout);
  EXPECT_EQ(a->records[0].packets, 3u);
  EXPECT_EQ(a->records[0].bytes, 3u * 128);
}

// A flow longer than the active timeout reports as it goes, and its records sum exactly.
TEST_F(Flows, LongFlowReportsRecordsThatSumExactly) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a, {.idle_ns = 5'000'000'000, .active_ns = 200'000'000});
  ASSERT_TRUE(a);
  std::string dir = temp_dir(), out = dir + "/roles.tsv";
  pid_t pid = spawn({testprog("flow_known"), out, "udp_slow", net.b, net.addr_b, net.a,
                     net.addr_a, "7600", "100", "300"});
  ASSERT_GT(pid, 0);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    a->sweep();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  a->finish();
  std::remove(out.c_str());
  rmdir(dir.c_str());
  auto up = key_of(net.addr_a, 7601, net.addr_b, 7600, kUdp, KS_FLOW_EGRESS, ifindex_in(net.a));
  uint64_t packets = 0, bytes = 0, actives = 0;
  uint32_t sequence = 0;
  for (const auto& r : a->records) {
    if (!FlowKeyEq()(r.key, up)) continue;
    EXPECT_EQ(r.sequence, sequence++);
    packets += r.packets;
    bytes += r.bytes;
    actives += r.end == EndReason::active_timeout;
  }
  EXPECT_GE(actives, 3u) << "100 datagrams 10 ms apart, an active timeout of 200 ms";
  EXPECT_EQ(packets, 100u);
  EXPECT_EQ(bytes, 100u * 328);
}

// More flows than the table holds: the rest are counted in the overflow record, so the
// totals stay exact.
TEST_F(Flows, FullTableCountsTheRestInTheOverflowRecord) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a, {}, 64);
  ASSERT_TRUE(a);
  ASSERT_EQ(run_known(net, "udp_many", net.addr_b, net.addr_a, 20000, 500, 10).status, 0);
  a->finish();
  uint64_t tracked = 0, tracked_bytes = 0, overflow = 0, overflow_bytes = 0;
  size_t flows = 0;
  for (const auto& r : a->records) {
    if (r.overflow()) {
      EXPECT_EQ(r.key.direction, KS_FLOW_EGRESS);
      overflow += r.packets;
      overflow_bytes += r.bytes;
    } else if (r.key.proto == kUdp) {
      tracked += r.packets;
      tracked_bytes += r.bytes;
      ++flows;
    }
  }
  EXPECT_EQ(flows, 64u);
  EXPECT_EQ(tracked, 64u);
  EXPECT_EQ(overflow, 500u - 64);
  EXPECT_EQ(tracked_bytes + overflow_bytes, 500u * 38);
}

TEST_F(Flows, TenThousandConcurrentFlowsAllAccounted) {
  ASSERT_TRUE(quiet(net, false));
  auto a = attach(net.a);
  ASSERT_TRUE(a);
  ASSERT_EQ(run_known(net, "udp_many", net.addr_b, net.addr_a, 30000, 10000, 1).status, 0);
  a->finish();
  auto flows = by_flow(a->records);
  size_t ours = 0;
  for (const auto& [key, s] : flows) {
    EXPECT_EQ(s.packets, 1u);
    EXPECT_EQ(s.bytes, 29u);
    ++ours;
  }
  EXPECT_EQ(ours, 10000u);
  EXPECT_EQ(a->overflow_total.packets[KS_FLOW_EGRESS], 0u);
}

// The client in a cgroup laid out as docker's systemd driver lays it out: its flows name the
// cgroup and the container.
TEST_F(Flows, ProcessInAContainerCgroup) {
  ASSERT_TRUE(quiet(net, false));
  auto mount = ensure_cgroup2();
  ASSERT_TRUE(mount) << mount.error().message;
  const std::string id(64, 'c');
  std::string parent = fmt::format("{}/kscope-flows-{}", *mount, getpid());
  std::string cg = parent + "/docker-" + id + ".scope";
  ASSERT_EQ(mkdir(parent.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0);
  struct stat st;
  ASSERT_EQ(stat(cg.c_str(), &st), 0);
  auto a = attach(net.a);
  Known known = run_known(net, "tcp", net.addr_b, net.addr_a, 7700, 1000, 1000, cg);
  if (a) a->finish();
  rmdir(cg.c_str());
  rmdir(parent.c_str());
  ASSERT_TRUE(a);
  ASSERT_EQ(known.status, 0);
  auto up = key_of(net.addr_a, 7701, net.addr_b, 7700, kTcp, KS_FLOW_EGRESS, ifindex_in(net.a));
  auto flows = by_flow(a->records);
  ASSERT_TRUE(flows.contains(k(up)));
  const FlowRecord& r = *flows[k(up)].first;
  EXPECT_EQ(int64_t{r.owner.tgid}, known.client);
  EXPECT_EQ(r.owner.cgroup_id, st.st_ino);
  EXPECT_EQ(container_id_of_path(cg.substr(mount->size())), id);
}

// The program id of kscope's TC filter (handle and priority 0x6b73, docs/flows.md) on
// veth0's hook in `ns`, or 0 when there is none.
uint32_t filter_prog(const std::string& ns, bpf_tc_attach_point at) {
  return in_ns(ns, [&] {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(if_nametoindex("veth0")),
                .attach_point = at);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0x6b73, .priority = 0x6b73);
    return bpf_tc_query(&hook, &opts) == 0 ? opts.prog_id : 0u;
  });
}

// A run killed with SIGKILL leaves its TC filters: the next start removes them, and its
// own go when it ends.
TEST_F(Flows, FiltersAKilledRunLeftAreRemoved) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  if (child == 0) {
    auto p = in_ns(net.a, [] {
      return FlowProbe::open({.interface = "veth0", .tc_attach = TcAttach::clsact});
    });
    char c = p ? 'y' : 'n';
    (void)!write(fds[1], &c, 1);
    if (p) kill(getpid(), SIGKILL);
    _exit(1);
  }
  char c = 0;
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  close(fds[0]);
  close(fds[1]);
  int status;
  waitpid(child, &status, 0);
  ASSERT_EQ(c, 'y');
  ASSERT_TRUE(WIFSIGNALED(status));
  uint32_t left_in = filter_prog(net.a, BPF_TC_INGRESS), left_out = filter_prog(net.a, BPF_TC_EGRESS);
  EXPECT_NE(left_in, 0u);
  EXPECT_NE(left_out, 0u);
  {
    auto a = attach(net.a, {}, 16384, TcAttach::clsact);
    ASSERT_TRUE(a);
    ASSERT_EQ(a->probe->notes().size(), 2u);
    EXPECT_EQ(a->probe->notes()[0],
              fmt::format("removed the ingress filter a killed kscope left on veth0 (program {})",
                          left_in));
    EXPECT_EQ(a->probe->notes()[1],
              fmt::format("removed the egress filter a killed kscope left on veth0 (program {})",
                          left_out));
    // kscope's filters now hold this run's programs.
    uint32_t now_in = filter_prog(net.a, BPF_TC_INGRESS);
    EXPECT_NE(now_in, 0u);
    EXPECT_NE(now_in, left_in);
  }
  EXPECT_EQ(filter_prog(net.a, BPF_TC_INGRESS), 0u);
  EXPECT_EQ(filter_prog(net.a, BPF_TC_EGRESS), 0u);
}

// The programs on veth0's tcx hook in `ns` (BPF_TCX_INGRESS 46, BPF_TCX_EGRESS 47: libbpf
// 1.1 predates them), or -1 when the query fails.
int tcx_programs(const std::string& ns, int type) {
  return in_ns(ns, [&] {
    uint32_t ids[8], count = 8;
    int ifindex = static_cast<int>(if_nametoindex("veth0"));
    return bpf_prog_query(ifindex, static_cast<bpf_attach_type>(type), 0, nullptr, ids, &count) == 0
               ? static_cast<int>(count)
               : -1;
  });
}

// Whether this kernel has tcx links (Linux 6.6): kscope attaches them when asked to.
bool kernel_has_tcx(const std::string& ns) {
  auto p = in_ns(ns, [] { return FlowProbe::open({.interface = "veth0", .tc_attach = TcAttach::tcx}); });
  if (!p) {
    EXPECT_EQ(p.error().code, EINVAL) << p.error().message;
  }
  return p.has_value();
}

// By default kscope attaches tcx links where the kernel has them, else cls_bpf filters on
// clsact with a note that says why (6.1 in the vm tier); asking for tcx there is an error
// with a hint. A tcx link needs no cleanup after SIGKILL: the kernel removes it with the
// killed process's last descriptor, so nothing is left counting.
TEST_F(Flows, TcxWhereTheKernelHasItElseClsactWithANote) {
  bool tcx = kernel_has_tcx(net.a);
  auto a = attach(net.a);
  ASSERT_TRUE(a);
  if (!tcx) {
    EXPECT_TRUE(a->probe->where().ends_with(", cls_bpf filters on clsact)")) << a->probe->where();
    ASSERT_EQ(a->probe->notes().size(), 1u);
    EXPECT_EQ(a->probe->notes()[0],
              "tcx links are missing on this kernel (Linux 6.6 added them): attached cls_bpf "
              "filters on a clsact qdisc instead");
    a.reset();
    auto e = in_ns(net.a, [] { return FlowProbe::open({.interface = "veth0", .tc_attach = TcAttach::tcx}); });
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().hint, "tcx links need Linux 6.6: use --tc-attach clsact");
    return;  // the fallback is what this kernel has, and it was checked
  }
  EXPECT_TRUE(a->probe->where().ends_with(", tcx links)")) << a->probe->where();
  EXPECT_TRUE(a->probe->notes().empty());
  EXPECT_EQ(tcx_programs(net.a, 46), 1);
  EXPECT_EQ(tcx_programs(net.a, 47), 1);
  EXPECT_EQ(filter_prog(net.a, BPF_TC_INGRESS), 0u);  // no cls_bpf filter as well
  a.reset();
  EXPECT_EQ(tcx_programs(net.a, 46), 0);
  EXPECT_EQ(tcx_programs(net.a, 47), 0);

  pid_t child = fork();
  if (child == 0) {
    auto p = in_ns(net.a, [] { return FlowProbe::open({.interface = "veth0"}); });
    if (p) kill(getpid(), SIGKILL);
    _exit(1);
  }
  int status;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(tcx_programs(net.a, 46), 0);
  EXPECT_EQ(tcx_programs(net.a, 47), 0);
}

}  // namespace
}  // namespace kscope::test
