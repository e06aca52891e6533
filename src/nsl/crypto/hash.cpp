#include "nsl/crypto/hash.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include <cryptopp/keccak.h>

namespace nsl::crypto {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

template <std::size_t N>
std::array<std::uint8_t, N> digest(const char* name, ByteView data) {
  // Fetched once: RIPEMD-160 lives in OpenSSL 3's default provider from 3.0.7 on.
  static EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (!md) throw std::runtime_error(std::string("OpenSSL has no ") + name);
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::array<std::uint8_t, N> out{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 || EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != N) {
    throw std::runtime_error(std::string(name) + " failed");
  }
  return out;
}

}  // namespace

Hash256 sha256(ByteView data) { return digest<32>("SHA256", data); }

std::array<std::uint8_t, 20> ripemd160(ByteView data) { return digest<20>("RIPEMD160", data); }

std::array<std::uint8_t, 20> hash160(ByteView data) {
  const auto s = sha256(data);
  return ripemd160(s);
}

Hash256 hash256(ByteView data) {
  const auto s = sha256(data);
  return sha256(s);
}

Hash256 keccak256(ByteView data) {
  CryptoPP::Keccak_256 k;
  k.Update(data.data(), data.size());
  Hash256 out{};
  k.Final(out.data());
  return out;
}

}  // namespace nsl::crypto
