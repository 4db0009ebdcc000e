// The user side of kscope flows without the kernel: the flow table's ends and sums fed
// made-up sweeps, hubble-style filters, container ids from every runtime's cgroup layout,
// and the record's fields as NDJSON.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "flows/container_id.h"
#include "flows/flow_filter.h"
#include "flows/flow_record.h"
#include "flows/flow_table.h"
#include "render/output.h"
#include "render/renderer.h"
#include "captured_output.h"

namespace kscope::flows {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

ks_flow_key key(const char* s, uint16_t sport, const char* d, uint16_t dport, uint8_t proto = 6,
                uint8_t dir = KS_FLOW_EGRESS) {
  return flow_key(parse_ip(s), sport, parse_ip(d), dport, proto, dir, KS_FLOW_POINT_TC, 2);
}

FlowDelta delta(const ks_flow_key& k, uint64_t packets, uint64_t bytes, uint64_t first,
                uint64_t last, uint64_t flags = 0) {
  FlowDelta d;
  d.key = k;
  d.counts.packets = packets;
  d.counts.bytes = bytes;
  d.counts.first_ns = first;
  d.counts.last_ns = last;
  d.counts.tcp_flags = flags;
  return d;
}

FlowTable table(uint64_t idle = 15 * kSec, uint64_t active = 60 * kSec) {
  return FlowTable({.idle_ns = idle, .active_ns = active}, nullptr);
}

TEST(FlowTable, FinEndsTheFlowAtTheFirstQuietSweep) {
  auto t = table();
  auto k = key("10.0.0.1", 1000, "10.0.0.2", 80);
  std::vector<FlowRecord> out;
  FlowDelta d[] = {delta(k, 5, 500, 1 * kSec, 2 * kSec, KS_TCP_SYN | KS_TCP_ACK)};
  t.sweep(d, {}, KS_FLOW_POINT_TC, 3 * kSec, out);
  FlowDelta fin[] = {delta(k, 2, 104, 3 * kSec, 3 * kSec, KS_TCP_FIN | KS_TCP_ACK)};
  t.sweep(fin, {}, KS_FLOW_POINT_TC, 4 * kSec, out);
  EXPECT_TRUE(out.empty());  // counted in this sweep: it may still get the last ACK
  EXPECT_TRUE(t.ending());
  t.sweep({}, {}, KS_FLOW_POINT_TC, 4 * kSec + 200'000'000, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end, EndReason::end_of_flow);
  EXPECT_EQ(out[0].packets, 7u);
  EXPECT_EQ(out[0].bytes, 604u);
  EXPECT_EQ(out[0].first_ns, 1 * kSec);
  EXPECT_EQ(out[0].last_ns, 3 * kSec);
  EXPECT_EQ(out[0].tcp_flags, uint64_t{KS_TCP_SYN | KS_TCP_ACK | KS_TCP_FIN});
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.ending());
}

TEST(FlowTable, IdleTimeoutEndsAQuietFlow) {
  auto t = table(10 * kSec);
  auto k = key("10.0.0.1", 53000, "10.0.0.2", 53, 17);
  std::vector<FlowRecord> out;
  FlowDelta d[] = {delta(k, 1, 60, 1 * kSec, 1 * kSec)};
  t.sweep(d, {}, KS_FLOW_POINT_TC, 1 * kSec, out);
  t.sweep({}, {}, KS_FLOW_POINT_TC, 10 * kSec, out);
  EXPECT_TRUE(out.empty());  // 9 s quiet
  t.sweep({}, {}, KS_FLOW_POINT_TC, 11 * kSec, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end, EndReason::idle_timeout);
  EXPECT_EQ(out[0].packets, 1u);
}

// A flow that goes on reports each active period; the records' sequence numbers run on and
// their counts sum to everything that passed.
TEST(FlowTable, ActiveTimeoutRecordsSumExactly) {
  auto t = table(15 * kSec, 5 * kSec);
  auto k = key("10.0.0.1", 40000, "10.0.0.2", 443);
  std::vector<FlowRecord> out;
  uint64_t packets = 0, bytes = 0;
  for (uint64_t s = 1; s <= 20; ++s) {
    FlowDelta d[] = {delta(k, s, 100 * s, s * kSec, s * kSec)};
    packets += s;
    bytes += 100 * s;
    t.sweep(d, {}, KS_FLOW_POINT_TC, s * kSec, out);
  }
  t.end_all(21 * kSec, out);
  ASSERT_EQ(out.size(), 4u);  // active at 6, 11 and 16 s (5 s after 1, 6 and 11), then the end
  uint64_t p = 0, b = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].sequence, i);
    EXPECT_EQ(out[i].flow_start_ns, 1 * kSec);
    EXPECT_EQ(out[i].end, i + 1 < out.size() ? EndReason::active_timeout : EndReason::forced_end);
    p += out[i].packets;
    b += out[i].bytes;
  }
  EXPECT_EQ(p, packets);
  EXPECT_EQ(b, bytes);
}

TEST(FlowTable, OverflowRecordPerDirection) {
  auto t = table();
  std::vector<FlowRecord> out;
  OverflowDelta o;
  o.packets[KS_FLOW_EGRESS] = 436;
  o.bytes[KS_FLOW_EGRESS] = 436 * 38;
  t.sweep({}, o, KS_FLOW_POINT_CGROUP, 5 * kSec, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].overflow());
  EXPECT_EQ(out[0].key.direction, KS_FLOW_EGRESS);
  EXPECT_EQ(out[0].key.point, KS_FLOW_POINT_CGROUP);
  EXPECT_EQ(out[0].packets, 436u);
  EXPECT_EQ(out[0].bytes, 436u * 38);
}

TEST(FlowTable, OwnerAndContainerFromTheFirstDeltaThatKnowsThem) {
  FlowTable t({}, [](uint64_t cgroup) { return cgroup == 77 ? std::string(64, 'a') : ""; });
  auto k = key("10.0.0.1", 1, "10.0.0.2", 2);
  std::vector<FlowRecord> out;
  FlowDelta unknown[] = {delta(k, 1, 60, kSec, kSec)};
  t.sweep(unknown, {}, KS_FLOW_POINT_TC, kSec, out);
  FlowDelta known[] = {delta(k, 1, 60, 2 * kSec, 2 * kSec)};
  known[0].counts.flags = KS_FLOW_OWNER_KNOWN | KS_FLOW_TCP_SOCK;
  known[0].counts.owner.tgid = 4321;
  known[0].counts.owner.cgroup_id = 77;
  std::strcpy(known[0].counts.owner.comm, "nginx");
  known[0].counts.srtt_us = 250;
  t.sweep(known, {}, KS_FLOW_POINT_TC, 2 * kSec, out);
  t.end_all(3 * kSec, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].owner.tgid, 4321u);
  EXPECT_STREQ(out[0].owner.comm, "nginx");
  EXPECT_EQ(out[0].container_id, std::string(64, 'a'));
  EXPECT_EQ(out[0].srtt_us, 250u);
  EXPECT_EQ(out[0].end, EndReason::forced_end);
}

TEST(FlowKey, ReverseSwapsEndsAndEchoTypes) {
  auto k = key("10.0.0.1", 1000, "10.0.0.2", 80);
  auto r = reverse_key(k);
  EXPECT_TRUE(FlowKeyEq()(r, key("10.0.0.2", 80, "10.0.0.1", 1000, 6, KS_FLOW_INGRESS)));
  EXPECT_TRUE(FlowKeyEq()(reverse_key(r), k));
  auto echo = key("10.0.0.1", 0, "10.0.0.2", 8 << 8, 1);
  EXPECT_TRUE(FlowKeyEq()(reverse_key(echo), key("10.0.0.2", 0, "10.0.0.1", 0, 1, KS_FLOW_INGRESS)));
  auto echo6 = key("fd00::1", 0, "fd00::2", 128 << 8, 58);
  EXPECT_EQ(reverse_key(echo6).dport, 129 << 8);
  auto unreachable = key("10.0.0.1", 0, "10.0.0.2", 3 << 8 | 3, 1);
  EXPECT_EQ(reverse_key(unreachable).dport, 3 << 8 | 3);
  EXPECT_EQ(pair_id(k), pair_id(r));
  EXPECT_EQ(pair_id(echo), pair_id(reverse_key(echo)));
  EXPECT_NE(pair_id(k), pair_id(key("10.0.0.1", 1001, "10.0.0.2", 80)));
}

FlowRecord record(const char* s, uint16_t sport, const char* d, uint16_t dport, uint8_t proto,
                  uint32_t pid = 0, const char* comm = "") {
  FlowRecord r;
  r.key = key(s, sport, d, dport, proto);
  if (pid) {
    r.owner_flags = KS_FLOW_OWNER_KNOWN;
    r.owner.tgid = pid;
    std::strncpy(r.owner.comm, comm, sizeof(r.owner.comm) - 1);
  }
  return r;
}

TEST(FlowFilter, CidrsMatchEitherEnd) {
  auto c = parse_cidr("10.1.2.3/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(ip_text(c->net), "10.0.0.0");
  EXPECT_EQ(c->prefix, 8u);
  FlowFilter f;
  f.ips = {*c};
  EXPECT_TRUE(f.matches(record("10.9.9.9", 1, "192.168.0.1", 2, 6)));
  EXPECT_TRUE(f.matches(record("192.168.0.1", 1, "10.9.9.9", 2, 6)));
  EXPECT_FALSE(f.matches(record("11.0.0.1", 1, "192.168.0.1", 2, 6)));
  auto v6 = parse_cidr("fd00:1::/33");
  ASSERT_TRUE(v6);
  f.ips = {*v6};
  EXPECT_TRUE(f.matches(record("fd00:1:7fff::1", 1, "::1", 2, 6)));
  EXPECT_FALSE(f.matches(record("fd00:1:8000::1", 1, "::1", 2, 6)));
  EXPECT_FALSE(f.matches(record("10.0.0.1", 1, "10.0.0.2", 2, 6)));  // another family
  auto one = parse_cidr("10.0.0.5");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->prefix, 32u);
}

TEST(FlowFilter, BadCidrsSayWhy) {
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "nonsense", "10.0.0.0/8x"}) {
    auto c = parse_cidr(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find(bad), std::string::npos) << c.error().message;
    EXPECT_FALSE(c.error().hint.empty());
  }
}

// Hubble's combination: fields of one filter AND, values of one field OR; any allow filter,
// no deny filter.
TEST(FlowFilter, AllowAndDenyCombineAsHubbleDoes) {
  FlowFilters fs;
  FlowFilter allow;
  allow.ports = {80, 443};
  allow.protocols = {6};
  fs.allow.push_back(allow);
  FlowFilter deny;
  deny.comms = {"curl"};
  fs.deny.push_back(deny);
  EXPECT_TRUE(fs.passes(record("10.0.0.1", 5000, "10.0.0.2", 443, 6, 10, "nginx")));
  EXPECT_TRUE(fs.passes(record("10.0.0.2", 80, "10.0.0.1", 5000, 6)));  // owner unknown
  EXPECT_FALSE(fs.passes(record("10.0.0.1", 5000, "10.0.0.2", 443, 6, 11, "curl")));
  EXPECT_FALSE(fs.passes(record("10.0.0.1", 5000, "10.0.0.2", 443, 17)));  // UDP
  EXPECT_FALSE(fs.passes(record("10.0.0.1", 5000, "10.0.0.2", 8080, 6)));
  FlowFilter second;  // another allow filter: either may match
  second.pids = {99};
  fs.allow.push_back(second);
  EXPECT_TRUE(fs.passes(record("10.0.0.1", 5000, "10.0.0.2", 53, 17, 99, "dig")));
  EXPECT_FALSE(fs.passes(record("10.0.0.1", 5000, "10.0.0.2", 53, 17, 98, "dig")));
  EXPECT_TRUE(FlowFilters{}.passes(record("10.0.0.1", 1, "10.0.0.2", 2, 6)));
}

// A directory tree stands in for the cgroup2 mount: a cgroup's id is its directory's inode.
TEST(CgroupPaths, PathsByInodeAndGoneWhenTheDirectoryIs) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("kscope-cgroups-" + std::to_string(getpid()));
  const std::string id(64, 'a');
  fs::path scope = root / "system.slice" / ("docker-" + id + ".scope");
  fs::create_directories(scope);
  struct stat st {};
  ASSERT_EQ(stat(scope.c_str(), &st), 0);
  CgroupPaths paths(root.string());
  EXPECT_EQ(paths.path_of(st.st_ino, 1), "/system.slice/docker-" + id + ".scope");
  EXPECT_EQ(paths.container_of(st.st_ino, 1), id);
  EXPECT_FALSE(paths.gone(st.st_ino));
  EXPECT_FALSE(paths.gone(st.st_ino + 12345)) << "an id never seen is not known to be gone";
  fs::remove(scope);
  EXPECT_TRUE(paths.gone(st.st_ino));
  EXPECT_TRUE(paths.gone(st.st_ino)) << "every series of the cgroup asks";
  EXPECT_EQ(paths.path_of(st.st_ino, 1), "");
  fs::remove_all(root);
}

TEST(ContainerId, EveryRuntimesLayout) {
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  EXPECT_EQ(container_id_of_path("/docker/" + id), id);
  EXPECT_EQ(container_id_of_path("/system.slice/docker-" + id + ".scope"), id);
  EXPECT_EQ(container_id_of_path("/kubepods/burstable/pod1234-5678/" + id), id);
  EXPECT_EQ(container_id_of_path(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/"
                "cri-containerd-" + id + ".scope"),
            id);
  EXPECT_EQ(container_id_of_path("/kubepods.slice/kubepods-pod1.slice/crio-" + id + ".scope"), id);
  EXPECT_EQ(container_id_of_path("/machine.slice/libpod-" + id + ".scope/container"), id);
  EXPECT_EQ(container_id_of_path("/libpod_parent/libpod-" + id), id);
  EXPECT_EQ(container_id_of_path("/kubepods.slice/crio-conmon-" + id + ".scope"), "");
  EXPECT_EQ(container_id_of_path("/user.slice/user-1000.slice/session-2.scope"), "");
  EXPECT_EQ(container_id_of_path("/docker/" + id.substr(1)), "");  // 63 digits
  EXPECT_EQ(container_id_of_path("/docker/" + std::string(64, 'g')), "");
  EXPECT_EQ(container_id_of_path(""), "");
}

TEST(FlowRecordFields, NdjsonCarriesEveryField) {
  FlowRecord r = record("10.0.0.1", 5000, "10.0.0.2", 443, 6, 1234, "curl");
  r.packets = 7;
  r.bytes = 1234;
  r.tcp_flags = KS_TCP_SYN | KS_TCP_ACK | KS_TCP_FIN;
  r.end = EndReason::end_of_flow;
  r.container_id = "abc";
  r.srtt_us = 90;
  test::Captured cap;
  {
    Renderer<FlowRecord> json(Format::json, "flow", flow_fields(), cap.out());
    json.render(r);
  }
  std::string line = cap.text();
  for (const char* want :
       {"\"type\":\"flow\"", "\"direction\":\"out\"", "\"protocol\":\"tcp\"",
        "\"saddr\":\"10.0.0.1\"", "\"sport\":5000", "\"daddr\":\"10.0.0.2\"", "\"dport\":443",
        "\"packets\":7", "\"bytes\":1234", "\"tcp_flags\":\"FIN|SYN|ACK\"",
        "\"end_reason\":\"end\"", "\"pid\":1234", "\"comm\":\"curl\"",
        "\"container_id\":\"abc\"", "\"srtt_us\":90", "\"point\":\"tc\""})
    EXPECT_NE(line.find(want), std::string::npos) << want << " in " << line;
}

TEST(FlowRecordFields, ProtocolNames) {
  EXPECT_EQ(parse_protocol("tcp"), 6);
  EXPECT_EQ(parse_protocol("icmpv6"), 58);
  EXPECT_EQ(parse_protocol("132"), 132);
  EXPECT_EQ(parse_protocol("256"), -1);
  EXPECT_EQ(parse_protocol("sctp"), -1);
  EXPECT_EQ(protocol_name(132), "132");
  EXPECT_EQ(protocol_name(17), "udp");
}

}  // namespace
}  // namespace kscope::flows
