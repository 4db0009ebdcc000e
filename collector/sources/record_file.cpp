#include "sources/record_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/event_header.h"

namespace kscope {
namespace {

constexpr char kMagic[8] = {'K', 'S', 'C', 'O', 'P', 'E', 'R', 'C'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kToolLen = 16;

std::unexpected<Error> file_error(std::string what, int err) {
  return fail(fmt::format("{}: {}", what, std::strerror(err)),
              err == ENOSPC || err == EDQUOT
                  ? "the file system is full: free some space or record to another one"
              : err == EISDIR ? "give the file written by kscope trace --record, not a directory"
                              : "check the path and its permissions",
              err);
}

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

void put_le(unsigned char* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

}  // namespace

Result<ReplayFile> ReplayFile::open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return file_error(fmt::format("open replay file {}", path), errno);
  struct stat st {};
  if (::fstat(::fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return file_error(fmt::format("open replay file {}", path), EISDIR);
  }
  ReplayFile file(f, path);
  if (auto r = file.read_header(); !r) return std::unexpected(r.error());
  return file;
}

Result<ReplayFile> ReplayFile::from_memory(std::span<const std::byte> bytes) {
  if (bytes.empty())  // fmemopen refuses an empty buffer
    return fail("<memory>: the file ends inside its header", "replay a complete --record file");
  FILE* f = ::fmemopen(const_cast<std::byte*>(bytes.data()), bytes.size(), "rb");
  if (!f) return file_error("open in-memory replay", errno);
  ReplayFile file(f, "<memory>");
  if (auto r = file.read_header(); !r) return std::unexpected(r.error());
  return file;
}

Result<void> ReplayFile::read_header() {
  unsigned char h[kRecordFileHeaderSize];
  size_t got = std::fread(h, 1, sizeof(h), file_.get());
  if (got >= sizeof(kMagic) && std::memcmp(h, kMagic, sizeof(kMagic)) != 0)
    return fail(fmt::format("{} is not a kscope record file (no KSCOPERC header)", path_),
                "replay a file written by kscope trace --record");
  if (got != sizeof(h))
    return fail(fmt::format("{}: the file ends inside its {}-byte header", path_, sizeof(h)),
                "the file was cut short; replay a complete --record file");
  uint32_t format = le(h + 8, 4);
  header_.abi_version = le(h + 12, 4);
  header_.boot_wall_offset_ns = static_cast<int64_t>(le(h + 16, 8));
  const char* tool = reinterpret_cast<const char*>(h + 24);
  header_.tool.assign(tool, strnlen(tool, kToolLen));
  if (format != kFormatVersion || header_.abi_version != KS_ABI_VERSION)
    return fail(fmt::format("{}: record file format {} with probe ABI {}; this kscope reads "
                            "format {} with ABI {}",
                            path_, format, header_.abi_version, kFormatVersion, KS_ABI_VERSION),
                "replay it with the kscope version that recorded it");
  return {};
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
    uint32_t len = le(len_le, 4);
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

Result<RecordWriter> RecordWriter::create(const std::string& path, std::string_view tool,
                                          int64_t boot_wall_offset_ns) {
  // 0600 whatever the umask: records hold what the probes saw (command lines, paths).
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE* f = fd < 0 ? nullptr : ::fdopen(fd, "wb");
  if (!f) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return file_error(fmt::format("create record file {}", path), err);
  }
  RecordWriter w(f, path);
  unsigned char h[kRecordFileHeaderSize] = {};
  std::memcpy(h, kMagic, sizeof(kMagic));
  put_le(h + 8, kFormatVersion, 4);
  put_le(h + 12, KS_ABI_VERSION, 4);
  put_le(h + 16, static_cast<uint64_t>(boot_wall_offset_ns), 8);
  std::memcpy(h + 24, tool.data(), std::min(tool.size(), kToolLen));
  // Out at once: a file that cannot take even its header (a full disk) fails before any
  // event is shown.
  if (std::fwrite(h, 1, sizeof(h), f) != sizeof(h) || std::fflush(f) != 0)
    return file_error(fmt::format("write record file {}", path), errno ? errno : EIO);
  return w;
}

void RecordWriter::write(std::span<const std::byte> record) {
  unsigned char len_le[4];
  put_le(len_le, record.size(), 4);
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
