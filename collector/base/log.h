// One logger for kscope and libbpf. libbpf's messages are debug output: quiet unless -v.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace kscope::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

// 0: errors and warnings; 1 (-v): info and libbpf warnings; 2 (-vv): everything.
void set_verbosity(int v);
bool enabled(Level level);
void write(Level level, std::string_view msg);

// Routes libbpf's print callback into this logger. Called once at start-up.
void install_libbpf_logger();

// While alive, libbpf's messages are collected here (and still logged), so that a failed
// load or attach can report the kernel's own reason.
class LibbpfCapture {
 public:
  // quiet: an expected failure (e.g. asking for a filter that is usually not there) is
  // collected but not logged.
  explicit LibbpfCapture(bool quiet = false);
  ~LibbpfCapture();
  LibbpfCapture(const LibbpfCapture&) = delete;
  LibbpfCapture& operator=(const LibbpfCapture&) = delete;
  const std::string& text() const { return text_; }
  // The line that names the failure: libbpf's per-program summary ("prog 'x': ... failed
  // ..."), else the first line that says "failed", else the last line; trimmed.
  std::string reason() const;

 private:
  friend bool append_capture(std::string_view);
  std::string text_;
  bool quiet_;
  LibbpfCapture* outer_;
};

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace kscope::log
