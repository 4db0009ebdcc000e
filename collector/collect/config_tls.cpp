#include "collect/config_tls.h"

#include <optional>

namespace kscope::collect {

Result<TlsConfig> read_tls(const Reader& r, const Item& v) {
  TlsConfig t;
  // A path and where it was written, kept only when set: "" paths leave the defaults equal.
  auto path = [&r](std::string& out, std::string& where, std::string_view example) {
    return [&r, &out, &where, example](const Item& x) -> Result<void> {
      auto p = read_absolute_path(r, x, example);
      if (!p) return std::unexpected(p.error());
      out = std::move(*p);
      where = out.empty() ? "" : r.where(x);
      return {};
    };
  };
  const Field fields[] = {
      {"cert_file", path(t.cert_file, t.cert_where, "cert_file: /etc/kscope/tls/server.crt")},
      {"key_file", path(t.key_file, t.key_where, "key_file: /etc/kscope/tls/server.key")},
      {"client_ca_file",
       path(t.client_ca_file, t.client_ca_where, "client_ca_file: /etc/kscope/tls/clients-ca.crt")},
  };
  if (auto ok = read_map(r, v, fields); !ok) return std::unexpected(ok.error());
  if (!t.cert_file.empty() && t.key_file.empty())
    return r.error(v, "cert_file needs key_file, the certificate's private key",
                   "key_file: /etc/kscope/tls/server.key (PEM, mode 0600)");
  if (t.cert_file.empty() && !t.key_file.empty())
    return r.error(v, "key_file needs cert_file, the certificate it belongs to",
                   "cert_file: /etc/kscope/tls/server.crt (PEM, the chain after the certificate)");
  if (t.cert_file.empty() && !t.client_ca_file.empty())
    return r.error(v, "client_ca_file needs cert_file and key_file",
                   "mutual TLS is TLS with client certificates: give the server's certificate "
                   "and key too");
  return t;
}

}  // namespace kscope::collect
