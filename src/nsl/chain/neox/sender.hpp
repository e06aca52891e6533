#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "nsl/chain/neox/rpc.hpp"
#include "nsl/chain/neox/transaction.hpp"
#include "nsl/core/asio.hpp"

namespace nsl::chain::neox {

/// Signs transactions for one account. The enclave's key management will implement it; the
/// server never holds production keys.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual Address address() const = 0;
  virtual asio::awaitable<TxSignature> sign(const Transaction& tx) = 0;
};

/// A signer holding its key in this process: for development networks and tests only.
class LocalKeySigner final : public Signer {
 public:
  explicit LocalKeySigner(crypto::Bytes private_key);
  Address address() const override { return address_; }
  asio::awaitable<TxSignature> sign(const Transaction& tx) override;

 private:
  crypto::SecretBytes key_;
  Address address_{};
};

struct SenderOptions {
  /// Neo X's Policy contract rejects tips below its minGasTipCap (20 gwei on MainNet); the node's
  /// suggested tip is raised to at least this.
  Uint256 min_priority_fee;
  /// Never offer more than this per gas (0: no cap).
  Uint256 max_fee_cap;
  int confirmations = 1;
  std::chrono::milliseconds poll_interval{1000};
  /// A transaction not included by then is re-sent with higher fees.
  std::chrono::milliseconds replace_after{30'000};
  /// Fee increase of a replacement; nodes accept a replacement only from +10 %.
  unsigned bump_percent = 15;
  int max_replacements = 5;
  /// confirm() gives up after this long.
  std::chrono::milliseconds give_up_after{std::chrono::minutes(10)};
};

/// What to send.
struct TxRequest {
  std::optional<Address> to;  // none: deploy `data` as a contract
  Uint256 value;
  Bytes data;
  std::optional<std::uint64_t> gas_limit;  // none: estimated, plus 20 %
};

/// A sent transaction and every version of it (replacements share its nonce).
struct Submitted {
  Transaction tx;  // the latest version
  Hash256 hash{};  // of the latest version
  std::vector<Hash256> versions;
};

/// Sends EIP-1559 transactions from one account and sees them through to inclusion.
class TransactionSender {
 public:
  TransactionSender(RpcClient& rpc, Signer& signer, SenderOptions options);

  /// Builds (nonce, fees, gas), signs and sends. Safe to call many times concurrently: nonces
  /// are handed out in order, so many transactions can be in flight from one account.
  asio::awaitable<Submitted> submit(TxRequest request);
  /// Waits until one version is included and has the configured confirmations, re-sending
  /// with bumped fees when none is included in time. Returns the included version's receipt.
  asio::awaitable<Receipt> confirm(Submitted& submitted);
  /// submit() then confirm().
  asio::awaitable<Receipt> send(TxRequest request);

 private:
  asio::awaitable<std::uint64_t> take_nonce();
  asio::awaitable<void> resync_nonce();
  asio::awaitable<void> sign_and_send(Submitted& s);

  RpcClient& rpc_;
  Signer& signer_;
  SenderOptions options_;
  std::mutex mutex_;
  std::optional<std::uint64_t> next_nonce_;
  std::optional<std::uint64_t> chain_id_;
};

}  // namespace nsl::chain::neox
