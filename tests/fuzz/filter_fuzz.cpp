// libFuzzer target: filters as users type them. The first input byte picks the kind:
//  - `kscope trace TOOL` flags: a tool and its flags with values from the input, whose clauses
//    and pipelines are built as the CLI builds them, then run on a record from the input;
//  - `kscope observe`/`kscope flows` filter flags (--ip CIDR, --port, --protocol, --pid,
//    --comm, --drop-reason, --not, --since): a request the client takes must reach the
//    collector unchanged through the wire protocol.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "exporters/stream/observe_client.h"
#include "exporters/stream/stream_protocol.h"
#include "fuzz_sink.h"

namespace {

using namespace kscope;

void tool_flags(FuzzedDataProvider& in) {
  const auto tools = all_tools();
  const Tool& tool = *tools[in.ConsumeIntegralInRange<size_t>(0, tools.size() - 1)];
  ToolArgs args(tool.flags());
  if (tool.flags().empty()) return;
  for (int n = in.ConsumeIntegralInRange(1, 4); n > 0; --n) {
    size_t i = in.ConsumeIntegralInRange<size_t>(0, tool.flags().size() - 1);
    const FlagSpec& spec = tool.flags()[i];
    ToolArgs::Slot& slot = args.slot_at(i);
    slot.on = true;
    // CLI11 keeps numbers inside the flag's range before the tool sees them.
    if (spec.kind == FlagKind::number)
      slot.number = in.ConsumeIntegralInRange<uint64_t>(spec.min, spec.max);
    // A flag that names a file to write (profile --svg FILE) would have the target write
    // files named by its inputs wherever it runs: left off.
    if (spec.kind == FlagKind::text && spec.help.find("FILE") != std::string_view::npos) {
      slot.on = false;
      continue;
    }
    if (spec.kind == FlagKind::text) slot.text = in.ConsumeRandomLengthString(256);
  }
  Filter filter;
  if (!tool.add_clauses(args, filter)) return;
  Output out(fuzz::dev_null());
  std::vector<uint8_t> bytes = in.ConsumeRemainingBytes<uint8_t>();
  std::span<const std::byte> record = std::as_bytes(std::span(bytes));
  for (const TraceOptions* o : {&fuzz::kJson, &fuzz::kTable}) {
    auto sink = tool.sink(*o, out, args, filter, /*live=*/false);
    if (!sink) continue;
    (*sink)->on_record(record);
  }
  out.flush();
}

void observe_flags(FuzzedDataProvider& in) {
  static const char* const kNames[] = {"ip",  "from-ip", "to-ip",      "port",
                                       "protocol", "pid", "comm", "drop-reason"};
  stream::ObserveOptions o;
  o.follow = in.ConsumeBool();
  if (in.ConsumeBool()) o.last = in.ConsumeIntegral<uint64_t>();
  if (in.ConsumeBool()) o.since = in.ConsumeRandomLengthString(64);
  for (int n = in.ConsumeIntegralInRange(0, 6); n > 0; --n) {
    stream::FilterFlag f;
    f.name = in.PickValueInArray(kNames);
    f.negated = in.ConsumeBool();
    f.value = in.ConsumeRandomLengthString(64);
    o.filters.push_back(std::move(f));
  }
  constexpr uint64_t kNow = 1'780'000'000'000'000'000;  // 2026-05-28, in ns
  auto r = stream::build_request(o, kNow);
  if (!r) return;
  std::string line = stream::request_line(*r);
  line.pop_back();
  auto back = stream::parse_request(line);
  if (!back || !(*back == *r)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool())
    tool_flags(in);
  else
    observe_flags(in);
  return 0;
}
