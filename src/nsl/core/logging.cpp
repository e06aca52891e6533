#include "nsl/core/logging.hpp"

#include <charconv>
#include <chrono>
#include <ctime>

#include "nsl/core/strings.hpp"

namespace nsl::log {
namespace {

// How often the writer thread wakes to write what is queued, and how much queued text wakes it
// earlier.
constexpr auto kWriteInterval = std::chrono::milliseconds(50);
constexpr std::size_t kWakeBytes = 256u << 10;

const std::string kEmpty;

void append_field_value(std::string& out, const Field::Value& v) {
  char buf[64];
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          append_json_string(out, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, 3);
          out.append(buf, r.ptr);
        } else {
          auto r = std::to_chars(buf, buf + sizeof buf, x);
          out.append(buf, r.ptr);
        }
      },
      v);
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  const auto n = to_lower(trim(name));
  if (n == "trace") return Level::trace;
  if (n == "debug") return Level::debug;
  if (n == "information" || n == "info") return Level::info;
  if (n == "warning" || n == "warn") return Level::warning;
  if (n == "error") return Level::error;
  if (n == "critical") return Level::critical;
  if (n == "none") return Level::none;
  return std::nullopt;
}

const char* level_name(Level level) noexcept {
  switch (level) {
    case Level::trace:
      return "TRACE";
    case Level::debug:
      return "DEBUG";
    case Level::info:
      return "INFO";
    case Level::warning:
      return "WARN";
    case Level::error:
      return "ERROR";
    case Level::critical:
      return "CRITICAL";
    case Level::none:
      return "NONE";
  }
  return "INFO";
}

const char* config_name(Level level) noexcept {
  switch (level) {
    case Level::trace:
      return "Trace";
    case Level::debug:
      return "Debug";
    case Level::info:
      return "Information";
    case Level::warning:
      return "Warning";
    case Level::error:
      return "Error";
    case Level::critical:
      return "Critical";
    case Level::none:
      return "None";
  }
  return "Information";
}

Level LevelMap::resolve(std::string_view category) const {
  Level best = default_level;
  std::size_t best_len = 0;
  for (const auto& [prefix, level] : categories) {
    if (prefix.size() > best_len && category.size() >= prefix.size() && iequals(category.substr(0, prefix.size()), prefix) &&
        (category.size() == prefix.size() || category[prefix.size()] == '.')) {
      best = level;
      best_len = prefix.size();
    }
  }
  return best;
}

void append_timestamp(std::string& out) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = time_point_cast<seconds>(now);
  const auto ms = static_cast<int>(duration_cast<milliseconds>(now - secs).count());
  // Formatting the date costs more than the rest of a log line; do it once per second per thread.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached[32];
  thread_local std::size_t cached_len = 0;
  if (secs.time_since_epoch().count() != cached_second) {
    const std::time_t t = system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    cached_len = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = secs.time_since_epoch().count();
  }
  out.append(cached, cached_len);
  const char frac[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                        static_cast<char>('0' + ms % 10), 'Z'};
  out.append(frac, 5);
}

Sink::Sink(Options options) : options_(options), writer_([this] { run(); }) {}

Sink::~Sink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

Logger Sink::get(std::string category) {
  std::lock_guard lock(levels_mutex_);
  auto it = categories_.find(category);
  if (it == categories_.end()) {
    auto cat = std::make_shared<Category>();
    cat->name = category;
    cat->level.store(static_cast<int>(levels_.resolve(category)));
    it = categories_.emplace(std::move(category), std::move(cat)).first;
  }
  return Logger(this, it->second);
}

void Sink::set_levels(const LevelMap& levels) {
  std::lock_guard lock(levels_mutex_);
  levels_ = levels;
  for (auto& [name, cat] : categories_) {
    cat->level.store(static_cast<int>(levels_.resolve(name)), std::memory_order_relaxed);
  }
}

LevelMap Sink::levels() const {
  std::lock_guard lock(levels_mutex_);
  return levels_;
}

void Sink::write(std::string_view line) {
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + line.size() + 1 > options_.max_buffered_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    pending_.append(line);
    pending_.push_back('\n');
    ++enqueued_seq_;
    // The writer wakes by itself every few milliseconds; waking it for every line would cost a
    // context switch per request. Only a large backlog calls for it at once.
    if (pending_.size() < kWakeBytes) return;
  }
  wake_.notify_one();
}

void Sink::flush() {
  std::unique_lock lock(mutex_);
  const auto target = enqueued_seq_;
  flush_requested_ = true;
  wake_.notify_one();
  drained_.wait(lock, [&] { return written_seq_ >= target; });
}

void Sink::run() {
  std::string batch;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, kWriteInterval, [&] { return stopping_ || flush_requested_ || pending_.size() >= kWakeBytes; });
    flush_requested_ = false;
    if (pending_.empty()) {
      if (stopping_) break;
      drained_.notify_all();
      continue;
    }
    batch.swap(pending_);
    const auto seq = enqueued_seq_;
    lock.unlock();
    std::uint64_t lines = 0;
    for (char c : batch) lines += (c == '\n');
    std::fwrite(batch.data(), 1, batch.size(), options_.out);
    std::fflush(options_.out);
    written_.fetch_add(lines, std::memory_order_relaxed);
    batch.clear();
    lock.lock();
    written_seq_ = seq;
    drained_.notify_all();
  }
  drained_.notify_all();
}

const std::string& Logger::category() const { return category_ ? category_->name : kEmpty; }

void Logger::log(Level level, std::string_view message, std::initializer_list<Field> fields) const {
  if (!enabled(level)) return;
  emit(level, message, fields.begin(), fields.end());
}

void Logger::log(Level level, std::string_view message, const std::vector<Field>& fields) const {
  if (!enabled(level)) return;
  emit(level, message, fields.data(), fields.data() + fields.size());
}

void Logger::emit(Level level, std::string_view message, const Field* begin, const Field* end) const {
  std::string line;
  line.reserve(256);
  line += "{\"@timestamp\":\"";
  append_timestamp(line);
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"category\":";
  append_json_string(line, category_->name);
  line += ",\"message\":";
  append_json_string(line, message);
  for (auto f = begin; f != end; ++f) {
    line.push_back(',');
    append_json_string(line, f->key);
    line.push_back(':');
    append_field_value(line, f->value);
  }
  line.push_back('}');
  sink_->write(line);
}

}  // namespace nsl::log
