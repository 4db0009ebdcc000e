#include "bpf/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <bpf/libbpf.h>

namespace kscope::log {

void append_capture(std::string_view msg);

namespace {

std::atomic<int> verbosity{0};
thread_local LibbpfCapture* capture = nullptr;

const char* prefix(Level level) {
  switch (level) {
    case Level::error: return "kscope: error: ";
    case Level::warn: return "kscope: warning: ";
    case Level::info: return "kscope: ";
    case Level::debug: return "kscope: debug: ";
  }
  return "";
}

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  // Verifier logs run to megabytes: format without a fixed buffer.
  char* buf = nullptr;
  int n = vasprintf(&buf, format, args);
  if (n < 0) return 0;
  std::unique_ptr<char, decltype(&std::free)> owned(buf, std::free);
  std::string_view msg(buf, n);
  append_capture(msg);
  // libbpf warnings are often expected (a feature probe that fails on purpose), so they
  // show at -v; its info and debug chatter at -vv.
  Level mapped = level == LIBBPF_WARN ? Level::info : Level::debug;
  if (enabled(mapped)) {
    std::fwrite(msg.data(), 1, msg.size(), stderr);
  }
  return n;
}

}  // namespace

void append_capture(std::string_view msg) {
  if (capture) capture->text_.append(msg);
}

void set_verbosity(int v) { verbosity = v; }

bool enabled(Level level) {
  switch (level) {
    case Level::error:
    case Level::warn: return true;
    case Level::info: return verbosity >= 1;
    case Level::debug: return verbosity >= 2;
  }
  return false;
}

void write(Level level, std::string_view msg) {
  if (!enabled(level)) return;
  std::string line = fmt::format("{}{}\n", prefix(level), msg);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void install_libbpf_logger() { libbpf_set_print(libbpf_print); }

LibbpfCapture::LibbpfCapture() : outer_(capture) { capture = this; }
LibbpfCapture::~LibbpfCapture() { capture = outer_; }

std::string LibbpfCapture::last_line() const {
  std::string_view t = text_;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.remove_suffix(1);
  auto nl = t.rfind('\n');
  if (nl != std::string_view::npos) t.remove_prefix(nl + 1);
  return std::string(t);
}

}  // namespace kscope::log
