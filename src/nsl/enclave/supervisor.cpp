#include "nsl/enclave/supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/enclave/protocol.hpp"

extern char** environ;

namespace nsl::enclave {
namespace {

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace

std::string default_enclave_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : self.parent_path()) / "nsl-enclave";
}

Supervisor::Supervisor(SupervisorOptions options, metrics::Registry& registry, log::Logger log)
    : options_(std::move(options)),
      restarts_(
          registry.counter("nsl_enclave_restarts_total", "Times the supervised enclave died and was started again.").with({})),
      up_(registry.gauge("nsl_enclave_up", "1 while the supervised enclave process runs.").with({})),
      log_(std::move(log)),
      token_(crypto::random_bytes(32)) {}

Supervisor::~Supervisor() { stop(); }

pid_t Supervisor::spawn() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw StartupError(std::string("enclave token pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 3);  // dup2 clears close-on-exec on fd 3
  if (!options_.output_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, options_.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  const std::string me = std::to_string(::getpid());
  const std::string max = std::to_string(options_.max_connections);
  std::vector<std::string> args{options_.binary,
                                "--socket",
                                options_.socket_path,
                                "--sealing-key",
                                options_.sealing_key_path,
                                "--token-fd",
                                "3",
                                "--peer-pid",
                                me,
                                "--max-connections",
                                max};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, options_.binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    throw StartupError("cannot start the enclave " + options_.binary + ": " + std::strerror(rc) +
                       " (Enclave:EnclavePath names its binary)");
  }
  const auto hex = crypto::to_hex(token_);
  const bool written = ::write(fds[1], hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  ::close(fds[1]);
  if (!written) log_.warn("could not hand the token to the enclave", {{"pid", pid}});
  return pid;
}

bool Supervisor::wait_ready(pid_t pid, std::string& why) {
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  const auto hello = hello_request(token_);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      why = "nsl-enclave " + describe_status(status) + " while starting (its error is logged above)";
      return false;
    }
    const int fd = connect_unix(options_.socket_path);
    if (fd >= 0) {
      set_timeouts(fd, std::chrono::milliseconds(2000));
      const auto reply = write_frame(fd, hello) ? read_frame(fd) : std::nullopt;
      ::close(fd);
      const auto j = reply ? nlohmann::json::parse(*reply, nullptr, false) : nlohmann::json();
      if (j.is_object() && j.value("ok", false)) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  why = "nsl-enclave did not answer on " + options_.socket_path + " within " + std::to_string(options_.ready_timeout.count()) +
        " ms";
  return false;
}

void Supervisor::start() {
  const pid_t pid = spawn();
  std::string why;
  if (!wait_ready(pid, why)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw StartupError(why);
  }
  pid_.store(pid);
  up_.set(1);
  log_.info("enclave started", {{"pid", pid}, {"socket", options_.socket_path}});
  watcher_ = std::thread([this] { watch(); });
}

void Supervisor::watch() {
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    int status = 0;
    const pid_t pid = pid_.load();
    if (::waitpid(pid, &status, 0) != pid) {
      if (errno == EINTR) continue;
      return;
    }
    up_.set(0);
    if (stopping_.load()) return;
    restarts_.inc();
    log_.error("enclave died; starting it again",
               {{"pid", pid}, {"status", describe_status(status)}, {"backoff_ms", backoff.count()}});
    while (!stopping_.load()) {
      {
        std::unique_lock lock(mutex_);
        if (stopped_.wait_for(lock, backoff, [this] { return stopping_.load(); })) return;
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      try {
        const pid_t next = spawn();
        std::string why;
        if (wait_ready(next, why)) {
          pid_.store(next);
          up_.set(1);
          log_.info("enclave started again", {{"pid", next}});
          backoff = std::chrono::milliseconds(100);
          break;
        }
        ::kill(next, SIGKILL);
        ::waitpid(next, nullptr, 0);
        log_.error("enclave restart failed", {{"error", why}});
      } catch (const std::exception& e) {
        log_.error("enclave restart failed", {{"error", e.what()}});
      }
    }
  }
}

void Supervisor::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true)) {
      if (watcher_.joinable()) watcher_.join();
      return;
    }
  }
  stopped_.notify_all();
  const pid_t pid = pid_.load();
  if (pid > 0) {
    ::kill(pid, SIGTERM);
    // The watcher reaps it; give it 5 s before SIGKILL.
    for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i) {
      if (!watcher_.joinable()) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
  }
  if (watcher_.joinable()) watcher_.join();
  up_.set(0);
}

}  // namespace nsl::enclave
