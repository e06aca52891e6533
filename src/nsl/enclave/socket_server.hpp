#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>

#include "nsl/core/logging.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/enclave/service.hpp"

namespace nsl::enclave {

struct SocketServerOptions {
  std::string socket_path;
  uid_t peer_uid = 0;                // the only user that may connect
  std::optional<pid_t> peer_pid;     // when supervised: the only process that may connect
  crypto::Bytes token;               // the per-boot token every connection must present first
  std::size_t max_connections = 64;  // beyond it, new connections are told "busy" and closed
  std::chrono::milliseconds hello_timeout{5000};
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
};

/// Serves the enclave protocol on a Unix socket (directory 0700, socket 0600): each connection
/// on its own thread, at most max_connections at once, each checked by peer credentials
/// (SO_PEERCRED) and then by the token, requests answered one after another.
class SocketServer {
 public:
  SocketServer(SocketServerOptions options, EnclaveService& service, log::Logger log);
  ~SocketServer();
  /// Binds the socket (replacing a stale one). Throws StartupError.
  void bind();
  /// Accepts until stop().
  void run();
  void stop();

 private:
  void serve(int fd);
  bool authorised(int fd);

  SocketServerOptions options_;
  EnclaveService& service_;
  log::Logger log_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> active_{0};
};

}  // namespace nsl::enclave
