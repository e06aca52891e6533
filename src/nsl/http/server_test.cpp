// The server and pipeline over real sockets, with handlers that only a test has: a slow one
// (deadline, concurrency bound, graceful drain) and one that fails with a secret in its message.
#include "nsl/http/server.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include "nsl/http/health.hpp"
#include "nsl/http/testing/local_server.hpp"

namespace nsl::http {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
namespace beast = boost::beast;

// The routes only a test has (public: no authenticator here): a slow handler and one that fails
// with a secret in its message.
void test_routes(Router& router, Health& health, bool failing_check) {
  router.add({Verb::get, "/ok", "test", "",
              [](Context&) -> asio::awaitable<Response> { co_return json_response(200, R"({"ok":true})"); }, true});
  router.add({Verb::get, "/slow", "test", "",
              [](Context& ctx) -> asio::awaitable<Response> {
                const int ms = std::stoi(ctx.query_param("ms").value_or("100"));
                asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
                co_await t.async_wait(asio::use_awaitable);
                co_return json_response(200, R"({"slept":true})");
              },
              true});
  router.add({Verb::get, "/boom", "test", "",
              [](Context&) -> asio::awaitable<Response> {
                throw std::runtime_error("SELECT * FROM secrets WHERE password='hunter2'");
                co_return json_response(200, "{}");
              },
              true});
  if (failing_check) {
    health.add_check({"database", []() -> asio::awaitable<CheckResult> {
                        co_return CheckResult{HealthStatus::unhealthy, "the database does not answer"};
                      }});
    health.add_check({"hangs", []() -> asio::awaitable<CheckResult> {
                        asio::steady_timer t(co_await asio::this_coro::executor, 10s);
                        co_await t.async_wait(asio::use_awaitable);
                        co_return CheckResult{};
                      }});
  }
}

class TestServer : public testing::LocalServer {
 public:
  explicit TestServer(PipelineSettings settings, ServerOptions options = {}, bool failing_check = false)
      : LocalServer([failing_check](Router& r, Health& h) { test_routes(r, h, failing_check); }, std::move(settings), options) {}
  void wait_in_flight(int n) { ASSERT_TRUE(LocalServer::wait_in_flight(n)); }
};

// A plain blocking HTTP/1.1 client over its own connection.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  beast_http::response<beast_http::string_body> get(const std::string& target, Verb verb = Verb::get) {
    Request req{verb, target, 11};
    req.set(Field::host, "localhost");
    beast_http::write(stream_, req);
    beast_http::response_parser<beast_http::string_body> parser;
    if (verb == Verb::head) parser.skip(true);
    beast_http::read(stream_, buffer_, parser);
    return parser.release();
  }
  tcp::socket& socket() { return stream_.socket(); }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

nlohmann::json body(const Response& r) { return nlohmann::json::parse(r.body()); }

TEST(Server, KeepAliveServesManyRequestsOnOneConnection) {
  TestServer s({});
  Client c(s.port());
  for (int i = 0; i < 5; ++i) {
    const auto res = c.get("/ok");
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(s.server().active_connections(), 1u);
}

TEST(Server, HeadGivesHeadersWithoutBody) {
  TestServer s({});
  Client c(s.port());
  const auto res = c.get("/ok", Verb::head);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res[Field::content_length], "11");
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(c.get("/ok").body(), R"({"ok":true})");  // the connection is still in sync
}

TEST(Server, DeadlineEndsASlowHandlerWith504) {
  PipelineSettings p;
  p.service_timeout = 200ms;
  TestServer s(p);
  Client c(s.port());
  const auto started = std::chrono::steady_clock::now();
  const auto res = c.get("/slow?ms=5000");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(res.result_int(), 504u);
  EXPECT_EQ(res[Field::content_type], "application/problem+json");
  EXPECT_EQ(body(res)["type"], "https://neo-service-layer.dev/problems/timeout");
  EXPECT_EQ(c.get("/ok").result_int(), 200u);
}

TEST(Server, RequestsBeyondTheConcurrencyBoundGet503) {
  PipelineSettings p;
  p.max_concurrent_requests = 2;
  TestServer s(p);
  auto slow = [&] { return Client(s.port()).get("/slow?ms=1500").result_int(); };
  auto a = std::async(std::launch::async, slow);
  auto b = std::async(std::launch::async, slow);
  s.wait_in_flight(2);
  Client c(s.port());
  const auto res = c.get("/ok");
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_EQ(res["Retry-After"], "1");
  EXPECT_EQ(body(res)["type"], "https://neo-service-layer.dev/problems/unavailable");
  EXPECT_EQ(a.get(), 200u);
  EXPECT_EQ(b.get(), 200u);
  EXPECT_EQ(c.get("/ok").result_int(), 200u);  // capacity is back
}

TEST(Server, UnexpectedErrorsNeverLeakTheirText) {
  TestServer s({});
  Client c(s.port());
  const auto res = c.get("/boom");
  EXPECT_EQ(res.result_int(), 500u);
  EXPECT_EQ(res.body().find("hunter2"), std::string::npos);
  EXPECT_EQ(res.body().find("SELECT"), std::string::npos);
  const auto j = body(res);
  EXPECT_EQ(j["type"], "https://neo-service-layer.dev/problems/internal");
  EXPECT_EQ(j["request_id"], std::string(res["X-Request-Id"]));
}

TEST(Server, ShutdownLetsTheRequestInFlightFinishAndClosesIdleConnections) {
  TestServer s({});
  Client idle(s.port());
  EXPECT_EQ(idle.get("/ok").result_int(), 200u);  // now an idle keep-alive connection
  auto slow = std::async(std::launch::async, [&] { return Client(s.port()).get("/slow?ms=600"); });
  s.wait_in_flight(1);
  const auto started = std::chrono::steady_clock::now();
  const auto forced = s.shutdown(5s);
  const auto res = slow.get();
  EXPECT_EQ(forced, 0u);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_FALSE(res.keep_alive());  // Connection: close, the server is going away
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  // The idle connection was closed by the server.
  char byte;
  boost::system::error_code ec;
  idle.socket().read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
  // And nobody is accepted any more.
  asio::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port()), ec);
  EXPECT_TRUE(ec);
}

TEST(Server, ShutdownGraceLimitsHowLongASlowRequestIsAwaited) {
  TestServer s({});
  auto slow = std::async(std::launch::async, [&] {
    try {
      return Client(s.port()).get("/slow?ms=10000").result_int();
    } catch (const std::exception&) {
      return 0u;  // the connection was closed under it
    }
  });
  s.wait_in_flight(1);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(s.shutdown(300ms), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  (void)slow.get();
}

TEST(Server, HeaderTimeoutAnswers408AndCloses) {
  ServerOptions o;
  o.request_headers_timeout = 300ms;
  TestServer s({}, o);
  Client c(s.port());
  asio::write(c.socket(), asio::buffer(std::string("GET /ok HTTP/1.1\r\nHost: x\r\n")));  // never finished
  std::string reply;
  boost::system::error_code ec;
  asio::read(c.socket(), asio::dynamic_buffer(reply), ec);  // until the server closes
  EXPECT_NE(reply.find("HTTP/1.1 408"), std::string::npos) << reply;
  EXPECT_NE(reply.find("request-timeout"), std::string::npos) << reply;
}

TEST(Server, ReadinessListsFailingAndHungChecks) {
  TestServer s({}, {}, /*failing_check=*/true);
  Client c(s.port());
  const auto ready = c.get("/health/ready");
  EXPECT_EQ(ready.result_int(), 503u);
  EXPECT_EQ(body(ready)["failing"], (nlohmann::json{"database", "hangs"}));
  const auto full = c.get("/health");
  EXPECT_EQ(full.result_int(), 503u);
  const auto j = body(full);
  EXPECT_EQ(j["checks"]["database"]["status"], "Unhealthy");
  EXPECT_EQ(j["checks"]["hangs"]["description"], "no answer within 200 ms");
  EXPECT_EQ(c.get("/health/live").result_int(), 200u);  // the process itself is alive
}

TEST(Server, MetricsCountEveryOutcome) {
  TestServer s({});
  Client c(s.port());
  c.get("/ok");
  c.get("/ok");
  c.get("/missing");
  c.get("/boom");
  const auto text = s.registry().render();
  EXPECT_NE(text.find(R"(http_requests_total{service="test",method="GET",status="200"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(http_requests_total{service="unknown",method="GET",status="404"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(http_requests_total{service="test",method="GET",status="500"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(http_request_duration_seconds_count{service="test"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(api_active_connections{service="nsl"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace nsl::http
