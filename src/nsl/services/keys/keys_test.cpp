// The Key Management service's own logic, without HTTP: a real enclave process and a real
// database, on SQLite and on PostgreSQL (when NSL_TEST_PG_URL names a server).

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "nsl/core/errors.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/key_wrap.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/enclave/protocol.hpp"
#include "nsl/services/common/testing/service_test.hpp"
#include "nsl/services/keys/keys.hpp"
#include "nsl/services/keys/schema.hpp"

namespace nsl::services::keys {
namespace {

using crypto::Bytes;
using nsl::testing::run_sync;
using services::testing::failure_kind;

Bytes digest_of(std::string_view text) {
  const auto h = crypto::sha256(crypto::as_bytes(text));
  return Bytes(h.begin(), h.end());
}

class Keys : public services::testing::ServiceTest {
 protected:
  Keys() : ServiceTest(keys::migrations()) {}
  void SetUp() override {
    ServiceTest::SetUp();
    if (IsSkipped()) return;
    add_accounts({"acct-a", "acct-b"});
    service_ = std::make_unique<KeyService>(*db_, enclave(), cache_, Settings{3, 2});
  }
  KeyService& keys() { return *service_; }
  KeyRecord create(const std::string& account, const std::string& name, const std::string& kind, bool exportable = false) {
    KeySource source;
    source.exportable = exportable;
    return run_sync(keys().create(account, name, kind, std::move(source)));
  }
  std::int64_t stored_versions(const std::string& id) { return count("SELECT count(*) FROM keys WHERE id = $1", {id}); }

  std::unique_ptr<KeyService> service_;
};

TEST_P(Keys, ACreatedKeyIsListedReadAndHasItsChainAddress) {
  const auto k = create("acct-a", "signer", "secp256r1");
  EXPECT_EQ(k.version, 1);
  EXPECT_EQ(k.status, "active");
  EXPECT_EQ(k.public_key.size(), 33u);
  EXPECT_FALSE(k.created_at.empty());
  const auto a = addresses_of(k);
  ASSERT_TRUE(a.neo_n3_address);
  EXPECT_EQ(a.neo_n3_address->front(), 'N');
  EXPECT_FALSE(a.neo_x_address);
  const auto got = run_sync(keys().get("acct-a", k.id));
  EXPECT_EQ(got->record, k);
  const auto list = run_sync(keys().list("acct-a"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], k);
  const auto x = create("acct-a", "evm", "secp256k1");
  EXPECT_EQ(x.public_key.size(), 65u);
  EXPECT_TRUE(addresses_of(x).neo_x_address);
}

TEST_P(Keys, AnotherAccountsKeyIsNotFound) {
  const auto k = create("acct-a", "mine", "ed25519");
  EXPECT_EQ(failure_kind([&] { run_sync(keys().get("acct-b", k.id)); }), ErrorKind::not_found);
  EXPECT_EQ(failure_kind([&] { run_sync(keys().remove("acct-b", k.id)); }), ErrorKind::not_found);
  EXPECT_EQ(failure_kind([&] { run_sync(keys().rotate("acct-b", k.id)); }), ErrorKind::not_found);
  EXPECT_TRUE(run_sync(keys().list("acct-b")).empty());
  EXPECT_EQ(run_sync(keys().get("acct-a", k.id))->record.version, 1);  // untouched
}

TEST_P(Keys, ATakenNameAndAFullQuotaAreConflicts) {
  create("acct-a", "one", "secp256r1");
  try {
    create("acct-a", "one", "secp256k1");
    FAIL() << "a second key named one";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::conflict);
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "name");
  }
  create("acct-b", "one", "secp256r1");  // names are per account
  create("acct-a", "two", "secp256r1");
  create("acct-a", "three", "secp256r1");
  EXPECT_EQ(failure_kind([&] { create("acct-a", "four", "secp256r1"); }), ErrorKind::conflict);  // quota 3
  EXPECT_EQ(run_sync(keys().list("acct-a")).size(), 3u);
}

TEST_P(Keys, SignaturesVerifyForEveryKind) {
  for (const std::string kind : {"secp256r1", "secp256k1", "ed25519"}) {
    const auto k = run_sync(keys().signing_key("acct-a", create("acct-a", "k-" + kind, kind).id));
    const auto payload = kind == "ed25519" ? Bytes{'h', 'i'} : digest_of("payload");
    const auto sig = run_sync(keys().sign(*k, payload));
    EXPECT_TRUE(verify(k->record, payload, sig.bytes)) << kind;
    auto other = payload;
    other[0] ^= 1;
    EXPECT_FALSE(verify(k->record, other, sig.bytes)) << kind;
    if (kind == "secp256k1") {
      auto rsv = sig.bytes;
      rsv.push_back(static_cast<std::uint8_t>(27 + sig.recovery_id));
      EXPECT_TRUE(verify(k->record, payload, rsv));
    }
  }
}

TEST_P(Keys, AnImportedKeyHasThePublicKeyOfItsPrivateKey) {
  Bytes secret(32, 0);
  secret[31] = 7;
  KeySource source;
  source.private_key = secret;
  const auto k = run_sync(keys().create("acct-a", "imported", "secp256k1", std::move(source)));
  const auto expected = crypto::secp256k1::public_key(secret);
  EXPECT_EQ(k.public_key, Bytes(expected.begin(), expected.end()));
  KeySource zero;
  zero.private_key = Bytes(32, 0);  // not a key on any curve
  try {
    run_sync(keys().create("acct-a", "zero", "secp256r1", std::move(zero)));
    FAIL() << "a zero key was imported";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_request);
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "private_key");
  }
}

TEST_P(Keys, RotationKeepsTheNewestVersionsAndSignsWithTheNewKey) {
  const auto k = create("acct-a", "rotating", "secp256r1");
  auto latest = k;
  for (int i = 0; i < 3; ++i) latest = run_sync(keys().rotate("acct-a", k.id));
  EXPECT_EQ(latest.id, k.id);
  EXPECT_EQ(latest.version, 4);
  EXPECT_NE(latest.public_key, k.public_key);
  EXPECT_EQ(stored_versions(k.id), 2);  // Settings{.versions_kept = 2}
  const auto current = run_sync(keys().signing_key("acct-a", k.id));
  EXPECT_EQ(current->record, latest);  // the cache was invalidated by each rotation
  const auto sig = run_sync(keys().sign(*current, digest_of("x")));
  EXPECT_TRUE(crypto::p256::verify_digest(latest.public_key, crypto::sha256(crypto::as_bytes("x")), sig.bytes));
  EXPECT_FALSE(crypto::p256::verify_digest(k.public_key, crypto::sha256(crypto::as_bytes("x")), sig.bytes));
}

TEST_P(Keys, ConcurrentRotationsEachStoreAVersionOfTheirOwn) {
  const auto k = create("acct-a", "busy", "secp256k1");
  std::vector<std::thread> threads;
  std::mutex m;
  std::set<std::int64_t> versions;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      const auto v = run_sync(keys().rotate("acct-a", k.id)).version;
      std::lock_guard lock(m);
      versions.insert(v);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(versions, (std::set<std::int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(run_sync(keys().get("acct-a", k.id))->record.version, 5);
}

TEST_P(Keys, ADisabledKeyIsReadButSignsNothing) {
  const auto k = create("acct-a", "stop", "secp256r1");
  run_sync(keys().signing_key("acct-a", k.id));  // cached while active
  EXPECT_EQ(run_sync(keys().disable("acct-a", k.id)).status, "disabled");
  EXPECT_EQ(failure_kind([&] { run_sync(keys().signing_key("acct-a", k.id)); }), ErrorKind::conflict);
  EXPECT_EQ(run_sync(keys().get("acct-a", k.id))->record.status, "disabled");
}

TEST_P(Keys, ARemovedKeyIsGoneWithEveryVersion) {
  const auto k = create("acct-a", "gone", "ed25519");
  run_sync(keys().get("acct-a", k.id));  // cached
  run_sync(keys().rotate("acct-a", k.id));
  run_sync(keys().remove("acct-a", k.id));
  EXPECT_EQ(stored_versions(k.id), 0);
  EXPECT_EQ(failure_kind([&] { run_sync(keys().get("acct-a", k.id)); }), ErrorKind::not_found);
  EXPECT_EQ(failure_kind([&] { run_sync(keys().remove("acct-a", k.id)); }), ErrorKind::not_found);
  create("acct-a", "gone", "ed25519");  // the name is free again
}

TEST_P(Keys, OnlyAnExportableKeyLeavesTheEnclaveWrappedForTheRecipient) {
  Bytes recipient_secret(32, 0);
  recipient_secret[31] = 9;
  const auto recipient = crypto::p256::public_key(recipient_secret);
  const auto kept = create("acct-a", "kept", "secp256r1");
  EXPECT_EQ(failure_kind([&] { run_sync(keys().export_key("acct-a", kept.id, Bytes(recipient.begin(), recipient.end()))); }),
            ErrorKind::conflict);
  const auto k = create("acct-a", "portable", "secp256r1", true);
  const auto out = run_sync(keys().export_key("acct-a", k.id, Bytes(recipient.begin(), recipient.end())));
  EXPECT_EQ(out.record, k);
  auto key = crypto::key_wrap::unwrap(recipient_secret, out.wrapped);
  ASSERT_TRUE(key);
  const auto pub = crypto::p256::public_key(*key);
  EXPECT_EQ(Bytes(pub.begin(), pub.end()), k.public_key);
  Bytes wrong(32, 0);
  wrong[31] = 10;
  EXPECT_FALSE(crypto::key_wrap::unwrap(wrong, out.wrapped));
}

TEST_P(Keys, MessagePayloadsAreWhatEachChainSigns) {
  const auto r1 = message_payload("secp256r1", "hello");
  EXPECT_EQ(r1, digest_of("hello"));
  // EIP-191: keccak256("\x19Ethereum Signed Message:\n5hello"), as ethers' hashMessage("hello").
  EXPECT_EQ(crypto::to_hex(message_payload("secp256k1", "hello")),
            "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750");
  EXPECT_EQ(message_payload("ed25519", "hello"), (Bytes{'h', 'e', 'l', 'l', 'o'}));
}

INSTANTIATE_TEST_SUITE_P(Db, Keys, services::testing::kBackends, services::testing::backend_name);

}  // namespace
}  // namespace nsl::services::keys
