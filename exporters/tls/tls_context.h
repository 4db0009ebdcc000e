// TLS for the collector's endpoints (the metrics endpoint, each stream sink's TCP listener) and
// for `kscope observe`: OpenSSL contexts made from PEM files, TLS 1.2 at least, no
// compression. A context is made whole or not at all, so a reload that cannot load new files
// keeps serving with the old context; connections keep the context they started with.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "collect/config_tls.h"

namespace boost::asio::ssl {
class context;
}

namespace kscope::tls {

using Context = boost::asio::ssl::context;

// The server side of an enabled `c`: its certificate (and the chain after it in the file) and
// its private key, which must match; with client_ca_file, a client must present a certificate
// that CA signed. The key file must be its owner's alone (no group or other mode bits). Each
// error starts with the key's place in the configuration ("c.yaml:4:13: tls.key_file: ...")
// and carries OpenSSL's reason.
Result<std::shared_ptr<Context>> server_context(const collect::TlsConfig& c);

struct ClientFiles {
  std::string ca_file;    // the CA the server's certificate must chain to; "": the system's
  std::string cert_file;  // a client certificate for mutual TLS, with its key; "": none
  std::string key_file;
};

// The client side: the server's certificate is verified (the caller names the host to check).
// Errors start with the flag ("--tls-ca: ...").
Result<std::shared_ptr<Context>> client_context(const ClientFiles& f);

// OpenSSL's oldest error on this thread, as "library: reason" ("PEM routines: no start
// line"); the queue is emptied.
std::string openssl_error();

}  // namespace kscope::tls
