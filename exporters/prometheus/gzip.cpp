#include "exporters/prometheus/gzip.h"

#include "exporters/prometheus/http_tokens.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <climits>

#include <fmt/format.h>

namespace kscope::prom {

namespace {

// q of one "coding;q=..." item; 1 when not given, 0 when garbled.
double item_q(std::string_view params) {
  double q = 1;
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view p = params.substr(0, semi);
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    size_t eq = p.find('=');
    if (eq == std::string_view::npos || !iequals(trim(p.substr(0, eq)), "q")) continue;
    q = parse_q(p.substr(eq + 1));
  }
  return q;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  double named = -1, star = -1;
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    size_t semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    double q = semi == std::string_view::npos ? 1 : item_q(item.substr(semi + 1));
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip"))
      named = std::max(named, q);
    else if (coding == "*")
      star = std::max(star, q);
  }
  // A named coding overrides "*" (RFC 9110 12.5.3): "*, gzip;q=0" refuses gzip.
  return (named >= 0 ? named : star) > 0;
}

Result<std::string> gzip(std::string_view data) {
  z_stream z{};
  // 16 + MAX_WBITS: a gzip header and trailer around the deflate stream, which is what
  // "Content-Encoding: gzip" means. Level 6 is zlib's default trade of CPU for size.
  int rc = deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK)
    return fail(fmt::format("gzip: deflateInit2 failed ({})", rc),
                "zlib could not allocate its state; the host is out of memory");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  size_t fed = 0;
  // zlib counts in uInt: a larger input goes in slices. deflateBound leaves room for all
  // of the output, so the buffer grows only if it was wrong.
  for (;;) {
    if (z.avail_in == 0 && fed < data.size()) {
      size_t slice = std::min<size_t>(data.size() - fed, UINT_MAX);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
      z.avail_in = static_cast<uInt>(slice);
      fed += slice;
    }
    if (z.total_out == out.size()) out.resize(out.size() * 2 + 64);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + z.total_out);
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - z.total_out, UINT_MAX));
    rc = deflate(&z, fed == data.size() && z.avail_in == 0 ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  size_t produced = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END)
    return fail(fmt::format("gzip: deflate failed ({})", rc),
                "this is a bug in kscope; please report it");
  out.resize(produced);
  return out;
}

}  // namespace kscope::prom
