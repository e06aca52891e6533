// nsl-enclave: holds every private key, the sealing secrets and secret values, and answers the
// nsl server over a Unix socket. Started and supervised by `nsl serve` (Enclave:Supervise), or
// run on its own in production. On this hardware it runs in simulation mode and says so in
// every attestation and in /health; on SGX the same program runs under Gramine (deploy/gramine).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "nsl/core/build_info.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/secure_heap.hpp"
#include "nsl/enclave/hardening.hpp"
#include "nsl/enclave/sealer.hpp"
#include "nsl/enclave/service.hpp"
#include "nsl/enclave/socket_server.hpp"

namespace {

using namespace nsl;

// The measurement: SHA-256 of this program's binary.
std::string measure_self() {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw StartupError("cannot read /proc/self/exe to measure the enclave binary");
  return crypto::to_hex(crypto::sha256(crypto::as_bytes(bytes)));
}

crypto::Bytes read_token(std::optional<int> fd, const std::string& file) {
  std::string text;
  if (fd) {
    char buf[256];
    ssize_t n = 0;
    while ((n = ::read(*fd, buf, sizeof buf)) > 0 && text.size() < 1024) text.append(buf, static_cast<std::size_t>(n));
    ::close(*fd);
  } else {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) throw StartupError("--token-file " + file + ": cannot be read");
    if ((st.st_mode & 077) != 0) throw StartupError("--token-file " + file + ": may be read by other users; it must be 0600");
    std::ifstream in(file);
    std::getline(in, text);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto token = crypto::from_hex(text);
  crypto::wipe(text.data(), text.size());
  if (!token || token->size() < 16) throw StartupError("the connection token must be at least 16 bytes of hex");
  return std::move(*token);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nsl-enclave - holds the Neo Service Layer's keys, sealing secrets and secret values.\n"
      "Answers only the nsl server, over a Unix socket. Normally started by `nsl serve`."};
  std::string socket_path, sealing_key, mode = "simulation", token_file;
  std::optional<int> token_fd;
  std::optional<pid_t> peer_pid;
  uid_t peer_uid = ::geteuid();
  std::size_t max_connections = 64;
  bool no_seccomp = false;
  app.add_option("--socket", socket_path, "Unix socket to serve (its directory is made 0700)")->required();
  app.add_option("--sealing-key", sealing_key, "Root sealing secret file (simulation; created 0600 when missing)");
  app.add_option("--mode", mode, "simulation (a plain process) or sgx (under Gramine)")
      ->check(CLI::IsMember({"simulation", "sgx"}));
  auto* fd_opt = app.add_option("--token-fd", token_fd, "Read the connection token (hex) from this file descriptor");
  app.add_option("--token-file", token_file, "Read the connection token (hex) from this 0600 file")->excludes(fd_opt);
  app.add_option("--peer-uid", peer_uid, "The user the server runs as (default: this one)");
  app.add_option("--peer-pid", peer_pid, "Accept only this process (the supervising server); exit when it exits");
  app.add_option("--max-connections", max_connections, "Connections served at once")->check(CLI::Range(1, 4096));
  app.add_flag("--no-seccomp", no_seccomp, "Do not install the system-call filter (debugging only)");
  CLI11_PARSE(app, argc, argv);

  // JSON lines on stdout, like nsl itself: one log stream for the operator.
  log::Sink sink(log::Sink::Options{stdout, 1u << 16});
  const auto log = sink.get("enclave");
  try {
    if (mode == "sgx") {
      // Under Gramine /dev/attestation exists; anything else is not an enclave.
      if (::access("/dev/attestation/quote", R_OK) != 0) {
        throw StartupError(
            "--mode sgx needs Intel SGX under Gramine (/dev/attestation is missing); this machine has "
            "no SGX: use --mode simulation");
      }
      throw StartupError("--mode sgx: hardware sealing and quotes are not built yet; use --mode simulation");
    }
    if (sealing_key.empty()) throw StartupError("--sealing-key is required in simulation mode");
    if (!token_fd && token_file.empty()) throw StartupError("one of --token-fd or --token-file is required");
    if (peer_pid) {
      // Supervised: end with the server, and refuse to run for anyone else.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != *peer_pid) throw StartupError("--peer-pid is not this process's parent (the server exited?)");
    }
    // Signals are taken by one thread (sigwait), so block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    const auto token = read_token(token_fd, token_file);
    const auto measurement = measure_self();
    const bool existed = ::access(sealing_key.c_str(), F_OK) == 0;
    // Locked memory for keys and secrets in the clear, before any is opened (2 MiB: keys are
    // 32 bytes, secret values at most 64 KiB, a few requests at a time).
    const auto heap = crypto::init_secure_heap(std::size_t{1} << 21);
    enclave::Sealer sealer(enclave::RootStore::open(sealing_key, true));
    if (!heap.locked || !sealer.locked()) {
      rlimit memlock{};
      ::getrlimit(RLIMIT_MEMLOCK, &memlock);
      log.warn("secret memory is not locked in RAM: keys may be written to swap",
               {{"secure_heap", heap.initialised},
                {"rlimit_memlock_bytes", static_cast<std::int64_t>(memlock.rlim_cur)},
                {"fix", "raise RLIMIT_MEMLOCK for nsl-enclave (e.g. LimitMEMLOCK=16M in systemd, or ulimit -l 16384)"}});
    }
    if (!existed) log.warn("created a new root sealing secret", {{"path", sealing_key}});
    enclave::EnclaveService service(sealer, {mode, measurement});
    enclave::SocketServer server({socket_path, peer_uid, peer_pid, token, max_connections}, service, log);
    server.bind();
    const auto hardening = enclave::harden(!no_seccomp);
    for (const auto& p : hardening.problems) log.warn("hardening incomplete", {{"problem", p}});
    log.info("enclave ready", {{"mode", mode},
                               {"socket", socket_path},
                               {"measurement", measurement},
                               {"root_id", crypto::to_hex(sealer.current_root())},
                               {"not_dumpable", hardening.not_dumpable},
                               {"memory_locked", heap.locked && sealer.locked()},
                               {"seccomp", hardening.seccomp},
                               {"version", build_info::kVersion}});
    std::thread signal_thread([&] {
      int sig = 0;
      sigwait(&signals, &sig);
      log.info("enclave stopping", {{"signal", sig}});
      server.stop();
    });
    server.run();
    signal_thread.join();
  } catch (const StartupError& e) {
    log.error("enclave cannot start", {{"error", e.what()}});
    sink.flush();
    std::fprintf(stderr, "nsl-enclave: %s\n", e.what());
    return 1;
  }
  sink.flush();
  return 0;
}
