// Shared by the privileged tests: the privilege check that skips with a reason, the testprog
// runner that drains a probe's ring buffer while the program runs, and TSV parsing.
#pragma once

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpf/capabilities.h"
#include "bpf/log.h"
#include "bpf/ring_buffer.h"
#include "pipeline/record_sink.h"
#include "sources/live_probe.h"

extern char** environ;

namespace kscope::test {

// Skips (never passes) when this process cannot load tracing probes, and says why.
#define KSCOPE_REQUIRE_PRIVILEGES()                                                     \
  do {                                                                                \
    if (auto p = ::kscope::require_tracing_privileges(); !p)                          \
      GTEST_SKIP() << "privileged test skipped: " << p.error().message << " (" << p.error().hint \
                   << ")";                                                            \
  } while (0)

inline std::string testprog(const std::string& name) {
  return std::string(KSCOPE_TESTPROGS_DIR) + "/" + name;
}

inline std::string temp_dir() {
  char tmpl[] = "/tmp/kscope-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "";
}

template <class Decode>
class CollectSink final : public RecordSink {
 public:
  using Event = typename std::invoke_result_t<Decode, std::span<const std::byte>>::value_type;
  explicit CollectSink(Decode decode) : decode_(std::move(decode)) {}
  void on_record(std::span<const std::byte> record) override {
    auto e = decode_(record);
    if (e) events.push_back(std::move(*e));
    else ++malformed;
  }
  std::vector<Event> events;
  size_t malformed = 0;

 private:
  Decode decode_;
};

// Runs argv to completion while draining the ring buffer (or, with drain false, without
// draining until it has exited); returns its exit status.
inline int run_while_draining(const std::vector<std::string>& argv, RingBuffer& rb,
                              bool drain = true) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (drain) (void)rb.consume();
    usleep(5000);
  }
  (void)rb.consume();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string::npos ? std::string::npos : i - start));
    if (i == std::string::npos) return out;
    start = i + 1;
  }
}

inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) rows.push_back(split(line, '\t'));
  return rows;
}

}  // namespace kscope::test
