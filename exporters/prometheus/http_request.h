// An HTTP/1.1 request head (RFC 9112) as the scrape endpoint reads it: the request line and
// the few headers it acts on. Apart from the server so that it can be fuzzed on its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kscope::prom {

struct HttpRequestInfo {
  std::string method;  // "GET" or "HEAD": other methods get 405 before the handler
  std::string path;    // the target without its query string, e.g. "/metrics"
  std::string accept;  // header values, "" when absent; repeated headers joined by ", "
  std::string accept_encoding;
  std::string authorization;
};

struct HttpRequest {
  HttpRequestInfo info;
  bool keep_alive = true;
  // A body we do not read (GET and HEAD have no use for one): the connection closes after
  // the answer rather than misread the body as the next request.
  bool has_body = false;
  bool http10 = false;  // an HTTP/1.0 client keeps the connection only when told so
};

// The head up to and including its empty line; nullopt when malformed.
std::optional<HttpRequest> parse_http_head(std::string_view head);

}  // namespace kscope::prom
