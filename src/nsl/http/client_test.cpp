// The outbound client against a real nsl server on loopback: bodies, headers, deadlines,
// refused connections, size limits, and its metrics.
#include "nsl/http/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include "nsl/http/jsonrpc.hpp"
#include "nsl/http/testing/local_server.hpp"

namespace nsl::http {
namespace {

using namespace std::chrono_literals;

void routes(Router& r, Health&) {
  r.add({Verb::post, "/echo", "test", "",
         [](Context& ctx) -> asio::awaitable<Response> {
           nlohmann::json j{{"body", ctx.request.body()},
                            {"content_type", std::string(ctx.request[Field::content_type])},
                            {"x_test", std::string(ctx.request["X-Test"])}};
           co_return json_response(201, j.dump());
         },
         true});
  // A JSON-RPC node whose answer to "deep" nests 600 levels.
  r.add({Verb::post, "/rpc", "test", "",
         [](Context& ctx) -> asio::awaitable<Response> {
           const auto deep = nlohmann::json::parse(ctx.request.body())["method"] == "deep";
           const std::string result = deep ? std::string(600, '[') + std::string(600, ']') : "[[1]]";
           co_return json_response(200, R"({"jsonrpc":"2.0","id":1,"result":)" + result + "}");
         },
         true});
  r.add({Verb::get, "/big", "test", "",
         [](Context&) -> asio::awaitable<Response> { co_return text_response(200, std::string(100'000, 'x'), "text/plain"); },
         true});
  r.add({Verb::get, "/slow", "test", "",
         [](Context&) -> asio::awaitable<Response> {
           asio::steady_timer t(co_await asio::this_coro::executor, 3s);
           co_await t.async_wait(asio::use_awaitable);
           co_return json_response(200, "{}");
         },
         true});
}

class ClientTest : public ::testing::Test {
 protected:
  testing::LocalServer server_{routes};
  metrics::Registry registry_;
  HttpClient client_{{"test-dep", 2, "nsl-test"}, registry_, server_.sink()};
};

TEST_F(ClientTest, PostsBodyAndHeadersAndReadsTheAnswer) {
  OutboundRequest req;
  req.method = "POST";
  req.url = server_.url("/echo");
  req.headers = {{"Content-Type", "application/json"}, {"X-Test", "yes"}};
  req.body = R"({"jsonrpc":"2.0"})";
  const auto res = client_.send_blocking(req);
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.content_type, "application/json");
  const auto j = nlohmann::json::parse(res.body);
  EXPECT_EQ(j["body"], req.body);
  EXPECT_EQ(j["content_type"], "application/json");
  EXPECT_EQ(j["x_test"], "yes");
}

TEST_F(ClientTest, AsyncSendResumesOnTheCallersExecutor) {
  asio::io_context ioc;
  long status = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        OutboundRequest req;
        req.url = server_.url("/health/live");
        status = (co_await client_.send(req)).status;
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(status, 200);
}

TEST_F(ClientTest, JsonRpcAnswersNestedTooDeeplyAreRefusedBeforeParsing) {
  JsonRpcClient rpc({{server_.url("/rpc")}, 5000ms, 1, 1ms}, client_);
  asio::io_context ioc;
  nlohmann::json shallow;
  std::string refused;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        shallow = co_await rpc.call("shallow", nlohmann::json::array());
        try {
          (void)co_await rpc.call("deep", nlohmann::json::array());
        } catch (const JsonRpcUnavailable& e) {
          refused = e.what();
        }
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(shallow, nlohmann::json::parse("[[1]]"));
  EXPECT_NE(refused.find("nested more than 512 levels"), std::string::npos) << refused;
}

TEST_F(ClientTest, NotFoundIsAnAnswerNotAnError) {
  OutboundRequest req;
  req.url = server_.url("/missing");
  EXPECT_EQ(client_.send_blocking(req).status, 404);
}

TEST_F(ClientTest, DeadlineGivesATransientTimeout) {
  OutboundRequest req;
  req.url = server_.url("/slow");
  req.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  try {
    client_.send_blocking(req);
    FAIL();
  } catch (const OutboundError& e) {
    EXPECT_EQ(e.kind(), OutboundError::Kind::timeout);
    EXPECT_TRUE(e.transient());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(ClientTest, RefusedConnectionIsAConnectError) {
  OutboundRequest req;
  req.url = "http://127.0.0.1:1/";
  try {
    client_.send_blocking(req);
    FAIL();
  } catch (const OutboundError& e) {
    EXPECT_EQ(e.kind(), OutboundError::Kind::connect);
  }
}

TEST_F(ClientTest, ResponsesAreSizeLimited) {
  OutboundRequest req;
  req.url = server_.url("/big");
  req.max_response_bytes = 10'000;
  try {
    client_.send_blocking(req);
    FAIL();
  } catch (const OutboundError& e) {
    EXPECT_EQ(e.kind(), OutboundError::Kind::too_large);
  }
  req.max_response_bytes = 200'000;
  EXPECT_EQ(client_.send_blocking(req).body.size(), 100'000u);
}

TEST_F(ClientTest, OnlyHttpAndHttpsAreFetched) {
  OutboundRequest req;
  req.url = "file:///etc/passwd";
  try {
    client_.send_blocking(req);
    FAIL();
  } catch (const OutboundError& e) {
    EXPECT_EQ(e.kind(), OutboundError::Kind::invalid_url);
  }
}

TEST_F(ClientTest, MetricsCountOutcomesPerDependency) {
  OutboundRequest ok;
  ok.url = server_.url("/health/live");
  client_.send_blocking(ok);
  client_.send_blocking(ok);
  OutboundRequest refused;
  refused.url = "http://127.0.0.1:1/";
  EXPECT_THROW(client_.send_blocking(refused), OutboundError);
  const auto text = registry_.render();
  EXPECT_NE(text.find(R"(nsl_outbound_requests_total{dependency="test-dep",outcome="200"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(nsl_outbound_requests_total{dependency="test-dep",outcome="connect_error"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(nsl_outbound_request_duration_seconds_count{dependency="test-dep"} 3)"), std::string::npos);
}

}  // namespace
}  // namespace nsl::http
