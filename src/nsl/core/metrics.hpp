#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nsl::metrics {

/// A monotonically increasing count.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Cumulative histogram with fixed upper bounds (Prometheus `_bucket`, `_sum`, `_count`).
class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void observe(double v) noexcept;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  /// Non-cumulative count of bucket i (i == bounds.size() is the +Inf overflow).
  std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const noexcept { return *bounds_; }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/// Default latency buckets in seconds (those of the Prometheus client libraries, plus finer ones
/// at the low end because most of this service's requests take well under a millisecond).
const std::vector<double>& default_seconds_buckets();

enum class Type { counter, gauge, histogram };

/// All series of one metric name, keyed by their label values.
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}

  /// The series for these label values (as many as the family has label names); created on first
  /// use and never removed, so the reference stays valid for the registry's lifetime.
  T& with(std::initializer_list<std::string_view> values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return labels_; }
  /// Calls fn(label values, series) for every series, sorted by label values.
  void for_each(const std::function<void(const std::vector<std::string>&, const T&)>& fn) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::pair<std::vector<std::string>, std::unique_ptr<T>>> series_;
};

/// Holds every metric of the process and renders them in the Prometheus text format 0.0.4.
/// Collectors add series computed at scrape time (process figures, pool sizes, queue depths).
class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> labels = {},
                               std::vector<double> bounds = default_seconds_buckets());

  /// A sample produced by a collector at scrape time.
  struct Sample {
    std::string name;
    std::string help;
    Type type;
    std::vector<std::pair<std::string, std::string>> labels;
    double value;
  };
  using Collector = std::function<void(std::vector<Sample>&)>;
  void add_collector(Collector collector);

  /// The whole exposition, ready to serve with content type `text/plain; version=0.0.4`.
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<Collector> collectors_;
};

/// Appends a sample value the way Prometheus writes it (integers without a fraction, +Inf, NaN).
void append_value(std::string& out, double v);
/// Appends a label value with `\`, `"` and newline escaped.
void append_label_value(std::string& out, std::string_view v);

/// Adds the standard process_* series (CPU seconds, resident and virtual memory, open and max
/// file descriptors, start time), read from /proc at scrape time.
void add_process_collector(Registry& registry);

}  // namespace nsl::metrics
