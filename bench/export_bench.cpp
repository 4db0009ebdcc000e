// kscope_export_bench DIR [SECONDS]: the records per second each sink sustains on one core,
// fed realistic flow records (IPv4 and IPv6, TCP and UDP, each with its process) as the
// collector feeds them: batches through the sink's runner. bench/export.sh runs it and writes
// docs/benchmarks.md's table. DIR holds the file sink's output (use a real disk, not tmpfs,
// to measure what a host writes).
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "exporters/ipfix/ipfix_encoder.h"
#include "exporters/ipfix/ipfix_sink.h"
#include "exporters/kafka/kafka_sink.h"
#include "exporters/sinks/file_sink.h"
#include "exporters/sinks/sink_runner.h"
#include "exporters/stream/stream_sink.h"
#include "flows.h"

namespace kscope {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kDistinct = 65536;  // distinct records, reused round-robin
constexpr size_t kBatch = 4096;      // what a runner hands its sink at a time, at most

std::vector<flows::FlowRecord> make_records() {
  std::vector<flows::FlowRecord> out;
  out.reserve(kDistinct);
  for (size_t i = 0; i < kDistinct; ++i) {
    flows::FlowRecord r;
    bool v6 = i % 5 == 0;
    IpAddr s, d;
    if (v6) {
      s = parse_ip(fmt::format("fd00::{:x}", i + 1));
      d = parse_ip(fmt::format("fd00:1::{:x}", (i * 7) % 4096 + 1));
    } else {
      s = parse_ip(fmt::format("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255));
      d = parse_ip(fmt::format("192.168.{}.{}", (i * 7 >> 8) & 255, (i * 7) & 255));
    }
    uint8_t proto = i % 3 == 0 ? 17 : 6;
    r.key = flows::flow_key(s, static_cast<uint16_t>(32768 + i % 28000), d,
                            static_cast<uint16_t>(i % 2 ? 443 : 53), proto,
                            i % 2 ? KS_FLOW_EGRESS : KS_FLOW_INGRESS, KS_FLOW_POINT_CGROUP, 2);
    r.packets = 1 + i % 1000;
    r.bytes = r.packets * (60 + i % 1400);
    r.flow_start_ns = r.first_ns = 1'000'000'000 + i * 1000;
    r.last_ns = r.first_ns + 5'000'000;
    r.tcp_flags = proto == 6 ? 0x1b : 0;
    r.end = flows::EndReason::idle_timeout;
    r.owner_flags = KS_FLOW_OWNER_KNOWN | KS_FLOW_SOCKET | (proto == 6 ? KS_FLOW_TCP_SOCK : 0);
    r.owner.tgid = r.owner.pid = static_cast<uint32_t>(1000 + i % 5000);
    r.owner.uid = 1000;
    r.owner.cgroup_id = 4242 + i % 50;
    std::snprintf(r.owner.comm, sizeof(r.owner.comm), "worker-%zu", i % 50);
    if (i % 4 == 0) r.container_id = fmt::format("{:064x}", i % 50);
    r.srtt_us = 120;
    out.push_back(std::move(r));
  }
  return out;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

struct Rate {
  uint64_t records = 0;
  double seconds = 0, cpu = 0;
  double per_second() const { return records / seconds; }
};

void print(std::string_view what, const Rate& r, std::string_view note = "") {
  fmt::print("| {} | {:.0f} | {:.2f} | {} | {} |\n", what, r.per_second(), r.cpu / r.seconds, r.records,
             note);
  std::fflush(stdout);
}

// Offers records to the runners for `seconds` as fast as they take them (the producer waits
// while the first runner's queue is over half full, so the rate is the sink's, not the
// queue's), then stops them: the first runner's records written per second.
Rate through(std::vector<sinks::SinkRunner*> runners, const std::vector<flows::FlowRecord>& records,
             double seconds, size_t queue) {
  auto start = Clock::now();
  double cpu0 = cpu_seconds();
  auto deadline = start + std::chrono::duration<double>(seconds);
  size_t i = 0;
  while (Clock::now() < deadline) {
    if (runners[0]->totals().queued > queue / 2) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    for (size_t k = 0; k < kBatch; ++k, ++i)
      for (auto* r : runners) r->offer(records[i % records.size()]);
  }
  runners[0]->stop(std::chrono::seconds(60));
  Rate out;
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.cpu = cpu_seconds() - cpu0;
  out.records = runners[0]->totals().records;
  for (auto* r : runners) r->stop(std::chrono::seconds(1));
  return out;
}

Rate file_sink(const std::vector<flows::FlowRecord>& records, const std::string& path, double seconds,
               sinks::SinkRunner* beside = nullptr) {
  std::filesystem::remove(path);
  auto f = sinks::FileSink::open({.name = "file", .path = path, .max_size = 1ull << 40,
                                  .context = {"bench", 0}});
  if (!f) throw std::runtime_error(f.error().message);
  sinks::SinkRunner runner("file", "file", std::move(*f), 1 << 20, {});
  std::vector<sinks::SinkRunner*> runners{&runner};
  if (beside) runners.push_back(beside);
  Rate r = through(runners, records, seconds, 1 << 20);
  std::filesystem::remove(path);
  return r;
}

Rate ipfix_encoding(const std::vector<flows::FlowRecord>& records, double seconds) {
  auto enc = ipfix::Encoder::create({.context = {"bench", 0}});
  if (!enc) throw std::runtime_error(enc.error().message);
  std::vector<sinks::Item> batch;
  for (size_t i = 0; i < kBatch; ++i) batch.emplace_back(records[i * 13 % records.size()]);
  Rate r;
  double cpu0 = cpu_seconds();
  auto start = Clock::now();
  size_t bytes = 0;
  while (Clock::now() - start < std::chrono::duration<double>(seconds)) {
    for (const auto& m : enc->encode(batch, 1'796'292'000)) bytes += m.size();
    r.records += batch.size();
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu = cpu_seconds() - cpu0;
  if (bytes == 0) throw std::runtime_error("no IPFIX bytes");
  return r;
}

// IPFIX over UDP to a socket on loopback that reads and discards.
Rate ipfix_udp(const std::vector<flows::FlowRecord>& records, double seconds, uint64_t& received) {
  int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int big = 16 << 20;
  setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(rx, reinterpret_cast<sockaddr*>(&a), &len);
  timeval tv{0, 200'000};
  setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::atomic<bool> done{false};
  std::atomic<uint64_t> datagrams{0};
  std::thread reader([&] {
    char buf[65536];
    while (!done) {
      if (recv(rx, buf, sizeof(buf), 0) > 0) ++datagrams;
    }
  });
  auto s = ipfix::IpfixSink::open({.host = "127.0.0.1", .port = ntohs(a.sin_port), .context = {"bench", 0}});
  if (!s) throw std::runtime_error(s.error().message);
  sinks::SinkRunner runner("ipfix", "ipfix", std::move(*s), 1 << 20, {});
  Rate r = through({&runner}, records, seconds, 1 << 20);
  done = true;
  reader.join();
  close(rx);
  received = datagrams;
  return r;
}

// Kafka: librdkafka's mock cluster in this process (3 brokers, 6 partitions) shares the CPU,
// so this is the sink with its client, not a Kafka deployment.
Rate kafka(const std::vector<flows::FlowRecord>& records, double seconds) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  rd_kafka_mock_cluster_t* mock = rd_kafka_mock_cluster_new(host, 3);
  rd_kafka_mock_topic_create(mock, "bench", 6, 1);
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(mock);
  Rate r;
  {
    sinks::KafkaOptions o{.name = "kafka", .brokers = {bootstrap}, .topic = "bench",
                          .compression = "lz4", .context = {"bench", 0}};
    auto k = sinks::KafkaSink::open(std::move(o));
    if (!k) throw std::runtime_error(k.error().message);
    sinks::KafkaSink* sink = k->get();
    sinks::SinkRunner runner("kafka", "kafka", std::move(*k), 1 << 20, {});
    r = through({&runner}, records, seconds, 1 << 20);
    (void)sink;
  }
  rd_kafka_mock_cluster_destroy(mock);
  rd_kafka_destroy(host);
  return r;
}

// The file sink again, with a stream sink beside it fed the same records: with no client, or
// with one client that asked to follow and then never reads (its queue fills and its records
// drop, counted). The stalled client must not slow the file sink down.
Rate file_beside_stream(const std::vector<flows::FlowRecord>& records, const std::string& path,
                        double seconds, bool stalled_client, uint64_t& dropped) {
  auto s = stream::StreamSink::start({.listen = "127.0.0.1:0", .context = {"bench", 0}});
  if (!s) throw std::runtime_error(s.error().message);
  stream::StreamSink* stream = s->get();
  int fd = -1;
  if (stalled_client) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(stream->port());
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) throw std::runtime_error("connect");
    std::string request = "{\"version\":1,\"follow\":true}\n";
    if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size()))
      throw std::runtime_error("send");
    for (int i = 0; i < 500 && stream->stats().following == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (stream->stats().following != 1) throw std::runtime_error("the client does not follow");
  }
  sinks::SinkRunner beside("stream", "stream", std::move(*s), 1 << 20, {});
  Rate r = file_sink(records, path, seconds, &beside);
  dropped = stream->stats().dropped;
  if (fd >= 0) close(fd);
  return r;
}

}  // namespace
}  // namespace kscope

int main(int argc, char** argv) {
  using namespace kscope;
  if (argc < 2) {
    std::fprintf(stderr, "usage: kscope_export_bench DIR [SECONDS]\n");
    return 2;
  }
  std::string dir = argv[1];
  double seconds = argc > 2 ? std::stod(argv[2]) : 3;
  auto records = make_records();
  fmt::print("| sink | records/s | CPU (cores) | records | note |\n|---|---|---|---|---|\n");
  std::string path = dir + "/export-bench.json";
  print("NDJSON file (FileSink behind its runner)", file_sink(records, path, seconds));
  uint64_t dropped = 0;
  print("NDJSON file, a stream sink beside it (no client)",
        file_beside_stream(records, path, seconds, false, dropped));
  Rate stalled = file_beside_stream(records, path, seconds, true, dropped);
  print("NDJSON file, a stream sink beside it whose one client never reads", stalled,
        fmt::format("the stalled client's records dropped, counted: {}", dropped));
  print("IPFIX encoding (Encoder, no socket)", ipfix_encoding(records, seconds));
  uint64_t received = 0;
  Rate udp = ipfix_udp(records, seconds, received);
  print("IPFIX over UDP to loopback (IpfixSink behind its runner)", udp,
        fmt::format("{} datagrams read by the receiver", received));
  print("Kafka, lz4, to librdkafka's mock cluster in-process", kafka(records, seconds));
  return 0;
}
