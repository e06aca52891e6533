// nsl side of bench/enclave_bench.sh: secp256r1 signatures per second through the enclave
// boundary (a supervised nsl-enclave over its Unix socket), one request per signature with
// THREADS requests in flight, and in batches of BATCH signatures per request.
// Usage: nsl_bench_enclave COUNT THREADS BATCH
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "nsl/crypto/hash.hpp"
#include "nsl/enclave/testing/local_enclave.hpp"

using namespace nsl;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::stoi(argv[1]) : 20000;
  const int threads = argc > 2 ? std::stoi(argv[2]) : 4;
  const int batch = argc > 3 ? std::stoi(argv[3]) : 64;
  enclave::testing::LocalEnclave local(static_cast<std::size_t>(threads));
  auto& client = local.client();
  const auto key = client.call_blocking({{"op", "create_key"}, {"kind", "secp256r1"}, {"key_ref", "bench/k"}});
  const nlohmann::json sign{{"op", "sign"}, {"kind", "secp256r1"}, {"key_ref", "bench/k"}, {"sealed", key["sealed"]},
                            {"digest", crypto::to_hex(crypto::sha256(crypto::as_bytes("bench")))}};

  // One request per signature, `threads` at once.
  std::atomic<int> next{0};
  auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (next.fetch_add(1) < count) client.call_blocking(sign);
    });
  }
  for (auto& w : workers) w.join();
  const double single_s = std::chrono::duration<double>(Clock::now() - started).count();

  // Batches: one request carries `batch` signatures.
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < batch; ++i) items.push_back(sign);
  const nlohmann::json batched{{"op", "sign_batch"}, {"items", items}};
  const int requests = count / batch;
  next = 0;
  workers.clear();
  started = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (next.fetch_add(1) < requests) client.call_blocking(batched);
    });
  }
  for (auto& w : workers) w.join();
  const double batch_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("{\"single_per_s\": %.0f, \"batched_per_s\": %.0f}\n", count / single_s, requests * batch / batch_s);
  return 0;
}
