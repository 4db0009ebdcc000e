// profile_known (profile_known.c) as trace profile's unit and privileged tests drive it: started
// with pipes on its stdin and stdout, its pid and function addresses read back, then told to
// burn its CPU time, and kept alive until end() so that its mappings can be symbolized.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

extern char** environ;

namespace kscope::test {

class ProfileKnown {
 public:
  // `dir`: where the testprogs are; USER_MS and KERNEL_MS of CPU time, burnt after go().
  ProfileKnown(const std::string& dir, uint64_t user_ms, uint64_t kernel_ms) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) return;
    if (pipe2(out, O_CLOEXEC) != 0) {
      close(in[0]);
      close(in[1]);
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::string prog = dir + "/profile_known", u = std::to_string(user_ms),
                k = std::to_string(kernel_ms);
    char* argv[] = {prog.data(), u.data(), k.data(), nullptr};
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to_child_ = in[1];
    from_child_ = fdopen(out[0], "r");
    int reported = 0;
    void *spin = nullptr, *main = nullptr;
    char line[64];
    if (pid_ > 0 && (!from_child_ || !std::fgets(line, sizeof(line), from_child_) ||
                     std::sscanf(line, "%d %p %p", &reported, &spin, &main) != 3 ||
                     reported != pid_)) {
      end();
      pid_ = -1;
    }
    spin_ = reinterpret_cast<uint64_t>(spin);
    main_ = reinterpret_cast<uint64_t>(main);
  }
  ~ProfileKnown() {
    end();
    if (from_child_) std::fclose(from_child_);
  }
  ProfileKnown(const ProfileKnown&) = delete;
  ProfileKnown& operator=(const ProfileKnown&) = delete;

  pid_t pid() const { return pid_; }
  uint64_t spin_addr() const { return spin_; }
  uint64_t main_addr() const { return main_; }
  // Starts the burn.
  bool go() { return pid_ > 0 && write(to_child_, "go\n", 3) == 3; }
  // Whether the burn is over (the child printed "done") within `timeout_ms` (-1: waits).
  bool done(int timeout_ms) {
    pollfd p{fileno(from_child_), POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return false;
    char line[16];
    done_ = std::fgets(line, sizeof(line), from_child_) && std::strcmp(line, "done\n") == 0;
    return true;
  }
  // Whether the last done() saw "done", not the end of the child's output.
  bool burnt() const { return done_; }
  // Lets the child exit (at the end of its stdin) and reaps it; returns its exit status.
  int end() {
    if (to_child_ >= 0) close(to_child_);
    to_child_ = -1;
    if (pid_ <= 0 || reaped_) return status_;
    int st = 0;
    waitpid(pid_, &st, 0);
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  FILE* from_child_ = nullptr;
  uint64_t spin_ = 0, main_ = 0;
  bool reaped_ = false, done_ = false;
  int status_ = -1;
};

}  // namespace kscope::test
