#include "nsl/http/problem.hpp"

#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

namespace nsl::http {
namespace {

TEST(Problem, CarriesTheRfc9457Members) {
  BadRequest e("the request body is invalid", "internal: parser state 17");
  e.with_field("key", "must not be empty").with_field("value", "must be valid JSON");
  const auto res = problem_response(e, "/v1/storage/store/neo-n3", "req-1");
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_EQ(res[Field::content_type], "application/problem+json");
  const auto j = nlohmann::json::parse(res.body());
  EXPECT_EQ(j["type"], "https://neo-service-layer.dev/problems/bad-request");
  EXPECT_EQ(j["title"], "Bad Request");
  EXPECT_EQ(j["status"], 400);
  EXPECT_EQ(j["detail"], "the request body is invalid");
  EXPECT_EQ(j["instance"], "/v1/storage/store/neo-n3");
  EXPECT_EQ(j["request_id"], "req-1");
  ASSERT_EQ(j["errors"].size(), 2u);
  EXPECT_EQ(j["errors"][0]["field"], "key");
  EXPECT_EQ(j["errors"][1]["message"], "must be valid JSON");
  EXPECT_EQ(res.body().find("parser state"), std::string::npos);  // the internal message stays internal
}

TEST(Problem, EveryKindHasAStableTypeAndItsStatus) {
  const std::pair<ErrorKind, int> kinds[] = {{ErrorKind::bad_request, 400},
                                             {ErrorKind::unauthorized, 401},
                                             {ErrorKind::forbidden, 403},
                                             {ErrorKind::not_found, 404},
                                             {ErrorKind::method_not_allowed, 405},
                                             {ErrorKind::request_timeout, 408},
                                             {ErrorKind::conflict, 409},
                                             {ErrorKind::payload_too_large, 413},
                                             {ErrorKind::unsupported_media_type, 415},
                                             {ErrorKind::too_many_requests, 429},
                                             {ErrorKind::headers_too_large, 431},
                                             {ErrorKind::internal, 500},
                                             {ErrorKind::unavailable, 503},
                                             {ErrorKind::timeout, 504}};
  std::set<std::string> types;
  for (auto [kind, status] : kinds) {
    const auto j = nlohmann::json::parse(problem_body(RequestError(kind, "d"), "", ""));
    EXPECT_EQ(j["status"], status);
    EXPECT_TRUE(types.insert(j["type"].get<std::string>()).second) << "type reused: " << j["type"];
    EXPECT_FALSE(j.contains("errors"));
  }
}

TEST(Problem, ExtraHeadersAreSet) {
  auto e = Unavailable("busy");
  e.with_header("Retry-After", "1");
  const auto res = problem_response(e, "/x", "");
  EXPECT_EQ(res["Retry-After"], "1");
}

TEST(Problem, InvalidUtf8FromClientInputStillGivesValidJson) {
  const auto body = problem_body(NotFound("no route matches /\xff\xfe"), "/\xff", "r");
  EXPECT_TRUE(nlohmann::json::accept(body));
}

}  // namespace
}  // namespace nsl::http
