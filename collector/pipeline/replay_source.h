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

// Feeds every record of the file to the sink; returns how many.
Result<size_t> replay_file(const std::string& path, RecordSink& sink);

// Appends records to a file for a later replay (trace --record).
class RecordWriter {
 public:
  static Result<RecordWriter> create(const std::string& path);
  void write(std::span<const std::byte> record);

 private:
  struct Close {
    void operator()(FILE* f) const { std::fclose(f); }
  };
  explicit RecordWriter(FILE* f) : file_(f) {}
  std::unique_ptr<FILE, Close> file_;
};

}  // namespace kscope
