// The flow log: NDJSON (flow_json.h) to stdout or to a file, rotated by size and by age with
// a number of backups (FILE.1 the newest), optionally gzipped as they rotate out (Tetragon's
// exporter keeps 10 MB x 5 by default; so does this).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "exporters/sinks/flow_json.h"
#include "exporters/sinks/sink.h"

namespace kscope::sinks {

struct FileOptions {
  std::string name;                         // the sink's, in its loss reports
  std::string path;                         // "-": standard output (never rotated)
  uint64_t max_size = 10ull << 20;          // rotate before a line would pass it; 0: never
  uint32_t max_backups = 5;                 // FILE.1 .. FILE.N; 0: a full file is removed
  std::chrono::seconds rotate_interval{0};  // also rotate a file this old; 0: never
  bool compress = false;                    // gzip each file as it rotates out (FILE.1.gz)
  FieldMask fields;
  Context context;
};

class FileSink final : public Sink {
 public:
  // Opens (creates, mode 0640) or appends to the file; the error names the path and errno.
  static Result<std::unique_ptr<FileSink>> open(FileOptions options);
  ~FileSink() override;

  Result<void> write(std::span<const Item> batch) override;
  Result<void> flush() override;
  size_t whole_before_error() const override { return whole_; }

 private:
  explicit FileSink(FileOptions o) : o_(std::move(o)) {}
  Result<void> open_file();
  Result<void> rotate();
  Result<void> write_out();
  std::string backup(uint32_t n) const;

  FileOptions o_;
  int fd_ = -1;
  bool owns_fd_ = false;
  uint64_t size_ = 0;  // of the open file, the buffer included
  size_t whole_ = 0;   // lines (items) of the current batch in the file whole
  std::chrono::steady_clock::time_point opened_{};
  fmt::memory_buffer buffer_;
};

}  // namespace kscope::sinks
