// The `sinks:` of the collector's configuration: where flow records go besides the metrics.
// Each sink is named, has a type and that type's keys, its own queue, filters (Hubble's
// allow/deny semantics) and field mask. docs/config.md lists every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "collect/config_reader.h"
#include "collect/config_tls.h"
#include "flows/flow_filter.h"

namespace kscope::collect {

enum class SinkType { file, stdout_, stream, ipfix, kafka };
std::string_view sink_type_name(SinkType t);  // "file", "stdout", "stream", "ipfix", "kafka"

struct FileSinkConfig {
  std::string path;
  uint64_t max_size = 10ull << 20;
  uint32_t max_backups = 5;
  std::chrono::milliseconds rotate_interval{0};  // 0: by size only
  bool compress = false;
  friend bool operator==(const FileSinkConfig&, const FileSinkConfig&) = default;
};

struct StreamSinkConfig {
  std::string listen = "127.0.0.1:9438";  // "" for none
  std::string unix_path;                  // "" for none
  uint32_t buffer = 10000;                // the last records kept for --last
  uint32_t client_queue = 10000;          // per client, then that client's records drop
  uint32_t max_clients = 64;
  TlsConfig tls;                          // for the TCP listener; a unix socket stays plain
  friend bool operator==(const StreamSinkConfig&, const StreamSinkConfig&) = default;
};

struct IpfixSinkConfig {
  std::string address;  // HOST:PORT of the collector
  bool tcp = false;     // transport: udp (default) or tcp
  uint32_t observation_domain = 1;
  std::chrono::milliseconds template_interval{60'000};
  uint32_t max_message = 1472;  // bytes: a 1500-byte path MTU less the IPv4 and UDP headers
  uint32_t enterprise_number = 32473;
  friend bool operator==(const IpfixSinkConfig&, const IpfixSinkConfig&) = default;
};

struct KafkaSinkConfig {
  std::vector<std::string> brokers;
  std::string topic;
  std::string compression = "none";
  uint32_t batch_size = 10000;             // records per batch (batch.num.messages)
  std::chrono::milliseconds linger{100};   // linger.ms
  uint32_t buffer = 100000;                // records librdkafka holds while brokers are away
  std::chrono::milliseconds message_timeout{300'000};
  std::map<std::string, std::string> properties;  // passed to librdkafka as they are
  friend bool operator==(const KafkaSinkConfig&, const KafkaSinkConfig&) = default;
};

struct SinkConfig {
  std::string name;
  SinkType type = SinkType::file;
  uint32_t queue = 65536;           // records waiting for this sink, then dropped and counted
  std::vector<std::string> fields;  // the record fields kept; empty: all
  // What the sink takes: "flows", and trace tools' events ("exec", "exit", ...).
  std::vector<std::string> events = {"flows"};
  flows::FlowFilters filters;
  FileSinkConfig file;
  StreamSinkConfig stream;
  IpfixSinkConfig ipfix;
  KafkaSinkConfig kafka;
  // "FILE:LINE:COL: sinks[2]": where it was configured, for errors found when it starts.
  std::string where;
  friend bool operator==(const SinkConfig&, const SinkConfig&) = default;
};

// Reads the `sinks:` list (config.cpp calls it): names unique, each type's required keys there.
Result<void> read_sinks(const Reader& r, const Item& v, std::vector<SinkConfig>& sinks);

}  // namespace kscope::collect
