#include "nsl/enclave/socket_server.hpp"

#include <openssl/crypto.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "nsl/core/errors.hpp"
#include "nsl/enclave/protocol.hpp"

namespace nsl::enclave {
namespace {

using nlohmann::json;

void refuse(int fd, const char* code, const std::string& message) {
  write_frame(fd, json{{"ok", false}, {"error", {{"code", code}, {"message", message}}}}.dump());
}

}  // namespace

SocketServer::SocketServer(SocketServerOptions options, EnclaveService& service, log::Logger log)
    : options_(std::move(options)), service_(service), log_(std::move(log)) {}

SocketServer::~SocketServer() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void SocketServer::bind() {
  const std::filesystem::path path(options_.socket_path);
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    ::chmod(path.parent_path().c_str(), 0700);
  }
  ::unlink(options_.socket_path.c_str());  // a stale socket of an earlier run
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw StartupError(std::string("enclave socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options_.socket_path.size() >= sizeof addr.sun_path)
    throw StartupError("enclave socket path is too long: " + options_.socket_path);
  std::memcpy(addr.sun_path, options_.socket_path.data(), options_.socket_path.size());
  const mode_t old = ::umask(0177);
  const int bound = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (bound != 0) throw StartupError("cannot bind the enclave socket " + options_.socket_path + ": " + std::strerror(errno));
  ::chmod(options_.socket_path.c_str(), 0600);
  if (::listen(listen_fd_, 128) != 0) throw StartupError(std::string("enclave socket listen: ") + std::strerror(errno));
}

void SocketServer::run() {
  while (!stopping_.load()) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_.load()) break;
      log_.error("enclave accept failed", {{"error", std::strerror(errno)}});
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (active_.load() >= options_.max_connections) {
      refuse(fd, "busy", "the enclave serves at most " + std::to_string(options_.max_connections) + " connections");
      ::close(fd);
      continue;
    }
    ++active_;
    std::thread([this, fd] {
      try {
        serve(fd);
      } catch (const std::exception& e) {
        log_.error("enclave connection failed", {{"error", e.what()}});
      }
      ::close(fd);
      --active_;
    }).detach();
  }
}

void SocketServer::stop() {
  stopping_.store(true);
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
}

bool SocketServer::authorised(int fd) {
  ucred peer{};
  socklen_t len = sizeof peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) return false;
  const bool uid_ok = peer.uid == options_.peer_uid;
  const bool pid_ok = !options_.peer_pid || peer.pid == *options_.peer_pid;
  if (!uid_ok || !pid_ok) {
    log_.warn("enclave connection refused: not the server process",
              {{"peer_pid", peer.pid}, {"peer_uid", peer.uid}, {"reason", uid_ok ? "process" : "user"}});
    refuse(fd, "unauthorized", "only the nsl server may use this enclave");
    return false;
  }
  set_timeouts(fd, options_.hello_timeout);
  const auto hello = read_frame(fd, 4096);
  json j = hello ? json::parse(*hello, nullptr, false) : json();
  const auto token = j.is_object() && j.value("op", "") == "hello" && j.contains("token") && j["token"].is_string()
                         ? crypto::from_hex(j["token"].get<std::string>())
                         : std::nullopt;
  const bool token_ok =
      token && token->size() == options_.token.size() && CRYPTO_memcmp(token->data(), options_.token.data(), token->size()) == 0;
  if (!token_ok) {
    log_.warn("enclave connection refused: wrong or missing token", {{"peer_pid", peer.pid}});
    refuse(fd, "unauthorized", "the connection token is missing or wrong");
    return false;
  }
  if (j.value("version", 0) != kProtocolVersion) {
    refuse(fd, "bad_request", "protocol version " + std::to_string(kProtocolVersion) + " is required");
    return false;
  }
  return write_frame(fd, json{{"ok", true}, {"mode", service_.identity().mode}, {"protocol", kProtocolVersion}}.dump());
}

void SocketServer::serve(int fd) {
  if (!authorised(fd)) return;
  set_timeouts(fd, options_.idle_timeout);
  while (!stopping_.load()) {
    const auto frame = read_frame(fd);
    if (!frame) return;  // closed, idle too long, or an oversized frame: drop the connection
    if (!frame->empty() && static_cast<unsigned char>((*frame)[0]) == kItemsFrame) {
      if (!write_frame(fd, service_.handle_items(*frame))) return;
      continue;
    }
    const auto request = json::parse(*frame, nullptr, false);
    json response = request.is_discarded()
                        ? json{{"ok", false}, {"error", {{"code", "bad_request"}, {"message", "the request is not JSON"}}}}
                        : service_.handle(request);
    if (!write_frame(fd, response.dump())) return;
  }
}

}  // namespace nsl::enclave
