// `kscope collect`'s YAML configuration: the defaults, a file that sets every key, the
// built-in default's round trip, and the errors, whole: a user debugs a collector that will
// not start from the message alone, so its FILE:LINE:COL, key path and wording are the API.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "collect/config.h"

namespace kscope::collect {
namespace {

using namespace std::chrono_literals;

TEST(CollectConfig, EmptyFileIsTheDefaults) {
  for (std::string_view text : {"", "# only a comment\n\n# another\n", "---\n", "{}\n"}) {
    auto c = parse_config(text, "c.yaml");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    Config want;
    want.file = "c.yaml";
    EXPECT_EQ(*c, want) << text;
  }
}

TEST(CollectConfig, Defaults) {
  Config c;
  EXPECT_EQ(c.listen, "127.0.0.1:9437");
  EXPECT_EQ(c.labels, (std::vector<Label>{Label::comm, Label::container}));
  EXPECT_EQ(c.limits.series_per_metric, 2000u);
  EXPECT_EQ(c.limits.series_total, 20000u);
  EXPECT_EQ(c.limits.series_ttl, 600s);
  EXPECT_TRUE(c.flows.enabled);
  EXPECT_EQ(c.flows.max_flows, 16384u);
  EXPECT_EQ(c.flows.sweep_interval, 1s);
  EXPECT_EQ(c.flows.idle_timeout, 15s);
  EXPECT_EQ(c.flows.active_timeout, 60s);
  EXPECT_TRUE(c.tcp && c.drops && c.dns && c.process && c.runqlat && c.biolatency && c.syscalls);
  EXPECT_FALSE(c.bpf_stats);
  EXPECT_EQ(c.file, "");
}

TEST(CollectConfig, LabelNames) {
  EXPECT_EQ(label_name(Label::comm), "comm");
  EXPECT_EQ(label_name(Label::container), "container");
  EXPECT_EQ(label_name(Label::cgroup), "cgroup");
}

TEST(CollectConfig, DefaultYamlRoundTrips) {
  std::string yaml = default_config_yaml();
  auto c = parse_config(yaml, "");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(*c, Config{});
  // A comment per key: every line that sets a scalar says what it is, except the switches
  // after the first and `enabled`, which the line above explains.
  EXPECT_NE(yaml.find("series_ttl: 10m"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("# 1..1000000"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("active_timeout: 60s"), std::string::npos) << yaml;
}

// docs/config.md shows the built-in default as --print-default-config prints it.
TEST(CollectConfig, DocsShowTheDefaultYaml) {
  std::ifstream in(std::string(KSCOPE_DOCS_DIR) + "/config.md");
  ASSERT_TRUE(in) << KSCOPE_DOCS_DIR "/config.md";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = text.find("## Example: the default");
  ASSERT_NE(at, std::string::npos);
  size_t begin = text.find("```yaml\n", at);
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  size_t end = text.find("```", begin);
  EXPECT_EQ(text.substr(begin, end - begin), default_config_yaml());
}

TEST(CollectConfig, EveryKeySet) {
  auto c = parse_config(R"(# every key, none at its default
listen: "[::1]:9100"
labels: [cgroup, comm]
limits:
  series_per_metric: 500
  series_total: 500
  series_ttl: 2h
  memory: 64MiB
  bpf_memory: 1GiB
bpf_stats: true
sources:
  flows:
    enabled: false
    interface: ""
    cgroup: /system.slice
    max_flows: 1024
    sweep_interval: 250ms
    idle_timeout: 1d
    active_timeout: 30s
  tcp: false
  drops: {enabled: false}
  dns: false
  process: false
  runqlat: false
  biolatency: false
  syscalls: {}
)",
                        "all.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->listen, "[::1]:9100");
  EXPECT_EQ(c->labels, (std::vector<Label>{Label::cgroup, Label::comm}));
  EXPECT_EQ(c->limits.series_per_metric, 500u);
  EXPECT_EQ(c->limits.series_total, 500u);
  EXPECT_EQ(c->limits.series_ttl, 7200s);
  EXPECT_EQ(c->limits.memory, 64ull << 20);
  EXPECT_EQ(c->limits.bpf_memory, 1ull << 30);
  EXPECT_TRUE(c->bpf_stats);
  EXPECT_FALSE(c->flows.enabled);
  EXPECT_EQ(c->flows.interface, "");
  EXPECT_EQ(c->flows.cgroup, "/system.slice");
  EXPECT_EQ(c->flows.max_flows, 1024u);
  EXPECT_EQ(c->flows.sweep_interval, 250ms);
  EXPECT_EQ(c->flows.idle_timeout, 24h);
  EXPECT_EQ(c->flows.active_timeout, 30s);
  EXPECT_FALSE(c->tcp || c->drops || c->dns || c->process || c->runqlat || c->biolatency);
  EXPECT_TRUE(c->syscalls);  // an empty map keeps the default
  EXPECT_EQ(c->file, "all.yaml");
}

TEST(CollectConfig, ShortForms) {
  auto c =
      parse_config("labels: []\nsources:\n  flows: false\n  tcp: {enabled: false}\n", "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->labels.empty());
  EXPECT_FALSE(c->flows.enabled);
  EXPECT_EQ(c->flows.max_flows, 16384u);
  EXPECT_FALSE(c->tcp);

  // A section whose keys are all commented out keeps its defaults.
  c = parse_config("limits:\n  # series_ttl: 5m\nsources:\n  flows:\n", "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->limits, Limits{});
  EXPECT_TRUE(c->flows.enabled);

  c = parse_config("listen: localhost:0\nsources:\n  flows:\n    interface: eth0\n", "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->listen, "localhost:0");
  EXPECT_EQ(c->flows.interface, "eth0");
}

struct BadConfig {
  std::string_view yaml;
  std::string_view message;  // the whole message, FILE:LINE:COL first
  std::string_view hint;     // the whole hint; "" = only checked to be there
};

// What CTest shows of a case: where its error points (the message up to its first space).
void PrintTo(const BadConfig& b, std::ostream* os) {
  *os << b.message.substr(0, b.message.find(' '));
}

class CollectConfigError : public testing::TestWithParam<BadConfig> {};

TEST_P(CollectConfigError, MessageAndHint) {
  const BadConfig& bad = GetParam();
  auto c = parse_config(bad.yaml, "c.yaml");
  ASSERT_FALSE(c.has_value()) << bad.yaml;
  EXPECT_EQ(c.error().message, bad.message) << bad.yaml;
  if (bad.hint.empty()) {
    EXPECT_FALSE(c.error().hint.empty()) << c.error().message;
  } else {
    EXPECT_EQ(c.error().hint, bad.hint) << c.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bad, CollectConfigError,
    testing::Values(
        // YAML syntax
        BadConfig{
            "listen: [1\n", "c.yaml:2:1: invalid YAML: end of sequence flow not found",
            "check the indentation (spaces, never tabs) and the quotes and brackets near there"},
        BadConfig{"limits:\n  series_ttl: 5m\n series_total: 9\n",
                  "c.yaml:3:2: invalid YAML: end of map not found", ""},
        // the document
        BadConfig{"- listen\n",
                  "c.yaml:1:1: expected a map of settings at the top level, got a list", ""},
        BadConfig{"listen: a:1\n---\nlisten: b:2\n",
                  "c.yaml:3:1: expected one YAML document, found 2",
                  "merge the documents into one map and delete the '---' lines"},
        // sizes
        BadConfig{"limits:\n  memory: 100\n",
                  "c.yaml:2:11: limits.memory: expected a size such as 128MiB or 1GiB, got '100'",
                  "one integer and one unit: KiB, MiB or GiB (binary: 1MiB is 1048576 bytes)"},
        BadConfig{"limits:\n  bpf_memory: 8MiB\n",
                  "c.yaml:2:15: limits.bpf_memory: expected a size from 16MiB to 64GiB, got '8MiB'",
                  "a source whose maps would pass it is left out"},
        // unknown keys, nearest match, the key at the wrong level
        BadConfig{"limits:\n  sereis_ttl: 5m\n",
                  "c.yaml:2:3: unknown key 'sereis_ttl' in limits; did you mean 'series_ttl'?",
                  "the keys in limits are series_per_metric, series_total, series_ttl, memory and bpf_memory"},
        BadConfig{"lisen: 127.0.0.1:80\n",
                  "c.yaml:1:1: unknown key 'lisen' at the top level; did you mean 'listen'?",
                  "the keys at the top level are listen, token_file, tls, labels, limits, bpf_stats, sources, "
                  "report_interval, "
                  "redact and sinks"},
        BadConfig{"tcp: false\n",
                  "c.yaml:1:1: unknown key 'tcp' at the top level; did you mean 'sources.tcp'?",
                  ""},
        BadConfig{"sources:\n  dsn: true\n",
                  "c.yaml:2:3: unknown key 'dsn' in sources; did you mean 'dns'?",
                  "the keys in sources are flows, tcp, drops, dns, process, runqlat, biolatency "
                  "and syscalls"},
        BadConfig{"sources:\n  tcp: {enable: false}\n",
                  "c.yaml:2:9: unknown key 'enable' in sources.tcp; did you mean 'enabled'?",
                  "the only key in sources.tcp is enabled"},
        BadConfig{"colour: blue\n", "c.yaml:1:1: unknown key 'colour' at the top level", ""},
        // redaction patterns std::regex can take
        BadConfig{"redact: ['a{101}']\n",
                  "c.yaml:1:10: redact[0]: a counted repeat ({...}) above 100 at byte 1", ""},
        BadConfig{"redact: ['x{8888888888888888888}']\n",
                  "c.yaml:1:10: redact[0]: a counted repeat ({...}) above 100 at byte 1", ""},
        BadConfig{"redact: ['(a)\\8888888888888888888']\n",
                  "c.yaml:1:10: redact[0]: a back-reference above \\99 at byte 3", ""},
        // the token file: an absolute path (read when the collector starts)
        BadConfig{"token_file: etc/kscope/token\n",
                  "c.yaml:1:13: token_file: expected an absolute path, got 'etc/kscope/token'",
                  "e.g. token_file: /etc/kscope/token"},
        BadConfig{"token_file: [a]\n",
                  "c.yaml:1:13: token_file: expected a file's absolute path, or \"\", got a list",
                  "write one value on the key's line"},
        BadConfig{"? [a, b]\n: 1\n", "c.yaml:1:3: expected a key name, got a list", ""},
        // duplicate keys, which yaml-cpp keeps both of
        BadConfig{"listen: a:1\nlabels: []\nlisten: b:2\n",
                  "c.yaml:3:1: listen: duplicate key, first set on line 1",
                  "delete one of them: YAML keeps both and kscope will not guess which you meant"},
        BadConfig{"sources:\n  flows: {max_flows: 5, max_flows: 6}\n",
                  "c.yaml:2:25: sources.flows.max_flows: duplicate key, first set on line 2", ""},
        // types
        BadConfig{"limits: 5\n", "c.yaml:1:9: limits: expected a map of keys, got '5'", ""},
        BadConfig{"sources:\n  - tcp\n", "c.yaml:2:3: sources: expected a map of keys, got a list",
                  ""},
        BadConfig{"listen: {host: a}\n",
                  "c.yaml:1:9: listen: expected ADDRESS:PORT such as 127.0.0.1:9437 or [::1]:9437, "
                  "got a map",
                  ""},
        BadConfig{"sources:\n  flows:\n    cgroup: [a]\n",
                  "c.yaml:3:13: sources.flows.cgroup: expected a cgroup path such as "
                  "system.slice/nginx.service, got a list",
                  ""},
        BadConfig{"sources:\n  flows:\n    interface:\n",
                  "c.yaml:3:5: sources.flows.interface: expected an interface name such as eth0, "
                  "got nothing",
                  "write \"\" for none"},
        // booleans
        BadConfig{"bpf_stats: yes\n", "c.yaml:1:12: bpf_stats: expected true or false, got 'yes'",
                  "write true or false: kscope reads no other spelling (yes, no, on, off and "
                  "capitals mean "
                  "different things to YAML 1.1 and 1.2)"},
        BadConfig{"bpf_stats: \"false\"\n",
                  "c.yaml:1:12: bpf_stats: expected true or false, got the string \"false\"",
                  "drop the quotes: a quoted \"true\" is text, not a boolean"},
        BadConfig{"sources:\n  dns: [true]\n",
                  "c.yaml:2:8: sources.dns: expected true, false or a map such as {enabled: true}, "
                  "got a list",
                  ""},
        BadConfig{
            "sources:\n  flows: 1\n",
            "c.yaml:2:10: sources.flows: expected true, false or a map of flow settings, got '1'",
            ""},
        // numbers
        BadConfig{
            "limits:\n  series_per_metric: 0\n",
            "c.yaml:2:22: limits.series_per_metric: expected an integer from 1 to 1000000, got '0'",
            ""},
        BadConfig{
            "limits:\n  series_total: 2.5e4\n",
            "c.yaml:2:17: limits.series_total: expected an integer from 1 to 10000000, got '2.5e4'",
            ""},
        BadConfig{"sources:\n  flows:\n    max_flows: -1\n",
                  "c.yaml:3:16: sources.flows.max_flows: expected an integer from 1 to 16777216, "
                  "got '-1'",
                  ""},
        BadConfig{
            "sources:\n  flows:\n    max_flows: 99999999999999999999999\n",
            "c.yaml:3:16: sources.flows.max_flows: expected an integer from 1 to 16777216, got "
            "'99999999999999999999999'",
            ""},
        // durations
        BadConfig{
            "limits:\n  series_ttl: 10\n",
            "c.yaml:2:15: limits.series_ttl: expected a duration such as 30s or 10m, got '10'",
            "add a unit: ms, s, m, h or d"},
        BadConfig{
            "limits:\n  series_ttl: 1m30s\n",
            "c.yaml:2:15: limits.series_ttl: expected a duration such as 30s or 10m, got '1m30s'",
            "one integer and one unit: ms, s, m, h or d (90s, not 1m30s or 1.5m)"},
        BadConfig{"limits:\n  series_ttl: 31d\n",
                  "c.yaml:2:15: limits.series_ttl: expected a duration from 1s to 30d, got '31d'",
                  ""},
        BadConfig{"limits:\n  series_ttl: 1500ms\n",
                  "c.yaml:2:15: limits.series_ttl: expected whole seconds, got '1500ms'", ""},
        BadConfig{"sources:\n  flows:\n    sweep_interval: 5ms\n",
                  "c.yaml:3:21: sources.flows.sweep_interval: expected a duration from 10ms to "
                  "60s, got '5ms'",
                  ""},
        BadConfig{
            "sources:\n  flows:\n    active_timeout: 99999999999999999999999d\n",
            "c.yaml:3:21: sources.flows.active_timeout: expected a duration from 100ms to 60s, got "
            "'99999999999999999999999d'",
            ""},
        // labels
        BadConfig{"labels: [comm, pid]\n", "c.yaml:1:16: labels[1]: unknown label 'pid'",
                  "the labels are comm, container and cgroup, never a pid or an address: those are "
                  "unbounded"},
        BadConfig{"labels: [contaner]\n",
                  "c.yaml:1:10: labels[0]: unknown label 'contaner'; did you mean 'container'?",
                  ""},
        BadConfig{"labels:\n  - comm\n  - cgroup\n  - comm\n",
                  "c.yaml:4:5: labels[2]: label 'comm' is repeated", "list each label once"},
        BadConfig{"labels: comm\n",
                  "c.yaml:1:9: labels: expected a list such as [comm, container], got 'comm'", ""},
        // cross-key rules
        BadConfig{"sources:\n  flows:\n    interface: eth0\n    cgroup: /system.slice\n",
                  "c.yaml:4:13: sources.flows.cgroup: interface and cgroup are exclusive", ""},
        BadConfig{"limits:\n  series_per_metric: 5000\n  series_total: 4000\n",
                  "c.yaml:3:17: limits.series_total: 4000 is less than series_per_metric (5000)",
                  "series_total caps every metric together: make it at least series_per_metric"},
        BadConfig{"limits:\n  series_per_metric: 30000\n",
                  "c.yaml:2:22: limits.series_per_metric: 30000 is more than series_total (20000, "
                  "the default)",
                  "raise limits.series_total too: it caps every metric together"},
        // listen
        BadConfig{"listen: ::1:9437\n",
                  "c.yaml:1:9: listen: expected ADDRESS:PORT such as 127.0.0.1:9437 or [::1]:9437, "
                  "got '::1:9437'",
                  "put an IPv6 address in brackets: [::1]:9437"},
        BadConfig{"listen: 127.0.0.1\n",
                  "c.yaml:1:9: listen: expected ADDRESS:PORT such as 127.0.0.1:9437 or [::1]:9437, "
                  "got '127.0.0.1'",
                  "add the port: 127.0.0.1:9437"},
        BadConfig{
            "listen: 127.0.0.1:65536\n",
            "c.yaml:1:9: listen: expected ADDRESS:PORT such as 127.0.0.1:9437 or [::1]:9437, got "
            "'127.0.0.1:65536'",
            "the port is a number from 0 to 65535"},
        BadConfig{
            "listen: 256.0.0.1:80\n",
            "c.yaml:1:9: listen: expected ADDRESS:PORT such as 127.0.0.1:9437 or [::1]:9437, got "
            "'256.0.0.1:80'",
            "'256.0.0.1' is not an IPv4 address"},
        BadConfig{
            "listen: \"[fe80::zz]:80\"\n",
            "c.yaml:1:9: listen: expected ADDRESS:PORT such as 127.0.0.1:9437 or [::1]:9437, got "
            "'[fe80::zz]:80'",
            "'fe80::zz' in brackets is not an IPv6 address"}),
    // Named by position: the default name would print the parameter's pointers.
    [](const testing::TestParamInfo<BadConfig>& p) { return "Case" + std::to_string(p.index); });

TEST(CollectConfig, ErrorsNameTheFile) {
  auto c = parse_config("listen: x\n", "/etc/kscope/collect.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message,
            "/etc/kscope/collect.yaml:1:9: listen: expected ADDRESS:PORT such as 127.0.0.1:9437 or "
            "[::1]:9437, got 'x'");
}

// A directory of the test's own, removed afterwards.
class CollectConfigFile : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("kscope_config_test." + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(CollectConfigFile, Loads) {
  std::string path = write("collect.yaml", "listen: 0.0.0.0:9100\n");
  auto c = load_config(path);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->listen, "0.0.0.0:9100");
  EXPECT_EQ(c->file, path);
}

TEST_F(CollectConfigFile, ErrorsCarryThePath) {
  std::string path = write("bad.yaml", "\nlimits:\n  series_ttl: 10\n");
  auto c = load_config(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message,
            path + ":3:15: limits.series_ttl: expected a duration such as 30s or 10m, got '10'");
}

TEST_F(CollectConfigFile, Missing) {
  std::string path = (dir_ / "nope.yaml").string();
  auto c = load_config(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, "read config " + path + ": No such file or directory");
  EXPECT_EQ(
      c.error().hint,
      "check the path; `kscope collect --print-default-config > FILE` writes a starting point");
}

TEST_F(CollectConfigFile, Directory) {
  auto c = load_config(dir_.string());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, "read config " + dir_.string() + ": Is a directory");
}

}  // namespace
}  // namespace kscope::collect
