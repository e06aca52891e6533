#include "nsl/core/logging.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace nsl::log {
namespace {

// A sink writing to a memory-backed FILE so that tests read back exactly what was written.
class CapturedSink {
 public:
  explicit CapturedSink(std::size_t max_bytes = 64u << 20) : file_(open_memstream(&buf_, &len_)) {
    sink_ = std::make_unique<Sink>(Sink::Options{file_, max_bytes});
  }
  ~CapturedSink() {
    sink_.reset();
    std::fclose(file_);
    std::free(buf_);
  }
  Sink& sink() { return *sink_; }
  std::vector<nlohmann::json> lines() {
    sink_->flush();
    std::fflush(file_);
    std::vector<nlohmann::json> out;
    std::string all(buf_, len_);
    std::size_t start = 0;
    while (start < all.size()) {
      auto end = all.find('\n', start);
      out.push_back(nlohmann::json::parse(all.substr(start, end - start)));  // every line is valid JSON
      start = end + 1;
    }
    return out;
  }

 private:
  char* buf_ = nullptr;
  std::size_t len_ = 0;
  std::FILE* file_;
  std::unique_ptr<Sink> sink_;
};

TEST(Logging, WritesOneJsonObjectPerLineWithFields) {
  CapturedSink cap;
  auto log = cap.sink().get("http.access");
  log.info("request", {{"method", "GET"}, {"status", 200}, {"duration_ms", 1.25}, {"ok", true}, {"bytes", 5ul}});
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto& l = lines[0];
  EXPECT_EQ(l["level"], "INFO");
  EXPECT_EQ(l["category"], "http.access");
  EXPECT_EQ(l["message"], "request");
  EXPECT_EQ(l["method"], "GET");
  EXPECT_EQ(l["status"], 200);
  EXPECT_DOUBLE_EQ(l["duration_ms"].get<double>(), 1.25);
  EXPECT_EQ(l["ok"], true);
  EXPECT_EQ(l["bytes"], 5);
  const std::string ts = l["@timestamp"];
  ASSERT_EQ(ts.size(), 24u) << ts;  // 2026-11-29T01:02:03.456Z
  EXPECT_EQ(ts.back(), 'Z');
}

TEST(Logging, EscapesHostileTextAndInvalidUtf8) {
  CapturedSink cap;
  cap.sink().get("x").warn("quote \" backslash \\ newline \n tab \t nul-ish \x01 bad \xff\xfe end", {{"path", "/a\"b"}});
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string msg = lines[0]["message"];
  EXPECT_NE(msg.find("quote \" backslash \\ newline \n tab"), std::string::npos);
  EXPECT_NE(msg.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD replaces the invalid bytes
  EXPECT_EQ(lines[0]["path"], "/a\"b");
}

TEST(Logging, LevelsPerCategoryLongestPrefixWins) {
  LevelMap m;
  m.default_level = Level::warning;
  m.categories["http"] = Level::info;
  m.categories["http.access"] = Level::none;
  EXPECT_EQ(m.resolve("http.server"), Level::info);
  EXPECT_EQ(m.resolve("http.access"), Level::none);
  EXPECT_EQ(m.resolve("HTTP.ACCESS"), Level::none);
  EXPECT_EQ(m.resolve("httpx"), Level::warning);  // a prefix must end at a '.'
  EXPECT_EQ(m.resolve("db"), Level::warning);
}

TEST(Logging, SetLevelsAppliesToExistingLoggers) {
  CapturedSink cap;
  auto access = cap.sink().get("http.access");
  auto app = cap.sink().get("app");
  access.info("before");
  LevelMap m;
  m.categories["http.access"] = Level::error;
  cap.sink().set_levels(m);
  access.info("hidden");
  access.error("shown");
  app.info("app still at default");
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["message"], "before");
  EXPECT_EQ(lines[1]["message"], "shown");
  EXPECT_EQ(lines[2]["message"], "app still at default");
}

TEST(Logging, NoneSwitchesEverythingOff) {
  CapturedSink cap;
  LevelMap m;
  m.default_level = Level::none;
  cap.sink().set_levels(m);
  cap.sink().get("x").critical("nothing");
  EXPECT_TRUE(cap.lines().empty());
}

TEST(Logging, FullBufferDropsAndCountsInsteadOfBlocking) {
  CapturedSink cap(/*max_bytes=*/1);
  auto log = cap.sink().get("x");
  for (int i = 0; i < 10; ++i) log.info("does not fit");
  EXPECT_EQ(cap.sink().dropped(), 10u);
}

TEST(Logging, ManyThreadsNeverInterleaveLines) {
  CapturedSink cap;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto log = cap.sink().get("t" + std::to_string(t));
      for (int i = 0; i < 500; ++i) log.info("line", {{"i", i}, {"payload", std::string(100, 'x')}});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cap.lines().size(), 2000u);
  EXPECT_EQ(cap.sink().written(), 2000u);
}

TEST(Logging, ParsesConfiguredLevelNames) {
  EXPECT_EQ(parse_level("Information"), Level::info);
  EXPECT_EQ(parse_level("warning"), Level::warning);
  EXPECT_EQ(parse_level(" Critical "), Level::critical);
  EXPECT_EQ(parse_level("None"), Level::none);
  EXPECT_FALSE(parse_level("verbose"));
}

}  // namespace
}  // namespace nsl::log
