#pragma once

// Test helper: the client's generic JSON entry points, which only the typed methods use otherwise.

#include <nlohmann/json.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/enclave/client.hpp"

namespace nsl::enclave::testing {

/// Sends what no typed method sends (an unknown operation, a request the enclave must refuse),
/// through the client's batching and retries as a typed call would go.
class RawCalls {
 public:
  static asio::awaitable<nlohmann::json> call(EnclaveClient& client, nlohmann::json request) {
    return client.call(std::move(request));
  }
  static nlohmann::json call_blocking(EnclaveClient& client, const nlohmann::json& request) {
    return client.call_blocking(request);
  }
};

}  // namespace nsl::enclave::testing
