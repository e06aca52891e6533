#include "nsl/chain/neo/account.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "nsl/chain/neo/script.hpp"
#include "nsl/crypto/base58.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>

namespace nsl::chain::neo {

Bytes single_sig_script(const PublicKey& key) { return ScriptBuilder().push_bytes(key).syscall("System.Crypto.CheckSig").take(); }

Bytes multisig_script(std::size_t m, std::vector<PublicKey> keys) {
  if (m < 1 || m > keys.size() || keys.size() > 1024) throw std::invalid_argument("multisig needs 1 <= m <= n <= 1024");
  std::sort(keys.begin(), keys.end());
  ScriptBuilder b;
  b.push(static_cast<std::int64_t>(m));
  for (const auto& k : keys) b.push_bytes(k);
  b.push(static_cast<std::int64_t>(keys.size()));
  return b.syscall("System.Crypto.CheckMultisig").take();
}

UInt160 script_hash(ByteView verification_script) { return crypto::hash160(verification_script); }

std::string to_address(const UInt160& hash) {
  Bytes payload{kAddressVersion};
  payload.insert(payload.end(), hash.begin(), hash.end());
  return crypto::base58check_encode(payload);
}

std::optional<UInt160> parse_address(std::string_view address) {
  const auto payload = crypto::base58check_decode(address);
  if (!payload || payload->size() != 21 || (*payload)[0] != kAddressVersion) return std::nullopt;
  UInt160 h{};
  std::copy(payload->begin() + 1, payload->end(), h.begin());
  return h;
}

std::optional<Bytes> decode_wif(std::string_view wif) {
  auto payload = crypto::base58check_decode(wif);
  if (!payload || payload->size() != 34 || (*payload)[0] != 0x80 || (*payload)[33] != 0x01) {
    if (payload) crypto::wipe(payload->data(), payload->size());
    return std::nullopt;
  }
  Bytes key(payload->begin() + 1, payload->begin() + 33);
  crypto::wipe(payload->data(), payload->size());
  return key;
}

std::string encode_wif(ByteView private_key) {
  Bytes payload{0x80};
  payload.insert(payload.end(), private_key.begin(), private_key.end());
  payload.push_back(0x01);
  auto out = crypto::base58check_encode(payload);
  crypto::wipe(payload.data(), payload.size());
  return out;
}

namespace {

std::array<std::uint8_t, 4> address_hash(ByteView private_key) {
  const auto address = to_address(script_hash(single_sig_script(crypto::p256::public_key(private_key))));
  const auto h = crypto::hash256(crypto::as_bytes(address));
  return {h[0], h[1], h[2], h[3]};
}

// scrypt(passphrase, salt = address hash, N, r = 8, p = 8, 64 bytes).
crypto::SecretBytes derive(std::string_view passphrase, const std::array<std::uint8_t, 4>& salt, std::uint64_t n) {
  Bytes out(64);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(), salt.size(), n, 8, 8, 1u << 30, out.data(), out.size()) !=
      1) {
    throw std::runtime_error("scrypt failed");
  }
  return crypto::SecretBytes(std::move(out));
}

// AES-256-ECB over exactly 32 bytes, no padding.
Bytes aes256_ecb(ByteView key, ByteView data, bool encrypt) {
  struct CtxFree {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
  };
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  Bytes out(data.size() + 32);
  int len = 0;
  int total = 0;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out.data(), &len, data.data(), static_cast<int>(data.size())) != 1) {
    throw std::runtime_error("AES-256 failed");
  }
  total = len;
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + total, &len) != 1) throw std::runtime_error("AES-256 failed");
  out.resize(static_cast<std::size_t>(total) + static_cast<std::size_t>(len));
  return out;
}

}  // namespace

std::string nep2_encrypt(ByteView private_key, std::string_view passphrase, std::uint64_t scrypt_n) {
  const auto salt = address_hash(private_key);
  const auto derived = derive(passphrase, salt, scrypt_n);
  Bytes xored(32);
  for (std::size_t i = 0; i < 32; ++i) xored[i] = static_cast<std::uint8_t>(private_key[i] ^ derived.view()[i]);
  const auto encrypted = aes256_ecb(derived.view().subspan(32), xored, true);
  crypto::wipe(xored.data(), xored.size());
  Bytes payload{0x01, 0x42, 0xE0};
  payload.insert(payload.end(), salt.begin(), salt.end());
  payload.insert(payload.end(), encrypted.begin(), encrypted.end());
  return crypto::base58check_encode(payload);
}

std::optional<Bytes> nep2_decrypt(std::string_view nep2, std::string_view passphrase, std::uint64_t scrypt_n) {
  const auto payload = crypto::base58check_decode(nep2);
  if (!payload || payload->size() != 39 || (*payload)[0] != 0x01 || (*payload)[1] != 0x42 || (*payload)[2] != 0xE0) {
    return std::nullopt;
  }
  const std::array<std::uint8_t, 4> salt{(*payload)[3], (*payload)[4], (*payload)[5], (*payload)[6]};
  const auto derived = derive(passphrase, salt, scrypt_n);
  auto xored = aes256_ecb(derived.view().subspan(32), ByteView(*payload).subspan(7), false);
  Bytes key(32);
  for (std::size_t i = 0; i < 32; ++i) key[i] = static_cast<std::uint8_t>(xored[i] ^ derived.view()[i]);
  crypto::wipe(xored.data(), xored.size());
  // A wrong passphrase gives some other key: its address hash does not match.
  if (!crypto::p256::is_valid_private_key(key) || address_hash(key) != salt) {
    crypto::wipe(key.data(), key.size());
    return std::nullopt;
  }
  return key;
}

}  // namespace nsl::chain::neo
