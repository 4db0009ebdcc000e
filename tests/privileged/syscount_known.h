// syscount_known (tests/testprogs/syscount_known.c), paused until the probe is attached: it
// then makes exactly kGetppid getppid calls and kAccess access calls that fail with ENOENT.
// For the syscall tools' privileged tests (syscount, syslat).
#pragma once

#include <fcntl.h>

#include "harness.h"

namespace kscope::test {

constexpr int kGetppid = 1000, kAccess = 10;

// syscount_known, started and waiting for a byte on its stdin.
class Paused {
 public:
  Paused() {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, p[0], 0);
    std::string prog = testprog("syscount_known"), n = std::to_string(kGetppid),
                m = std::to_string(kAccess);
    char* argv[] = {prog.data(), n.data(), m.data(), nullptr};
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(p[0]);
    go_ = p[1];
  }
  ~Paused() {
    if (go_ >= 0) close(go_);  // an unreleased child reads EOF and exits
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  Paused(const Paused&) = delete;
  Paused& operator=(const Paused&) = delete;

  pid_t pid() const { return pid_; }
  // Lets it make its calls; its exit status once it is done.
  int release() {
    int status = -1;
    if (write(go_, "x", 1) != 1 || waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
};

}  // namespace kscope::test
