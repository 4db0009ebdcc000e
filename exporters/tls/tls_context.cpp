#include "exporters/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <fmt/format.h>

#include "base/checked_file.h"

namespace kscope::tls {
namespace {

namespace ssl = boost::asio::ssl;

constexpr size_t kMaxPemBytes = 1 << 20;

// A file as configured: its path, and where it was given ("c.yaml:3:14: tls.cert_file", or
// "--tls-cert"), which starts every error about it.
struct Located {
  std::string path;
  std::string where;
};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Bio memory_bio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::unexpected<Error> located(const Located& f, const Error& e) {
  return fail(fmt::format("{}: {}", f.where, e.message), e.hint, e.code);
}

Result<std::string> read_pem(const Located& f, std::string_view what, bool secret) {
  auto text = read_checked_file(
      f.path, what,
      FileRules{.max_bytes = kMaxPemBytes,
                .secret = secret,
                .missing_hint = "check the path; the file is PEM (openssl x509 -in FILE -noout "
                                "-text shows a certificate)",
                .unreadable_hint = "make it readable by the user the collector runs as",
                .directory_hint = "name the PEM file, not its directory"});
  if (!text) return located(f, text.error());
  return text;
}

// Never asked: a passphrase would have to come from a terminal the collector does not have.
int no_passphrase(char*, int, int, void*) { return 0; }

// The certificate first, then the chain, as a web server's PEM file holds them.
Result<void> use_certificate(SSL_CTX* ctx, const Located& cert, const Located& key) {
  auto cert_pem = read_pem(cert, "certificate file", false);
  if (!cert_pem) return std::unexpected(cert_pem.error());
  auto key_pem = read_pem(key, "key file", true);
  if (!key_pem) return std::unexpected(key_pem.error());
  ERR_clear_error();
  Bio bio = memory_bio(*cert_pem);
  Cert leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1)
    return fail(fmt::format("{}: certificate file {}: {}", cert.where, cert.path, openssl_error()),
                "a PEM file starting with -----BEGIN CERTIFICATE-----, the chain's certificates "
                "after it");
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* chain = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, chain) != 1) {
      X509_free(chain);
      return fail(fmt::format("{}: certificate file {}: {}", cert.where, cert.path,
                              openssl_error()));
    }
  }
  ERR_clear_error();  // the end of the file reads as "no start line"
  bio = memory_bio(*key_pem);
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (!pkey)
    return fail(fmt::format("{}: key file {}: {}", key.where, key.path, openssl_error()),
                "an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----): kscope asks for no "
                "passphrase");
  int used = SSL_CTX_use_PrivateKey(ctx, pkey);
  EVP_PKEY_free(pkey);
  if (used != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return fail(fmt::format("{}: key file {} does not match the certificate {}: {}", key.where,
                            key.path, cert.path, openssl_error()),
                "give the key the certificate was made for: `openssl x509 -noout -pubkey -in "
                "CERT` and `openssl pkey -pubout -in KEY` print the same key");
  return {};
}

// Every certificate of the CA file becomes a trust anchor; a server also names them to its
// clients, which then know which of their certificates to present.
Result<void> trust(SSL_CTX* ctx, const Located& ca, bool name_to_clients) {
  auto pem = read_pem(ca, "CA file", false);
  if (!pem) return std::unexpected(pem.error());
  ERR_clear_error();
  Bio bio = memory_bio(*pem);
  int count = 0;
  while (Cert c{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
    if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), c.get()) != 1 ||
        (name_to_clients && SSL_CTX_add_client_CA(ctx, c.get()) != 1))
      return fail(fmt::format("{}: CA file {}: {}", ca.where, ca.path, openssl_error()));
    ++count;
  }
  std::string why = openssl_error();  // the end of the file reads as "no start line"
  if (count == 0)
    return fail(fmt::format("{}: CA file {}: no certificate in it ({})", ca.where, ca.path, why),
                "a PEM file of one or more certificates (-----BEGIN CERTIFICATE-----)");
  return {};
}

std::shared_ptr<Context> new_context(ssl::context::method method) {
  auto ctx = std::make_shared<Context>(method);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression);
  return ctx;
}

}  // namespace

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no reason given";
  const char* reason = ERR_reason_error_string(e);
  const char* lib = ERR_lib_error_string(e);
  if (!reason) return fmt::format("OpenSSL error {:#x}", e);
  return lib ? fmt::format("{}: {}", lib, reason) : reason;
}

Result<std::shared_ptr<Context>> server_context(const collect::TlsConfig& c) {
  auto ctx = new_context(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (auto ok = use_certificate(native, {c.cert_file, c.cert_where}, {c.key_file, c.key_where});
      !ok)
    return std::unexpected(ok.error());
  if (!c.client_ca_file.empty()) {
    if (auto ok = trust(native, {c.client_ca_file, c.client_ca_where}, true); !ok)
      return std::unexpected(ok.error());
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

Result<std::shared_ptr<Context>> client_context(const ClientFiles& f) {
  auto ctx = new_context(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  // The stream ends when the collector goes, or when a signal shuts the socket down: an end
  // without TLS's close_notify is the end of the stream, as it is over plain TCP.
  SSL_CTX_set_options(native, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (f.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(native) != 1)
      return fail(fmt::format("--tls: the system's CA store: {}", openssl_error()),
                  "install ca-certificates, or name the CA: --tls-ca FILE");
  } else if (auto ok = trust(native, {f.ca_file, "--tls-ca"}, false); !ok) {
    return std::unexpected(ok.error());
  }
  if (!f.cert_file.empty())
    if (auto ok = use_certificate(native, {f.cert_file, "--tls-cert"}, {f.key_file, "--tls-key"});
        !ok)
      return std::unexpected(ok.error());
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

}  // namespace kscope::tls
