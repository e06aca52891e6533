#include "nsl/chain/neo/sender.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>

#include <boost/asio/this_coro.hpp>

#include "nsl/chain/neo/account.hpp"
#include "nsl/crypto/p256.hpp"

namespace nsl::chain::neo {

LocalKeySigner::LocalKeySigner(Bytes private_key)
    : key_(std::move(private_key)), verification_(single_sig_script(crypto::p256::public_key(key_.view()))) {}

asio::awaitable<Bytes> LocalKeySigner::invocation(Bytes sign_data) {
  co_return signature_invocation(crypto::p256::sign(key_.view(), sign_data));
}

TransactionSender::TransactionSender(RpcClient& rpc, AccountSigner& signer, SenderOptions options)
    : rpc_(rpc), signer_(signer), options_(options) {}

asio::awaitable<Pending> TransactionSender::prepare(Bytes script) {
  if (!version_) version_ = co_await rpc_.version();
  Pending p;
  auto& tx = p.tx;
  static thread_local std::mt19937 nonces{std::random_device{}()};
  tx.nonce = nonces();
  tx.signers.push_back({script_hash(signer_.verification_script()), kCalledByEntry, {}, {}});
  tx.script = std::move(script);
  const auto test_run = co_await rpc_.invoke_script(tx.script, tx.signers);
  if (test_run.state != "HALT") {
    throw std::invalid_argument("the script faults in a test run: " + test_run.exception);
  }
  tx.system_fee = test_run.gas_consumed + options_.system_fee_margin;
  const auto window = version_->max_valid_until_block_increment > 1 ? version_->max_valid_until_block_increment - 1 : 1;
  tx.valid_until_block = co_await rpc_.block_count() + std::min(options_.valid_for_blocks, window);
  tx.witnesses.push_back({{}, signer_.verification_script()});  // empty invocation for the fee
  tx.network_fee = co_await rpc_.calculate_network_fee(serialize(tx));
  tx.witnesses[0].invocation = co_await signer_.invocation(sign_data(tx, version_->network));
  p.hash = transaction_hash(tx);
  co_return p;
}

asio::awaitable<void> TransactionSender::send(Pending& p) {
  const auto hash = co_await rpc_.send_raw_transaction(serialize(p.tx));
  if (hash != p.hash) throw std::runtime_error("the node reports another hash for the transaction sent");
  p.sent = true;
}

asio::awaitable<Pending> TransactionSender::submit(Bytes script) {
  auto p = co_await prepare(std::move(script));
  co_await send(p);
  co_return p;
}

asio::awaitable<Execution> TransactionSender::confirm(Pending& p) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    if (auto execution = co_await rpc_.application_log(p.hash)) co_return *execution;
    // Past its validUntilBlock a version can never be included: building a new one is safe.
    const auto height = co_await rpc_.block_count() - 1;
    if (height >= p.tx.valid_until_block) {
      if (auto execution = co_await rpc_.application_log(p.hash)) co_return *execution;  // included at the last block
      if (p.resends >= options_.max_resends) throw std::runtime_error("transaction expired without being included");
      const int resends = p.resends + 1;
      p = co_await prepare(p.tx.script);
      p.resends = resends;
      co_await send(p);
    }
    timer.expires_after(options_.poll_interval);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace nsl::chain::neo
