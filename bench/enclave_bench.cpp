// nsl side of bench/enclave_bench.sh: secp256r1 signatures per second through the enclave
// boundary (a supervised nsl-enclave over its Unix socket), in the items frames the server sends
// (src/nsl/enclave/protocol.hpp): one signature per frame with THREADS frames in flight, and BATCH
// signatures per frame.
// Usage: nsl_bench_enclave COUNT THREADS BATCH
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nsl/core/testing/run_sync.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/enclave/protocol.hpp"
#include "nsl/enclave/testing/local_enclave.hpp"

using namespace nsl;
using Clock = std::chrono::steady_clock;

namespace {

// A connection of its own, past the hello exchange.
int connect(enclave::testing::LocalEnclave& local) {
  const int fd = enclave::connect_unix(local.socket_path());
  if (fd < 0) throw std::runtime_error("cannot connect to the enclave");
  const auto hello = enclave::hello_request(local.supervisor().token());
  const auto reply = enclave::write_frame(fd, hello) ? enclave::read_frame(fd) : std::nullopt;
  if (!reply || !nlohmann::json::parse(*reply).value("ok", false)) throw std::runtime_error("the enclave refused the bench");
  return fd;
}

// Sends `frames` frames from each of `threads` connections; every answer must hold signatures.
double run(enclave::testing::LocalEnclave& local, const std::string& frame, int frames, int threads, std::size_t per_frame) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  const auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      const int fd = connect(local);
      while (next.fetch_add(1) < frames) {
        const auto reply = enclave::write_frame(fd, frame) ? enclave::read_frame(fd) : std::nullopt;
        if (!reply) {
          failed = true;
          break;
        }
        enclave::ItemsReader answer(*reply);
        for (std::size_t i = 0; i < per_frame; ++i) {
          if (answer.next().type != 's') failed = true;
        }
      }
      ::close(fd);
    });
  }
  for (auto& w : workers) w.join();
  if (failed) throw std::runtime_error("the enclave did not sign every request");
  return std::chrono::duration<double>(Clock::now() - started).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::stoi(argv[1]) : 20000;
  const int threads = argc > 2 ? std::stoi(argv[2]) : 4;
  const int batch = argc > 3 ? std::stoi(argv[3]) : 64;
  enclave::testing::LocalEnclave local(static_cast<std::size_t>(threads));
  auto& client = local.client();
  const auto key = nsl::testing::run_sync(client.create_key("secp256r1", "bench/k"));
  const auto& sealed = key.sealed;
  const auto digest = crypto::sha256(crypto::as_bytes("bench"));
  const auto item =
      enclave::encode_sign_item({1, "bench/k", std::string_view(reinterpret_cast<const char*>(sealed.data()), sealed.size()),
                                 std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())});
  const auto single = enclave::ItemsWriter().encoded(item).finish();
  enclave::ItemsWriter many;
  for (int i = 0; i < batch; ++i) many.encoded(item);
  const auto batched = many.finish();

  const double single_s = run(local, single, count, threads, 1);
  const int frames = count / batch;
  const double batch_s = run(local, batched, frames, threads, static_cast<std::size_t>(batch));
  std::printf("{\"single_per_s\": %.0f, \"batched_per_s\": %.0f}\n", count / single_s, frames * batch / batch_s);
  return 0;
}
