#include "nsl/http/router.hpp"

#include "nsl/http/openapi.hpp"

#include <gtest/gtest.h>

namespace nsl::http {
namespace {

Handler noop() {
  return [](Context&) -> asio::awaitable<Response> { co_return json_response(200, "{}"); };
}

Router make() {
  Router r;
  r.add({Verb::get, "/health", "health", "", noop(), true});
  r.add({Verb::get, "/v1/keys/{id}", "keys", "keys:read", noop()});
  r.add({Verb::delete_, "/v1/keys/{id}", "keys", "keys:delete", noop()});
  r.add({Verb::post, "/v1/storage/store/{chain}", "storage", "storage:write", noop()});
  return r;
}

TEST(Router, MatchesLiteralAndParameterSegments) {
  const auto r = make();
  auto m = r.match(Verb::get, "/health");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->service, "health");
  m = r.match(Verb::post, "/v1/storage/store/neo-n3");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params, (std::vector<std::pair<std::string, std::string>>{{"chain", "neo-n3"}}));
}

TEST(Router, DecodesParametersAndRejectsBadEscapes) {
  const auto r = make();
  auto m = r.match(Verb::get, "/v1/keys/a%20b%2Fc");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params[0].second, "a b/c");
  EXPECT_TRUE(r.match(Verb::get, "/v1/keys/%zz").bad_path);
  EXPECT_TRUE(r.match(Verb::get, "/v1/keys/%4").bad_path);
  EXPECT_TRUE(r.match(Verb::get, "/v1/keys/a%00b").bad_path);
}

TEST(Router, UnknownPathIsNotFound) {
  const auto r = make();
  for (const char* p : {"/", "/nope", "/health/extra", "/v1/keys", "/v1/keys/", "/v1/keys/x/y", "/HEALTH"}) {
    auto m = r.match(Verb::get, p);
    EXPECT_FALSE(m.route) << p;
    EXPECT_TRUE(m.allow.empty()) << p;
  }
}

TEST(Router, WrongVerbListsTheAllowedOnes) {
  const auto r = make();
  auto m = r.match(Verb::put, "/v1/keys/k1");
  EXPECT_FALSE(m.route);
  EXPECT_EQ(m.allow, "DELETE, GET, HEAD");
  m = r.match(Verb::get, "/v1/storage/store/neo-x");
  EXPECT_EQ(m.allow, "POST");
}

TEST(Router, ALiteralSegmentShadowsAParameterForEveryVerb) {
  Router r;
  r.add({Verb::get, "/v1/keys/{id}", "keys", "keys:read", noop()});
  r.add({Verb::delete_, "/v1/keys/{id}", "keys", "keys:create", noop()});
  r.add({Verb::get, "/v1/keys/transport-key", "keys", "keys:import", noop()});  // registered after {id}
  r.add({Verb::get, "/v1/storage/admin/report", "storage", "storage:report", noop()});
  r.add({Verb::delete_, "/v1/storage/{chain}/{key}", "storage", "storage:write", noop()});
  auto m = r.match(Verb::get, "/v1/keys/transport-key");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/v1/keys/transport-key");
  EXPECT_TRUE(m.params.empty());
  m = r.match(Verb::delete_, "/v1/keys/transport-key");  // not the {id} "transport-key"
  EXPECT_FALSE(m.route);
  EXPECT_EQ(m.allow, "GET, HEAD");
  m = r.match(Verb::delete_, "/v1/keys/k1");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/v1/keys/{id}");
  m = r.match(Verb::delete_, "/v1/storage/admin/report");
  EXPECT_FALSE(m.route);
  EXPECT_EQ(m.allow, "GET, HEAD");
  m = r.match(Verb::delete_, "/v1/storage/neo-x/report");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params, (std::vector<std::pair<std::string, std::string>>{{"chain", "neo-x"}, {"key", "report"}}));
}

TEST(Router, HeadIsServedByGet) {
  const auto r = make();
  auto m = r.match(Verb::head, "/health");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->verb, Verb::get);
}

TEST(Router, DuplicateRoutesAreRefused) {
  auto r = make();
  EXPECT_THROW(r.add({Verb::get, "/health", "health", "", noop(), true}), std::logic_error);
}

TEST(OpenApi, ARouteWithoutACompleteOperationIsNamed) {
  Router r;
  Doc good{.summary = "Health", .responses = {{200, R"({"type": "object"})"}}};
  r.add({Verb::get, "/health", "health", "", noop(), true, false, good});
  EXPECT_EQ(openapi_problems(r), std::vector<std::string>{});
  r.add({Verb::get, "/v1/keys/{id}", "keys", "keys:read", noop()});
  Doc bad_schema = good;
  bad_schema.request = "{not json";
  r.add({Verb::post, "/v1/keys", "keys", "keys:create", noop(), false, false, bad_schema});
  EXPECT_EQ(openapi_problems(r),
            (std::vector<std::string>{"GET /v1/keys/{id}: no summary", "GET /v1/keys/{id}: no success answer",
                                      "POST /v1/keys: the request schema does not parse"}));
}

TEST(Types, QueryParameters) {
  Request req;
  ConnectionInfo conn;
  Context ctx(req, conn, "/x", "nonce=a%2Bb&flag&q=hello+world&nonce=second");
  EXPECT_EQ(ctx.query_param("nonce"), "a+b");
  EXPECT_EQ(ctx.query_param("flag"), "");
  EXPECT_EQ(ctx.query_param("q"), "hello world");
  EXPECT_FALSE(ctx.query_param("missing"));
}

}  // namespace
}  // namespace nsl::http

TEST(AddressSpace, NamesOfTheFormOfAnAddressAreWalletAccounts) {
  using nsl::http::address_space_of;
  using nsl::http::AddressSpace;
  EXPECT_EQ(address_space_of("NXV7ZhHiyM1aHXwpVsRZC6BwNFP2jghXAq"), AddressSpace::neo_n3);
  EXPECT_EQ(address_space_of("0x8ba1f109551bD432803012645Ac136ddd64DBA72"), AddressSpace::neo_x);
  EXPECT_EQ(address_space_of("0X8BA1F109551BD432803012645AC136DDD64DBA72"), AddressSpace::neo_x);
  EXPECT_EQ(address_space_of("NightlyBuildServiceAccount-Ops-001"), AddressSpace::none);  // 34 from N, not Base58
  EXPECT_EQ(address_space_of("NXV7ZhHiyM1aHXwpVsRZC6BwNFP2jghXA0"), AddressSpace::none);  // 0 is not Base58
  EXPECT_EQ(address_space_of("0x8ba1f109551bD432803012645Ac136ddd64DBA7g"), AddressSpace::none);
  EXPECT_EQ(address_space_of("0x8ba1f109551bD432803012645Ac136ddd64DBA7"), AddressSpace::none);  // 41
  EXPECT_EQ(address_space_of("root"), AddressSpace::none);
}
