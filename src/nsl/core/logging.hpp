#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace nsl::log {

/// Severity, ordered; `none` switches a category off. Names follow the guide's
/// `Logging:LogLevel` values (Trace, Debug, Information, Warning, Error, Critical, None).
enum class Level : int { trace = 0, debug, info, warning, error, critical, none };

/// Parses a configured level name (case-insensitive; "Information" and "Info" both work).
std::optional<Level> parse_level(std::string_view name);
/// The name written in the `level` field of a log line ("INFO", "ERROR", ...).
const char* level_name(Level level) noexcept;
/// The configuration spelling of a level ("Information", ...).
const char* config_name(Level level) noexcept;

/// One structured field of a log line.
struct Field {
  using Value = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;
  std::string_view key;
  Value value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, long v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, long long v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), value(std::uint64_t{v}) {}
  Field(std::string_view k, unsigned long v) : key(k), value(std::uint64_t{v}) {}
  Field(std::string_view k, unsigned long long v) : key(k), value(std::uint64_t{v}) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
};

/// Per-category minimum levels: "Default" plus category prefixes, as in `Logging:LogLevel`.
/// The longest matching prefix wins.
struct LevelMap {
  Level default_level = Level::info;
  std::map<std::string, Level> categories;
  Level resolve(std::string_view category) const;
  bool operator==(const LevelMap&) const = default;
};

class Logger;

/// Where log lines go: formats nothing itself, only queues finished JSON lines and writes them
/// from one background thread every 50 ms (sooner when much is queued, or on flush()), so
/// request threads never wait on the terminal or a pipe, nor wake another thread per line.
/// Lines beyond `max_buffered_bytes` are dropped and counted (see dropped()), never blocking.
class Sink {
 public:
  struct Options {
    std::FILE* out = stdout;
    std::size_t max_buffered_bytes = 64u << 20;
  };
  explicit Sink(Options options);
  Sink() : Sink(Options{}) {}
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  /// A logger for one category; loggers of the same category share their level.
  Logger get(std::string category);
  /// Applies new levels to every existing and future category (configuration reload).
  void set_levels(const LevelMap& levels);
  LevelMap levels() const;
  /// Queues one finished line (a newline is appended).
  void write(std::string_view line);
  /// Returns once everything queued so far is written and flushed.
  void flush();
  /// Lines dropped because the buffer was full.
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  /// Lines written so far.
  std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }

 private:
  struct Category {
    std::string name;
    std::atomic<int> level;
  };
  void run();

  Options options_;
  mutable std::mutex levels_mutex_;
  LevelMap levels_;
  std::map<std::string, std::shared_ptr<Category>, std::less<>> categories_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::string pending_;
  std::uint64_t enqueued_seq_ = 0;
  std::uint64_t written_seq_ = 0;
  bool stopping_ = false;
  bool flush_requested_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> written_{0};
  std::thread writer_;

  friend class Logger;
};

/// A category's logger: cheap to copy, thread-safe. Writes one JSON object per line with
/// `@timestamp`, `level`, `category`, `message` and the given fields.
class Logger {
 public:
  Logger() = default;
  bool enabled(Level level) const noexcept {
    return category_ && static_cast<int>(level) >= category_->level.load(std::memory_order_relaxed) && level != Level::none;
  }
  void log(Level level, std::string_view message, std::initializer_list<Field> fields = {}) const;
  void log(Level level, std::string_view message, const std::vector<Field>& fields) const;
  void trace(std::string_view m, std::initializer_list<Field> f = {}) const { log(Level::trace, m, f); }
  void debug(std::string_view m, std::initializer_list<Field> f = {}) const { log(Level::debug, m, f); }
  void info(std::string_view m, std::initializer_list<Field> f = {}) const { log(Level::info, m, f); }
  void warn(std::string_view m, std::initializer_list<Field> f = {}) const { log(Level::warning, m, f); }
  void error(std::string_view m, std::initializer_list<Field> f = {}) const { log(Level::error, m, f); }
  void critical(std::string_view m, std::initializer_list<Field> f = {}) const { log(Level::critical, m, f); }
  const std::string& category() const;

 private:
  friend class Sink;
  Logger(Sink* sink, std::shared_ptr<Sink::Category> category) : sink_(sink), category_(std::move(category)) {}
  void emit(Level level, std::string_view message, const Field* begin, const Field* end) const;
  Sink* sink_ = nullptr;
  std::shared_ptr<Sink::Category> category_;
};

/// Appends an RFC 3339 UTC timestamp with milliseconds ("2026-11-29T01:02:03.456Z").
void append_timestamp(std::string& out);

}  // namespace nsl::log
