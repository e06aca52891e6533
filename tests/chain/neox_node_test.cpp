// The Neo X chain layer against a real local EVM node (anvil, chain id 47763), started by
// scripts/neox-devnet.sh: value transfers read back, a solc-compiled contract deployed, called
// and its events decoded, reverts surfacing their reasons, and endpoint failover.
//   NSL_NEOX_RPC_URL       the node's URL
//   NSL_NEOX_COUNTER_JSON  tests/contracts/Counter.sol compiled ({"abi", "bytecode"})
// The watcher test kills watching processes (this binary, run again) with SIGKILL.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include "nsl/chain/neox/abi.hpp"
#include "nsl/chain/neox/rpc.hpp"
#include "nsl/chain/neox/enclave_signer.hpp"
#include "nsl/chain/neox/sender.hpp"
#include "nsl/enclave/testing/local_enclave.hpp"
#include "nsl/chain/neox/watcher.hpp"
#include "nsl/core/testing/child_process.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/sqlite_database.hpp"
#include "test_database.hpp"
#include "nsl/chain/neox/transaction.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/secp256k1.hpp"

namespace nsl::chain::neox {
namespace {

using namespace std::chrono_literals;

// anvil's account 0 (docs/neo-protocol.md §6), funded with 10000 native tokens.
const Bytes kFunded = crypto::from_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").value();

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class NeoXNode : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = env("NSL_NEOX_RPC_URL");
    ASSERT_FALSE(url_.empty()) << "NSL_NEOX_RPC_URL is not set: start the node with scripts/neox-devnet.sh";
  }

  template <class T>
  static T run(asio::awaitable<T> aw) {
    return nsl::testing::run_sync(std::move(aw));
  }

  RpcClient rpc(std::vector<std::string> endpoints = {}, int rounds = 3) {
    if (endpoints.empty()) endpoints = {url_};
    return RpcClient({std::move(endpoints), 5s, rounds, 20ms}, http_);
  }

  static Address address_of_key(const Bytes& key) { return address_of(crypto::secp256k1::public_key(key)); }

  // A key no earlier run has used, so that tests own their accounts' nonces on any node.
  static Bytes random_key() {
    std::random_device rd;
    Bytes key(32);
    do {
      for (auto& b : key) b = static_cast<std::uint8_t>(rd());
    } while (!crypto::secp256k1::is_valid_private_key(key));
    return key;
  }

  // Signs with `key`, sends, and waits for the receipt (the node mines at once).
  Receipt send(RpcClient& client, Transaction tx, const Bytes& key) {
    const auto raw = encode_signed(tx, sign(tx, key));
    const auto hash = run(client.send_raw_transaction(raw));
    EXPECT_EQ(hash, transaction_hash(raw));
    for (int i = 0; i < 100; ++i) {
      if (auto r = run(client.transaction_receipt(hash))) return *r;
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("no receipt");
  }

  Transaction next_tx(RpcClient& client, const Bytes& key, Transaction::Type type) {
    Transaction tx;
    tx.type = type;
    tx.chain_id = run(client.chain_id());
    tx.nonce = run(client.transaction_count(address_of_key(key)));
    const auto price = run(client.gas_price());
    tx.gas_price = price + price;
    tx.max_priority_fee_per_gas = run(client.max_priority_fee_per_gas());
    tx.max_fee_per_gas = price + price + tx.max_priority_fee_per_gas;
    return tx;
  }

  std::string url_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull_{std::fopen("/dev/null", "w"), &std::fclose};
  log::Sink sink_{log::Sink::Options{devnull_.get(), 1u << 20}};
  metrics::Registry registry_;
  http::HttpClient http_{{"neox-rpc", 2, "nsl-test"}, registry_, sink_};
};

TEST_F(NeoXNode, ChainIdIsNeoXMainNet) {
  auto client = rpc();
  EXPECT_EQ(run(client.chain_id()), kMainNetChainId);
  EXPECT_GE(run(client.block_number()), 0u);
}

TEST_F(NeoXNode, SendsValueWithBothTransactionTypesAndReadsItBack) {
  auto client = rpc();
  for (auto type : {Transaction::Type::legacy, Transaction::Type::eip1559}) {
    // A fresh account nobody has used.
    const auto key = random_key();
    const auto to = address_of_key(key);
    EXPECT_EQ(run(client.balance(to)), Uint256(0));
    auto tx = next_tx(client, kFunded, type);
    tx.to = to;
    tx.value = Uint256::parse("1234500000000000000").value();
    tx.gas_limit = 21000;
    const auto receipt = send(client, tx, kFunded);
    EXPECT_TRUE(receipt.success);
    EXPECT_EQ(receipt.gas_used, Uint256(21000));
    EXPECT_EQ(run(client.balance(to)), tx.value);
    // And the fresh account can spend it: its signature, its nonce 0.
    auto back = next_tx(client, key, type);
    EXPECT_EQ(back.nonce, 0u);
    back.to = address_of_key(kFunded);
    back.value = 1000;
    back.gas_limit = 21000;
    EXPECT_TRUE(send(client, back, key).success);
  }
}

TEST_F(NeoXNode, DeploysAContractCallsItAndDecodesItsEvents) {
  const auto path = env("NSL_NEOX_COUNTER_JSON");
  ASSERT_FALSE(path.empty()) << "NSL_NEOX_COUNTER_JSON is not set";
  const auto artifact = nlohmann::json::parse(std::ifstream(path));
  auto client = rpc();
  const auto me = address_of_key(kFunded);

  auto deploy = next_tx(client, kFunded, Transaction::Type::eip1559);
  deploy.data = parse_data(artifact.at("bytecode"));
  deploy.gas_limit = run(client.estimate_gas({me, std::nullopt, deploy.data, {}})) * 2;
  const auto deployed = send(client, deploy, kFunded);
  ASSERT_TRUE(deployed.success);
  ASSERT_TRUE(deployed.contract_address);
  const Address counter = *deployed.contract_address;

  const auto set_types = std::vector<abi::Type>{*abi::parse_type("uint256"), *abi::parse_type("string")};
  auto call_data = [](std::string_view signature, const Bytes& args) {
    const auto sel = abi::selector(signature);
    Bytes data(4 + args.size());
    std::copy(sel.begin(), sel.end(), data.begin());
    std::copy(args.begin(), args.end(), data.begin() + 4);
    return data;
  };
  auto set = next_tx(client, kFunded, Transaction::Type::eip1559);
  set.to = counter;
  set.data = call_data("set(uint256,string)", abi::encode(set_types, {{Uint256(42)}, {std::string("hello, Neo X")}}));
  set.gas_limit = run(client.estimate_gas({me, counter, set.data, {}})) + 10000;
  const auto receipt = send(client, set, kFunded);
  ASSERT_TRUE(receipt.success);

  // The event: topic 0 is the signature, topic 1 the indexed sender, data the rest.
  ASSERT_EQ(receipt.logs.size(), 1u);
  const auto& log = receipt.logs[0];
  EXPECT_EQ(log.address, counter);
  ASSERT_EQ(log.topics.size(), 2u);
  EXPECT_EQ(log.topics[0], abi::event_topic("Set(address,uint256,string)"));
  EXPECT_EQ(Bytes(log.topics[1].begin() + 12, log.topics[1].end()), Bytes(me.begin(), me.end()));
  const auto fields = abi::decode(set_types, log.data);
  ASSERT_TRUE(fields);
  EXPECT_EQ(std::get<Uint256>((*fields)[0].v), Uint256(42));
  EXPECT_EQ(std::get<std::string>((*fields)[1].v), "hello, Neo X");

  // State is readable through eth_call.
  const auto value = run(client.call_contract({std::nullopt, counter, call_data("value()", {}), {}}));
  EXPECT_EQ(*Uint256::from_be(value), Uint256(42));

  // eth_getLogs finds the same log by address and topic.
  LogFilter filter;
  filter.from_block = 0;
  filter.to_block = run(client.block_number());
  filter.addresses = {counter};
  filter.topics = {{abi::event_topic("Set(address,uint256,string)")}};
  const auto found = run(client.logs(filter));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].transaction_hash, receipt.transaction_hash);
  EXPECT_EQ(found[0].data, log.data);

  // Reverts surface their reasons, from eth_call and from eth_estimateGas.
  auto revert_reason = [&](const Bytes& data) -> std::string {
    try {
      run(client.call_contract({me, counter, data, {}}));
    } catch (const RevertError& e) {
      return e.reason();
    }
    return "(no revert)";
  };
  EXPECT_EQ(revert_reason(call_data("fail()", {})), "nope");
  EXPECT_EQ(revert_reason(call_data("failCustom()", {})),
            "custom error 0x" + crypto::to_hex(abi::selector("NotAllowed(uint256)")));
  EXPECT_EQ(revert_reason(call_data("increment(uint8)", abi::encode({*abi::parse_type("uint8")}, {{Uint256(255)}}))),
            "panic 0x11 (arithmetic overflow or underflow)");
  EXPECT_THROW(run(client.estimate_gas({me, counter, call_data("fail()", {}), {}})), RevertError);
}

TEST_F(NeoXNode, BlocksAndFeeHistory) {
  auto client = rpc();
  auto tx = next_tx(client, kFunded, Transaction::Type::eip1559);
  tx.to = address_of_key(kFunded);
  tx.gas_limit = 21000;
  const auto receipt = send(client, tx, kFunded);
  const auto block = run(client.block_by_number(receipt.block_number));
  ASSERT_TRUE(block);
  EXPECT_EQ(block->number, receipt.block_number);
  EXPECT_NE(std::find(block->transactions.begin(), block->transactions.end(), receipt.transaction_hash),
            block->transactions.end());
  const auto parent = run(client.block_by_number(receipt.block_number - 1));
  ASSERT_TRUE(parent);
  EXPECT_EQ(block->parent_hash, parent->hash);
  EXPECT_TRUE(block->base_fee_per_gas);  // London rules, as on Neo X
  EXPECT_FALSE(run(client.block_by_number(run(client.block_number()) + 1000)));
  const auto history = run(client.fee_history(4, {10.0, 50.0}));
  EXPECT_EQ(history.base_fee_per_gas.size(), 5u);  // four blocks and the next one
  EXPECT_EQ(history.reward.size(), 4u);
  EXPECT_EQ(history.reward.at(0).size(), 2u);
}

TEST_F(NeoXNode, FailsOverToTheNextEndpoint) {
  auto client = rpc({"http://127.0.0.1:1", url_});
  EXPECT_EQ(run(client.chain_id()), kMainNetChainId);
  EXPECT_EQ(run(client.chain_id()), kMainNetChainId);  // now straight to the one that answered
  const auto text = registry_.render();
  EXPECT_NE(text.find(R"(nsl_outbound_requests_total{dependency="neox-rpc",outcome="connect_error"} 1)"), std::string::npos)
      << text;
}

TEST_F(NeoXNode, NoAnsweringEndpointIsUnavailable) {
  auto client = rpc({"http://127.0.0.1:1"}, 2);
  EXPECT_THROW(run(client.chain_id()), RpcUnavailable);
}

TEST_F(NeoXNode, NodeErrorsAreTyped) {
  auto client = rpc();
  try {
    run(client.call("eth_noSuchMethod", nlohmann::json::array()));
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), -32601);
  }
  // A transaction with a nonce already used is refused by the node with a clear error.
  auto tx = next_tx(client, kFunded, Transaction::Type::eip1559);
  tx.nonce = 0;
  tx.to = address_of_key(kFunded);
  EXPECT_THROW(run(client.send_raw_transaction(encode_signed(tx, sign(tx, kFunded)))), RpcError);
}

class NeoXSender : public NeoXNode {
 public:
  void automine(RpcClient& client, bool on) {
    nlohmann::json params = nlohmann::json::array({on});
    run(client.call("evm_setAutomine", std::move(params)));
  }

 protected:
  Bytes fresh_funded_key(RpcClient& client) {
    auto key = random_key();
    auto tx = next_tx(client, kFunded, Transaction::Type::eip1559);
    tx.to = address_of_key(key);
    tx.value = Uint256::parse("10000000000000000000").value();  // 10 tokens
    tx.gas_limit = 21000;
    EXPECT_TRUE(send(client, tx, kFunded).success);
    return key;
  }
};

TEST_F(NeoXSender, ManyTransactionsInFlightFromOneAccount) {
  auto client = rpc();
  LocalKeySigner signer(fresh_funded_key(client));
  SenderOptions options;
  options.poll_interval = 50ms;
  TransactionSender sender(client, signer, options);
  asio::io_context ioc;
  std::vector<Receipt> receipts;
  std::vector<std::uint64_t> nonces;
  int failures = 0;
  for (int i = 0; i < 15; ++i) {
    asio::co_spawn(
        ioc,
        [&, i]() -> asio::awaitable<void> {
          TxRequest r;
          r.to = address_of_key(kFunded);
          r.value = static_cast<std::uint64_t>(1000 + i);
          auto s = co_await sender.submit(r);
          nonces.push_back(s.tx.nonce);
          receipts.push_back(co_await sender.confirm(s));
        },
        [&](std::exception_ptr e) {
          if (e) ++failures;
        });
  }
  ioc.run();
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(receipts.size(), 15u);
  for (const auto& r : receipts) EXPECT_TRUE(r.success);
  std::sort(nonces.begin(), nonces.end());
  for (std::uint64_t i = 0; i < nonces.size(); ++i) EXPECT_EQ(nonces[i], i);  // 0..14, none skipped or reused
  EXPECT_EQ(run(client.transaction_count(signer.address(), "latest")), 15u);
}

TEST_F(NeoXSender, SendsFromAKeyOnlyTheEnclaveHolds) {
  auto client = rpc();
  enclave::testing::LocalEnclave enclave;
  const auto key = run(enclave.client().create_key("secp256k1", "tenant-1/neox-signer"));
  EnclaveSigner signer(enclave.client(), key);
  // Fund the enclave's address, then send from it: the node recovers the signer from the
  // signature the enclave made.
  auto fund = next_tx(client, kFunded, Transaction::Type::eip1559);
  fund.to = signer.address();
  fund.value = Uint256::parse("3000000000000000000").value();
  fund.gas_limit = 21000;
  ASSERT_TRUE(send(client, fund, kFunded).success);
  SenderOptions options;
  options.poll_interval = 50ms;
  TransactionSender sender(client, signer, options);
  TxRequest r;
  r.to = address_of_key(kFunded);
  r.value = std::uint64_t{12345};
  auto s = run(sender.submit(r));
  EXPECT_TRUE(run(sender.confirm(s)).success);
  // A legacy (EIP-155) transaction signed by the enclave too, its sender recovered here first.
  Transaction legacy;
  legacy.type = Transaction::Type::legacy;
  legacy.chain_id = run(client.chain_id());
  legacy.nonce = run(client.transaction_count(signer.address()));
  legacy.gas_price = run(client.gas_price()) + run(client.max_priority_fee_per_gas());
  legacy.gas_limit = 21000;
  legacy.to = address_of_key(kFunded);
  legacy.value = std::uint64_t{777};
  const auto raw = encode_signed(legacy, run(signer.sign(legacy)));
  const auto decoded = decode_signed(raw);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->sender, signer.address());
  const auto hash = run(client.send_raw_transaction(raw));
  std::optional<Receipt> receipt;
  for (int i = 0; i < 100 && !receipt; ++i) {
    receipt = run(client.transaction_receipt(hash));
    if (!receipt) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(receipt);
  EXPECT_TRUE(receipt->success);
  EXPECT_EQ(run(client.transaction_count(signer.address(), "latest")), 2u);
}

TEST_F(NeoXSender, RespectsTheMinimumTipAndTheFeeCap) {
  auto client = rpc();
  LocalKeySigner signer(fresh_funded_key(client));
  SenderOptions options;
  options.poll_interval = 50ms;
  options.min_priority_fee = Uint256::parse("20000000000").value();  // Neo X MainNet policy: 20 gwei
  TransactionSender sender(client, signer, options);
  TxRequest r;
  r.to = address_of_key(kFunded);
  r.value = 1;
  auto s = run(sender.submit(r));
  EXPECT_GE(s.tx.max_priority_fee_per_gas, options.min_priority_fee);
  EXPECT_GE(s.tx.max_fee_per_gas, s.tx.max_priority_fee_per_gas);
  const auto receipt = run(sender.confirm(s));
  EXPECT_TRUE(receipt.success);
  EXPECT_GE(receipt.effective_gas_price, options.min_priority_fee);

  SenderOptions capped = options;
  capped.max_fee_cap = 1;  // below base fee + tip: refused before anything is signed
  TransactionSender refusing(client, signer, capped);
  EXPECT_THROW(run(refusing.submit(r)), std::invalid_argument);
}

TEST_F(NeoXSender, AStuckTransactionIsReplacedWithHigherFees) {
  auto client = rpc();
  LocalKeySigner signer(fresh_funded_key(client));
  SenderOptions options;
  options.poll_interval = 50ms;
  options.replace_after = 300ms;
  TransactionSender sender(client, signer, options);
  automine(client, false);
  struct Restore {
    NeoXSender* t;
    RpcClient* c;
    ~Restore() { t->automine(*c, true); }
  } restore{this, &client};
  TxRequest r;
  r.to = address_of_key(kFunded);
  r.value = 777;
  r.gas_limit = 21000;
  asio::io_context ioc;
  std::optional<Receipt> receipt;
  Submitted s;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        s = co_await sender.submit(r);
        receipt = co_await sender.confirm(s);
      },
      asio::detached);
  // Nothing is mined until the sender has replaced the transaction at least once.
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        while (s.versions.size() < 2) {
          asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
          co_await t.async_wait(asio::use_awaitable);
        }
        nlohmann::json none = nlohmann::json::array();
        co_await client.call("evm_mine", std::move(none));
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(receipt);
  EXPECT_TRUE(receipt->success);
  ASSERT_GE(s.versions.size(), 2u);
  EXPECT_EQ(receipt->transaction_hash, s.versions.back());            // the replacement was mined
  EXPECT_FALSE(run(client.transaction_receipt(s.versions.front())));  // the original never was
  EXPECT_EQ(run(client.transaction_count(signer.address(), "latest")), 1u);
}

TEST_F(NeoXSender, WaitsForTheConfiguredConfirmations) {
  auto client = rpc();
  LocalKeySigner signer(fresh_funded_key(client));
  SenderOptions options;
  options.poll_interval = 50ms;
  options.confirmations = 3;
  TransactionSender sender(client, signer, options);
  TxRequest r;
  r.to = address_of_key(kFunded);
  r.value = 5;
  r.gas_limit = 21000;
  asio::io_context ioc;
  std::optional<Receipt> receipt;
  std::uint64_t head_at_return = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        receipt = co_await sender.send(r);
        head_at_return = co_await client.block_number();
      },
      asio::detached);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) {
          asio::steady_timer t(co_await asio::this_coro::executor, 400ms);
          co_await t.async_wait(asio::use_awaitable);
          EXPECT_FALSE(receipt) << "returned before " << options.confirmations << " confirmations";
          nlohmann::json none = nlohmann::json::array();
          co_await client.call("evm_mine", std::move(none));
        }
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(receipt);
  EXPECT_GE(head_at_return + 1, receipt->block_number + 3);
}

class NeoXWatcher : public NeoXNode {
 protected:
  void SetUp() override {
    NeoXNode::SetUp();
    const auto path = env("NSL_NEOX_COUNTER_JSON");
    ASSERT_FALSE(path.empty()) << "NSL_NEOX_COUNTER_JSON is not set";
    artifact_ = nlohmann::json::parse(std::ifstream(path));
    db_spec_ = nsl::testing::test_database_spec(dir_.path());
    db_ = nsl::testing::open_test_database(db_spec_, registry_);
    db_->with_connection_blocking([](db::Connection& c) {
      db::migrate(c, db::platform_migrations());
      c.exec_script(nsl::testing::numbered_table(c, "seen", "block INTEGER, idx INTEGER, value INTEGER, removed INTEGER"));
    });
  }

  Address deploy(RpcClient& client, std::uint64_t& block) {
    auto tx = next_tx(client, kFunded, Transaction::Type::eip1559);
    tx.data = parse_data(artifact_.at("bytecode"));
    tx.gas_limit = 1'000'000;
    const auto r = send(client, tx, kFunded);
    block = r.block_number;
    return *r.contract_address;
  }

  void emit(RpcClient& client, const Address& counter, std::uint64_t value) {
    auto tx = next_tx(client, kFunded, Transaction::Type::eip1559);
    tx.to = counter;
    const auto sel = abi::selector("set(uint256,string)");
    const auto args =
        abi::encode({*abi::parse_type("uint256"), *abi::parse_type("string")}, {{Uint256(value)}, {std::string("w")}});
    tx.data.assign(sel.begin(), sel.end());
    tx.data.insert(tx.data.end(), args.begin(), args.end());
    tx.gas_limit = 200'000;
    ASSERT_TRUE(send(client, tx, kFunded).success);
  }

  LogWatcher watcher(RpcClient& client, const Address& counter, std::uint64_t start, LogWatcher::Handler handler = {}) {
    WatcherOptions o;
    o.name = "test-watcher";
    o.filter.addresses = {counter};
    o.filter.topics = {{abi::event_topic("Set(address,uint256,string)")}};
    o.start_block = start;
    o.batch_blocks = 3;  // several batches even for a handful of blocks
    if (!handler) {
      handler = [](const Log& l, db::Connection& c) {
        const auto fields = abi::decode({*abi::parse_type("uint256"), *abi::parse_type("string")}, l.data);
        c.query("INSERT INTO seen (block, idx, value, removed) VALUES ($1, $2, $3, $4)",
                {static_cast<std::int64_t>(l.block_number), static_cast<std::int64_t>(l.log_index),
                 static_cast<std::int64_t>(std::get<Uint256>((*fields)[0].v).low_u64()), std::int64_t{l.removed}});
      };
    }
    return LogWatcher(client, *db_, o, std::move(handler), sink_.get("watcher"));
  }

  std::size_t drain(LogWatcher& w) {
    std::size_t total = 0;
    for (int i = 0; i < 50; ++i) {
      const auto n = run(w.poll_once());
      total += n;
      if (n == 0 && i > 0) break;
    }
    return total;
  }

  // (value, removed) in the order the handler saw them.
  std::vector<std::pair<std::int64_t, std::int64_t>> seen() {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    db_->with_connection_blocking([&](db::Connection& c) {
      const auto r = c.query("SELECT value, removed FROM seen ORDER BY n");
      for (std::size_t i = 0; i < r.rows.size(); ++i) out.emplace_back(r.get<std::int64_t>(i, 0), r.get<std::int64_t>(i, 1));
    });
    return out;
  }

  nlohmann::json artifact_;
  nsl::testing::TempDir dir_{"watcher"};
  std::string db_spec_;
  std::unique_ptr<db::Database> db_;
};

using Seen = std::vector<std::pair<std::int64_t, std::int64_t>>;

TEST_F(NeoXWatcher, DeliversEveryLogOnceInOrderAcrossARestart) {
  auto client = rpc();
  std::uint64_t start = 0;
  const auto counter = deploy(client, start);
  for (std::uint64_t v = 0; v < 4; ++v) emit(client, counter, v);
  {
    auto first = watcher(client, counter, start);
    EXPECT_EQ(drain(first), 4u);
  }  // the process "restarts": a new watcher, the same database
  for (std::uint64_t v = 4; v < 7; ++v) emit(client, counter, v);
  auto second = watcher(client, counter, start);
  EXPECT_EQ(drain(second), 3u);
  EXPECT_EQ(seen(), (Seen{{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}, {6, 0}}));
  EXPECT_EQ(drain(second), 0u);  // nothing new, nothing repeated
}

// The watching process of the next test: this binary again, watching until it is killed.
TEST_F(NeoXWatcher, ChildProcessWatchesUntilKilled) {
  const auto db_path = env("NSL_WATCH_CHILD_DB");
  if (db_path.empty()) GTEST_SKIP() << "runs only as the watching process of another test";
  db_ = nsl::testing::open_test_database(db_path, registry_);
  auto client = rpc();
  const auto counter = parse_address(env("NSL_WATCH_CHILD_COUNTER")).value();
  auto w = watcher(client, counter, std::stoull(env("NSL_WATCH_CHILD_START")), [](const Log& l, db::Connection& c) {
    const auto fields = abi::decode({*abi::parse_type("uint256"), *abi::parse_type("string")}, l.data);
    c.query("INSERT INTO seen (block, idx, value, removed) VALUES ($1, $2, $3, $4)",
            {static_cast<std::int64_t>(l.block_number), static_cast<std::int64_t>(l.log_index),
             static_cast<std::int64_t>(std::get<Uint256>((*fields)[0].v).low_u64()), std::int64_t{l.removed}});
    std::this_thread::sleep_for(20ms);  // a slow subscriber: kills land inside its transactions too
  });
  asio::io_context ioc;
  asio::co_spawn(ioc, w.run(), asio::detached);
  ioc.run();
}

TEST_F(NeoXWatcher, DeliversEveryLogOnceInOrderAcrossKilledWatchingProcesses) {
  auto client = rpc();
  std::uint64_t start = 0;
  const auto counter = deploy(client, start);
  constexpr std::int64_t kLogs = 24;
  for (std::uint64_t v = 0; v < kLogs; ++v) emit(client, counter, v);  // one block each
  const std::vector<std::pair<std::string, std::string>> child_env{{"NSL_WATCH_CHILD_DB", db_spec_},
                                                                   {"NSL_WATCH_CHILD_COUNTER", to_checksum(counter)},
                                                                   {"NSL_WATCH_CHILD_START", std::to_string(start)}};
  const std::string child_test = "NeoXWatcher.ChildProcessWatchesUntilKilled";
  auto count = [&] { return static_cast<std::int64_t>(seen().size()); };
  std::vector<std::int64_t> at_kill;
  for (const auto stop_at : {kLogs / 4, kLogs / 2, (3 * kLogs) / 4}) {
    const pid_t child = nsl::testing::spawn_test(child_test, child_env);
    nsl::testing::wait_until([&] { return count() >= stop_at; }, 30s);
    nsl::testing::kill_test(child);  // SIGKILL: mid-transaction or between two
    at_kill.push_back(count());
  }
  EXPECT_LT(at_kill.front(), kLogs) << "the first watching process finished before it was killed";
  const pid_t last = nsl::testing::spawn_test(child_test, child_env);
  nsl::testing::wait_until([&] { return count() >= kLogs; }, 30s);
  std::this_thread::sleep_for(1s);  // time to deliver anything extra, which must not happen
  nsl::testing::kill_test(last, SIGTERM);
  Seen expected;
  for (std::int64_t v = 0; v < kLogs; ++v) expected.emplace_back(v, 0);
  EXPECT_EQ(seen(), expected);
}

TEST_F(NeoXWatcher, AFailingHandlerLeavesTheCursorWhereItWas) {
  auto client = rpc();
  std::uint64_t start = 0;
  const auto counter = deploy(client, start);
  for (std::uint64_t v = 10; v < 13; ++v) emit(client, counter, v);
  bool fail = true;
  auto flaky = watcher(client, counter, start, [&](const Log& l, db::Connection& c) {
    const auto value = std::get<Uint256>((*abi::decode({*abi::parse_type("uint256"), *abi::parse_type("string")}, l.data))[0].v);
    c.query("INSERT INTO seen (block, idx, value, removed) VALUES ($1, $2, $3, 0)",
            {static_cast<std::int64_t>(l.block_number), static_cast<std::int64_t>(l.log_index),
             static_cast<std::int64_t>(value.low_u64())});
    if (value == Uint256(11) && fail) throw std::runtime_error("subscriber down");
  });
  EXPECT_THROW(drain(flaky), std::runtime_error);
  fail = false;
  drain(flaky);
  // 10 (first batch, committed), then 11 and 12 exactly once despite the failed attempt.
  EXPECT_EQ(seen(), (Seen{{10, 0}, {11, 0}, {12, 0}}));
}

TEST_F(NeoXWatcher, AReorganisationHandsOrphanedLogsBackAsRemoved) {
  auto client = rpc();
  std::uint64_t start = 0;
  const auto counter = deploy(client, start);
  nlohmann::json none = nlohmann::json::array();
  const auto snapshot = run(client.call("evm_snapshot", none));
  emit(client, counter, 100);
  emit(client, counter, 101);
  auto w = watcher(client, counter, start);
  EXPECT_EQ(drain(w), 2u);
  // The chain loses those two blocks and grows another way, past the old head.
  nlohmann::json revert = nlohmann::json::array({snapshot});
  ASSERT_TRUE(run(client.call("evm_revert", revert)).get<bool>());
  emit(client, counter, 200);
  run(client.call("evm_mine", none));
  run(client.call("evm_mine", none));
  drain(w);
  EXPECT_EQ(seen(), (Seen{{100, 0}, {101, 0}, {101, 1}, {100, 1}, {200, 0}}));
}

}  // namespace
}  // namespace nsl::chain::neox
