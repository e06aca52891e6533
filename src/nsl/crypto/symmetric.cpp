#include "nsl/crypto/symmetric.hpp"

#include <array>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

namespace nsl::crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

int as_int(std::size_t n) {
  if (n > static_cast<std::size_t>(INT32_MAX)) throw std::invalid_argument("input too large");
  return static_cast<int>(n);
}

void check_gcm(ByteView key, ByteView nonce) {
  if (key.size() != aes256gcm::kKeySize) throw std::invalid_argument("AES-256-GCM needs a 32-byte key");
  if (nonce.size() != aes256gcm::kNonceSize) throw std::invalid_argument("AES-256-GCM needs a 12-byte nonce");
}

// Algorithms fetched once: an implicit fetch on every call takes the provider store's lock, which
// showed in profiles of the enclave signing under load.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  require(md != nullptr, "SHA-256 fetch");
  return md;
}

const EVP_CIPHER* aes256gcm_cipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  require(cipher != nullptr, "AES-256-GCM fetch");
  return cipher;
}

Pkey ed25519_key(ByteView seed) {
  if (seed.size() != 32) throw std::invalid_argument("an Ed25519 private key is 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  require(key != nullptr, "Ed25519 key");
  return key;
}

}  // namespace

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  require(RAND_bytes(out.data(), as_int(n)) == 1, "RAND_bytes");
  return out;
}

LockedBytes random_locked(std::size_t n) {
  LockedBytes out(n);
  require(RAND_priv_bytes(out.data(), as_int(n)) == 1, "RAND_priv_bytes");
  return out;
}

// RFC 2104 over SHA-256 (block size 64).
Hash256 hmac_sha256(ByteView key, ByteView data) {
  std::array<std::uint8_t, 64> block{};
  if (key.size() > block.size()) {
    Hash256 hashed{};
    MdCtx c(EVP_MD_CTX_new());
    require(c && EVP_DigestInit_ex2(c.get(), sha256_md(), nullptr) == 1 &&
                EVP_DigestUpdate(c.get(), key.data(), key.size()) == 1 &&
                EVP_DigestFinal_ex(c.get(), hashed.data(), nullptr) == 1,
            "HMAC-SHA256 key");
    std::copy(hashed.begin(), hashed.end(), block.begin());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<std::uint8_t, 64> pad{};
  Hash256 inner{}, out{};
  MdCtx c(EVP_MD_CTX_new());
  require(c != nullptr, "HMAC-SHA256");
  for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x36;
  require(EVP_DigestInit_ex2(c.get(), sha256_md(), nullptr) == 1 && EVP_DigestUpdate(c.get(), pad.data(), pad.size()) == 1 &&
              EVP_DigestUpdate(c.get(), data.data(), data.size()) == 1 && EVP_DigestFinal_ex(c.get(), inner.data(), nullptr) == 1,
          "HMAC-SHA256");
  for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x5c;
  require(EVP_DigestInit_ex2(c.get(), sha256_md(), nullptr) == 1 && EVP_DigestUpdate(c.get(), pad.data(), pad.size()) == 1 &&
              EVP_DigestUpdate(c.get(), inner.data(), inner.size()) == 1 && EVP_DigestFinal_ex(c.get(), out.data(), nullptr) == 1,
          "HMAC-SHA256");
  wipe(block.data(), block.size());
  wipe(pad.data(), pad.size());
  wipe(inner.data(), inner.size());
  return out;
}

Bytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length) {
  if (length == 0 || length > 255 * 32) throw std::invalid_argument("HKDF-SHA256 output must be 1..8160 bytes");
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  require(ctx != nullptr, "HKDF context");
  require(EVP_PKEY_derive_init(ctx.get()) == 1, "HKDF init");
  require(EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) == 1, "HKDF digest");
  // An empty salt means a zero-filled one (RFC 5869 §2.2), which OpenSSL applies when none is set.
  if (!salt.empty()) require(EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt.data(), as_int(salt.size())) == 1, "HKDF salt");
  require(EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), ikm.data(), as_int(ikm.size())) == 1, "HKDF key");
  if (!info.empty()) require(EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info.data(), as_int(info.size())) == 1, "HKDF info");
  Bytes out(length);
  std::size_t len = length;
  require(EVP_PKEY_derive(ctx.get(), out.data(), &len) == 1 && len == length, "HKDF derive");
  return out;
}

namespace aes256gcm {

Bytes seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
  check_gcm(key, nonce);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  require(ctx != nullptr, "cipher context");
  require(EVP_EncryptInit_ex(ctx.get(), aes256gcm_cipher(), nullptr, key.data(), nonce.data()) == 1, "AES-GCM init");
  int len = 0;
  if (!aad.empty()) require(EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), as_int(aad.size())) == 1, "AES-GCM aad");
  Bytes out(plaintext.size() + kTagSize);
  int written = 0;
  if (!plaintext.empty()) {
    require(EVP_EncryptUpdate(ctx.get(), out.data(), &written, plaintext.data(), as_int(plaintext.size())) == 1,
            "AES-GCM encrypt");
  }
  require(EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &len) == 1, "AES-GCM final");
  require(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), out.data() + plaintext.size()) == 1,
          "AES-GCM tag");
  return out;
}

namespace {

// Decrypts into `out` (sealed.size() - kTagSize bytes); false when the tag does not verify.
template <class Buffer>
std::optional<Buffer> open_into(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  check_gcm(key, nonce);
  std::optional<Buffer> result;
  if (sealed.size() < kTagSize) return result;
  const std::size_t n = sealed.size() - kTagSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  require(ctx != nullptr, "cipher context");
  require(EVP_DecryptInit_ex(ctx.get(), aes256gcm_cipher(), nullptr, key.data(), nonce.data()) == 1, "AES-GCM init");
  int len = 0;
  if (!aad.empty()) require(EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), as_int(aad.size())) == 1, "AES-GCM aad");
  Buffer out(n);
  int written = 0;
  if (n > 0) require(EVP_DecryptUpdate(ctx.get(), out.data(), &written, sealed.data(), as_int(n)) == 1, "AES-GCM decrypt");
  Bytes tag(sealed.begin() + static_cast<std::ptrdiff_t>(n), sealed.end());
  require(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) == 1, "AES-GCM tag");
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + written, &len) != 1) {
    wipe(out.data(), out.size());
    return result;
  }
  result = std::move(out);
  return result;
}

}  // namespace

std::optional<Bytes> open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  return open_into<Bytes>(key, nonce, aad, sealed);
}

std::optional<LockedBytes> open_locked(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  return open_into<LockedBytes>(key, nonce, aad, sealed);
}

}  // namespace aes256gcm

namespace ed25519 {

std::array<std::uint8_t, 32> public_key(ByteView seed) {
  const auto key = ed25519_key(seed);
  std::array<std::uint8_t, 32> out{};
  std::size_t len = out.size();
  require(EVP_PKEY_get_raw_public_key(key.get(), out.data(), &len) == 1 && len == out.size(), "Ed25519 public key");
  return out;
}

std::array<std::uint8_t, 64> sign(ByteView seed, ByteView message) {
  const auto key = ed25519_key(seed);
  MdCtx ctx(EVP_MD_CTX_new());
  require(ctx != nullptr && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1, "Ed25519 sign init");
  std::array<std::uint8_t, 64> out{};
  std::size_t len = out.size();
  require(EVP_DigestSign(ctx.get(), out.data(), &len, message.data(), message.size()) == 1 && len == out.size(), "Ed25519 sign");
  return out;
}

bool verify(ByteView public_key, ByteView message, ByteView signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!key) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  require(ctx != nullptr, "digest context");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
}

}  // namespace ed25519
}  // namespace nsl::crypto
