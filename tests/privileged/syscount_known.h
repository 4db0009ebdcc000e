// syscount_known (tests/testprogs/syscount_known.c), paused until the probe is attached: it
// then makes exactly kGetppid getppid calls and kAccess access calls that fail with ENOENT.
// For the syscall tools' privileged tests (syscount, syslat).
#pragma once

#include <fcntl.h>

#include "harness.h"

namespace kscope::test {

constexpr int kGetppid = 1000, kAccess = 10;

// syscount_known, started and waiting for a byte on its stdin. The constructor returns once
// it said it is past its start-up (its own getppid() among them), so that a probe attached
// next sees none of those calls, however slowly it started (under TCG, slower than an attach).
class Paused {
 public:
  Paused() {
    int p[2], ready[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    if (pipe2(ready, O_CLOEXEC) != 0) {
      close(p[0]);
      close(p[1]);
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, p[0], 0);
    posix_spawn_file_actions_adddup2(&actions, ready[1], 1);
    std::string prog = testprog("syscount_known"), n = std::to_string(kGetppid),
                m = std::to_string(kAccess);
    char* argv[] = {prog.data(), n.data(), m.data(), nullptr};
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(p[0]);
    close(ready[1]);
    go_ = p[1];
    char byte;
    if (pid_ > 0 && read(ready[0], &byte, 1) != 1) {  // it exited before saying so
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    close(ready[0]);
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
