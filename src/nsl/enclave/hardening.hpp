#pragma once

#include <string>
#include <vector>

namespace nsl::enclave {

/// What harden() achieved, for the startup log.
struct HardeningReport {
  bool not_dumpable = false;   // PR_SET_DUMPABLE 0: no core dumps, no ptrace by the same user
  bool no_core_files = false;  // RLIMIT_CORE 0
  bool seccomp = false;        // the system-call filter is installed
  std::vector<std::string> problems;
};

/// Makes this process hard to inspect: not dumpable, no core files, and (when `seccomp` is set) a
/// seccomp filter that refuses what the enclave never needs: running programs, starting
/// processes, tracing or reading other processes, network sockets and connecting anywhere,
/// loading kernel code, mounting, keyrings, userfaultfd, perf and BPF.
HardeningReport harden(bool seccomp);

}  // namespace nsl::enclave
