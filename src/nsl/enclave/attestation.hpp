#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/crypto/bytes.hpp"

namespace nsl::enclave {

/// The bytes an attestation report's signature covers: a fixed prefix and the report as compact
/// JSON with sorted keys.
crypto::Bytes attestation_signing_bytes(const nlohmann::json& report);

/// What to require of a report besides a valid signature. A report is signed by the key it
/// carries, so it proves something only against values the relying party knows beforehand: the
/// attestation key (from the operator, or recorded at first contact) and the measurement (of
/// the enclave binary it expects) are required, and a report checked without them fails.
struct AttestationExpectations {
  std::optional<std::string> nonce;            // hex, as sent in the request
  std::optional<std::string> measurement;      // hex SHA-256 of the enclave binary
  std::optional<std::string> attestation_key;  // hex compressed P-256 key
  /// Further public keys the report must name with these values, by purpose ("jwt", "transport").
  std::vector<std::pair<std::string, std::string>> keys;
  std::optional<std::chrono::seconds> max_age;
  bool allow_simulation = false;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct AttestationCheck {
  std::string name;  // "signature", "nonce", ...
  bool passed = false;
  std::string detail;
};

/// Checks a report file's content ({"report": {...}, "signature": hex}): its form, the
/// signature by the attestation key it names, that key and the measurement against the pinned
/// values, and each further expectation. Every check is listed, so a
/// failing report says why.
std::vector<AttestationCheck> verify_attestation(const nlohmann::json& document, const AttestationExpectations& expect);

}  // namespace nsl::enclave
