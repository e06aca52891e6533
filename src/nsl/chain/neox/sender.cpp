#include "nsl/chain/neox/sender.hpp"

#include <stdexcept>

#include <boost/asio/this_coro.hpp>

#include "nsl/core/strings.hpp"
#include "nsl/crypto/secp256k1.hpp"

namespace nsl::chain::neox {
namespace {

using Clock = std::chrono::steady_clock;

// v * (100 + percent) / 100, rounded up.
Uint256 bumped(const Uint256& v, unsigned percent) {
  const auto scaled = v.checked_mul(100 + percent);
  if (!scaled) throw std::overflow_error("fee too large to bump");
  auto [q, rem] = scaled->divmod(100);
  return rem ? q + Uint256(1) : q;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

bool mentions(const RpcError& e, std::string_view what) { return to_lower(e.what()).find(what) != std::string::npos; }

}  // namespace

LocalKeySigner::LocalKeySigner(crypto::Bytes private_key) : key_(std::move(private_key)) {
  address_ = address_of(crypto::secp256k1::public_key(key_.view()));
}

asio::awaitable<TxSignature> LocalKeySigner::sign(const Transaction& tx) { co_return neox::sign(tx, key_.view()); }

TransactionSender::TransactionSender(RpcClient& rpc, Signer& signer, SenderOptions options)
    : rpc_(rpc), signer_(signer), options_(options) {}

asio::awaitable<std::uint64_t> TransactionSender::take_nonce() {
  {
    std::lock_guard lock(mutex_);
    if (next_nonce_) co_return (*next_nonce_)++;
  }
  const auto pending = co_await rpc_.transaction_count(signer_.address());
  std::lock_guard lock(mutex_);
  if (!next_nonce_) next_nonce_ = pending;  // another caller may have set it meanwhile
  co_return (*next_nonce_)++;
}

asio::awaitable<void> TransactionSender::resync_nonce() {
  const auto pending = co_await rpc_.transaction_count(signer_.address());
  std::lock_guard lock(mutex_);
  next_nonce_ = pending;
}

asio::awaitable<void> TransactionSender::sign_and_send(Submitted& s) {
  const auto sig = co_await signer_.sign(s.tx);
  const auto raw = encode_signed(s.tx, sig);
  s.hash = transaction_hash(raw);
  s.versions.push_back(s.hash);
  (void)co_await rpc_.send_raw_transaction(raw);
}

asio::awaitable<Submitted> TransactionSender::submit(TxRequest request) {
  if (!chain_id_) chain_id_ = co_await rpc_.chain_id();
  Submitted s;
  auto& tx = s.tx;
  tx.type = Transaction::Type::eip1559;
  tx.chain_id = *chain_id_;
  tx.to = request.to;
  tx.value = request.value;
  tx.data = std::move(request.data);
  if (request.gas_limit) {
    tx.gas_limit = *request.gas_limit;
  } else {
    const auto estimate = co_await rpc_.estimate_gas({signer_.address(), tx.to, tx.data, tx.value});
    tx.gas_limit = estimate + estimate / 5;
  }
  // Fees: the node's tip raised to the policy minimum; a fee cap of twice the base fee plus
  // the tip (Neo X's base fee is fixed by policy, so this leaves room without overpaying).
  auto tip = co_await rpc_.max_priority_fee_per_gas();
  if (tip < options_.min_priority_fee) tip = options_.min_priority_fee;
  nlohmann::json params = nlohmann::json::array({"latest", false});
  const auto block = co_await rpc_.call("eth_getBlockByNumber", std::move(params));
  const Uint256 base = block.contains("baseFeePerGas") ? parse_quantity(block["baseFeePerGas"]) : Uint256(0);
  tx.max_priority_fee_per_gas = tip;
  tx.max_fee_per_gas = base + base + tip;
  if (!options_.max_fee_cap.is_zero() && options_.max_fee_cap < tx.max_fee_per_gas) {
    if (options_.max_fee_cap < base + tip) {
      throw std::invalid_argument("the fee cap is below the base fee plus the minimum tip");
    }
    tx.max_fee_per_gas = options_.max_fee_cap;
  }
  tx.nonce = co_await take_nonce();
  std::exception_ptr refused;
  try {
    co_await sign_and_send(s);
  } catch (const RpcError&) {
    refused = std::current_exception();
  }
  if (refused) {
    // The node refused it, so the nonce is unused: later submissions take the node's view of
    // the account (transactions already sent with higher nonces wait until the gap is filled).
    co_await resync_nonce();
    std::rethrow_exception(refused);
  }
  co_return s;
}

asio::awaitable<Receipt> TransactionSender::confirm(Submitted& s) {
  const auto give_up = Clock::now() + options_.give_up_after;
  auto replace_at = Clock::now() + options_.replace_after;
  int replacements = 0;
  while (Clock::now() < give_up) {
    for (auto it = s.versions.rbegin(); it != s.versions.rend(); ++it) {
      auto receipt = co_await rpc_.transaction_receipt(*it);
      if (!receipt) continue;
      const auto head = co_await rpc_.block_number();
      if (head + 1 >= receipt->block_number + static_cast<std::uint64_t>(options_.confirmations)) co_return *receipt;
      replace_at = Clock::time_point::max();  // included: wait for confirmations, never replace
    }
    if (Clock::now() >= replace_at && replacements < options_.max_replacements) {
      s.tx.max_priority_fee_per_gas = bumped(s.tx.max_priority_fee_per_gas, options_.bump_percent);
      s.tx.max_fee_per_gas = bumped(s.tx.max_fee_per_gas, options_.bump_percent);
      if (!options_.max_fee_cap.is_zero() && options_.max_fee_cap < s.tx.max_fee_per_gas) {
        s.tx.max_fee_per_gas = options_.max_fee_cap;
      }
      ++replacements;
      try {
        co_await sign_and_send(s);
      } catch (const RpcError& e) {
        // "nonce too low": a version was included meanwhile; the next pass finds its receipt.
        // "underpriced": the next replacement bumps again.
        if (!mentions(e, "nonce") && !mentions(e, "underpriced") && !mentions(e, "already")) throw;
        s.versions.pop_back();
      }
      replace_at = Clock::now() + options_.replace_after;
    }
    co_await pause(options_.poll_interval);
  }
  throw std::runtime_error("transaction not confirmed in time");
}

asio::awaitable<Receipt> TransactionSender::send(TxRequest request) {
  auto s = co_await submit(std::move(request));
  auto r = co_await confirm(s);
  co_return r;
}

}  // namespace nsl::chain::neox
