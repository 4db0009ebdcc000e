#include "exporters/sinks/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace kscope::sinks {
namespace {

// Written out past this much, so a big batch does not sit in memory whole.
constexpr size_t kWriteAt = 256 << 10;

// FROM gzipped into TO, then FROM removed: how a rotated file is compressed.
Result<void> gzip_file(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return fail_errno(fmt::format("read {} to compress it", from), errno);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out < 0) {
    int err = errno;
    close(in);
    return fail_errno(fmt::format("create {}", to), err);
  }
  gzFile z = gzdopen(out, "wb");
  std::string error;
  char buf[1 << 16];
  for (ssize_t n; z && (n = read(in, buf, sizeof(buf))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      error = fmt::format("read {}: {}", from, std::strerror(errno));
      break;
    }
    if (gzwrite(z, buf, static_cast<unsigned>(n)) != n) {
      error = fmt::format("write {}: compression failed (disk full?)", to);
      break;
    }
  }
  close(in);
  if (!z) {
    close(out);
    error = fmt::format("write {}: out of memory", to);
  } else if (gzclose(z) != Z_OK && error.empty()) {
    error = fmt::format("write {}: {}", to, std::strerror(errno));
  }
  if (!error.empty()) {
    unlink(to.c_str());  // the uncompressed backup stays
    return fail(error, "check the space left on the log's file system");
  }
  unlink(from.c_str());
  return {};
}

}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::open(FileOptions options) {
  std::unique_ptr<FileSink> s(new FileSink(std::move(options)));
  if (auto o = s->open_file(); !o) return std::unexpected(o.error());
  return s;
}

FileSink::~FileSink() {
  (void)write_out();
  if (owns_fd_) close(fd_);
}

Result<void> FileSink::open_file() {
  opened_ = std::chrono::steady_clock::now();
  if (o_.path == "-") {
    fd_ = STDOUT_FILENO;
    return {};
  }
  fd_ = ::open(o_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0)
    return fail(fmt::format("open flow log {}: {}", o_.path, std::strerror(errno)),
                "check that the directory exists and is writable by the collector");
  owns_fd_ = true;
  struct stat st{};
  size_ = fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return {};
}

std::string FileSink::backup(uint32_t n) const {
  return fmt::format("{}.{}{}", o_.path, n, o_.compress ? ".gz" : "");
}

// FILE -> FILE.1 (gzipped if asked), FILE.1 -> FILE.2, ...; the oldest past max_backups goes.
Result<void> FileSink::rotate() {
  if (auto w = write_out(); !w) return w;
  close(fd_);
  owns_fd_ = false;
  fd_ = -1;
  if (o_.max_backups == 0) {
    unlink(o_.path.c_str());
  } else {
    unlink(backup(o_.max_backups).c_str());
    for (uint32_t n = o_.max_backups; n > 1; --n) rename(backup(n - 1).c_str(), backup(n).c_str());
    std::string first = fmt::format("{}.1", o_.path);
    if (rename(o_.path.c_str(), first.c_str()) != 0)
      return fail_errno(fmt::format("rotate {}", o_.path), errno);
    if (o_.compress) {
      if (auto z = gzip_file(first, backup(1)); !z) {
        if (auto o = open_file(); !o) return o;
        return z;
      }
    }
  }
  return open_file();
}

// The buffer into the file, whole lines only: a short write (a full disk) leaves part of a
// line, which is cut off again, else the next write would glue its line onto it. whole_
// counts the lines (one an item) that are in the file.
Result<void> FileSink::write_out() {
  size_t done = 0;
  int err = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  size_t kept = done;
  while (kept > 0 && buffer_.data()[kept - 1] != '\n') --kept;
  whole_ += static_cast<size_t>(std::count(buffer_.data(), buffer_.data() + kept, '\n'));
  if (kept < done && owns_fd_) {
    // O_APPEND: the torn part is at the end of the file. (Standard output cannot be cut.)
    off_t end = lseek(fd_, 0, SEEK_END);
    if (end >= 0 && ftruncate(fd_, end - static_cast<off_t>(done - kept)) != 0) err = errno;
  }
  size_ -= buffer_.size() - kept;  // size_ counted the whole buffer
  buffer_.clear();
  if (!err) return {};
  return fail(fmt::format("write flow log {}: {}", o_.path, std::strerror(err)),
              err == ENOSPC ? "the file system is full: free space or lower max_size" : "", err);
}

// Stops at the first error: the items before it are in the file whole (whole_before_error()),
// the others are not, so that the runner counts each once, written or lost.
Result<void> FileSink::write(std::span<const Item> batch) {
  whole_ = 0;
  if (fd_ < 0)  // a rotation could not open the next file: try again
    if (auto o = open_file(); !o) return o;
  bool rotates = o_.path != "-";
  for (const auto& item : batch) {
    size_t before = buffer_.size();
    append_item_json(buffer_, item, o_.context, o_.name, o_.fields);
    size_t line = buffer_.size() - before;
    bool too_big = o_.max_size && size_ + line > o_.max_size && size_ > 0;
    bool too_old = o_.rotate_interval.count() > 0 &&
                   std::chrono::steady_clock::now() - opened_ >= o_.rotate_interval && size_ > 0;
    if (rotates && (too_big || too_old)) {
      // The line just made opens the next file; when there is none (fd_ -1), it and the rest
      // of the batch are not written, and the error is the rotation's.
      std::string pending(buffer_.data() + before, line);
      buffer_.resize(before);
      if (auto r = rotate(); !r) {
        buffer_.clear();
        return r;
      }
      buffer_.append(pending);
      size_ = 0;
    }
    size_ += line;
    if (buffer_.size() >= kWriteAt)
      if (auto w = write_out(); !w) return w;
  }
  return write_out();
}

Result<void> FileSink::flush() { return write_out(); }

}  // namespace kscope::sinks
