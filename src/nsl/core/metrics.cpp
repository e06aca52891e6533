#include "nsl/core/metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>

namespace nsl::metrics {
namespace {

std::string join_key(std::initializer_list<std::string_view> values) {
  std::string key;
  for (auto v : values) {
    key.append(v);
    key.push_back('\x1f');
  }
  return key;
}

void append_labels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out.push_back('{');
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out.push_back(',');
    first = false;
    out += names[i];
    out += "=\"";
    append_label_value(out, values[i]);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
}

void append_header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP ";
  out += name;
  out.push_back(' ');
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  out += "\n# TYPE ";
  out += name;
  out.push_back(' ');
  out += type;
  out.push_back('\n');
}

const char* type_name(Type t) {
  switch (t) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

const std::vector<double>& default_seconds_buckets() {
  static const std::vector<double> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds->size() + 1]) {
  for (std::size_t i = 0; i <= bounds->size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  const auto& b = *bounds_;
  const auto idx = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  buckets_[idx].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

template <class T>
T& Family<T>::with(std::initializer_list<std::string_view> values) {
  const auto key = join_key(values);
  {
    std::shared_lock lock(mutex_);
    if (auto it = series_.find(key); it != series_.end()) return *it->second.second;
  }
  std::unique_lock lock(mutex_);
  auto& slot = series_[key];
  if (!slot.second) {
    slot.first.assign(values.begin(), values.end());
    if constexpr (std::is_same_v<T, Histogram>) {
      slot.second = std::make_unique<T>(&bounds_);
    } else {
      slot.second = std::make_unique<T>();
    }
  }
  return *slot.second;
}

template <class T>
void Family<T>::for_each(const std::function<void(const std::vector<std::string>&, const T&)>& fn) const {
  std::vector<const std::pair<std::vector<std::string>, std::unique_ptr<T>>*> sorted;
  std::shared_lock lock(mutex_);
  sorted.reserve(series_.size());
  for (const auto& [k, v] : series_) sorted.push_back(&v);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (auto* s : sorted) fn(s->first, *s->second);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

// Registering a name again returns the family already registered (two listeners share the HTTP
// metrics); registering it with other labels is a programming error.
template <class T, class... Args>
Family<T>& get_or_add(std::vector<std::unique_ptr<Family<T>>>& families, std::string name, std::string help,
                      std::vector<std::string> labels, Args&&... args) {
  for (auto& f : families) {
    if (f->name() == name) {
      if (f->label_names() != labels) throw std::logic_error("metric " + name + " registered with other labels");
      return *f;
    }
  }
  return *families.emplace_back(
      std::make_unique<Family<T>>(std::move(name), std::move(help), std::move(labels), std::forward<Args>(args)...));
}

}  // namespace

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  return get_or_add(counters_, std::move(name), std::move(help), std::move(labels));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  return get_or_add(gauges_, std::move(name), std::move(help), std::move(labels));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  std::lock_guard lock(mutex_);
  return get_or_add(histograms_, std::move(name), std::move(help), std::move(labels), std::move(bounds));
}

void Registry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    out.append(buf, r.ptr);
  } else {
    // Shortest round-trip form, in plain decimal where that stays short ("0.0005", not "5e-04").
    char buf[400];
    const bool plain = std::fabs(v) >= 1e-9 && std::fabs(v) < 1e15;
    auto r = plain ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed) : std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
}

std::string Registry::render() const {
  std::string out;
  out.reserve(8192);
  std::vector<Sample> samples;
  std::lock_guard lock(mutex_);
  // Counters and gauges: one sample line per series.
  auto render_simple = [&out](const auto& families, const char* type) {
    for (const auto& f : families) {
      append_header(out, f->name(), f->help(), type);
      f->for_each([&](const std::vector<std::string>& values, const auto& series) {
        out += f->name();
        append_labels(out, f->label_names(), values);
        out.push_back(' ');
        append_value(out, static_cast<double>(series.value()));
        out.push_back('\n');
      });
    }
  };
  render_simple(counters_, "counter");
  render_simple(gauges_, "gauge");
  for (const auto& f : histograms_) {
    append_header(out, f->name(), f->help(), "histogram");
    f->for_each([&](const std::vector<std::string>& values, const Histogram& h) {
      // Read count first and derive +Inf from the buckets so that a concurrent observe()
      // never makes the exposition non-monotonic.
      std::uint64_t cumulative = 0;
      const auto& bounds = h.bounds();
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += h.bucket(i);
        std::string le;
        if (i == bounds.size())
          le = "+Inf";
        else
          append_value(le, bounds[i]);
        out += f->name();
        out += "_bucket";
        append_labels(out, f->label_names(), values, "le", le);
        out.push_back(' ');
        append_value(out, static_cast<double>(cumulative));
        out.push_back('\n');
      }
      out += f->name();
      out += "_sum";
      append_labels(out, f->label_names(), values);
      out.push_back(' ');
      append_value(out, h.sum());
      out.push_back('\n');
      out += f->name();
      out += "_count";
      append_labels(out, f->label_names(), values);
      out.push_back(' ');
      append_value(out, static_cast<double>(cumulative));
      out.push_back('\n');
    });
  }
  for (const auto& c : collectors_) c(samples);
  // Group collected samples by name so each metric has one HELP/TYPE header.
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.name < b.name; });
  std::string last;
  for (const auto& s : samples) {
    if (s.name != last) {
      append_header(out, s.name, s.help, type_name(s.type));
      last = s.name;
    }
    out += s.name;
    if (!s.labels.empty()) {
      out.push_back('{');
      for (std::size_t i = 0; i < s.labels.size(); ++i) {
        if (i) out.push_back(',');
        out += s.labels[i].first;
        out += "=\"";
        append_label_value(out, s.labels[i].second);
        out.push_back('"');
      }
      out.push_back('}');
    }
    out.push_back(' ');
    append_value(out, s.value);
    out.push_back('\n');
  }
  return out;
}

void add_process_collector(Registry& registry) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  {
    std::ifstream stat("/proc/stat");
    std::string key;
    while (stat >> key) {
      if (key == "btime") {
        stat >> boot_time;
        break;
      }
    }
  }
  double start_time = 0;
  {
    std::ifstream f("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto rp = content.rfind(')');
    if (rp != std::string::npos) {
      std::istringstream rest(content.substr(rp + 2));
      std::string field;
      // Fields after the command name start at field 3 (state); starttime is field 22.
      for (int i = 3; i <= 22 && rest >> field; ++i) {
        if (i == 22) start_time = boot_time + std::stod(field) / ticks;
      }
    }
  }
  registry.add_collector([ticks, page, start_time](std::vector<Registry::Sample>& out) {
    std::ifstream f("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto rp = content.rfind(')');
    if (rp != std::string::npos) {
      std::istringstream rest(content.substr(rp + 2));
      std::vector<std::string> fields;
      std::string field;
      while (rest >> field) fields.push_back(field);
      // fields[0] is field 3 of proc(5): utime=14, stime=15, vsize=23, rss=24.
      if (fields.size() > 21) {
        const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
        out.push_back({"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Type::counter, {}, cpu});
        out.push_back({"process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::gauge, {}, std::stod(fields[20])});
        out.push_back(
            {"process_resident_memory_bytes", "Resident memory size in bytes.", Type::gauge, {}, std::stod(fields[21]) * page});
      }
    }
    std::error_code ec;
    double fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
    out.push_back({"process_open_fds", "Number of open file descriptors.", Type::gauge, {}, fds});
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
      out.push_back(
          {"process_max_fds", "Maximum number of open file descriptors.", Type::gauge, {}, static_cast<double>(lim.rlim_cur)});
    }
    out.push_back(
        {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Type::gauge, {}, start_time});
  });
}

}  // namespace nsl::metrics
