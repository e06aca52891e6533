#pragma once

// Reading a JSON request body: the object itself and its common fields, each failure a 400 that
// names the field (core/errors.hpp field_error).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "nsl/crypto/bytes.hpp"
#include "nsl/http/types.hpp"

namespace nsl::services {

/// The request body as a JSON object; 400 "the request body must be a JSON object" otherwise.
nlohmann::json json_body(const http::Context& ctx);

/// A required string of 1 to `max` characters.
std::string string_field(const nlohmann::json& body, const char* name, std::size_t max);

/// An optional string of at most `max` characters: "" when absent or null.
std::string optional_string_field(const nlohmann::json& body, const char* name, std::size_t max);

/// A required hex string of at most `max_bytes` bytes (an optional 0x prefix is accepted).
crypto::Bytes hex_field(const nlohmann::json& body, const char* name, std::size_t max_bytes);

/// A name of letters, digits and - _ . : of 1 to `max` characters (keys, secrets); 400 naming
/// `field` otherwise.
std::string valid_name(std::string_view name, const char* field, std::size_t max);

/// A JSON number with no fractional part, as JSON Schema's "integer" reads one: 2094 and 2094.0
/// alike. A fraction, a value past 2^53 written as a float (no longer exact) or anything that is
/// not a number gives nullopt.
std::optional<std::int64_t> whole_number(const nlohmann::json& v);

/// An optional boolean: false when absent or null.
bool bool_field(const nlohmann::json& body, const char* name);

}  // namespace nsl::services
