#pragma once

// Test helper: a real nsl-enclave, supervised by this process, in a temporary directory, with a
// client connected to it.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/enclave/supervisor.hpp"

namespace nsl::enclave::testing {

/// The nsl-enclave binary of this build: $NSL_ENCLAVE_BINARY, else build/bin/nsl-enclave
/// found from the running test binary.
inline std::string enclave_binary() {
  if (const char* env = std::getenv("NSL_ENCLAVE_BINARY"); env && *env) return env;
  auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  for (int up = 0; up < 6 && !dir.empty(); ++up, dir = dir.parent_path()) {
    const auto candidate = dir / "bin" / "nsl-enclave";
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  throw std::runtime_error("nsl-enclave not found: build it, or set NSL_ENCLAVE_BINARY");
}

class LocalEnclave {
 public:
  explicit LocalEnclave(std::size_t threads = 4)
      : supervisor_({enclave_binary(), (dir_ / "e.sock").string(), (dir_ / "root").string(), 64,
                     std::chrono::milliseconds(10'000), (dir_ / "enclave.log").string()},
                    registry_, sink_.get("supervisor")) {
    supervisor_.start();
    client_ = std::make_unique<EnclaveClient>(
        ClientOptions{(dir_ / "e.sock").string(), supervisor_.token(), threads, std::chrono::milliseconds(5000)}, registry_,
        sink_);
  }
  EnclaveClient& client() { return *client_; }
  std::string socket_path() const { return (dir_ / "e.sock").string(); }
  Supervisor& supervisor() { return supervisor_; }
  metrics::Registry& registry() { return registry_; }

 private:
  nsl::testing::TempDir dir_{"enclave"};
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull_{std::fopen("/dev/null", "w"), &std::fclose};
  log::Sink sink_{log::Sink::Options{devnull_.get(), 1u << 16}};
  metrics::Registry registry_;
  Supervisor supervisor_;
  std::unique_ptr<EnclaveClient> client_;
};

}  // namespace nsl::enclave::testing
