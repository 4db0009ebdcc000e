// The live flow stream's server over real sockets (TCP on 127.0.0.1 port 0, unix sockets in a
// temp dir): records go in through StreamSink::write as the sink runner hands them; the test's
// clients are plain blocking sockets whose reads give up after 5 s, so a server that fails to
// answer fails the test instead of hanging it. No assert is about time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "exporters/stream/stream_sink.h"
#include "test_wait.h"

namespace kscope::stream {
namespace {

using test::eventually;

constexpr uint64_t kSec = 1'000'000'000;
// Wall clock = boot clock + this: record i's time is 2026-01-01T00:00:00Z + i + 1 seconds.
constexpr int64_t kBootToWall = 1'767'225'600 * int64_t{kSec};

// A blocking client socket; reads give up after 5 s.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  explicit Client(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    connect(reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size());
  }
  bool request(std::string_view json) { return send(std::string(json) + "\n"); }
  // The next line without its newline; nullopt at the end of the stream or after 5 s.
  std::optional<std::string> line() {
    size_t nl;
    while ((nl = buf_.find('\n')) == std::string::npos)
      if (!fill()) return std::nullopt;
    std::string l = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    return l;
  }
  // Whether the server ended the stream: nothing is left and the next read sees EOF.
  bool ended() {
    if (!buf_.empty()) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void connect(const sockaddr* a, socklen_t len) {
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    connected_ = ::connect(fd_, a, len) == 0;
  }
  bool fill() {
    char b[65536];
    ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n <= 0) return false;
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buf_;
};

// Record `seq`: 10.0.0.1:40000 -> DST:dport, its time seq + 1 s after kBootToWall.
flows::FlowRecord flow(uint32_t seq, uint16_t dport, const char* src = "10.0.0.1",
                       uint8_t proto = 6) {
  flows::FlowRecord r;
  r.key = flows::flow_key(parse_ip(src), 40000, parse_ip("10.0.0.2"), dport, proto, KS_FLOW_EGRESS,
                          KS_FLOW_POINT_TC, 0);
  r.sequence = seq;
  r.packets = 1;
  r.bytes = 100;
  r.first_ns = r.last_ns = (seq + 1) * kSec;
  return r;
}

// The sequence number of a flow record line; -1 for another line.
int64_t seq_of(const std::string& line) {
  if (!line.starts_with("{\"schema\":\"kscope.flow.v1\"")) return -1;
  size_t at = line.find("\"sequence\":");
  return at == std::string::npos ? -1 : std::stoll(line.substr(at + 11));
}

// The lost count of a kscope.lost.v1 line; -1 for another line.
int64_t lost_of(const std::string& line) {
  if (!line.starts_with("{\"schema\":\"kscope.lost.v1\"")) return -1;
  return std::stoll(line.substr(line.find("\"lost\":") + 7));
}

// Reads flow record lines up to the end of the stream; -2 for a line that is not a record.
std::vector<int64_t> seqs_to_end(Client& c) {
  std::vector<int64_t> out;
  while (auto l = c.line()) out.push_back(seq_of(*l) >= 0 ? seq_of(*l) : -2);
  return out;
}

StreamOptions options() {
  StreamOptions o;
  o.listen = "127.0.0.1:0";
  o.context.node_name = "node1";
  o.context.boot_to_wall_ns = kBootToWall;
  return o;
}

std::unique_ptr<StreamSink> start(StreamOptions o = options()) {
  auto s = StreamSink::start(std::move(o));
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

void write(StreamSink& s, std::vector<sinks::Item> items) { ASSERT_TRUE(s.write(items)); }

// Records 0..n-1, to port 443 when i is odd and to 80 when even.
std::vector<sinks::Item> alternating(uint32_t n, uint32_t first = 0) {
  std::vector<sinks::Item> items;
  for (uint32_t i = first; i < first + n; ++i) items.push_back(flow(i, i % 2 ? 443 : 80));
  return items;
}

std::string temp_dir() {
  std::string t = testing::TempDir() + "kscope-stream-XXXXXX";
  EXPECT_NE(::mkdtemp(t.data()), nullptr);
  return t;
}

TEST(StreamServer, LastNOfThoseThatPassTheFilters) {
  auto sink = start();
  ASSERT_TRUE(sink);
  write(*sink, alternating(10));
  Client c(sink->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.request(R"({"version":1,"last":3,"allow":[{"port":[443]}]})"));
  EXPECT_EQ(seqs_to_end(c), (std::vector<int64_t>{5, 7, 9}));  // then the server closes
}

TEST(StreamServer, DenyHidesWhatItMatchesAndAllowFiltersAreAlternatives) {
  auto sink = start();
  ASSERT_TRUE(sink);
  std::vector<sinks::Item> items = {flow(0, 80), flow(1, 53, "10.0.0.9", 17), flow(2, 443),
                                    flow(3, 22), flow(4, 443, "10.9.0.1")};
  write(*sink, items);
  Client c(sink->port());
  ASSERT_TRUE(c.request(R"({"allow":[{"port":[443]},{"protocol":["udp"]}],)"
                        R"("deny":[{"from_ip":["10.9.0.0/16"]}]})"));
  EXPECT_EQ(seqs_to_end(c), (std::vector<int64_t>{1, 2}));
}

TEST(StreamServer, SinceAsRfc3339OrNanoseconds) {
  auto sink = start();
  ASSERT_TRUE(sink);
  write(*sink, alternating(6));  // record i at 00:00:0(i+1)
  Client rfc(sink->port());
  ASSERT_TRUE(rfc.request(R"({"since":"2026-01-01T01:00:04+01:00"})"));
  EXPECT_EQ(seqs_to_end(rfc), (std::vector<int64_t>{3, 4, 5}));
  Client ns(sink->port());
  ASSERT_TRUE(ns.request(fmt::format(R"({{"since":{},"last":2}})", kBootToWall + 2 * kSec)));
  EXPECT_EQ(seqs_to_end(ns), (std::vector<int64_t>{4, 5}));
}

TEST(StreamServer, RingKeepsTheLastRecordsOnly) {
  StreamOptions o = options();
  o.ring_records = 4;
  auto sink = start(o);
  ASSERT_TRUE(sink);
  write(*sink, alternating(10));
  Client c(sink->port());
  ASSERT_TRUE(c.request("{}"));
  EXPECT_EQ(seqs_to_end(c), (std::vector<int64_t>{6, 7, 8, 9}));
}

TEST(StreamServer, FollowSendsTheBacklogThenEachNewRecordThatPasses) {
  auto sink = start();
  ASSERT_TRUE(sink);
  write(*sink, alternating(4));
  Client c(sink->port());
  ASSERT_TRUE(c.request(R"({"follow":true,"last":1,"allow":[{"port":[80]}]})"));
  ASSERT_TRUE(eventually([&] { return sink->stats().following == 1; }));
  write(*sink, alternating(4, 4));
  for (int64_t want : {2, 4, 6}) {
    auto l = c.line();
    ASSERT_TRUE(l);
    EXPECT_EQ(seq_of(*l), want);
  }
  // A loss report goes to every client, whatever its filters.
  sinks::LossReport report{
      .window_start_ns = 1, .window_end_ns = 2, .records = 8, .lost = {{"sink.queue", 3}}};
  write(*sink, {report});
  auto l = c.line();
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->starts_with(R"({"schema":"kscope.loss.v1","sink":"stream","node_name":)")) << *l;
  EXPECT_NE(l->find(R"("lost":{"sink.queue":3})"), std::string::npos) << *l;
}

// The sink's name in its loss reports and its fields in its records, as a file sink's.
TEST(StreamServer, NameAndFieldsAreTheSinksOwn) {
  StreamOptions o = options();
  o.name = "live";
  auto mask = sinks::FieldMask::parse({"IP", "packets"});
  ASSERT_TRUE(mask);
  o.fields = *mask;
  auto sink = start(std::move(o));
  ASSERT_TRUE(sink);
  Client c(sink->port());
  ASSERT_TRUE(c.request(R"({"follow":true})"));
  ASSERT_TRUE(eventually([&] { return sink->stats().following == 1; }));
  write(*sink, {flow(0, 443), sinks::LossReport{.window_start_ns = 1, .window_end_ns = 2, .records = 1}});
  auto record = c.line();
  ASSERT_TRUE(record);
  EXPECT_NE(record->find(R"("IP":{"source":"10.0.0.1")"), std::string::npos) << *record;
  EXPECT_NE(record->find(R"("packets":)"), std::string::npos) << *record;
  EXPECT_EQ(record->find(R"("bytes":)"), std::string::npos) << *record;
  EXPECT_EQ(record->find(R"("l4":)"), std::string::npos) << *record;
  auto report = c.line();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->starts_with(R"({"schema":"kscope.loss.v1","sink":"live","node_name":)"))
      << *report;
}

TEST(StreamServer, EightClientsOverTcpAndUnixEachGetExactlyTheirRecords) {
  std::string dir = temp_dir();
  StreamOptions o = options();
  o.unix_path = dir + "/stream.sock";
  auto sink = start(o);
  ASSERT_TRUE(sink);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(i % 2 ? std::make_unique<Client>(sink->port())
                            : std::make_unique<Client>(o.unix_path));
    ASSERT_TRUE(clients.back()->connected());
    ASSERT_TRUE(clients.back()->request(
        fmt::format(R"({{"follow":true,"allow":[{{"port":[{}]}}]}})", 1000 + i)));
  }
  ASSERT_TRUE(eventually([&] { return sink->stats().following == 8; }));
  // Client i's records are i, i + 8, i + 16, ...; port 9 is nobody's.
  std::vector<sinks::Item> items;
  for (uint32_t seq = 0; seq < 400; ++seq) {
    items.push_back(flow(seq, static_cast<uint16_t>(1000 + seq % 8)));
    items.push_back(flow(seq, 9));
  }
  write(*sink, items);
  // Stopping ends each stream after what is queued; meanwhile the clients read to the end.
  auto stopped = std::async(std::launch::async, [&] { sink.reset(); });
  for (int i = 0; i < 8; ++i) {
    std::vector<int64_t> want;
    for (int64_t seq = i; seq < 400; seq += 8) want.push_back(seq);
    EXPECT_EQ(seqs_to_end(*clients[i]), want) << "client " << i;
    clients[i]->close();
  }
  stopped.get();
  EXPECT_FALSE(std::filesystem::exists(o.unix_path));  // removed on shutdown
  std::filesystem::remove_all(dir);
}

TEST(StreamServer, StalledClientLosesOnlyItsOwnRecordsAndIsToldHowManyInBand) {
  std::string dir = temp_dir();
  StreamOptions o = options();
  o.client_queue = 100;
  o.unix_path = dir + "/stream.sock";
  auto sink = start(o);
  ASSERT_TRUE(sink);
  // Over a unix socket: its buffer is the sender's ~200 KiB (TCP on loopback grows to MiBs).
  Client stalled(o.unix_path);
  Client fast(sink->port());
  ASSERT_TRUE(stalled.request(R"({"follow":true})"));
  ASSERT_TRUE(fast.request(R"({"follow":true})"));
  ASSERT_TRUE(eventually([&] { return sink->stats().following == 2; }));

  // Far more than the stalled client's queue and socket buffers hold. The fast client reads
  // each batch before the next, so its own queue never fills.
  constexpr uint32_t kRecords = 5000, kBatch = 100;
  for (uint32_t at = 0; at < kRecords; at += kBatch) {
    write(*sink, alternating(kBatch, at));
    for (uint32_t i = at; i < at + kBatch; ++i) {
      auto l = fast.line();
      ASSERT_TRUE(l) << "record " << i;
      ASSERT_EQ(seq_of(*l), i);
    }
  }
  uint64_t dropped = sink->stats().dropped;
  EXPECT_GT(dropped, 0u);

  // It reads again: its records in order, each gap told by a lost line of the gap's size,
  // every drop told (the last as soon as its queue is empty).
  uint64_t next = 0, told = 0;
  while (next < kRecords) {
    auto l = stalled.line();
    ASSERT_TRUE(l) << "after record " << next;
    if (int64_t lost = lost_of(*l); lost > 0) {
      next += uint64_t(lost);
      told += uint64_t(lost);
    } else {
      ASSERT_EQ(seq_of(*l), int64_t(next));
      ++next;
    }
  }
  EXPECT_EQ(next, kRecords);
  EXPECT_EQ(told, dropped);
  // With room again, the next record comes next, to both.
  write(*sink, {flow(kRecords, 80)});
  auto l = stalled.line();
  ASSERT_TRUE(l);
  EXPECT_EQ(seq_of(*l), int64_t{kRecords});
  l = fast.line();
  ASSERT_TRUE(l);
  EXPECT_EQ(seq_of(*l), int64_t{kRecords});
  EXPECT_EQ(sink->stats().dropped, dropped);
  stalled.close();
  fast.close();
  sink.reset();
  std::filesystem::remove_all(dir);
}

TEST(StreamServer, GarbageGetsOneErrorLineAndTheConnectionCloses) {
  auto sink = start();
  ASSERT_TRUE(sink);
  for (std::string garbage : {"hello\n", "{\"version\":1,\"folow\":true}\n",
                              "{\"allow\":[{\"port\":[\"http\"]}]}\n", "{not json\n"}) {
    Client c(sink->port());
    ASSERT_TRUE(c.send(garbage));
    auto l = c.line();
    ASSERT_TRUE(l) << garbage;
    EXPECT_TRUE(l->starts_with(R"({"schema":"kscope.error.v1","error":"request: )")) << *l;
    EXPECT_TRUE(c.ended()) << garbage;
  }
  Client c(sink->port());
  ASSERT_TRUE(c.request(R"({"deny":[{"port":[70000]}]})"));
  EXPECT_EQ(c.line(), R"({"schema":"kscope.error.v1","error":"request: deny[0].port[0] must be )"
                      R"(a number from 0 to 65535"})");
  EXPECT_EQ(sink->stats().bad_requests, 5u);
}

// With a token set, a request without it or with another gets one error line and the end;
// one with it is served; clients are counted, not silently dropped.
TEST(StreamServer, TokenIsAskedForOnceSet) {
  auto sink = start();
  ASSERT_TRUE(sink);
  write(*sink, alternating(3));
  sink->set_token("s3cret-token");
  const std::string refused =
      R"({"schema":"kscope.error.v1","error":"request: this stream needs the collector's token",)"
      R"("hint":"kscope observe --token-file FILE, FILE holding the token of the collector's )"
      R"(token_file"})";
  for (std::string req : {R"({"last":1})", R"({"last":1,"token":"s3cret-tokeN"})",
                          R"({"last":1,"token":"s3cret-token2"})", R"({"last":1,"token":""})"}) {
    Client c(sink->port());
    ASSERT_TRUE(c.request(req));
    EXPECT_EQ(c.line(), refused) << req;
    EXPECT_TRUE(c.ended()) << req;
  }
  EXPECT_EQ(sink->stats().unauthorized, 4u);
  EXPECT_EQ(sink->stats().bad_requests, 0u);
  Client c(sink->port());
  ASSERT_TRUE(c.request(R"({"last":3,"token":"s3cret-token"})"));
  EXPECT_EQ(seqs_to_end(c), (std::vector<int64_t>{0, 1, 2}));
  sink->set_token("");  // none again: everyone is served
  Client open(sink->port());
  ASSERT_TRUE(open.request(R"({"last":1})"));
  EXPECT_EQ(seqs_to_end(open), (std::vector<int64_t>{2}));
}

TEST(StreamServer, RequestLongerThanTheLimitIsRefused) {
  auto sink = start();
  ASSERT_TRUE(sink);
  Client c(sink->port());
  ASSERT_TRUE(c.send(std::string(kMaxRequestBytes + 10, ' ')));
  auto l = c.line();
  ASSERT_TRUE(l);
  EXPECT_NE(l->find("request: longer than 16384 bytes"), std::string::npos) << *l;
  EXPECT_TRUE(c.ended());
}

TEST(StreamServer, ClientsPastTheLimitAreToldSo) {
  StreamOptions o = options();
  o.max_clients = 2;
  auto sink = start(o);
  ASSERT_TRUE(sink);
  Client a(sink->port()), b(sink->port());
  ASSERT_TRUE(eventually([&] { return sink->stats().clients == 2; }));
  Client c(sink->port());
  auto l = c.line();
  ASSERT_TRUE(l);
  EXPECT_NE(l->find("2 clients are connected"), std::string::npos) << *l;
  EXPECT_EQ(sink->stats().refused, 1u);
  a.close();  // a place comes free
  ASSERT_TRUE(eventually([&] { return sink->stats().clients == 1; }));
  Client d(sink->port());
  ASSERT_TRUE(d.request("{}"));
  EXPECT_TRUE(seqs_to_end(d).empty());
}

TEST(StreamServer, UnixSocketGetsItsModeAndReplacesAStaleOne) {
  std::string dir = temp_dir();
  std::string path = dir + "/stream.sock";
  {  // A killed run's socket: bound, never removed.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);
  }
  StreamOptions o = options();
  o.listen = "";
  o.unix_path = path;
  o.unix_mode = 0600;
  auto sink = start(o);
  ASSERT_TRUE(sink);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(sink->address(), path);
  EXPECT_EQ(sink->port(), 0);

  // A socket in use is not stale.
  auto second = StreamSink::start(o);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another process listens there"), std::string::npos);

  write(*sink, alternating(3));
  Client c(path);
  ASSERT_TRUE(c.request(R"({"last":2})"));
  EXPECT_EQ(seqs_to_end(c), (std::vector<int64_t>{1, 2}));
  sink.reset();
  EXPECT_FALSE(std::filesystem::exists(path));

  std::ofstream(path) << "not a socket";
  auto refused = StreamSink::start(o);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not a socket"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(StreamServer, BadListenAddressesSayWhy) {
  StreamOptions o = options();
  o.listen = "9438";
  auto s = StreamSink::start(o);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("'9438' is not an address"), std::string::npos);
  o.listen = "";
  s = StreamSink::start(o);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("neither a TCP address nor a unix socket"), std::string::npos);
}

TEST(StreamProtocol, RequestLineRoundTrips) {
  StreamRequest r;
  r.follow = true;
  r.last = 7;
  r.since_ns = 42;
  flows::FlowFilter allow;
  allow.ips.push_back(*flows::parse_cidr("10.1.2.3/8"));
  allow.destination_ips.push_back(*flows::parse_cidr("fd00::1"));
  allow.ports = {443, 8443};
  allow.protocols = {6};
  allow.pids = {1234};
  allow.comms = {"curl"};
  r.filters.allow.push_back(allow);
  flows::FlowFilter deny;
  deny.source_ips.push_back(*flows::parse_cidr("10.9.0.0/16"));
  r.filters.deny.push_back(deny);
  std::string line = request_line(r);
  EXPECT_EQ(line, R"({"version":1,"follow":true,"last":7,"since":42,"allow":[{"ip":["10.0.0.0/8"],)"
                  R"("to_ip":["fd00::1/128"],"port":[443,8443],"protocol":["tcp"],"pid":[1234],)"
                  R"("comm":["curl"]}],"deny":[{"from_ip":["10.9.0.0/16"]}]})"
                  "\n");
  auto back = parse_request(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(request_line(*back), line);
}

// JSON is UTF-8: a request with other bytes is refused whole (found by tests/fuzz/stream_fuzz:
// a drop reason with 0xff bytes came back otherwise after request_line()).
TEST(StreamProtocol, RequestMustBeUtf8) {
  for (std::string bad : {std::string("{\"deny\":[{\"drop_reason\":[\"NO_SO\xff\"]}]}"),
                          std::string("{\"allow\":[{\"comm\":[\"a\x01\"]}]}"),
                          std::string("{\"allow\":[{\"comm\":[\"\xc0\xaf\"]}]}"),
                          std::string("{\"allow\":[{\"comm\":[\"\xed\xa0\x80\"]}]}")}) {
    auto r = parse_request(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message, "request: not UTF-8 text") << bad;
  }
  auto ok = parse_request("{\"allow\":[{\"comm\":[\"caf\xc3\xa9\"]}]}\t");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->filters.allow.at(0).comms, std::vector<std::string>{"caf\xc3\xa9"});
}

TEST(StreamProtocol, Rfc3339) {
  EXPECT_EQ(parse_rfc3339("2026-01-01T00:00:00Z"), uint64_t(kBootToWall));
  EXPECT_EQ(parse_rfc3339("2026-01-01T01:00:00.5+01:00"), uint64_t(kBootToWall) + kSec / 2);
  EXPECT_EQ(parse_rfc3339("2026-01-01T00:00:00.123456789123Z"), uint64_t(kBootToWall) + 123456789);
  EXPECT_FALSE(parse_rfc3339("2026-01-01 00:00"));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-01-01T00:00:00"));
}

TEST(StreamProtocol, Addresses) {
  auto a = parse_address("[::1]:9438");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 9438);
  EXPECT_EQ(address_text(*a), "[::1]:9438");
  EXPECT_EQ(parse_address("/run/kscope/stream.sock")->unix_path, "/run/kscope/stream.sock");
  EXPECT_FALSE(parse_address("::1:9438"));
  EXPECT_FALSE(parse_address("localhost:http"));
}

}  // namespace
}  // namespace kscope::stream
