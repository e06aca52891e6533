#include "nsl/http/rate_limit.hpp"

#include <gtest/gtest.h>

namespace nsl::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(RateLimiter, PermitsThenQueuesThenRefusesAndTheNextWindowServesTheQueueFirst) {
  RateLimiter limiter({true, 3, 1000ms, 2, true});
  const auto t0 = Clock::now();
  for (int i = 0; i < 3; ++i) {
    const auto d = limiter.acquire("a", t0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.wait, 0ms);
    EXPECT_EQ(d.remaining, 2 - i);
  }
  const auto q1 = limiter.acquire("a", t0 + 100ms);
  EXPECT_TRUE(q1.allowed);
  EXPECT_EQ(q1.wait, 900ms);  // until the window ends
  EXPECT_TRUE(limiter.acquire("a", t0 + 200ms).allowed);
  const auto refused = limiter.acquire("a", t0 + 300ms);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.reset, 700ms);
  EXPECT_TRUE(limiter.acquire("b", t0 + 300ms).allowed);  // keys are independent
  // The next window: the two queued requests hold its first two permits.
  const auto next = limiter.acquire("a", t0 + 1000ms);
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.remaining, 0);
  EXPECT_EQ(limiter.acquire("a", t0 + 1001ms).wait, 999ms);  // queued again
  // Long idle: a fresh window with nothing reserved.
  EXPECT_EQ(limiter.acquire("a", t0 + 5000ms).remaining, 2);
}

TEST(RateLimiter, NewestFirstQueuesNothingAndDisabledAllowsEverything) {
  RateLimiter limiter({true, 1, 1000ms, 5, false});
  const auto t0 = Clock::now();
  EXPECT_TRUE(limiter.acquire("a", t0).allowed);
  EXPECT_FALSE(limiter.acquire("a", t0).allowed);
  limiter.update({false, 1, 1000ms, 5, true});
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.acquire("a", t0).allowed);
}

TEST(RateLimiter, IdleKeysAreForgotten) {
  RateLimiter limiter({true, 5, 100ms, 0, true});
  const auto t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) limiter.acquire("ip:" + std::to_string(i), t0);
  EXPECT_EQ(limiter.keys(), 1000u);
  limiter.acquire("late", t0 + 1s);
  EXPECT_EQ(limiter.keys(), 1u);
}

TEST(RateLimiter, RoutesWithLimitsOfTheirOwnKeepThemAcrossSweeps) {
  RateLimiter limiter({true, 5, 100ms, 0, true});
  limiter.update_routes({{"POST /v1/auth/token", {true, 2, 10s, 0, true}}, {"/v1/keys/{id}/sign", {true, 50, 1s, 0, true}}});
  const auto token = limiter.policy_for("POST", "/v1/auth/token");
  EXPECT_EQ(token.settings.permit_limit, 2);
  EXPECT_EQ(token.bucket_suffix, "|POST /v1/auth/token");
  EXPECT_EQ(limiter.policy_for("GET", "/v1/auth/token").settings.permit_limit, 5);  // another verb: the general limit
  EXPECT_EQ(limiter.policy_for("POST", "/v1/keys/{id}/sign").bucket_suffix, "|/v1/keys/{id}/sign");
  EXPECT_EQ(limiter.policy_for("GET", "/v1/keys").bucket_suffix, "");
  const auto t0 = Clock::now();
  const auto key = "principal:a" + token.bucket_suffix;
  EXPECT_TRUE(limiter.acquire(key, token.settings, t0).allowed);
  EXPECT_TRUE(limiter.acquire(key, token.settings, t0).allowed);
  EXPECT_FALSE(limiter.acquire(key, token.settings, t0 + 10ms).allowed);
  // Many general windows later (and sweeps) the route's 10 s window still holds.
  for (int i = 1; i <= 30; ++i) limiter.acquire("principal:b", t0 + i * 150ms);
  const auto later = limiter.acquire(key, token.settings, t0 + 5s);
  EXPECT_FALSE(later.allowed);
  EXPECT_EQ(later.reset, 5s);
  EXPECT_TRUE(limiter.acquire(key, token.settings, t0 + 10s).allowed);
}

}  // namespace
}  // namespace nsl::http
