// Certificates for the TLS tests, made at run time with OpenSSL's C API into a temp dir (no
// key is kept in the repository): a CA, and certificates it signs for a server (with
// subjectAltNames) or a client. EC P-256 keys: quick to make.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace kscope::test {

class TestPki {
 public:
  // A CA named `ca_name`, written to DIR/ca.crt (and DIR/ca.key).
  explicit TestPki(std::filesystem::path dir, const std::string& ca_name = "kscope test CA")
      : dir_(std::move(dir)), ca_key_(new_key()) {
    ca_cert_.reset(make(ca_name, ca_key_.get(), nullptr, 1, "", true));
    write("ca", ca_cert_.get(), ca_key_.get());
  }

  // A certificate the CA signed, for `sans` ("IP:127.0.0.1,DNS:localhost"; "" for none),
  // written to DIR/NAME.crt and DIR/NAME.key (mode 0600). Returns the certificate's path.
  std::string issue(const std::string& name, const std::string& sans, long serial) {
    Key key = new_key();
    Cert cert(make(name, key.get(), ca_cert_.get(), serial, sans, false));
    write(name, cert.get(), key.get());
    return crt(name);
  }

  std::string crt(const std::string& name) const { return (dir_ / (name + ".crt")).string(); }
  std::string key(const std::string& name) const { return (dir_ / (name + ".key")).string(); }
  std::string ca() const { return crt("ca"); }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct CertFree {
    void operator()(X509* x) const { X509_free(x); }
  };
  using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
  using Cert = std::unique_ptr<X509, CertFree>;

  static Key new_key() {
    Key k(EVP_EC_gen("P-256"));
    if (!k) throw std::runtime_error("EVP_EC_gen failed");
    return k;
  }

  static void extend(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) throw std::runtime_error("bad extension " + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  // Signed by issuer with the CA's key, or by itself (issuer null).
  X509* make(const std::string& cn, EVP_PKEY* key, X509* issuer, long serial,
             const std::string& sans, bool ca) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    extend(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    extend(x, issuer, NID_subject_key_identifier, "hash");
    if (issuer) extend(x, issuer, NID_authority_key_identifier, "keyid");
    if (ca) extend(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (!sans.empty()) extend(x, issuer, NID_subject_alt_name, sans);
    X509_sign(x, issuer ? ca_key_.get() : key, EVP_sha256());
    return x;
  }

  void write(const std::string& name, X509* cert, EVP_PKEY* key) {
    std::FILE* f = std::fopen(crt(name).c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(this->key(name).c_str(), "w");
    ::chmod(this->key(name).c_str(), 0600);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }

  std::filesystem::path dir_;
  Key ca_key_;
  Cert ca_cert_;
};

}  // namespace kscope::test
