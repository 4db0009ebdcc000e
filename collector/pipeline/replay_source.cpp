#include "pipeline/replay_source.h"

#include <cerrno>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace kscope {

Result<size_t> replay_file(const std::string& path, RecordSink& sink) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return fail_errno(fmt::format("open replay file {}", path), errno);
  std::vector<std::byte> record;
  size_t n = 0;
  for (;;) {
    unsigned char len_le[4];
    size_t got = std::fread(len_le, 1, sizeof(len_le), f.get());
    if (got == 0) break;
    if (got != sizeof(len_le))
      return fail(fmt::format("{}: record {} has a cut length prefix", path, n + 1));
    uint32_t len = len_le[0] | len_le[1] << 8 | len_le[2] << 16 | uint32_t{len_le[3]} << 24;
    if (len > (64u << 20)) return fail(fmt::format("{}: record {} claims {} bytes", path, n + 1, len));
    record.resize(len);
    if (std::fread(record.data(), 1, len, f.get()) != len)
      return fail(fmt::format("{}: record {} is cut short", path, n + 1));
    sink.on_record(record);
    ++n;
  }
  return n;
}

Result<RecordWriter> RecordWriter::create(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return fail_errno(fmt::format("create record file {}", path), errno);
  return RecordWriter(f);
}

void RecordWriter::write(std::span<const std::byte> record) {
  uint32_t len = record.size();
  const unsigned char len_le[4] = {static_cast<unsigned char>(len), static_cast<unsigned char>(len >> 8),
                                   static_cast<unsigned char>(len >> 16),
                                   static_cast<unsigned char>(len >> 24)};
  std::fwrite(len_le, 1, sizeof(len_le), file_.get());
  std::fwrite(record.data(), 1, record.size(), file_.get());
}

}  // namespace kscope
