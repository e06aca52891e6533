#include "nsl/core/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace nsl::metrics {
namespace {

// A strict reader of the Prometheus text format: every sample line must follow a TYPE line of
// its family, label values must be properly quoted and escaped, and values must parse.
struct Parsed {
  std::map<std::string, std::string> types;             // family -> type
  std::map<std::string, double> samples;                // name{labels} -> value
  std::vector<std::pair<std::string, double>> ordered;  // in exposition order
};

Parsed parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  std::set<std::string> helped;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const auto name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(helped.insert(name).second) << "HELP twice for " << name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      EXPECT_FALSE(p.types.count(name)) << "TYPE twice for " << name;
      p.types[name] = type;
      continue;
    }
    EXPECT_FALSE(line.empty());
    // name{labels} value
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string name = line.substr(0, i);
    std::string key = name;
    if (line[i] == '{') {
      const auto start = i;
      ++i;
      bool in_quotes = false;
      for (; i < line.size(); ++i) {
        if (in_quotes && line[i] == '\\') {
          ++i;
          continue;
        }
        if (line[i] == '"') in_quotes = !in_quotes;
        if (!in_quotes && line[i] == '}') break;
      }
      EXPECT_LT(i, line.size()) << "unterminated labels: " << line;
      key += line.substr(start, i - start + 1);
      ++i;
    }
    EXPECT_EQ(line[i], ' ') << line;
    const std::string value = line.substr(i + 1);
    const double v = value == "+Inf" ? INFINITY : std::stod(value);
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (!p.types.count(family) && family.size() > s.size() && family.compare(family.size() - s.size(), s.size(), s) == 0)
        family = family.substr(0, family.size() - s.size());
    }
    EXPECT_TRUE(p.types.count(family)) << "sample before its TYPE: " << line;
    p.samples[key] = v;
    p.ordered.emplace_back(key, v);
  }
  return p;
}

TEST(Metrics, CountersGaugesAndLabelsRenderAndParseBack) {
  Registry r;
  auto& requests = r.counter("http_requests_total", "Requests.", {"service", "method", "status"});
  requests.with({"health", "GET", "200"}).inc();
  requests.with({"health", "GET", "200"}).inc(2);
  requests.with({"storage", "POST", "400"}).inc();
  r.gauge("api_active_connections", "Open.", {"service"}).with({"nsl"}).set(7);
  r.gauge("odd_labels", "Escaping.", {"v"}).with({"a\"b\\c\nd"}).set(1.5);
  const auto p = parse(r.render());
  EXPECT_EQ(p.types.at("http_requests_total"), "counter");
  EXPECT_EQ(p.types.at("api_active_connections"), "gauge");
  EXPECT_EQ(p.samples.at(R"(http_requests_total{service="health",method="GET",status="200"})"), 3);
  EXPECT_EQ(p.samples.at(R"(http_requests_total{service="storage",method="POST",status="400"})"), 1);
  EXPECT_EQ(p.samples.at(R"(api_active_connections{service="nsl"})"), 7);
  EXPECT_EQ(p.samples.at(R"(odd_labels{v="a\"b\\c\nd"})"), 1.5);
}

TEST(Metrics, HistogramIsCumulativeAndConsistent) {
  Registry r;
  auto& h = r.histogram("http_request_duration_seconds", "Latency.", {"service"}, {0.001, 0.01, 0.1});
  auto& s = h.with({"health"});
  for (double v : {0.0005, 0.0005, 0.005, 0.05, 0.5, 0.001}) s.observe(v);
  const auto p = parse(r.render());
  EXPECT_EQ(p.types.at("http_request_duration_seconds"), "histogram");
  EXPECT_EQ(p.samples.at(R"(http_request_duration_seconds_bucket{service="health",le="0.001"})"), 3);  // le is inclusive
  EXPECT_EQ(p.samples.at(R"(http_request_duration_seconds_bucket{service="health",le="0.01"})"), 4);
  EXPECT_EQ(p.samples.at(R"(http_request_duration_seconds_bucket{service="health",le="0.1"})"), 5);
  EXPECT_EQ(p.samples.at(R"(http_request_duration_seconds_bucket{service="health",le="+Inf"})"), 6);
  EXPECT_EQ(p.samples.at(R"(http_request_duration_seconds_count{service="health"})"), 6);
  EXPECT_NEAR(p.samples.at(R"(http_request_duration_seconds_sum{service="health"})"), 0.557, 1e-9);
}

TEST(Metrics, DefaultBucketsPrintAsPlainDecimals) {
  Registry r;
  r.histogram("h_seconds", "h.", {}).with({}).observe(0.0001);
  const auto text = r.render();
  EXPECT_NE(text.find(R"(h_seconds_bucket{le="0.0005"} 1)"), std::string::npos) << text;
  EXPECT_EQ(text.find("e-0"), std::string::npos) << text;
}

TEST(Metrics, SameNameTwiceIsOneFamily) {
  Registry r;
  auto& a = r.counter("c_total", "c.", {"x"});
  auto& b = r.counter("c_total", "c.", {"x"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.counter("c_total", "c.", {"y"}), std::logic_error);
}

TEST(Metrics, CollectorsAndProcessMetrics) {
  Registry r;
  add_process_collector(r);
  r.add_collector([](std::vector<Registry::Sample>& out) {
    out.push_back({"nsl_threadpool_queue_depth", "q.", Type::gauge, {{"pool", "db"}}, 3});
    out.push_back({"nsl_threadpool_queue_depth", "q.", Type::gauge, {{"pool", "crypto"}}, 0});
  });
  const auto p = parse(r.render());
  EXPECT_EQ(p.types.at("process_cpu_seconds_total"), "counter");
  EXPECT_GT(p.samples.at("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(p.samples.at("process_open_fds"), 2);
  EXPECT_GT(p.samples.at("process_max_fds"), 0);
  EXPECT_GT(p.samples.at("process_start_time_seconds"), 1.7e9);  // a real epoch time, not uptime
  EXPECT_EQ(p.samples.at(R"(nsl_threadpool_queue_depth{pool="db"})"), 3);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& fam = r.counter("n_total", "n.", {"t"});
  auto& hist = r.histogram("d_seconds", "d.", {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        fam.with({std::to_string(i % 3)}).inc();
        hist.with({}).observe(0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto p = parse(r.render());
  EXPECT_EQ(p.samples.at(R"(n_total{t="0"})") + p.samples.at(R"(n_total{t="1"})") + p.samples.at(R"(n_total{t="2"})"), 40000);
  EXPECT_EQ(p.samples.at("d_seconds_count"), 40000);
}

}  // namespace
}  // namespace nsl::metrics
