// The `sinks:` of `kscope collect`'s configuration: every type with every key, the defaults,
// and the errors, whole (FILE:LINE:COL, key path, wording and hint).
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "collect/config.h"

namespace kscope::collect {
namespace {

using namespace std::chrono_literals;

TEST(SinksConfig, EveryTypeAndKey) {
  auto c = parse_config(R"(report_interval: 5s
redact: ['password=(\S+)']
sinks:
  - name: flowlog
    type: file
    path: /var/log/kscope/flows.json
    max_size: 1MiB
    max_backups: 3
    rotate_interval: 1h
    compress: true
    queue: 1000
    fields: [time, IP, l4, bytes]
    events: [flows, exec]
    allow: [{ip: 10.0.0.0/8, port: [53, 853]}, {comm: [nginx]}]
    deny: [{protocol: [icmp, 58], pid: 1}, {from_ip: [fd00::/8], to_ip: 192.0.2.1}]
  - {name: out, type: stdout}
  - name: live
    type: stream
    listen: ""
    unix: /run/kscope/observe.sock
    buffer: 500
    client_queue: 100
    max_clients: 8
  - name: nf
    type: ipfix
    address: 127.0.0.1:4739
    transport: tcp
    observation_domain: 7
    template_interval: 30s
    max_message: 1400
    enterprise_number: 99
  - name: bus
    type: kafka
    brokers: [k1:9092, "[::1]:9093"]
    topic: flows
    compression: zstd
    batch_size: 500
    linger: 20ms
    buffer: 1000
    message_timeout: 30s
    properties: {security.protocol: ssl, client.id: kscope}
)",
                        "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message << " / " << c.error().hint;
  EXPECT_EQ(c->report_interval, 5s);
  EXPECT_EQ(c->redact, (std::vector<std::string>{"password=(\\S+)"}));
  ASSERT_EQ(c->sinks.size(), 5u);
  const SinkConfig& f = c->sinks[0];
  EXPECT_EQ(f.name, "flowlog");
  EXPECT_EQ(f.type, SinkType::file);
  EXPECT_EQ(f.file.path, "/var/log/kscope/flows.json");
  EXPECT_EQ(f.file.max_size, 1u << 20);
  EXPECT_EQ(f.file.max_backups, 3u);
  EXPECT_EQ(f.file.rotate_interval, 1h);
  EXPECT_TRUE(f.file.compress);
  EXPECT_EQ(f.queue, 1000u);
  EXPECT_EQ(f.fields, (std::vector<std::string>{"time", "IP", "l4", "bytes"}));
  EXPECT_EQ(f.events, (std::vector<std::string>{"flows", "exec"}));
  EXPECT_EQ(c->sinks[1].events, (std::vector<std::string>{"flows"}));
  ASSERT_EQ(f.filters.allow.size(), 2u);
  ASSERT_EQ(f.filters.allow[0].ips.size(), 1u);
  EXPECT_EQ(f.filters.allow[0].ips[0].prefix, 8u);
  EXPECT_EQ(f.filters.allow[0].ports, (std::vector<uint16_t>{53, 853}));
  EXPECT_EQ(f.filters.allow[1].comms, (std::vector<std::string>{"nginx"}));
  ASSERT_EQ(f.filters.deny.size(), 2u);
  EXPECT_EQ(f.filters.deny[0].protocols, (std::vector<uint8_t>{1, 58}));
  EXPECT_EQ(f.filters.deny[0].pids, (std::vector<uint32_t>{1}));
  EXPECT_EQ(f.filters.deny[1].source_ips[0].prefix, 8u);
  EXPECT_EQ(f.filters.deny[1].destination_ips[0].prefix, 32u);
  EXPECT_EQ(f.where, "c.yaml:4:5: sinks[0]");
  EXPECT_EQ(c->sinks[1].type, SinkType::stdout_);
  EXPECT_EQ(c->sinks[1].queue, 65536u);
  const SinkConfig& s = c->sinks[2];
  EXPECT_EQ(s.stream.listen, "");
  EXPECT_EQ(s.stream.unix_path, "/run/kscope/observe.sock");
  EXPECT_EQ(s.stream.buffer, 500u);
  EXPECT_EQ(s.stream.client_queue, 100u);
  EXPECT_EQ(s.stream.max_clients, 8u);
  const SinkConfig& i = c->sinks[3];
  EXPECT_EQ(i.ipfix.address, "127.0.0.1:4739");
  EXPECT_TRUE(i.ipfix.tcp);
  EXPECT_EQ(i.ipfix.observation_domain, 7u);
  EXPECT_EQ(i.ipfix.template_interval, 30s);
  EXPECT_EQ(i.ipfix.max_message, 1400u);
  EXPECT_EQ(i.ipfix.enterprise_number, 99u);
  const SinkConfig& k = c->sinks[4];
  EXPECT_EQ(k.kafka.brokers, (std::vector<std::string>{"k1:9092", "[::1]:9093"}));
  EXPECT_EQ(k.kafka.topic, "flows");
  EXPECT_EQ(k.kafka.compression, "zstd");
  EXPECT_EQ(k.kafka.batch_size, 500u);
  EXPECT_EQ(k.kafka.linger, 20ms);
  EXPECT_EQ(k.kafka.buffer, 1000u);
  EXPECT_EQ(k.kafka.message_timeout, 30s);
  EXPECT_EQ(k.kafka.properties.at("security.protocol"), "ssl");
  EXPECT_EQ(k.kafka.properties.at("client.id"), "kscope");
}

TEST(SinksConfig, Defaults) {
  auto c = parse_config("sinks:\n  - {name: a, type: file, path: /tmp/a}\n  - {name: b, type: ipfix, "
                        "address: 127.0.0.1:4739}\n",
                        "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->report_interval, 10s);
  EXPECT_EQ(c->sinks[0].file.max_size, 10u << 20);
  EXPECT_EQ(c->sinks[0].file.max_backups, 5u);
  EXPECT_EQ(c->sinks[0].file.rotate_interval, 0ms);
  EXPECT_FALSE(c->sinks[0].file.compress);
  EXPECT_TRUE(c->sinks[0].fields.empty());
  EXPECT_FALSE(c->sinks[1].ipfix.tcp);
  EXPECT_EQ(c->sinks[1].ipfix.template_interval, 60s);
  EXPECT_EQ(c->sinks[1].ipfix.max_message, 1472u);
  EXPECT_EQ(c->sinks[1].ipfix.enterprise_number, 32473u);
  EXPECT_TRUE(Config{}.sinks.empty());
}

struct BadSinks {
  std::string_view yaml;
  std::string_view message;
  std::string_view hint;  // "" = only checked to be there
};

void PrintTo(const BadSinks& b, std::ostream* os) { *os << b.message.substr(0, b.message.find(' ')); }

class SinksConfigError : public testing::TestWithParam<BadSinks> {};

TEST_P(SinksConfigError, MessageAndHint) {
  const BadSinks& bad = GetParam();
  auto c = parse_config(bad.yaml, "c.yaml");
  ASSERT_FALSE(c.has_value()) << bad.yaml;
  EXPECT_EQ(c.error().message, bad.message) << bad.yaml;
  if (bad.hint.empty()) EXPECT_FALSE(c.error().hint.empty()) << c.error().message;
  else EXPECT_EQ(c.error().hint, bad.hint) << c.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Bad, SinksConfigError,
    testing::Values(
        BadSinks{"sinks: {name: a}\n", "c.yaml:1:8: sinks: expected a list of sinks, got a map",
                 "each sink is an item: - {name: flowlog, type: file, path: FILE}"},
        BadSinks{"sinks: [x]\n",
                 "c.yaml:1:9: sinks[0]: expected a sink (a map with name and type), got 'x'", ""},
        BadSinks{"sinks:\n  - {name: a, path: /x}\n", "c.yaml:2:5: sinks[0]: a sink needs a type",
                 "type: file, stdout, stream, ipfix or kafka"},
        BadSinks{"sinks:\n  - {name: a, type: fil, path: /x}\n",
                 "c.yaml:2:21: sinks[0].type: unknown sink type 'fil'; did you mean 'file'?",
                 "the types are file, stdout, stream, ipfix or kafka"},
        BadSinks{"sinks:\n  - {type: file, path: /x}\n",
                 "c.yaml:2:5: sinks[0]: a file sink needs a name",
                 "name: flowlog (it names the sink in metrics)"},
        BadSinks{"sinks:\n  - {name: a, type: file}\n", "c.yaml:2:5: sinks[0]: a file sink needs a path",
                 "path: /var/log/kscope/flows.json"},
        BadSinks{"sinks:\n  - {name: a, type: file, path: /x, adress: y}\n",
                 "c.yaml:2:37: unknown key 'adress' in sinks[0]", ""},
        BadSinks{"sinks:\n  - {name: a, type: stdout, path: /x}\n",
                 "c.yaml:2:29: unknown key 'path' in sinks[0]", ""},
        BadSinks{"sinks:\n  - {name: a, type: file, path: /x}\n  - {name: a, type: stdout}\n",
                 "c.yaml:3:5: sinks[1]: sink name 'a' is already used on line 2",
                 "name each sink once: the name tells them apart in metrics and loss reports"},
        BadSinks{"sinks:\n  - {name: a b, type: stdout}\n",
                 "c.yaml:2:12: sinks[0].name: expected a sink name, got 'a b'", ""},
        BadSinks{"sinks:\n  - {name: a, type: file, path: /x, max_size: 10}\n",
                 "c.yaml:2:47: sinks[0].max_size: expected a size such as 128MiB or 1GiB, got '10'", ""},
        BadSinks{"sinks:\n  - {name: a, type: file, path: /var/log/}\n",
                 "c.yaml:2:33: sinks[0].path: expected a file path, got '/var/log/'",
                 "name the file, e.g. /var/log/kscope/flows.json"},
        BadSinks{"sinks:\n  - {name: a, type: stdout, allow: {port: 53}}\n",
                 "c.yaml:2:36: sinks[0].allow: expected a list of filters, got a map", ""},
        BadSinks{"sinks:\n  - {name: a, type: stdout, allow: [{port: 70000}]}\n",
                 "c.yaml:2:44: sinks[0].allow[0].port: expected a port from 0 to 65535, got '70000'", ""},
        BadSinks{"sinks:\n  - {name: a, type: stdout, deny: [{ip: 10.0.0.300}]}\n",
                 "c.yaml:2:41: sinks[0].deny[0].ip: '10.0.0.300' is not an IP address or CIDR", ""},
        BadSinks{"sinks:\n  - {name: a, type: stdout, deny: [{protocol: tcpp}]}\n",
                 "c.yaml:2:47: sinks[0].deny[0].protocol: expected a protocol, got 'tcpp'",
                 "tcp, udp, icmp, icmpv6 or a number from 0 to 255"},
        BadSinks{"sinks:\n  - {name: a, type: stdout, deny: [{}]}\n",
                 "c.yaml:2:36: sinks[0].deny[0]: an empty filter matches every record", ""},
        BadSinks{"sinks:\n  - {name: a, type: ipfix}\n",
                 "c.yaml:2:5: sinks[0]: an ipfix sink needs an address",
                 "address: 127.0.0.1:4739 (the IPFIX collector)"},
        BadSinks{"sinks:\n  - {name: a, type: ipfix, address: 127.0.0.1:4739, transport: sctp}\n",
                 "c.yaml:2:64: sinks[0].transport: expected udp or tcp, got 'sctp'", ""},
        BadSinks{"sinks:\n  - {name: a, type: ipfix, address: 127.0.0.1:4739, max_message: 100}\n",
                 "c.yaml:2:66: sinks[0].max_message: expected an integer from 512 to 65507, got '100'",
                 ""},
        BadSinks{"sinks:\n  - {name: a, type: kafka, topic: t}\n",
                 "c.yaml:2:5: sinks[0]: a kafka sink needs brokers", "brokers: [kafka-1:9092]"},
        BadSinks{"sinks:\n  - {name: a, type: kafka, brokers: [k:9092], topic: t, compression: brotli}\n",
                 "c.yaml:2:70: sinks[0].compression: expected a compression, got 'brotli'",
                 "one of none, gzip, snappy, lz4 or zstd"},
        BadSinks{"sinks:\n  - {name: a, type: stream, listen: \"\"}\n",
                 "c.yaml:2:5: sinks[0]: a stream sink needs listen or unix",
                 "listen: 127.0.0.1:9438 or unix: /run/kscope/observe.sock"},
        BadSinks{"sinks:\n  - {name: a, type: stdout, events: [flows, exce]}\n",
                 "c.yaml:2:45: sinks[0].events[1]: unknown event kind 'exce'; did you mean 'exec'?", ""},
        BadSinks{"sinks:\n  - {name: a, type: stdout, events: []}\n",
                 "c.yaml:2:37: sinks[0].events: a sink that takes no records",
                 "events: [flows] (the default), or name tools"},
        BadSinks{"sinks:\n  - {name: a, type: ipfix, address: 127.0.0.1:1, events: [exec]}\n",
                 "c.yaml:2:5: sinks[0]: an ipfix sink carries flows only", ""},
        BadSinks{"redact: ['(unclosed']\n",
                 "c.yaml:1:10: redact[0]: not a regular expression: Mismatched '(' and ')' in regular expression",
                 "ECMAScript syntax, as in JavaScript; quote it in single quotes"},
        BadSinks{"redact: password\n", "c.yaml:1:9: redact: expected a list of patterns, got 'password'",
                 ""},
        BadSinks{"report_interval: 10\n",
                 "c.yaml:1:18: report_interval: expected a duration such as 30s or 10m, got '10'",
                 "add a unit: ms, s, m, h or d"}),
    [](const testing::TestParamInfo<BadSinks>& p) { return "Case" + std::to_string(p.index); });

}  // namespace
}  // namespace kscope::collect
