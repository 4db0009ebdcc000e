// libFuzzer target: one input is a `kscope collect --config` file. Whatever it holds, the
// parser gives a config or an error that names the file (and the line, where there is one),
// never a crash or a hang: YAML anchors, deep nesting, huge numbers, bad regexes included.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collect/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kscope::collect;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_config(text, "fuzz.yaml");
  // Every error says where: "fuzz.yaml" or "fuzz.yaml:LINE".
  if (!config && !config.error().message.starts_with("fuzz.yaml")) std::abort();
  return 0;
}
