#include "exporters/prometheus/http_request.h"

#include <charconv>

#include "exporters/prometheus/http_tokens.h"

namespace kscope::prom {

namespace {

// RFC 9110 tchar: what a method or a header name is made of.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Whether a comma-separated header value (Connection) lists `token`.
bool lists(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

void append_header(std::string& to, std::string_view value) {
  if (!to.empty()) to += ", ";
  to += value;
}

}  // namespace

std::optional<HttpRequest> parse_http_head(std::string_view head) {
  // RFC 9112 2.2: ignore empty lines before the request line (left over after a body).
  while (head.starts_with("\r\n")) head.remove_prefix(2);
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return std::nullopt;
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);

  // METHOD SP TARGET SP HTTP/1.x
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || version.size() != 8 || !version.starts_with("HTTP/1.") ||
      version[7] < '0' || version[7] > '9')
    return std::nullopt;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    // Absolute form, as sent to proxies: keep the path.
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? "/" : target.substr(slash);
  }
  if (!target.starts_with('/')) return std::nullopt;
  for (char c : target)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;

  HttpRequest r;
  r.info.method = method;
  r.info.path = target.substr(0, target.find_first_of("?#"));
  r.http10 = version[7] == '0';
  std::string connection;
  while (true) {
    eol = head.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (line.empty()) break;
    size_t colon = line.find(':');
    // No colon, a space before it, or a folded line (leading space): all rejected.
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return std::nullopt;
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (iequals(name, "accept"))
      append_header(r.info.accept, value);
    else if (iequals(name, "accept-encoding"))
      append_header(r.info.accept_encoding, value);
    else if (iequals(name, "authorization"))
      append_header(r.info.authorization, value);
    else if (iequals(name, "connection"))
      append_header(connection, value);
    else if (iequals(name, "transfer-encoding"))
      r.has_body = true;
    else if (iequals(name, "content-length")) {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
      if (n > 0) r.has_body = true;
    }
  }
  r.keep_alive = r.http10 ? lists(connection, "keep-alive") : !lists(connection, "close");
  return r;
}

}  // namespace kscope::prom
