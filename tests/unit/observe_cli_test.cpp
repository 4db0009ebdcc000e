// `kscope observe` without its flags parser: the request its filter flags make (--not as hubble
// has it), --since, how each line is shown, and the whole client against a real StreamSink on a
// unix socket in a temp dir. Times are shown in TZ=UTC here.
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "exporters/sinks/flow_json.h"
#include "exporters/stream/observe_client.h"
#include "exporters/stream/stream_sink.h"

namespace kscope::stream {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kNow = 1'767'225'600 * kSec;  // 2026-01-01T00:00:00Z

class StreamObserve : public testing::Test {
 protected:
  void SetUp() override {
    if (const char* tz = getenv("TZ")) saved_tz_ = tz;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (saved_tz_)
      setenv("TZ", saved_tz_->c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }

 private:
  std::optional<std::string> saved_tz_;
};

sinks::Context context() { return {.node_name = "node1", .boot_to_wall_ns = int64_t(kNow)}; }

// A TCP flow owned by curl, its last packet 1.25 s after kNow.
flows::FlowRecord curl_flow() {
  flows::FlowRecord r;
  r.key = flows::flow_key(parse_ip("10.0.0.1"), 40000, parse_ip("10.0.0.2"), 443, 6, KS_FLOW_EGRESS,
                          KS_FLOW_POINT_TC, 0);
  r.packets = 12;
  r.bytes = 3400;
  r.first_ns = kSec;
  r.last_ns = kSec + kSec / 4;
  r.tcp_flags = KS_TCP_SYN | KS_TCP_ACK;
  r.owner_flags = KS_FLOW_OWNER_KNOWN;
  r.owner.tgid = 1234;
  std::strcpy(r.owner.comm, "curl");
  return r;
}

std::string line_of(const sinks::Item& item) {
  fmt::memory_buffer out;
  sinks::append_item_json(out, item, context(), "stream");
  return std::string(out.data(), out.size() - 1);  // without its newline
}

TEST_F(StreamObserve, DefaultsAreHubbles) {
  auto r = build_request({}, kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last, 20u);
  EXPECT_FALSE(r->follow);
  r = build_request({.follow = true}, kNow);
  EXPECT_EQ(r->last, 0u);  // --follow alone starts now
  r = build_request({.follow = true, .last = 5}, kNow);
  EXPECT_EQ(r->last, 5u);
  r = build_request({.since = "5m"}, kNow);
  EXPECT_EQ(r->last, std::nullopt);  // every record kept since then
  EXPECT_EQ(r->since_ns, kNow - 300 * kSec);
}

TEST_F(StreamObserve, NotNegatesTheFlagAfterIt) {
  ObserveOptions o;
  o.filters = {{"ip", "10.0.0.0/8"},
               {"port", "22", true},
               {"comm", "curl"},
               {"to-ip", "fd00::/64", true},
               {"protocol", "TCP"}};
  auto r = build_request(o, kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(request_line(*r),
            R"({"version":1,"follow":false,"last":20,"allow":[{"ip":["10.0.0.0/8"],)"
            R"("protocol":["tcp"],"comm":["curl"]}],"deny":[{"to_ip":["fd00::/64"],"port":[22]}]})"
            "\n");
}

TEST_F(StreamObserve, BadFilterValuesNameTheFlag) {
  auto error = [](FilterFlag f) {
    auto r = build_request({.filters = {f}}, kNow);
    return r ? std::string("passed") : r.error().message;
  };
  EXPECT_EQ(error({"port", "http"}), "--port 'http' is not a port number (0-65535)");
  EXPECT_EQ(error({"protocol", "tcpp", true}), "--not --protocol 'tcpp' is not a protocol");
  EXPECT_EQ(error({"pid", "-1"}), "--pid '-1' is not a process id");
  EXPECT_EQ(error({"from-ip", "10.0.0.300"}),
            "--from-ip: '10.0.0.300' is not an IP address or CIDR");
  EXPECT_EQ(error({"comm", "a-command-name-too-long"}),
            "--comm 'a-command-name-too-long' is longer than a command name (15 bytes)");
  EXPECT_EQ(error({"drop-reason", "no socket"}), "--drop-reason 'no socket' is not a drop reason");
  auto ok = build_request({.filters = {{"drop-reason", "NO_SOCKET"}}}, kNow);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->filters.allow.at(0).drop_reasons, std::vector<std::string>{"NO_SOCKET"});
  auto line = request_line(*ok);
  EXPECT_NE(line.find(R"("drop_reason":["NO_SOCKET"])"), std::string::npos) << line;
  auto back = parse_request(line);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->filters, ok->filters);
}

TEST_F(StreamObserve, SinceIsATimeOrADurationBack) {
  EXPECT_EQ(parse_since("1h30m", kNow), kNow - 5400 * kSec);
  EXPECT_EQ(parse_since("90s", kNow), kNow - 90 * kSec);
  EXPECT_EQ(parse_since("1500ms", kNow), kNow - 1500 * kSec / 1000);
  EXPECT_EQ(parse_since("2025-12-31T23:00:00Z", kNow), kNow - 3600 * kSec);
  for (auto bad : {"5", "5x", "m", "", "2025-12-31"}) {
    auto r = parse_since(bad, kNow);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().hint.find("--since 5m"), std::string::npos) << r.error().hint;
  }
}

TEST_F(StreamObserve, CompactIsOneLineAFlow) {
  LineFormatter f(OutputFormat::compact);
  auto shown = f.format(line_of(curl_flow()));
  ASSERT_TRUE(shown) << shown.error().message;
  EXPECT_EQ(shown->out,
            "Jan  1 00:00:01.250: 10.0.0.1:40000 -> 10.0.0.2:443 TCP SYN|ACK 3400 bytes 12 "
            "packets curl[1234]\n");
  EXPECT_EQ(shown->err, "");

  flows::FlowRecord ping = curl_flow();
  ping.key = flows::flow_key(parse_ip("fd00::1"), 0, parse_ip("fd00::2"), 128 << 8, 58,
                             KS_FLOW_EGRESS, KS_FLOW_POINT_TC, 0);
  ping.owner_flags = 0;
  shown = f.format(line_of(ping));
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->out,
            "Jan  1 00:00:01.250: fd00::1 -> fd00::2 ICMPv6 type 128 code 0 3400 bytes 12 "
            "packets\n");
}

TEST_F(StreamObserve, EventsAreOneLineEach) {
  LineFormatter f(OutputFormat::compact);
  auto exec = f.format(
      R"({"schema":"kscope.event.v1","node_name":"n","type":"exec","time":"2026-01-01T00:00:01.250000000Z",)"
      R"("comm":"bash","pid":4242,"ret":0,"args":["bash","-c",":"]})");
  ASSERT_TRUE(exec.has_value()) << exec.error().message;
  EXPECT_EQ(exec->out, "Jan  1 00:00:01.250: exec bash[4242] bash -c :\n");
  auto exit = f.format(
      R"({"schema":"kscope.event.v1","node_name":"n","type":"exit","time":"2026-01-01T00:00:02.000000000Z",)"
      R"("comm":"bash","pid":4242,"exit_code":3,"signal":0})");
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->out, "Jan  1 00:00:02.000: exit bash[4242] exit_code=3 signal=0\n");
}

TEST_F(StreamObserve, TableHasAHeaderAndAlignedColumns) {
  LineFormatter f(OutputFormat::table);
  auto first = f.format(line_of(curl_flow()));
  auto second = f.format(line_of(curl_flow()));
  ASSERT_TRUE(first && second);
  std::string row =
      "Jan  1 00:00:01.250 10.0.0.1:40000           10.0.0.2:443             TCP    SYN|ACK"
      "              3400       12 curl[1234]\n";
  EXPECT_EQ(first->out,
            "TIME                SOURCE                   DESTINATION              PROTO  FLAGS "
            "              BYTES  PACKETS PROCESS\n" +
                row);
  EXPECT_EQ(second->out, row);
}

TEST_F(StreamObserve, JsonPassesLinesOnAsReceived) {
  LineFormatter f(OutputFormat::json);
  std::string line = line_of(curl_flow());
  auto shown = f.format(line);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->out, line + "\n");
  shown = f.format(R"({"schema":"kscope.lost.v1","lost":3,"where":"client_queue"})");
  EXPECT_EQ(shown->out, R"({"schema":"kscope.lost.v1","lost":3,"where":"client_queue"})"
                        "\n");
}

TEST_F(StreamObserve, LossesGoToStderr) {
  LineFormatter f(OutputFormat::compact);
  auto lost = f.format(lost_line(12).substr(0, lost_line(12).size() - 1));
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->out, "");
  EXPECT_EQ(lost->err, "LOST 12 records (client queue)\n");

  sinks::LossReport complete{.window_start_ns = kNow,
                             .window_end_ns = kNow + 10 * kSec,
                             .records = 5,
                             .lost = {{"sink.queue", 0}}};
  auto quiet = f.format(line_of(complete));
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->out + quiet->err, "");  // a window that lost nothing says nothing
  sinks::LossReport incomplete = complete;
  incomplete.lost = {{"kernel.table_full", 3}, {"sink.queue", 0}, {"sink.write", 2}};
  auto loud = f.format(line_of(incomplete));
  ASSERT_TRUE(loud);
  EXPECT_EQ(loud->err,
            "INCOMPLETE window to Jan  1 00:00:10.000 (sink stream): lost 3 kernel.table_full, "
            "2 sink.write\n");
}

TEST_F(StreamObserve, ServerErrorsBecomeTheCommandsError) {
  LineFormatter f(OutputFormat::json);
  std::string line = error_line(Error{"request: unknown field 'x'", "a request has ..."});
  auto shown = f.format(line.substr(0, line.size() - 1));
  ASSERT_FALSE(shown);
  EXPECT_EQ(shown.error().message, "the collector: request: unknown field 'x'");
  EXPECT_EQ(shown.error().hint, "a request has ...");
  EXPECT_FALSE(LineFormatter(OutputFormat::compact).format("HTTP/1.1 400 Bad Request"));
}

TEST_F(StreamObserve, NoServerSaysHowToStartOne) {
  std::string path = testing::TempDir() + "kscope-no-stream.sock";
  auto c = StreamConnection::open(*parse_address(path));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, fmt::format("no stream at {}: No such file or directory", path));
  EXPECT_NE(c.error().hint.find("kscope collect"), std::string::npos);
}

// What `kscope observe --last 2 --not --port 80` does, against a real server.
TEST_F(StreamObserve, ClientAgainstARealServer) {
  std::string dir = testing::TempDir() + "kscope-observe-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  StreamOptions o{.listen = "", .unix_path = dir + "/stream.sock", .context = context()};
  auto sink = StreamSink::start(o);
  ASSERT_TRUE(sink) << sink.error().message;
  std::vector<sinks::Item> items;
  for (uint16_t port : {443, 80, 8443, 53}) {
    flows::FlowRecord r = curl_flow();
    r.key.dport = port;
    items.push_back(r);
  }
  ASSERT_TRUE((*sink)->write(items));

  auto conn = StreamConnection::open(*parse_address(o.unix_path));
  ASSERT_TRUE(conn) << conn.error().message;
  auto request = build_request({.last = 2, .filters = {{"port", "80", true}}}, kNow);
  ASSERT_TRUE(request);
  ASSERT_TRUE(conn->send(request_line(*request)));
  LineFormatter f(OutputFormat::compact);
  std::string out;
  for (;;) {
    auto line = conn->read_line();
    ASSERT_TRUE(line) << line.error().message;
    if (!*line) break;
    auto shown = f.format(**line);
    ASSERT_TRUE(shown) << shown.error().message;
    out += shown->out;
  }
  EXPECT_EQ(out,
            "Jan  1 00:00:01.250: 10.0.0.1:40000 -> 10.0.0.2:8443 TCP SYN|ACK 3400 bytes 12 "
            "packets curl[1234]\n"
            "Jan  1 00:00:01.250: 10.0.0.1:40000 -> 10.0.0.2:53 TCP SYN|ACK 3400 bytes 12 "
            "packets curl[1234]\n");
  sink->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kscope::stream
