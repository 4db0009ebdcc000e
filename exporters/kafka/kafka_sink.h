// Flow records to a Kafka topic through librdkafka (docs/kafka.md): each record's JSON line
// keyed by its pair_id, so both directions of a flow land in one partition; each loss report
// to every partition, so a consumer of any one partition sees the report windows. Producing
// never blocks: librdkafka queues while brokers are away, and past its queue a record is
// dropped and counted (kafka.queue_full), as is a record it could not deliver in time
// (kafka.delivery_failed).
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "exporters/sinks/flow_json.h"
#include "exporters/sinks/sink.h"

namespace kscope::sinks {

struct KafkaOptions {
  std::string name;                  // the sink's, in its loss reports and log lines
  std::vector<std::string> brokers;  // host:port, at least one (bootstrap.servers)
  std::string topic;
  std::string compression = "none";  // none, gzip, snappy, lz4 or zstd (compression.codec)
  uint32_t batch_size = 10000;       // records in one request at most (batch.num.messages)
  std::chrono::milliseconds linger{100};  // wait this long to fill a batch (linger.ms)
  // Records librdkafka holds at most, in flight included, e.g. while brokers are away
  // (queue.buffering.max.messages); past it a record is dropped (kafka.queue_full).
  uint32_t buffer = 100000;
  // A record not acknowledged this long is dropped, as kafka.delivery_failed
  // (message.timeout.ms).
  std::chrono::milliseconds message_timeout{std::chrono::minutes(5)};
  // Any librdkafka producer property (security.protocol, sasl.*, acks...), set after the
  // options above, so it overrides them.
  std::map<std::string, std::string> properties;
  FieldMask fields;
  Context context;
};

class KafkaSink final : public Sink {
 public:
  // Brokers that are down at start are not an error: librdkafka keeps trying. The error names
  // the option or property librdkafka refused, with its reason.
  static Result<std::unique_ptr<KafkaSink>> open(KafkaOptions options);
  // Waits a bounded time for what librdkafka still holds, then drops it with a warning.
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  Result<void> write(std::span<const Item> batch) override;
  // Waits a little for deliveries; records still queued stay queued (not an error).
  Result<void> flush() override;
  void take_losses(LossReport& report) override;

  // Flow records since open, for metrics; any thread.
  struct Totals {
    uint64_t delivered = 0;        // acknowledged by the brokers
    uint64_t queue_full = 0;       // dropped: librdkafka's queue was full
    uint64_t delivery_failed = 0;  // refused, or not delivered within message_timeout
    uint64_t reports_lost = 0;     // loss report messages (one per partition) not delivered
  };
  Totals totals() const;

 private:
  explicit KafkaSink(KafkaOptions o) : o_(std::move(o)) {}
  Result<void> start();
  void produce_record(const flows::FlowRecord& r);
  void produce_event(const EventItem& e);
  void produce(std::string_view value, std::string_view key);
  void produce_report(const LossReport& r);
  int32_t refresh_partitions();
  // librdkafka's callbacks; the conf's opaque is the sink.
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* self);
  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* text);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* self);

  struct HandleFree {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  };
  struct TopicFree {
    void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  };

  KafkaOptions o_;
  int32_t partitions_ = 0;  // the topic's, as last seen in its metadata; 0: not yet known
  fmt::memory_buffer line_;
  std::atomic<uint64_t> delivered_{0}, queue_full_{0}, delivery_failed_{0}, reports_lost_{0};
  std::string last_failure_;  // why the last delivery failed; sink thread only
  uint64_t reported_queue_full_ = 0, reported_failed_ = 0;  // as of the last take_losses
  // By partition: what the loss reports that did not reach it said, for its next report.
  // Sink thread only (delivery reports are served by rd_kafka_poll and rd_kafka_flush there).
  std::map<int32_t, LossReport> unsent_;
  // Last, so that they are freed first (the topic before the handle) while the callbacks
  // can still reach everything above.
  std::unique_ptr<rd_kafka_t, HandleFree> rk_;
  std::unique_ptr<rd_kafka_topic_t, TopicFree> topic_;
};

}  // namespace kscope::sinks
