// The tls: blocks of the collector's configuration: parsing (every error with its line and
// column), and check_config loading the files they name, with certificates made at run time
// (tests/unit/test_pki.h): a key others may read, a key of another certificate, a file that is
// not PEM, each refused with the key's place in the file and OpenSSL's reason.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "collect/config.h"
#include "exporters/collect/collector.h"
#include "test_pki.h"

namespace kscope::collect {
namespace {

TEST(TlsConfig, MetricsAndStreamBlocks) {
  auto c = parse_config(R"(listen: 127.0.0.1:9437
tls:
  cert_file: /etc/kscope/tls/server.crt
  key_file: /etc/kscope/tls/server.key
  client_ca_file: /etc/kscope/tls/ca.crt
sinks:
  - name: live
    type: stream
    listen: 127.0.0.1:9438
    unix: /run/kscope/stream.sock
    tls: {cert_file: /s.crt, key_file: /s.key}
)",
                        "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->tls.cert_file, "/etc/kscope/tls/server.crt");
  EXPECT_EQ(c->tls.key_file, "/etc/kscope/tls/server.key");
  EXPECT_EQ(c->tls.client_ca_file, "/etc/kscope/tls/ca.crt");
  EXPECT_EQ(c->tls.cert_where, "c.yaml:3:14: tls.cert_file");
  EXPECT_EQ(c->tls.key_where, "c.yaml:4:13: tls.key_file");
  EXPECT_EQ(c->tls.client_ca_where, "c.yaml:5:19: tls.client_ca_file");
  ASSERT_EQ(c->sinks.size(), 1u);
  const TlsConfig& s = c->sinks[0].stream.tls;
  EXPECT_TRUE(s.enabled());
  EXPECT_EQ(s.cert_file, "/s.crt");
  EXPECT_EQ(s.key_where, "c.yaml:11:40: sinks[0].tls.key_file");
  EXPECT_TRUE(s.client_ca_file.empty());
}

TEST(TlsConfig, EmptyIsPlain) {
  for (const char* yaml : {"tls:\n", "tls: {}\n",
                           "tls:\n  cert_file: \"\"\n  key_file: \"\"\n  client_ca_file: \"\"\n"}) {
    auto c = parse_config(yaml, "c.yaml");
    ASSERT_TRUE(c.has_value()) << yaml << c.error().message;
    EXPECT_EQ(c->tls, TlsConfig{}) << yaml;
  }
}

struct BadTls {
  std::string_view yaml;
  std::string_view message;
  std::string_view hint;
};

void PrintTo(const BadTls& b, std::ostream* os) { *os << b.message.substr(0, b.message.find(' ')); }

class TlsConfigError : public testing::TestWithParam<BadTls> {};

TEST_P(TlsConfigError, MessageAndHint) {
  auto c = parse_config(GetParam().yaml, "c.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, GetParam().message);
  EXPECT_EQ(c.error().hint, GetParam().hint);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TlsConfigError,
    testing::Values(
        BadTls{"tls: yes\n", "c.yaml:1:6: tls: expected a map of keys, got 'yes'",
               "put its keys on the lines below, indented"},
        BadTls{"tls:\n  certfile: /a.crt\n",
               "c.yaml:2:3: unknown key 'certfile' in tls; did you mean 'cert_file'?",
               "the keys in tls are cert_file, key_file and client_ca_file"},
        BadTls{"cert_file: /a.crt\n",
               "c.yaml:1:1: unknown key 'cert_file' at the top level; did you mean 'tls.cert_file'?",
               "the keys at the top level are listen, token_file, tls, labels, limits, bpf_stats, "
               "sources, report_interval, redact and sinks"},
        BadTls{"tls:\n  cert_file: server.crt\n  key_file: /k\n",
               "c.yaml:2:14: tls.cert_file: expected an absolute path, got 'server.crt'",
               "e.g. cert_file: /etc/kscope/tls/server.crt"},
        BadTls{"tls:\n  cert_file: /a.crt\n  key_file: [/k]\n",
               "c.yaml:3:13: tls.key_file: expected a file's absolute path, or \"\", got a list",
               "write one value on the key's line"},
        BadTls{"tls:\n  cert_file: /a.crt\n", "c.yaml:2:3: tls: cert_file needs key_file, the certificate's private key",
               "key_file: /etc/kscope/tls/server.key (PEM, mode 0600)"},
        BadTls{"tls:\n  key_file: /a.key\n",
               "c.yaml:2:3: tls: key_file needs cert_file, the certificate it belongs to",
               "cert_file: /etc/kscope/tls/server.crt (PEM, the chain after the certificate)"},
        BadTls{"tls: {client_ca_file: /ca.crt}\n", "c.yaml:1:6: tls: client_ca_file needs cert_file and key_file",
               "mutual TLS is TLS with client certificates: give the server's certificate and key "
               "too"},
        BadTls{"sinks:\n  - {name: s, type: stream, listen: \"\", unix: /run/s.sock,\n"
               "     tls: {cert_file: /a.crt, key_file: /a.key}}\n",
               "c.yaml:3:11: sinks[0].tls: TLS is for the TCP listener, and this stream sink has "
               "none (unix only)",
               "a unix socket stays plain, guarded by its mode (0660): drop tls, or add listen: "
               "127.0.0.1:9438"},
        BadTls{"sinks:\n  - {name: s, type: stream, tls: {cert_file: /a.crt}}\n",
               "c.yaml:2:34: sinks[0].tls: cert_file needs key_file, the certificate's private key",
               "key_file: /etc/kscope/tls/server.key (PEM, mode 0600)"},
        BadTls{"sinks:\n  - {name: f, type: file, path: /f.json, tls: {}}\n",
               "c.yaml:2:42: unknown key 'tls' in sinks[0]",
               "the keys in sinks[0] are name, type, queue, fields, events, allow, deny, path, "
               "max_size, max_backups, rotate_interval and compress"}),
    [](const testing::TestParamInfo<BadTls>& p) { return "Case" + std::to_string(p.index); });

// Certificates made in a directory of the test's own, removed afterwards.
class TlsFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kscope_tls_config_test." + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    pki_ = std::make_unique<test::TestPki>(dir_);
    pki_->issue("server", "IP:127.0.0.1", 2);
    pki_->issue("other", "IP:127.0.0.1", 3);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // check_config's error for a tls: block of these files (client_ca_file "" for none).
  Error error_of(const std::string& cert, const std::string& key, const std::string& ca = "") {
    std::string yaml = fmt::format("listen: 127.0.0.1:0\ntls:\n  cert_file: {}\n  key_file: {}\n", cert, key);
    if (!ca.empty()) yaml += fmt::format("  client_ca_file: {}\n", ca);
    auto c = parse_config(yaml, "c.yaml");
    if (!c) return c.error();
    auto checked = check_config(*c);
    return checked ? Error{"loaded"} : checked.error();
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
  std::unique_ptr<test::TestPki> pki_;
};

TEST_F(TlsFiles, Loads) {
  EXPECT_EQ(error_of(pki_->crt("server"), pki_->key("server")).message, "loaded");
  EXPECT_EQ(error_of(pki_->crt("server"), pki_->key("server"), pki_->ca()).message, "loaded");
}

TEST_F(TlsFiles, KeyModeIsChecked) {
  ::chmod(pki_->key("server").c_str(), 0640);
  Error e = error_of(pki_->crt("server"), pki_->key("server"));
  EXPECT_EQ(e.message, "c.yaml:4:13: tls.key_file: key file " + pki_->key("server") +
                           ": group or others may access it (mode 0640)");
  EXPECT_EQ(e.hint, "chmod 600 " + pki_->key("server"));
  // A symbolic link is followed: the mode is the file's.
  ::chmod(pki_->key("server").c_str(), 0600);
  std::string link = (dir_ / "link.key").string();
  std::filesystem::create_symlink(pki_->key("server"), link);
  EXPECT_EQ(error_of(pki_->crt("server"), link).message, "loaded");
}

TEST_F(TlsFiles, KeyOfAnotherCertificate) {
  Error e = error_of(pki_->crt("server"), pki_->key("other"));
  EXPECT_EQ(e.message, "c.yaml:4:13: tls.key_file: key file " + pki_->key("other") +
                           " does not match the certificate " + pki_->crt("server") +
                           ": x509 certificate routines: key values mismatch");
  EXPECT_EQ(e.hint,
            "give the key the certificate was made for: `openssl x509 -noout -pubkey -in CERT` "
            "and `openssl pkey -pubout -in KEY` print the same key");
}

TEST_F(TlsFiles, NotPem) {
  std::string junk = write("junk.pem", "not a certificate\n");
  ::chmod(junk.c_str(), 0600);
  Error e = error_of(junk, pki_->key("server"));
  EXPECT_EQ(e.message,
            "c.yaml:3:14: tls.cert_file: certificate file " + junk + ": PEM routines: no start line");
  EXPECT_EQ(e.hint,
            "a PEM file starting with -----BEGIN CERTIFICATE-----, the chain's certificates after it");
  e = error_of(pki_->crt("server"), junk);
  EXPECT_EQ(e.message.substr(0, e.message.find(": ", e.message.find(junk))),
            "c.yaml:4:13: tls.key_file: key file " + junk);
  EXPECT_EQ(e.hint,
            "an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----): kscope asks for no "
            "passphrase");
  e = error_of(pki_->crt("server"), pki_->key("server"), junk);
  EXPECT_EQ(e.message, "c.yaml:5:19: tls.client_ca_file: CA file " + junk +
                           ": no certificate in it (PEM routines: no start line)");
}

TEST_F(TlsFiles, Missing) {
  Error e = error_of("/nonexistent/s.crt", pki_->key("server"));
  EXPECT_EQ(e.message,
            "c.yaml:3:14: tls.cert_file: certificate file /nonexistent/s.crt: No such file or directory");
  EXPECT_EQ(e.hint,
            "check the path; the file is PEM (openssl x509 -in FILE -noout -text shows a certificate)");
  e = error_of(pki_->crt("server"), dir_.string());
  EXPECT_EQ(e.message, "c.yaml:4:13: tls.key_file: key file " + dir_.string() +
                           ": not a readable regular file");
  EXPECT_EQ(e.hint, "name the PEM file, not its directory");
}

// A stream sink's tls: is checked the same way, at its own place in the file.
TEST_F(TlsFiles, StreamSink) {
  ::chmod(pki_->key("server").c_str(), 0604);
  auto c = parse_config(fmt::format("sinks:\n  - name: live\n    type: stream\n    listen: 127.0.0.1:0\n"
                                    "    tls:\n      cert_file: {}\n      key_file: {}\n",
                                    pki_->crt("server"), pki_->key("server")),
                        "c.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  auto checked = check_config(*c);
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().message, "c.yaml:7:17: sinks[0].tls.key_file: key file " +
                                         pki_->key("server") +
                                         ": group or others may access it (mode 0604)");
  ::chmod(pki_->key("server").c_str(), 0600);
  checked = check_config(*c);
  ASSERT_TRUE(checked.has_value()) << checked.error().message;
  EXPECT_EQ(checked->stream_tls.count("live"), 1u);
  EXPECT_EQ(checked->metrics_tls, nullptr);
}

}  // namespace
}  // namespace kscope::collect
