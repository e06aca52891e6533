// The identity service's own logic, without HTTP: a real database (SQLite, and PostgreSQL when
// NSL_TEST_PG_URL names a server) and the real authenticator that checks what the service hands
// out. Wallet signatures are made with the project's library wrappers (OpenSSL, libsecp256k1);
// their encodings are checked against neon-core and ethers in tests/integration.

#include <gtest/gtest.h>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neox/abi.hpp"
#include "nsl/chain/neox/address.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/services/common/testing/service_test.hpp"
#include "nsl/services/identity/identity.hpp"
#include "nsl/services/identity/wallet.hpp"

namespace nsl::services::identity {
namespace {

using nsl::testing::run_sync;
using services::testing::failure_kind;

nsl::identity::TokenSettings token_settings() {
  nsl::identity::TokenSettings s;
  s.keys.algorithm = "HS256";
  const std::string secret = "a-test-secret-of-at-least-32-bytes!!";
  s.keys.hmac_secret.assign(secret.begin(), secret.end());
  return s;
}

class Identity : public services::testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    if (IsSkipped()) return;
    authenticator_ = std::make_unique<nsl::identity::Authenticator>(*db_, &enclave(), token_settings(), log::Logger{});
    service_ = std::make_unique<IdentityService>(*db_, *authenticator_, Settings{3}, log::Logger{});
    admin_ = run_sync(identity().create_account("root", Role::admin));
  }
  IdentityService& identity() { return *service_; }

  /// The principal the authenticator makes of a credential, as the pipeline asks for it.
  http::Principal principal(const std::string& header, const std::string& value) {
    http::Request request;
    request.set(header, value);
    const http::ConnectionInfo connection{};
    http::Context ctx(request, connection, "/v1/auth/me", "");
    return run_sync(authenticator_->authenticate(ctx));
  }
  http::Principal bearer(const Tokens& t) { return principal("Authorization", "Bearer " + t.access_token); }
  ErrorKind bearer_failure(const Tokens& t) {
    return failure_kind([&] { bearer(t); });
  }

  std::unique_ptr<nsl::identity::Authenticator> authenticator_;
  std::unique_ptr<IdentityService> service_;
  CreatedAccount admin_;
};

TEST_P(Identity, AnApiKeyIsExchangedForTokensOfItsPermissionsAndStoredOnlyAsAHash) {
  const auto made = run_sync(identity().create_account("alice", Role::user));
  EXPECT_EQ(made.account.kind, "name");
  EXPECT_EQ(count("SELECT count(*) FROM api_keys WHERE hash = $1", {made.api_key}), 0);
  EXPECT_EQ(count("SELECT count(*) FROM api_keys WHERE hash = $1", {nsl::identity::credential_hash(made.api_key)}), 1);

  const auto tokens = run_sync(identity().exchange_api_key(made.api_key));
  EXPECT_EQ(tokens.scope, nsl::identity::role_permissions(Role::user));
  const auto p = bearer(tokens);
  EXPECT_EQ(p.account_id, made.account.id);
  EXPECT_EQ(p.method, "jwt");
  EXPECT_EQ(principal("X-API-Key", made.api_key).account_id, made.account.id);

  auto wrong = made.api_key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(failure_kind([&] { run_sync(identity().exchange_api_key(wrong)); }), ErrorKind::unauthorized);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().exchange_api_key("nsl_not-a-key")); }), ErrorKind::unauthorized);
}

TEST_P(Identity, ARefreshTokenWorksOnceAndItsReuseRevokesTheWholeFamily) {
  const auto made = run_sync(identity().create_account("bob", Role::user));
  const auto first = run_sync(identity().exchange_api_key(made.api_key));
  const auto second = run_sync(identity().refresh(first.refresh_token));
  EXPECT_NE(second.refresh_token, first.refresh_token);
  EXPECT_EQ(bearer(second).account_id, made.account.id);
  // The first token again: stolen or replayed. The token the first refresh gave is revoked too.
  EXPECT_EQ(failure_kind([&] { run_sync(identity().refresh(first.refresh_token)); }), ErrorKind::unauthorized);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().refresh(second.refresh_token)); }), ErrorKind::unauthorized);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().refresh("nslr_unknown")); }), ErrorKind::unauthorized);
}

TEST_P(Identity, RevokingRefusesTheAccessTokenAtOnceAndEndsTheRefreshFamily) {
  const auto made = run_sync(identity().create_account("carol", Role::user));
  const auto tokens = run_sync(identity().exchange_api_key(made.api_key));
  const auto p = bearer(tokens);
  run_sync(identity().revoke(p.account_id, p.token_id, tokens.refresh_token));
  EXPECT_EQ(bearer_failure(tokens), ErrorKind::unauthorized);
  EXPECT_EQ(count("SELECT count(*) FROM revoked_tokens WHERE jti = $1", {p.token_id}), 1);  // for the other replicas
  EXPECT_EQ(failure_kind([&] { run_sync(identity().refresh(tokens.refresh_token)); }), ErrorKind::unauthorized);
}

TEST_P(Identity, ApiKeysStayWithinTheQuotaAndTheirRevocationReachesTheirTokens) {
  const auto made = run_sync(identity().create_account("dave", Role::user));
  const auto& id = made.account.id;
  const auto extra = run_sync(identity().create_api_key(id, "ci", {"storage:read"}));
  run_sync(identity().create_api_key(id, "third", {"storage:read"}));
  // Settings{3}: the initial key and two more.
  EXPECT_EQ(failure_kind([&] { run_sync(identity().create_api_key(id, "fourth", {"storage:read"})); }), ErrorKind::conflict);
  const auto tokens = run_sync(identity().exchange_api_key(extra.api_key));
  EXPECT_EQ(tokens.scope, std::vector<std::string>{"storage:read"});
  // Another account's key is as unknown as a missing one.
  EXPECT_EQ(failure_kind([&] { run_sync(identity().revoke_api_key(admin_.account.id, extra.id)); }), ErrorKind::not_found);
  run_sync(identity().revoke_api_key(id, extra.id));
  EXPECT_EQ(bearer_failure(tokens), ErrorKind::unauthorized);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().refresh(tokens.refresh_token)); }), ErrorKind::unauthorized);
  run_sync(identity().create_api_key(id, "fourth", {"storage:read"}));  // a revoked key frees its place
  const auto keys = run_sync(identity().api_keys(id));
  ASSERT_EQ(keys.size(), 4U);
  for (const auto& k : keys) EXPECT_EQ(k.revoked_at.has_value(), k.id == extra.id) << k.name;
}

TEST_P(Identity, AKeyCarriesNoPermissionBeyondWhatGrantsIt) {
  const auto& user = nsl::identity::role_permissions(Role::user);
  EXPECT_EQ(within({}, user, "this credential"), user);
  EXPECT_EQ(within({"storage:read"}, user, "this credential"), std::vector<std::string>{"storage:read"});
  EXPECT_EQ(failure_kind([&] { within({"accounts:write"}, user, "this credential"); }), ErrorKind::forbidden);
  EXPECT_EQ(failure_kind([&] { within({"*"}, user, "this credential"); }), ErrorKind::forbidden);
}

TEST_P(Identity, AccountsAreCreatedByNameOnlyOnceAndNeverInAWalletsForm) {
  EXPECT_EQ(failure_kind([&] { run_sync(identity().create_account("root", Role::user)); }), ErrorKind::conflict);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().create_account("NQ7WLLw4C8sm2vNCo9N4b3Zy2bhWCmRBJp", Role::user)); }),
            ErrorKind::bad_request);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().create_account(std::string(401, 'a'), Role::user)); }),
            ErrorKind::bad_request);
  db_->with_connection_blocking([&](db::Connection& c) {
    EXPECT_THROW(create_account(c, "root", Role::user), std::invalid_argument);
    EXPECT_THROW(create_account(c, "", Role::user), std::invalid_argument);
  });
  EXPECT_EQ(count("SELECT count(*) FROM accounts"), 1);
}

TEST_P(Identity, AnAdminChangesOtherAccountsButNeverTheirOwn) {
  const auto& root = admin_.account.id;
  const auto made = run_sync(identity().create_account("erin", Role::operator_));
  const auto tokens = run_sync(identity().exchange_api_key(made.api_key));
  EXPECT_EQ(failure_kind([&] { run_sync(identity().set_role(root, root, Role::user)); }), ErrorKind::conflict);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().set_disabled(root, root, true)); }), ErrorKind::conflict);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().set_role(root, "no-such-account", Role::user)); }), ErrorKind::not_found);

  EXPECT_EQ(run_sync(identity().set_role(root, made.account.id, Role::user)).role, "user");
  const auto narrowed = bearer(tokens);  // issued as operator: no more than a user may do now
  EXPECT_EQ(narrowed.role, "user");
  EXPECT_FALSE(nsl::identity::allows(narrowed.permissions, "accounts:read"));

  EXPECT_TRUE(run_sync(identity().set_disabled(root, made.account.id, true)).disabled);
  EXPECT_EQ(bearer_failure(tokens), ErrorKind::unauthorized);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().exchange_api_key(made.api_key)); }), ErrorKind::unauthorized);
  run_sync(identity().set_disabled(root, made.account.id, false));
  EXPECT_EQ(bearer(tokens).account_id, made.account.id);

  const auto users = run_sync(identity().accounts(Role::user, std::nullopt));
  ASSERT_EQ(users.accounts.size(), 1U);
  EXPECT_EQ(users.accounts[0].name, "erin");
  EXPECT_FALSE(users.next.has_value());
  EXPECT_EQ(run_sync(identity().accounts(std::nullopt, std::nullopt)).accounts.size(), 2U);
}

TEST_P(Identity, ANeoN3WalletSignsInOnceWithTheKeyOfItsAddress) {
  const auto private_key = crypto::random_bytes(32);
  const auto public_key = crypto::p256::public_key(private_key);
  const auto address = chain::neo::to_address(chain::neo::script_hash(chain::neo::single_sig_script(public_key)));
  EXPECT_EQ(failure_kind([&] { run_sync(identity().challenge("neo-n3", "Nnot-an-address")); }), ErrorKind::bad_request);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().challenge("bitcoin", address)); }), ErrorKind::bad_request);

  const auto c = run_sync(identity().challenge("neo-n3", address));
  EXPECT_NE(c.message.find(address), std::string::npos);
  const auto signature = crypto::to_hex(crypto::p256::sign(private_key, crypto::as_bytes(c.message)));
  // Another key's signature of the challenge spends it.
  const auto other = crypto::random_bytes(32);
  EXPECT_EQ(failure_kind([&] {
              run_sync(identity().sign_in(c.nonce, crypto::to_hex(crypto::p256::sign(other, crypto::as_bytes(c.message))),
                                          crypto::to_hex(crypto::p256::public_key(other))));
            }),
            ErrorKind::unauthorized);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().sign_in(c.nonce, signature, crypto::to_hex(public_key))); }),
            ErrorKind::unauthorized);

  const auto again = run_sync(identity().challenge("neo-n3", address));
  const auto good = crypto::to_hex(crypto::p256::sign(private_key, crypto::as_bytes(again.message)));
  EXPECT_EQ(failure_kind([&] { run_sync(identity().sign_in(again.nonce, good, "")); }), ErrorKind::bad_request);
  const auto third = run_sync(identity().challenge("neo-n3", address));
  const auto tokens = run_sync(identity().sign_in(
      third.nonce, crypto::to_hex(crypto::p256::sign(private_key, crypto::as_bytes(third.message))), crypto::to_hex(public_key)));
  const auto p = bearer(tokens);
  EXPECT_EQ(p.name, address);
  EXPECT_EQ(p.role, "user");
  EXPECT_EQ(count("SELECT count(*) FROM accounts WHERE name = $1 AND kind = 'neo-n3'", {address}), 1);
}

TEST_P(Identity, ANeoXWalletSignsInWithAnEip191SignatureOfItsChecksumAddress) {
  const auto private_key = crypto::random_bytes(32);
  const auto address = chain::neox::to_checksum(chain::neox::address_of(crypto::secp256k1::public_key(private_key)));
  auto lower = address;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const auto c = run_sync(identity().challenge("neo-x", lower));
  EXPECT_NE(c.message.find(address), std::string::npos);  // the checksum form is what is signed
  const auto rs = crypto::secp256k1::sign(private_key, chain::neox::abi::eip191_message_hash(crypto::as_bytes(c.message)));
  crypto::Bytes signature(rs.r.begin(), rs.r.end());
  signature.insert(signature.end(), rs.s.begin(), rs.s.end());
  signature.push_back(static_cast<std::uint8_t>(27 + rs.recovery_id));
  EXPECT_TRUE(wallet_signature_valid("neo-x", address, c.message, signature, {}));
  EXPECT_FALSE(wallet_signature_valid("neo-x", address, c.message + " ", signature, {}));
  const auto tokens = run_sync(identity().sign_in(c.nonce, crypto::to_hex(signature), ""));
  EXPECT_EQ(bearer(tokens).name, address);
  EXPECT_EQ(failure_kind([&] { run_sync(identity().sign_in(c.nonce, crypto::to_hex(signature), "")); }),
            ErrorKind::unauthorized);  // a nonce works once
}

INSTANTIATE_TEST_SUITE_P(Db, Identity, services::testing::kBackends, services::testing::backend_name);

}  // namespace
}  // namespace nsl::services::identity
