// The attestation service's own logic, without HTTP: a real enclave process signs the report, and
// the report is checked as `nsl attest verify` checks a saved one.

#include <gtest/gtest.h>

#include "nsl/core/errors.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/enclave/attestation.hpp"
#include "nsl/enclave/testing/local_enclave.hpp"
#include "nsl/services/attestation/attestation.hpp"
#include "nsl/services/common/testing/service_test.hpp"

namespace nsl::services::attestation {
namespace {

using nsl::testing::run_sync;
using services::testing::failure_kind;

enclave::EnclaveClient& enclave() {
  static enclave::testing::LocalEnclave e;
  return e.client();
}

std::vector<std::string> failed_checks(const enclave::Attestation& a, const std::string& nonce) {
  const auto info = run_sync(enclave().info());  // what an operator publishes for relying parties
  enclave::AttestationExpectations expect;
  expect.nonce = nonce;
  expect.measurement = info.measurement;
  expect.attestation_key = crypto::to_hex(info.attestation_public_key);
  expect.allow_simulation = true;
  std::vector<std::string> failed;
  for (const auto& check :
       enclave::verify_attestation({{"report", a.report}, {"signature", crypto::to_hex(a.signature)}}, expect)) {
    if (!check.passed) failed.push_back(check.name);
  }
  return failed;
}

TEST(Attestation, AReportIsBoundToTheCallersNonceAndSignedByTheEnclave) {
  AttestationService service(enclave());
  const std::string nonce(64, 'a');
  const auto report = run_sync(service.report(valid_nonce(nonce)));
  EXPECT_EQ(failed_checks(report, nonce), std::vector<std::string>{});
  EXPECT_EQ(failed_checks(report, std::string(64, 'b')), std::vector<std::string>{"nonce"});
  auto changed = report;
  changed.report["mode"] = "hardware";
  EXPECT_NE(failed_checks(changed, nonce), std::vector<std::string>{});
}

TEST(Attestation, ANonceIsSixteenToSixtyFourBytesOfHex) {
  EXPECT_EQ(valid_nonce(std::string(32, 'f')).size(), 16U);
  EXPECT_EQ(valid_nonce(std::string(128, '0')).size(), 64U);
  for (const std::optional<std::string>& bad :
       {std::optional<std::string>{}, std::optional<std::string>{std::string(30, 'f')},
        std::optional<std::string>{std::string(130, 'f')}, std::optional<std::string>{"0x" + std::string(32, 'f')},
        std::optional<std::string>{std::string(31, 'f') + "g"}}) {
    EXPECT_EQ(failure_kind([&] { valid_nonce(bad); }), ErrorKind::bad_request) << bad.value_or("(none)");
  }
}

}  // namespace
}  // namespace nsl::services::attestation
