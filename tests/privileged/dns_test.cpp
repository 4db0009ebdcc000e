// trace dns against the real kernel: dns_client in namespace a asks dns_resolver in namespace
// b a fixed list of queries (connected and unconnected UDP, TCP, IPv4 and IPv6) and writes
// what it sent and got; every query and response must come back exactly, at the client
// (with its pid, and a latency below the wall time it measured) and at the server, on each
// hook alternative this kernel supports.
#include <thread>

#include "harness.h"
#include "netns.h"

namespace kscope::test {
namespace {

constexpr const char* kServer6 = "fd31::2";

struct Row {  // one line of dns_client's EXPECTED
  int64_t pid;
  std::string proto, client;
  int64_t client_port;
  std::string server;
  int64_t id;
  std::string qname, qtype, rcode, answers;
  uint64_t wall_ns;
};

struct DnsRun {
  std::vector<Row> rows;
  std::vector<EventRecord> events;  // between the test's two namespaces only
  unsigned long long lost = 0;
  bool all_claimed = false;
};

bool ours(const EventRecord& e, const NetnsPair& net) {
  for (const char* key : {"saddr", "daddr"}) {
    std::string a = e.ip(key);
    if (a != net.addr_a && a != net.addr_b && a != "fd31::1" && a != kServer6) return false;
  }
  return true;
}

// The resolver in b, started before the probe and stopped at the end.
class Resolver {
 public:
  explicit Resolver(const NetnsPair& net) {
    ready_ = temp_dir() + "/ready";
    auto argv = NetnsPair::in(net.b, {testprog("dns_resolver"), ready_});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) pid_ = -1;
  }
  ~Resolver() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(ready_.c_str());
    rmdir(ready_.substr(0, ready_.rfind('/')).c_str());
  }
  bool wait_ready() const {
    for (int i = 0; i < 500 && pid_ > 0; ++i) {
      if (access(ready_.c_str(), F_OK) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  std::string ready_;
  pid_t pid_ = -1;
};

DnsRun run_dns(const std::string& hook, bool failed, std::optional<std::string> comm = {}) {
  DnsRun run;
  NetnsPair net;
  EXPECT_TRUE(net.ok());
  for (const auto& [ns, addr] : {std::pair{net.a, "fd31::1"}, std::pair{net.b, kServer6}})
    EXPECT_TRUE(NetnsPair::run_in(
        ns, fmt::format("{} addr add {}/64 dev veth0 nodad", NetnsPair::kIp, addr)));
  Resolver resolver(net);
  EXPECT_TRUE(resolver.wait_ready()) << "dns_resolver did not start";

  LiveTool live("dns");
  live.args.set("--failed").on = failed;
  auto opened = live.open(hook, TaskFlags{.comm = comm});
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return run;
  CollectSink sink(live);
  auto rb = event_ring(*live.probe, sink);
  EXPECT_TRUE(rb);
  std::string dir = temp_dir();
  std::string expected = dir + "/expected.tsv";
  EXPECT_EQ(run_while_draining(
                NetnsPair::in(net.a, {testprog("dns_client"), net.addr_b, kServer6, expected}),
                *rb),
            0);
  for (const auto& f : read_tsv(expected))
    run.rows.push_back({std::stoll(f.at(0)), f.at(1), f.at(2), std::stoll(f.at(3)), f.at(4),
                        std::stoll(f.at(5)), f.at(6), f.at(7), f.at(8), f.at(9),
                        std::stoull(f.at(10))});
  EXPECT_EQ(sink.malformed, 0u);
  for (auto& e : sink.events)
    if (ours(e, net)) run.events.push_back(std::move(e));
  run.lost = live.lost();
  run.all_claimed = live.all_claimed();
  std::remove(expected.c_str());
  rmdir(dir.c_str());
  return run;
}

std::string joined(const OwnedArgv& a) {
  std::string s;
  for (const auto& x : a.args) s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "-" : s;
}

// The one event of `run` that is row's query or response as seen at the client (direction
// out, in) or at the server (in, out); nullptr, and a failure, when there is not exactly one.
const EventRecord* find_one(const DnsRun& run, const Row& row, bool response, bool at_client) {
  const EventRecord* found = nullptr;
  int n = 0;
  std::string direction = (response == at_client) ? "in" : "out";
  for (const auto& e : run.events) {
    bool from_client = e.ip("saddr") == row.client && e.integer("sport") == row.client_port;
    bool to_client = e.ip("daddr") == row.client && e.integer("dport") == row.client_port;
    if (e.integer("id") == row.id && (response ? to_client : from_client) &&
        e.text("qr") == (response ? "response" : "query") && e.text("direction") == direction) {
      found = &e;
      ++n;
    }
  }
  EXPECT_EQ(n, 1) << (response ? "response" : "query") << " seen at the "
                  << (at_client ? "client" : "server");
  return n == 1 ? found : nullptr;
}

void expect_message(const EventRecord& e, const Row& row, bool response) {
  EXPECT_EQ(e.text("proto"), row.proto);
  EXPECT_EQ(e.ip(response ? "saddr" : "daddr"), row.server);
  EXPECT_EQ(e.integer(response ? "sport" : "dport"), 53);
  EXPECT_EQ(e.text("qname"), row.qname);
  EXPECT_EQ(e.text("qtype"), row.qtype);
  EXPECT_EQ(e.text("rcode"), response ? row.rcode : "");
  EXPECT_EQ(e.boolean("failed"), response && row.rcode != "NOERROR");
  EXPECT_EQ(joined(e.argv("answers")), response ? row.answers : "-");
  EXPECT_FALSE(e.boolean("cut"));
  EXPECT_FALSE(e.boolean("malformed"));
}

class TraceDns : public ::testing::TestWithParam<std::string> {};

TEST_P(TraceDns, EveryQueryAndResponseAtClientAndServer) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("dns", GetParam());
  DnsRun run = run_dns(GetParam(), /*failed=*/false);
  ASSERT_EQ(run.rows.size(), 8u);
  EXPECT_EQ(run.lost, 0u);
  EXPECT_EQ(run.events.size(), 4 * run.rows.size()) << "each query and response, at both ends";
  for (const auto& row : run.rows) {
    SCOPED_TRACE(row.proto + " " + row.server + " " + row.qname + " " + row.qtype);
    const EventRecord* query = find_one(run, row, false, true);
    const EventRecord* response = find_one(run, row, true, true);
    const EventRecord* served = find_one(run, row, false, false);
    const EventRecord* answered = find_one(run, row, true, false);
    if (!query || !response || !served || !answered) continue;
    // At the client: its process, and the round trip it measured bounds the latency.
    for (const EventRecord* e : {query, response}) {
      EXPECT_EQ(e->integer("pid"), row.pid);
      EXPECT_EQ(e->text("comm"), "dns_client");
    }
    expect_message(*query, row, false);
    expect_message(*response, row, true);
    EXPECT_EQ(query->uinteger("latency_us"), 0u);
    EXPECT_GT(response->uinteger("latency_us"), 0u);
    EXPECT_LT(response->uinteger("latency_us") * 1000, row.wall_ns + 1000);
    // At the server: the resolver never connected nor sent to port 53, so its process is
    // unknown; its latency is the time it took to answer, inside the client's.
    for (const EventRecord* e : {served, answered}) {
      EXPECT_EQ(e->integer("pid"), 0);
      EXPECT_EQ(e->text("comm"), "");
    }
    expect_message(*served, row, false);
    expect_message(*answered, row, true);
    EXPECT_GT(answered->uinteger("latency_us"), 0u);
    EXPECT_LE(answered->uinteger("latency_us"), response->uinteger("latency_us"));
  }
}

// --comm keeps the sockets of the named process only, decided where the process connects;
// --failed keeps error responses only. Both run in the probe.
TEST_P(TraceDns, CommAndFailedFilterInTheKernel) {
  KSCOPE_REQUIRE_PRIVILEGES();
  KSCOPE_REQUIRE_HOOK("dns", GetParam());
  {
    SCOPED_TRACE("--comm dns_client");
    DnsRun run = run_dns(GetParam(), /*failed=*/false, "dns_client");
    ASSERT_EQ(run.rows.size(), 8u);
    EXPECT_TRUE(run.all_claimed);
    EXPECT_EQ(run.events.size(), 2 * run.rows.size());
    for (const auto& row : run.rows) {
      for (bool response : {false, true}) {
        if (const EventRecord* e = find_one(run, row, response, true)) {
          EXPECT_EQ(e->integer("pid"), row.pid);
        }
      }
    }
  }
  {
    SCOPED_TRACE("--failed");
    DnsRun run = run_dns(GetParam(), /*failed=*/true);
    ASSERT_EQ(run.rows.size(), 8u);
    EXPECT_TRUE(run.all_claimed);
    size_t nxdomain = 0;
    for (const auto& row : run.rows) {
      if (row.rcode == "NOERROR") continue;
      ++nxdomain;
      for (bool at_client : {true, false}) {
        if (const EventRecord* e = find_one(run, row, true, at_client)) expect_message(*e, row, true);
      }
    }
    EXPECT_EQ(nxdomain, 2u);
    EXPECT_EQ(run.events.size(), 2 * nxdomain) << "only the NXDOMAIN responses, at both ends";
  }
}

INSTANTIATE_TEST_SUITE_P(Hooks, TraceDns, ::testing::ValuesIn(hook_names("dns")), hook_param_name);

}  // namespace
}  // namespace kscope::test
