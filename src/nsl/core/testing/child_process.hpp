#pragma once

// Test helper: runs one test of the running test binary in a child process (to kill it at a
// moment of the parent's choosing and start another: a real process restart).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nsl::testing {

/// Starts this binary with `--gtest_filter=<test>` and the extra environment; its output goes to
/// /dev/null. Returns the child's pid.
inline pid_t spawn_test(const std::string& test, const std::vector<std::pair<std::string, std::string>>& env) {
  const auto self = std::filesystem::read_symlink("/proc/self/exe");
  const auto filter = "--gtest_filter=" + test;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execl(self.c_str(), self.c_str(), filter.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

/// Kills the child with `sig` and reaps it.
inline void kill_test(pid_t pid, int sig = SIGKILL) {
  ::kill(pid, sig);
  ::waitpid(pid, nullptr, 0);
}

/// Polls `done` every 10 ms until it holds or `timeout` passes; returns whether it held.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace nsl::testing
