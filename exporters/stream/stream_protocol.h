// The live flow stream's wire protocol (docs/observe.md), shared by the collector's server and
// `kscope observe`: the client sends one JSON request line; the server answers with NDJSON,
// flow records and loss reports as the flow log writes them, plus lines of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "flows/flow_filter.h"

namespace kscope::stream {

inline constexpr std::string_view kDefaultAddress = "127.0.0.1:9438";
inline constexpr std::string_view kLostSchema = "kscope.lost.v1";
inline constexpr std::string_view kErrorSchema = "kscope.error.v1";
inline constexpr int kProtocolVersion = 1;
// A request is a few filters: anything longer is not one.
inline constexpr size_t kMaxRequestBytes = 16 * 1024;

struct StreamRequest {
  bool follow = false;           // after the backlog, stream new records until the client leaves
  std::optional<uint64_t> last;  // the backlog's size at most; nullopt: no bound but the ring
  uint64_t since_ns = 0;         // CLOCK_REALTIME: the backlog starts here; 0: no bound
  flows::FlowFilters filters;
  std::string token;  // the collector's bearer token, when it has one (config token_file)
  bool operator==(const StreamRequest&) const = default;
};

// The request line a client sends, newline included.
std::string request_line(const StreamRequest& r);
// Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
// U+10FFFF) without control characters other than tab, CR and LF.
bool utf8_text(std::string_view s);

// One request line (without its newline); the error names the field and what it expects.
Result<StreamRequest> parse_request(std::string_view line);

// {"schema":"kscope.lost.v1","lost":N,"where":"client_queue"}: records this client missed.
std::string lost_line(uint64_t lost);
// {"schema":"kscope.error.v1","error":"...","hint":"..."}: the last line before the server
// closes.
std::string error_line(const Error& e);

// "2026-12-03T09:26:53.5Z" or with an offset ("+02:00") as CLOCK_REALTIME nanoseconds.
Result<uint64_t> parse_rfc3339(std::string_view text);

// Where the stream listens, or a client connects: "HOST:PORT", "[V6]:PORT", or a unix socket
// path (anything with a '/').
struct StreamAddress {
  std::string host;
  uint16_t port = 0;
  std::string unix_path;  // set: a unix socket, host and port unused
};
Result<StreamAddress> parse_address(std::string_view text);
std::string address_text(const StreamAddress& a);

}  // namespace kscope::stream
