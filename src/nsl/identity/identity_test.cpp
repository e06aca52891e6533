#include <gtest/gtest.h>

#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/identity/jwt.hpp"
#include "nsl/identity/roles.hpp"

namespace nsl::identity {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

TEST(Base64Url, RoundTripsAndRefusesAnythingNonCanonical) {
  for (std::size_t n = 0; n < 40; ++n) {
    const auto data = crypto::random_bytes(n);
    const auto text = base64url(data);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(text), data);
  }
  EXPECT_EQ(base64url(crypto::as_bytes("hello")), "aGVsbG8");  // RFC 4648 alphabet, no padding
  EXPECT_FALSE(base64url_decode("aGVsbG8="));                  // padding
  EXPECT_FALSE(base64url_decode("aGVs+G8"));                   // the standard alphabet
  EXPECT_FALSE(base64url_decode("aGVsbG9"));                   // non-zero trailing bits
  EXPECT_FALSE(base64url_decode("a"));                         // impossible length
}

TEST(Roles, WildcardsAndNarrowing) {
  EXPECT_TRUE(allows({"*"}, "anything:at-all"));
  EXPECT_TRUE(allows({"keys:*"}, "keys:sign"));
  EXPECT_FALSE(allows({"keys:*"}, "keysx:sign"));
  EXPECT_FALSE(allows({"keys:sign"}, "keys:create"));
  EXPECT_TRUE(allows(role_permissions(Role::user), "storage:write"));
  EXPECT_FALSE(allows(role_permissions(Role::user), "audit:read"));
  EXPECT_TRUE(allows(role_permissions(Role::auditor), "audit:read"));
  EXPECT_EQ(narrow({"keys:*"}, {"keys:sign", "keys:*", "storage:read", "keys:sign"}),
            (std::vector<std::string>{"keys:sign", "keys:*"}));
  EXPECT_EQ(narrow({"keys:sign"}, {"keys:*"}), std::vector<std::string>{});  // a wildcard wider than granted
  // What a token keeps when its account's role changed: both sides' wildcards resolve.
  EXPECT_EQ(intersect(role_permissions(Role::user), {"*"}), role_permissions(Role::user));
  EXPECT_EQ(intersect({"*"}, {"keys:sign", "audit:read"}), (std::vector<std::string>{"keys:sign", "audit:read"}));
  EXPECT_EQ(intersect(role_permissions(Role::user), {"secrets:*", "audit:read", "keys:sign"}),
            (std::vector<std::string>{"secrets:write", "secrets:read-metadata", "keys:sign"}));
  EXPECT_EQ(intersect({"storage:read"}, {"storage:*", "storage:read"}), std::vector<std::string>{"storage:read"});
  EXPECT_EQ(intersect(role_permissions(Role::auditor), role_permissions(Role::user)), std::vector<std::string>{});
  EXPECT_TRUE(valid_permission("storage:read-metadata"));
  EXPECT_TRUE(valid_permission("storage:*"));
  EXPECT_FALSE(valid_permission("storage"));
  EXPECT_FALSE(valid_permission("Storage:Read"));
  EXPECT_FALSE(valid_permission(":read"));
}

class Tokens : public ::testing::Test {
 protected:
  Claims claims() const {
    Claims c;
    c.subject = "acct-1";
    c.name = "alice";
    c.role = "user";
    c.scope = {"storage:read"};
    c.issuer = "iss";
    c.audience = "aud";
    c.issued_at = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
    c.expires_at = c.issued_at + 1h;
    c.id = "jti-1";
    return c;
  }
  TokenKeys hs{"HS256", crypto::random_bytes(32), {}};
};

TEST_F(Tokens, Hs256RoundTripAndEveryRefusal) {
  TokenError e;
  const auto token = sign_hs256(claims(), hs.hmac_secret);
  const auto ok = verify(token, hs, "iss", "aud", Clock::now(), e);
  ASSERT_TRUE(ok) << e.reason;
  EXPECT_EQ(ok->subject, "acct-1");
  EXPECT_EQ(ok->scope, std::vector<std::string>{"storage:read"});
  EXPECT_FALSE(verify(token, hs, "other", "aud", Clock::now(), e));
  EXPECT_FALSE(verify(token, hs, "iss", "other", Clock::now(), e));
  EXPECT_FALSE(verify(token, hs, "iss", "aud", Clock::now() + 2h, e));
  EXPECT_NE(e.reason.find("expired"), std::string::npos);
  EXPECT_FALSE(verify(token, hs, "iss", "aud", Clock::now() - 2h, e));
  EXPECT_NE(e.reason.find("not valid yet"), std::string::npos);
  TokenKeys other{"HS256", crypto::random_bytes(32), {}};
  EXPECT_FALSE(verify(token, other, "iss", "aud", Clock::now(), e));
  // Every single-character change breaks it.
  for (std::size_t i = 0; i < token.size(); i += 7) {
    auto bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify(bad, hs, "iss", "aud", Clock::now(), e)) << i;
  }
}

TEST_F(Tokens, Es256OnlyWhereEs256IsConfiguredAndNoneNever) {
  const auto key = crypto::random_bytes(32);
  ASSERT_TRUE(crypto::p256::is_valid_private_key(key));
  const auto pub = crypto::p256::public_key(key);
  TokenKeys es{"ES256", {}, crypto::Bytes(pub.begin(), pub.end())};
  const auto input = signing_input("ES256", claims());
  const auto token = assemble(input, crypto::p256::sign(key, crypto::as_bytes(input)));
  TokenError e;
  EXPECT_TRUE(verify(token, es, "iss", "aud", Clock::now(), e)) << e.reason;
  EXPECT_FALSE(verify(token, hs, "iss", "aud", Clock::now(), e));  // ES256 where HS256 is configured
  // HS256 signed with the public key, where ES256 is configured.
  EXPECT_FALSE(verify(sign_hs256(claims(), es.es256_public_key), es, "iss", "aud", Clock::now(), e));
  EXPECT_NE(e.reason.find("HS256"), std::string::npos);
  const auto none = base64url(crypto::as_bytes(R"({"alg":"none"})")) + "." + input.substr(input.find('.') + 1) + ".";
  EXPECT_FALSE(verify(none, es, "iss", "aud", Clock::now(), e));
  EXPECT_FALSE(verify("a.b", es, "iss", "aud", Clock::now(), e));
  EXPECT_FALSE(verify(std::string(9000, 'a'), es, "iss", "aud", Clock::now(), e));
}

}  // namespace
}  // namespace nsl::identity
