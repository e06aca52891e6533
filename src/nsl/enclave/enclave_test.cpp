#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "nsl/core/errors.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/key_wrap.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secure_heap.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/enclave/attestation.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/enclave/sealer.hpp"
#include "nsl/enclave/service.hpp"
#include "nsl/enclave/socket_server.hpp"
#include "nsl/enclave/supervisor.hpp"
#include "nsl/enclave/testing/local_enclave.hpp"
#include "nsl/enclave/testing/raw_calls.hpp"

namespace nsl::enclave {
namespace {

// The secure heap, set up before any test as nsl-enclave sets it up at start.
const crypto::SecureHeap kHeap = crypto::init_secure_heap(std::size_t{1} << 21);

// A plaintext from locked memory, to compare.
Bytes unlocked(const crypto::LockedBytes& b) { return Bytes(b.begin(), b.end()); }

using testing::enclave_binary;

using nlohmann::json;
using namespace std::chrono_literals;
using nsl::testing::TempDir;

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(RootStore, IsCreatedReadableOnlyByItsOwnerAndRefusedOtherwise) {
  TempDir dir("roots");
  const auto path = (dir / "sub/root").string();
  EXPECT_THROW(RootStore::open(path, false), StartupError);  // missing and not to be created
  const auto created = RootStore::open(path, true);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto again = RootStore::open(path, false);
  ASSERT_EQ(again.roots().size(), 1u);
  EXPECT_EQ(again.roots()[0].id, created.roots()[0].id);
  ::chmod(path.c_str(), 0644);
  try {
    RootStore::open(path, false);
    FAIL() << "a root file others may read was accepted";
  } catch (const StartupError& e) {
    EXPECT_NE(std::string(e.what()).find("0644"), std::string::npos) << e.what();
  }
  ::chmod(path.c_str(), 0600);
  std::ofstream(path, std::ios::app) << "garbage\n";
  EXPECT_THROW(RootStore::open(path, false), StartupError);
}

TEST(RootStore, EnclavesCreatingOneRootFileTogetherAllEndWithTheSameRoot) {
  // Replicas started together on one shared root file: each must end up with the root that is
  // on disk, never one of its own that another replica's file replaced.
  for (int round = 0; round < 20; ++round) {
    TempDir dir("roots-race");
    const auto path = (dir / "root").string();
    constexpr int kOpeners = 8;
    std::vector<RootId> ids(kOpeners);
    std::vector<std::string> errors(kOpeners);
    std::vector<std::thread> threads;
    for (int i = 0; i < kOpeners; ++i) {
      threads.emplace_back([&, i] {
        try {
          ids[i] = RootStore::open(path, true).roots().at(0).id;
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    const auto on_disk = RootStore::open(path, false);
    ASSERT_EQ(on_disk.roots().size(), 1u);
    for (int i = 0; i < kOpeners; ++i) {
      EXPECT_EQ(errors[i], "") << "opener " << i;
      EXPECT_EQ(ids[i], on_disk.roots()[0].id) << "opener " << i << " in round " << round;
    }
    std::size_t leftovers = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) leftovers += entry.path() != path;
    EXPECT_EQ(leftovers, 0u) << "temporary files left behind";
  }
}

TEST(Sealer, OpensOnlyUnchangedBlobsOfTheSameRecordPurposeAndRoot) {
  TempDir dir("sealer");
  Sealer sealer(RootStore::open((dir / "root").string(), true));
  const auto blob = sealer.seal(Purpose::secret, text("tenant-a/db-password"), text("hunter2"));
  EXPECT_EQ(unlocked(sealer.open(Purpose::secret, text("tenant-a/db-password"), blob)), text("hunter2"));
  // The clear text is nowhere in the blob.
  EXPECT_EQ(std::search(blob.begin(), blob.end(), std::begin("hunter2"), std::end("hunter2") - 1), blob.end());
  auto expect_refused = [&](Purpose p, const Bytes& aad, const Bytes& b) {
    try {
      sealer.open(p, aad, b);
      ADD_FAILURE() << "opened";
    } catch (const EnclaveError& e) {
      EXPECT_EQ(e.code(), "unseal_failed");
    }
  };
  for (std::size_t i = 0; i < blob.size(); ++i) {
    auto tampered = blob;
    tampered[i] ^= 0x40;
    expect_refused(Purpose::secret, text("tenant-a/db-password"), tampered);
  }
  expect_refused(Purpose::secret, text("tenant-b/db-password"), blob);    // moved to another record
  expect_refused(Purpose::data_key, text("tenant-a/db-password"), blob);  // another purpose
  expect_refused(Purpose::secret, text("tenant-a/db-password"), Bytes(blob.begin(), blob.begin() + 20));
  // Another enclave (another root secret) cannot open it.
  TempDir other_dir("sealer-other");
  Sealer other(RootStore::open((other_dir / "root").string(), true));
  try {
    other.open(Purpose::secret, text("tenant-a/db-password"), blob);
    FAIL() << "opened under another root";
  } catch (const EnclaveError& e) {
    EXPECT_EQ(e.code(), "unseal_failed");
    EXPECT_NE(std::string(e.what()).find("root"), std::string::npos) << e.what();
  }
}

TEST(Sealer, RotationKeepsOldBlobsOpenAndRewrapsThemUnderTheNewRoot) {
  TempDir dir("rotate");
  const auto path = (dir / "root").string();
  Bytes old_blob;
  RootId first{};
  {
    Sealer sealer(RootStore::open(path, true));
    first = sealer.current_root();
    old_blob = sealer.seal(Purpose::key, text("k"), text("private"));
    const auto second = sealer.rotate();
    EXPECT_NE(second, first);
    EXPECT_EQ(unlocked(sealer.open(Purpose::key, text("k"), old_blob)), text("private"));
    const auto fresh = sealer.rewrap(Purpose::key, text("k"), old_blob);
    EXPECT_EQ(Sealer::root_of(fresh), second);
    EXPECT_EQ(unlocked(sealer.open(Purpose::key, text("k"), fresh)), text("private"));
  }
  // The rotation is on disk: a restarted enclave has both roots.
  Sealer restarted(RootStore::open(path, false));
  EXPECT_NE(restarted.current_root(), first);
  EXPECT_EQ(unlocked(restarted.open(Purpose::key, text("k"), old_blob)), text("private"));
}

class Service : public ::testing::Test {
 protected:
  TempDir dir_{"service"};
  Sealer sealer_{RootStore::open((dir_ / "root").string(), true)};
  EnclaveService service_{sealer_, {"simulation", std::string(64, 'a')}};

  json ok(const json& request) {
    auto r = service_.handle(request);
    EXPECT_TRUE(r.value("ok", false)) << request.dump() << " -> " << r.dump();
    return r;
  }
  std::string refused(const json& request) {
    auto r = service_.handle(request);
    EXPECT_FALSE(r.value("ok", true)) << request.dump();
    return r["error"].value("code", "");
  }
};

TEST_F(Service, KeysOfEveryKindSignAndVerify) {
  const auto digest = crypto::sha256(text("message"));
  const auto digest_hex = crypto::to_hex(digest);
  // secp256r1 (Neo N3)
  auto r1 = ok({{"op", "create_key"}, {"kind", "secp256r1"}, {"key_ref", "t1/neo"}});
  const auto pub_r1 = crypto::from_hex(r1["public_key"].get<std::string>()).value();
  auto sig = ok({{"op", "sign"}, {"kind", "secp256r1"}, {"key_ref", "t1/neo"}, {"sealed", r1["sealed"]}, {"digest", digest_hex}});
  EXPECT_TRUE(crypto::p256::verify_digest(pub_r1, digest, crypto::from_hex(sig["signature"].get<std::string>()).value()));
  // secp256k1 (Neo X): the signature recovers the key.
  auto k1 = ok({{"op", "create_key"}, {"kind", "secp256k1"}, {"key_ref", "t1/evm"}});
  auto sk = ok({{"op", "sign"}, {"kind", "secp256k1"}, {"key_ref", "t1/evm"}, {"sealed", k1["sealed"]}, {"digest", digest_hex}});
  const auto rs = crypto::from_hex(sk["signature"].get<std::string>()).value();
  crypto::secp256k1::RecoverableSignature rsig;
  std::copy(rs.begin(), rs.begin() + 32, rsig.r.begin());
  std::copy(rs.begin() + 32, rs.end(), rsig.s.begin());
  rsig.recovery_id = sk["recovery_id"].get<int>();
  const auto recovered = crypto::secp256k1::recover(digest, rsig);
  ASSERT_TRUE(recovered);
  EXPECT_EQ(crypto::to_hex(*recovered), k1["public_key"]);
  // Ed25519 signs the message itself.
  auto ed = ok({{"op", "create_key"}, {"kind", "ed25519"}, {"key_ref", "t1/ed"}});
  auto se = ok({{"op", "sign"},
                {"kind", "ed25519"},
                {"key_ref", "t1/ed"},
                {"sealed", ed["sealed"]},
                {"message", crypto::to_hex(text("message"))}});
  EXPECT_TRUE(crypto::ed25519::verify(crypto::from_hex(ed["public_key"].get<std::string>()).value(), text("message"),
                                      crypto::from_hex(se["signature"].get<std::string>()).value()));
  // The public key can be asked for again from the sealed key.
  EXPECT_EQ(ok({{"op", "public_key"}, {"kind", "secp256r1"}, {"key_ref", "t1/neo"}, {"sealed", r1["sealed"]}})["public_key"],
            r1["public_key"]);
  // A sealed key only works under its own name and kind.
  EXPECT_EQ(
      refused({{"op", "sign"}, {"kind", "secp256r1"}, {"key_ref", "t2/neo"}, {"sealed", r1["sealed"]}, {"digest", digest_hex}}),
      "unseal_failed");
  EXPECT_EQ(
      refused({{"op", "sign"}, {"kind", "secp256k1"}, {"key_ref", "t1/neo"}, {"sealed", r1["sealed"]}, {"digest", digest_hex}}),
      "unseal_failed");
}

TEST_F(Service, ImportedKeysGiveTheirKnownPublicKeys) {
  // docs/neo-protocol.md: the privnet validator key and its public key.
  auto r = ok({{"op", "import_key"},
               {"kind", "secp256r1"},
               {"key_ref", "ops/validator"},
               {"private_key", "347bc2bd9eb7b9f41b217c3ac8ad4b2d4d2a5e4e5bb1ddb71cf2d9bca56e3436"}});
  EXPECT_EQ(r["public_key"].get<std::string>().substr(0, 2) == "02" || r["public_key"].get<std::string>().substr(0, 2) == "03",
            true);
  EXPECT_EQ(r["public_key"], crypto::to_hex(crypto::p256::public_key(
                                 crypto::from_hex("347bc2bd9eb7b9f41b217c3ac8ad4b2d4d2a5e4e5bb1ddb71cf2d9bca56e3436").value())));
  // Hardhat's first account key → its well-known address's public key.
  auto k = ok({{"op", "import_key"},
               {"kind", "secp256k1"},
               {"key_ref", "ops/evm"},
               {"private_key", "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"}});
  const auto pub = crypto::from_hex(k["public_key"].get<std::string>()).value();
  const auto h = crypto::keccak256(crypto::ByteView(pub).subspan(1));
  EXPECT_EQ(crypto::to_hex(crypto::ByteView(h).subspan(12)), "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  EXPECT_EQ(refused({{"op", "import_key"}, {"kind", "secp256r1"}, {"key_ref", "x"}, {"private_key", std::string(64, '0')}}),
            "invalid_key");
}

TEST_F(Service, KeysTravelOnlyWrappedAndOnlyIfCreatedExportable) {
  const auto kept = ok({{"op", "create_key"}, {"kind", "secp256k1"}, {"key_ref", "t1/kept"}});
  const auto recipient = crypto::from_hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721").value();
  const auto recipient_pub = crypto::to_hex(crypto::p256::public_key(recipient));
  EXPECT_EQ(refused({{"op", "export_key"},
                     {"kind", "secp256k1"},
                     {"key_ref", "t1/kept"},
                     {"sealed", kept["sealed"]},
                     {"recipient", recipient_pub}}),
            "not_exportable");
  const auto movable = ok({{"op", "create_key"}, {"kind", "secp256k1"}, {"key_ref", "t1/movable"}, {"exportable", true}});
  EXPECT_EQ(refused({{"op", "export_key"},
                     {"kind", "secp256k1"},
                     {"key_ref", "t1/movable"},
                     {"sealed", movable["sealed"]},
                     {"recipient", "02" + std::string(64, 'f')}}),
            "bad_request");
  const auto exported = ok({{"op", "export_key"},
                            {"kind", "secp256k1"},
                            {"key_ref", "t1/movable"},
                            {"sealed", movable["sealed"]},
                            {"recipient", recipient_pub}})["wrapped"];
  crypto::key_wrap::Wrapped w{"secp256k1", crypto::from_hex(exported["recipient"].get<std::string>()).value(),
                              crypto::from_hex(exported["ephemeral_public_key"].get<std::string>()).value(),
                              crypto::from_hex(exported["nonce"].get<std::string>()).value(),
                              crypto::from_hex(exported["ciphertext"].get<std::string>()).value()};
  const auto key = crypto::key_wrap::unwrap(recipient, w);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(crypto::to_hex(crypto::secp256k1::public_key(*key)), movable["public_key"]);

  // In: wrapped for this enclave's transport key, under the kind it was wrapped for.
  const auto transport = ok({{"op", "transport_key"}});
  const auto transport_pub = crypto::from_hex(transport["public_key"].get<std::string>()).value();
  const auto to_import = crypto::from_hex("347bc2bd9eb7b9f41b217c3ac8ad4b2d4d2a5e4e5bb1ddb71cf2d9bca56e3436").value();
  auto wrapped_in = crypto::key_wrap::wrap(transport_pub, "secp256r1", to_import);
  auto as_json = [](const crypto::key_wrap::Wrapped& x) {
    return json{{"format", "nsl-key-wrap-v1"},
                {"recipient", crypto::to_hex(x.recipient)},
                {"ephemeral_public_key", crypto::to_hex(x.ephemeral)},
                {"nonce", crypto::to_hex(x.nonce)},
                {"ciphertext", crypto::to_hex(x.ciphertext)}};
  };
  const auto imported =
      ok({{"op", "import_wrapped"}, {"kind", "secp256r1"}, {"key_ref", "t1/in"}, {"wrapped", as_json(wrapped_in)}});
  EXPECT_EQ(imported["public_key"], crypto::to_hex(crypto::p256::public_key(to_import)));
  EXPECT_EQ(refused({{"op", "import_wrapped"}, {"kind", "secp256k1"}, {"key_ref", "t1/in2"}, {"wrapped", as_json(wrapped_in)}}),
            "invalid_key");
  auto changed = wrapped_in;
  changed.ciphertext[0] ^= 1;
  EXPECT_EQ(refused({{"op", "import_wrapped"}, {"kind", "secp256r1"}, {"key_ref", "t1/in3"}, {"wrapped", as_json(changed)}}),
            "invalid_key");
  const auto for_someone_else = crypto::key_wrap::wrap(crypto::p256::public_key(recipient), "secp256r1", to_import);
  EXPECT_EQ(
      refused({{"op", "import_wrapped"}, {"kind", "secp256r1"}, {"key_ref", "t1/in4"}, {"wrapped", as_json(for_someone_else)}}),
      "invalid_key");
  // An imported key is not exportable unless asked for.
  EXPECT_EQ(refused({{"op", "export_key"},
                     {"kind", "secp256r1"},
                     {"key_ref", "t1/in"},
                     {"sealed", imported["sealed"]},
                     {"recipient", recipient_pub}}),
            "not_exportable");
}

TEST_F(Service, MalformedRequestsAreRefusedNeverFatal) {
  for (const auto& bad :
       {json(nullptr), json(5), json::array({1}), json::object(), json{{"op", 7}}, json{{"op", "nope"}}, json{{"op", "sign"}},
        json{{"op", "sign"}, {"kind", "rsa"}}, json{{"op", "sign"}, {"kind", "secp256r1"}, {"key_ref", "x"}, {"sealed", "zz"}},
        json{{"op", "sign"}, {"kind", "secp256r1"}, {"key_ref", "x"}, {"sealed", "00"}, {"digest", "00"}},
        json{{"op", "create_key"}, {"kind", "secp256r1"}, {"key_ref", std::string(300, 'x')}},
        json{{"op", "seal"}, {"purpose", "key"}, {"aad", ""}, {"plaintext", "00"}}, json{{"op", "attest"}, {"nonce", "00"}},
        json{{"op", "sign_batch"}, {"items", 3}}}) {
    const auto code = refused(bad);
    EXPECT_TRUE(code == "bad_request" || code == "unknown_op" || code == "unseal_failed") << bad.dump() << " " << code;
  }
  // Random bytes as sealed keys and digests.
  std::mt19937 rng(7);  // NOLINT(cert-msc51-cpp): the same inputs on every run
  for (int i = 0; i < 200; ++i) {
    Bytes junk(rng() % 120);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    refused({{"op", "sign"},
             {"kind", "secp256k1"},
             {"key_ref", "x"},
             {"sealed", crypto::to_hex(junk)},
             {"digest", std::string(64, '1')}});
  }
}

std::string_view view(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

TEST_F(Service, ItemsFramesAnswerEachItemInOrder) {
  const auto digest = crypto::sha256(text("items"));
  const Bytes d(digest.begin(), digest.end());
  const auto r1 = ok({{"op", "create_key"}, {"kind", "secp256r1"}, {"key_ref", "t1/r1"}});
  const auto k1 = ok({{"op", "create_key"}, {"kind", "secp256k1"}, {"key_ref", "t1/k1"}});
  const auto ed = ok({{"op", "create_key"}, {"kind", "ed25519"}, {"key_ref", "t1/ed"}});
  const auto sealed = [](const json& k) { return crypto::from_hex(k["sealed"].get<std::string>()).value(); };
  const auto r1_sealed = sealed(r1), k1_sealed = sealed(k1), ed_sealed = sealed(ed);
  const auto message = text("an Ed25519 message");
  ItemsWriter frame;
  frame.encoded(encode_sign_item({1, "t1/r1", view(r1_sealed), view(d)}))
      .json(json{{"op", "public_key"}, {"kind", "secp256k1"}, {"key_ref", "t1/k1"}, {"sealed", k1["sealed"]}}.dump())
      .encoded(encode_sign_item({2, "t1/k1", view(k1_sealed), view(d)}))
      .encoded(encode_sign_item({3, "t1/ed", view(ed_sealed), view(message)}))
      .encoded(encode_sign_item({1, "t2/r1", view(r1_sealed), view(d)}))  // another record: does not open
      .encoded(encode_sign_item({1, "t1/r1", view(r1_sealed), "short"}))  // not a digest
      .encoded(encode_sign_item({9, "t1/r1", view(r1_sealed), view(d)}))  // no such kind
      .json("{not json")
      .json(R"({"op":"batch","items":[]})");
  const auto answer = service_.handle_items(frame.finish());
  ItemsReader in(answer);
  ASSERT_EQ(in.count(), 9u);
  const auto signature = [](const Item& item) {
    return Bytes(reinterpret_cast<const std::uint8_t*>(item.bytes.data()),
                 reinterpret_cast<const std::uint8_t*>(item.bytes.data()) + item.bytes.size());
  };
  auto item = in.next();
  ASSERT_EQ(item.type, 's');
  EXPECT_EQ(item.recovery_id, -1);
  EXPECT_TRUE(
      crypto::p256::verify_digest(crypto::from_hex(r1["public_key"].get<std::string>()).value(), digest, signature(item)));
  item = in.next();
  ASSERT_EQ(item.type, 'J');
  EXPECT_EQ(json::parse(item.json)["public_key"], k1["public_key"]);
  item = in.next();
  ASSERT_EQ(item.type, 's');
  crypto::secp256k1::RecoverableSignature rsig;
  const auto rs = signature(item);
  ASSERT_EQ(rs.size(), 64u);
  std::copy(rs.begin(), rs.begin() + 32, rsig.r.begin());
  std::copy(rs.begin() + 32, rs.end(), rsig.s.begin());
  rsig.recovery_id = item.recovery_id;
  const auto recovered = crypto::secp256k1::recover(digest, rsig);
  ASSERT_TRUE(recovered);
  EXPECT_EQ(crypto::to_hex(*recovered), k1["public_key"]);
  item = in.next();
  ASSERT_EQ(item.type, 's');
  EXPECT_TRUE(crypto::ed25519::verify(crypto::from_hex(ed["public_key"].get<std::string>()).value(), message, signature(item)));
  for (const char* code : {"unseal_failed", "bad_request", "bad_request", "bad_request", "bad_request"}) {
    item = in.next();
    ASSERT_EQ(item.type, 'J');
    const auto refusal = json::parse(item.json);
    EXPECT_FALSE(refusal["ok"].get<bool>());
    EXPECT_EQ(refusal["error"]["code"], code) << refusal.dump();
  }
  EXPECT_TRUE(in.done());
}

TEST_F(Service, DataItemsEncryptAndDecryptAsTheJsonOperationsDo) {
  const auto tenant = text("tenant-1");
  const auto sealed_key =
      crypto::from_hex(ok({{"op", "data_key_create"}, {"tenant", crypto::to_hex(tenant)}})["sealed"].get<std::string>()).value();
  const auto aad = text("tenant-1/key"), other_aad = text("tenant-1/other"), clear = text(R"({"data":"test data"})");
  // The answer frame, and its one item (views into the frame).
  struct Answer {
    std::string frame;
    Item item;
  };
  const auto answer_of = [&](char type, const Bytes& a, const Bytes& data) {
    auto out = std::make_unique<Answer>();
    out->frame = service_.handle_items(
        ItemsWriter().encoded(encode_data_item(type, {view(tenant), view(sealed_key), view(a), view(data)})).finish());
    ItemsReader in(out->frame);
    EXPECT_EQ(in.count(), 1u);
    out->item = in.next();
    return out;
  };
  const auto e = answer_of('E', aad, clear);
  const auto& encrypted = e->item;
  ASSERT_EQ(encrypted.type, 'x');
  const Bytes ciphertext(reinterpret_cast<const std::uint8_t*>(encrypted.bytes.data()),
                         reinterpret_cast<const std::uint8_t*>(encrypted.bytes.data()) + encrypted.bytes.size());
  EXPECT_EQ(ciphertext.size(), clear.size() + 12 + 16);
  // The JSON operation opens what the item sealed, and the other way round.
  EXPECT_EQ(ok({{"op", "data_decrypt"},
                {"tenant", crypto::to_hex(tenant)},
                {"sealed_key", crypto::to_hex(sealed_key)},
                {"aad", crypto::to_hex(aad)},
                {"ciphertext", crypto::to_hex(ciphertext)}})["plaintext"],
            crypto::to_hex(clear));
  const auto from_json = crypto::from_hex(ok({{"op", "data_encrypt"},
                                              {"tenant", crypto::to_hex(tenant)},
                                              {"sealed_key", crypto::to_hex(sealed_key)},
                                              {"aad", crypto::to_hex(aad)},
                                              {"plaintext", crypto::to_hex(clear)}})["ciphertext"]
                                              .get<std::string>())
                             .value();
  for (const auto& c : {ciphertext, from_json}) {
    const auto d = answer_of('D', aad, c);
    const auto& decrypted = d->item;
    ASSERT_EQ(decrypted.type, 'x');
    EXPECT_EQ(decrypted.bytes, std::string(clear.begin(), clear.end()));
  }
  // Another record's associated data, a changed byte, or a short ciphertext: refused, as JSON.
  auto changed = ciphertext;
  changed[20] ^= 1;
  for (const auto& [a, c] :
       {std::make_pair(other_aad, ciphertext), std::make_pair(aad, changed), std::make_pair(aad, Bytes(10))}) {
    const auto r = answer_of('D', a, c);
    const auto& refused_item = r->item;
    ASSERT_EQ(refused_item.type, 'J');
    EXPECT_EQ(json::parse(refused_item.json)["error"]["code"], "decrypt_failed");
  }
}

TEST_F(Service, MalformedItemsFramesAreRefusedWholeNeverFatal) {
  const auto refused_frame = [&](std::string_view frame) {
    const auto answer = json::parse(service_.handle_items(frame), nullptr, false);
    EXPECT_TRUE(answer.is_object()) << "a malformed frame was not refused as a whole";
    if (answer.is_object()) {
      EXPECT_EQ(answer["error"].value("code", ""), "bad_request") << answer.dump();
    }
  };
  const auto good = encode_sign_item({1, "t1/x", "sealed", std::string(32, 'd')});
  std::string frame = ItemsWriter().encoded(good).finish();
  for (std::size_t cut = 0; cut < frame.size(); ++cut) refused_frame(frame.substr(0, cut));  // every truncation
  refused_frame(frame + "x");                                                                // bytes after the last item
  std::string two = frame;
  two[2] = 2;  // says two items, holds one
  refused_frame(two);
  std::string unknown = frame;
  unknown[3] = 'Q';
  refused_frame(unknown);
  refused_frame(std::string("\x01\xff\xff", 3));  // more items than allowed
  refused_frame(std::string("\x02\x00\x01", 3));  // not an items frame
  // Random bytes behind a valid header.
  std::mt19937 rng(11);  // NOLINT(cert-msc51-cpp): the same inputs on every run
  for (int i = 0; i < 500; ++i) {
    std::string junk("\x01\x00", 2);
    junk += static_cast<char>(1 + rng() % 4);
    const auto n = rng() % 200;
    for (std::size_t j = 0; j < n; ++j) junk += static_cast<char>(rng());
    const auto answer = service_.handle_items(junk);
    ASSERT_FALSE(answer.empty());
  }
  // The service still works.
  ok({{"op", "create_key"}, {"kind", "secp256r1"}, {"key_ref", "t1/after"}});
}

TEST_F(Service, SecretsAreSealedAndOpenedOnlyForTheirRecord) {
  auto s = ok({{"op", "seal"},
               {"purpose", "secret"},
               {"aad", crypto::to_hex(text("t1/api"))},
               {"plaintext", crypto::to_hex(text("s3cr3t"))}});
  EXPECT_EQ(
      ok({{"op", "open"}, {"purpose", "secret"}, {"aad", crypto::to_hex(text("t1/api"))}, {"sealed", s["sealed"]}})["plaintext"],
      crypto::to_hex(text("s3cr3t")));
  EXPECT_EQ(refused({{"op", "open"}, {"purpose", "secret"}, {"aad", crypto::to_hex(text("t2/api"))}, {"sealed", s["sealed"]}}),
            "unseal_failed");
  const auto rotated = ok({{"op", "rotate_root"}});
  const auto rewrapped =
      ok({{"op", "rewrap"}, {"purpose", "secret"}, {"aad", crypto::to_hex(text("t1/api"))}, {"sealed", s["sealed"]}});
  EXPECT_EQ(rewrapped["root_id"], rotated["root_id"]);
  // A tenant's data key is made and used in here: it is neither opened to the outside nor sealed
  // from a value the outside chose.
  const auto data_key = ok({{"op", "data_key_create"}, {"tenant", crypto::to_hex(text("t1"))}});
  EXPECT_EQ(
      refused({{"op", "open"}, {"purpose", "data_key"}, {"aad", crypto::to_hex(text("t1"))}, {"sealed", data_key["sealed"]}}),
      "bad_request");
  EXPECT_EQ(refused({{"op", "seal"},
                     {"purpose", "data_key"},
                     {"aad", crypto::to_hex(text("t1"))},
                     {"plaintext", crypto::to_hex(Bytes(32, 7))}}),
            "bad_request");
}

TEST_F(Service, OpenedKeysAndSecretsLiveInTheSecureHeap) {
  // This binary sets the secure heap up as nsl-enclave does (kHeap below): every key opened for
  // signing, every derived key and every secret value is allocated there, none falls back to
  // the ordinary heap.
  ASSERT_TRUE(kHeap.initialised);
  const auto before = crypto::secure_heap().fallbacks;
  const auto key = ok({{"op", "create_key"}, {"kind", "secp256k1"}, {"key_ref", "t1/heap"}});
  ok({{"op", "sign"},
      {"kind", "secp256k1"},
      {"key_ref", "t1/heap"},
      {"sealed", key["sealed"]},
      {"digest", std::string(64, 'a')}});
  const auto s = ok({{"op", "seal"}, {"purpose", "secret"}, {"aad", "00"}, {"plaintext", crypto::to_hex(Bytes(4096, 1))}});
  ok({{"op", "open"}, {"purpose", "secret"}, {"aad", "00"}, {"sealed", s["sealed"]}});
  ok({{"op", "attest"}, {"nonce", std::string(32, 'b')}});
  const auto memory = ok({{"op", "info"}})["memory"];
  EXPECT_EQ(crypto::secure_heap().fallbacks, before);
  EXPECT_EQ(memory["fallbacks"].get<std::uint64_t>(), before);
  EXPECT_EQ(memory["secure_heap_bytes"], std::size_t{1} << 21);
  // Locked when RLIMIT_MEMLOCK allows 2 MiB and the roots' pages (scripts and CI give 8 MiB).
  EXPECT_EQ(memory["locked"], kHeap.locked);
}

TEST_F(Service, AttestationReportsVerifyAndSayWhyWhenTheyDoNot) {
  const std::string nonce(64, 'c');
  auto r = ok({{"op", "attest"}, {"nonce", nonce}});
  json doc{{"report", r["report"]}, {"signature", r["signature"]}};
  EXPECT_EQ(doc["report"]["mode"], "simulation");
  // What a relying party pins, learnt apart from any report: here, from the enclave's other answers.
  const auto info = ok({{"op", "info"}});
  const auto jwt = ok({{"op", "jwt_public_key"}})["public_key"].get<std::string>();
  const auto transport = ok({{"op", "transport_key"}})["public_key"].get<std::string>();
  EXPECT_EQ(doc["report"]["public_keys"], info["public_keys"]);
  AttestationExpectations expect;
  expect.nonce = nonce;
  expect.measurement = std::string(64, 'a');
  expect.attestation_key = info["public_keys"]["attestation"].get<std::string>();
  expect.keys = {{"jwt", jwt}, {"transport", transport}};
  expect.max_age = 60s;
  expect.allow_simulation = true;
  for (const auto& c : verify_attestation(doc, expect)) EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
  auto failed = [&](const json& d, const AttestationExpectations& e) {
    std::set<std::string> out;
    for (const auto& c : verify_attestation(d, e)) {
      if (!c.passed) out.insert(c.name);
    }
    return out;
  };
  // Every field of the report is signed.
  for (const auto& path :
       {"/version", "/mode", "/measurement", "/nonce", "/time", "/root_id", "/public_keys/jwt", "/public_keys/transport"}) {
    auto changed = doc;
    const json::json_pointer at(std::string("/report") + path);
    changed[at] = changed[at].is_number() ? json(2) : json(changed[at].get<std::string>() + "0");
    EXPECT_TRUE(failed(changed, expect).count("signature") + failed(changed, expect).count("form") > 0) << path;
  }
  // A report made and signed by someone else's key is self-consistent: only the pin refuses it.
  const auto forger = crypto::random_bytes(32);
  auto forged = doc;
  forged["report"]["public_keys"]["attestation"] = crypto::to_hex(crypto::p256::public_key(forger));
  forged["signature"] = crypto::to_hex(crypto::p256::sign(forger, attestation_signing_bytes(forged["report"])));
  EXPECT_EQ(failed(forged, expect), (std::set<std::string>{"key"}));
  // Each pinned value that differs fails on its own, and nothing pinned fails too.
  auto other = expect;
  other.attestation_key = crypto::to_hex(crypto::p256::public_key(forger));
  EXPECT_EQ(failed(doc, other), (std::set<std::string>{"key"}));
  other = expect;
  other.measurement = std::string(64, 'b');
  EXPECT_EQ(failed(doc, other), (std::set<std::string>{"measurement"}));
  other = expect;
  other.keys = {{"jwt", transport}, {"oracle", jwt}};
  EXPECT_EQ(failed(doc, other), (std::set<std::string>{"jwt key", "oracle key"}));
  EXPECT_EQ(failed(doc, {.allow_simulation = true}), (std::set<std::string>{"key", "measurement"}));
  other = expect;
  other.nonce = std::string(64, 'd');
  other.allow_simulation = false;
  EXPECT_EQ(failed(doc, other), (std::set<std::string>{"nonce", "mode"}));
  other = expect;
  other.now += 1h;
  EXPECT_EQ(failed(doc, other), (std::set<std::string>{"age"}));
  EXPECT_EQ(failed(json{{"x", 1}}, {}), (std::set<std::string>{"form"}));
}

// The socket boundary in this process: the server on a thread, the client beside it.
class Socket : public ::testing::Test {
 protected:
  void start(std::optional<pid_t> peer_pid) {
    SocketServerOptions o{(dir_ / "e.sock").string(), ::geteuid(), peer_pid, token_, 4};
    server_ = std::make_unique<SocketServer>(o, service_, sink_.get("enclave"));
    server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  EnclaveClient client(Bytes token) {
    return EnclaveClient({(dir_ / "e.sock").string(), std::move(token), 2, 2000ms}, registry_, sink_);
  }

  TempDir dir_{"socket"};
  Sealer sealer_{RootStore::open((dir_ / "root").string(), true)};
  EnclaveService service_{sealer_, {"simulation", std::string(64, 'a')}};
  Bytes token_ = crypto::random_bytes(32);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull_{std::fopen("/dev/null", "w"), &std::fclose};
  log::Sink sink_{log::Sink::Options{devnull_.get(), 1u << 16}};
  metrics::Registry registry_;
  std::unique_ptr<SocketServer> server_;
  std::thread thread_;
};

TEST_F(Socket, TheServerProcessWithTheTokenIsServed) {
  start(::getpid());
  auto c = client(token_);
  const auto key = nsl::testing::run_sync(c.create_key("secp256r1", "t/k"));
  const auto digest = crypto::sha256(text("x"));
  const auto sig = nsl::testing::run_sync(c.sign(key, Bytes(digest.begin(), digest.end())));
  EXPECT_TRUE(crypto::p256::verify_digest(key.public_key, digest, sig.bytes));
  try {
    testing::RawCalls::call_blocking(c, {{"op", "frobnicate"}});
    FAIL() << "an unknown operation was accepted";
  } catch (const EnclaveError& e) {
    EXPECT_EQ(e.code(), "unknown_op");
  }
  EXPECT_NE(registry_.render().find("nsl_enclave_requests_total{op=\"sign\",outcome=\"ok\"} 1"), std::string::npos);
}

// 300 concurrent requests (signatures, one of them with a key that does not open, and every tenth
// a JSON request), made either through the client's thread pool or (attached) from the IO
// threads themselves.
void concurrent_requests_share_frames(EnclaveClient& c, metrics::Registry& registry, bool attached) {
  const auto key = nsl::testing::run_sync(c.create_key("secp256r1", "t/batch"));
  auto wrong = key;
  wrong.key_ref = "t/other";  // fails to unseal: only its own request fails
  constexpr int kCalls = 300;
  std::vector<std::optional<EnclaveClient::Signature>> sigs(kCalls);
  std::vector<std::string> errors(kCalls), public_keys(kCalls);
  asio::io_context io;
  if (attached) c.attach(io.get_executor());
  for (int i = 0; i < kCalls; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          const auto digest = crypto::sha256(text("m" + std::to_string(i)));
          try {
            if (i % 10 == 5) {  // JSON requests travel in the same frames as the signing items
              const auto r = co_await c.public_key(key);
              public_keys[i] = crypto::to_hex(r.public_key);
              co_return;
            }
            auto sig = co_await c.sign(i == 137 ? wrong : key, Bytes(digest.begin(), digest.end()));
            sigs[i] = std::move(sig);
          } catch (const EnclaveError& e) {
            errors[i] = e.code();
          }
        },
        asio::detached);
  }
  std::thread other([&] { io.run(); });
  io.run();
  other.join();
  c.detach();
  for (int i = 0; i < kCalls; ++i) {
    if (i == 137) {
      EXPECT_EQ(errors[i], "unseal_failed");
      continue;
    }
    if (i % 10 == 5) {
      EXPECT_EQ(public_keys[i], crypto::to_hex(key.public_key)) << i << ": " << errors[i];
      continue;
    }
    ASSERT_TRUE(sigs[i].has_value()) << i << ": " << errors[i];
    const auto digest = crypto::sha256(text("m" + std::to_string(i)));
    EXPECT_TRUE(crypto::p256::verify_digest(key.public_key, digest, sigs[i]->bytes)) << i;
  }
  const auto metrics = registry.render();
  EXPECT_NE(metrics.find("nsl_enclave_requests_total{op=\"sign\",outcome=\"ok\"} 269"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("nsl_enclave_requests_total{op=\"public_key\",outcome=\"ok\"} 30"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("nsl_enclave_requests_total{op=\"sign\",outcome=\"unseal_failed\"} 1"), std::string::npos);
  // Far fewer frames than requests crossed the socket.
  const auto at = metrics.find("nsl_enclave_request_duration_seconds_count ");
  ASSERT_NE(at, std::string::npos);
  const auto frames = std::stol(metrics.substr(at + std::string("nsl_enclave_request_duration_seconds_count ").size()));
  EXPECT_LT(frames, kCalls / 2) << "requests were not batched";
  EXPECT_GE(frames, 1 + kCalls / 64);
}

TEST_F(Socket, ConcurrentRequestsShareFramesAndEachGetsItsOwnAnswer) {
  start(::getpid());
  EnclaveClient c({(dir_ / "e.sock").string(), token_, 1, 2000ms}, registry_, sink_);  // one frame at a time
  concurrent_requests_share_frames(c, registry_, false);
}

TEST_F(Socket, AttachedToIoThreadsConcurrentRequestsShareFramesAndEachGetsItsOwnAnswer) {
  start(::getpid());
  EnclaveClient c({(dir_ / "e.sock").string(), token_, 2, 2000ms}, registry_, sink_);
  concurrent_requests_share_frames(c, registry_, true);
}

TEST_F(Socket, AttachedToIoThreadsAnEnclaveThatStopsAnsweringTimesOut) {
  // A stand-in for a hung enclave: it accepts the connection and the hello, then never answers.
  const auto path = (dir_ / "hung.sock").string();
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  std::vector<int> accepted;
  std::thread hung([&] {
    for (int i = 0; i < 2; ++i) {  // the first attempt, then the one retry on a fresh connection
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) return;
      accepted.push_back(fd);
      (void)read_frame(fd);
      (void)write_frame(fd, R"({"ok":true,"mode":"simulation","protocol":1})");
      (void)read_frame(fd);  // the request, never answered
    }
  });
  EnclaveClient c({path, token_, 1, 300ms}, registry_, sink_);
  asio::io_context io;
  c.attach(io.get_executor());
  std::string outcome;
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          (void)co_await c.info();
          outcome = "answered";
        } catch (const EnclaveUnavailable&) {
          outcome = "unavailable";
        }
      },
      asio::detached);
  io.run();
  c.detach();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(outcome, "unavailable");
  EXPECT_GE(took, 550ms);  // two attempts of 300 ms
  EXPECT_LT(took, 5s);
  EXPECT_NE(registry_.render().find("nsl_enclave_requests_total{op=\"info\",outcome=\"unavailable\"} 1"), std::string::npos);
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  hung.join();
  for (const int fd : accepted) ::close(fd);
}

TEST_F(Socket, AWrongTokenOrAnotherProcessIsRefused) {
  start(::getpid());
  auto wrong = client(crypto::random_bytes(32));
  EXPECT_THROW(wrong.info_blocking(), EnclaveUnavailable);
  TearDown();
  server_.reset();
  start(::getpid() + 100000);  // only "another" process may connect: this one is refused
  auto mine = client(token_);
  EXPECT_THROW(mine.info_blocking(), EnclaveUnavailable);
}

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void restarts_a_killed_enclave(bool attached) {
  TempDir dir("supervisor");
  // The supervisor's and the enclave's logs are kept, and shown if the restart is not seen.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file{std::fopen((dir / "supervisor.log").c_str(), "w"), &std::fclose};
  log::Sink sink{log::Sink::Options{log_file.get(), 1u << 16}};
  metrics::Registry registry;
  Supervisor supervisor(
      {enclave_binary(), (dir / "e.sock").string(), (dir / "root").string(), 64, 10s, (dir / "enclave.log").string()}, registry,
      sink.get("supervisor"));
  supervisor.start();
  EnclaveClient client({(dir / "e.sock").string(), supervisor.token(), 2, 2000ms}, registry, sink);
  // Attached, the client's coroutines run on `io`'s thread; run_sync's callers await them.
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  const auto finish = [&] {
    client.detach();
    work.reset();
    io_thread.join();
  };
  if (attached) client.attach(io.get_executor());
  const auto key = nsl::testing::run_sync(client.create_key("secp256k1", "t/k"));
  const auto info = client.info_blocking();
  const auto first = supervisor.pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // A restart takes the backoff (100 ms) and the new process's start; a loaded machine may take seconds.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline &&
         (supervisor.pid() == first || registry.render().find("nsl_enclave_up 1") == std::string::npos)) {
    std::this_thread::sleep_for(10ms);
  }
  if (supervisor.pid() == first) {
    sink.flush();
    ADD_FAILURE() << "the enclave was not started again within 30 s\nsupervisor log:\n"
                  << file_text(dir / "supervisor.log") << "enclave log:\n"
                  << file_text(dir / "enclave.log");
    supervisor.stop();
    finish();
    return;
  }
  const auto digest = crypto::sha256(text("after the restart"));
  const auto sig = nsl::testing::run_sync(client.sign(key, Bytes(digest.begin(), digest.end())));
  EXPECT_EQ(sig.bytes.size(), 64u);
  EXPECT_EQ(client.info_blocking().attestation_public_key, info.attestation_public_key);  // the same root
  EXPECT_NE(registry.render().find("nsl_enclave_restarts_total 1"), std::string::npos);
  supervisor.stop();
  EXPECT_THROW(client.info_blocking(), EnclaveUnavailable);
  EXPECT_THROW(nsl::testing::run_sync(client.info()), EnclaveUnavailable);
  finish();
}

TEST(Supervisor, RestartsAKilledEnclaveAndEveryKeyStillWorks) { restarts_a_killed_enclave(false); }

TEST(Supervisor, AttachedToIoThreadsTheClientReconnectsToARestartedEnclave) { restarts_a_killed_enclave(true); }

TEST(Supervisor, AnEnclaveThatCannotStartIsAClearStartupError) {
  TempDir dir("supervisor-bad");
  std::ofstream(dir / "root") << "nsl-root-v1 00\n";
  ::chmod((dir / "root").c_str(), 0644);
  metrics::Registry registry;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull{std::fopen("/dev/null", "w"), &std::fclose};
  log::Sink sink{log::Sink::Options{devnull.get(), 1u << 16}};
  Supervisor supervisor(
      {enclave_binary(), (dir / "e.sock").string(), (dir / "root").string(), 64, 10s, (dir / "enclave.log").string()}, registry,
      sink.get("s"));
  try {
    supervisor.start();
    FAIL() << "started";
  } catch (const StartupError& e) {
    EXPECT_NE(std::string(e.what()).find("exited with status 1"), std::string::npos) << e.what();
  }
  Supervisor missing({(dir / "no-such-binary").string(), (dir / "e.sock").string(), (dir / "root2").string(), 64, 10s, ""},
                     registry, sink.get("s"));
  EXPECT_THROW(missing.start(), StartupError);
}

// ---- The typed client against a real nsl-enclave ----

// ES256 as OpenSSL checks it: `public_key` a compressed P-256 point, `signature` r || s over
// SHA-256 of `message`.
bool openssl_verifies_es256(crypto::ByteView public_key, std::string_view message, crypto::ByteView signature) {
  if (signature.size() != 64) return false;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> build(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  if (!build || OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, public_key.data(), public_key.size()) != 1) {
    return false;
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(build.get()), &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> from(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr),
                                                                   &EVP_PKEY_CTX_free);
  EVP_PKEY* raw_key = nullptr;
  if (!params || !from || EVP_PKEY_fromdata_init(from.get()) != 1 ||
      EVP_PKEY_fromdata(from.get(), &raw_key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return false;
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw_key, &EVP_PKEY_free);
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), &ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig.get(), &der);
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(der, [](unsigned char* p) { OPENSSL_free(p); });
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return der_size > 0 && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_size),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

// The code of the EnclaveError a call throws, or "" if it returns.
template <class T>
std::string refusal_of(asio::awaitable<T> call) {
  try {
    (void)nsl::testing::run_sync(std::move(call));
  } catch (const EnclaveError& e) {
    return e.code();
  }
  return "";
}

class TypedClient : public ::testing::Test {
 protected:
  template <class T>
  static T run(asio::awaitable<T> call) {
    return nsl::testing::run_sync(std::move(call));
  }
  testing::LocalEnclave enclave_;
  EnclaveClient& client_ = enclave_.client();
};

TEST_F(TypedClient, InfoNamesTheEnclaveAndBlockingCallsWorkAttachedBeforeTheIoThreadsRun) {
  const auto info = run(client_.info());
  EXPECT_EQ(info.mode, "simulation");
  EXPECT_EQ(info.protocol, kProtocolVersion);
  EXPECT_EQ(info.measurement.size(), 64u);
  EXPECT_EQ(info.root_id.size(), 8u);
  EXPECT_EQ(info.attestation_public_key.size(), 33u);
  EXPECT_TRUE(crypto::p256::is_valid_public_key(info.attestation_public_key));
  // Startup code calls these on an attached client whose IO threads do not run yet.
  asio::io_context io;
  client_.attach(io.get_executor());
  const auto blocking = client_.info_blocking();
  const auto jwt_key = client_.jwt_public_key_blocking();
  client_.detach();
  EXPECT_EQ(blocking.measurement, info.measurement);
  EXPECT_EQ(blocking.root_id, info.root_id);
  EXPECT_EQ(blocking.attestation_public_key, info.attestation_public_key);
  EXPECT_EQ(jwt_key, run(client_.jwt_public_key()));
  EXPECT_NE(jwt_key, info.attestation_public_key);  // one key per use
}

TEST_F(TypedClient, SealedSecretsOpenOnlyForTheirPurposeAndRecordAndSurviveARootRotation) {
  const auto aad = text("t1/api/1"), secret = text("s3cr3t value");
  const auto sealed = run(client_.seal("secret", aad, secret));
  EXPECT_EQ(std::search(sealed.begin(), sealed.end(), secret.begin(), secret.end()), sealed.end());
  EXPECT_EQ(run(client_.open("secret", aad, sealed)), secret);
  EXPECT_EQ(refusal_of(client_.open("secret", text("t2/api/1"), sealed)), "unseal_failed");
  EXPECT_EQ(refusal_of(client_.open("data_key", aad, sealed)), "bad_request");  // data keys never leave in the clear
  EXPECT_EQ(refusal_of(client_.seal("key", aad, secret)), "bad_request");       // keys are sealed only by create / import

  const auto key = run(client_.create_key("secp256r1", "t1/k/1"));
  const auto first = run(client_.info()).root_id;
  const auto second = run(client_.rotate_root());
  EXPECT_NE(second, first);
  EXPECT_EQ(run(client_.info()).root_id, second);
  EXPECT_EQ(run(client_.open("secret", aad, sealed)), secret);  // the old root still opens it
  const auto rewrapped = run(client_.rewrap("secret", aad, sealed));
  EXPECT_EQ(rewrapped.root_id, second);
  EXPECT_NE(rewrapped.sealed, sealed);
  EXPECT_EQ(run(client_.open("secret", aad, rewrapped.sealed)), secret);
  EXPECT_EQ(refusal_of(client_.rewrap("secret", text("t2/api/1"), sealed)), "unseal_failed");
  // A key is rewrapped by its kind and reference, and signs as before.
  const auto moved = run(client_.rewrap(key));
  EXPECT_EQ(moved.root_id, second);
  auto renewed = key;
  renewed.sealed = moved.sealed;
  const auto digest = crypto::sha256(text("after the rotation"));
  const auto sig = run(client_.sign(renewed, Bytes(digest.begin(), digest.end())));
  EXPECT_TRUE(crypto::p256::verify_digest(key.public_key, digest, sig.bytes));
  auto elsewhere = key;
  elsewhere.key_ref = "t2/k/1";
  EXPECT_EQ(refusal_of(client_.rewrap(elsewhere)), "unseal_failed");
}

TEST_F(TypedClient, KeysComeInInClearOrWrappedAndLeaveOnlyWrappedIfExportable) {
  // docs/neo-protocol.md: the privnet validator key; Hardhat's first account key.
  const auto validator = crypto::from_hex("347bc2bd9eb7b9f41b217c3ac8ad4b2d4d2a5e4e5bb1ddb71cf2d9bca56e3436").value();
  const auto hardhat = crypto::from_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").value();
  const auto imported = run(client_.import_key("secp256r1", "ops/validator", validator));
  EXPECT_EQ(imported.kind, "secp256r1");
  EXPECT_EQ(imported.key_ref, "ops/validator");
  const auto validator_pub = crypto::p256::public_key(validator);
  EXPECT_EQ(imported.public_key, Bytes(validator_pub.begin(), validator_pub.end()));
  const auto described = run(client_.public_key(imported));
  EXPECT_EQ(described.public_key, imported.public_key);
  EXPECT_FALSE(described.exportable);
  EXPECT_EQ(refusal_of(client_.import_key("secp256r1", "ops/zero", Bytes(32, 0))), "invalid_key");

  // In: wrapped for the transport key.
  const auto transport = run(client_.transport_key());
  EXPECT_EQ(transport.format, crypto::key_wrap::kFormat);
  EXPECT_TRUE(crypto::p256::is_valid_public_key(transport.public_key));
  EXPECT_EQ(transport.root_id, run(client_.info()).root_id);
  const auto wrapped = crypto::key_wrap::wrap(transport.public_key, "secp256k1", hardhat);
  const auto movable = run(client_.import_wrapped("secp256k1", "t1/in", wrapped, true));
  const auto hardhat_pub = crypto::secp256k1::public_key(hardhat);
  EXPECT_EQ(movable.public_key, Bytes(hardhat_pub.begin(), hardhat_pub.end()));
  EXPECT_TRUE(run(client_.public_key(movable)).exportable);
  EXPECT_EQ(refusal_of(client_.import_wrapped("secp256r1", "t1/in2", wrapped)), "invalid_key");  // wrapped as another kind

  // Out: wrapped for the recipient alone, and only if created exportable.
  const auto recipient = crypto::from_hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721").value();
  const auto recipient_pub = crypto::p256::public_key(recipient);
  const auto out = run(client_.export_key(movable, recipient_pub));
  EXPECT_EQ(out.kind, "secp256k1");
  EXPECT_EQ(out.recipient, Bytes(recipient_pub.begin(), recipient_pub.end()));
  const auto unwrapped = crypto::key_wrap::unwrap(recipient, out);
  ASSERT_TRUE(unwrapped.has_value());
  EXPECT_EQ(*unwrapped, hardhat);
  EXPECT_EQ(refusal_of(client_.export_key(imported, recipient_pub)), "not_exportable");
  EXPECT_EQ(refusal_of(client_.export_key(movable, Bytes(33, 0xff))), "bad_request");
}

TEST(WrappedJson, ReadsBackWhatItWritesAndNamesWhatIsWrong) {
  const auto recipient = crypto::from_hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721").value();
  const auto w = crypto::key_wrap::wrap(crypto::p256::public_key(recipient), "ed25519", Bytes(32, 7));
  const auto j = wrapped_to_json(w);
  EXPECT_EQ(j["format"], "nsl-key-wrap-v1");
  EXPECT_EQ(j["kind"], "ed25519");
  EXPECT_EQ(j["nonce"], crypto::to_hex(w.nonce));
  const auto back = wrapped_from_json(j, "ed25519");
  EXPECT_EQ(back.recipient, w.recipient);
  EXPECT_EQ(back.ephemeral, w.ephemeral);
  EXPECT_EQ(back.nonce, w.nonce);
  EXPECT_EQ(back.ciphertext, w.ciphertext);
  EXPECT_EQ(crypto::key_wrap::unwrap(recipient, back).value_or(Bytes{}), Bytes(32, 7));
  const auto message_of = [](const json& given) {
    try {
      (void)wrapped_from_json(given, "ed25519");
    } catch (const EnclaveError& e) {
      EXPECT_EQ(e.code(), "bad_request");
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message_of(json::array()), "\"wrapped\" must be an object");
  auto changed = j;
  changed["format"] = "v0";
  EXPECT_EQ(message_of(changed), "\"wrapped.format\" must be nsl-key-wrap-v1");
  changed["format"] = 1;
  EXPECT_EQ(message_of(changed), "\"wrapped.format\" must be nsl-key-wrap-v1");
  changed = j;
  changed.erase("nonce");
  EXPECT_EQ(message_of(changed), "\"nonce\" must be a string");
  changed["nonce"] = "zz";
  EXPECT_EQ(message_of(changed), "\"nonce\" must be hex");
  changed["nonce"] = std::string(26, '0');
  EXPECT_EQ(message_of(changed), "\"nonce\" is longer than 24 characters");
}

TEST_F(TypedClient, DataKeysEncryptForTheirTenantAndRecordOnly) {
  const auto tenant = text("tenant-1"), aad = text("tenant-1/doc"), clear = text(R"({"data":"test data"})");
  const auto data_key = run(client_.data_key_create(tenant));
  EXPECT_NE(data_key, run(client_.data_key_create(tenant)));  // a new key each time
  const auto ciphertext = run(client_.data_encrypt(tenant, data_key, aad, clear));
  EXPECT_EQ(ciphertext.size(), clear.size() + 12 + 16);
  EXPECT_EQ(run(client_.data_decrypt(tenant, data_key, aad, ciphertext)), clear);
  EXPECT_EQ(refusal_of(client_.data_decrypt(tenant, data_key, text("tenant-1/other"), ciphertext)), "decrypt_failed");
  EXPECT_EQ(refusal_of(client_.data_decrypt(text("tenant-2"), data_key, aad, ciphertext)), "unseal_failed");
}

TEST_F(TypedClient, JwtSignaturesVerifyUnderTheJwtPublicKeyWithOpenSSL) {
  const auto pub = run(client_.jwt_public_key());
  ASSERT_EQ(pub.size(), 33u);
  const std::string input = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhY2NvdW50LTEifQ";
  const auto signature = run(client_.jwt_sign(input));
  EXPECT_EQ(signature.size(), 64u);
  EXPECT_TRUE(openssl_verifies_es256(pub, input, signature));
  EXPECT_FALSE(openssl_verifies_es256(pub, input + "x", signature));
  EXPECT_FALSE(openssl_verifies_es256(run(client_.info()).attestation_public_key, input, signature));
}

TEST_F(TypedClient, AttestationReportsCarryTheNonceAndVerify) {
  const auto nonce = crypto::random_bytes(32);
  const auto info = run(client_.info());
  auto a = run(client_.attest(nonce));
  EXPECT_EQ(a.report["nonce"], crypto::to_hex(nonce));
  EXPECT_EQ(a.report["mode"], "simulation");
  EXPECT_EQ(a.report["measurement"], info.measurement);
  EXPECT_EQ(a.report["root_id"], crypto::to_hex(info.root_id));
  EXPECT_EQ(a.report["public_keys"]["attestation"], crypto::to_hex(info.attestation_public_key));
  EXPECT_EQ(a.signature.size(), 64u);
  AttestationExpectations expect;
  expect.nonce = crypto::to_hex(nonce);
  expect.measurement = info.measurement;
  expect.attestation_key = crypto::to_hex(info.attestation_public_key);
  expect.max_age = 60s;
  expect.allow_simulation = true;
  const json document{{"report", a.report}, {"signature", crypto::to_hex(a.signature)}};
  for (const auto& c : verify_attestation(document, expect)) EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
  expect.nonce = crypto::to_hex(crypto::random_bytes(32));
  bool nonce_checked = false;
  for (const auto& c : verify_attestation(document, expect)) {
    if (c.name == "nonce") nonce_checked = !c.passed;
  }
  EXPECT_TRUE(nonce_checked) << "a report for another nonce passed";
  EXPECT_EQ(refusal_of(client_.attest(Bytes(8, 1))), "bad_request");
}

}  // namespace
}  // namespace nsl::enclave
