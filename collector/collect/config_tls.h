// The `tls:` block of the collector's configuration, for the metrics endpoint and for each
// stream sink's TCP listener, with the keys of Prometheus' tls_server_config: cert_file,
// key_file and client_ca_file (mutual TLS). The YAML gives the paths; the files are read, and
// the key's mode checked, when the collector starts or reloads (exporters/tls/tls_context.h).
#pragma once

#include <string>

#include "base/result.h"
#include "collect/config_reader.h"

namespace kscope::collect {

struct TlsConfig {
  std::string cert_file;       // absolute; "" = no TLS
  std::string key_file;        // set exactly when cert_file is
  std::string client_ca_file;  // "" = clients show no certificate
  // "FILE:LINE:COL: tls.key_file" for each file set: errors found in the files point there.
  std::string cert_where, key_where, client_ca_where;
  bool enabled() const { return !cert_file.empty(); }
  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

// Reads a `tls:` map: each key an absolute path or "", a certificate and its key together.
Result<TlsConfig> read_tls(const Reader& r, const Item& v);

}  // namespace kscope::collect
