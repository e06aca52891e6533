// The Neo N3 chain layer against a real single-node neo-go network (scripts/neo-devnet.sh):
// GAS moved out of the genesis 1-of-1 multi-signature account with our transactions, scripts
// and P-256 signatures, read back with getnep17balances, sent back from a single-signature
// account, and the node's refusals of a too-low fee and an expired transaction; the test
// contract deployed and invoked; the notification watcher across restarts of a watching
// process (killed with SIGKILL) and of the node.
//   NSL_NEO_RPC_URL     the node's RPC URL
//   NSL_NEO_DEVNET_DIR     the harness's directory (the compiled contract is there)
//   NSL_NEO_DEVNET_SCRIPT  scripts/neo-devnet.sh, to restart the node
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/rpc.hpp"
#include "nsl/chain/neo/script.hpp"
#include "nsl/chain/neo/enclave_signer.hpp"
#include "nsl/chain/neo/sender.hpp"
#include "nsl/chain/neo/stack_item.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/chain/neo/watcher.hpp"
#include "nsl/core/testing/child_process.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/sqlite_database.hpp"
#include "test_database.hpp"
#include "nsl/enclave/testing/local_enclave.hpp"
#include "nsl/crypto/hash.hpp"

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

TEST_F(NeoNode, TheHarnessFundedItsTestAccounts) {
  const auto dir = std::getenv("NSL_NEO_DEVNET_DIR");
  ASSERT_TRUE(dir) << "NSL_NEO_DEVNET_DIR is not set";
  const auto funded = nlohmann::json::parse(std::ifstream(std::string(dir) + "/funded.json"));
  ASSERT_EQ(funded.size(), 3u);
  for (const auto& account : funded) {
    const auto key = decode_wif(account.at("wif").get<std::string>());
    ASSERT_TRUE(key);
    const auto hash = script_hash(single_sig_script(crypto::p256::public_key(*key)));
    EXPECT_EQ(to_address(hash), account.at("address"));
    EXPECT_EQ(gas_of(hash), std::stoll(account.at("gas").get<std::string>()));
  }
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
    auto key = random_key();
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

TEST_F(NeoSender, SendsFromAKeyOnlyTheEnclaveHolds) {
  enclave::testing::LocalEnclave enclave;
  const auto key = run_sync(enclave.client().create_key("secp256r1", "tenant-1/neo-signer"));
  EnclaveAccountSigner signer(enclave.client(), key);
  const auto account = script_hash(signer.verification_script());
  // Fund the enclave's account from the genesis multisig, then send from it: the node checks
  // the witness the enclave signed.
  const auto genesis = multisig_script(1, {crypto::p256::public_key(kValidatorKey)});
  auto fund = transfer(genesis, account, 5'0000'0000);
  sign(fund, kValidatorKey);
  ASSERT_EQ(included(run_sync(client_->send_raw_transaction(serialize(fund)))).state, "HALT");
  TransactionSender sender(*client_, signer, {100, 0, 200ms, 3});
  const auto back = ScriptBuilder()
                        .contract_call(gas_token_hash(), "transfer",
                                       {Arg{account}, Arg{script_hash(genesis)}, Arg::integer(1'0000'0000), Arg{Arg::Null{}}})
                        .take();
  auto pending = run_sync(sender.submit(back));
  const auto execution = run_sync(sender.confirm(pending));
  EXPECT_EQ(execution.state, "HALT") << execution.exception;
  EXPECT_EQ(gas_of(account), 5'0000'0000 - 1'0000'0000 - pending.tx.system_fee - pending.tx.network_fee);
  // The witness verifies with our P-256 code too.
  const auto& witness = pending.tx.witnesses.at(0);
  const auto digest = crypto::sha256(sign_data(pending.tx, version_.network));
  EXPECT_TRUE(
      crypto::p256::verify_digest(key.public_key, digest, Bytes(witness.invocation.begin() + 2, witness.invocation.end())));
}

TEST_F(NeoSender, ManyTransactionsInFlightFromOneAccount) {
  const auto key = funded_key(20'0000'0000);
  LocalKeySigner signer(key);
  TransactionSender sender(*client_, signer, {100, 0, 200ms, 3});
  asio::io_context ioc;
  std::vector<std::string> states;
  std::set<UInt256> hashes;
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(
        ioc,
        [&, i]() -> asio::awaitable<void> {
          auto p = co_await sender.submit(pay_back(key, 1000 + i));
          hashes.insert(p.hash);
          const auto e = co_await sender.confirm(p);
          states.push_back(e.state);
        },
        asio::detached);
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

std::string env_text(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The test contract (tests/contracts/neo/notifier), compiled by the harness with
// `neo-go contract compile` and deployed once per run by a fresh account.
class NeoContract : public NeoSender {
 protected:
  void SetUp() override {
    NeoSender::SetUp();
    if (const auto child = env_text("NSL_WATCH_CHILD_CONTRACT"); !child.empty()) {
      notifier_ = parse_uint160(child);  // a watching process: the parent deployed it
      return;
    }
    devnet_ = env_text("NSL_NEO_DEVNET_DIR");
    ASSERT_FALSE(devnet_.empty()) << "NSL_NEO_DEVNET_DIR is not set: start the node with scripts/neo-devnet.sh";
    if (!key_) key_ = funded_key(200'0000'0000);
    signer_ = std::make_unique<LocalKeySigner>(*key_);
    sender_ = std::make_unique<TransactionSender>(*client_, *signer_, SenderOptions{100, 0, 200ms, 3});
    if (!notifier_) notifier_ = deploy();
  }

  UInt160 deploy() {
    const auto nef = read_bytes(devnet_ / "notifier.nef");
    const auto manifest = read_bytes(devnet_ / "notifier.manifest.json");
    const auto script =
        ScriptBuilder()
            .contract_call(contract_management_hash(), "deploy", {Arg{nef}, Arg{std::string(manifest.begin(), manifest.end())}})
            .take();
    auto pending = run_sync(sender_->submit(script));
    const auto e = run_sync(sender_->confirm(pending));
    EXPECT_EQ(e.state, "HALT") << e.exception;
    for (const auto& n : e.notifications) {
      if (n.at("eventname") != "Deploy") continue;
      const auto hash = parse_stack_item(n.at("state"))->items.at(0).as_hash160();
      // ContractManagement names it by the deployer, the NEF checksum and the manifest name.
      EXPECT_EQ(hash, contract_hash(script_hash(signer_->verification_script()), *nef_checksum(nef), "NSL Notifier"));
      return hash.value();
    }
    throw std::runtime_error("no Deploy notification");
  }

  Bytes call(std::string_view method, std::vector<Arg> args) {
    return ScriptBuilder().contract_call(*notifier_, method, args).take();
  }

  // Sends the scripts concurrently and waits for all their executions.
  std::vector<Execution> send_all(const std::vector<Bytes>& scripts) {
    asio::io_context ioc;
    std::vector<Execution> out(scripts.size());
    for (std::size_t i = 0; i < scripts.size(); ++i) {
      asio::co_spawn(
          ioc,
          [&, i]() -> asio::awaitable<void> {
            auto p = co_await sender_->submit(scripts[i]);
            out[i] = co_await sender_->confirm(p);
          },
          asio::detached);
    }
    ioc.run();
    return out;
  }

  // A transaction sent without a test run, as a careless client would: for one that faults.
  Execution send_unchecked(const Bytes& script) {
    Transaction tx;
    std::random_device rd;
    tx.nonce = rd();
    tx.valid_until_block = run_sync(client_->block_count()) + 100;
    tx.signers.push_back({script_hash(signer_->verification_script()), kCalledByEntry, {}, {}});
    tx.script = script;
    tx.system_fee = 1'0000'0000;
    tx.witnesses.push_back({{}, signer_->verification_script()});
    tx.network_fee = run_sync(client_->calculate_network_fee(serialize(tx)));
    sign(tx, *key_);
    return included(run_sync(client_->send_raw_transaction(serialize(tx))));
  }

  std::filesystem::path devnet_;
  std::unique_ptr<LocalKeySigner> signer_;
  std::unique_ptr<TransactionSender> sender_;
  static inline std::optional<Bytes> key_;
  static inline std::optional<UInt160> notifier_;
};

TEST_F(NeoContract, IsDeployedAndInvoked) {
  const auto before = parse_stack_item(run_sync(client_->invoke_function(*notifier_, "value", {}, {})).stack.at(0))->as_int64();
  const auto runs = send_all({call("bump", {Arg::integer(5), Arg{std::string("five")}})});
  ASSERT_EQ(runs[0].state, "HALT") << runs[0].exception;
  EXPECT_EQ(parse_stack_item(runs[0].stack.at(0))->as_int64(), before.value_or(0) + 5);
  ASSERT_EQ(runs[0].notifications.size(), 1u);
  EXPECT_EQ(runs[0].notifications[0]["eventname"], "Bumped");
  EXPECT_EQ(parse_uint160(runs[0].notifications[0]["contract"].get<std::string>()), *notifier_);
  const auto state = parse_stack_item(runs[0].notifications[0]["state"]);
  EXPECT_EQ(state->items.at(1).as_string(), "five");
  const auto after = run_sync(client_->invoke_function(*notifier_, "value", {}, {}));
  EXPECT_EQ(parse_stack_item(after.stack.at(0))->as_int64(), before.value_or(0) + 5);
  // A faulting method: the sender refuses it after its test run; sent anyway, it FAULTs on chain.
  EXPECT_THROW(run_sync(sender_->submit(call("fail", {Arg{std::string("x")}}))), std::invalid_argument);
  const auto failed = send_unchecked(call("fail", {Arg{std::string("x")}}));
  EXPECT_EQ(failed.state, "FAULT");
  EXPECT_NE(failed.exception.find("failed on purpose"), std::string::npos) << failed.exception;
}

class NeoWatcher : public NeoContract {
 protected:
  void SetUp() override {
    NeoContract::SetUp();
    db_spec_ = nsl::testing::test_database_spec(dir_.path());
    open_database(db_spec_);
    db_->with_connection_blocking([](db::Connection& c) {
      db::migrate(c, db::platform_migrations());
      c.exec_script(nsl::testing::numbered_table(c, "deliveries", kDeliveries));
    });
  }

  static constexpr const char* kDeliveries =
      "block INTEGER, execution INTEGER, idx INTEGER, trigger TEXT, value INTEGER, note TEXT";

  void open_database(const std::string& spec) { db_ = nsl::testing::open_test_database(spec, registry_); }

  // Records a Bumped(value, note) notification in the deliveries table, in the watcher's transaction.
  static void record(const Notification& n, db::Connection& c) {
    c.query("INSERT INTO deliveries (block, execution, idx, trigger, value, note) VALUES ($1, $2, $3, $4, $5, $6)",
            {std::int64_t{n.block_index}, std::int64_t{n.execution}, std::int64_t{n.index}, n.trigger,
             n.state.items.at(0).as_int64().value(), n.state.items.at(1).as_string().value()});
  }

  NotificationWatcherOptions options(std::uint32_t start) {
    NotificationWatcherOptions o;
    o.name = "test-watcher";
    o.contracts = {*notifier_};
    o.events = {"Bumped"};
    o.start_block = start;
    o.batch_blocks = 2;  // several batches even for a handful of blocks
    o.fetch_concurrency = 4;
    o.poll_interval = 100ms;
    return o;
  }

  // Polls until the cursor has passed the node's current height.
  void drain(NotificationWatcher& w) {
    const auto target = run_sync(client_->block_count());
    for (int i = 0; i < 1000; ++i) {
      run_sync(w.poll_once());
      if (run_sync(w.next_block()).value_or(0) >= target) return;
    }
    FAIL() << "the watcher did not catch up";
  }

  struct Delivery {
    std::int64_t block, execution, idx;
    std::string trigger;
    std::int64_t value;
    std::string note;
  };
  std::vector<Delivery> deliveries() {
    std::vector<Delivery> out;
    db_->with_connection_blocking([&](db::Connection& c) {
      const auto r = c.query("SELECT block, execution, idx, trigger, value, note FROM deliveries ORDER BY n");
      for (std::size_t i = 0; i < r.rows.size(); ++i) {
        out.push_back({r.get<std::int64_t>(i, 0), r.get<std::int64_t>(i, 1), r.get<std::int64_t>(i, 2), r.get<std::string>(i, 3),
                       r.get<std::int64_t>(i, 4), r.get<std::string>(i, 5)});
      }
    });
    return out;
  }

  // Every delivery once, in chain order, and exactly the expected (value, note) pairs.
  void expect_exactly_once_in_order(const std::vector<std::pair<std::int64_t, std::string>>& expected) {
    const auto got = deliveries();
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 1; i < got.size(); ++i) {
      const auto a = std::tie(got[i - 1].block, got[i - 1].execution, got[i - 1].idx);
      const auto b = std::tie(got[i].block, got[i].execution, got[i].idx);
      EXPECT_LT(a, b) << "delivery " << i << " is out of order or repeated";
    }
    std::multiset<std::pair<std::int64_t, std::string>> want(expected.begin(), expected.end());
    std::multiset<std::pair<std::int64_t, std::string>> have;
    for (const auto& d : got) have.emplace(d.value, d.note);
    EXPECT_EQ(have, want);
  }

  // The (value, note) of every Bumped notification of these executions.
  static void collect(const std::vector<Execution>& runs, std::vector<std::pair<std::int64_t, std::string>>& out) {
    for (const auto& e : runs) {
      EXPECT_EQ(e.state, "HALT") << e.exception;
      for (const auto& n : e.notifications) {
        const auto s = parse_stack_item(n.at("state"));
        out.emplace_back(s->items.at(0).as_int64().value(), s->items.at(1).as_string().value());
      }
    }
  }

  std::int64_t delivered_count() {
    std::int64_t n = 0;
    db_->with_connection_blocking(
        [&](db::Connection& c) { n = c.query("SELECT count(*) FROM deliveries").get<std::int64_t>(0, 0); });
    return n;
  }

  nsl::testing::TempDir dir_{"neo-watcher"};
  std::string db_spec_;
  std::unique_ptr<db::Database> db_;
};

// The watching process of KeepsDeliveringAcrossKilledWatchingProcesses: this binary again, run
// with NSL_WATCH_CHILD_* set, watching until it is killed.
TEST_F(NeoWatcher, ChildProcessWatchesUntilKilled) {
  const auto db_path = env_text("NSL_WATCH_CHILD_DB");
  if (db_path.empty()) GTEST_SKIP() << "runs only as the watching process of another test";
  open_database(db_path);
  auto o = options(static_cast<std::uint32_t>(std::stoul(env_text("NSL_WATCH_CHILD_START"))));
  o.batch_blocks = 1;
  NotificationWatcher w(
      *client_, *db_, o,
      [](const Notification& n, db::Connection& c) {
        record(n, c);
        std::this_thread::sleep_for(10ms);  // a slow subscriber: kills land inside its transactions too
      },
      sink_.get("watcher"));
  asio::io_context ioc;
  asio::co_spawn(ioc, w.run(), asio::detached);
  ioc.run();
}

TEST_F(NeoWatcher, DeliversEveryNotificationOnceInOrderAcrossKilledWatchingProcesses) {
  const auto start = run_sync(client_->block_count());
  std::vector<std::pair<std::int64_t, std::string>> expected;
  for (int wave = 0; wave < 8; ++wave) {
    const auto w = std::to_string(wave);
    collect(send_all({call("bump", {Arg::integer(1), Arg{"b" + w}}), call("burst", {Arg::integer(4), Arg{"u" + w}}),
                      call("burst", {Arg::integer(2), Arg{"v" + w}})}),
            expected);
  }
  EXPECT_EQ(send_unchecked(call("fail", {Arg{std::string("never")}})).state, "FAULT");  // never delivered
  collect(send_all({call("bump", {Arg::integer(1), Arg{std::string("last")}})}), expected);
  ASSERT_EQ(expected.size(), 8u * 7 + 1);

  const auto db_path = db_spec_;
  const std::vector<std::pair<std::string, std::string>> child_env{{"NSL_WATCH_CHILD_DB", db_path},
                                                                   {"NSL_WATCH_CHILD_START", std::to_string(start)},
                                                                   {"NSL_WATCH_CHILD_CONTRACT", to_display(*notifier_)}};
  const std::string child_test = "NeoWatcher.ChildProcessWatchesUntilKilled";
  const auto total = static_cast<std::int64_t>(expected.size());
  std::vector<std::int64_t> at_kill;
  for (const auto stop_at : {total / 4, total / 2, (3 * total) / 4}) {
    const pid_t child = nsl::testing::spawn_test(child_test, child_env);
    nsl::testing::wait_until([&] { return delivered_count() >= stop_at; }, 30s);
    nsl::testing::kill_test(child);  // SIGKILL: no chance to clean up, mid-transaction or between two
    at_kill.push_back(delivered_count());
  }
  // The kills interrupted the work: the processes did not simply finish before them.
  EXPECT_LT(at_kill.front(), total) << "the first watching process finished before it was killed";
  const pid_t last = nsl::testing::spawn_test(child_test, child_env);
  nsl::testing::wait_until([&] { return delivered_count() >= total; }, 30s);
  std::this_thread::sleep_for(1500ms);  // time to deliver anything extra, which must not happen
  nsl::testing::kill_test(last, SIGTERM);
  expect_exactly_once_in_order(expected);
}

TEST_F(NeoWatcher, KeepsDeliveringAcrossARestartOfTheNode) {
  const auto start = run_sync(client_->block_count());
  NotificationWatcher w(*client_, *db_, options(start), record, sink_.get("watcher"));
  asio::io_context ioc;
  asio::co_spawn(ioc, w.run(), asio::detached);
  std::thread watching([&] { ioc.run(); });

  std::vector<std::pair<std::int64_t, std::string>> expected;
  collect(send_all({call("bump", {Arg::integer(1), Arg{std::string("before")}}),
                    call("burst", {Arg::integer(3), Arg{std::string("before")}})}),
          expected);
  const auto script = env_text("NSL_NEO_DEVNET_SCRIPT");
  ASSERT_FALSE(script.empty()) << "NSL_NEO_DEVNET_SCRIPT is not set (scripts/neo-devnet.sh)";
  const auto restart = script + " restart " + devnet_.string();
  // NOLINTNEXTLINE(cert-env33-c): the project's own script; the watcher's polls fail meanwhile
  ASSERT_EQ(std::system(restart.c_str()), 0) << restart;
  collect(send_all({call("bump", {Arg::integer(1), Arg{std::string("after")}}),
                    call("burst", {Arg::integer(3), Arg{std::string("after")}})}),
          expected);
  for (int i = 0; i < 600 && delivered_count() < static_cast<std::int64_t>(expected.size()); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(500ms);
  w.stop();
  watching.join();
  expect_exactly_once_in_order(expected);
}

TEST_F(NeoWatcher, FiltersByContractAndEventAndIncludesBlockExecutions) {
  const auto start = run_sync(client_->block_count());
  const auto key = funded_key(7'0000'0000);  // a GAS transfer, its fees burnt in OnPersist
  const auto account = script_hash(single_sig_script(crypto::p256::public_key(key)));
  send_all({call("bump", {Arg::integer(1), Arg{std::string("filter")}})});

  auto watch = [&](std::string name, std::vector<UInt160> contracts, std::vector<std::string> events) {
    std::vector<Notification> got;
    NotificationWatcherOptions o;
    o.name = std::move(name);
    o.contracts = std::move(contracts);
    o.events = std::move(events);
    o.start_block = start;
    NotificationWatcher w(
        *client_, *db_, o, [&](const Notification& n, db::Connection&) { got.push_back(n); }, sink_.get("watcher"));
    drain(w);
    return got;
  };
  const auto gas = watch("gas", {gas_token_hash()}, {"Transfer"});
  std::set<std::string> triggers;
  bool funded = false;
  for (const auto& n : gas) {
    EXPECT_EQ(n.contract, gas_token_hash());
    EXPECT_EQ(n.event_name, "Transfer");
    triggers.insert(n.trigger);
    EXPECT_EQ(n.transaction.has_value(), n.trigger == "Application");
    if (n.trigger == "Application" && n.state.items.at(1).as_hash160() == account) {
      funded = n.state.items.at(2).as_int64() == 7'0000'0000;
    }
  }
  EXPECT_TRUE(funded);
  // Fees are burnt when the block is persisted and the validator's reward minted after it.
  EXPECT_EQ(triggers, (std::set<std::string>{"OnPersist", "Application", "PostPersist"}));
  for (std::size_t i = 1; i < gas.size(); ++i) {
    EXPECT_LT(std::tie(gas[i - 1].block_index, gas[i - 1].execution, gas[i - 1].index),
              std::tie(gas[i].block_index, gas[i].execution, gas[i].index));
  }

  const auto mine = watch("notifier", {*notifier_}, {});
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].event_name, "Bumped");
  EXPECT_EQ(to_json(mine[0])["contract"], to_display(*notifier_));
  EXPECT_EQ(mine[0].state.items.at(1).as_string(), "filter");
  EXPECT_TRUE(watch("none", {*notifier_}, {"Transfer"}).empty());
  // Every contract and event: the GAS transfers and the notifier's event, and more.
  EXPECT_GE(watch("all", {}, {}).size(), gas.size() + 1);
}

TEST_F(NeoWatcher, RefusesANodeWhoseChainIsNotTheOneItFollowed) {
  const auto start = run_sync(client_->block_count()) - 1;
  NotificationWatcher w(*client_, *db_, options(start), record, sink_.get("watcher"));
  run_sync(w.poll_once());  // creates the cursor, remembering the hash of the block before it
  db_->with_connection_blocking([](db::Connection& c) {
    c.query("UPDATE chain_seen_blocks SET hash = $1 WHERE chain = 'neo-n3' AND name = 'test-watcher'", {to_display(UInt256{})});
  });
  EXPECT_THROW(run_sync(w.poll_once()), ChainMismatch);
  EXPECT_EQ(run_sync(w.next_block()), start);  // nothing was handed over, the cursor did not move
}

}  // namespace
}  // namespace nsl::chain::neo
