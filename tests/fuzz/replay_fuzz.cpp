// libFuzzer target: one input is a whole --record file, read with ReplayFile::from_memory and
// replayed, as `trace --replay` does, through the pipelines of the tool its header names
// (with the recorded boot's wall-clock offset).
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string_view>

#include "fuzz_sink.h"
#include "render/time_format.h"
#include "sources/record_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kscope;
  static std::map<std::string_view, std::unique_ptr<fuzz::ToolPipelines>> pipelines = [] {
    std::map<std::string_view, std::unique_ptr<fuzz::ToolPipelines>> p;
    for (const Tool* t : all_tools()) p[t->info().name] = std::make_unique<fuzz::ToolPipelines>(*t);
    return p;
  }();
  auto file = ReplayFile::from_memory(std::as_bytes(std::span(data, size)));
  if (!file) return 0;
  auto it = pipelines.find(file->header().tool);
  if (it == pipelines.end()) return 0;  // the CLI refuses a file of another tool
  use_boot_wall_offset(file->header().boot_wall_offset_ns);
  (void)file->records(*it->second);
  return 0;
}
