#include "exporters/kafka/kafka_sink.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "base/log.h"

namespace kscope::sinks {
namespace {

// An idle runner flushes every 500 ms: a short wait keeps it responsive while brokers are
// away (the records stay queued in librdkafka, nothing is lost by not waiting longer).
constexpr int kFlushWaitMs = 100;
// At shutdown: long enough for a reachable cluster to acknowledge what is queued.
constexpr int kCloseWaitMs = 3000;
// Asked once per loss report; while brokers are away the last known count is used.
constexpr int kMetadataWaitMs = 500;

constexpr std::array<std::string_view, 5> kCompressions = {"none", "gzip", "snappy", "lz4",
                                                           "zstd"};


struct ConfFree {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfFree>;

// librdkafka ends some of its messages with a newline.
std::string_view trimmed(const char* text) {
  std::string_view s = text;
  while (s.ends_with('\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::unique_ptr<KafkaSink>> KafkaSink::open(KafkaOptions options) {
  std::unique_ptr<KafkaSink> s(new KafkaSink(std::move(options)));
  if (auto r = s->start(); !r) return std::unexpected(r.error());
  return s;
}

Result<void> KafkaSink::start() {
  if (o_.brokers.empty())
    return fail("kafka: no brokers", "list the cluster's bootstrap brokers as host:port");
  if (o_.topic.empty()) return fail("kafka: no topic", "name the topic to produce to");
  if (std::find(kCompressions.begin(), kCompressions.end(), o_.compression) ==
      kCompressions.end())
    return fail(fmt::format("kafka: unknown compression \"{}\"", o_.compression),
                "compression is one of none, gzip, snappy, lz4, zstd");

  Conf conf(rd_kafka_conf_new());
  char errstr[512];
  // `option` is how the configuration spells it, when the sink has a key of its own.
  auto set = [&](std::string_view option, const std::string& key,
                 const std::string& value) -> Result<void> {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr)) ==
        RD_KAFKA_CONF_OK)
      return {};
    std::string what = option.empty() ? fmt::format("property \"{}\"", key)
                                      : fmt::format("{} ({})", option, key);
    return fail(fmt::format("kafka {}: {}", what, trimmed(errstr)),
                "see librdkafka's CONFIGURATION.md for the producer's properties and ranges");
  };
  std::string brokers;
  for (const auto& b : o_.brokers) brokers += (brokers.empty() ? "" : ",") + b;
  const std::pair<std::string_view, std::pair<std::string, std::string>> own[] = {
      {"brokers", {"bootstrap.servers", brokers}},
      {"compression", {"compression.codec", o_.compression}},
      {"batch_size", {"batch.num.messages", std::to_string(o_.batch_size)}},
      {"linger", {"linger.ms", std::to_string(o_.linger.count())}},
      {"buffer", {"queue.buffering.max.messages", std::to_string(o_.buffer)}},
      {"message_timeout", {"message.timeout.ms", std::to_string(o_.message_timeout.count())}},
      {"", {"client.id", "kscope"}},
  };
  for (const auto& [option, kv] : own)
    if (auto r = set(option, kv.first, kv.second); !r) return r;
  for (const auto& [key, value] : o_.properties)
    if (auto r = set("", key, value); !r) return r;
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_log_cb(conf.get(), on_log);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  rd_kafka_conf_set_opaque(conf.get(), this);

  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (!rk)
    return fail(fmt::format("kafka: {}", trimmed(errstr)),
                "check the compression and properties against librdkafka's CONFIGURATION.md");
  conf.release();  // rd_kafka_new took it
  rk_.reset(rk);
  topic_.reset(rd_kafka_topic_new(rk, o_.topic.c_str(), nullptr));
  if (!topic_)
    return fail(fmt::format("kafka topic \"{}\": {}", o_.topic,
                            rd_kafka_err2str(rd_kafka_last_error())),
                "a topic name is letters, digits, '.', '_' and '-'");
  return {};
}

KafkaSink::~KafkaSink() {
  if (!rk_) return;
  rd_kafka_flush(rk_.get(), kCloseWaitMs);
  // What is left is dropped, and said, since no loss report follows; purged and its
  // delivery reports served, so that rd_kafka_destroy neither waits on it nor warns again.
  if (int left = rd_kafka_outq_len(rk_.get()); left > 0) {
    log::warn("kafka sink {}: {} messages not delivered at shutdown (brokers unreachable?)",
              o_.name, left);
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_.get(), 0);
  }
}

Result<void> KafkaSink::write(std::span<const Item> batch) {
  for (const auto& item : batch) {
    if (const auto* r = std::get_if<flows::FlowRecord>(&item))
      produce_record(*r);
    else if (const auto* e = std::get_if<EventItem>(&item))
      produce_event(*e);
    else
      produce_report(std::get<LossReport>(item));
  }
  rd_kafka_poll(rk_.get(), 0);  // delivery reports: counts stay current
  return {};
}

void KafkaSink::produce_record(const flows::FlowRecord& r) {
  line_.clear();
  append_flow_json(line_, r, o_.context, o_.fields);
  auto key = fmt::format_int(flows::pair_id(r.key));
  produce(std::string_view(line_.data(), line_.size() - 1), std::string_view(key.data(), key.size()));
}

// An event keyed by its process: one process's events stay in order in one partition.
void KafkaSink::produce_event(const EventItem& e) {
  auto key = fmt::format_int(e.pid);
  produce(std::string_view(e.json).substr(0, e.json.size() - 1),
          std::string_view(key.data(), key.size()));
}

void KafkaSink::produce(std::string_view value, std::string_view key) {
  // The line without its newline: a Kafka message is one record already.
  if (rd_kafka_produce(topic_.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                       const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                       nullptr) == 0)
    return;
  rd_kafka_resp_err_t err = rd_kafka_last_error();
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    ++queue_full_;
  } else {
    ++delivery_failed_;
    last_failure_ = rd_kafka_err2str(err);
  }
}

// A copy to every partition. A copy that does not reach its partition (refused now, or not
// delivered in time) hands its counts to the next report for that partition (unsent_), so
// that a consumer of any one partition sees every loss once.
void KafkaSink::produce_report(const LossReport& r) {
  int32_t n = refresh_partitions();
  // Before the topic's partitions were ever known, the report goes where its key hashes to.
  int32_t first = n ? 0 : RD_KAFKA_PARTITION_UA, last = n ? n - 1 : RD_KAFKA_PARTITION_UA;
  for (int32_t p = first; p <= last; ++p) {
    // The message's opaque: the report as sent, which the delivery report needs on failure.
    auto sent = std::make_unique<LossReport>(r);
    if (auto it = unsent_.find(p); it != unsent_.end()) {
      sent->absorb(it->second);
      unsent_.erase(it);
    }
    line_.clear();
    append_loss_json(line_, *sent, o_.name, o_.context.node_name);
    if (rd_kafka_produce(topic_.get(), p, RD_KAFKA_MSG_F_COPY, line_.data(), line_.size() - 1,
                         "loss", 4, sent.get()) == 0) {
      sent.release();  // on_delivery frees it
    } else {
      ++reports_lost_;
      unsent_[p] = std::move(*sent);
    }
  }
}

int32_t KafkaSink::refresh_partitions() {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk_.get(), 0, topic_.get(), &md, kMetadataWaitMs) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    return partitions_;
  if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
    partitions_ = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return partitions_;
}

Result<void> KafkaSink::flush() {
  // Returns at once when nothing is outstanding; serves delivery reports while it waits.
  rd_kafka_flush(rk_.get(), kFlushWaitMs);
  return {};
}

void KafkaSink::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<KafkaSink*>(opaque);
  if (m->_private) {  // a loss report's copy (flow records and events have no opaque)
    std::unique_ptr<LossReport> sent(static_cast<LossReport*>(m->_private));
    if (m->err) {
      ++self->reports_lost_;
      self->unsent_[m->partition].absorb(*sent);
    }
  } else if (m->err) {
    ++self->delivery_failed_;
    self->last_failure_ = rd_kafka_err2str(m->err);
  } else {
    ++self->delivered_;
  }
}

// From librdkafka's own threads: its errors and warnings are mostly brokers coming and going,
// which an operator wants to see.
void KafkaSink::on_log(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const auto* self = static_cast<const KafkaSink*>(rd_kafka_opaque(rk));
  log::Level mapped = level <= 4 ? log::Level::warn : level <= 6 ? log::Level::info
                                                                  : log::Level::debug;
  if (log::enabled(mapped))
    log::write(mapped, fmt::format("kafka sink {}: {}: {}", self->o_.name, facility, text));
}

// Served by rd_kafka_poll, on the sink's thread.
void KafkaSink::on_error(rd_kafka_t*, int err, const char* reason, void* self) {
  // A broker's connection failing is logged already, by that broker's thread (FAIL lines).
  if (err == RD_KAFKA_RESP_ERR__TRANSPORT) return;
  log::warn("kafka sink {}: {}", static_cast<KafkaSink*>(self)->o_.name, reason);
}

void KafkaSink::take_losses(LossReport& report) {
  uint64_t full = queue_full_.load(std::memory_order_relaxed);
  uint64_t failed = delivery_failed_.load(std::memory_order_relaxed);
  uint64_t new_full = full - std::exchange(reported_queue_full_, full);
  uint64_t new_failed = failed - std::exchange(reported_failed_, failed);
  report.lost.emplace_back("kafka.queue_full", new_full);
  report.lost.emplace_back("kafka.delivery_failed", new_failed);
  if (new_full)
    log::warn("kafka sink {}: {} records dropped: librdkafka's queue ({} records) was full",
              o_.name, new_full, o_.buffer);
  if (new_failed)
    log::warn("kafka sink {}: {} records not delivered: {}", o_.name, new_failed, last_failure_);
}

KafkaSink::Totals KafkaSink::totals() const {
  return {delivered_.load(std::memory_order_relaxed), queue_full_.load(std::memory_order_relaxed),
          delivery_failed_.load(std::memory_order_relaxed),
          reports_lost_.load(std::memory_order_relaxed)};
}

}  // namespace kscope::sinks
