// Recorded ring buffer records, framed as [u32 length, little-endian][record bytes]. A replay
// feeds them to the same sink the live ring buffer feeds: the pipeline without the kernel.
#pragma once

#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "bpf/result.h"
#include "pipeline/record_sink.h"

namespace kscope {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

// An open replay file; records() feeds each record to the sink and returns how many.
class ReplayFile {
 public:
  static Result<ReplayFile> open(const std::string& path);
  Result<size_t> records(RecordSink& sink);

 private:
  ReplayFile(FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  File file_;
  std::string path_;
};

// Appends records to a file for a later replay (trace --record).
class RecordWriter {
 public:
  static Result<RecordWriter> create(const std::string& path);
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
