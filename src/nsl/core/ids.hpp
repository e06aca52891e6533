#pragma once

#include <string>
#include <string_view>

namespace nsl {

/// A random RFC 9562 version-4 UUID in its canonical lower-case form, from the OpenSSL CSPRNG
/// (used for row ids and request ids alike, so neither can be guessed).
std::string random_uuid();

/// An RFC 9562 version-7 UUID: the Unix time in milliseconds, then 74 random bits. Ids made one
/// after another sort (and land in a B-tree index) one after another, yet cannot be guessed; for
/// request ids and the ids of rows written at a high rate.
std::string time_ordered_uuid();

/// Whether a client-supplied request or correlation id may be echoed and logged as it is:
/// 1..128 characters of [A-Za-z0-9._:-]. Anything else is replaced by a generated id.
bool is_acceptable_request_id(std::string_view id) noexcept;

}  // namespace nsl
