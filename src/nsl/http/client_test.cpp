// The outbound client against a real nsl server on loopback: bodies, headers, deadlines,
// refused connections, size limits, and its metrics.
#include "nsl/http/client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include "nsl/http/jsonrpc.hpp"
#include "nsl/http/testing/certificates.hpp"
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

// Outbound TLS against real HTTPS servers on loopback, each with a certificate made for the case.
class OutboundTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("nsl-tls-" + std::to_string(::getpid()));
    pki_ = std::make_unique<testing::TestPki>(dir_);
  }
  static void TearDownTestSuite() {
    pki_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// The status of GET /health/live from a server presenting `issued`, or the kind of
  /// error the client refused it with.
  static std::string outcome(const testing::TestPki::Issued& issued, HttpClientOptions options,
                             const std::string& host = "127.0.0.1") {
    TlsCertificate certificate(issued.certificate, issued.key);
    testing::LocalServer server(routes, {}, {}, &certificate);
    metrics::Registry registry;
    HttpClient client(std::move(options), registry, server.sink());
    OutboundRequest req;
    req.url = server.url("/health/live", host);
    req.timeout = 5s;
    try {
      return std::to_string(client.send_blocking(req).status);
    } catch (const OutboundError& e) {
      return e.kind() == OutboundError::Kind::tls ? "tls" : std::string("other: ") + e.what();
    }
  }
  static HttpClientOptions trusting_the_test_ca() {
    HttpClientOptions o{"tls-test", 1, "nsl-test"};
    o.ca_bundle = pki_->ca();
    return o;
  }

  static inline std::filesystem::path dir_;
  static inline std::unique_ptr<testing::TestPki> pki_;
};

TEST_F(OutboundTls, AnOperatorsCaBundleIsTrustedInsteadOfTheSystems) {
  const auto good = pki_->issue("loopback", "IP:127.0.0.1,DNS:localhost");
  EXPECT_EQ(outcome(good, trusting_the_test_ca()), "200");
  EXPECT_EQ(outcome(good, trusting_the_test_ca(), "localhost"), "200");
  // Without the bundle the test CA is unknown: refused.
  EXPECT_EQ(outcome(good, {"tls-test", 1, "nsl-test"}), "tls");
}

TEST_F(OutboundTls, SelfSignedWrongHostAndExpiredCertificatesAreRefused) {
  EXPECT_EQ(outcome(pki_->issue("self", "IP:127.0.0.1", -60, testing::TestPki::kDay, true), trusting_the_test_ca()), "tls");
  EXPECT_EQ(outcome(pki_->issue("elsewhere", "DNS:elsewhere.example"), trusting_the_test_ca()), "tls");
  EXPECT_EQ(outcome(pki_->issue("expired", "IP:127.0.0.1", -2 * testing::TestPki::kDay, -testing::TestPki::kDay),
                    trusting_the_test_ca()),
            "tls");
  EXPECT_EQ(
      outcome(pki_->issue("not-yet", "IP:127.0.0.1", testing::TestPki::kDay, 2 * testing::TestPki::kDay), trusting_the_test_ca()),
      "tls");
}

TEST_F(OutboundTls, HttpsIsNeverDowngradedToPlainHttp) {
  // A plain-HTTP server behind an https:// URL: no request goes out in clear.
  testing::LocalServer plain(routes);
  metrics::Registry registry;
  HttpClient client(trusting_the_test_ca(), registry, plain.sink());
  OutboundRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(plain.port()) + "/health/live";
  req.timeout = 5s;
  EXPECT_THROW(client.send_blocking(req), OutboundError);
  // A client for a dependency that must use TLS refuses http:// URLs before connecting.
  auto options = trusting_the_test_ca();
  options.https_only = true;
  HttpClient strict(options, registry, plain.sink());
  req.url = plain.url("/health/live");
  try {
    strict.send_blocking(req);
    ADD_FAILURE() << "a plain http:// URL was fetched";
  } catch (const OutboundError& e) {
    EXPECT_EQ(e.kind(), OutboundError::Kind::invalid_url);
  }
  EXPECT_EQ(client.send_blocking(req).status, 200);  // the same URL without https_only
}

TEST_F(OutboundTls, AnUnusableCaBundleIsRefusedAtConstruction) {
  metrics::Registry registry;
  testing::LocalServer any(routes);
  auto options = trusting_the_test_ca();
  options.ca_bundle = (dir_ / "missing.pem").string();
  EXPECT_THROW(HttpClient(options, registry, any.sink()), std::invalid_argument);
  options.ca_bundle = pki_->issue("for-key", "IP:127.0.0.1").key;  // a key, not a certificate
  EXPECT_THROW(HttpClient(options, registry, any.sink()), std::invalid_argument);
}

}  // namespace
}  // namespace nsl::http
