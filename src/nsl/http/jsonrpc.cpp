#include "nsl/http/jsonrpc.hpp"

#include <boost/asio/this_coro.hpp>

#include "nsl/core/strings.hpp"

namespace nsl::http {
namespace {

constexpr std::size_t kMaxReplyDepth = 512;

}  // namespace

using nlohmann::json;

JsonRpcClient::JsonRpcClient(JsonRpcOptions options, HttpClient& http) : options_(std::move(options)), http_(http) {
  if (options_.endpoints.empty()) throw std::invalid_argument("no JSON-RPC endpoint configured");
}

asio::awaitable<json> JsonRpcClient::call(const std::string& method, json params) {
  const json request{{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", std::move(params)}};
  const std::string body = request.dump();
  auto backoff = options_.backoff;
  std::string last_problem = "no attempt made";
  const std::size_t n = options_.endpoints.size();
  for (int round = 0; round < options_.rounds; ++round) {
    const std::size_t first = preferred_.load();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t index = (first + k) % n;
      OutboundRequest req;
      req.method = "POST";
      req.url = options_.endpoints[index];
      req.headers = {{"Content-Type", "application/json"}};
      req.body = body;
      req.timeout = options_.timeout;
      json reply;
      try {
        const auto res = co_await http_.send(std::move(req));
        if (res.status != 200) {
          last_problem = "endpoint " + std::to_string(index) + " answered HTTP " + std::to_string(res.status);
          continue;
        }
        // A node's answer is checked before it is parsed: walking JSON nested without bound
        // would exhaust the stack (NeoVM and EVM answers nest far less than this).
        if (json_nesting_exceeds(res.body, kMaxReplyDepth)) {
          last_problem = "endpoint " + std::to_string(index) + " answered JSON nested more than " +
                         std::to_string(kMaxReplyDepth) + " levels deep";
          continue;
        }
        reply = json::parse(res.body, nullptr, false);
        if (reply.is_discarded() || !reply.is_object() || (!reply.contains("result") && !reply.contains("error"))) {
          last_problem = "endpoint " + std::to_string(index) + " answered something that is not JSON-RPC";
          continue;
        }
      } catch (const OutboundError& e) {
        // The endpoint's URL is not repeated: it may carry an API key.
        last_problem = "endpoint " + std::to_string(index) + ": " + e.what();
        if (!e.transient()) break;
        continue;
      }
      preferred_.store(index);
      if (reply.contains("error") && !reply["error"].is_null()) {
        const auto& err = reply["error"];
        std::string data;
        if (err.contains("data")) data = err["data"].is_string() ? err["data"].get<std::string>() : err["data"].dump();
        throw JsonRpcError(err.value("code", 0L), err.value("message", std::string("unknown error")), data);
      }
      json result = std::move(reply["result"]);
      co_return result;
    }
    if (round + 1 < options_.rounds) {
      asio::steady_timer pause(co_await asio::this_coro::executor, backoff);
      co_await pause.async_wait(asio::use_awaitable);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
  throw JsonRpcUnavailable("no endpoint answered " + method + " (" + last_problem + ")");
}

}  // namespace nsl::http
