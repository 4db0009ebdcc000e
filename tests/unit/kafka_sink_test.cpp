// The Kafka sink against librdkafka's mock cluster (in this process, on loopback), read back
// with a real consumer, kcat, as an operator would: what arrives, under which key, in which
// partition, and what is counted while the brokers are away.
#include "exporters/kafka/kafka_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "flows/flow_record.h"

extern char** environ;

namespace kscope::sinks {
namespace {

using namespace std::chrono_literals;

// kcat is a declared test dependency (Debian's kcat package): its absence is a failure.
std::string kcat_path() {
  std::istringstream path(getenv("PATH") ? getenv("PATH") : "");
  for (std::string dir; std::getline(path, dir, ':');) {
    std::string candidate = dir + "/kcat";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// A mock cluster lives on a client handle of its own, which never connects anywhere.
class MockCluster {
 public:
  MockCluster(int brokers, const std::string& topic, int partitions) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));  // no bootstrap notice
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk_) throw std::runtime_error(errstr);
    mc_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (!mc_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    if (rd_kafka_mock_topic_create(mc_, topic.c_str(), partitions, 1))
      throw std::runtime_error("rd_kafka_mock_topic_create failed");
  }
  ~MockCluster() {
    if (mc_) rd_kafka_mock_cluster_destroy(mc_);
    if (rk_) rd_kafka_destroy(rk_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mc_); }
  void down() { ASSERT_EQ(rd_kafka_mock_broker_set_down(mc_, -1), RD_KAFKA_RESP_ERR_NO_ERROR); }
  void up() { ASSERT_EQ(rd_kafka_mock_broker_set_up(mc_, -1), RD_KAFKA_RESP_ERR_NO_ERROR); }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

struct Message {
  int partition;
  std::string key, value;
};

// A child process that is killed and reaped however the test ends.
struct Child {
  pid_t pid = -1;
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// Everything in the topic, from the beginning to the end of every partition, as kcat reads it.
std::vector<Message> consume(const std::string& bootstraps, const std::string& topic) {
  std::string kcat = kcat_path();
  if (kcat.empty()) throw std::runtime_error("kcat is not installed (apt-get install kcat)");
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<std::string> args = {kcat, "-q", "-b", bootstraps, "-C", "-t", topic,
                                   "-o", "beginning", "-e", "-f", "%p %k %s\n"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Child child;
  int rc = posix_spawn(&child.pid, kcat.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (rc) {
    child.pid = -1;
    close(out[0]);
    close(err[0]);
    throw std::runtime_error("spawn kcat failed");
  }
  std::string text[2];
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (int open = 2; open > 0;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || poll(fds, 2, static_cast<int>(left.count())) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        text[i].append(buf, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline && !exited) {
    exited = waitpid(child.pid, &status, WNOHANG) == child.pid;
    if (!exited) std::this_thread::sleep_for(10ms);
  }
  if (!exited) throw std::runtime_error("kcat did not finish within 10 s: " + text[1]);
  child.pid = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("kcat failed: " + text[1]);

  std::vector<Message> messages;
  std::istringstream lines(text[0]);
  for (std::string line; std::getline(lines, line);) {
    size_t a = line.find(' '), b = line.find(' ', a + 1);
    if (a == std::string::npos || b == std::string::npos)
      throw std::runtime_error("kcat printed a line without key and value: " + line);
    messages.push_back({std::stoi(line.substr(0, a)), line.substr(a + 1, b - a - 1),
                        line.substr(b + 1)});
  }
  return messages;
}

const Context kContext{.node_name = "node-1", .boot_to_wall_ns = 1'700'000'000'000'000'000};

// Flow n, one direction: distinct flows so that their pair_ids spread over the partitions.
flows::FlowRecord record(int n, bool v6, bool reverse = false) {
  flows::FlowRecord r;
  std::string src = v6 ? fmt::format("2001:db8::{:x}", n + 1) : fmt::format("10.0.{}.1", n);
  std::string dst = v6 ? "2001:db8::ffff" : "192.0.2.80";
  r.key = flows::flow_key(parse_ip(src), static_cast<uint16_t>(40000 + n), parse_ip(dst),
                          v6 ? 53 : 443, v6 ? 17 : 6, KS_FLOW_EGRESS, KS_FLOW_POINT_TC, 2);
  if (reverse) r.key = flows::reverse_key(r.key);
  r.packets = 10 + n;
  r.bytes = 1500 * r.packets;
  r.first_ns = 1'000'000'000 + n;
  r.last_ns = 2'000'000'000 + n;
  r.flow_start_ns = r.first_ns;
  r.tcp_flags = v6 ? 0 : KS_TCP_SYN | KS_TCP_ACK;
  r.end = flows::EndReason::active_timeout;
  return r;
}

std::string flow_line(const flows::FlowRecord& r) {
  fmt::memory_buffer b;
  append_flow_json(b, r, kContext);
  return std::string(b.data(), b.size() - 1);
}

std::string loss_line(const LossReport& r, std::string_view sink) {
  fmt::memory_buffer b;
  append_loss_json(b, r, sink, kContext.node_name);
  return std::string(b.data(), b.size() - 1);
}

KafkaOptions options(const MockCluster& cluster, const std::string& topic) {
  KafkaOptions o;
  o.name = "kafka-test";
  o.brokers = {cluster.bootstraps()};
  o.topic = topic;
  o.context = kContext;
  o.linger = 5ms;
  // Reconnect soon after the mock brokers come back, not after librdkafka's 10 s backoff.
  o.properties = {{"reconnect.backoff.max.ms", "100"}};
  return o;
}

std::unique_ptr<KafkaSink> open_sink(KafkaOptions o) {
  auto s = KafkaSink::open(std::move(o));
  if (!s) throw std::runtime_error(s.error().message);
  return std::move(*s);
}

// Flushes (which serves delivery reports) until `done` holds, for at most `limit`.
bool flush_until(KafkaSink& sink, const std::function<bool(const KafkaSink::Totals&)>& done,
                 std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done(sink.totals())) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    EXPECT_TRUE(sink.flush());
  }
  return true;
}

std::map<std::string, uint64_t> losses(KafkaSink& sink) {
  LossReport report;
  sink.take_losses(report);
  return {report.lost.begin(), report.lost.end()};
}

std::vector<Item> records(int from, int to) {
  std::vector<Item> items;
  for (int n = from; n < to; ++n) items.emplace_back(record(n, n % 2));
  return items;
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(kcat_path().empty())
        << "kcat is not installed: it is a declared test dependency (apt-get install kcat)";
  }
};

TEST_F(KafkaSinkTest, RecordsKeyedByPairIdAndLossReportsInEveryPartition) {
  constexpr int kPartitions = 4;
  MockCluster cluster(3, "flows", kPartitions);
  auto sink = open_sink(options(cluster, "flows"));

  std::vector<Item> batch;
  for (int n = 0; n < 12; ++n) {  // both directions of IPv4 TCP and IPv6 UDP flows
    batch.emplace_back(record(n, n % 2));
    batch.emplace_back(record(n, n % 2, true));
  }
  LossReport report{.window_start_ns = 1'700'000'000'000'000'000,
                    .window_end_ns = 1'700'000'010'000'000'000,
                    .records = batch.size(),
                    .lost = {{"sink.queue", 0}, {"sink.write", 0}}};
  sink->take_losses(report);
  batch.emplace_back(report);
  ASSERT_TRUE(sink->write(batch));
  ASSERT_TRUE(flush_until(*sink, [&](auto& t) { return t.delivered == 24; }));

  std::vector<Message> got = consume(cluster.bootstraps(), "flows");
  std::multiset<std::pair<std::string, std::string>> want_flows, got_flows;
  for (const auto& item : batch)
    if (const auto* r = std::get_if<flows::FlowRecord>(&item))
      want_flows.emplace(std::to_string(flows::pair_id(r->key)), flow_line(*r));
  std::map<std::string, std::set<int>> partitions_of_key;
  std::map<int, std::vector<std::string>> by_partition;  // the keys, in order
  for (const auto& m : got) {
    by_partition[m.partition].push_back(m.key);
    if (m.key == "loss") {
      EXPECT_EQ(m.value, loss_line(report, "kafka-test"));
      continue;
    }
    got_flows.emplace(m.key, m.value);
    partitions_of_key[m.key].insert(m.partition);
  }
  EXPECT_EQ(got_flows, want_flows);
  EXPECT_EQ(partitions_of_key.size(), 12u);
  for (const auto& [key, partitions] : partitions_of_key)
    EXPECT_EQ(partitions.size(), 1u) << "both directions of pair " << key << " in one partition";
  // Each partition ends with the window's report, after the records it counts.
  ASSERT_EQ(by_partition.size(), size_t{kPartitions});
  for (const auto& [p, keys] : by_partition) {
    EXPECT_EQ(std::count(keys.begin(), keys.end(), "loss"), 1) << "partition " << p;
    EXPECT_EQ(keys.back(), "loss") << "partition " << p;
  }
  EXPECT_EQ(report.lost.back(), (std::pair<std::string, uint64_t>{"kafka.delivery_failed", 0}));
  auto t = sink->totals();
  EXPECT_EQ(t.queue_full + t.delivery_failed + t.reports_lost, 0u);
}

TEST_F(KafkaSinkTest, QueuesWhileBrokersAreDownAndCountsWhatDidNotFit) {
  MockCluster cluster(3, "flows", 2);
  KafkaOptions o = options(cluster, "flows");
  o.buffer = 50;
  auto sink = open_sink(o);
  ASSERT_TRUE(sink->write(records(0, 10)));
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.delivered == 10; }));

  cluster.down();
  ASSERT_TRUE(sink->write(records(10, 70)));  // 50 fit in librdkafka's queue, 10 do not
  EXPECT_TRUE(sink->flush());
  EXPECT_EQ(sink->totals().delivered, 10u);
  EXPECT_EQ(sink->totals().queue_full, 10u);
  EXPECT_EQ(losses(*sink), (std::map<std::string, uint64_t>{{"kafka.delivery_failed", 0},
                                                            {"kafka.queue_full", 10}}));
  cluster.up();
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.delivered == 60; }, 10s))
      << "delivered " << sink->totals().delivered;

  auto t = sink->totals();
  EXPECT_EQ(t.delivered + t.queue_full, 70u);
  EXPECT_EQ(t.delivery_failed, 0u);
  EXPECT_EQ(losses(*sink), (std::map<std::string, uint64_t>{{"kafka.delivery_failed", 0},
                                                            {"kafka.queue_full", 0}}));
  // What arrived is exactly what fit: records 0..59, none of 60..69.
  std::multiset<std::string> want, got;
  for (const auto& item : records(0, 60)) want.insert(flow_line(std::get<flows::FlowRecord>(item)));
  for (const auto& m : consume(cluster.bootstraps(), "flows")) got.insert(m.value);
  EXPECT_EQ(got, want);
}

TEST_F(KafkaSinkTest, CountsRecordsNotDeliveredWithinMessageTimeout) {
  MockCluster cluster(1, "flows", 2);
  KafkaOptions o = options(cluster, "flows");
  o.message_timeout = 300ms;
  auto sink = open_sink(o);
  ASSERT_TRUE(sink->write(records(0, 1)));
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.delivered == 1; }));

  cluster.down();
  ASSERT_TRUE(sink->write(records(1, 8)));
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.delivery_failed >= 7; }))
      << "failed " << sink->totals().delivery_failed;
  EXPECT_EQ(losses(*sink), (std::map<std::string, uint64_t>{{"kafka.delivery_failed", 7},
                                                            {"kafka.queue_full", 0}}));
  EXPECT_EQ(losses(*sink), (std::map<std::string, uint64_t>{{"kafka.delivery_failed", 0},
                                                            {"kafka.queue_full", 0}}));

  cluster.up();
  ASSERT_TRUE(sink->write(records(8, 9)));
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.delivered == 2; }));
  auto t = sink->totals();
  EXPECT_EQ(t.delivered, 2u);
  EXPECT_EQ(t.delivery_failed, 7u);
  EXPECT_EQ(t.queue_full, 0u);
}

// A loss report a partition did not get (not delivered within message_timeout) hands its
// counts to that partition's next report: a consumer of any one partition misses no loss.
TEST_F(KafkaSinkTest, ReportNotDeliveredGoesIntoThePartitionsNextReport) {
  MockCluster cluster(1, "flows", 2);
  KafkaOptions o = options(cluster, "flows");
  o.message_timeout = 300ms;
  auto sink = open_sink(o);
  LossReport first{.window_start_ns = 1, .window_end_ns = 2, .lost = {{"kernel.table_full", 0}}};
  ASSERT_TRUE(sink->write(std::vector<Item>{first}));  // the topic's partitions known from here
  ASSERT_TRUE(sink->write(records(0, 1)));
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.delivered == 1; }));

  cluster.down();
  LossReport a{.window_start_ns = 2, .window_end_ns = 3, .records = 4, .lost = {{"kernel.table_full", 5}}};
  ASSERT_TRUE(sink->write(std::vector<Item>{a}));
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.reports_lost == 2; }))
      << "reports lost " << sink->totals().reports_lost;
  cluster.up();
  LossReport b{.window_start_ns = 3, .window_end_ns = 4, .records = 1, .lost = {{"kernel.table_full", 0}}};
  ASSERT_TRUE(sink->write(std::vector<Item>{b}));
  LossReport both{.window_start_ns = 2, .window_end_ns = 4, .records = 5, .lost = {{"kernel.table_full", 5}}};
  std::map<int, std::vector<std::string>> reports;  // by partition
  for (int i = 0; i < 50 && reports[0].size() + reports[1].size() < 4; ++i) {
    EXPECT_TRUE(sink->flush());
    reports.clear();
    for (const auto& m : consume(cluster.bootstraps(), "flows"))
      if (m.key == "loss") reports[m.partition].push_back(m.value);
  }
  for (int p : {0, 1})
    EXPECT_EQ(reports[p], (std::vector<std::string>{loss_line(first, "kafka-test"),
                                                    loss_line(both, "kafka-test")}))
        << "partition " << p;
}

TEST_F(KafkaSinkTest, ShutdownWhileBrokersAreDownIsBounded) {
  MockCluster cluster(1, "flows", 1);
  auto sink = open_sink(options(cluster, "flows"));
  ASSERT_TRUE(sink->write(records(0, 1)));
  ASSERT_TRUE(flush_until(*sink, [](auto& t) { return t.delivered == 1; }));
  cluster.down();
  ASSERT_TRUE(sink->write(records(1, 20)));
  auto start = std::chrono::steady_clock::now();
  sink.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(KafkaSinkOptions, RefusesBadOptionsNamingTheKey) {
  KafkaOptions base;
  base.name = "k";
  base.brokers = {"127.0.0.1:9"};
  base.topic = "flows";

  auto error = [](KafkaOptions o) {
    auto s = KafkaSink::open(std::move(o));
    return s ? std::string("opened") : s.error().message;
  };
  KafkaOptions o = base;
  o.properties = {{"no.such.property", "1"}};
  EXPECT_EQ(error(o),
            "kafka property \"no.such.property\": "
            "No such configuration property: \"no.such.property\"");
  o = base;
  o.compression = "brotli";
  EXPECT_EQ(error(o), "kafka: unknown compression \"brotli\"");
  o = base;
  o.batch_size = 0;
  EXPECT_EQ(error(o),
            "kafka batch_size (batch.num.messages): Configuration property "
            "\"batch.num.messages\" value 0 is outside allowed range 1..1000000");
  o = base;
  o.properties = {{"acks", "some"}};
  EXPECT_EQ(error(o),
            "kafka property \"acks\": Invalid value for configuration property "
            "\"request.required.acks\"");
  o = base;
  o.brokers.clear();
  EXPECT_EQ(error(o), "kafka: no brokers");
  o = base;
  o.topic.clear();
  EXPECT_EQ(error(o), "kafka: no topic");
  EXPECT_EQ(error(base), "opened");  // an unreachable broker is not an error at open
}

}  // namespace
}  // namespace kscope::sinks
