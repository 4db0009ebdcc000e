// --record files: a header, then ring buffer records framed as [u32 length, little-endian]
// [record bytes]. A replay feeds them to the same sink the live ring buffer feeds: the
// pipeline without the kernel.
//
// Header (40 bytes, little-endian): magic "KSCOPERC", u32 file format version, u32 probe ABI
// version (KS_ABI_VERSION), i64 wall-clock minus boot-clock offset of the recording boot (so
// a replay elsewhere shows the recorded wall time), char[16] the tool that recorded it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "base/record_sink.h"
#include "base/result.h"

namespace kscope {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

struct RecordFileHeader {
  uint32_t abi_version = 0;
  int64_t boot_wall_offset_ns = 0;
  std::string tool;
};

inline constexpr size_t kRecordFileHeaderSize = 40;

// An open replay file whose header has been checked; records() feeds each record to the sink
// and returns how many.
class ReplayFile {
 public:
  static Result<ReplayFile> open(const std::string& path);
  // The same, over bytes already in memory (the fuzz target's entry point).
  static Result<ReplayFile> from_memory(std::span<const std::byte> bytes);
  const RecordFileHeader& header() const { return header_; }
  Result<size_t> records(RecordSink& sink);

 private:
  ReplayFile(FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  Result<void> read_header();
  File file_;
  std::string path_;
  RecordFileHeader header_;
};

// Appends records to a file for a later replay (trace --record).
class RecordWriter {
 public:
  // The header carries this build's KS_ABI_VERSION, the recording boot's wall-clock offset
  // and the tool's name.
  static Result<RecordWriter> create(const std::string& path, std::string_view tool,
                                     int64_t boot_wall_offset_ns);
  void write(std::span<const std::byte> record);
  // Flushes; the error names the first failed write (a full disk must not lose data quietly).
  Result<void> close();

 private:
  RecordWriter(FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  File file_;
  std::string path_;
  int error_ = 0;
};

}  // namespace kscope
