#pragma once

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/http/client.hpp"

namespace nsl::http {

/// A JSON-RPC error object answered by a node: a definitive answer, not retried elsewhere.
class JsonRpcError : public std::runtime_error {
 public:
  JsonRpcError(long code, const std::string& message, std::string data)
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}
  long code() const noexcept { return code_; }
  /// The error's `data` member as the node sent it (a string, or JSON text), or empty.
  const std::string& data() const noexcept { return data_; }

 private:
  long code_;
  std::string data_;
};

/// Every endpoint failed to answer (network errors, timeouts, HTTP errors, not JSON-RPC) on
/// every attempt.
class JsonRpcUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JsonRpcOptions {
  std::vector<std::string> endpoints;         // tried in order, starting from the last that answered
  std::chrono::milliseconds timeout{10'000};  // per request
  int rounds = 3;                             // passes over every endpoint before giving up
  std::chrono::milliseconds backoff{250};     // doubled after each round, at most 5 s
};

/// JSON-RPC 2.0 over HTTP with endpoint failover, for chain nodes (Neo N3, Neo X).
class JsonRpcClient {
 public:
  JsonRpcClient(JsonRpcOptions options, HttpClient& http);
  /// One call; returns `result`. Throws JsonRpcError for an error object, JsonRpcUnavailable when
  /// no endpoint answered.
  asio::awaitable<nlohmann::json> call(const std::string& method, nlohmann::json params);

 private:
  JsonRpcOptions options_;
  HttpClient& http_;
  std::atomic<std::size_t> preferred_{0};
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace nsl::http
