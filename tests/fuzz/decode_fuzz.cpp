// libFuzzer target: one input is one ring buffer record, decoded and rendered by every tool
// in the registry (a new tool is fuzzed without a new target). Malformed records must be
// refused with an error, never read out of bounds or crash a renderer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fuzz_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kscope;
  static std::vector<std::unique_ptr<fuzz::ToolPipelines>> pipelines = [] {
    std::vector<std::unique_ptr<fuzz::ToolPipelines>> p;
    for (const Tool* t : all_tools()) p.push_back(std::make_unique<fuzz::ToolPipelines>(*t));
    return p;
  }();
  // A copy the size of the input, so that ASan sees any read past its end.
  std::vector<std::byte> record(reinterpret_cast<const std::byte*>(data),
                                reinterpret_cast<const std::byte*>(data) + size);
  for (auto& p : pipelines) p->on_record(record);
  return 0;
}
