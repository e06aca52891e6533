// nsl side of bench/neo_bench.sh.
//   nsl_bench_neo sign COUNT           GAS transfers built, signed and serialized per second
//   nsl_bench_neo fill URL DIR TXS     deploys DIR/notifier.nef and sends TXS burst(200) calls;
//                                      (in waves of 5); prints the block range holding them
//   nsl_bench_neo watch URL HASH FROM TO CONCURRENCY PERSIST
//                                      replays the range with the notification watcher (cursor in
//                                      a fresh SQLite database; with PERSIST=1 the handler also
//                                      writes every notification there); notifications per second
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/rpc.hpp"
#include "nsl/chain/neo/script.hpp"
#include "nsl/chain/neo/sender.hpp"
#include "nsl/chain/neo/stack_item.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/chain/neo/watcher.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/sqlite_database.hpp"

using namespace nsl::chain::neo;
namespace crypto = nsl::crypto;
namespace asio = nsl::asio;
using nsl::testing::run_sync;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// The privnet validator key (public, test-only) and the same transfer neo_bench.js builds.
const Bytes kKey = decode_wif("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY").value();

int sign_bench(int n) {
  const auto verification = single_sig_script(crypto::p256::public_key(kKey));
  const auto from = script_hash(verification);
  const auto to = parse_uint160("0x70997970c51812dc3a010c7d01b50e0d17dc79c8").value();
  std::size_t bytes = 0;
  const auto started = Clock::now();
  for (int i = 0; i < n; ++i) {
    Transaction tx;
    tx.nonce = static_cast<std::uint32_t>(i);
    tx.system_fee = 997775;
    tx.network_fee = 1230610;
    tx.valid_until_block = 5760;
    tx.signers.push_back({from, kCalledByEntry, {}, {}});
    tx.script =
        ScriptBuilder()
            .contract_call(gas_token_hash(), "transfer", {Arg{from}, Arg{to}, Arg::integer(100'000'000 + i), Arg{Arg::Null{}}})
            .take();
    tx.witnesses.push_back({signature_invocation(crypto::p256::sign(kKey, sign_data(tx, 860833102))), verification});
    bytes += serialize(tx).size();
  }
  const double s = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("{\"signed_per_s\": %.0f, \"check\": %zu}\n", n / s, bytes);
  return 0;
}

// Signs for the genesis 1-of-1 multi-signature account (development networks only).
class GenesisSigner final : public AccountSigner {
 public:
  explicit GenesisSigner(Bytes key) : key_(std::move(key)), verification_(multisig_script(1, {crypto::p256::public_key(key_)})) {}
  const Bytes& verification_script() const override { return verification_; }
  asio::awaitable<Bytes> invocation(Bytes sign_data) override {
    co_return signature_invocation(crypto::p256::sign(key_, sign_data));
  }

 private:
  Bytes key_;
  Bytes verification_;
};

struct Context {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull{std::fopen("/dev/null", "w"), &std::fclose};
  nsl::log::Sink sink{nsl::log::Sink::Options{devnull.get(), 1u << 20}};
  nsl::metrics::Registry registry;
  nsl::http::HttpClient http{{"neo-rpc", 16, "nsl-bench"}, registry, sink};
  RpcClient rpc;
  explicit Context(const std::string& url) : rpc(nsl::http::JsonRpcOptions{{url}, 10s, 3, 100ms}, http) {}
};

Bytes read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int fill(const std::string& url, const std::filesystem::path& dir, int txs) {
  Context ctx(url);
  GenesisSigner signer(kKey);
  TransactionSender sender(ctx.rpc, signer, SenderOptions{100, 0, 200ms, 3});
  const auto nef = read_file(dir / "notifier.nef");
  const auto manifest = read_file(dir / "notifier.manifest.json");
  auto deploy = run_sync(sender.submit(
      ScriptBuilder()
          .contract_call(contract_management_hash(), "deploy", {Arg{nef}, Arg{std::string(manifest.begin(), manifest.end())}})
          .take()));
  const auto deployed = run_sync(sender.confirm(deploy));
  if (deployed.state != "HALT") throw std::runtime_error("deploy failed: " + deployed.exception);
  const auto hash = contract_hash(script_hash(signer.verification_script()), *nef_checksum(nef), "NSL Notifier");
  const auto from = run_sync(ctx.rpc.block_count());
  std::size_t notifications = 0;
  // In waves of 5, so that the notifications spread over several blocks.
  for (int wave = 0; wave * 5 < txs; ++wave) {
    asio::io_context ioc;
    for (int i = wave * 5; i < std::min(txs, wave * 5 + 5); ++i) {
      auto script = ScriptBuilder().contract_call(hash, "burst", {Arg::integer(200), Arg{"bench " + std::to_string(i)}}).take();
      asio::co_spawn(
          ioc,
          [&, script = std::move(script)]() -> asio::awaitable<void> {
            auto p = co_await sender.submit(script);
            const auto e = co_await sender.confirm(p);
            notifications += e.notifications.size();
          },
          asio::detached);
    }
    ioc.run();
  }
  const auto to = run_sync(ctx.rpc.block_count()) - 1;
  std::printf("{\"contract\": \"%s\", \"from\": %u, \"to\": %u, \"notifications\": %zu}\n", to_display(hash).c_str(), from, to,
              notifications);
  return 0;
}

int watch(const std::string& url, const std::string& contract, std::uint32_t from, std::uint32_t to, std::size_t concurrency,
          bool persist) {
  Context ctx(url);
  nsl::testing::TempDir dir("neo-bench");
  nsl::db::SqliteDatabase db({(dir.path() / "nsl.db").string(), 2, 5000}, ctx.registry);
  db.with_connection_blocking([](nsl::db::Connection& c) {
    nsl::db::migrate(c, nsl::db::platform_migrations());
    c.exec_script("CREATE TABLE delivered (block INTEGER, execution INTEGER, idx INTEGER, notification TEXT)");
  });
  NotificationWatcherOptions o;
  o.name = "bench";
  o.contracts = {parse_uint160(contract).value()};
  o.events = {"Bumped"};
  o.start_block = from;
  o.batch_blocks = std::min<std::uint32_t>(100, to - from + 1);  // no further than the range
  o.fetch_concurrency = concurrency;
  std::size_t delivered = 0;
  NotificationWatcher w(
      ctx.rpc, db, o,
      [&](const Notification& n, nsl::db::Connection& c) {
        if (n.block_index > to) return;
        ++delivered;
        if (!persist) return;
        c.query("INSERT INTO delivered VALUES ($1, $2, $3, $4)",
                {std::int64_t{n.block_index}, std::int64_t{n.execution}, std::int64_t{n.index}, to_json(n).dump()});
      },
      ctx.sink.get("watcher"));
  run_sync(w.poll_once());  // creates the cursor
  const auto started = Clock::now();
  while (run_sync(w.next_block()).value_or(0) <= to) run_sync(w.poll_once());
  const double s = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("{\"notifications_per_s\": %.0f, \"notifications\": %zu}\n", static_cast<double>(delivered) / s, delivered);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "sign" && argc == 3) return sign_bench(std::stoi(argv[2]));
    if (mode == "fill" && argc == 5) return fill(argv[2], argv[3], std::stoi(argv[4]));
    if (mode == "watch" && argc == 8) {
      return watch(argv[2], argv[3], static_cast<std::uint32_t>(std::stoul(argv[4])),
                   static_cast<std::uint32_t>(std::stoul(argv[5])), std::stoul(argv[6]), std::string(argv[7]) == "1");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsl_bench_neo: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: nsl_bench_neo sign COUNT | fill URL DIR TXS | watch URL HASH FROM TO CONCURRENCY PERSIST\n");
  return 2;
}
