// libFuzzer target: the live stream's protocol from both ends. The first input byte picks
// the side: the collector reading a client's request line (a request it takes must read back
// the same after request_line() writes it again, and its filters must run on a record), or
// `kscope observe` formatting a line the server sent, in each output format.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporters/stream/observe_client.h"
#include "exporters/stream/stream_protocol.h"
#include "flows/flow_record.h"

namespace {

using namespace kscope;

void request(std::string_view line) {
  if (line.size() > stream::kMaxRequestBytes) return;  // the server reads no more
  auto r = stream::parse_request(line);
  if (!r) return;
  std::string again = stream::request_line(*r);
  again.pop_back();  // its newline
  auto back = stream::parse_request(again);
  if (!back || !(*back == *r)) std::abort();
  flows::FlowRecord rec;
  rec.key = flows::flow_key(parse_ip("10.0.0.1"), 40000, parse_ip("10.0.0.2"), 443, 6,
                            KS_FLOW_EGRESS, KS_FLOW_POINT_TC, 3);
  (void)r->filters.passes(rec);
  (void)r->filters.passes_event(42, "curl", "NO_SOCKET");
}

void server_line(std::string_view line) {
  for (auto f : {stream::OutputFormat::compact, stream::OutputFormat::json,
                 stream::OutputFormat::table}) {
    stream::LineFormatter formatter(f);
    (void)formatter.format(line);
    (void)formatter.format(line);  // the table's header only once
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1)
    server_line(rest);
  else
    request(rest);
  return 0;
}
