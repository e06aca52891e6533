#include "nsl/services/identity/wallet.hpp"

#include <algorithm>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neox/abi.hpp"
#include "nsl/chain/neox/address.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"

namespace nsl::services::identity {
namespace {

bool neo_n3_valid(const std::string& address, const std::string& message, crypto::ByteView signature,
                  crypto::ByteView public_key) {
  if (public_key.size() != 33) {
    throw RequestError(ErrorKind::bad_request, "public_key must be the 33-byte compressed key (hex)")
        .with_field("public_key", "must be the 33-byte compressed key (hex)");
  }
  chain::neo::PublicKey key{};
  std::copy(public_key.begin(), public_key.end(), key.begin());
  const bool owns = chain::neo::to_address(chain::neo::script_hash(chain::neo::single_sig_script(key))) == address;
  return owns && signature.size() == 64 && crypto::p256::verify(public_key, crypto::as_bytes(message), signature);
}

bool neo_x_valid(const std::string& address, const std::string& message, crypto::ByteView signature) {
  if (signature.size() != 65) return false;
  crypto::secp256k1::RecoverableSignature rs;
  std::copy(signature.begin(), signature.begin() + 32, rs.r.begin());
  std::copy(signature.begin() + 32, signature.begin() + 64, rs.s.begin());
  const int v = signature[64];
  rs.recovery_id = v >= 27 ? v - 27 : v;
  if (rs.recovery_id != 0 && rs.recovery_id != 1) return false;
  const auto recovered = crypto::secp256k1::recover(chain::neox::abi::eip191_message_hash(crypto::as_bytes(message)), rs);
  return recovered && chain::neox::to_checksum(chain::neox::address_of(*recovered)) == address;
}

}  // namespace

std::string wallet_address(const std::string& chain, const std::string& address) {
  if (chain == "neo-n3") {
    if (!chain::neo::parse_address(address)) {
      throw RequestError(ErrorKind::bad_request, "not a Neo N3 address").with_field("address", "is not a Neo N3 address");
    }
    return address;
  }
  if (chain == "neo-x") {
    const auto a = chain::neox::parse_address(address);
    if (!a) throw RequestError(ErrorKind::bad_request, "not a Neo X address").with_field("address", "is not a Neo X address");
    return chain::neox::to_checksum(*a);
  }
  throw RequestError(ErrorKind::bad_request, "chain must be neo-n3 or neo-x").with_field("chain", "must be neo-n3 or neo-x");
}

bool wallet_signature_valid(const std::string& chain, const std::string& address, const std::string& message,
                            crypto::ByteView signature, crypto::ByteView public_key) {
  if (chain == "neo-n3") return neo_n3_valid(address, message, signature, public_key);
  return neo_x_valid(address, message, signature);
}

}  // namespace nsl::services::identity
