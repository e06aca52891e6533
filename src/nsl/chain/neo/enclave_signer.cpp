#include "nsl/chain/neo/enclave_signer.hpp"

#include <stdexcept>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"

namespace nsl::chain::neo {

EnclaveAccountSigner::EnclaveAccountSigner(enclave::EnclaveClient& enclave, enclave::SealedKey key)
    : enclave_(enclave), key_(std::move(key)) {
  if (key_.kind != "secp256r1" || key_.public_key.size() != 33) {
    throw std::invalid_argument("a Neo N3 signer needs a secp256r1 key (33-byte compressed public key)");
  }
  PublicKey pub{};
  std::copy(key_.public_key.begin(), key_.public_key.end(), pub.begin());
  verification_ = single_sig_script(pub);
}

asio::awaitable<Bytes> EnclaveAccountSigner::invocation(Bytes sign_data) {
  const auto digest = crypto::sha256(sign_data);
  const auto sig = co_await enclave_.sign(key_, Bytes(digest.begin(), digest.end()));
  // The enclave signs what it is given; check the signature is this key's before it goes on chain.
  if (sig.bytes.size() != 64 || !crypto::p256::verify_digest(key_.public_key, digest, sig.bytes)) {
    throw std::runtime_error("the enclave's signature does not verify with the signer's key");
  }
  co_return signature_invocation(sig.bytes);
}

}  // namespace nsl::chain::neo
