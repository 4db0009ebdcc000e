// Compressed scrapes: Prometheus asks for gzip, and a scrape of a busy host shrinks ~10x.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace kscope::prom {

// Whether an Accept-Encoding header takes gzip: "gzip" (or "x-gzip") with q>0, or "*" with
// q>0 when gzip is not named. Names are case-insensitive; "gzip;q=0" refuses it.
bool accepts_gzip(std::string_view accept_encoding);

// One gzip member (RFC 1952) holding `data`.
Result<std::string> gzip(std::string_view data);

}  // namespace kscope::prom
