#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nsl {

/// ASCII case-insensitive equality (configuration keys, header names).
bool iequals(std::string_view a, std::string_view b) noexcept;
/// ASCII lower-case copy.
std::string to_lower(std::string_view s);
/// Removes ASCII whitespace at both ends.
std::string_view trim(std::string_view s) noexcept;
/// Splits on every occurrence of `sep` (which may be longer than one character).
std::vector<std::string_view> split(std::string_view s, std::string_view sep);
/// The parts with `sep` between them.
std::string join(const std::vector<std::string>& parts, std::string_view sep);
/// The value of one hex digit (either case), or -1.
int hex_digit_value(char c) noexcept;

/// The number of code points in UTF-8 text: what JSON Schema's minLength and maxLength count.
std::size_t utf8_length(std::string_view s) noexcept;
/// Appends `s` as a quoted JSON string literal, escaping as RFC 8259 requires. Invalid UTF-8
/// bytes are replaced with U+FFFD so that every log line stays valid JSON.
void append_json_string(std::string& out, std::string_view s);
/// `s` as text any database column can hold: invalid UTF-8 bytes and U+0000 become U+FFFD, and
/// the text is cut at a character boundary to at most `max_bytes` bytes.
std::string storable_text(std::string_view s, std::size_t max_bytes = std::string::npos);
/// Whether `s` is valid UTF-8 without U+0000 (storable_text would return it unchanged).
bool is_storable_text(std::string_view s) noexcept;

/// Whether JSON text nests arrays and objects more than `max_depth` levels deep (brackets inside
/// strings do not count). A linear scan that allocates nothing, so text can be checked before it
/// is parsed: serialising, copying or walking a parsed value recurses once per level.
bool json_nesting_exceeds(std::string_view text, std::size_t max_depth) noexcept;

/// The text of the member `name` of a JSON object, exactly as written (the last one, should the
/// name repeat), or std::nullopt. `object` must be JSON text already checked to parse as an
/// object. Keeps what parsing and re-serialising would lose: numbers beyond 64 bits stay exact.
std::optional<std::string_view> json_member_text(std::string_view object, std::string_view name);

/// One JSON object written directly, member by member, for hot paths that would otherwise
/// build a JSON value only to serialise it.
class JsonObjectText {
 public:
  /// A string member.
  JsonObjectText& add(std::string_view name, std::string_view value);
  /// A member whose value is JSON text already (a number, an object, ...), copied as it is.
  JsonObjectText& add_raw(std::string_view name, std::string_view json);
  /// The object's text (moved out: the writer is spent).
  std::string finish();

 private:
  std::string out_ = "{";
};

}  // namespace nsl
