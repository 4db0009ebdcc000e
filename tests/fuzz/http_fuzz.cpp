// libFuzzer target: one input is what a client sends the metrics endpoint before its empty
// line. The head parser must refuse what is malformed and, for what it takes, give a path the
// handler can trust (absolute, no spaces or control octets); content negotiation must cope
// with whatever Accept and Accept-Encoding say.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/gzip.h"
#include "exporters/prometheus/http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kscope::prom;
  std::string_view head(reinterpret_cast<const char*>(data), size);
  auto req = parse_http_head(head);
  if (!req) return 0;
  const std::string& path = req->info.path;
  if (path.empty() || path.front() != '/') std::abort();
  for (char c : path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '?' || c == '#') std::abort();
  (void)content_type(negotiate(req->info.accept));
  (void)accepts_gzip(req->info.accept_encoding);
  return 0;
}
