#include "nsl/core/strings.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nsl/core/ids.hpp"

namespace nsl {
namespace {

TEST(Strings, JsonStringEscaping) {
  std::string out;
  append_json_string(out, std::string_view("a\"b\\c\n\x01\x7f", 8));
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001\u007f")");
  out.clear();
  append_json_string(out, "h\xC3\xA9llo \xF0\x9F\x98\x80");  // valid 2- and 4-byte sequences pass through
  EXPECT_EQ(out, "\"h\xC3\xA9llo \xF0\x9F\x98\x80\"");
  out.clear();
  append_json_string(out, "\xC0\xAF \xED\xA0\x80");  // overlong and surrogate forms are replaced
  EXPECT_EQ(out, "\"\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(Strings, StorableTextIsValidUtf8WithoutNulCutAtACharacter) {
  EXPECT_EQ(storable_text("plain ascii"), "plain ascii");
  EXPECT_TRUE(is_storable_text("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_storable_text("caf\xE9"));
  EXPECT_FALSE(is_storable_text(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_storable_text("\xC3"));  // cut in the middle of a character
  EXPECT_EQ(storable_text("caf\xE9 \xFF"), "caf\xEF\xBF\xBD \xEF\xBF\xBD");
  EXPECT_EQ(storable_text(std::string_view("a\0b", 3)),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(storable_text("\xC0\xAF\xED\xA0\x80"),  // overlong and surrogate forms
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  // "b" and 300 two-byte characters, cut at 512 bytes: 255 whole characters, never half of one.
  std::string long_text = "b";
  for (int i = 0; i < 300; ++i) long_text += "\xC3\xA9";
  const auto cut = storable_text(long_text, 512);
  EXPECT_EQ(cut.size(), 511u);
  EXPECT_EQ(cut, long_text.substr(0, 511));
  EXPECT_EQ(storable_text("\xF0\x9F\x98\x80!", 3), "");  // a 4-byte character does not fit in 3
  EXPECT_EQ(storable_text("\xF0\x9F\x98\x80!", 5), "\xF0\x9F\x98\x80!");
  EXPECT_EQ(storable_text("\xFF\xFF", 4), "\xEF\xBF\xBD");  // replacements count their three bytes
}

TEST(Strings, JsonNestingDepthIsCountedOutsideStrings) {
  EXPECT_FALSE(json_nesting_exceeds("", 0));
  EXPECT_FALSE(json_nesting_exceeds("1", 0));
  EXPECT_TRUE(json_nesting_exceeds("[]", 0));
  EXPECT_FALSE(json_nesting_exceeds(R"({"a":[1,{"b":[]}]})", 4));
  EXPECT_TRUE(json_nesting_exceeds(R"({"a":[1,{"b":[]}]})", 3));
  EXPECT_FALSE(json_nesting_exceeds(R"(["[[[[", "{{{\"[[["])", 1));  // brackets in strings, escaped quotes
  EXPECT_FALSE(json_nesting_exceeds(R"([[1],[2],[3],[4]])", 2));     // siblings do not add up
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
  EXPECT_TRUE(json_nesting_exceeds(deep, 100));
  EXPECT_FALSE(json_nesting_exceeds(deep, 200'000));
}

TEST(Strings, JsonMemberTextIsTheMemberExactlyAsWritten) {
  const std::string body = R"( { "key" : "k", "value" : {"amount": 1000000000000000000000001, "s": "a,}\"]"} ,
    "n":-0 , "e\u0076" : [1, [2]], "last": 12345678901234567890123.5})";
  EXPECT_EQ(json_member_text(body, "value"), R"({"amount": 1000000000000000000000001, "s": "a,}\"]"})");
  EXPECT_EQ(json_member_text(body, "key"), R"("k")");
  EXPECT_EQ(json_member_text(body, "n"), "-0");
  EXPECT_EQ(json_member_text(body, "ev"), "[1, [2]]");  // an escaped name
  EXPECT_EQ(json_member_text(body, "last"), "12345678901234567890123.5");
  EXPECT_EQ(json_member_text(body, "missing"), std::nullopt);
  EXPECT_EQ(json_member_text(R"({"a":1,"a":true})", "a"), "true");  // the last, as a parser keeps it
  EXPECT_EQ(json_member_text("{}", "a"), std::nullopt);
  EXPECT_EQ(json_member_text("[1]", "a"), std::nullopt);
  // Every member's text parses to what parsing the whole object gives for it.
  const auto parsed = nlohmann::json::parse(body);
  for (const auto& [name, value] : parsed.items()) {
    const auto text = json_member_text(body, name);
    ASSERT_TRUE(text) << name;
    EXPECT_EQ(nlohmann::json::parse(*text), value) << name;
  }
}

TEST(Strings, JsonObjectTextParsesBackAsWritten) {
  EXPECT_EQ(JsonObjectText().finish(), "{}");
  const auto text =
      JsonObjectText().add("op", "sign").add("na\"me", "x\ny").add_raw("n", "42").add_raw("o", R"({"a":[1]})").finish();
  EXPECT_EQ(text, R"({"op":"sign","na\"me":"x\ny","n":42,"o":{"a":[1]}})");
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j.at("na\"me"), "x\ny");
  EXPECT_EQ(j.at("o").at("a").at(0), 1);
}

TEST(Strings, SplitTrimCase) {
  EXPECT_EQ(split("a__b__c", "__"), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(split("", ","), (std::vector<std::string_view>{""}));
  EXPECT_EQ(trim("  x y \t"), "x y");
  EXPECT_TRUE(iequals("RateLimiting", "ratelimiting"));
  EXPECT_FALSE(iequals("abc", "abd"));
}

TEST(Ids, UuidsAreVersion4AndDistinct) {
  const auto a = random_uuid();
  const auto b = random_uuid();
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  EXPECT_NE(a, b);
}

TEST(Ids, TimeOrderedUuidsAreVersion7CarryTheTimeAndSortByIt) {
  const auto before =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto a = time_ordered_uuid();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto b = time_ordered_uuid();
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '7');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  const auto ms = std::stoll(a.substr(0, 8) + a.substr(9, 4), nullptr, 16);
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, before + 1000);
  EXPECT_LT(a, b);
  // The random part differs between ids made in one millisecond.
  EXPECT_NE(time_ordered_uuid().substr(15), time_ordered_uuid().substr(15));
}

TEST(Ids, AcceptableRequestIds) {
  EXPECT_TRUE(is_acceptable_request_id("abc-123_x.y:z"));
  EXPECT_FALSE(is_acceptable_request_id(""));
  EXPECT_FALSE(is_acceptable_request_id(std::string(129, 'a')));
  EXPECT_FALSE(is_acceptable_request_id("a b"));
  EXPECT_FALSE(is_acceptable_request_id("x\r\nSet-Cookie: y"));
}

TEST(Strings, Utf8LengthCountsCodePointsAsJsonSchemaDoes) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xc3\xa9t\xc3\xa9"), 3u);  // été: 5 bytes
  EXPECT_EQ(utf8_length("\xe2\x9c\x93"), 1u);       // ✓: 3 bytes
  EXPECT_EQ(utf8_length("\xf0\x9f\x98\x80!"), 2u);  // an emoji outside the BMP: 4 bytes, one code point
}

}  // namespace
}  // namespace nsl
