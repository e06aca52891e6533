#include "nsl/crypto/symmetric.hpp"

#include <gtest/gtest.h>

#include "nsl/crypto/key_wrap.hpp"
#include "nsl/crypto/p256.hpp"

namespace nsl::crypto {
namespace {

Bytes hex(std::string_view h) { return from_hex(h).value(); }

TEST(Hkdf, Rfc5869TestCase1) {
  const auto okm = hkdf_sha256(Bytes(22, 0x0b), hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  EXPECT_EQ(to_hex(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869TestCase3WithoutSaltOrInfo) {
  const auto okm = hkdf_sha256(Bytes(22, 0x0b), {}, {}, 42);
  EXPECT_EQ(to_hex(okm), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HmacSha256, Rfc4231TestCase2) {
  EXPECT_EQ(to_hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, Rfc4231TestCase6KeyLongerThanABlock) {
  EXPECT_EQ(to_hex(hmac_sha256(Bytes(131, 0xaa), as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// The GCM specification's test case 16 (AES-256, 60-byte plaintext, 20-byte AAD).
TEST(Aes256Gcm, SpecificationTestCase16) {
  const auto key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const auto nonce = hex("cafebabefacedbaddecaf888");
  const auto aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const auto plain =
      hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
          "49a6b525b16aedf5aa0de657ba637b39");
  const auto sealed = aes256gcm::seal(key, nonce, aad, plain);
  EXPECT_EQ(to_hex(sealed),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393"
            "ba7a0abcc9f662"
            "76fc6ece0f4e1768cddf8853bb2d551b");
  EXPECT_EQ(aes256gcm::open(key, nonce, aad, sealed), plain);
}

TEST(Aes256Gcm, AnyChangeFailsToOpen) {
  const auto key = random_bytes(32);
  const auto nonce = random_bytes(12);
  const auto aad = as_bytes("tenant-1/key-7");
  const auto sealed = aes256gcm::seal(key, nonce, aad, as_bytes("secret value"));
  ASSERT_TRUE(aes256gcm::open(key, nonce, aad, sealed));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(aes256gcm::open(key, nonce, aad, bad)) << "byte " << i;
  }
  EXPECT_FALSE(aes256gcm::open(key, nonce, as_bytes("tenant-2/key-7"), sealed));
  EXPECT_FALSE(aes256gcm::open(random_bytes(32), nonce, aad, sealed));
  EXPECT_FALSE(aes256gcm::open(key, random_bytes(12), aad, sealed));
  EXPECT_FALSE(aes256gcm::open(key, nonce, aad, Bytes(sealed.begin(), sealed.begin() + 10)));
  EXPECT_THROW(aes256gcm::seal(Bytes(16, 0), nonce, aad, sealed), std::invalid_argument);
  // Empty plaintext still authenticates.
  const auto empty = aes256gcm::seal(key, nonce, aad, {});
  EXPECT_EQ(empty.size(), aes256gcm::kTagSize);
  EXPECT_EQ(aes256gcm::open(key, nonce, aad, empty), Bytes{});
}

// RFC 8032 §7.1 tests 1 and 2.
TEST(Ed25519, Rfc8032Vectors) {
  const auto seed1 = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  EXPECT_EQ(to_hex(ed25519::public_key(seed1)), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const auto sig1 = ed25519::sign(seed1, {});
  EXPECT_EQ(to_hex(sig1),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595b"
            "be24655141438e7a100b");
  const auto seed2 = hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  const auto pub2 = ed25519::public_key(seed2);
  EXPECT_EQ(to_hex(pub2), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const auto sig2 = ed25519::sign(seed2, hex("72"));
  EXPECT_EQ(to_hex(sig2),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb430"
            "2aeeb00d291612bb0c00");
  EXPECT_TRUE(ed25519::verify(pub2, hex("72"), sig2));
  EXPECT_FALSE(ed25519::verify(pub2, hex("73"), sig2));
  EXPECT_FALSE(ed25519::verify(ed25519::public_key(seed1), hex("72"), sig2));
}

// NIST CAVS ECC CDH primitive test vector, P-256 COUNT = 0.
TEST(P256Ecdh, NistCdhVector) {
  const auto peer =
      hex("04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287"
          "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac");
  const auto d = hex("7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534");
  const auto z = p256::ecdh(d, peer);
  ASSERT_TRUE(z.has_value());
  EXPECT_EQ(to_hex(*z), "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b");
  auto off_curve = peer;
  off_curve[64] ^= 1;
  EXPECT_FALSE(p256::ecdh(d, off_curve).has_value());
  EXPECT_FALSE(p256::is_valid_public_key(off_curve));
  EXPECT_TRUE(p256::is_valid_public_key(peer));
}

TEST(KeyWrap, OnlyTheRecipientUnwrapsAndAnyChangeFails) {
  const auto recipient = hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
  const auto other = hex("0f56db78ca460b055c500064824bed999a25aaf48ebb519ac201537b85479813");
  const auto secret = hex("1111111111111111111111111111111111111111111111111111111111111111");
  const auto pub = p256::public_key(recipient);
  const auto w = key_wrap::wrap(pub, "secp256k1", secret);
  EXPECT_EQ(w.ephemeral.size(), 33u);
  EXPECT_EQ(w.ciphertext.size(), 32u + aes256gcm::kTagSize);
  EXPECT_EQ(key_wrap::unwrap(recipient, w), secret);
  EXPECT_FALSE(key_wrap::unwrap(other, w).has_value());
  auto relabelled = w;
  relabelled.kind = "secp256r1";  // the kind is bound: a key cannot be imported as another kind
  EXPECT_FALSE(key_wrap::unwrap(recipient, relabelled).has_value());
  auto flipped = w;
  flipped.ciphertext[3] ^= 0x40;
  EXPECT_FALSE(key_wrap::unwrap(recipient, flipped).has_value());
  auto other_ephemeral = w;
  other_ephemeral.ephemeral = Bytes(pub.begin(), pub.end());
  EXPECT_FALSE(key_wrap::unwrap(recipient, other_ephemeral).has_value());
  EXPECT_THROW(key_wrap::wrap(hex("02aa"), "secp256k1", secret), std::invalid_argument);
}

}  // namespace
}  // namespace nsl::crypto
