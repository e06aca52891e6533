#include "nsl/enclave/hardening.hpp"

#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace nsl::enclave {

HardeningReport harden(bool seccomp) {
  HardeningReport report;
  report.not_dumpable = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  if (!report.not_dumpable) report.problems.push_back(std::string("PR_SET_DUMPABLE: ") + std::strerror(errno));
  const rlimit none{0, 0};
  report.no_core_files = ::setrlimit(RLIMIT_CORE, &none) == 0;
  if (!report.no_core_files) report.problems.push_back(std::string("RLIMIT_CORE: ") + std::strerror(errno));
  if (!seccomp) return report;

  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) {
    report.problems.push_back("seccomp_init failed");
    return report;
  }
  const auto deny = SCMP_ACT_ERRNO(EPERM);
  int rc = 0;
  for (const int call : {SCMP_SYS(execve),
                         SCMP_SYS(execveat),
                         SCMP_SYS(ptrace),
                         SCMP_SYS(process_vm_readv),
                         SCMP_SYS(process_vm_writev),
                         SCMP_SYS(connect),
                         SCMP_SYS(fork),
                         SCMP_SYS(vfork),
                         SCMP_SYS(mount),
                         SCMP_SYS(umount2),
                         SCMP_SYS(kexec_load),
                         SCMP_SYS(init_module),
                         SCMP_SYS(finit_module),
                         SCMP_SYS(delete_module),
                         SCMP_SYS(bpf),
                         SCMP_SYS(userfaultfd),
                         SCMP_SYS(perf_event_open),
                         SCMP_SYS(keyctl),
                         SCMP_SYS(add_key),
                         SCMP_SYS(request_key),
                         SCMP_SYS(personality),
                         SCMP_SYS(process_madvise),
                         SCMP_SYS(pidfd_getfd)}) {
    rc |= seccomp_rule_add(ctx, deny, call, 0);
  }
  // Threads only: clone without CLONE_THREAD would start a process. clone3 hides its flags in
  // memory the filter cannot read, so it reports ENOSYS and the C library falls back to clone.
  rc |= seccomp_rule_add(ctx, deny, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  // Unix sockets only.
  rc |= seccomp_rule_add(ctx, deny, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
  if (rc != 0) {
    report.problems.push_back("seccomp rules could not be built");
  } else if (seccomp_load(ctx) != 0) {
    report.problems.push_back("seccomp_load failed");
  } else {
    report.seccomp = true;
  }
  seccomp_release(ctx);
  return report;
}

}  // namespace nsl::enclave
