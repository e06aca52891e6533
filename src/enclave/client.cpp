#include "nsl/enclave/client.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nsl::enclave {
namespace {

using nlohmann::json;

// The requests that must not be repeated after a connection failed midway.
bool retryable(const json& request) { return request.value("op", "") != "rotate_root"; }

}  // namespace

EnclaveClient::EnclaveClient(ClientOptions options, metrics::Registry& registry, log::Sink& logs)
    : options_(std::move(options)),
      log_(logs.get("enclave.client")),
      requests_(registry.counter("nsl_enclave_requests_total", "Requests to the enclave by operation and outcome.",
                                 {"op", "outcome"})),
      duration_(registry.histogram("nsl_enclave_request_duration_seconds", "Duration of requests to the enclave.")
                    .with({})),
      pool_("enclave", options_.threads, registry) {}

EnclaveClient::~EnclaveClient() {
  pool_.join();
  for (const int fd : idle_) ::close(fd);
}

int EnclaveClient::checkout() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      const int fd = idle_.back();
      idle_.pop_back();
      return fd;
    }
  }
  const int fd = connect_unix(options_.socket_path);
  if (fd < 0) throw EnclaveUnavailable("cannot connect to the enclave at " + options_.socket_path + ": " + std::strerror(errno));
  set_timeouts(fd, options_.timeout);
  const json hello{{"op", "hello"}, {"token", crypto::to_hex(options_.token)}, {"version", kProtocolVersion}};
  const auto reply = write_frame(fd, hello.dump()) ? read_frame(fd) : std::nullopt;
  const auto j = reply ? json::parse(*reply, nullptr, false) : json();
  if (!j.is_object() || !j.value("ok", false)) {
    ::close(fd);
    const auto message = j.is_object() && j.contains("error") ? j["error"].value("message", "") : "no answer";
    throw EnclaveUnavailable("the enclave refused the connection: " + message);
  }
  return fd;
}

void EnclaveClient::checkin(int fd) {
  std::lock_guard lock(mutex_);
  idle_.push_back(fd);
}

json EnclaveClient::exchange(const json& request) {
  const auto body = request.dump();
  for (int attempt = 0;; ++attempt) {
    const int fd = checkout();
    auto reply = write_frame(fd, body) ? read_frame(fd) : std::nullopt;
    if (!reply) {
      ::close(fd);
      // The enclave closed an idle connection or restarted: once more on a fresh connection.
      if (attempt == 0 && retryable(request)) continue;
      throw EnclaveUnavailable("the enclave did not answer");
    }
    checkin(fd);
    auto j = json::parse(*reply, nullptr, false);
    if (!j.is_object()) throw EnclaveUnavailable("the enclave answered something that is not JSON");
    return j;
  }
}

json EnclaveClient::call_blocking(const json& request) {
  const auto op = request.value("op", "");
  const auto started = std::chrono::steady_clock::now();
  std::string outcome = "ok";
  try {
    auto j = exchange(request);
    duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!j.value("ok", false)) {
      const auto& err = j.contains("error") && j["error"].is_object() ? j["error"] : json::object();
      outcome = err.value("code", "internal");
      requests_.with({op, outcome}).inc();
      throw EnclaveError(outcome, err.value("message", "the enclave refused the request"));
    }
    requests_.with({op, outcome}).inc();
    j.erase("ok");
    return j;
  } catch (const EnclaveUnavailable& e) {
    requests_.with({op, "unavailable"}).inc();
    log_.warn("enclave unavailable", {{"op", op}, {"error", e.what()}});
    throw;
  }
}

asio::awaitable<json> EnclaveClient::call(json request) {
  // The lambda captures a pointer only: GCC 12 mishandles coroutine parameters holding objects.
  const json* req = &request;
  auto r = co_await pool_.run([this, req] { return call_blocking(*req); });
  co_return r;
}

asio::awaitable<SealedKey> EnclaveClient::create_key(std::string kind, std::string key_ref, bool exportable) {
  json request{{"op", "create_key"}, {"kind", kind}, {"key_ref", key_ref}, {"exportable", exportable}};
  const auto r = co_await call(std::move(request));
  SealedKey key{std::move(kind), std::move(key_ref), crypto::from_hex(r.at("sealed").get<std::string>()).value(),
                crypto::from_hex(r.at("public_key").get<std::string>()).value()};
  co_return key;
}

asio::awaitable<EnclaveClient::Signature> EnclaveClient::sign(const SealedKey& key, crypto::Bytes digest_or_message) {
  json request{{"op", "sign"}, {"kind", key.kind}, {"key_ref", key.key_ref}, {"sealed", crypto::to_hex(key.sealed)}};
  request[key.kind == "ed25519" ? "message" : "digest"] = crypto::to_hex(digest_or_message);
  const auto r = co_await call(std::move(request));
  Signature s{crypto::from_hex(r.at("signature").get<std::string>()).value(), r.value("recovery_id", -1)};
  co_return s;
}

}  // namespace nsl::enclave
