// The Neo N3 chain layer against a real single-node neo-go network (scripts/neo-devnet.sh):
// GAS moved out of the genesis 1-of-1 multi-signature account with our transactions, scripts
// and P-256 signatures, read back with getnep17balances, sent back from a single-signature
// account, and the node's refusals of a too-low fee and an expired transaction.
//   NSL_NEO_RPC_URL  the node's RPC URL
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/rpc.hpp"
#include "nsl/chain/neo/script.hpp"
#include "nsl/chain/neo/sender.hpp"
#include "nsl/chain/neo/stack_item.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/crypto/p256.hpp"

namespace nsl::chain::neo {
namespace {

using namespace std::chrono_literals;
using nsl::testing::run_sync;

// The privnet validator key (public, test-only): the genesis funds are in its 1-of-1 multisig.
const Bytes kValidatorKey = decode_wif("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY").value();

class NeoNode : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("NSL_NEO_RPC_URL");
    ASSERT_TRUE(url && *url) << "NSL_NEO_RPC_URL is not set: start the node with scripts/neo-devnet.sh";
    client_ = std::make_unique<RpcClient>(http::JsonRpcOptions{{url}, 10s, 3, 100ms}, http_);
    version_ = run_sync(client_->version());
  }

  static Bytes random_key() {
    std::random_device rd;
    Bytes key(32);
    do {
      for (auto& b : key) b = static_cast<std::uint8_t>(rd());
    } while (!crypto::p256::is_valid_private_key(key));
    return key;
  }

  // A GAS transfer signed by one account: `verification` is its script, `key` its only key.
  Transaction transfer(const Bytes& verification, const UInt160& to, std::int64_t amount) {
    const auto from = script_hash(verification);
    Transaction tx;
    std::random_device rd;
    tx.nonce = rd();
    tx.valid_until_block = run_sync(client_->block_count()) + 100;
    tx.signers.push_back({from, kCalledByEntry, {}, {}});
    tx.script = ScriptBuilder()
                    .contract_call(gas_token_hash(), "transfer", {Arg{from}, Arg{to}, Arg::integer(amount), Arg{Arg::Null{}}})
                    .take();
    const auto test_run = run_sync(client_->invoke_script(tx.script, tx.signers));
    EXPECT_EQ(test_run.state, "HALT") << test_run.exception;
    tx.system_fee = test_run.gas_consumed;
    tx.witnesses.push_back({{}, verification});  // empty invocation: for the fee calculation
    tx.network_fee = run_sync(client_->calculate_network_fee(serialize(tx)));
    return tx;
  }

  void sign(Transaction& tx, const Bytes& key) {
    tx.witnesses.at(0).invocation = signature_invocation(crypto::p256::sign(key, sign_data(tx, version_.network)));
  }

  Execution included(const UInt256& hash) {
    for (int i = 0; i < 300; ++i) {
      if (auto e = run_sync(client_->application_log(hash))) return *e;
      std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error("transaction not included within 30 s");
  }

  std::int64_t gas_of(const UInt160& account) {
    const auto balances = run_sync(client_->nep17_balances(to_address(account)));
    const auto it = balances.find(to_display(gas_token_hash()));
    return it == balances.end() ? 0 : std::stoll(it->second);
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull_{std::fopen("/dev/null", "w"), &std::fclose};
  log::Sink sink_{log::Sink::Options{devnull_.get(), 1u << 20}};
  metrics::Registry registry_;
  http::HttpClient http_{{"neo-rpc", 2, "nsl-test"}, registry_, sink_};
  std::unique_ptr<RpcClient> client_;
  Version version_;
};

TEST_F(NeoNode, NetworkFactsComeFromTheNode) {
  EXPECT_EQ(version_.network, 56753u);  // the private network's magic, read at runtime
  EXPECT_EQ(version_.ms_per_block, 1000u);
  EXPECT_GT(version_.max_valid_until_block_increment, 0u);
  EXPECT_GE(run_sync(client_->block_count()), 3u);
}

TEST_F(NeoNode, InvokesFunctionsAndReadsBlocks) {
  const auto symbol = run_sync(client_->invoke_function(gas_token_hash(), "symbol", {}, {}));
  ASSERT_EQ(symbol.state, "HALT");
  EXPECT_EQ(parse_stack_item(symbol.stack.at(0))->as_string(), "GAS");
  const auto decimals = run_sync(client_->invoke_function(gas_token_hash(), "decimals", {}, {}));
  EXPECT_EQ(parse_stack_item(decimals.stack.at(0))->as_int64(), 8);
  const auto genesis = script_hash(multisig_script(1, {crypto::p256::public_key(kValidatorKey)}));
  const auto balance = run_sync(client_->invoke_function(gas_token_hash(), "balanceOf", {Arg{genesis}}, {}));
  EXPECT_GT(parse_stack_item(balance.stack.at(0))->as_int64().value_or(0), 0);
  const auto bad = run_sync(client_->invoke_function(gas_token_hash(), "transfer", {Arg::integer(1)}, {}));
  EXPECT_EQ(bad.state, "FAULT");  // wrong arguments: the VM faults, with the reason
  EXPECT_FALSE(bad.exception.empty());

  // An iterator: kept in a session, paged with traverseiterator, released with terminatesession.
  const auto candidates = run_sync(client_->invoke_function(neo_token_hash(), "getAllCandidates", {}, {}));
  ASSERT_EQ(candidates.state, "HALT") << candidates.exception;
  ASSERT_FALSE(candidates.session.empty());
  const auto iterator = parse_stack_item(candidates.stack.at(0));
  ASSERT_TRUE(iterator);
  EXPECT_EQ(iterator->type, StackItem::Type::InteropInterface);
  ASSERT_FALSE(iterator->iterator_id.empty());
  const auto page = run_sync(client_->traverse_iterator(candidates.session, iterator->iterator_id, 10));
  EXPECT_TRUE(page.is_array());  // no candidates registered on this network: an empty page
  EXPECT_TRUE(run_sync(client_->terminate_session(candidates.session)));
  EXPECT_FALSE(run_sync(client_->terminate_session(candidates.session)));  // gone already
  EXPECT_THROW(run_sync(client_->traverse_iterator(candidates.session, iterator->iterator_id, 10)), RpcError);

  const auto height = run_sync(client_->block_count()) - 1;
  const auto tip = run_sync(client_->block(height));
  ASSERT_TRUE(tip);
  EXPECT_EQ(tip->index, height);
  const auto parent = run_sync(client_->block(height - 1));
  ASSERT_TRUE(parent);
  EXPECT_EQ(tip->previous_hash, parent->hash);
  EXPECT_GE(tip->time_ms, parent->time_ms);
  EXPECT_FALSE(run_sync(client_->block(height + 100000)));
}

TEST_F(NeoNode, MovesGasOutOfTheGenesisMultisigAndBack) {
  const PublicKey validator = crypto::p256::public_key(kValidatorKey);
  const auto genesis = multisig_script(1, {validator});
  EXPECT_EQ(to_address(script_hash(genesis)), "NfgHwwTi3wHAS8aFAN243C5vGbkYDpqLHP");
  const auto key = random_key();
  const auto mine = single_sig_script(crypto::p256::public_key(key));
  const auto me = script_hash(mine);
  EXPECT_EQ(gas_of(me), 0);

  // 10 GAS from the multisig account: its witness is the multisig script with one signature.
  auto out = transfer(genesis, me, 10'0000'0000);
  sign(out, kValidatorKey);
  const auto out_hash = run_sync(client_->send_raw_transaction(serialize(out)));
  EXPECT_EQ(out_hash, transaction_hash(out));
  const auto out_run = included(out_hash);
  EXPECT_EQ(out_run.state, "HALT") << out_run.exception;
  ASSERT_EQ(out_run.notifications.size(), 1u);
  EXPECT_EQ(out_run.notifications[0]["eventname"], "Transfer");
  // The notification's state decodes to (from, to, amount).
  const auto state = parse_stack_item(out_run.notifications[0]["state"]);
  ASSERT_TRUE(state);
  ASSERT_EQ(state->items.size(), 3u);
  EXPECT_EQ(state->items[0].as_hash160(), script_hash(genesis));
  EXPECT_EQ(state->items[1].as_hash160(), me);
  EXPECT_EQ(state->items[2].as_int64(), 10'0000'0000);
  EXPECT_EQ(gas_of(me), 10'0000'0000);
  // The node returns the very bytes we sent.
  const auto stored = run_sync(client_->raw_transaction(out_hash));
  ASSERT_TRUE(stored);
  EXPECT_EQ(serialize(*stored), serialize(out));

  // 1 GAS back from the fresh single-signature account, which pays the fees.
  auto back = transfer(mine, script_hash(genesis), 1'0000'0000);
  sign(back, key);
  const auto back_run = included(run_sync(client_->send_raw_transaction(serialize(back))));
  EXPECT_EQ(back_run.state, "HALT") << back_run.exception;
  EXPECT_EQ(gas_of(me), 10'0000'0000 - 1'0000'0000 - back.system_fee - back.network_fee);
}

TEST_F(NeoNode, TooLowAFeeOrAnExpiredTransactionIsRefusedClearly) {
  const PublicKey validator = crypto::p256::public_key(kValidatorKey);
  const auto genesis = multisig_script(1, {validator});
  const auto to = script_hash(single_sig_script(crypto::p256::public_key(random_key())));

  auto cheap = transfer(genesis, to, 1);
  cheap.network_fee = 1;  // far below what verification costs
  sign(cheap, kValidatorKey);
  try {
    run_sync(client_->send_raw_transaction(serialize(cheap)));
    FAIL() << "a transaction with too low a network fee was accepted";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), -504) << e.what();  // insufficient network fee
  }

  auto expired = transfer(genesis, to, 1);
  expired.valid_until_block = run_sync(client_->block_count()) - 1;  // already passed
  sign(expired, kValidatorKey);
  try {
    run_sync(client_->send_raw_transaction(serialize(expired)));
    FAIL() << "an expired transaction was accepted";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), -510) << e.what();  // expired
  }
}

class NeoSender : public NeoNode {
 protected:
  // A fresh single-signature account with `amount` GAS from the genesis multisig.
  Bytes funded_key(std::int64_t amount) {
    const auto key = random_key();
    const auto genesis = multisig_script(1, {crypto::p256::public_key(kValidatorKey)});
    auto fund = transfer(genesis, script_hash(single_sig_script(crypto::p256::public_key(key))), amount);
    sign(fund, kValidatorKey);
    EXPECT_EQ(included(run_sync(client_->send_raw_transaction(serialize(fund)))).state, "HALT");
    return key;
  }
  static Bytes pay_back(const Bytes& key, std::int64_t amount) {
    const auto from = script_hash(single_sig_script(crypto::p256::public_key(key)));
    const auto to = script_hash(multisig_script(1, {crypto::p256::public_key(kValidatorKey)}));
    return ScriptBuilder()
        .contract_call(gas_token_hash(), "transfer", {Arg{from}, Arg{to}, Arg::integer(amount), Arg{Arg::Null{}}})
        .take();
  }
};

TEST_F(NeoSender, FollowsATransactionToItsExecution) {
  const auto key = funded_key(5'0000'0000);
  LocalKeySigner signer(key);
  TransactionSender sender(*client_, signer, {100, 0, 200ms, 3});
  auto pending = run_sync(sender.submit(pay_back(key, 1'0000'0000)));
  EXPECT_TRUE(pending.sent);
  const auto execution = run_sync(sender.confirm(pending));
  EXPECT_EQ(execution.state, "HALT") << execution.exception;
  ASSERT_EQ(execution.notifications.size(), 1u);
  EXPECT_EQ(execution.notifications[0]["eventname"], "Transfer");
  EXPECT_EQ(gas_of(script_hash(signer.verification_script())),
            5'0000'0000 - 1'0000'0000 - pending.tx.system_fee - pending.tx.network_fee);
}

TEST_F(NeoSender, ManyTransactionsInFlightFromOneAccount) {
  const auto key = funded_key(20'0000'0000);
  LocalKeySigner signer(key);
  TransactionSender sender(*client_, signer, {100, 0, 200ms, 3});
  asio::io_context ioc;
  std::vector<std::string> states;
  std::set<UInt256> hashes;
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(ioc, [&, i]() -> asio::awaitable<void> {
      auto p = co_await sender.submit(pay_back(key, 1000 + i));
      hashes.insert(p.hash);
      const auto e = co_await sender.confirm(p);
      states.push_back(e.state);
    }, asio::detached);
  }
  ioc.run();
  EXPECT_EQ(hashes.size(), 8u);
  EXPECT_EQ(states, std::vector<std::string>(8, "HALT"));
}

TEST_F(NeoSender, AScriptThatFaultsInItsTestRunIsNotSent) {
  LocalKeySigner signer(funded_key(1'0000'0000));
  TransactionSender sender(*client_, signer);
  try {
    run_sync(sender.submit(Bytes{0x38}));  // ABORT
    FAIL() << "a faulting script was sent";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("faults in a test run"), std::string::npos) << e.what();
  }
}

TEST_F(NeoSender, AVersionThatExpiredUnincludedIsBuiltAgainAndSent) {
  const auto key = funded_key(5'0000'0000);
  LocalKeySigner signer(key);
  TransactionSender sender(*client_, signer, {2, 0, 200ms, 3});
  auto pending = run_sync(sender.prepare(pay_back(key, 12345)));  // signed, never sent: it expires
  const auto first = pending.hash;
  const auto execution = run_sync(sender.confirm(pending));
  EXPECT_EQ(execution.state, "HALT");
  EXPECT_EQ(pending.resends, 1);
  EXPECT_NE(pending.hash, first);
  EXPECT_FALSE(run_sync(client_->application_log(first)));  // the first version never made it
}

}  // namespace
}  // namespace nsl::chain::neo
