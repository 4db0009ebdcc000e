#include "pipeline/replay_source.h"

#include <cerrno>
#include <cstring>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace kscope {

namespace {

std::unexpected<Error> file_error(std::string what, int err) {
  return fail(fmt::format("{}: {}", what, std::strerror(err)),
              "check the path and its permissions", err);
}

}  // namespace

Result<ReplayFile> ReplayFile::open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return file_error(fmt::format("open replay file {}", path), errno);
  return ReplayFile(f, path);
}

Result<size_t> ReplayFile::records(RecordSink& sink) {
  std::vector<std::byte> record;
  size_t n = 0;
  for (;;) {
    unsigned char len_le[4];
    size_t got = std::fread(len_le, 1, sizeof(len_le), file_.get());
    if (got == 0) break;
    if (got != sizeof(len_le))
      return fail(fmt::format("{}: record {} has a cut length prefix", path_, n + 1),
                  "the file was cut short; replay a complete --record file");
    uint32_t len = len_le[0] | len_le[1] << 8 | len_le[2] << 16 | uint32_t{len_le[3]} << 24;
    if (len > (64u << 20))
      return fail(fmt::format("{}: record {} claims {} bytes", path_, n + 1, len),
                  "this is not a file written by --record");
    record.resize(len);
    if (len && std::fread(record.data(), 1, len, file_.get()) != len)
      return fail(fmt::format("{}: record {} is cut short", path_, n + 1),
                  "the file was cut short; replay a complete --record file");
    sink.on_record(record);
    ++n;
  }
  if (std::ferror(file_.get())) return file_error(fmt::format("read {}", path_), errno);
  return n;
}

Result<RecordWriter> RecordWriter::create(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return file_error(fmt::format("create record file {}", path), errno);
  return RecordWriter(f, path);
}

void RecordWriter::write(std::span<const std::byte> record) {
  uint32_t len = record.size();
  const unsigned char len_le[4] = {static_cast<unsigned char>(len), static_cast<unsigned char>(len >> 8),
                                   static_cast<unsigned char>(len >> 16),
                                   static_cast<unsigned char>(len >> 24)};
  if (std::fwrite(len_le, 1, sizeof(len_le), file_.get()) != sizeof(len_le) ||
      (!record.empty() && std::fwrite(record.data(), 1, record.size(), file_.get()) != record.size()))
    if (!error_) error_ = errno ? errno : EIO;
}

Result<void> RecordWriter::close() {
  if (std::fflush(file_.get()) != 0 && !error_) error_ = errno;
  if (error_) return file_error(fmt::format("write record file {}", path_), error_);
  return {};
}

}  // namespace kscope
