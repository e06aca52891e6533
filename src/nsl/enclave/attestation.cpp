#include "nsl/enclave/attestation.hpp"

#include <charconv>
#include <ctime>

#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"

namespace nsl::enclave {
namespace {

// "YYYY-MM-DDTHH:MM:SS" with an optional ".mmm", then "Z" (as utc_now_text writes it).
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  const auto number = [&](std::size_t at, std::size_t digits, int& out) {
    if (at + digits > text.size()) return false;
    const char* begin = text.data() + at;
    return std::from_chars(begin, begin + digits, out).ptr == begin + digits;
  };
  if (text.size() < 20) return std::nullopt;
  std::tm tm{};
  int ms = 0;
  const bool ok = number(0, 4, tm.tm_year) && text[4] == '-' && number(5, 2, tm.tm_mon) && text[7] == '-' &&
                  number(8, 2, tm.tm_mday) && text[10] == 'T' && number(11, 2, tm.tm_hour) && text[13] == ':' &&
                  number(14, 2, tm.tm_min) && text[16] == ':' && number(17, 2, tm.tm_sec);
  if (!ok) return std::nullopt;
  if (text.size() > 19 && text[19] == '.' && !number(20, 3, ms)) return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

// Two hex texts of the same bytes (either case); never equal when either is empty or not hex.
bool equal_hex(const std::string& a, const std::string& b) {
  const auto x = crypto::from_hex(a);
  const auto y = crypto::from_hex(b);
  return x && y && !x->empty() && *x == *y;
}

}  // namespace

crypto::Bytes attestation_signing_bytes(const nlohmann::json& report) {
  const std::string text = "nsl-attestation-v1\n" + report.dump();
  return crypto::Bytes(text.begin(), text.end());
}

std::vector<AttestationCheck> verify_attestation(const nlohmann::json& document, const AttestationExpectations& expect) {
  std::vector<AttestationCheck> checks;
  auto add = [&](std::string name, bool ok, std::string detail) { checks.push_back({std::move(name), ok, std::move(detail)}); };
  if (!document.is_object() || !document.contains("report") || !document["report"].is_object() ||
      !document.contains("signature") || !document["signature"].is_string()) {
    add("form", false, "not an attestation report: expected {\"report\": {...}, \"signature\": \"<hex>\"}");
    return checks;
  }
  const auto& report = document["report"];
  auto text = [&](const char* key) {
    const auto it = report.find(key);
    return it != report.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto key_hex = report.contains("public_keys") && report["public_keys"].is_object()
                           ? report["public_keys"].value("attestation", std::string())
                           : std::string();
  const auto key = crypto::from_hex(key_hex);
  const auto signature = crypto::from_hex(document["signature"].get<std::string>());
  const bool form_ok = report.value("version", 0) == 1 && key && key->size() == 33 && signature && signature->size() == 64 &&
                       !text("mode").empty() && !text("measurement").empty() && !text("time").empty();
  add("form", form_ok,
      form_ok ? "version 1"
              : "missing or malformed fields (version, mode, measurement, time, public_keys.attestation, signature)");
  if (!form_ok) return checks;

  const bool signed_ok = crypto::p256::verify(*key, attestation_signing_bytes(report), *signature);
  add("signature", signed_ok,
      signed_ok ? "valid, by attestation key " + key_hex : "does not verify: the report was changed or not signed by its key");

  const auto mode = text("mode");
  if (mode == "simulation") {
    add("mode", expect.allow_simulation,
        expect.allow_simulation ? "simulation (allowed): no hardware vouches for the enclave"
                                : "simulation: no hardware vouches for this enclave (pass --allow-simulation to accept it)");
  } else if (mode == "sgx") {
    add("mode", false, "sgx: verifying an SGX quote needs Intel's attestation collateral, which this tool does not fetch");
  } else {
    add("mode", false, "unknown mode \"" + mode + "\"");
  }
  if (expect.nonce) {
    const bool ok = text("nonce") == *expect.nonce;
    add("nonce", ok, ok ? "matches" : "is " + text("nonce") + ", expected " + *expect.nonce);
  }
  if (expect.attestation_key) {
    const bool ok = equal_hex(key_hex, *expect.attestation_key);
    add("key", ok, ok ? "the attestation key is the pinned one" : "is " + key_hex + ", pinned " + *expect.attestation_key);
  } else {
    add("key", false, "no attestation key pinned: a report signed by the key it carries proves nothing by itself");
  }
  if (expect.measurement) {
    const bool ok = equal_hex(text("measurement"), *expect.measurement);
    add("measurement", ok,
        ok ? "matches " + *expect.measurement : "is " + text("measurement") + ", expected " + *expect.measurement);
  } else {
    add("measurement", false, "no measurement expected: pass the enclave binary or its SHA-256");
  }
  const auto& keys = report["public_keys"];
  for (const auto& [purpose, expected] : expect.keys) {
    const auto given = keys.contains(purpose) && keys[purpose].is_string() ? keys[purpose].get<std::string>() : std::string();
    const bool ok = equal_hex(given, expected);
    add(purpose + " key", ok, ok ? "matches" : given.empty() ? "not in the report" : "is " + given + ", pinned " + expected);
  }
  if (expect.max_age) {
    const auto at = parse_time(text("time"));
    if (!at) {
      add("age", false, "time \"" + text("time") + "\" is not an ISO 8601 UTC time");
    } else {
      const auto age = std::chrono::duration_cast<std::chrono::seconds>(expect.now - *at);
      const bool ok = age <= *expect.max_age && age >= std::chrono::seconds(-60);
      add("age", ok, std::to_string(age.count()) + " s old (at most " + std::to_string(expect.max_age->count()) + " s allowed)");
    }
  }
  return checks;
}

}  // namespace nsl::enclave
