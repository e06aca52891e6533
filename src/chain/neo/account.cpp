#include "nsl/chain/neo/account.hpp"

#include <algorithm>
#include <stdexcept>

#include "nsl/chain/neo/script.hpp"
#include "nsl/crypto/base58.hpp"
#include "nsl/crypto/hash.hpp"

namespace nsl::chain::neo {

Bytes single_sig_script(const PublicKey& key) {
  return ScriptBuilder().push_bytes(key).syscall("System.Crypto.CheckSig").take();
}

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

}  // namespace nsl::chain::neo
