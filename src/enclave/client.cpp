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
      pool_("enclave", options_.threads, registry),
      batcher_(pool_, [this](std::vector<Call*>& calls) { run_batch(calls); }, options_.max_batch,
               static_cast<int>(options_.threads)) {}

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

json EnclaveClient::exchange(const std::string& body, bool retry) {
  for (int attempt = 0;; ++attempt) {
    const int fd = checkout();
    auto reply = write_frame(fd, body) ? read_frame(fd) : std::nullopt;
    if (!reply) {
      ::close(fd);
      // The enclave closed an idle connection or restarted: once more on a fresh connection.
      if (attempt == 0 && retry) continue;
      throw EnclaveUnavailable("the enclave did not answer");
    }
    checkin(fd);
    auto j = json::parse(*reply, nullptr, false);
    if (!j.is_object()) throw EnclaveUnavailable("the enclave answered something that is not JSON");
    return j;
  }
}

// One answer: counted, and either the response without "ok" or the enclave's refusal thrown.
json EnclaveClient::finish(const std::string& op, json answer) {
  if (!answer.is_object() || !answer.value("ok", false)) {
    const auto& err = answer.is_object() && answer.contains("error") && answer["error"].is_object() ? answer["error"] : json::object();
    const auto outcome = err.value("code", "internal");
    requests_.with({op, outcome}).inc();
    throw EnclaveError(outcome, err.value("message", "the enclave refused the request"));
  }
  requests_.with({op, "ok"}).inc();
  answer.erase("ok");
  return answer;
}

json EnclaveClient::call_blocking(const json& request) {
  const auto op = request.value("op", "");
  const auto started = std::chrono::steady_clock::now();
  try {
    auto j = exchange(request.dump(), retryable(request));
    duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return finish(op, std::move(j));
  } catch (const EnclaveUnavailable& e) {
    requests_.with({op, "unavailable"}).inc();
    log_.warn("enclave unavailable", {{"op", op}, {"error", e.what()}});
    throw;
  }
}

void EnclaveClient::run_batch(std::vector<Call*>& calls) {
  // Frames of about 1 MiB at most: a large request (a storage value) travels alone.
  constexpr std::size_t kFrameBudget = 1 << 20;
  std::vector<Call*> frame;
  std::vector<std::string> bodies;
  std::size_t size = 0;
  for (auto* call : calls) {
    auto body = call->request.dump();
    if (!frame.empty() && size + body.size() > kFrameBudget) {
      send_batch(frame, bodies);
      frame.clear();
      bodies.clear();
      size = 0;
    }
    size += body.size();
    frame.push_back(call);
    bodies.push_back(std::move(body));
  }
  if (!frame.empty()) send_batch(frame, bodies);
}

void EnclaveClient::send_batch(std::vector<Call*>& calls, const std::vector<std::string>& bodies) {
  const auto started = std::chrono::steady_clock::now();
  try {
    if (calls.size() == 1) {
      const auto op = calls[0]->request.value("op", "");
      auto answer = exchange(bodies[0], true);
      duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      try {
        calls[0]->response = finish(op, std::move(answer));
      } catch (...) {
        calls[0]->error = std::current_exception();
      }
      return;
    }
    std::string frame = R"({"op":"batch","items":[)";
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      if (i > 0) frame += ',';
      frame += bodies[i];
    }
    frame += "]}";
    auto answer = exchange(frame, true);
    duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    const auto results = answer.find("results");
    if (!answer.value("ok", false) || results == answer.end() || !results->is_array() || results->size() != calls.size()) {
      throw EnclaveUnavailable("the enclave answered a batch of " + std::to_string(calls.size()) + " requests wrongly");
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
      try {
        calls[i]->response = finish(calls[i]->request.value("op", ""), std::move((*results)[i]));
      } catch (...) {
        calls[i]->error = std::current_exception();
      }
    }
  } catch (const EnclaveUnavailable& e) {
    log_.warn("enclave unavailable", {{"requests", calls.size()}, {"error", e.what()}});
    for (auto* call : calls) {
      requests_.with({call->request.value("op", ""), "unavailable"}).inc();
      if (!call->response && !call->error) call->error = std::current_exception();
    }
  }
}

asio::awaitable<json> EnclaveClient::call(json request) {
  if (!retryable(request)) {
    // Never batched: a lost answer must not make it run twice.
    const json* req = &request;
    auto r = co_await pool_.run([this, req] { return call_blocking(*req); });
    co_return r;
  }
  Call c;
  c.request = std::move(request);
  auto done = co_await batcher_.submit(std::move(c));
  if (done.error) std::rethrow_exception(done.error);
  co_return std::move(*done.response);
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
