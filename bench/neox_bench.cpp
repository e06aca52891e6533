// nsl side of bench/neox_bench.sh: EIP-1559 transactions built, signed and serialized per second,
// and ERC-20 Transfer logs decoded per second (topics checked, data ABI-decoded).
// Usage: nsl_bench_neox COUNT
#include <chrono>
#include <cstdio>
#include <string>

#include "nsl/chain/neox/abi.hpp"
#include "nsl/chain/neox/transaction.hpp"

using namespace nsl::chain::neox;
namespace crypto = nsl::crypto;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 20000;
  const auto key = crypto::from_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").value();
  const auto to = parse_address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8").value();
  using Clock = std::chrono::steady_clock;

  std::size_t bytes = 0;
  auto started = Clock::now();
  for (int i = 0; i < n; ++i) {
    Transaction tx;
    tx.chain_id = kMainNetChainId;
    tx.nonce = static_cast<std::uint64_t>(i);
    tx.max_priority_fee_per_gas = Uint256(20'000'000'000ull);
    tx.max_fee_per_gas = Uint256(40'000'000'000ull);
    tx.gas_limit = 60000;
    tx.to = to;
    tx.value = Uint256(1'000'000'000'000'000'000ull);
    tx.data = crypto::from_hex(
                  "a9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8"
                  "0000000000000000000000000000000000000000000000000de0b6b3a7640000")
                  .value();
    bytes += encode_signed(tx, sign(tx, key)).size();
  }
  const double sign_s = std::chrono::duration<double>(Clock::now() - started).count();

  // Logs: Transfer(address indexed from, address indexed to, uint256 value), decoded as ethers'
  // parseLog does: match topic 0, turn both indexed topics into checksummed addresses, decode data.
  const auto topic0 = abi::event_topic("Transfer(address,address,uint256)");
  const std::vector<abi::Type> data_types{*abi::parse_type("uint256")};
  const auto data = abi::encode(data_types, {{Uint256(123456789)}});
  crypto::Hash256 padded_to{};
  std::copy(to.begin(), to.end(), padded_to.begin() + 12);
  const std::vector<crypto::Hash256> topics{topic0, padded_to, padded_to};
  Uint256 total;
  std::size_t address_chars = 0;
  const int logs = n * 5;
  started = Clock::now();
  for (int i = 0; i < logs; ++i) {
    if (topics[0] != topic0) return 1;
    for (int k = 1; k <= 2; ++k) {
      Address a{};
      std::copy(topics[static_cast<std::size_t>(k)].begin() + 12, topics[static_cast<std::size_t>(k)].end(), a.begin());
      address_chars += to_checksum(a).size();
    }
    const auto v = abi::decode(data_types, data);
    total = total + std::get<Uint256>((*v)[0].v);
  }
  const double logs_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("{\"signed_per_s\": %.0f, \"logs_per_s\": %.0f, \"check\": %zu}\n", n / sign_s, logs / logs_s,
              bytes + (total.is_zero() || address_chars == 0 ? 0 : 1));
}
