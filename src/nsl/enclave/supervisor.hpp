#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/crypto/bytes.hpp"

namespace nsl::enclave {

struct SupervisorOptions {
  std::string binary;  // nsl-enclave
  std::string socket_path;
  std::string sealing_key_path;
  std::size_t max_connections = 64;
  std::chrono::milliseconds ready_timeout{10'000};
  std::string output_path;  // where its stdout and stderr go; empty: this process's
};

/// Runs nsl-enclave as a child of this process: a fresh per-boot token handed over on a pipe
/// (never on the command line or in the environment), the child accepting only this process,
/// and a restart with back-off (0.1 s doubling to 5 s) whenever it dies. Exports
/// `nsl_enclave_restarts_total` and `nsl_enclave_up`.
class Supervisor {
 public:
  Supervisor(SupervisorOptions options, metrics::Registry& registry, log::Logger log);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Starts the enclave and waits until it answers. Throws StartupError, with the reason, when it
  /// does not come up (its own error is in the log above).
  void start();
  /// Stops it (SIGTERM, then SIGKILL after 5 s) and stops restarting it.
  void stop();

  const crypto::Bytes& token() const { return token_; }
  pid_t pid() const { return pid_.load(); }

 private:
  pid_t spawn();
  bool wait_ready(pid_t pid, std::string& why);
  void watch();

  SupervisorOptions options_;
  metrics::Counter& restarts_;
  metrics::Gauge& up_;
  log::Logger log_;
  crypto::Bytes token_;
  std::atomic<pid_t> pid_{-1};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable stopped_;
  std::thread watcher_;
};

/// The default binary: `nsl-enclave` beside the running program.
std::string default_enclave_binary();

}  // namespace nsl::enclave
