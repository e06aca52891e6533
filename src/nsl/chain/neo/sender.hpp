#pragma once

#include <chrono>
#include <optional>

#include "nsl/chain/neo/rpc.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/core/asio.hpp"

namespace nsl::chain::neo {

/// Signs for one single- or multi-signature account. The enclave's key management will
/// implement it; the server never holds production keys.
class AccountSigner {
 public:
  virtual ~AccountSigner() = default;
  /// The account's verification script (its hash is the account).
  virtual const Bytes& verification_script() const = 0;
  /// The invocation script over the 36-byte sign data (PUSHDATA1 64 <sig> per signature).
  virtual asio::awaitable<Bytes> invocation(Bytes sign_data) = 0;
};

/// A single-signature signer holding its key in this process: development networks and tests only.
class LocalKeySigner final : public AccountSigner {
 public:
  explicit LocalKeySigner(Bytes private_key);
  const Bytes& verification_script() const override { return verification_; }
  asio::awaitable<Bytes> invocation(Bytes sign_data) override;

 private:
  crypto::SecretBytes key_;
  Bytes verification_;
};

struct SenderOptions {
  /// Blocks a version stays valid; capped below the network's maxvaliduntilblockincrement.
  std::uint32_t valid_for_blocks = 100;
  /// Added to the test run's GAS, for state that changes before execution (datoshi).
  std::int64_t system_fee_margin = 0;
  std::chrono::milliseconds poll_interval{500};
  /// Versions sent again (fresh nonce and validity) after one expired without being included.
  int max_resends = 3;
};

/// A transaction on its way: its current version and how it was built.
struct Pending {
  Transaction tx;
  UInt256 hash{};
  bool sent = false;
  int resends = 0;
};

/// Sends contract invocations from one account and follows them to their execution.
/// Transactions carry random nonces, so any number can be in flight from one account.
class TransactionSender {
 public:
  TransactionSender(RpcClient& rpc, AccountSigner& signer, SenderOptions options = {});

  /// Builds and signs a version: system fee from a test run (a script whose test run FAULTs is
  /// refused with the VM's exception), network fee from calculatenetworkfee, validity within the
  /// network's window. Does not send it.
  asio::awaitable<Pending> prepare(Bytes script);
  /// prepare() and send.
  asio::awaitable<Pending> submit(Bytes script);
  /// Waits for the execution (HALT, or FAULT with its exception). A version that expires without
  /// being included can never be, so a fresh one is built and sent, up to max_resends; then
  /// std::runtime_error.
  asio::awaitable<Execution> confirm(Pending& pending);

 private:
  asio::awaitable<void> send(Pending& p);

  RpcClient& rpc_;
  AccountSigner& signer_;
  SenderOptions options_;
  std::optional<Version> version_;
};

}  // namespace nsl::chain::neo
