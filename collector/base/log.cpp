#include "base/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <bpf/libbpf.h>

namespace kscope::log {

bool append_capture(std::string_view msg);

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
  if (append_capture(msg)) return n;  // a quiet capture took it
  // libbpf warnings are often expected (a feature probe that fails on purpose), so they
  // show at -v; its info and debug chatter at -vv.
  Level mapped = level == LIBBPF_WARN ? Level::info : Level::debug;
  if (enabled(mapped)) {
    std::fwrite(msg.data(), 1, msg.size(), stderr);
  }
  return n;
}

}  // namespace

// Nested captures (a feature probe around a skeleton load) each see every message.
bool append_capture(std::string_view msg) {
  bool quiet = false;
  for (LibbpfCapture* c = capture; c; c = c->outer_) {
    c->text_.append(msg);
    quiet = quiet || c->quiet_;
  }
  return quiet;
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

LibbpfCapture::LibbpfCapture(bool quiet) : quiet_(quiet), outer_(capture) { capture = this; }
LibbpfCapture::~LibbpfCapture() { capture = outer_; }

std::string LibbpfCapture::reason() const {
  std::string_view text = text_;
  std::string_view first_failed, prog_failed, last;
  while (!text.empty() && prog_failed.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty()) last = line;
    if (line.find("failed") == std::string_view::npos) continue;
    if (first_failed.empty()) first_failed = line;
    if (line.find("prog '") != std::string_view::npos) prog_failed = line;
  }
  std::string_view pick = !prog_failed.empty() ? prog_failed : !first_failed.empty() ? first_failed : last;
  if (pick.starts_with("libbpf: ")) pick.remove_prefix(8);
  while (!pick.empty() && (pick.back() == '\n' || pick.back() == ' ')) pick.remove_suffix(1);
  return std::string(pick);
}

}  // namespace kscope::log
